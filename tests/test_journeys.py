"""The journeys around sign-in through the app against the simulator, without a browser:
registration, recovery, unlock, email token links, social sign-in, token refresh, sign-out."""

from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from conftest import demo_settings, serve
from pages import read
from test_e2e_authenticators import Walker

from embedded.web import account


@pytest.fixture
async def walker(aiohttp_client, simulator):
    return Walker(await serve(aiohttp_client, demo_settings(simulator.port)), simulator)


def idx_calls(walker) -> list[str]:
    return [path for _, path in walker.state.calls if not path.startswith(("/outbox", "/_sim"))]


def user(walker, login):
    return walker.state.org.user(login)


async def get(walker, path: str) -> str:
    return await walker._load(await walker.client.get(path))


async def test_register_lands_on_the_profile_form_for_one_idx_call_more_than_sign_in(walker):
    await get(walker, "/register")
    form = walker.form()
    assert walker.path == "/login/step" and form.name == "enroll-profile"
    assert {"userProfile.firstName", "userProfile.email", "userProfile.newsletter"} <= set(form.inputs)
    assert set(form.options["userProfile.favoriteColor"]) >= {"red", "green", "blue"}
    assert idx_calls(walker)[-3:] == ["/oauth2/default/v1/interact", "/idp/idx/introspect", "/idp/idx/enroll"]


async def test_registration_with_the_custom_attribute_then_email_enrollment_signs_in(walker):
    await get(walker, "/register")
    await walker.submit(
        **{
            "userProfile.firstName": "Nora",
            "userProfile.lastName": "North",
            "userProfile.email": "nora@example.com",
            "userProfile.favoriteColor": "green",
            "credentials.passcode": "Green-Meadow-42x",
        }
    )
    for _ in range(4):  # whatever the policy asks: the email code, then optional steps skipped
        if walker.signed_in:
            break
        form = walker.form()
        if "credentials.passcode" in form.inputs:
            code = (await walker.outbox("nora@example.com", "email"))["code"]
            await walker.submit(**{"credentials.passcode": code})
        elif any(f.name == "skip" for f in read(walker.html).forms):
            await walker.submit("skip")
        else:
            await walker.choose("Email")
    assert walker.signed_in and walker.shows("nora@example.com")
    assert user(walker, "nora@example.com").profile.get("favoriteColor") == "green"


async def test_registration_with_a_taken_email_shows_a_field_error_and_keeps_the_answers(walker):
    await get(walker, "/register")
    await walker.submit(
        **{"userProfile.firstName": "Al", "userProfile.lastName": "Again", "userProfile.email": "alice@example.com"}
    )
    assert walker.form().name == "enroll-profile" and 'class="message message--error"' in walker.html
    assert 'value="Again"' in walker.html  # what the person typed is still there


async def test_recover_starts_at_the_recovery_identifier_and_resets_the_password(walker):
    await get(walker, "/recover")
    # Identifier first, recovery begins once the person is known: the same identify page, under its own title.
    assert walker.form().name in ("identify", "identify-recovery") and walker.shows("Reset your password")
    await walker.submit(identifier="alice@example.com")
    if walker.form().name.startswith("select-authenticator"):
        await walker.choose("Email")
    code = (await walker.outbox("alice@example.com", "email"))["code"]
    await walker.submit(**{"credentials.passcode": code})
    assert walker.form().name == "reset-authenticator"
    await walker.submit(**{"credentials.passcode": "Blue-Harbour-77", "confirmPassword": "Blue-Harbour-77"})
    assert walker.signed_in or walker.shows("sign in")
    assert user(walker, "alice@example.com").password == "Blue-Harbour-77"


async def test_unlock_for_henry_by_email_then_he_signs_in(walker):
    await get(walker, "/unlock")
    assert walker.form().name == "select-authenticator-unlock-account"
    await walker.choose("Email", identifier="henry@example.com")
    code = (await walker.outbox("henry@example.com", "email"))["code"]
    await walker.submit(**{"credentials.passcode": code})
    assert user(walker, "henry@example.com").status == "active"
    # Unlocked, he signs straight on: his rule wants the password first, so it is asked next.
    assert walker.form().name == "challenge-authenticator" and walker.shows("Account successfully unlocked")
    await walker.submit(**{"credentials.passcode": "Henry-Passw0rd!"})
    assert walker.signed_in


async def test_a_journey_the_org_does_not_offer_says_so_on_the_sign_in_page(walker):
    walker.state.org.profile_enrollment.enabled = False
    await get(walker, "/register")
    assert walker.form().name == "identify" and walker.shows("Signing up is not offered here")


async def test_activation_link_enrolls_the_staged_user_and_works_once(walker):
    sam = user(walker, "frank@example.com")
    sam.activation_token = "demo-activation-token-0001"
    await get(walker, "/activate?token=demo-activation-token-0001")
    assert walker.path == "/login/step" and walker.form().name.startswith(
        ("select-authenticator-enroll", "enroll-authenticator", "challenge")
    )
    assert "/oauth2/default/v1/interact" in idx_calls(walker)
    resp = await walker.client.get("/activate?token=demo-activation-token-0001")
    assert resp.status == 400 and "This link can" in await resp.text()


@pytest.mark.parametrize(
    "path",
    [
        "/activate",
        "/activate?token=",
        "/activate?token=nope",
        "/reset-password?token=nope",
        "/reset-password",
        "/activate?token=" + "x" * 600,
    ],
)
async def test_bad_token_links_get_a_friendly_page(walker, path):
    resp = await walker.client.get(path)
    html = await resp.text()
    assert resp.status == 400 and "This link can" in html and "Traceback" not in html


async def test_recovery_token_link_goes_straight_to_the_new_password(walker):
    user(walker, "alice@example.com").recovery_token = "demo-recovery-token-0001"
    await get(walker, "/reset-password?recovery_token=demo-recovery-token-0001")
    assert walker.form().name in ("reset-authenticator", "select-authenticator-authenticate", "challenge-authenticator")
    # The token does not linger in a URL the next pages could leak.
    assert "token" not in walker.path and walker.path == "/login/step"


async def social_sign_in(walker, email: str) -> None:
    """Sign-in page -> "Sign in with Fake Social" -> the simulator's IdP page -> back to the callback."""
    await get(walker, "/login")
    idp = next(f for f in read(walker.html).forms if f.name == "redirect-idp")
    resp = await walker.client.post("/login/step", data=idp.hidden, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith(
        f"http://127.0.0.1:{walker.simulator.port}/sso/idps/"
    )
    back = await walker.client.session.post(
        resp.headers["Location"], data={"action": "continue", "email": email}, allow_redirects=False
    )
    callback = urlsplit(back.headers["Location"])
    await get(walker, f"{callback.path}?{callback.query}")


async def test_social_sign_in_then_sign_out_ends_the_okta_session_too(walker):
    await social_sign_in(walker, "alice@example.com")
    assert walker.signed_in
    csrf = read(walker.html).forms[-1].hidden["_csrf"]
    resp = await walker.client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    page = read(await resp.text())
    form = page.forms[0]
    assert resp.status == 200 and "Location" not in resp.headers  # the token goes in a POST body, not a URL
    assert (
        form.hidden["post_logout_redirect_uri"] == "http://127.0.0.1:8080/"
        and form.hidden["id_token_hint"].count(".") == 2
    )
    end = await walker.client.session.post(
        f"http://127.0.0.1:{walker.simulator.port}/oauth2/default/v1/logout", data=form.hidden, allow_redirects=False
    )
    assert end.status == 302 and end.headers["Location"] == "http://127.0.0.1:8080/"
    assert (await walker.client.get("/")).url.path == "/" and 'data-claim="email"' not in await (
        await walker.client.get("/")
    ).text()


async def test_password_sign_out_stays_in_the_app(walker):
    await walker.begin("alice@example.com", "Alice-Passw0rd!")
    csrf = read(walker.html).forms[-1].hidden["_csrf"]
    resp = await walker.client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"


async def test_social_sign_in_followed_by_mfa_continues_after_interaction_required(walker):
    await social_sign_in(walker, "bob@example.com")
    assert walker.path == "/login/step" and not walker.signed_in
    if walker.form().name.startswith("select-authenticator"):
        await walker.choose("Email")
    code = (await walker.outbox("bob@example.com", "email"))["code"]
    await walker.submit(**{"credentials.passcode": code})
    assert walker.signed_in


async def test_the_access_token_is_refreshed_near_expiry_and_a_revoked_refresh_token_ends_the_session(
    walker, monkeypatch
):
    await walker.begin("alice@example.com", "Alice-Passw0rd!")
    assert walker.signed_in
    clock = [time.time() + 3600]  # the hour-long access token is about to run out
    monkeypatch.setattr(account, "time", SimpleNamespace(time=lambda: clock[0]))
    before = len(idx_calls(walker))
    await get(walker, "/")
    assert walker.signed_in and idx_calls(walker)[before:] == ["/oauth2/default/v1/token"]
    await get(walker, "/")  # fresh again: no second refresh
    assert idx_calls(walker)[before:] == ["/oauth2/default/v1/token"]
    walker.state.revoked.update(walker.state.tokens.refresh)  # an admin revoked every session
    clock[0] += 3600
    await get(walker, "/")
    assert not walker.signed_in and walker.shows("Your session has ended")


async def test_profile_shows_userinfo_with_the_access_token_and_sends_strangers_to_sign_in(walker):
    resp = await walker.client.get("/profile", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login?return_to=%2Fprofile"
    await walker.begin("alice@example.com", "Alice-Passw0rd!")
    await get(walker, "/profile")
    assert 'data-claim="email">alice@example.com<' in walker.html and 'data-claim="sub"' in walker.html
    assert idx_calls(walker)[-1] == "/oauth2/default/v1/userinfo"


async def test_gina_signs_in_passwordless_with_an_email_code(walker):
    await walker.begin("gina@example.com")
    if walker.form().name.startswith("select-authenticator"):
        await walker.choose("Email")
    assert "credentials.passcode" in walker.form().inputs and 'type="password"' not in walker.html
    await walker.submit(**{"credentials.passcode": (await walker.outbox("gina@example.com", "email"))["code"]})
    assert walker.signed_in
