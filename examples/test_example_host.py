"""Tests for examples/host_app.py written the way a host team writes them, with the public kit
only (`pip install "embedded-idx-signin[testing]"`; pytest loads the fixtures `idx_replay` and
`embedded_simulator` by itself). The README's "Testing your app" shows this file; the suite runs it,
and tests/test_wheel_install.py runs it against the installed wheel.

Recordings: `python -m embedded record --issuer https://YOUR-ORG/oauth2/default --out tests/idx`
records your org's real flows once; here, the demo org's that the package ships (DEMO_RECORDINGS).
"""

from host_app import create_app

from embedded.testing import DEMO_RECORDINGS, Tab, signed_in

JSON = {"Accept": "application/json"}


async def test_a_recorded_sign_in_opens_the_private_page(aiohttp_client, idx_replay):
    idx_replay.play_recorded(DEMO_RECORDINGS, "password")  # its manifest says user-1@example.com is alice
    client = await aiohttp_client(create_app(idx_replay.settings(prefix="/auth")))
    # The identifier must be the recorded one; the password only given (a replay cannot check it).
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
    idx_replay.play_recorded(DEMO_RECORDINGS, "password-wrong-then-right")
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
