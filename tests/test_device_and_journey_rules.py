"""Pure rules behind the device pages (FastPass, Duo, passkeys), the journeys and the ending pages,
and the security headers those pages get, over the project's own corpus.
(tests/conformance/test_widget_device_and_journey_rules.py: the same over Okta's widget fixtures.)"""

from __future__ import annotations

import json

import pytest
from conftest import RECORDED, demo_settings, doc, own_corpus, serve, start

from embedded import devices, flow
from embedded.idx_models import Authenticator, parse
from embedded.page import PASSKEY_FORMS, Page, build_page
from embedded.simulator import SIMULATOR
from embedded.testing import Tab


def doc_page(name: str) -> Page:
    return build_page(parse(doc(name)))


def loopback_ports(raw: dict) -> list[str]:
    return raw["currentAuthenticator"]["value"]["contextualData"]["challenge"]["value"]["ports"]


def test_fastpass_loopback_challenge_is_read_from_the_current_authenticator():
    page = doc_page("fastpass-loopback")
    assert page.device_challenge["challengeMethod"] == "LOOPBACK"
    assert page.templates[0] == "steps/challenge-poll--okta_verify--signed_nonce.html"
    ports = loopback_ports(doc("fastpass-loopback"))
    assert devices.csp_additions(page.device_challenge, page.duo) == {
        "connect-src": tuple(f"http://localhost:{p}" for p in ports)
    }
    assert [a.name for a in page.alternatives] == ["select-authenticator-authenticate"]  # "Use another method"


@pytest.mark.parametrize(
    "challenge",
    [
        {"challengeMethod": "LOOPBACK", "domain": "http://evil.example", "ports": ["2000"]},
        {"challengeMethod": "LOOPBACK", "domain": "http://localhost", "ports": ["2000; script-src *"]},
        {"challengeMethod": "LOOPBACK", "domain": "http://localhost/x", "ports": ["2000"]},
        {"challengeMethod": "LOOPBACK", "domain": "http://localhost", "ports": "2000"},
        {"challengeMethod": "CUSTOM_URI", "href": "com-okta-authenticator:/x"},
        None,
    ],
)
def test_only_plain_loopback_origins_reach_the_content_security_policy(challenge):
    """Checklist 31: values from a response never widen the CSP beyond loopback ports."""
    assert devices.loopback_origins(challenge) == ()


def duo(**data) -> Authenticator:
    return Authenticator(key="duo", type="app", id="aut1", display_name="Duo", contextual_data=data)


def test_duo_frame_comes_from_the_signed_request():
    frame = devices.duo_frame(duo(host="api-1.duosecurity.com", signedToken="TX|dXNlcg==|abc:APP|dXNlcg==|def"))
    assert frame == devices.DuoFrame(
        origin="https://api-1.duosecurity.com", tx="TX|dXNlcg==|abc", app_sig="APP|dXNlcg==|def"
    )
    assert devices.duo_frame(duo(host="127.0.0.1:9999", signedToken="TX|a|b:APP|c|d")).origin == "http://127.0.0.1:9999"


@pytest.mark.parametrize(
    "data",
    [
        {"host": "evil.example/path", "signedToken": "TX|a|b:APP|c|d"},
        {"host": "api.duo.com", "signedToken": "sign_request(...)"},
        {},
    ],
)
def test_a_malformed_duo_request_gives_no_frame(data):
    assert devices.duo_frame(duo(**data)) is None


def test_endings_are_named_by_what_they_mean():
    assert flow.terminal_kind(parse(doc("unlock-done")).messages) == "done"
    assert flow.terminal_kind(parse(doc("session-expired")).messages) == "expired"


def test_every_ending_in_the_corpus_gets_a_meaning():
    kinds = {}
    for name, raw in own_corpus():
        response = parse(raw) if "version" in raw else None
        if response is not None and not response.remediations and response.success is None and response.messages:
            kinds[name] = flow.terminal_kind(response.messages)
    assert kinds and set(kinds.values()) <= {"check_email", "done", "denied", "expired"}, kinds


def test_journey_starts_need_nothing_typed():
    identify = parse(doc("identify"))
    assert flow.journey_start(identify, "register").name == "select-enroll-profile"
    assert flow.journey_start(identify, "unlock").name == "unlock-account"
    password = parse(doc("challenge-password"))
    assert flow.journey_start(password, "recover").name == "recover"  # "Forgot password?" on the password page
    assert flow.journey_start(password, "register") is None  # not offered there


def recorded(path: str) -> dict:
    return json.loads((RECORDED.directory / path).read_text())


def test_a_choice_of_one_way_is_made_for_the_person():
    """Registration's one way to verify the email: nothing to decide, so the app answers it
    (the option's index, the same as the form would post); a list of several, a way with a
    choice inside (how to get a code) or a page with another form on offer is shown."""
    sole = flow.sole_choice(parse(recorded("registration/03-enroll-new.json")))
    assert sole is not None and sole[0].name == "select-authenticator-enroll" and sole[1] == {"authenticator": ["0"]}
    assert flow.sole_choice(parse(recorded("enroll-email/03-challenge-answer.json"))) is None  # six ways to set up
    raw = recorded("registration/03-enroll-new.json")
    form = raw["remediation"]["value"][0]
    with_skip = {**raw, "remediation": {**raw["remediation"], "value": [form, {**form, "name": "skip", "value": []}]}}
    assert flow.sole_choice(parse(with_skip)) is None  # "Set up later" is a choice too
    option = form["value"][0]["options"][0]
    sub = option["value"]["form"]["value"]
    how = {"name": "methodType", "options": [{"label": "SMS", "value": "sms"}, {"label": "Voice", "value": "voice"}]}
    phone = {**option, "value": {"form": {"value": [*sub, how]}}}
    choosing_how = {
        **raw,
        "remediation": {
            **raw["remediation"],
            "value": [{**form, "value": [{**form["value"][0], "options": [phone]}, *form["value"][1:]]}],
        },
    }
    assert flow.sole_choice(parse(choosing_how)) is None


async def test_registration_is_not_asked_to_choose_its_one_way_through_the_app(aiohttp_client, simulator):
    """Through the app against the simulator: after the profile comes the email code, and the
    choice in between was answered in the same action (two IDX calls: the profile, the choice)."""
    tab = Tab(await serve(aiohttp_client, demo_settings(simulator.port)), prefix="")
    await tab.get("/register")
    calls = len(simulator.app[SIMULATOR].calls)
    await tab.submit(
        **{
            "userProfile.firstName": "Sol",
            "userProfile.lastName": "Choice",
            "userProfile.email": "sol.choice@example.com",
            "credentials.passcode": "Quiet-Harbor-91",
        }
    )
    assert 'name="credentials.passcode"' in tab.html and "select-authenticator" not in tab.template
    assert [p.rsplit("/", 1)[-1] for _, p in simulator.app[SIMULATOR].calls[calls:]] == ["new", "enroll"]


def test_passkey_autofill_is_offered_on_identify_and_hidden_from_the_alternatives():
    page = doc_page("identify")
    assert page.passkey.name == "challenge-webauthn-autofillui-authenticator"
    assert (
        page.passkey_options["challenge"]
        == doc("identify")["webauthnAutofillUIChallenge"]["value"]["challengeData"]["challenge"]
    )
    assert all(a.name not in PASSKEY_FORMS for a in page.alternatives)


async def test_a_fastpass_page_may_reach_loopback_and_nothing_else(client, org):
    """Checklist 31: the CSP of that one page names the loopback ports; other pages do not."""
    await start(client, org, doc("fastpass-loopback"))
    resp = await client.get("/login/step")
    csp = resp.headers["Content-Security-Policy"]
    first, second = loopback_ports(doc("fastpass-loopback"))
    assert f"connect-src 'self' http://localhost:{first} http://localhost:{second}" in csp and "frame-src" not in csp
    assert 'data-js="loopback"' in await resp.text()
    home = await client.get("/")
    assert "connect-src 'self';" in home.headers["Content-Security-Policy"]
