"""The app against the local Identity Engine simulator on loopback: real HTTP both ways."""

from __future__ import annotations

import re

import pytest
from conftest import demo_settings, hidden, serve

from embedded.simulator import SIMULATOR


@pytest.fixture
async def app_client(aiohttp_client, simulator):
    return await serve(aiohttp_client, demo_settings(simulator.port))


def upstream_calls(simulator) -> list[str]:
    return [path for _, path in simulator.app[SIMULATOR].calls]


async def submit(client, html, fields, *, form="0", action=None):
    data = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), **fields}
    data["_action" if action else "_form"] = action or form
    return await client.post("/login/step", data=data)


async def sign_in_page(client) -> str:
    resp = await client.get("/login")
    assert resp.status == 200
    return await resp.text()


async def password_page(client, identifier="alice@example.com") -> str:
    """The demo org asks for the identifier first, then the password."""
    html = await sign_in_page(client)
    assert 'name="credentials.passcode"' not in html
    resp = await submit(client, html, {"identifier": identifier})
    return await resp.text()


async def test_alice_signs_in_with_her_password(app_client, simulator):
    html = await password_page(app_client)
    resp = await submit(app_client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    home = await resp.text()
    assert resp.url.path == "/" and "alice@example.com" in home
    assert re.search(r'data-claim="sub"><code>[^<]+<', home)
    # One IDX round trip per user step; discovery and keys once.
    assert upstream_calls(simulator) == [
        "/oauth2/default/.well-known/openid-configuration",
        "/oauth2/default/v1/interact",
        "/idp/idx/introspect",
        "/idp/idx/identify",
        "/idp/idx/challenge/answer",
        "/oauth2/default/v1/token",
        "/oauth2/default/v1/keys",
    ]


async def test_wrong_password_then_right_one(app_client, simulator):
    html = await password_page(app_client)
    resp = await submit(app_client, html, {"credentials.passcode": "nope"})
    html = await resp.text()
    assert resp.url.path == "/login/step" and 'class="message message--error"' in html
    assert re.search(r'type="password"[^>]*value=""', html)
    resp = await submit(app_client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    assert resp.url.path == "/" and "alice@example.com" in await resp.text()


async def test_cancel_goes_back_to_the_start(app_client, simulator):
    html = await password_page(app_client)
    resp = await submit(app_client, html, {}, action="cancel")
    html = await resp.text()
    assert resp.status == 200 and 'name="identifier"' in html
    assert "/idp/idx/cancel" in upstream_calls(simulator)


async def test_session_expiry_restarts_with_a_new_transaction(app_client, simulator):
    html = await password_page(app_client)
    simulator.app[SIMULATOR].expire_all()
    interacts = upstream_calls(simulator).count("/oauth2/default/v1/interact")
    resp = await submit(app_client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    html = await resp.text()
    assert "expired" in html and 'name="identifier"' in html
    assert upstream_calls(simulator).count("/oauth2/default/v1/interact") == interacts + 1


async def test_logout_revokes_the_tokens_at_the_simulator(app_client, simulator):
    html = await password_page(app_client)
    home = await (await submit(app_client, html, {"credentials.passcode": "Alice-Passw0rd!"})).text()
    state = simulator.app[SIMULATOR]
    assert not state.revoked
    resp = await app_client.post("/logout", data={"_csrf": hidden(home, "_csrf")})
    assert resp.url.path == "/" and "alice@example.com" not in await resp.text()
    assert len(state.revoked) == 2  # refresh token and access token
    assert upstream_calls(simulator)[-2:] == ["/oauth2/default/v1/revoke", "/oauth2/default/v1/revoke"]
