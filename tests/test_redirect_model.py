"""The redirect model: the org's own sign-in page (/v1/authorize, authorization code + PKCE) and
back through the app's callback, with `EMBEDDED_MODE=redirect` and as the embedded flow's
"Continue on the sign-in page". The app and the simulator each on a real loopback port."""

from __future__ import annotations

import dataclasses
import re
import socket
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import demo_settings
from pages import read

from embedded.demo import create_app
from embedded.web.setup import RUNNER_OPTIONS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Cookies for every loopback port, redirects followed by hand so each hop can be checked."""

    def __init__(self, http: aiohttp.ClientSession):
        self.http = http
        self.hops: list[str] = []
        self.html = ""
        self.url = ""

    async def go(self, url: str, method: str = "GET", data: dict | None = None) -> str:
        while True:
            async with self.http.request(method, url, data=data, allow_redirects=False) as resp:
                self.hops.append(url)
                assert resp.status < 500, await resp.text()
                if resp.status in (301, 302, 303):
                    location = resp.headers["Location"]
                    url = (
                        location
                        if location.startswith("http")
                        else f"{urlsplit(url).scheme}://{urlsplit(url).netloc}{location}"
                    )
                    method, data = "GET", None
                    continue
                self.url, self.html = str(resp.url), await resp.text()
                self.status = resp.status
                return self.html

    async def fill(self, **fields: str) -> str:
        """Submit the form holding the first named field, with its hidden inputs."""
        for form in re.findall(r"<form[^>]*>.*?</form>", self.html, re.S):
            if all(f'name="{name}"' in form for name in fields):
                action = unescape(re.search(r'action="([^"]*)"', form).group(1))
                hidden = {n: unescape(v) for n, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)}
                base = urlsplit(self.url)
                url = action if action.startswith("http") else f"{base.scheme}://{base.netloc}{action}"
                return await self.go(url, "POST", {**hidden, **fields})
        raise AssertionError(f"no form with {sorted(fields)} on {self.url}")


@pytest.fixture
async def app_and_simulator(aiohttp_client, simulator):
    async def start(**changes):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = dataclasses.replace(demo_settings(simulator.port, redirect_uri=f"{base}/login/callback"), **changes)
        server = TestServer(create_app(settings), host="127.0.0.1", port=port)
        await server.start_server(**RUNNER_OPTIONS)
        client = await aiohttp_client(server)
        return base, client

    return start


@pytest.fixture
async def browser():
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(http)


async def test_redirect_mode_signs_alice_in_on_the_hosted_page_and_back(app_and_simulator, simulator, browser):
    base, client = await app_and_simulator(mode="redirect")
    resp = await browser.http.get(f"{base}/login?return_to=/profile", allow_redirects=False)
    authorize = urlsplit(resp.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert resp.status == 303 and authorize.path == "/oauth2/default/v1/authorize"
    assert (
        query["response_type"] == "code"
        and query["code_challenge_method"] == "S256"
        and query["client_id"] == "demo-client"
    )
    assert query["redirect_uri"] == f"{base}/login/callback" and len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    await browser.go(resp.headers["Location"])
    await browser.fill(identifier="alice@example.com")
    await browser.fill(**{"credentials.passcode": "Alice-Passw0rd!"})
    assert browser.url == f"{base}/profile" and 'data-claim="email">alice@example.com<' in browser.html
    callback = next(h for h in browser.hops if h.startswith(f"{base}/login/callback"))
    assert set(parse_qs(urlsplit(callback).query)) == {"code", "state"}
    # The code is single use, and only this browser's transaction could take it.
    again = await browser.http.get(callback, allow_redirects=False)
    assert again.status == 400 and "Traceback" not in await again.text()
    calls = [c[-1] for c in await (await browser.http.get(f"http://127.0.0.1:{simulator.port}/_sim/calls")).json()]
    assert "/oauth2/default/v1/token" in calls and "/oauth2/default/v1/interact" not in calls


async def test_a_callback_with_another_state_or_an_error_signs_nobody_in(app_and_simulator, browser):
    base, _ = await app_and_simulator(mode="redirect")
    resp = await browser.http.get(f"{base}/login", allow_redirects=False)
    state = parse_qs(urlsplit(resp.headers["Location"]).query)["state"][0]
    wrong = await browser.http.get(f"{base}/login/callback?{urlencode({'code': 'x', 'state': state + 'x'})}")
    assert wrong.status == 400 and "template: error.html" in await wrong.text()
    denied = await browser.http.get(f"{base}/login/callback?{urlencode({'error': 'access_denied', 'state': state})}")
    assert denied.status == 400
    home = await (await browser.http.get(base + "/")).text()
    assert 'data-claim="email"' not in home


async def test_continue_on_the_sign_in_page_from_a_device_step_keeps_return_to_and_step_up(app_and_simulator, browser):
    base, _ = await app_and_simulator()
    await browser.go(f"{base}/login?return_to=/profile&max_age=600")
    await browser.fill(identifier="fiona@example.com")
    options = next(f.options["authenticator"] for f in read(browser.html).forms if "authenticator" in f.options)
    await browser.fill(authenticator=next(v for label, v in options.items() if "Okta Verify" in label))
    assert "data-hosted" in browser.html and "Continue on the sign-in page" in browser.html
    hosted = re.search(r'href="([^"]+)" data-hosted', browser.html).group(1)
    resp = await browser.http.get(base + hosted, allow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    assert resp.status == 303 and query["max_age"] == "600"
    await browser.go(resp.headers["Location"])
    await browser.fill(identifier="alice@example.com")
    await browser.fill(**{"credentials.passcode": "Alice-Passw0rd!"})
    assert browser.url == f"{base}/profile" and 'data-claim="email">alice@example.com<' in browser.html


async def test_sign_out_after_the_hosted_page_also_ends_the_org_session(app_and_simulator, browser):
    base, _ = await app_and_simulator(mode="redirect")
    await browser.go(f"{base}/login")
    await browser.fill(identifier="alice@example.com")
    await browser.fill(**{"credentials.passcode": "Alice-Passw0rd!"})
    assert 'data-claim="email">alice@example.com<' in browser.html
    csrf = re.search(r'name="_csrf" value="([^"]+)"', browser.html).group(1)
    resp = await browser.http.post(f"{base}/logout", data={"_csrf": csrf}, allow_redirects=False)
    page = await resp.text()
    assert resp.status == 200 and "Location" not in resp.headers
    assert 'action="http://127.0.0.1:' in page and '/oauth2/default/v1/logout"' in page
    assert f'name="post_logout_redirect_uri" value="{base}/"' in page and 'name="id_token_hint"' in page
