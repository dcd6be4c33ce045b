"""Remediations beyond sign-in and MFA, replayed from the project's own corpus through the app:
each page renders, and what a person answers reaches the remediation's own href in the shape
Okta expects. Granular consent, progressive profiling, keep-me-signed-in.
(tests/conformance/test_widget_remediations.py: more of them, from Okta's widget fixtures.)"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from conftest import doc, post_step, start


async def answer(client, org, name: str, fields: dict[str, str]):
    """Show the document's page, answer it, and return the page and what the org received."""
    first = doc(name)
    html = await start(client, org, first)
    href = first["remediation"]["value"][0]["href"]
    org.idx(urlsplit(href).path, doc("unlock-done"))
    resp = await post_step(client, html, fields)
    assert resp.status == 303, await resp.text()
    return html, org.bodies(urlsplit(href).path)[-1]


async def test_granular_consent_sends_the_optional_scope_unticked_and_keeps_the_required_ones(client, org):
    html, body = await answer(client, org, "granular-consent", {"consent": "true"})
    assert "Keep you signed in to the app." in html and "This allows the app to refresh your session" in html
    # Scopes always granted are shown ticked and disabled, and never posted (the server sends them).
    assert re.search(r'<input type="checkbox" id="[^"]*optedScopes-profile" checked disabled[ >]', html)
    assert re.search(
        r'<input type="checkbox" id="[^"]*optedScopes-offline_access" name="optedScopes.offline_access" checked[ >]',
        html,
    )
    assert body["optedScopes"] == {"openid": True, "profile": True, "email": True, "offline_access": False}
    assert body["consent"] is True and body["stateHandle"] == doc("granular-consent")["stateHandle"]


async def test_granular_consent_refused_with_the_other_button(client, org):
    _, body = await answer(client, org, "granular-consent", {"consent": "false", "optedScopes.offline_access": "on"})
    assert body["consent"] is False


async def test_keep_me_signed_in(client, org):
    html, body = await answer(client, org, "keep-me-signed-in", {"keepMeSignedIn": "true"})
    assert "Stay signed in" in html
    assert body == {"keepMeSignedIn": True, "stateHandle": doc("keep-me-signed-in")["stateHandle"]}


async def test_progressive_profiling_sends_the_new_attribute(client, org):
    html, body = await answer(client, org, "profile-update", {"userProfile.department": "Research"})
    assert "Department" in html and "The team you work in." in html
    assert body["userProfile"] == {"department": "Research"}
