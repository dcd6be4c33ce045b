"""Issue 23's simulator fixes, driven end to end through the aiohttp app's own pages against the
simulator: the registration page's "Already have an account? Sign in", "Keep me signed in" on the
first page, an unlock that goes straight on to signing in, Google Authenticator's challenge and
its wrong-code message, the registration form's required password."""

from __future__ import annotations

from aiohttp import web

import embedded
from embedded.simulator import totp
from embedded.testing import Tab


def host(settings: embedded.Settings) -> web.Application:
    app = web.Application()
    embedded.setup(app, settings, prefix="/auth")
    return app


async def tab_on(aiohttp_client, embedded_simulator) -> Tab:
    return Tab(await aiohttp_client(host(embedded_simulator.settings())))


async def test_already_have_an_account_from_the_registration_page(aiohttp_client, embedded_simulator):
    tab = await tab_on(aiohttp_client, embedded_simulator)
    await tab.get("/auth/register")
    assert tab.form().name == "enroll-profile" and tab.shows("Already have an account?")
    await tab.submit("select-identify")
    assert tab.status == 200 and tab.form().name == "identify"
    await tab.submit(identifier="alice@example.com")
    await tab.submit(credentials__passcode="Alice-Passw0rd!")
    assert not tab.signing_in
    calls = embedded_simulator.state.calls
    assert ("POST", "/idp/idx/identify/select") in calls


async def test_keep_me_signed_in_on_the_first_page_is_not_asked_again(aiohttp_client, embedded_simulator):
    tab = await tab_on(aiohttp_client, embedded_simulator)
    await tab.get("/auth/login")
    assert "rememberMe" in tab.form().checkboxes
    await tab.submit(identifier="kim@example.com", rememberMe="on")
    await tab.submit(credentials__passcode="Kim-Passw0rd!")
    assert not tab.signing_in  # no "Stay signed in?" page
    assert embedded_simulator.state.engine.sessions[-1]["keep_me_signed_in"] is True

    tab = await tab_on(aiohttp_client, embedded_simulator)
    await tab.get("/auth/login")
    await tab.submit(identifier="kim@example.com")
    await tab.submit(credentials__passcode="Kim-Passw0rd!")
    assert tab.signing_in and tab.form().name == "keep-me-signed-in"  # not ticked: asked after


async def test_henry_unlocks_and_signs_straight_on_with_his_password(aiohttp_client, embedded_simulator):
    tab = await tab_on(aiohttp_client, embedded_simulator)
    await tab.get("/auth/unlock")
    await tab.choose("Email", identifier="henry@example.com")
    await tab.submit(credentials__passcode=await embedded_simulator.code("henry@example.com"))
    assert tab.form().name == "challenge-authenticator" and tab.shows("Account successfully unlocked")
    await tab.submit(credentials__passcode="Henry-Passw0rd!")
    assert not tab.signing_in
    assert embedded_simulator.state.org.user("henry@example.com").status == "active"


async def test_carol_google_authenticator_wrong_then_right(aiohttp_client, embedded_simulator):
    tab = await tab_on(aiohttp_client, embedded_simulator)
    await tab.get("/auth/login")
    await tab.submit(identifier="carol@example.com")
    await tab.submit(credentials__passcode="Carol-Passw0rd!")
    assert tab.shows("Google Authenticator")
    await tab.submit(credentials__passcode="000000")
    assert tab.signing_in and tab.form().name == "challenge-authenticator" and tab.status < 500
    await tab.submit(credentials__passcode=totp.totp("CAROLCAROLCAROL2"))
    assert not tab.signing_in


async def test_the_registration_form_asks_the_required_password(aiohttp_client, embedded_simulator):
    tab = await tab_on(aiohttp_client, embedded_simulator)
    await tab.get("/auth/register")
    assert "credentials.passcode" in tab.form().inputs
    await tab.submit(
        userProfile__firstName="Nia",
        userProfile__lastName="North",
        userProfile__email="nia@example.com",
        credentials__passcode="Green-Meadow-42x",
    )
    if tab.form().name.startswith("select-authenticator"):
        await tab.choose("Email")
    await tab.submit(credentials__passcode=await embedded_simulator.code("nia@example.com"))
    assert not tab.signing_in
    assert embedded_simulator.state.org.user("nia@example.com").password == "Green-Meadow-42x"
