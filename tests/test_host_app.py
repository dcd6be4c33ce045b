"""The package as a library: `examples/host_app.py` mounted at /auth, at the root and at /a/b,
signing a person in from its protected page against the simulator, through real HTTP."""

from __future__ import annotations

import gc
import importlib.util
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp_session
import pytest
from aiohttp import web
from conftest import demo_settings
from pages import read

import embedded
from embedded.simulator import create_simulator_app, demo_org

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


host_app = load_example("host_app")
URL_ATTRS = re.compile(r'\s(?:href|action|src|data-poll-url|data-step-url)="([^"]*)"')


class Person:
    """A browser without the browser: follows redirects, fills forms, remembers every page."""

    def __init__(self, client, prefix: str, simulator):
        self.client, self.prefix, self.simulator = client, prefix, simulator
        self.pages: list[tuple[str, str]] = []
        self.html = ""

    async def get(self, path: str, **kwargs) -> str:
        resp = await self.client.get(path, **kwargs)
        return await self._load(resp)

    async def _load(self, resp) -> str:
        self.html = await resp.text()
        assert resp.status < 500, self.html
        self.url = resp.url
        self.pages.append((resp.url.path, self.html))
        return self.html

    async def submit(self, **fields: str) -> str:
        form = next(f for f in read(self.html).forms if f.hidden.get("_form") == "0")
        action = re.search(
            r'<form method="post" action="([^"]+)"[^>]*data-form="' + re.escape(form.name), self.html
        ).group(1)
        data = {**form.hidden, **{name: fields.get(name, "") for name in form.inputs}}
        return await self._load(await self.client.post(action, data=data))

    async def email_code(self, to: str) -> str:
        resp = await self.client.session.get(f"http://127.0.0.1:{self.simulator.port}/outbox.json", params={"to": to})
        return next(m["code"] for m in await resp.json() if m["kind"] == "email")


@pytest.fixture
async def simulator(aiohttp_server):
    """The demo org, whose client also allows this module's deepest prefix (Okta matches paths exactly)."""
    org = demo_org()
    org.client("demo-client").redirect_uris.append("http://127.0.0.1/a/b/login/callback")
    return await aiohttp_server(create_simulator_app(org))


@pytest.fixture(params=["/auth", "", "/a/b"], ids=["auth", "root", "nested"])
async def person(request, aiohttp_client, simulator):
    prefix = request.param
    settings = demo_settings(simulator.port, redirect_uri=f"http://127.0.0.1:8080{prefix}/login/callback")
    client = await aiohttp_client(host_app.create_app(settings, prefix=prefix))
    return Person(client, prefix, simulator)


async def test_a_protected_page_signs_in_under_the_prefix_and_comes_back(person):
    resp = await person.client.get("/private", allow_redirects=False)
    assert resp.status == 303
    location = urlsplit(resp.headers["Location"])
    assert location.path == f"{person.prefix}/login" and parse_qs(location.query) == {"return_to": ["/private"]}
    await person.get("/private")
    assert person.url.path == f"{person.prefix}/login/step"
    await person.submit(identifier="bob@example.com")
    await person.submit(**{"credentials.passcode": "Bob-Passw0rd!"})
    await person.submit(**{"credentials.passcode": await person.email_code("bob@example.com")})
    assert person.url.path == "/private" and "Hello Bob" in person.html and "bob@example.com" in person.html
    # Every URL the package put on its pages stays under the prefix (or is the host's own).
    for path, html in person.pages:
        if path.startswith(person.prefix + "/"):
            for url in URL_ATTRS.findall(html):
                # (A query alone, like the language switch's "?lang=fr", stays on the same page.)
                assert url.startswith((person.prefix + "/", "?")) or url in ("/", "/private"), (path, url)


async def test_the_json_api_answers_401_signed_out_and_the_user_signed_in(person):
    resp = await person.client.get("/api/me", headers={"Accept": "application/json"})
    assert resp.status == 401 and (await resp.json()) == {"error": "unauthenticated", "login": f"{person.prefix}/login"}
    resp = await person.client.get("/api/me", headers={"X-Requested-With": "fetch"})
    assert resp.status == 401
    await person.get("/private")
    await person.submit(identifier="alice@example.com")
    await person.submit(**{"credentials.passcode": "Alice-Passw0rd!"})
    me = await (await person.client.get("/api/me", headers={"Accept": "application/json"})).json()
    assert me["email"] == "alice@example.com" and me["sub"].startswith("00u") and "pwd" in me["amr"]


async def test_sign_out_from_the_host(person):
    await person.get("/private")
    await person.submit(identifier="alice@example.com")
    await person.submit(**{"credentials.passcode": "Alice-Passw0rd!"})
    assert "Hello Alice" in person.html
    logout = re.search(r"href='([^']+)'>Sign out", person.html).group(1)
    assert logout == f"{person.prefix}/logout"
    await person.get(logout)
    form = read(person.html).forms[0]
    resp = await person.client.post(logout, data=form.hidden, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert "Not signed in." in await (await person.client.get("/")).text()
    assert (await person.client.get("/private", allow_redirects=False)).status == 303


async def test_unknown_paths_under_the_prefix_get_the_package_404_and_the_host_keeps_its_own(person):
    if not person.prefix:
        pytest.skip("mounted at the root, every unknown path is under the prefix")
    ours = await person.client.get(f"{person.prefix}/nope")
    assert ours.status == 404 and "template: error.html" in await ours.text()
    theirs = await person.client.get("/nope")
    assert theirs.status == 404 and "template:" not in await theirs.text()
    assert "Content-Security-Policy" not in (await person.client.get("/")).headers  # the host's pages are its own


def test_a_redirect_uri_elsewhere_than_the_callback_under_the_prefix_is_refused():
    settings = demo_settings(8081, redirect_uri="http://127.0.0.1:8080/login/callback")
    with pytest.raises(embedded.SettingsError, match="/auth/login/callback"):
        embedded.setup(web.Application(), settings, prefix="/auth")
    for bad in ("auth", "/auth/", "/a//b", "/a?b"):
        with pytest.raises(embedded.SettingsError, match="prefix"):
            embedded.setup(web.Application(), settings, prefix=bad)


async def test_a_host_using_aiohttp_session_keeps_its_own_session(aiohttp_client, simulator):
    settings = demo_settings(simulator.port, redirect_uri="http://127.0.0.1:8080/auth/login/callback")
    app = web.Application()
    aiohttp_session.setup(app, aiohttp_session.SimpleCookieStorage(cookie_name="host"))
    embedded.setup(app, settings, prefix="/auth")

    async def visits(request: web.Request) -> web.Response:
        session = await aiohttp_session.get_session(request)
        session["n"] = session.get("n", 0) + 1
        user = embedded.current_user(request)
        return web.json_response({"n": session["n"], "email": user.email if user else None})

    app.router.add_get("/visits", visits)
    person = Person(await aiohttp_client(app), "/auth", simulator)
    assert (await (await person.client.get("/visits")).json()) == {"n": 1, "email": None}
    await person.get("/auth/login")
    await person.submit(identifier="alice@example.com")
    await person.submit(**{"credentials.passcode": "Alice-Passw0rd!"})
    assert (await (await person.client.get("/visits")).json()) == {"n": 2, "email": "alice@example.com"}


@pytest.mark.parametrize(
    "require, public, private, guarded, open_",
    [
        ("all", ("/", "/docs/*"), (), ["/private", "/anything"], ["/", "/docs/a/b", "/auth/login"]),
        ("none", (), ("/private", "/admin/*"), ["/private", "/admin/x"], ["/", "/anything", "/docs/a"]),
        ("none", (), (), [], ["/", "/private", "/admin/x"]),
    ],
)
async def test_protect_guards_by_path_in_three_modes(
    aiohttp_client, simulator, require, public, private, guarded, open_
):
    settings = demo_settings(simulator.port, redirect_uri="http://127.0.0.1:8080/auth/login/callback")
    app = web.Application()
    embedded.setup(app, settings, prefix="/auth")
    embedded.protect(app, require=require, public=public, private=private)

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="page")

    app.router.add_get("/{tail:.*}", page)
    client = await aiohttp_client(app)
    for path in guarded:
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/auth/login?return_to="), path
    for path in open_:
        resp = await client.get(path, allow_redirects=False)
        assert resp.status in (200, 303) and not resp.headers.get("Location", "").startswith("/auth/login?return_to"), (
            path
        )


async def test_login_required_on_a_class_based_view_and_its_methods(aiohttp_client, simulator):
    settings = demo_settings(simulator.port, redirect_uri="http://127.0.0.1:8080/auth/login/callback")
    app = web.Application()
    embedded.setup(app, settings, prefix="/auth")

    @embedded.login_required
    class Whole(web.View):
        async def get(self) -> web.Response:
            return web.Response(text="whole")

    class OneMethod(web.View):
        async def get(self) -> web.Response:
            return web.Response(text="open")

        @embedded.login_required
        async def post(self) -> web.Response:
            return web.Response(text="guarded")

    app.router.add_view("/whole", Whole)
    app.router.add_view("/one", OneMethod)
    client = await aiohttp_client(app)
    assert (await client.get("/whole", allow_redirects=False)).headers["Location"] == "/auth/login?return_to=%2Fwhole"
    assert await (await client.get("/one")).text() == "open"
    assert (await client.post("/one", headers={"Accept": "application/json"})).status == 401


async def test_access_token_is_none_signed_out_and_a_token_signed_in(aiohttp_client, simulator):
    settings = demo_settings(simulator.port, redirect_uri="http://127.0.0.1:8080/auth/login/callback")
    app = host_app.create_app(settings)

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"token": await embedded.access_token(request)})

    app.router.add_get("/token", token)
    person = Person(await aiohttp_client(app), "/auth", simulator)
    assert (await (await person.client.get("/token")).json()) == {"token": None}
    await person.get("/private")
    await person.submit(identifier="alice@example.com")
    await person.submit(**{"credentials.passcode": "Alice-Passw0rd!"})
    assert isinstance((await (await person.client.get("/token")).json())["token"], str)


def test_guards_fail_loudly_without_setup():
    with pytest.raises(RuntimeError, match="setup"):
        embedded.protect(web.Application())


async def test_config_reads_what_config_dict_reads_through_sub_applications(aiohttp_client):
    """`keys.config` (one dict per serving application, in place of aiohttp's chain made anew at
    each read) finds a parent's keys from a sub-application, the nearest application's value
    where both have one, and a key absent as absent; before an application serves, it reads the
    keys as they are at that moment."""
    from aiohttp.test_utils import make_mocked_request

    from embedded.keys import config

    both, parent_only, absent = web.AppKey("both", str), web.AppKey("parent_only", str), web.AppKey("absent", str)

    async def show(request: web.Request) -> web.Response:
        seen = config(request)
        assert dict(request.config_dict) == dict(seen)
        return web.json_response([seen[both], seen[parent_only], absent in seen, seen.get(absent)])

    parent, sub = web.Application(), web.Application()
    parent[both], parent[parent_only], sub[both] = "parent", "parent", "sub"
    parent.router.add_get("/", show)
    sub.router.add_get("/", show)
    parent.add_subapp("/sub", sub)
    client = await aiohttp_client(parent)
    for _ in range(2):  # made at the first request, read at the second
        assert await (await client.get("/")).json() == ["parent", "parent", False, None]
        assert await (await client.get("/sub/")).json() == ["sub", "parent", False, None]

    from aiohttp.test_utils import TestClient, TestServer

    from embedded import keys

    gone = web.Application()
    gone.router.add_get("/", show)
    gone[both] = gone[parent_only] = "gone"
    async with TestClient(TestServer(gone)) as own:
        assert (await own.get("/")).status == 200
    served = id(gone)
    assert served in keys._SERVING
    del gone, own
    gc.collect()
    assert served not in keys._SERVING  # nothing kept for an application that is gone

    unstarted = web.Application()
    unstarted[both] = "before"
    request = make_mocked_request("GET", "/", app=unstarted)
    assert config(request)[both] == "before"
    unstarted[both] = "after"
    assert config(request)[both] == "after"
