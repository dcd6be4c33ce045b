"""The simulator alone in headless Chromium, as an app in the redirect model uses it: /v1/authorize,
the simulator's own sign-in pages (bob: password, then the emailed code), the redirect to the
app's callback with the code and state, and the code exchanged at /v1/token with the verifier."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import aiohttp
import jwt
import pytest
from aiohttp import web

from embedded.simulator import create_simulator_app

pytestmark = pytest.mark.browser


async def start_callback(aiohttp_server) -> tuple[str, list[dict[str, str]]]:
    """A tiny loopback app standing in for the real one: its callback records what it was given."""
    received: list[dict[str, str]] = []

    async def callback(request: web.Request) -> web.Response:
        received.append(dict(request.query))
        return web.Response(
            text="<!doctype html><link rel=icon href=data:,><title>Callback</title><h1>Back in the app</h1>",
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/login/callback", callback)
    server = await aiohttp_server(app, host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}/login/callback", received


async def test_bob_signs_in_on_the_simulators_pages_and_the_app_gets_a_code(aiohttp_server, page, shots):
    simulator = await aiohttp_server(create_simulator_app(), host="127.0.0.1")
    sim = f"http://127.0.0.1:{simulator.port}"
    redirect_uri, received = await start_callback(aiohttp_server)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    query = {
        "client_id": "demo-client",
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }

    await page.goto(f"{sim}/oauth2/default/v1/authorize?{urlencode(query)}")
    assert page.url == f"{sim}/signin"
    assert await page.locator("h1").inner_text() == "Sign In"
    await page.locator('input[name="identifier"]').fill("bob@example.com")
    await shots.take(page, "identify")
    await page.get_by_role("button", name="Next", exact=True).click()

    await page.locator("h1", has_text="Verify with Password").wait_for()
    await page.locator('input[name="credentials.passcode"]').fill("Bob-Passw0rd!")
    await shots.take(page, "password")
    await page.get_by_role("button", name="Verify", exact=True).click()

    await page.locator("h1", has_text="Verify with Email").wait_for()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim}/outbox.json", params={"to": "bob@example.com"}) as r:
            code = (await r.json())[0]["code"]
        await page.locator('input[name="credentials.passcode"]').fill(code)
        await shots.take(page, "email-code")
        await page.get_by_role("button", name="Verify", exact=True).click()

        await page.wait_for_url(f"{redirect_uri}?**")
        await page.locator("h1", has_text="Back in the app").wait_for()
        await shots.take(page, "callback")
        assert len(received) == 1 and received[0]["state"] == state and set(received[0]) == {"code", "state"}

        token = {
            "grant_type": "authorization_code",
            "code": received[0]["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        }
        async with http.post(f"{sim}/oauth2/default/v1/token", data=token) as r:
            assert r.status == 200, await r.text()
            tokens = await r.json()
        async with http.post(f"{sim}/oauth2/default/v1/token", data=token) as r:
            assert r.status == 400 and (await r.json())["error"] == "invalid_grant"  # single use
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "bob@example.com" and claims["nonce"] == nonce
    assert claims["amr"] == ["pwd", "email", "mfa"]
    # The sign-in is over on the simulator: its cookie is gone.
    assert not [c for c in await page.context.cookies(sim) if c["name"] == "sim_signin"]
    assert page.console_errors == []
