"""The passcode family (rsa_token, onprem_mfa, symantec_vip, yubikey_token, tac, nfc_pin): quinn
verifies with each, yuri enrolls a Symantec VIP token and a YubiKey. Codes are what the demo org
documents: TOTP of a secret, a fresh YubiKey OTP, a single-use access code, a PIN."""

import secrets
import time

import pytest

from embedded.simulator import demo_org, totp
from embedded.simulator.authenticators import MODHEX

from .conftest import Idx, field_messages, names

QUINN = ("quinn@example.com", "Quinn-Passw0rd!")


@pytest.fixture
def org():
    org = demo_org()
    org.rate_limit_requests = 1000  # these flows are long; the per-handle limit has its own test
    return org


def yubikey_otp(public_id: str) -> str:
    return public_id + "".join(secrets.choice(MODHEX) for _ in range(32))


GOOD = {
    "rsa_token": lambda: totp.totp("QUINNRSAQUINNRS2"),
    "onprem_mfa": lambda: totp.totp("QUINNONPREMQUIN2"),
    "symantec_vip": lambda: totp.totp("QUINNVIPQUINNVI2"),
    "yubikey_token": lambda: yubikey_otp("ccccccbuilde"),
    "tac": lambda: "QTAC-8128-4096",
    "nfc_pin": lambda: "2468",
}
# key -> (type, method, top-level object, label of the passcode field, i18n key of a wrong code)
EXPECTED = {
    "rsa_token": (
        "security_key",
        "otp",
        "currentAuthenticatorEnrollment",
        "Enter code",
        "api.authn.error.PASSCODE_INVALID",
    ),
    "onprem_mfa": (
        "security_key",
        "otp",
        "currentAuthenticatorEnrollment",
        "Enter code",
        "api.authn.error.PASSCODE_INVALID",
    ),
    "symantec_vip": (
        "app",
        "otp",
        "currentAuthenticator",
        "Enter security code",
        "authfactor.challenge.soft_token.invalid_passcode",
    ),
    "yubikey_token": (
        "security_key",
        "otp",
        "currentAuthenticatorEnrollment",
        "Insert then tap your YubiKey",
        "api.authn.error.PASSCODE_INVALID",
    ),
    "tac": ("tac", "tac", "currentAuthenticatorEnrollment", "Enter code", "api.authn.error.PASSCODE_INVALID"),
    "nfc_pin": ("proximity", "nfc_pin", "currentAuthenticator", "PIN", "api.authn.error.PASSCODE_INVALID"),
}
WRONG = {
    "rsa_token": "000000",
    "onprem_mfa": "000000",
    "symantec_vip": "000000",
    "yubikey_token": yubikey_otp("ccccccturbid"),
    "tac": "QTAC-0000-0000",
    "nfc_pin": "1357",
}


async def quinn_picks(flow: Idx, key: str) -> dict:
    doc = await flow.password_signin(*QUINN)
    assert names(doc)[0] == "select-authenticator-authenticate"
    offered = {
        flow.doc["authenticatorEnrollments"]["value"][int(o["relatesTo"].rsplit("[", 1)[1][:-1])]["key"]
        for o in doc["remediation"]["value"][0]["value"][0]["options"]
    }
    assert set(GOOD) <= offered
    return await flow.select(key)


def passcode_field(doc: dict) -> dict:
    form = doc["remediation"]["value"][0]
    assert form["name"] == "challenge-authenticator"
    creds = next(f for f in form["value"] if f["name"] == "credentials")
    return creds["form"]["value"][0]


@pytest.mark.parametrize("key", list(GOOD))
async def test_quinn_verifies_with_each_passcode_authenticator(idx, key):
    doc = await quinn_picks(idx, key)
    kind, method, top, label, wrong_key = EXPECTED[key]
    current = doc[top]["value"]
    assert (current["key"], current["type"], current["methods"]) == (key, kind, [{"type": method}])
    assert doc["remediation"]["value"][0]["relatesTo"] == [f"$.{top}"]
    field = passcode_field(doc)
    assert (field["name"], field["label"]) == ("passcode", label)
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": WRONG[key]})
    assert idx.status == 401 and wrong_key in field_messages(passcode_field(doc))
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": GOOD[key]()})
    assert "successWithInteractionCode" in doc, field_messages(doc)
    assert (await idx.exchange()).status == 200


async def test_yubikey_otp_works_once(client):
    otp = yubikey_otp("ccccccbuilde")
    first = Idx(client)
    await quinn_picks(first, "yubikey_token")
    assert first.doc["currentAuthenticatorEnrollment"]["value"]["credentialId"] == "ccccccbuilde"
    doc = await first.submit("challenge-authenticator", credentials={"passcode": otp})
    assert "successWithInteractionCode" in doc
    second = Idx(client)
    await quinn_picks(second, "yubikey_token")
    doc = await second.submit("challenge-authenticator", credentials={"passcode": otp})  # replayed
    assert second.status == 401 and "api.authn.error.PASSCODE_INVALID" in field_messages(doc)
    doc = await second.submit("challenge-authenticator", credentials={"passcode": otp[:-1]})  # malformed
    assert second.status == 401
    doc = await second.submit("challenge-authenticator", credentials={"passcode": otp[:-1] + "x"})  # not modhex
    assert second.status == 401


async def test_temporary_access_code_works_once(client, state):
    first = Idx(client)
    await quinn_picks(first, "tac")
    doc = await first.submit("challenge-authenticator", credentials={"passcode": "qtac-8128-4096"})  # any case
    assert "successWithInteractionCode" in doc
    second = Idx(client)
    await quinn_picks(second, "tac")
    doc = await second.submit("challenge-authenticator", credentials={"passcode": "QTAC-8128-4096"})
    assert second.status == 401 and "api.authn.error.PASSCODE_INVALID" in field_messages(doc)
    assert state.org.user("quinn@example.com").enrollment("tac").data["used"] is True


async def test_totp_family_accepts_codes_one_step_apart(idx):
    await quinn_picks(idx, "rsa_token")
    previous = totp.totp("QUINNRSAQUINNRS2", time.time() - 30)
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": previous})
    assert "successWithInteractionCode" in doc


async def test_switching_between_passcode_authenticators(idx):
    await quinn_picks(idx, "nfc_pin")
    doc = await idx.select("onprem_mfa")
    assert doc["currentAuthenticatorEnrollment"]["value"]["key"] == "onprem_mfa"
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": GOOD["onprem_mfa"]()})
    assert "successWithInteractionCode" in doc


# ---------------------------------------------------------------- yuri enrolls two tokens
def enroll_keys(doc: dict) -> list[str]:
    form = doc["remediation"]["value"][0]
    return [
        doc["authenticators"]["value"][int(o["relatesTo"].rsplit("[", 1)[1][:-1])]["key"]
        for o in form["value"][0]["options"]
    ]


def consecutive(secret: str) -> tuple[str, str]:
    step = int(time.time() // totp.STEP)
    return totp.hotp(secret, step - 1), totp.hotp(secret, step)


async def test_yuri_enrolls_symantec_vip_and_yubikey(idx, state):
    doc = await idx.password_signin("yuri@example.com", "Yuri-Passw0rd!")
    assert names(doc) == ["select-authenticator-enroll"]  # required: no skip
    assert enroll_keys(doc) == ["symantec_vip", "yubikey_token"]

    doc = await idx.select("symantec_vip", form="select-authenticator-enroll")
    assert names(doc)[0] == "enroll-authenticator"
    assert doc["currentAuthenticator"]["value"]["key"] == "symantec_vip"
    creds = doc["remediation"]["value"][0]["value"][0]["form"]["value"]
    assert [f["name"] for f in creds] == ["credentialId", "passcode", "nextPasscode"]
    first, second = consecutive("YURIVIPYURIVIPY2")
    doc = await idx.submit(
        "enroll-authenticator", credentials={"credentialId": "VSMT00000000", "passcode": first, "nextPasscode": second}
    )
    assert idx.status == 400 and "model.validation.field.invalid" in field_messages(doc)
    doc = await idx.submit(
        "enroll-authenticator", credentials={"credentialId": "VSMT14393584", "passcode": first, "nextPasscode": second}
    )
    assert idx.status == 400  # quinn's token
    doc = await idx.submit(
        "enroll-authenticator", credentials={"credentialId": "VSMT52417963", "passcode": second, "nextPasscode": first}
    )
    assert idx.status == 401 and "authfactor.challenge.soft_token.invalid_passcode" in field_messages(doc)
    doc = await idx.submit(
        "enroll-authenticator", credentials={"credentialId": "vsmt52417963", "passcode": first, "nextPasscode": second}
    )
    assert names(doc) == ["select-authenticator-enroll"] and enroll_keys(doc) == ["yubikey_token"]

    doc = await idx.select("yubikey_token", form="select-authenticator-enroll")
    assert doc["currentAuthenticator"]["value"]["key"] == "yubikey_token"
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": yubikey_otp("ccccccbuilde")})
    assert idx.status == 401  # quinn's key
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": "not an otp"})
    assert idx.status == 401 and "api.authn.error.PASSCODE_INVALID" in field_messages(doc)
    otp = yubikey_otp("ccccccturbid")
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": otp})
    assert "successWithInteractionCode" in doc

    yuri = state.org.user("yuri@example.com")
    assert yuri.enrollment("symantec_vip").data == {"credential_id": "VSMT52417963", "secret": "YURIVIPYURIVIPY2"}
    assert yuri.enrollment("yubikey_token").data == {"credential_id": "ccccccturbid"}
    assert otp in state.engine.spent_otps


def test_only_vip_and_yubikey_are_self_enrollable():
    from embedded.simulator.authenticators import KINDS

    assert [k for k in GOOD if KINDS[k].enrollable] == ["symantec_vip", "yubikey_token"]
