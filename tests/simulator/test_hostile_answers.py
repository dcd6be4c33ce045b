"""Issue 19, item 6: whatever a client sends as a passcode, a password or an answer, the simulator
answers 4xx, never 500 (non-ASCII, digits of other scripts, lone surrogates, control characters,
huge values, and every JSON type where a string belongs), on every endpoint that takes one: the
first form's password, each authenticator's challenge, each enrollment, the password reset and
change, registration, passkey autofill, the simulator's own sign-in pages and emailed links. And a
push with a number challenge is approved through the outbox control only with the right number
(security checklist: a second factor is only met by what the person proved)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from embedded.simulator import SIMULATOR, create_simulator_app, demo_org

from .conftest import ION, Idx, names, option_id, remediation
from .test_hosted_signin import Browser, authorize_url

# Text no real code is made of, and each JSON type where a string belongs.
HOSTILE_TEXT = [
    "é",
    "пароль-Пароль-1",
    "١٢٣٤٥٦",  # Arabic-Indic digits: str.isdigit() says yes
    "１２３４５６",  # full-width digits
    "\x00",
    "12\x0034",
    "\r\n\t\x0b\x0c",
    "\x1b[2J\x1b[31m",
    "\u2028\u2029\x85",
    "\ud800",  # a lone surrogate: valid JSON (\ud800), not encodable text
    "\udfff\ud800abc",
    "😀" * 6,
    "9" * 400_000,
    "é" * 100_000,
]
HOSTILE_TYPES: list[Any] = [0, 123456, -1, 1e308, True, False, [], ["123456"], {}, {"passcode": "123456"}]
HOSTILE = HOSTILE_TEXT + HOSTILE_TYPES


def hostile_id(value: Any) -> str:
    return repr(value)[:24]


@pytest.fixture
def org():
    org = demo_org()
    org.rate_limit_requests = 10_000  # hundreds of answers on one handle
    org.lockout_attempts = 0  # wrong passwords must not lock the demo users between values
    return org


# Each scenario drives a fresh sign-in to the form that takes the answer and returns (form name,
# the body around one hostile value).
Body = Callable[[Any], dict]
Scenario = Callable[[Idx], Awaitable[tuple[str, Body]]]


def creds(name: str, **others: Any) -> Body:
    return lambda value: {"credentials": {**others, name: value}}


async def verify(flow: Idx, login: str, password: str, key: str | None = None, method: str | None = None):
    doc = await flow.password_signin(login, password)
    if key is not None and "select-authenticator-authenticate" in names(doc):
        doc = await flow.select(key, **({"methodType": method} if method else {}))
    if "authenticator-verification-data" in names(doc):
        ident = remediation(doc, "authenticator-verification-data")["value"][0]["form"]["value"][0]["value"]
        doc = await flow.submit("authenticator-verification-data", authenticator={"id": ident, "methodType": method})
    return doc


async def password_on_first_form(flow: Idx):
    flow.client.server.app[SIMULATOR].org.first_form = "identifier_password"
    await flow.start()
    return "identify", lambda value: {"identifier": "alice@example.com", "credentials": {"passcode": value}}


async def password(flow: Idx):
    await flow.start()
    await flow.submit("identify", identifier="alice@example.com")
    return "challenge-authenticator", creds("passcode")


async def email_code(flow: Idx):
    await verify(flow, "bob@example.com", "Bob-Passw0rd!")
    return "challenge-authenticator", creds("passcode")


async def sms_code(flow: Idx):
    await verify(flow, "dave@example.com", "Dave-Passw0rd!", method="sms")
    return "challenge-authenticator", creds("passcode")


async def google_authenticator(flow: Idx):
    await verify(flow, "carol@example.com", "Carol-Passw0rd!")
    return "challenge-authenticator", creds("passcode")


async def okta_verify_code(flow: Idx):
    await verify(flow, "oscar@example.com", "Oscar-Passw0rd!", method="totp")
    return "challenge-authenticator", creds("totp")


async def security_question(flow: Idx):
    doc = await verify(flow, "erin@example.com", "Erin-Passw0rd!")
    question = remediation(doc, "challenge-authenticator")["value"][0]["form"]["value"][0]["value"]
    return "challenge-authenticator", creds("answer", questionKey=question)


async def custom_otp(flow: Idx):
    await verify(flow, "victor@example.com", "Victor-Passw0rd!")
    return "challenge-authenticator", creds("passcode")


def quinn(key: str, field: str = "passcode") -> Scenario:
    async def scenario(flow: Idx):
        await verify(flow, "quinn@example.com", "Quinn-Passw0rd!", key=key)
        return "challenge-authenticator", creds(field)

    scenario.__name__ = key
    return scenario


async def duo(flow: Idx):
    await verify(flow, "duane@example.com", "Duane-Passw0rd!")
    return "challenge-authenticator", creds("signatureData")


async def duo_signature(flow: Idx):
    """Each part of a Duo answer (AUTH|user|mac:APP|user|mac) hostile in turn."""
    await verify(flow, "duane@example.com", "Duane-Passw0rd!")
    return "challenge-authenticator", lambda value: {
        "credentials": {
            "signatureData": f"AUTH|{value}|{value}:APP|{value}|{value}" if isinstance(value, str) else value
        }
    }


async def passkey_autofill(flow: Idx):
    flow.redirect_uri = "http://localhost:5000/login/callback"
    await flow.start()
    fields = ("authenticatorData", "clientData", "signatureData")
    return "challenge-webauthn-autofillui-authenticator", lambda value: {
        "credentials": {**dict.fromkeys(fields, value), "userHandle": value}
    }


def enroll(key: str, field: str = "passcode", **others: Any) -> Scenario:
    async def scenario(flow: Idx):
        await flow.password_signin("frank@example.com", "Frank-Passw0rd!")
        await flow.select(key, form="select-authenticator-enroll")
        return "enroll-authenticator", creds(field, **others)

    scenario.__name__ = f"enroll_{key}_{field}"
    return scenario


def enroll_token(key: str, field: str, **others: Any) -> Scenario:
    async def scenario(flow: Idx):
        await flow.password_signin("yuri@example.com", "Yuri-Passw0rd!")
        await flow.select(key, form="select-authenticator-enroll")
        return "enroll-authenticator", creds(field, **others)

    scenario.__name__ = f"enroll_{key}_{field}"
    return scenario


async def enroll_phone_code(flow: Idx):
    await flow.password_signin("frank@example.com", "Frank-Passw0rd!")
    await flow.select("phone_number", form="select-authenticator-enroll", methodType="sms", phoneNumber="+15550100777")
    return "enroll-authenticator", creds("passcode")


async def enroll_phone_number(flow: Idx):
    await flow.password_signin("frank@example.com", "Frank-Passw0rd!")
    doc = await flow.select("phone_number", form="select-authenticator-enroll")
    ident = remediation(doc, "authenticator-enrollment-data")["value"][0]["form"]["value"][0]["value"]
    return "authenticator-enrollment-data", lambda value: {
        "authenticator": {"id": ident, "methodType": "sms", "phoneNumber": value}
    }


async def enroll_security_key(flow: Idx):
    flow.redirect_uri = "http://localhost:5000/login/callback"
    await flow.password_signin("wendy@example.com", "Wendy-Passw0rd!")
    await flow.select("webauthn", form="select-authenticator-enroll")
    return "enroll-authenticator", lambda value: {
        "credentials": {"clientData": value, "attestation": value, "transports": value, "clientExtensions": value}
    }


async def reset_password(flow: Idx):
    await password(flow)
    await flow.action("currentAuthenticatorEnrollment", "recover")
    await flow.submit("challenge-authenticator", credentials={"passcode": await flow.outbox_code("alice@example.com")})
    return "reset-authenticator", lambda value: {"credentials": {"passcode": value, "revokeSessions": value}}


async def expired_password(flow: Idx):
    await flow.password_signin("irene@example.com", "Irene-Passw0rd!")
    return "reenroll-authenticator", creds("passcode")


async def expiring_password(flow: Idx):
    await flow.password_signin("paula@example.com", "Paula-Passw0rd!")
    return "reenroll-authenticator-warning", creds("passcode")


async def unlock_code(flow: Idx):
    await flow.start()
    doc = await flow.submit("unlock-account")
    email = option_id(doc, "select-authenticator-unlock-account", "okta_email")
    await flow.submit("select-authenticator-unlock-account", identifier="henry@example.com", authenticator=email)
    return "challenge-authenticator", creds("passcode")


async def registration_password(flow: Idx):
    flow.client.server.app[SIMULATOR].org.profile_enrollment.password = "required"
    await flow.start()
    await flow.submit("select-enroll-profile")
    profile = {"firstName": "Hal", "lastName": "Hostile", "email": "hal@example.com"}
    return "enroll-profile", lambda value: {"userProfile": profile, "credentials": {"passcode": value}}


SCENARIOS: list[Scenario] = [
    password_on_first_form,
    password,
    email_code,
    sms_code,
    google_authenticator,
    okta_verify_code,
    security_question,
    custom_otp,
    *(quinn(k) for k in ("rsa_token", "onprem_mfa", "symantec_vip", "yubikey_token", "tac", "nfc_pin")),
    duo,
    duo_signature,
    passkey_autofill,
    enroll("google_otp"),
    enroll("okta_email"),
    enroll("security_question", "answer", questionKey="disliked_food"),
    enroll("security_question", "question", questionKey="custom", answer="Cold spinach"),
    enroll("security_question", "questionKey", answer="Cold spinach"),
    enroll_token("symantec_vip", "credentialId", passcode="123456", nextPasscode="654321"),
    enroll_token("symantec_vip", "passcode", credentialId="VSMT14393584", nextPasscode="654321"),
    enroll_token("symantec_vip", "nextPasscode", credentialId="VSMT14393584", passcode="123456"),
    enroll_token("yubikey_token", "passcode"),
    enroll_phone_code,
    enroll_phone_number,
    enroll_security_key,
    reset_password,
    expired_password,
    expiring_password,
    unlock_code,
    registration_password,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
async def test_no_answer_is_a_server_error(aiohttp_client, org, scenario):
    async def fresh() -> tuple[Idx, str, Body]:
        """A new simulator (an accepted value may have changed a password or made a user)."""
        flow = Idx(await aiohttp_client(create_simulator_app(org)))
        return flow, *await scenario(flow)

    flow, form_name, body = await fresh()
    answered = []
    for value in HOSTILE:
        if form_name not in names(flow.doc):  # moved on: too many wrong codes, or an accepted value
            flow, _, body = await fresh()
        href = urlsplit(remediation(flow.doc, form_name)["href"]).path
        r = await flow.client.post(href, json={**body(value), "stateHandle": flow.doc["stateHandle"]})
        answered.append((hostile_id(value), r.status))
        assert r.status < 500, answered
        if r.status != 413:  # over the body size limit (a huge value in several fields): aiohttp's plain 413
            assert r.headers["Content-Type"] == ION
            flow.doc = await r.json(content_type=None)


async def test_a_credentials_member_of_the_wrong_type_is_refused(aiohttp_client, org):
    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client)
    await email_code(flow)
    for value in ["123456", 123456, [], None, True, [{"passcode": "x"}]]:
        await flow.submit("challenge-authenticator", credentials=value)
        assert flow.status == 400 and "challenge-authenticator" in names(flow.doc), value


async def test_a_wrong_type_is_a_field_error_and_costs_no_attempt(aiohttp_client, org):
    """A number or a list where the code belongs is not a wrong code: 400 on the field, and the
    five wrong codes a challenge allows are all still there."""
    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client)
    await email_code(flow)
    for value in HOSTILE_TYPES:
        doc = await flow.submit("challenge-authenticator", credentials={"passcode": value})
        assert flow.status == 400, value
        field = remediation(doc, "challenge-authenticator")["value"][0]["form"]["value"][0]
        assert [m["i18n"]["key"] for m in field["messages"]["value"]] == ["model.validation.field.invalid"]
    tx = client.server.app[SIMULATOR].engine.find(flow.handle)
    assert tx.challenge is not None and tx.challenge.failures == 0
    doc = await flow.submit(
        "challenge-authenticator", credentials={"passcode": await flow.outbox_code("bob@example.com")}
    )
    assert "successWithInteractionCode" in doc


async def test_digits_of_other_scripts_are_a_wrong_code_not_a_match(aiohttp_client, org):
    """A TOTP of the right value written in Arabic-Indic or full-width digits is refused (401)."""
    from embedded.simulator import totp

    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client)
    await google_authenticator(flow)
    code = totp.totp("CAROLCAROLCAROL2")
    for other in (str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"), str.maketrans("0123456789", "０１２３４５６７８９")):
        await flow.submit("challenge-authenticator", credentials={"passcode": code.translate(other)})
        assert flow.status == 401
    doc = await flow.submit("challenge-authenticator", credentials={"passcode": code})
    assert "successWithInteractionCode" in doc


async def test_the_simulators_own_pages_take_any_text_as_a_passcode(client):
    """The redirect model's pages (form posts) and an emailed link's otp: never a 500."""
    for text in ["é", "\x00", "\x1b[2J", "😀", "é" * 50_000, "١٢٣٤٥٦"]:
        browser = Browser(client)
        url, _ = authorize_url()
        await browser.open(url)
        await browser.press("Next", identifier="bob@example.com")
        await browser.press("Verify", **{"credentials.passcode": text})
        assert browser.status == 401, text
        await browser.press("Verify", **{"credentials.passcode": "Bob-Passw0rd!"})
        assert browser.page.h1 == "Verify with Email"
        await browser.press("Verify", **{"credentials.passcode": text})
        assert browser.status == 401, text
        r = await client.get("/signin/email", params={"otp": text}, allow_redirects=False)
        assert r.status < 500, text
    # Bytes that are not UTF-8 at all, as a hostile form post sends them.
    browser = Browser(client)
    await browser.open(authorize_url()[0])
    form, _ = browser.page.button("Next")
    csrf = form["inputs"]["_csrf"]["value"]
    for raw, content_type in [
        (f"_csrf={csrf}&_form=identify&identifier=%ff%fe%ed%a0%80".encode(), "application/x-www-form-urlencoded"),
        (
            f"_csrf={csrf}&_form=identify&identifier=".encode() + b"\xff\xfe\xed\xa0\x80",
            "application/x-www-form-urlencoded",
        ),
        (f"_csrf={csrf}&_form=identify&identifier=x".encode(), "application/x-www-form-urlencoded; charset=bogus-8"),
    ]:
        r = await client.post(form["action"], data=raw, headers={"Content-Type": content_type}, allow_redirects=False)
        assert r.status < 500, raw


# ---------------------------------------------------------------- the number challenge


async def oscar_push(client) -> dict:
    flow = Idx(client)
    await verify(flow, "oscar@example.com", "Oscar-Passw0rd!", method="push")
    push = (await (await client.get("/outbox.json", params={"to": "oscar@example.com"})).json())[0]
    assert push["kind"] == "push" and push["correct_answer"]
    return push


@pytest.mark.parametrize(
    "answer",
    [None, "", " ", "00", "é", "\x00", "1" * 10_000],
    ids=["no-body", "empty", "blank", "other-number", "non-ascii", "nul", "huge"],
)
async def test_a_number_challenge_is_never_approved_without_its_number_by_form(client, answer):
    push = await oscar_push(client)
    data = None if answer is None else {"answer": answer}
    r = await client.post(f"/outbox/push/{push['id']}/approve", data=data, allow_redirects=False)
    assert r.status < 500
    status = (await (await client.get("/outbox.json", params={"to": "oscar@example.com"})).json())[0]["status"]
    assert status != "approved"


@pytest.mark.parametrize(
    "body",
    [{}, {"answer": None}, {"answer": ""}, {"answer": 0}, {"answer": []}, {"answer": {"n": 1}}, {"answer": "00"}, []],
    ids=["empty", "null", "empty-string", "number", "list", "object", "other-number", "array-body"],
)
async def test_a_number_challenge_is_never_approved_without_its_number_by_json(client, body):
    push = await oscar_push(client)
    r = await client.post(f"/outbox/push/{push['id']}/approve", json=body)
    assert r.status < 500
    status = (await (await client.get("/outbox.json", params={"to": "oscar@example.com"})).json())[0]["status"]
    assert status != "approved"


async def test_a_number_challenge_is_approved_with_its_number_by_form_or_json(client):
    for send in ("data", "json"):
        push = await oscar_push(client)
        r = await client.post(
            f"/outbox/push/{push['id']}/approve", **{send: {"answer": push["correct_answer"]}}, allow_redirects=False
        )
        assert r.status in (200, 303)
        status = (await (await client.get("/outbox.json", params={"to": "oscar@example.com"})).json())[0]["status"]
        assert status == "approved", send


async def test_approving_without_the_number_leaves_the_push_to_be_answered(client):
    """No number at all is a bad request (400, the push still pending for the phone to answer);
    the wrong number is a denial, as Okta Verify treats it."""
    push = await oscar_push(client)
    r = await client.post(f"/outbox/push/{push['id']}/approve", json={})
    assert r.status == 400 and (await r.json())["error"] == "answer_required"
    r = await client.post(f"/outbox/push/{push['id']}/approve", json={"answer": push["correct_answer"]})
    assert r.status == 200 and (await r.json())["status"] == "approved"
    push = await oscar_push(client)
    wrong = next(c for c in push["choices"] if c != push["correct_answer"])
    r = await client.post(f"/outbox/push/{push['id']}/approve", json={"answer": wrong})
    assert (await r.json())["status"] == "denied"
