"""Remediations beyond sign-in and MFA, replayed from Okta's Sign-In Widget fixtures (../shared,
read in place) through the app: each page renders, and what a person answers reaches the
remediation's own href in the shape Okta expects. Consent (end user, admin, granular, email),
progressive profiling, keep-me-signed-in, activation emails, device assurance, device codes,
safe-mode polling, identity verification and redirects: several are shapes the simulator does not
send. (tests/test_remediations_beyond_signin.py: the ones it does, from the project's own corpus.)"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from conftest import ORG, post_step, shared, start


async def answer(client, org, fixture: str, fields: dict[str, str], reply: str = "terminal-registration.json"):
    """Show the fixture's first step, answer it, and return what the org received."""
    first = shared(fixture)
    html = await start(client, org, first)
    href = first["remediation"]["value"][0]["href"]
    org.idx(urlsplit(href).path, shared(reply))
    resp = await post_step(client, html, fields)
    assert resp.status == 303, await resp.text()
    return html, org.bodies(urlsplit(href).path)[-1]


async def test_end_user_consent_allowed_with_the_button(client, org):
    html, body = await answer(client, org, "consent-enduser.json", {"consent": "true"})
    assert "Allow Access" in html and "Don&#39;t Allow" in html and "Native client" in html
    assert body["consent"] is True and body["stateHandle"]


async def test_admin_consent_refused_with_the_other_button(client, org):
    _, body = await answer(client, org, "consent-admin.json", {"consent": "false"})
    assert body["consent"] is False


async def test_granular_consent_sends_each_opted_scope_and_keeps_the_required_ones(client, org):
    html, body = await answer(
        client,
        org,
        "consent-granular.json",
        {"consent": "true", "optedScopes.custom1": "on", "optedScopes.custom3.custom4.custom5": "on"},
    )
    assert (
        "View your mobile phone data plan." in html
        and "This allows the app to view your mobile phone data plan." in html
    )
    # Scopes always shared are shown ticked and disabled, and never posted (the server sends them).
    assert re.search(r'<input type="checkbox" id="[^"]*optedScopes-profile" checked disabled>', html)
    assert "View your profile information." in html
    scopes = body["optedScopes"]
    assert scopes["openid"] is True and scopes["custom1"] is True and scopes["custom2"] is False
    assert scopes["custom3.custom4.custom5"] is True  # a scope name with dots stays one key
    assert body["consent"] is True


async def test_email_challenge_consent(client, org):
    _, body = await answer(client, org, "email-challenge-consent.json", {"consent": "true"})
    assert body["consent"] is True


async def test_keep_me_signed_in(client, org):
    html, body = await answer(client, org, "post-auth-keep-me-signed-in.json", {"keepMeSignedIn": "true"})
    assert "Stay signed in" in html
    assert body["keepMeSignedIn"] is True


async def test_progressive_profiling_sends_the_new_attributes(client, org):
    html, body = await answer(
        client,
        org,
        "enroll-profile-update-params.json",
        {"userProfile.newAttribute": "blue", "userProfile.secondEmail": "second@example.com"},
    )
    assert "Some custom attribute" in html
    assert body["userProfile"] == {"newAttribute": "blue", "secondEmail": "second@example.com"}


async def test_request_activation_email(client, org):
    html, body = await answer(client, org, "request-activation-email.json", {})
    assert set(body) == {"stateHandle"}


async def test_device_assurance_grace_period_continues(client, org):
    _, body = await answer(client, org, "device-assurance-grace-period-one-option.json", {})
    assert set(body) == {"stateHandle"}


async def test_device_code_activation_sends_the_user_code(client, org):
    html, body = await answer(client, org, "device-code-activate-userCode.json", {"userCode": "ABCD-XYWZ"})
    assert "Activation Code" in html and body["userCode"] == "ABCD-XYWZ"


async def test_safe_mode_polling_page_polls_the_poll_form(client, org):
    first = shared("safe-mode-polling.json")
    html = await start(client, org, first)
    assert 'data-poll-url="/login/poll"' in html and 'data-poll-ms="2000"' in html


@pytest.mark.parametrize(
    "fixture", ["authenticator-verification-idp-with-persona.json", "failure-redirect-remediation.json"]
)
async def test_browser_redirects_go_to_the_org_and_nowhere_else(client, org, fixture):
    """redirect-idverify and failure-redirect send the browser to the org's own page (checklist 20)."""
    first = shared(fixture)
    form = first["remediation"]["value"][0]
    org.idx("/idp/idx/introspect", first)
    resp = await client.get("/login", allow_redirects=False)
    if resp.headers["Location"] == "/login/step":  # shown with its alternatives: the person picks it
        html = await (await client.get("/login/step")).text()
        resp = await post_step(client, html, {})
    assert resp.status == 303 and resp.headers["Location"] == form["href"] and form["href"].startswith(ORG + "/")
