"""Random request bodies against every POST route, in every flow state: never a 5xx, never a
traceback in the logs.

    python bench/fuzz.py [--examples N] [--seed S]

The app and the simulator run on loopback ports. For each POST route (the step endpoint,
sign-out, the CSP report endpoint, an unknown path), Hypothesis draws N requests, shared out
over the flow states (a fresh browser, a browser with a session, one in the middle of a
sign-in, a signed-in one): content types with odd parameters (charsets, boundaries), content
codings the body does not have, unknown or stacked ones and ones it really has, random bytes,
random form fields, and violation reports in both formats with URL-shaped strings that do not
parse (an open bracket, a port that is not one) in every field, with or without this browser's
real CSRF token. It prints the count of answers by status, and exits 1 on any answer >= 500 or
logged traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
import zlib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as seed_fn  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from embedded import Settings  # noqa: E402
from embedded.demo import create_app  # noqa: E402
from embedded.keys import REPORT_LIMITER  # noqa: E402
from embedded.ratelimit import RateLimiter  # noqa: E402
from embedded.simulator import create_simulator_app  # noqa: E402
from embedded.web.reports import REPORT_TYPES  # noqa: E402
from embedded.web.setup import RUNNER_OPTIONS  # noqa: E402

ROUTES = ("/login/step", "/logout", "/csp-report", "/no/such/path")
STATES = ("fresh", "session", "mid_sign_in", "signed_in")

content_types = st.one_of(
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "text/plain",
            "application/json",
            "",
            "application/csp-report",
            "application/reports+json",
        ]
    ),
    st.builds(
        lambda base, param, value: f"{base}; {param}={value}",
        st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data"]),
        st.sampled_from(["charset", "boundary", "name"]),
        st.sampled_from(["", "bogus", "utf-16", "utf-8", "x", '"', "latin-1", "a" * 80]),
    ),
)
# Content codings: none, the ones aiohttp decodes, and ones it does not know, stacked or odd in case.
encodings = st.one_of(
    st.none(),
    st.sampled_from(
        ["gzip", "deflate", "br", "zstd", "identity", "bogus", "x-gzip", "compress", "GZIP", "gzip, gzip"]
        + ["identity, bogus", "deflate;q=1", "*", ""]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-,; =", min_size=1, max_size=12),
)
# URL-shaped strings: well formed ones, and ones urlsplit refuses or reads oddly (an open bracket,
# a port that is not a number or out of range, a host NFKC turns into a path, control characters).
url_shaped = st.one_of(
    st.sampled_from(["http://x:abc/", "http://[::1", "https://h:99999/", "http://x:-1/", "inline", "data:,x"]),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", "blob", "chrome-extension", ""]),
        st.one_of(
            st.sampled_from(["x", "[::1", "[::1]", "[v1.x]", "[fe80::1%eth0]", "a\u2100b", "h\u3002x", "", "u@h", "@"]),
            st.text(max_size=20),
        ),
        st.one_of(
            st.sampled_from(["", ":", ":abc", ":-1", ":99999", ":65536", ":0", ":80", ":\u0662", ":1:2", ": 1", ":+1"]),
            st.text(max_size=6).map(lambda t: ":" + t),
        ),
        st.one_of(st.sampled_from(["", "/", "/x?y#z", "/\r\n", "/%zz", "/\u2028"]), st.text(max_size=20)),
    ),
)
field_names = st.sampled_from(
    ["_csrf", "_step", "_form", "_action", "_charset_", "identifier", "credentials.passcode", "x"]
)
forms = st.lists(st.tuples(field_names, st.one_of(st.text(max_size=40), url_shaped)), max_size=6)
raw = st.binary(max_size=300)
# Violation reports, well formed and not: JSON of any shape, and the two report formats' outlines
# with URL-shaped strings (or any JSON) in every field a browser sends.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)
REPORT_URI_FIELDS = ["document-uri", "referrer", "blocked-uri", "violated-directive", "effective-directive"]
REPORT_URI_FIELDS += ["original-policy", "source-file", "script-sample", "disposition", "status-code", "x"]
REPORT_TO_FIELDS = ["documentURL", "referrer", "blockedURL", "effectiveDirective", "originalPolicy"]
REPORT_TO_FIELDS += ["sourceFile", "sample", "disposition", "statusCode", "x"]
field_values = st.one_of(url_shaped, json_values)
reports = st.one_of(
    json_values,
    st.builds(
        lambda body: {"csp-report": body},
        st.dictionaries(st.sampled_from(REPORT_URI_FIELDS), field_values, max_size=len(REPORT_URI_FIELDS)),
    ),
    st.builds(lambda url: {"csp-report": dict.fromkeys(REPORT_URI_FIELDS, url)}, url_shaped),
    st.builds(
        lambda bodies: [{"type": "csp-violation", "url": url, "body": body} for url, body in bodies],
        st.lists(
            st.tuples(
                field_values,
                st.dictionaries(st.sampled_from(REPORT_TO_FIELDS), field_values, max_size=len(REPORT_TO_FIELDS)),
            ),
            max_size=3,
        ),
    ),
).map(lambda doc: json.dumps(doc).encode())


# Codings the fuzz can really apply to a body (gzip with its header, deflate as zlib's stream).
CODERS = {
    "gzip": lambda body: zlib.compress(body, wbits=31),
    "x-gzip": lambda body: zlib.compress(body, wbits=31),
    "deflate": zlib.compress,
}


class Traceback(logging.Handler):
    """Counts log records that carry a traceback or are ERROR or worse."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    return m.group(1) if m else ""


async def into_state(client: aiohttp.ClientSession, state: str) -> dict[str, str]:
    """Bring a browser into `state`; returns the real form fields it now has (csrf, step)."""
    if state == "fresh":
        return {}
    if state == "session":
        html = await (await client.get("/")).text()
        return {"_csrf": hidden(html, "_csrf")}
    html = await (await client.get("/login")).text()
    fields = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0"}
    if state == "signed_in":
        html = await (await client.post("/login/step", data={**fields, "identifier": "alice@example.com"})).text()
        fields = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0"}
        html = await (
            await client.post("/login/step", data={**fields, "credentials.passcode": "Alice-Passw0rd!"})
        ).text()
        assert 'data-claim="email"' in html, "could not sign in"
        fields = {"_csrf": hidden(html, "_csrf")}
    return fields


def body_of(data: object, kind: str, real: dict[str, str], use_real: bool) -> bytes:
    if isinstance(data, bytes):
        return data
    pairs = list(real.items()) if use_real else []
    pairs += list(data)  # type: ignore[call-overload]
    if kind == "multipart":
        parts = [f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in pairs]
        return ("".join(parts) + "--b--\r\n").encode("utf-8", "surrogatepass")
    return "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")


async def start() -> tuple[TestServer, TestServer]:
    simulator = TestServer(create_simulator_app())
    await simulator.start_server()
    app_settings = Settings(
        issuer=f"http://127.0.0.1:{simulator.port}/oauth2/default",
        client_id="demo-client",
        client_secret="demo-secret",
        redirect_uri="http://127.0.0.1:8080/login/callback",
        step_limit_per_ip=(1_000_000, 60.0),  # one address fuzzing as fast as it can
        step_limit_per_transaction=(1_000_000, 5.0),
    )
    app = create_app(app_settings)
    app[REPORT_LIMITER] = RateLimiter(1_000_000, 60.0)  # reports too: one address, as fast as it can
    server = TestServer(app)
    await server.start_server(**RUNNER_OPTIONS)
    return simulator, server


async def new_client(server: TestServer) -> aiohttp.ClientSession:
    """A browser of its own (cookies for the loopback address) for one flow state."""
    return aiohttp.ClientSession(base_url=str(server.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True))


def run(examples: int, seed: int | None = None) -> tuple[Counter[tuple[str, int]], list[logging.LogRecord]]:
    """About `examples` requests per route, over every state; the counts of (route, status) and
    the bad log records."""
    loop = asyncio.new_event_loop()
    counts: Counter[tuple[str, int]] = Counter()
    catcher = Traceback()
    logging.getLogger().addHandler(catcher)
    logging.getLogger().setLevel(logging.INFO)
    simulator, server = loop.run_until_complete(start())
    try:
        for state in STATES:
            client = loop.run_until_complete(new_client(server))
            real = loop.run_until_complete(into_state(client, state))
            for route in ROUTES:
                fuzz(loop, client, route, real, counts, -(-examples // len(STATES)), seed)
            loop.run_until_complete(client.close())
    finally:
        loop.run_until_complete(server.close())
        loop.run_until_complete(simulator.close())
        loop.close()
        logging.getLogger().removeHandler(catcher)
    return counts, catcher.records


def fuzz(
    loop: asyncio.AbstractEventLoop,
    client: aiohttp.ClientSession,
    route: str,
    real: dict[str, str],
    counts: Counter[tuple[str, int]],
    examples: int,
    seed: int | None,
) -> None:
    """`examples` random POSTs to one route, counted by (route, status)."""
    reporting = route == "/csp-report"  # mostly what a browser posts there, so most reports are read

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        content_type=st.one_of(st.sampled_from(REPORT_TYPES), content_types) if reporting else content_types,
        encoding=encodings,
        data=st.one_of(reports, st.one_of(raw, forms)) if reporting else st.one_of(raw, forms, reports),
        use_real=st.booleans(),
        encoded=st.booleans(),
    )
    def attempt(content_type: str, encoding: str | None, data: object, use_real: bool, encoded: bool) -> None:
        kind = "multipart" if content_type.startswith("multipart") else "form"
        headers = {"Content-Type": content_type} if content_type else {}
        if encoding is not None:
            headers["Content-Encoding"] = encoding
        body = body_of(data, kind, real, use_real)
        if encoded and encoding in CODERS:  # the coding it claims, really applied: the readable case too
            body = CODERS[encoding](body)

        async def post() -> int:
            async with client.post(route, data=body, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                return resp.status

        counts[(route, loop.run_until_complete(post()))] += 1

    (seed_fn(seed)(attempt) if seed is not None else attempt)()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=10_000, help="examples per route, over all flow states (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    counts, bad = run(args.examples, args.seed)
    print(f"{'route':<16} {'status':>6} {'count':>7}")
    for (route, status), n in sorted(counts.items()):
        print(f"{route:<16} {status:>6} {n:>7}")
    per_route = Counter()
    for (route, _), n in counts.items():
        per_route[route] += n
    print("examples per route:", dict(per_route))
    server_errors = sum(n for (_, status), n in counts.items() if status >= 500)
    print(f"responses >= 500: {server_errors}; tracebacks or errors logged: {len(bad)}")
    for record in bad[:5]:
        print("  ", record.levelname, record.getMessage()[:200])
    return 1 if server_errors or bad else 0


if __name__ == "__main__":
    sys.exit(main())
