"""Tests for examples/host_app.py written the way a host team writes them, with the public kit
only (`pip install embedded[testing]`; pytest loads the fixtures `idx_replay` and
`embedded_simulator` by itself). The README's "Testing your app" shows this file; the suite runs it.

Recordings: `python -m embedded record --issuer https://YOUR-ORG/oauth2/default --out tests/idx`
records your org's real flows once; here, the demo journeys this project recorded from its simulator.
"""

from pathlib import Path

from host_app import create_app

from embedded.testing import Tab, signed_in

RECORDINGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "recorded"
JSON = {"Accept": "application/json"}


async def test_a_recorded_sign_in_opens_the_private_page(aiohttp_client, idx_replay):
    idx_replay.play_recorded(RECORDINGS, "password")
    idx_replay.claims.update(email="alice@example.com", name="Alice Anders")  # who the ID token names
    client = await aiohttp_client(create_app(idx_replay.settings(prefix="/auth")))
    tab = await signed_in(client, user="alice@example.com", password="Alice-Passw0rd!", return_to="/private")
    assert tab.path == "/private" and tab.shows("Hello Alice Anders (alice@example.com)")
    me = await (await client.get("/api/me", headers=JSON)).json()
    assert me["email"] == "alice@example.com" and me["amr"] == ["pwd"]
    assert idx_replay.bodies("/idp/idx/identify")[0]["identifier"] == "alice@example.com"


async def test_the_api_asks_for_sign_in_with_a_401(aiohttp_client, idx_replay):
    client = await aiohttp_client(create_app(idx_replay.settings(prefix="/auth")))
    resp = await client.get("/api/me", headers=JSON)
    assert resp.status == 401 and await resp.json() == {"error": "unauthenticated", "login": "/auth/login"}
    assert idx_replay.calls == []  # nothing reached the Identity Engine


async def test_a_wrong_password_keeps_the_person_out(aiohttp_client, idx_replay):
    idx_replay.play_recorded(RECORDINGS, "password-wrong-then-right")
    client = await aiohttp_client(create_app(idx_replay.settings(prefix="/auth")))
    tab = Tab(client)
    await tab.get("/private")
    await tab.submit(identifier="alice@example.com")
    await tab.submit(credentials__passcode="not-her-password")
    assert tab.path == "/auth/login/step" and tab.shows("Password is incorrect")
    assert (await client.get("/api/me", headers=JSON)).status == 401


async def test_email_code_against_the_simulator_then_sign_out(aiohttp_client, embedded_simulator):
    client = await aiohttp_client(create_app(embedded_simulator.settings(prefix="/auth")))
    tab = await signed_in(
        client,
        user="bob@example.com",
        password="Bob-Passw0rd!",
        code=embedded_simulator.code_for("bob@example.com"),
        return_to="/private",
    )
    assert (
        tab.shows("Hello Bob")
        and (await (await client.get("/api/me", headers=JSON)).json())["email"] == "bob@example.com"
    )
    await tab.get("/auth/logout")
    await tab.submit()  # the sign-out button
    assert (await client.get("/api/me", headers=JSON)).status == 401
