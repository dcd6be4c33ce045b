"""An official browser client against the simulator alone: okta-auth-js's browser build
(`dist/okta-auth-js.min.js` from npm, installed as tests/simulator/test_authjs.py installs it) on
a page of its own origin, in headless Chromium, with the demo org's public client `demo-spa` and
nothing else configured.

* From a loopback origin (trusted by the demo org: any loopback origin, any port) the page signs
  alice in (password), then bob (password, then the email code the test reads from the outbox):
  interact with PKCE, IDX, the token exchange and the ID token verified by auth-js against the
  simulator's keys. Every call crosses origins, so Chromium preflights it and checks the answer's
  CORS headers itself; the test only watches (page events, and the simulator's call log for the
  preflights, which pages never see). Nothing is routed through Playwright, whose routing would
  answer preflights itself.
* The same page from an origin the org does not trust is refused by the browser at its first
  call. The demo org trusts every loopback origin, so that page is served under a name that is not
  loopback, `spa.untrusted.test` (Chromium's host resolver maps it to 127.0.0.1, as DNS would for
  a real site): the simulator and the org are unchanged. Chromium is told to treat that origin as
  secure so auth-js has WebCrypto for PKCE as on any https site: the page fails on CORS, not for
  lack of crypto.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from simulator.test_authjs import authjs_modules

from embedded.simulator import create_simulator_app

from .conftest import CHROMIUM, CHROMIUM_ARGS, watch

pytestmark = pytest.mark.browser

UNTRUSTED_HOST = "spa.untrusted.test"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>SPA</title>
<script src="/okta-auth-js.min.js"></script></head>
<body><h1>A single-page app</h1><pre id="out"></pre>
<script>
// okta-auth-js's browser build defines the global OktaAuth (the module; its OktaAuth class inside).
const OktaAuthClass = typeof OktaAuth === 'function' ? OktaAuth : OktaAuth.OktaAuth;
let authClient = null;

function newClient(issuer) {
  const client = new OktaAuthClass({
    issuer,
    clientId: 'demo-spa',                     // public: no secret, PKCE
    redirectUri: location.origin + '/login/callback',
    scopes: ['openid', 'profile', 'email'],
  });
  client.transactionManager.clear();
  client.tokenManager.clear();
  return client;
}

async function summary(tx, steps) {
  if (tx.status !== 'SUCCESS') {
    return { status: tx.status, steps, nextStep: tx.nextStep && tx.nextStep.name, messages: tx.messages || [] };
  }
  const { idToken, accessToken } = tx.tokens;
  await authClient.token.verify(idToken);       // signature against the simulator's JWKS, claims, nonce
  return { status: tx.status, steps, sub: idToken.claims.sub, email: idToken.claims.email, aud: idToken.claims.aud,
           amr: idToken.claims.amr, iss: idToken.claims.iss,
           accessToken: Boolean(accessToken && accessToken.accessToken) };
}

// Legacy (flow) mode, as apps on auth-js 7 use it: auth-js picks the remediations itself.
window.signIn = async (issuer, username, password) => {
  try {
    authClient = newClient(issuer);
    const tx = await authClient.idx.authenticate({ username, password, enableLegacyMode: true });
    return await summary(tx, []);
  } catch (e) {
    return { status: 'ERROR', error: e.name, message: String(e.message || e) };
  }
};

window.verifyCode = async (code) => {
  const tx = await authClient.idx.proceed({ verificationCode: code, enableLegacyMode: true });
  return await summary(tx, ['challenge-authenticator']);
};
</script></body></html>
"""


async def start_page_server(aiohttp_server, modules: Path):
    """The SPA's own origin: the page and the SDK's browser build, nothing else."""
    bundle = modules / "@okta" / "okta-auth-js" / "dist" / "okta-auth-js.min.js"
    assert bundle.exists(), bundle

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def sdk(request: web.Request) -> web.FileResponse:
        return web.FileResponse(bundle, headers={"Content-Type": "application/javascript"})

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/okta-auth-js.min.js", sdk)
    return await aiohttp_server(app, host="127.0.0.1")


class Watched:
    """Every request the page makes to the simulator, its answer's CORS headers, and failures."""

    def __init__(self, page, simulator_origin: str):
        self.sent: list[tuple[str, str, str | None]] = []  # (method, path, Origin)
        self.answered: list[tuple[str, str, int, str | None, str | None]] = []  # (method, path, status, ACAO, ACAC)
        self.failed: list[tuple[str, str, str]] = []
        self.origin = simulator_origin

        def path(url: str) -> str:
            return url[len(self.origin) :].split("?")[0]

        async def on_request(request) -> None:
            if request.url.startswith(self.origin):
                self.sent.append((request.method, path(request.url), await request.header_value("origin")))

        async def on_response(response) -> None:
            if response.url.startswith(self.origin):
                headers = await response.all_headers()
                self.answered.append(
                    (
                        response.request.method,
                        path(response.url),
                        response.status,
                        headers.get("access-control-allow-origin"),
                        headers.get("access-control-allow-credentials"),
                    )
                )

        def on_failed(request) -> None:
            if request.url.startswith(self.origin):
                self.failed.append((request.method, path(request.url), request.failure or ""))

        page.on("request", on_request)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)


async def sim_get(sim_origin: str, path: str, **params):
    async with aiohttp.ClientSession() as http, http.get(sim_origin + path, params=params) as r:
        return await r.json()


async def test_authjs_in_chromium_signs_alice_then_bob_in_from_a_loopback_origin(aiohttp_server, browser, shots):
    modules = await authjs_modules()
    simulator = await aiohttp_server(
        create_simulator_app(), host="127.0.0.1"
    )  # the demo org, as `python -m embedded simulator`
    sim = f"http://127.0.0.1:{simulator.port}"
    issuer = f"{sim}/oauth2/default"
    pages = await start_page_server(aiohttp_server, modules)
    origin = f"http://localhost:{pages.port}"  # another origin than the simulator's (host and port)

    context = await browser.new_context()
    context.set_default_timeout(15_000)
    page = await context.new_page()
    watch(page)
    seen = Watched(page, sim)
    await page.goto(origin + "/")
    assert await page.evaluate("typeof OktaAuthClass") == "function"

    alice = await page.evaluate("([issuer]) => signIn(issuer, 'alice@example.com', 'Alice-Passw0rd!')", [issuer])
    assert alice["status"] == "SUCCESS", alice
    assert alice["email"] == "alice@example.com" and alice["aud"] == "demo-spa" and alice["iss"] == issuer
    assert alice["amr"] == ["pwd"] and alice["accessToken"] is True
    await shots.take(page, "alice-signed-in")

    bob = await page.evaluate("([issuer]) => signIn(issuer, 'bob@example.com', 'Bob-Passw0rd!')", [issuer])
    assert bob["status"] == "PENDING" and bob["nextStep"] == "challenge-authenticator", bob
    code = (await sim_get(sim, "/outbox.json", to="bob@example.com"))[0]["code"]
    bob = await page.evaluate("([code]) => verifyCode(code)", [code])
    assert bob["status"] == "SUCCESS", bob
    assert bob["email"] == "bob@example.com" and bob["amr"] == ["pwd", "email", "mfa"] and bob["aud"] == "demo-spa"
    await shots.take(page, "bob-signed-in")

    # What crossed origins: every call carried the page's Origin and every answer let exactly that
    # origin read it, with credentials (IDX calls send cookies).
    paths = [p for _, p, _ in seen.sent]
    for expected in (
        "/oauth2/default/.well-known/openid-configuration",
        "/oauth2/default/v1/interact",
        "/idp/idx/introspect",
        "/idp/idx/identify",
        "/idp/idx/challenge/answer",
        "/oauth2/default/v1/token",
        "/oauth2/default/v1/keys",
    ):
        assert expected in paths, (expected, paths)
    assert {o for _, _, o in seen.sent} == {origin}
    assert seen.failed == []
    assert seen.answered and all(acao == origin and acac == "true" for *_, acao, acac in seen.answered), seen.answered
    assert paths.count("/oauth2/default/v1/token") == 2 and paths.count("/oauth2/default/v1/interact") == 2
    # Chromium preflighted them (the SDK sends JSON and its own headers): the simulator saw the OPTIONS.
    calls = [tuple(c) for c in await sim_get(sim, "/_sim/calls")]
    for preflighted in (
        "/oauth2/default/.well-known/openid-configuration",
        "/oauth2/default/v1/interact",
        "/idp/idx/introspect",
        "/oauth2/default/v1/token",
    ):
        assert ("OPTIONS", preflighted) in calls, (preflighted, calls)
    sessions = await sim_get(sim, "/_sim/sessions")
    assert [(s["login"], s["client_id"]) for s in sessions] == [
        ("alice@example.com", "demo-spa"),
        ("bob@example.com", "demo-spa"),
    ]
    assert page.console_errors == []
    await context.close()


async def test_the_same_page_from_an_untrusted_origin_is_refused_by_the_browser(aiohttp_server, shots):
    from playwright.async_api import async_playwright

    modules = await authjs_modules()
    simulator = await aiohttp_server(create_simulator_app(), host="127.0.0.1")
    sim = f"http://127.0.0.1:{simulator.port}"
    issuer = f"{sim}/oauth2/default"
    pages = await start_page_server(aiohttp_server, modules)
    origin = f"http://{UNTRUSTED_HOST}:{pages.port}"
    args = [
        *CHROMIUM_ARGS,
        f"--host-resolver-rules=MAP {UNTRUSTED_HOST} 127.0.0.1",
        f"--unsafely-treat-insecure-origin-as-secure={origin}",
    ]

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            context = await browser.new_context()
            context.set_default_timeout(15_000)
            page = await context.new_page()
            watch(page)
            seen = Watched(page, sim)
            await page.goto(origin + "/")
            assert await page.evaluate("window.isSecureContext && typeof crypto.subtle") == "object"
            refused = await page.evaluate(
                "([issuer]) => signIn(issuer, 'alice@example.com', 'Alice-Passw0rd!')", [issuer]
            )
            await shots.take(page, "refused")
        finally:
            await browser.close()

    assert refused["status"] == "ERROR", refused
    # The first call (discovery) went out, and the browser refused it: nothing reached the page.
    # (A refused request shows Playwright only its provisional headers, without Origin; Chromium's
    # console names the page's origin.)
    assert seen.sent and seen.sent[0][:2] == ("GET", "/oauth2/default/.well-known/openid-configuration")
    assert [(m, p) for m, p, _ in seen.failed] == [(m, p) for m, p, _ in seen.sent]
    assert all("ERR_FAILED" in why for *_, why in seen.failed), seen.failed
    assert seen.answered == []
    assert any("blocked by CORS policy" in e and f"from origin '{origin}'" in e for e in page.console_errors), (
        page.console_errors
    )
    # The simulator saw only the preflight, refused without CORS headers; no transaction began.
    calls = [tuple(c) for c in await sim_get(sim, "/_sim/calls")]
    assert ("OPTIONS", "/oauth2/default/.well-known/openid-configuration") in calls
    assert not any(p.endswith("/v1/interact") or p.startswith("/idp/idx/") for _, p in calls), calls
    async with (
        aiohttp.ClientSession() as http,
        http.options(
            issuer + "/.well-known/openid-configuration",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-okta-user-agent-extended",
            },
        ) as r,
    ):
        assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    assert json.dumps(await sim_get(sim, "/_sim/sessions")) == "[]"
