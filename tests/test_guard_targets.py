"""Security round three, issue 19 item 1: `protect` and `login_required` decide on what aiohttp's
router decided, and a request path that could be read two ways is refused with 400 first.

Every request here is written byte for byte on a raw socket: aiohttp's and yarl's clients
normalise `..` and `%2e` before sending, so a test through them would prove nothing. The host
app has function handlers, a `web.View`, variable routes, a sub-app and a static directory with
a secret file; every handler and every file served is recorded server-side, and no guarded one
may be reached anonymously, whatever the method. No checklist item names the guard itself; the
ones it leans on are cited where they apply (29: the way back after sign-in; 31: the headers on
the 400 page; 46/ASVS 16.5.3: no fail-open, never a 500)."""

from __future__ import annotations

import asyncio
import posixpath
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import embedded
from embedded.testing import signed_in

# PROPFIND is a method the app knows nothing of but the parser lets through (any-method routes get
# it); BREW is one the C parser itself refuses with 400.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "BREW")


# --- the host app -----------------------------------------------------------------------------


def docs_dir(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "public").mkdir(parents=True)
    (docs / "secret").mkdir()
    (docs / "public" / "readme.txt").write_text("public readme\n")
    (docs / "report.txt").write_text("report: for signed-in people only\n")
    (docs / "secret" / "key.txt").write_text("key: for signed-in people only\n")
    return docs


class Host:
    """A host app under `protect` (or not), recording every handler and file it serves."""

    def __init__(self, settings: embedded.Settings, docs: Path, **policy):
        self.docs = docs
        self.reached: list[tuple[str, str]] = []  # (handler or "file", what: match info or file path)
        app = self.app = web.Application()
        embedded.setup(app, settings, prefix="/auth")
        if policy:
            embedded.protect(app, **policy)
        on = self.handler
        app.router.add_get("/", on("home"))
        app.router.add_route("*", "/public/{page}", on("public_page"))
        app.router.add_route("*", "/admin", on("admin"))
        app.router.add_route("*", "/admin/x", on("admin"))
        app.router.add_route("*", "/{tenant}/settings", on("tenant_settings"))
        app.router.add_route("*", "/files/{name:.*}", on("files"))
        reached = self.reached

        class Board(web.View):
            async def get(self) -> web.Response:
                reached.append(("view", self.request.method))
                return web.Response(text="view")

            post = put = patch = delete = get

        app.router.add_view("/view", Board)
        sub = web.Application()
        sub.router.add_route("*", "/open/{x}", on("sub_open"))
        sub.router.add_route("*", "/secret", on("sub_secret"))
        sub.router.add_route("*", "/{id}", on("sub_item"))
        app.add_subapp("/sub", sub)
        app.router.add_static("/docs", docs)
        app.router.add_route("*", "/{tail:.*}", on("catch_all"))
        app.on_response_prepare.append(self.record_file)

    def handler(self, name: str):
        async def handle(request: web.Request) -> web.Response:
            self.reached.append((name, "/".join(request.match_info.values())))
            return web.Response(text=name)

        return handle

    async def record_file(self, request: web.Request, response: web.StreamResponse) -> None:
        if isinstance(request.match_info.route.resource, web.StaticResource) and response.status in (200, 206):
            served = (self.docs / request.match_info["filename"]).resolve()
            self.reached.append(("file", served.relative_to(self.docs.resolve()).as_posix()))


def resolved(tail: str) -> str:
    """The path a catch-all's tail names once its dot segments are resolved, as a handler that
    resolves them would read it (a trailing slash kept: "/view/" is not "/view")."""
    path = posixpath.normpath("/" + tail)
    return path + "/" if tail.endswith("/") and path != "/" else path


# What each policy lets anyone reach: the handler, and what it was asked for.
def open_under_require_all(name: str, what: str) -> bool:
    if name == "catch_all":
        path = resolved(what)
        return path in ("/", "/public") or path.startswith(("/public/", "/docs/public/", "/sub/open/"))
    if name == "file":
        return what.startswith("public/")
    return name in ("home", "public_page", "sub_open")


def open_under_require_none(name: str, what: str) -> bool:
    if name == "catch_all":
        path = resolved(what)
        return not (path in ("/admin", "/view", "/acme/settings") or path.startswith(("/admin/", "/sub/", "/files/")))
    if name == "file":
        return not what.startswith("secret/")
    if name == "tenant_settings":
        return what != "acme"
    return name in ("home", "public_page")


POLICIES = {
    "all": (
        {"require": "all", "public": ("/", "/public/*", "/docs/public/*", "/sub/open/*")},
        open_under_require_all,
    ),
    "none": (
        {"require": "none", "private": ("/admin/*", "/view", "/acme/settings", "/sub/*", "/docs/secret/*", "/files/*")},
        open_under_require_none,
    ),
}


# --- requests, byte for byte --------------------------------------------------------------------


async def raw_request(port: int, method: str, target: bytes, headers: dict[str, str] | None = None):
    """(status, headers, body) for one request written exactly as given, on its own connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [f"{k}: {v}".encode() for k, v in {"Content-Length": "0", **(headers or {})}.items()]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = dict(line.split(": ", 1) for line in header_lines if ": " in line)
    return int(status_line.split()[1]), found, body


# Paths that read one way only: each guarded or open according to the policy.
PLAIN = [
    "/",
    "/public",
    "/public/about",
    "/public/about?next=/admin/x",
    "/publicity",
    "/admin",
    "/admin/",
    "/admin/x",
    "/admin/x/",
    "/admin/x?q=%2F..%2F",
    "/%61dmin/x",
    "/%61dmin",
    "/ADMIN/x",
    "/view",
    "/%76iew",
    "/view/",
    "/acme/settings",
    "/%61cme/settings",
    "/other/settings",
    "/caf%C3%A9/settings",
    "/files/a/b.txt",
    "/files/public/readme.txt",
    "/sub/open/page",
    "/sub/secret",
    "/sub/%73ecret",
    "/sub/42",
    "/sub",
    "/docs/public/readme.txt",
    "/docs/public/%72eadme.txt",
    "/docs/report.txt",
    "/docs/%72eport.txt",
    "/docs/secret/key.txt",
    "/docs/secret/",
    "/docs/publicreport.txt",
    "/anything/else",
    "/100%25/settings",
    "http://127.0.0.1/admin/x",
    "http://evil.example/sub/secret",
]
# Paths that could be read two ways: 400 before any handler, under either policy.
AMBIGUOUS = [
    "/public%2Facme/settings",
    "/public%2facme/settings",
    "/public%5Cacme/settings",
    "/public\\acme/settings",
    "/public%2F..%2Fadmin/x",
    "/public/../admin/x",
    "/public/./../admin/x",
    "/public/%2e%2e/admin/x",
    "/public/%2E%2E/admin/x",
    "/public/.%2e/admin/x",
    "/public/%2e./admin/x",
    "/public/..%2Fadmin/x",
    "/public/..%5Cadmin/x",
    "/public/..\\admin/x",
    "/public/.",
    "/public/..",
    "/public/%2e",
    "/./admin/x",
    "/../admin/x",
    "/%2e%2e/admin/x",
    "/public%2F%2E%2E%2Fadmin%2Fx",
    "/docs/public%2F..%2Freport.txt",
    "/docs/public/../report.txt",
    "/docs/public/%2e%2e/report.txt",
    "/docs/public/../secret/key.txt",
    "/docs/public%5C..%5Creport.txt",
    "/docs/x/%2e%2e/report.txt",
    "/sub/open/../secret",
    "/sub/open/%2e%2e/secret",
    "/sub/open%2F..%2Fsecret",
    "/sub/open/x%2F..%2F..%2Fsecret",
    "/files/public%2F..%2F..%2Fetc%2Fpasswd",
    "//admin/x",
    "/public//admin",
    "/docs//report.txt",
    "/admin/x%00",
    "/public/%00/../admin/x",
    "/public/x%00.txt",
    "/public/%0d%0aSet-Cookie:%20x",
    "/public/%09",
    "/public/%7F",
    "/public/%C2%85",
    "/public/%C0%AE%C0%AE/admin/x",
    "/public%C0%AFacme/settings",
    "/public/%E0%80%AE%E0%80%AE/admin/x",
    "/public/%ED%A0%80",
    "/public/%FF",
    "/public/%zz",
    "/public/%2",
    "/public/%",
    "/public/%252e%252e/admin/x",
    "/public/%252F",
    "http://127.0.0.1/public%2Facme/settings",
    "http://127.0.0.1/docs/public/../report.txt",
]


@pytest.fixture
async def serve(embedded_simulator, tmp_path):
    """serve(**policy) -> (host, client): a host app under that policy on a loopback port."""
    clients: list[TestClient] = []

    async def start(**policy) -> tuple[Host, TestClient]:
        host = Host(embedded_simulator.settings(prefix="/auth"), docs_dir(tmp_path / str(len(clients))), **policy)
        client = TestClient(TestServer(host.app, host="127.0.0.1"))
        clients.append(client)
        await client.start_server()
        return host, client

    yield start
    for client in clients:
        await client.close()


def cookie_header(client: TestClient) -> str:
    return "; ".join(
        f"{k}={m.value}" for k, m in client.session.cookie_jar.filter_cookies(client.make_url("/")).items()
    )


@pytest.mark.parametrize("policy", list(POLICIES))
async def test_no_guarded_handler_or_file_is_reached_anonymously_by_any_target_or_method(serve, policy):
    host, client = await serve(**POLICIES[policy][0])
    is_open = POLICIES[policy][1]
    docs = host.docs
    guarded_files = [f.read_bytes() for f in docs.rglob("*.txt") if not is_open("file", f.relative_to(docs).as_posix())]
    assert guarded_files and len(PLAIN) + len(AMBIGUOUS) >= 90  # 800+ requests per policy
    for i, target in enumerate([*PLAIN, *AMBIGUOUS]):
        for method in METHODS:
            headers = {"Accept": "application/json"} if i % 3 == 0 else {"Accept": "text/html"}
            before = len(host.reached)
            status, _, body = await raw_request(client.port, method, target.encode(), headers)
            where = f"{method} {target}"
            assert status < 500, where  # ASVS 16.5.3 (checklist 46): refused, never a failure
            assert not any(content in body for content in guarded_files), where
            for name, what in host.reached[before:]:
                assert is_open(name, what), f"{where} reached {name} ({what}) anonymously"
            if target in AMBIGUOUS:
                assert status == 400 and not host.reached[before:], where


# Plain targets and what a signed-in person reaches with them (the same handlers and files).
SIGNED_IN_REACHES = [
    ("GET", "/admin", ("admin", "")),
    ("PROPFIND", "/admin/x", ("admin", "")),
    ("GET", "/%61dmin/x", ("admin", "")),
    ("GET", "/view", ("view", "GET")),
    ("PATCH", "/%76iew", ("view", "PATCH")),
    ("DELETE", "/acme/settings", ("tenant_settings", "acme")),
    ("GET", "/caf%C3%A9/settings", ("tenant_settings", "caf\u00e9")),
    ("PUT", "/files/a/b.txt", ("files", "a/b.txt")),
    ("GET", "/sub/secret", ("sub_secret", "")),
    ("OPTIONS", "/sub/42", ("sub_item", "42")),
    ("GET", "/docs/report.txt", ("file", "report.txt")),
    ("HEAD", "/docs/secret/key.txt", ("file", "secret/key.txt")),
    ("POST", "/anything/else", ("catch_all", "anything/else")),
    ("GET", "/100%25/settings", ("tenant_settings", "100%")),
]


async def test_signed_in_the_same_targets_reach_their_handlers_and_ambiguous_ones_still_get_400(serve):
    host, client = await serve(**POLICIES["all"][0])
    await signed_in(client, user="alice@example.com", password="Alice-Passw0rd!")
    cookie = {"Cookie": cookie_header(client)}
    for method, target, hit in SIGNED_IN_REACHES:
        before = len(host.reached)
        status, _, _ = await raw_request(client.port, method, target.encode(), cookie)
        assert status == 200 and host.reached[before:] == [hit], (method, target, status, host.reached[before:])
    for target in AMBIGUOUS:
        before = len(host.reached)
        status, _, _ = await raw_request(client.port, "GET", target.encode(), cookie)
        assert status == 400 and not host.reached[before:], target


# --- each break of issue 19 item 1, as reported (each failed on 23ac55b) -----------------------


async def get_anonymously(client: TestClient, target: str, **headers: str):
    return await raw_request(client.port, "GET", target.encode(), headers)


async def test_an_encoded_slash_no_longer_opens_a_guarded_variable_route(serve):
    host, client = await serve(require="all", public=("/public/*",))
    status, _, _ = await get_anonymously(client, "/public%2Facme/settings")
    assert status == 400 and host.reached == []
    status, headers, _ = await get_anonymously(client, "/acme/settings")
    assert status == 303 and headers["Location"].startswith("/auth/login?") and host.reached == []


@pytest.mark.parametrize(
    "target", ["/docs/public%2F..%2Freport.txt", "/docs/public/../report.txt", "/docs/public/%2e%2e/report.txt"]
)
async def test_a_traversal_out_of_a_public_static_folder_no_longer_serves_a_guarded_file(serve, target):
    host, client = await serve(require="all", public=("/docs/public/*",))
    status, _, body = await get_anonymously(client, target)
    assert status == 400 and b"signed-in people only" not in body and host.reached == []
    status, _, body = await get_anonymously(client, "/docs/public/readme.txt")
    assert status == 200 and body == b"public readme\n" and host.reached == [("file", "public/readme.txt")]


async def test_a_pattern_ending_in_slash_star_covers_the_path_itself(serve):
    host, client = await serve(require="none", private=("/admin/*",))
    for target in ("/admin", "/admin/", "/admin/x", "/%61dmin/x", "/%61dmin"):
        status, headers, _ = await get_anonymously(client, target)
        assert status == 303 and headers["Location"].startswith("/auth/login?"), target
    assert host.reached == []


@pytest.mark.parametrize(
    "pattern", ["/docs*", "/docs/*/x", "*", "/*/settings", "/a*b", "docs/*", "/docs/**", "/a//b", "/a/../b", "/a%2Fb"]
)
def test_a_star_anywhere_but_after_a_final_slash_or_an_unplain_path_is_a_settings_error(embedded_simulator, pattern):
    for policy in ({"public": (pattern,)}, {"require": "none", "private": (pattern,)}):
        app = web.Application()
        embedded.setup(app, embedded_simulator.settings(prefix="/auth"))
        with pytest.raises(embedded.SettingsError, match="pattern"):
            embedded.protect(app, **policy)


# --- the 400 itself, and the way back to a page -------------------------------------------------


async def test_the_400_is_the_package_page_for_a_browser_and_json_for_an_api(serve):
    host, client = await serve(require="all", public=("/public/*",))
    status, headers, body = await get_anonymously(client, "/public/..%2Fadmin/x", Accept="text/html")
    assert status == 400 and headers["Content-Type"].startswith("text/html") and b"template: error.html" in body
    # The package's headers on its page, whatever route it answers for (checklist 31).
    assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    status, headers, body = await get_anonymously(client, "/public/..%2Fadmin/x", Accept="application/json")
    assert status == 400 and body == b'{"error": "invalid_request_target"}'
    assert host.reached == []


async def test_login_required_alone_also_refuses_an_ambiguous_target(embedded_simulator):
    app = web.Application()
    embedded.setup(app, embedded_simulator.settings(prefix="/auth"))

    @embedded.login_required
    async def settings(request: web.Request) -> web.Response:
        raise AssertionError("reached")

    app.router.add_get("/{tenant}/settings", settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        assert (await get_anonymously(client, "/a%2Fb/settings"))[0] == 400
        status, headers, _ = await get_anonymously(client, "/a/settings")
        assert status == 303 and "return_to=%2Fa%2Fsettings" in headers["Location"]


async def test_the_way_back_after_sign_in_is_the_path_as_it_was_asked_for(serve):
    """Checklist 29: the way back is a same-site path; the one asked for, not a decoded copy."""
    _, client = await serve(require="all")
    status, headers, _ = await get_anonymously(client, "/caf%C3%A9/settings?next=%2Fx")
    assert status == 303
    location = urlsplit(headers["Location"])
    assert location.path == "/auth/login" and parse_qs(location.query) == {
        "return_to": ["/caf%C3%A9/settings?next=%2Fx"]
    }


def test_an_app_has_one_policy(embedded_simulator):
    app = web.Application()
    embedded.setup(app, embedded_simulator.settings(prefix="/auth"))
    embedded.protect(app, public=("/",))
    with pytest.raises(RuntimeError, match="already"):
        embedded.protect(app, require="none")
