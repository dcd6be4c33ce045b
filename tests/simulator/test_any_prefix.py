"""Issue 22's acceptance: an app with sign-in mounted at prefix="/account" signs in against
`python -m embedded simulator` as shipped (its own process, the demo org file untouched), end to
end through the app's pages: alice with her password, and bob with his password and the emailed
link, which lands on /account/login/callback."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import embedded
from embedded.testing import Tab, signed_in

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/account"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def shipped_simulator():
    """`python -m embedded simulator --port N`, nothing else; its origin."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "embedded", "simulator", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(150):
                assert process.poll() is None, process.communicate()[0]
                try:
                    async with http.get(origin + "/oauth2/default/.well-known/openid-configuration"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
            else:
                raise AssertionError("the simulator never answered")
        yield origin
    finally:
        process.terminate()
        out = process.communicate(timeout=30)[0]
    assert "whose path ends in /login/callback" in out  # it said so at start-up


def account_app(simulator: str) -> web.Application:
    """A host with sign-in under /account and one protected page."""

    @embedded.login_required
    async def private(request: web.Request) -> web.Response:
        user = embedded.current_user(request)
        assert user is not None
        return web.Response(text=f"Hello {user.email}")

    settings = embedded.Settings(
        issuer=simulator + "/oauth2/default",
        client_id="demo-client",
        client_secret="demo-secret",
        redirect_uri=f"http://127.0.0.1:{free_port()}{PREFIX}/login/callback",
    )
    app = web.Application()
    embedded.setup(app, settings, prefix=PREFIX)
    app.router.add_get("/private", private)
    return app


async def test_an_app_under_account_signs_in_against_the_shipped_simulator(aiohttp_client, shipped_simulator):
    client = await aiohttp_client(account_app(shipped_simulator))
    tab = await signed_in(client, user="alice@example.com", password="Alice-Passw0rd!", return_to="/private")
    assert tab.path == "/private" and tab.html == "Hello alice@example.com"

    # bob: password, then the emailed link, which names the app's /account/login/callback.
    tab = Tab(await aiohttp_client(account_app(shipped_simulator)))
    await tab.get(PREFIX + "/login", return_to="/private")
    await tab.submit(identifier="bob@example.com")
    await tab.submit(credentials__passcode="Bob-Passw0rd!")
    async with aiohttp.ClientSession() as http:
        async with http.get(shipped_simulator + "/outbox.json", params={"to": "bob@example.com"}) as r:
            link = (await r.json())[0]["link"]
    assert f"{PREFIX}/login/callback?state=" in link
    await tab.get(link)
    assert tab.path == "/private" and tab.html == "Hello bob@example.com"
