"""The device pages, journeys and endings over Okta's Sign-In Widget fixtures (../shared, read in
place): shapes the simulator does not send (device probing before identification, Duo's own
request, passkey autofill on identify, the widget's terminal pages)."""

from __future__ import annotations

import json

import pytest
from conftest import shared, shared_fixture_paths, start

from embedded import devices, flow
from embedded.idx_models import parse
from embedded.page import PASSKEY_FORMS, Page, build_page


def fixture_page(name: str) -> Page:
    return build_page(parse(shared(name)))


def test_fastpass_loopback_challenge_is_read_from_the_current_authenticator():
    page = fixture_page("authenticator-verification-okta-verify-signed-nonce-loopback.json")
    assert page.device_challenge["challengeMethod"] == "LOOPBACK"
    assert page.templates[0] == "steps/challenge-poll--okta_verify--signed_nonce.html"
    assert devices.csp_additions(page.device_challenge, page.duo) == {
        "connect-src": tuple(f"http://localhost:{p}" for p in ("2000", "6511", "6512", "6513"))
    }
    assert any(a.name == "cancel-polling" for a in page.actions)  # "Use another method"


def test_device_probing_before_identification_is_read_from_the_top_level_challenge():
    page = fixture_page("identify-with-device-probing-loopback.json")
    assert (
        page.device_challenge["challengeMethod"] == "LOOPBACK"
        and devices.csp_additions(page.device_challenge, page.duo)["connect-src"]
    )


def test_the_duo_fixture_page_explains_instead_of_framing_nonsense():
    page = fixture_page("authenticator-verification-duo.json")
    assert page.duo is None and devices.csp_additions(page.device_challenge, page.duo) == {}


def test_passkey_autofill_is_offered_on_identify_and_hidden_from_the_alternatives():
    page = fixture_page("identify-with-webauthn-autofill.json")
    assert page.passkey.name == "challenge-webauthn-autofillui-authenticator"
    assert page.passkey_options["challenge"] == "1fjepo1pgu3A"
    assert all(a.name not in PASSKEY_FORMS for a in page.alternatives)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("terminal-return-email.json", "check_email"),
        ("terminal-registration.json", "check_email"),
        ("terminal-reset-password-success.json", "done"),
        ("error-403-access-denied.json", "denied"),
        ("terminal-polling-window-expired.json", "denied"),
        ("terminal-return-expired-email.json", "expired"),
    ],
)
def test_endings_are_named_by_what_they_mean(name, kind):
    assert flow.terminal_kind(parse(shared(name)).messages) == kind


def test_every_ending_among_the_fixtures_gets_a_meaning_or_the_neutral_page():
    kinds = {}
    for path in shared_fixture_paths():
        try:
            doc = json.loads(path.read_text())
            response = parse(doc)
        except Exception:
            continue
        if not response.remediations and response.success is None and response.messages:
            kinds[path.name] = flow.terminal_kind(response.messages)
    assert kinds and set(kinds.values()) <= {"check_email", "done", "denied", "expired", "ended"}
    assert sum(k != "ended" for k in kinds.values()) / len(kinds) >= 0.8, kinds


def test_journey_starts_need_nothing_typed():
    probing = parse(shared("smart-probing-required.json"))
    assert flow.journey_start(probing, "register").name == "select-enroll-profile"
    assert flow.journey_start(probing, "unlock").name == "unlock-account"
    assert flow.journey_start(probing, "recover") is None  # not offered: /recover says so on the sign-in page
    identify = parse(shared("identify-with-password.json"))
    assert flow.journey_start(identify, "recover").name == "recover"


async def test_a_fastpass_page_may_reach_loopback_and_nothing_else(client, org):
    """Checklist 31: the CSP of that one page names the loopback ports; other pages do not."""
    await start(client, org, shared("authenticator-verification-okta-verify-signed-nonce-loopback.json"))
    resp = await client.get("/login/step")
    csp = resp.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://localhost:2000 http://localhost:6511" in csp and "frame-src" not in csp
