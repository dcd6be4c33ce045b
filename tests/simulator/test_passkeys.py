"""Passkeys: the invitation to create one after signing in (enroll-authenticator-promotion, pam)
and signing in from the first page's autofill (challenge-webauthn-autofillui-authenticator)."""

import jwt
import pytest

from embedded.simulator import create_simulator_app, demo_org

from .conftest import Idx, field_messages, names, remediation
from .softauthn import SoftAuthenticator

LOCALHOST = "http://localhost:5000/login/callback"
PAM = ("pam@example.com", "Pam-Passw0rd!")


@pytest.fixture
def org():
    org = demo_org()
    org.rate_limit_requests = 1000
    return org


def flow_for(client) -> Idx:
    return Idx(client, redirect_uri=LOCALHOST)  # browsers refuse IP addresses as relying parties


async def pam_creates_a_passkey(client) -> SoftAuthenticator:
    flow = flow_for(client)
    doc = await flow.password_signin(*PAM)
    key = SoftAuthenticator("http://localhost:5000")
    activation = doc["currentAuthenticator"]["value"]["contextualData"]["activationData"]
    doc = await flow.submit("enroll-authenticator-promotion", credentials=key.create(activation))
    assert "successWithInteractionCode" in doc, field_messages(doc)
    return key


async def test_pam_is_invited_to_create_a_passkey(client, state):
    flow = flow_for(client)
    doc = await flow.password_signin(*PAM)
    assert names(doc) == ["enroll-authenticator-promotion", "skip"]
    form = remediation(doc, "enroll-authenticator-promotion")
    assert form["href"].endswith("/idp/idx/credential/enroll") and form["relatesTo"] == ["$.currentAuthenticator"]
    assert [f["name"] for f in form["value"][0]["form"]["value"]] == [
        "clientData",
        "attestation",
        "transports",
        "clientExtensions",
    ]
    current = doc["currentAuthenticator"]["value"]
    assert (current["key"], current["type"]) == ("webauthn", "security_key")
    activation = current["contextualData"]["activationData"]
    pam = state.org.user("pam@example.com")
    assert activation["user"] == {"displayName": "Pam Porter", "name": "pam@example.com", "id": pam.id}
    assert activation["authenticatorSelection"] == {
        "userVerification": "discouraged",
        "residentKey": "preferred",
        "requireResidentKey": False,
    }
    assert doc["enrollmentAuthenticator"]["value"]["key"] == "webauthn"

    doc = await flow.submit("enroll-authenticator-promotion", credentials={"clientData": "x", "attestation": "y"})
    assert flow.status == 400 and "authfactor.webauthn.error.invalid_attestation" in field_messages(doc)
    assert names(doc) == ["enroll-authenticator-promotion", "skip"]
    key = SoftAuthenticator("http://localhost:5000")
    doc = await flow.submit("enroll-authenticator-promotion", credentials=key.create(activation))
    assert "successWithInteractionCode" in doc
    assert pam.enrollment("webauthn").data["credential_id"] == key.credential_id_b64
    again = flow_for(client)
    doc = await again.password_signin(*PAM)
    assert "successWithInteractionCode" in doc  # she has one now: no invitation


async def test_pam_skips_the_invitation(client, state):
    flow = flow_for(client)
    await flow.password_signin(*PAM)
    doc = await flow.submit("skip")
    assert "successWithInteractionCode" in doc
    assert state.org.user("pam@example.com").enrollment("webauthn") is None
    again = flow_for(client)
    doc = await again.password_signin(*PAM)
    assert names(doc) == ["enroll-authenticator-promotion", "skip"]  # asked again next time


async def test_only_the_promotion_group_is_invited(client):
    doc = await flow_for(client).password_signin("alice@example.com", "Alice-Passw0rd!")
    assert "successWithInteractionCode" in doc


def autofill(doc: dict) -> dict:
    return doc["webauthnAutofillUIChallenge"]["value"]["challengeData"]


async def test_identify_offers_passkey_autofill(client):
    doc = await flow_for(client).start()
    form = remediation(doc, "challenge-webauthn-autofillui-authenticator")
    assert form["href"].endswith("/idp/idx/challenge/answer/webauthn-autofillui")
    assert form["relatesTo"] == ["$.webauthnAutofillUIChallenge"]
    creds = form["value"][0]["form"]["value"]
    assert [(f["name"], f["required"]) for f in creds] == [
        ("authenticatorData", True),
        ("clientData", True),
        ("signatureData", True),
        ("userHandle", False),
    ]
    data = autofill(doc)
    assert data["userVerification"] == "preferred" and len(data["challenge"]) >= 43 and data["extensions"] == {}
    assert names(doc)[0] == "identify"  # typing a username stays the main form


async def test_pam_signs_in_from_autofill(client, state):
    key = await pam_creates_a_passkey(client)
    pam = state.org.user("pam@example.com")
    flow = flow_for(client)
    doc = await flow.start()
    assertion = key.get(autofill(doc))
    doc = await flow.submit(
        "challenge-webauthn-autofillui-authenticator", credentials={**assertion, "userHandle": pam.id}
    )
    assert "successWithInteractionCode" in doc and doc["user"]["value"]["identifier"] == "pam@example.com"
    tokens = await (await flow.exchange()).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "pam@example.com" and claims["amr"] == ["hwk"]


async def test_autofill_without_user_handle_finds_the_credential(client):
    key = await pam_creates_a_passkey(client)
    flow = flow_for(client)
    doc = await flow.start()
    doc = await flow.submit("challenge-webauthn-autofillui-authenticator", credentials=key.get(autofill(doc)))
    assert "successWithInteractionCode" in doc and doc["user"]["value"]["identifier"] == "pam@example.com"


async def test_autofill_refusals(client, state):
    key = await pam_creates_a_passkey(client)
    flow = flow_for(client)
    doc = await flow.start()
    challenge = autofill(doc)
    stranger = SoftAuthenticator("http://localhost:5000")
    refusals = [
        {**stranger.get(challenge)},  # nobody's credential
        {**key.get({"challenge": "AAAA"})},  # another challenge
        {**key.get(challenge), "userHandle": state.org.user("alice@example.com").id},  # someone else's handle
        {**key.get(challenge, origin="http://evil.example")},  # another origin
    ]
    for creds in refusals:
        doc = await flow.submit("challenge-webauthn-autofillui-authenticator", credentials=creds)
        assert flow.status == 400 and "authfactor.webauthn.error.assertion_validation_failure" in field_messages(doc)
        assert names(doc)[0] == "identify" and "user" not in doc
    doc = await flow.submit("challenge-webauthn-autofillui-authenticator", credentials="nope")
    assert flow.status == 400


async def test_autofill_then_policy_continues(client, state):
    """wendy (mfa) enrolls a security key, then picks it from autofill: her password comes next."""
    flow = flow_for(client)
    doc = await flow.password_signin("wendy@example.com", "Wendy-Passw0rd!")
    key = SoftAuthenticator("http://localhost:5000")
    doc = await flow.select("webauthn", form="select-authenticator-enroll")
    await flow.submit(
        "enroll-authenticator",
        credentials=key.create(doc["currentAuthenticator"]["value"]["contextualData"]["activationData"]),
    )
    second = flow_for(client)
    doc = await second.start()
    doc = await second.submit("challenge-webauthn-autofillui-authenticator", credentials=key.get(autofill(doc)))
    assert names(doc)[0] == "challenge-authenticator"
    assert doc["currentAuthenticatorEnrollment"]["value"]["key"] == "okta_password"
    assert "challenge-webauthn-autofillui-authenticator" not in names(doc)
    doc = await second.submit("challenge-authenticator", credentials={"passcode": "Wendy-Passw0rd!"})
    assert "successWithInteractionCode" in doc


async def test_autofill_for_a_locked_user(client, state):
    key = await pam_creates_a_passkey(client)
    state.org.user("pam@example.com").status = "locked_out"
    flow = flow_for(client)
    doc = await flow.start()
    doc = await flow.submit("challenge-webauthn-autofillui-authenticator", credentials=key.get(autofill(doc)))
    assert flow.status == 400 and "errors.E0000069" in field_messages(doc)


async def test_autofill_only_when_the_org_enables_it(aiohttp_client, org):
    org.passkey_autofill = False
    client = await aiohttp_client(create_simulator_app(org))
    doc = await flow_for(client).start()
    assert "webauthnAutofillUIChallenge" not in doc
    assert "challenge-webauthn-autofillui-authenticator" not in names(doc)
