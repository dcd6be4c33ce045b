"""Every authenticator enrolled and verified: frank's enrollment of each in turn, Okta Verify
enrollment channels with the simulated device, WebAuthn registration and assertion (software
authenticator), push number challenge and method switching, expiring password, custom_otp, the
wrong-code cap and resend throttling."""

import time

import jwt
import pytest

from embedded.simulator import demo_org, totp

from .conftest import Idx, field_messages, names, option_id, remediation, resolve
from .softauthn import SoftAuthenticator

LOCALHOST = "http://localhost:5000/login/callback"


@pytest.fixture
def org():
    org = demo_org()
    org.rate_limit_requests = 1000  # these flows are long; the per-handle limit has its own test
    return org


def enroll_keys(doc: dict) -> list[str]:
    form = remediation(doc, "select-authenticator-enroll")
    return [resolve_key(doc, o["relatesTo"]) for o in form["value"][0]["options"]]


def resolve_key(doc: dict, path: str) -> str:
    index = int(path.rsplit("[", 1)[1].rstrip("]"))
    return doc["authenticators"]["value"][index]["key"]


async def choose_method(flow: Idx, method: str) -> dict:
    form = remediation(flow.doc, "authenticator-verification-data")["value"][0]["form"]["value"]
    ident = next(f["value"] for f in form if f["name"] == "id")
    return await flow.submit("authenticator-verification-data", authenticator={"id": ident, "methodType": method})


async def outbox(client, to=None) -> list[dict]:
    r = await client.get("/outbox.json", params={"to": to} if to else {})
    return await r.json()


async def activate(client, activation_id: str, **body) -> dict:
    r = await client.post(f"/outbox/enrollment/{activation_id}/activate", json=body)
    assert r.status == 200, await r.text()
    return await r.json()


async def enroll_okta_verify_qr(flow: Idx) -> dict:
    doc = await flow.select("okta_verify", form="select-authenticator-enroll")
    assert names(doc) == ["enroll-poll", "select-enrollment-channel", "select-authenticator-enroll"]
    data = doc["currentAuthenticator"]["value"]["contextualData"]
    assert data["selectedChannel"] == "qrcode" and data["qrcode"]["href"].startswith("data:image/png;base64,")
    assert remediation(doc, "enroll-poll")["refresh"] == 4000
    doc = await flow.submit("enroll-poll")
    assert names(doc)[0] == "enroll-poll"  # nothing activated yet
    activation = (await outbox(flow.client, "frank@example.com"))[0]
    assert activation["kind"] == "activation" and activation["channel"] == "qrcode"
    device = await activate(flow.client, activation["id"], device_name="Frank's phone")
    assert device["secret"] == activation["secret"]
    return await flow.submit("enroll-poll")


# ---------------------------------------------------------------- frank: everything, in turn
async def test_frank_enrolls_every_authenticator_in_turn(idx, client, state):
    doc = await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    offered = enroll_keys(doc)
    assert offered == ["okta_email", "phone_number", "google_otp", "security_question", "okta_verify", "webauthn"]
    assert names(doc) == ["select-authenticator-enroll"]  # the second factor is required
    key = SoftAuthenticator("http://127.0.0.1:5000")

    doc = await idx.select("okta_email", form="select-authenticator-enroll")
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": await idx.outbox_code("frank@example.com")})
    assert names(doc) == ["select-authenticator-enroll", "skip"] and "okta_email" not in enroll_keys(doc)

    doc = await idx.select(
        "phone_number", form="select-authenticator-enroll", methodType="voice", phoneNumber="+15550100444"
    )
    assert names(doc)[0] == "enroll-authenticator"
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": await idx.outbox_code("+15550100444")})

    doc = await idx.select("google_otp", form="select-authenticator-enroll")
    secret = doc["currentAuthenticator"]["value"]["contextualData"]["sharedSecret"]
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": totp.totp(secret)})

    doc = await idx.select("security_question", form="select-authenticator-enroll")
    doc = await idx.submit("enroll-authenticator", credentials={"questionKey": "first_award", "answer": "Chess club"})

    doc = await enroll_okta_verify_qr(idx)
    assert enroll_keys(doc) == ["webauthn"]

    doc = await idx.select("webauthn", form="select-authenticator-enroll")
    activation = doc["currentAuthenticator"]["value"]["contextualData"]["activationData"]
    doc = await idx.submit("enroll-authenticator", credentials=key.create(activation))
    assert "successWithInteractionCode" in doc  # nothing left to offer

    frank = state.org.user("frank@example.com")
    assert frank.enrolled_keys() == [
        "okta_password",
        "okta_email",
        "phone_number",
        "google_otp",
        "security_question",
        "okta_verify",
        "webauthn",
    ]
    assert frank.enrollment("okta_verify").data["device_name"] == "Frank's phone"
    assert frank.enrollment("webauthn").data["credential_id"] == key.credential_id_b64


# ---------------------------------------------------------------- Okta Verify enrollment channels
async def test_okta_verify_enrollment_by_sms_link(idx, client, state):
    await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    await idx.select("okta_verify", form="select-authenticator-enroll")
    ident = option_id(idx.doc, "select-authenticator-enroll", "okta_verify")["id"]
    doc = await idx.submit("select-enrollment-channel", authenticator={"id": ident, "channel": "sms"})
    assert names(doc) == ["enrollment-channel-data", "select-enrollment-channel", "select-authenticator-enroll"]
    assert doc["currentAuthenticator"]["value"]["contextualData"] == {"selectedChannel": "sms"}
    doc = await idx.submit("enrollment-channel-data", phoneNumber="555")
    assert idx.status == 400 and "api.factors.error.sms.invalid_phone" in field_messages(doc)
    doc = await idx.submit("enrollment-channel-data", phoneNumber="+1 555 010 0555")
    assert names(doc)[0] == "enroll-poll"
    current = doc["currentAuthenticator"]["value"]
    assert current["contextualData"] == {"selectedChannel": "sms", "phoneNumber": "+15550100555"}
    assert [f["name"] for f in current["resend"]["value"]] == ["phone", "stateHandle"]
    await idx.action("currentAuthenticator", "resend")
    sent = await outbox(client, "+15550100555")
    assert len(sent) == 2 and sent[0]["link"].startswith("oktaverify://activate?")
    page = await (await client.get("/outbox")).text()
    assert f"/outbox/enrollment/{sent[0]['id']}/activate" in page
    # The first link is stale once resent: activating it does not finish this enrollment.
    await activate(client, sent[1]["id"])
    assert names(await idx.submit("enroll-poll"))[0] == "enroll-poll"
    r = await client.post(
        f"/outbox/enrollment/{sent[0]['id']}/activate", data={"device_name": "Pixel"}, allow_redirects=False
    )
    assert r.status == 303
    doc = await idx.submit("enroll-poll")
    assert names(doc) == ["select-authenticator-enroll", "skip"]
    assert state.org.user("frank@example.com").enrollment("okta_verify").data["device_name"] == "Pixel"
    assert (await client.post(f"/outbox/enrollment/{sent[0]['id']}/activate")).status == 409
    assert (await client.post("/outbox/enrollment/nope/activate")).status == 404


async def test_okta_verify_enrollment_by_email_chosen_up_front(idx, client):
    await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    doc = await idx.select("okta_verify", form="select-authenticator-enroll", channel="email")
    assert names(doc)[0] == "enrollment-channel-data"
    doc = await idx.submit("enrollment-channel-data", email="not-an-address")
    assert idx.status == 400 and "registration.error.invalidLoginEmail" in field_messages(doc)
    doc = await idx.submit("enrollment-channel-data", email="frank.phone@example.com")
    assert doc["currentAuthenticator"]["value"]["contextualData"] == {
        "selectedChannel": "email",
        "email": "frank.phone@example.com",
    }
    mail = (await outbox(client, "frank.phone@example.com"))[0]
    assert mail["channel"] == "email" and mail["status"] == "pending"
    await activate(client, mail["id"])
    assert names(await idx.submit("enroll-poll")) == ["select-authenticator-enroll", "skip"]


async def test_okta_verify_enrolled_then_used_for_push(idx, client, state):
    await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    await enroll_okta_verify_qr(idx)
    state.org.user("frank@example.com").groups = ["mfa"]  # now a second factor is asked for
    flow = Idx(client)
    doc = await flow.password_signin("frank@example.com", "Frank-Passw0rd!")
    assert names(doc)[0] == "authenticator-verification-data"
    secret = (await outbox(client, "frank@example.com"))[0]["secret"]
    doc = await flow.select("okta_verify", methodType="totp")
    doc = await flow.submit("challenge-authenticator", credentials={"totp": totp.totp(secret)})
    assert "successWithInteractionCode" in doc


async def test_unknown_channel_is_rejected(idx):
    await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    doc = await idx.select("okta_verify", form="select-authenticator-enroll", channel="pigeon")
    assert idx.status == 400 and names(doc) == ["select-authenticator-enroll"]


# ---------------------------------------------------------------- WebAuthn
async def _wendy_enrolls(client) -> SoftAuthenticator:
    flow = Idx(client, redirect_uri=LOCALHOST)
    doc = await flow.password_signin("wendy@example.com", "Wendy-Passw0rd!")
    assert names(doc) == ["select-authenticator-enroll"] and enroll_keys(doc) == ["webauthn"]
    doc = await flow.select("webauthn", form="select-authenticator-enroll")
    current = doc["currentAuthenticator"]["value"]
    assert current["key"] == "webauthn" and current["type"] == "security_key"
    activation = current["contextualData"]["activationData"]
    assert (
        activation["user"]["name"] == "wendy@example.com"
        and {"type": "public-key", "alg": -7} in activation["pubKeyCredParams"]
    )
    key = SoftAuthenticator("http://localhost:5000")
    creds = key.create({**activation, "challenge": "AAAA"})
    doc = await flow.submit("enroll-authenticator", credentials=creds)
    assert flow.status == 400 and "authfactor.webauthn.error.invalid_attestation" in field_messages(doc)
    creds = key.create(activation, origin="http://evil.example")
    doc = await flow.submit("enroll-authenticator", credentials=creds)
    assert flow.status == 400
    doc = await flow.submit("enroll-authenticator", credentials=key.create(activation))
    assert "successWithInteractionCode" in doc
    tokens = await (await flow.exchange()).json()
    assert "hwk" in jwt.decode(tokens["id_token"], options={"verify_signature": False})["amr"]
    return key


async def test_wendy_enrolls_webauthn_then_signs_in_with_it(client, state):
    key = await _wendy_enrolls(client)
    flow = Idx(client, redirect_uri=LOCALHOST)
    doc = await flow.password_signin("wendy@example.com", "Wendy-Passw0rd!")
    assert names(doc) == ["challenge-authenticator"]
    current = doc["currentAuthenticator"]["value"]
    assert current["key"] == "webauthn" and current["methods"] == [{"type": "webauthn"}]
    challenge = current["contextualData"]["challengeData"]
    enrollment = next(e for e in doc["authenticatorEnrollments"]["value"] if e["key"] == "webauthn")
    assert enrollment["credentialId"] == key.credential_id_b64
    fields = remediation(doc, "challenge-authenticator")["value"][0]["form"]["value"]
    assert [f["name"] for f in fields] == ["clientData", "authenticatorData", "signatureData"]
    impostor = SoftAuthenticator("http://localhost:5000")
    doc = await flow.submit("challenge-authenticator", credentials=impostor.get(challenge))
    assert flow.status == 400 and "authfactor.webauthn.error.assertion_validation_failure" in field_messages(doc)
    doc = await flow.submit("challenge-authenticator", credentials=key.get({"challenge": "AAAA"}))
    assert flow.status == 400
    doc = await flow.submit("challenge-authenticator", credentials=key.get(challenge))
    assert "successWithInteractionCode" in doc
    assert state.org.user("wendy@example.com").enrollment("webauthn").data["sign_count"] == key.sign_count


async def test_webauthn_assertion_from_another_origin_fails(client):
    key = await _wendy_enrolls(client)
    flow = Idx(client, redirect_uri=LOCALHOST)
    doc = await flow.password_signin("wendy@example.com", "Wendy-Passw0rd!")
    challenge = doc["currentAuthenticator"]["value"]["contextualData"]["challengeData"]
    await flow.submit("challenge-authenticator", credentials=key.get(challenge, origin="http://localhost:6666"))
    assert flow.status == 400


# ---------------------------------------------------------------- Okta Verify push and code
async def test_push_offers_the_code_instead(idx):
    await idx.password_signin("oscar@example.com", "Oscar-Passw0rd!")
    assert names(idx.doc) == ["authenticator-verification-data", "select-authenticator-authenticate"]
    doc = await choose_method(idx, "push")
    assert names(doc) == ["challenge-poll", "select-authenticator-authenticate"]
    current = doc["currentAuthenticator"]["value"]
    assert current["contextualData"]["correctAnswer"] and "resend" in current
    methods = remediation(doc, "select-authenticator-authenticate")["value"][0]["options"][0]["value"]["form"]["value"][
        1
    ]
    assert [o["value"] for o in methods["options"]] == ["push", "totp"]
    doc = await idx.select("okta_verify", methodType="totp")
    assert names(doc) == ["challenge-authenticator", "select-authenticator-authenticate"]
    doc = await idx.submit("challenge-authenticator", credentials={"totp": totp.totp("OSCAROSCAROSCAR2")})
    assert "successWithInteractionCode" in doc


async def test_phone_switches_from_sms_to_voice(idx, client):
    await idx.password_signin("dave@example.com", "Dave-Passw0rd!")
    await choose_method(idx, "sms")
    assert (await outbox(client, "+15550100100"))[0]["kind"] == "sms"
    doc = await idx.select("phone_number", methodType="voice")
    assert doc["currentAuthenticatorEnrollment"]["value"]["methods"] == [{"type": "voice"}]
    call = (await outbox(client, "+15550100100"))[0]
    assert call["kind"] == "voice"
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": call["code"]})
    assert "successWithInteractionCode" in doc


# ---------------------------------------------------------------- passwords
async def test_paula_expiring_password_may_skip(idx):
    doc = await idx.password_signin("paula@example.com", "Paula-Passw0rd!")
    assert names(doc) == ["reenroll-authenticator-warning", "skip"]
    assert doc["currentAuthenticator"]["value"]["settings"]["daysToExpiry"] == 4
    assert doc["messages"]["value"][0]["i18n"]["key"] == "idx.password.expiring.message"
    assert doc["messages"]["value"][0]["class"] == "INFO"
    doc = await idx.submit("skip")
    assert "successWithInteractionCode" in doc


async def test_paula_changes_expiring_password(idx, state):
    await idx.password_signin("paula@example.com", "Paula-Passw0rd!")
    doc = await idx.submit("reenroll-authenticator-warning", credentials={"passcode": "paula123"})
    assert idx.status == 400 and "password.passwordRequirementsNotMet" in field_messages(doc)
    doc = await idx.submit("reenroll-authenticator-warning", credentials={"passcode": "Passw0rd!"})
    assert idx.status == 400 and "password.common" in field_messages(doc)
    doc = await idx.submit("reenroll-authenticator-warning", credentials={"passcode": "Brand-New-Secret9"})
    assert "successWithInteractionCode" in doc
    paula = state.org.user("paula@example.com")
    assert paula.password == "Brand-New-Secret9" and paula.password_expires_in_days is None
    flow = Idx(idx.client)
    assert "successWithInteractionCode" in await flow.password_signin("paula@example.com", "Brand-New-Secret9")


async def test_frank_password_enrollment_enforces_complexity(idx, org, aiohttp_client):
    from embedded.simulator import create_simulator_app

    frank = org.user("frank@example.com")
    frank.password = None
    frank.enrollments = []
    org.enrollment[1].required = ["okta_password"]
    flow = Idx(await aiohttp_client(create_simulator_app(org)))
    await flow.start()
    doc = await flow.submit("identify", identifier="frank@example.com")
    doc = await flow.select("okta_password", form="select-authenticator-enroll")
    assert doc["currentAuthenticator"]["value"]["settings"]["complexity"]["minLength"] == 8
    doc = await flow.submit("enroll-authenticator", credentials={"passcode": "frankfisher1A"})
    assert flow.status == 400 and "password.passwordRequirementsNotMet" in field_messages(doc)


# ---------------------------------------------------------------- generic passcode authenticator
async def test_victor_custom_otp(idx):
    doc = await idx.password_signin("victor@example.com", "Victor-Passw0rd!")
    current = doc["currentAuthenticatorEnrollment"]["value"]
    assert (current["key"], current["type"], current["methods"]) == ("custom_otp", "security_key", [{"type": "otp"}])
    await idx.submit(
        "challenge-authenticator", credentials={"passcode": totp.totp("VICTORVICTORVIC2", time.time() - 600)}
    )
    assert idx.status == 401
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": totp.totp("VICTORVICTORVIC2")})
    assert "successWithInteractionCode" in doc


# ---------------------------------------------------------------- limits
async def test_fifth_wrong_code_ends_the_transaction(idx):
    await idx.password_signin("bob@example.com", "Bob-Passw0rd!")
    for _ in range(4):
        await idx.submit("challenge-authenticator", credentials={"passcode": "000000"})
        assert idx.status == 401
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "000000"})
    assert idx.status == 403 and "remediation" not in doc and "cancel" in doc
    assert field_messages(doc) == ["authfactor.challenge.suspended_factor"]
    doc = await idx.post_href(doc["cancel"]["href"], {})
    assert names(doc)[0] == "identify"


@pytest.mark.parametrize("method, key", [("voice", "errors.E0000151"), ("sms", "errors.E0000150")])
async def test_resend_is_throttled(idx, method, key):
    await idx.password_signin("dave@example.com", "Dave-Passw0rd!")
    await choose_method(idx, method)
    for _ in range(4):
        await idx.action("currentAuthenticatorEnrollment", "resend")
        assert idx.status == 200
    doc = await idx.action("currentAuthenticatorEnrollment", "resend")
    assert idx.status == 429 and field_messages(doc) == [key] and names(doc)[0] == "challenge-authenticator"


# ---------------------------------------------------------------- several enrollments of one authenticator
async def test_two_phones_are_told_apart_by_enrollment_id(org, aiohttp_client):
    from embedded.simulator import create_simulator_app
    from embedded.simulator.org import Enrollment

    org.user("dave@example.com").enrollments.append(
        Enrollment("phone_number", "paework", {"phone": "+15550100777", "nickname": "Work phone"})
    )
    flow = Idx(await aiohttp_client(create_simulator_app(org)))
    doc = await flow.password_signin("dave@example.com", "Dave-Passw0rd!")
    assert names(doc) == ["select-authenticator-authenticate"]
    options = remediation(doc, "select-authenticator-authenticate")["value"][0]["options"]
    targets = [resolve(doc, o["relatesTo"]) for o in options]
    assert [t.get("nickname") for t in targets] == [None, "Work phone"]
    assert [t["profile"]["phoneNumber"] for t in targets] == ["+1 XXX-XXX-0100", "+1 XXX-XXX-0777"]
    work = {f["name"]: f.get("value") for f in options[1]["value"]["form"]["value"]}
    assert work["enrollmentId"] == "paework"
    doc = await flow.submit(
        "select-authenticator-authenticate",
        authenticator={"id": work["id"], "enrollmentId": "paework", "methodType": "sms"},
    )
    assert doc["currentAuthenticatorEnrollment"]["value"]["nickname"] == "Work phone"
    assert names(doc) == ["challenge-authenticator", "select-authenticator-authenticate"]
    doc = await flow.submit("challenge-authenticator", credentials={"passcode": await flow.outbox_code("+15550100777")})
    assert "successWithInteractionCode" in doc
    await flow.start()
    await flow.submit("identify", identifier="dave@example.com")
    await flow.submit("challenge-authenticator", credentials={"passcode": "Dave-Passw0rd!"})
    await flow.submit("select-authenticator-authenticate", authenticator={"id": work["id"], "enrollmentId": "nope"})
    assert flow.status == 400


async def test_email_poll_sees_the_code_used_elsewhere(idx, client):
    await idx.password_signin("bob@example.com", "Bob-Passw0rd!")
    poll = idx.doc["currentAuthenticatorEnrollment"]["value"]["poll"]["href"]
    mail = (await outbox(client, "bob@example.com"))[0]
    assert "otp=" + mail["code"] in mail["link"]
    # The magic link lands on the app, which answers the challenge with the link's otp...
    await idx.submit("challenge-authenticator", credentials={"passcode": mail["code"]})
    # ...and the page still polling in the first tab now reads the finished state.
    doc = await idx.post_href(poll, {})
    assert idx.status == 200 and "successWithInteractionCode" in doc
