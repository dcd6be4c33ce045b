"""Sign-in flows driven by the demo org's policies, end to end through the IDX endpoints."""

import time

import jwt
import pytest

from embedded.simulator import SIMULATOR, create_simulator_app, totp

from .conftest import Idx, field_messages, names, remediation


async def test_alice_password_only_reaches_tokens(idx, client):
    doc = await idx.start()
    assert names(doc)[:1] == ["identify"]
    doc = await idx.submit("identify", identifier="alice@example.com")
    assert names(doc)[0] == "challenge-authenticator"
    assert doc["currentAuthenticatorEnrollment"]["value"]["key"] == "okta_password"
    assert "recover" in doc["currentAuthenticatorEnrollment"]["value"]
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "Alice-Passw0rd!"})
    assert "successWithInteractionCode" in doc and "remediation" not in doc
    r = await idx.exchange()
    assert r.status == 200
    tokens = await r.json()
    assert tokens["token_type"] == "Bearer" and "refresh_token" not in tokens
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "alice@example.com" and claims["amr"] == ["pwd"]
    assert claims["nonce"] == idx.nonce


async def test_identifier_password_form(client, org, aiohttp_client):
    org.first_form = "identifier_password"
    from embedded.simulator import create_simulator_app

    c = await aiohttp_client(create_simulator_app(org))
    flow = Idx(c)
    doc = await flow.start()
    identify = remediation(doc, "identify")
    assert [f["name"] for f in identify["value"]] == ["identifier", "credentials", "rememberMe", "stateHandle"]
    # With the password on the first form (only then), the password authenticator and its recover action.
    assert (
        doc["currentAuthenticator"]["value"]["key"] == "okta_password"
        and "recover" in doc["currentAuthenticator"]["value"]
    )
    # A wrong password: "Authentication failed" in the top-level messages, as Okta answers it on this form.
    doc = await flow.submit("identify", identifier="alice@example.com", credentials={"passcode": "nope"})
    assert flow.status == 401 and field_messages(doc) == ["errors.E0000004"]
    assert doc["messages"]["value"] == [
        {"message": "Authentication failed", "i18n": {"key": "errors.E0000004"}, "class": "ERROR"}
    ]
    doc = await flow.submit("identify", identifier="alice@example.com", credentials={"passcode": "Alice-Passw0rd!"})
    assert "successWithInteractionCode" in doc


async def test_wrong_password_then_right(idx):
    await idx.start()
    await idx.submit("identify", identifier="alice@example.com")
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "wrong"})
    assert idx.status == 401
    # In the top-level messages, as real responses carry it (okta-signin-widget's mock
    # error-authenticator-verify-password.json), not on the field.
    assert doc["messages"]["value"] == [
        {"message": "Password is incorrect", "i18n": {"key": "incorrectPassword"}, "class": "ERROR"}
    ]
    assert field_messages(doc) == ["incorrectPassword"]
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "Alice-Passw0rd!"})
    assert "successWithInteractionCode" in doc


async def test_lockout_after_max_attempts(idx, state):
    await idx.start()
    await idx.submit("identify", identifier="alice@example.com")
    for _ in range(state.org.lockout_attempts - 1):
        await idx.submit("challenge-authenticator", credentials={"passcode": "wrong"})
        assert idx.status == 401
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "wrong"})
    assert idx.status == 400 and "errors.E0000069" in field_messages(doc)
    assert names(doc)[0] == "identify" and "unlock-account" in names(doc)
    assert state.org.user("alice@example.com").status == "locked_out"
    doc = await idx.submit("identify", identifier="alice@example.com")
    assert idx.status == 400 and "errors.E0000069" in field_messages(doc)


async def test_unknown_user(idx):
    await idx.start()
    doc = await idx.submit("identify", identifier="nobody@example.com")
    assert idx.status == 400 and names(doc)[0] == "identify"
    message = doc["messages"]["value"][0]
    assert message["i18n"]["key"] == "idx.unknown.user" and message["class"] == "INFO"


async def test_blank_identifier_is_a_field_error(idx):
    await idx.start()
    doc = await idx.submit("identify", identifier="")
    assert idx.status == 400
    assert remediation(doc, "identify")["value"][0]["messages"]["value"][0]["class"] == "ERROR"


async def test_bob_email_code_from_outbox(idx, client):
    await idx.password_signin("bob@example.com", "Bob-Passw0rd!")
    doc = idx.doc
    assert names(doc)[0] == "challenge-authenticator"
    current = doc["currentAuthenticatorEnrollment"]["value"]
    assert current["key"] == "okta_email" and {"resend", "poll"} <= set(current)
    assert current["contextualData"] == {"useEmailMagicLink": True}
    assert current["profile"]["email"] == "b***b@example.com"
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "000000"})
    assert idx.status == 401 and "api.authn.error.PASSCODE_INVALID" in field_messages(doc)
    mail = (await (await client.get("/outbox.json", params={"to": "bob@example.com"})).json())[0]
    assert mail["kind"] == "email" and len(mail["code"]) == 6
    assert mail["link"] == f"{idx.redirect_uri}?state={idx.state}&otp={mail['code']}"
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": mail["code"]})
    assert "successWithInteractionCode" in doc
    tokens = await (await idx.exchange()).json()
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["amr"] == ["pwd", "email", "mfa"]


async def test_email_resend_and_poll(idx):
    await idx.password_signin("bob@example.com", "Bob-Passw0rd!")
    first = await idx.outbox_code("bob@example.com")
    doc = await idx.action("currentAuthenticatorEnrollment", "poll")
    assert idx.status == 200 and names(doc)[0] == "challenge-authenticator"
    await idx.action("currentAuthenticatorEnrollment", "resend")
    second = await idx.outbox_code("bob@example.com")
    # The newest code works; the email is still the same challenge.
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": second})
    assert "successWithInteractionCode" in doc or first == second


async def test_carol_google_authenticator_totp(idx):
    await idx.password_signin("carol@example.com", "Carol-Passw0rd!")
    assert idx.doc["currentAuthenticator"]["value"]["key"] == "google_otp"
    doc = await idx.submit(
        "challenge-authenticator", credentials={"passcode": totp.totp("CAROLCAROLCAROL2", time.time() - 3600)}
    )
    assert idx.status == 401 and field_messages(doc) == ["authfactor.challenge.soft_token.invalid_passcode"]
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": totp.totp("CAROLCAROLCAROL2")})
    assert "successWithInteractionCode" in doc


@pytest.mark.parametrize("method", ["sms", "voice"])
async def test_dave_phone(idx, method):
    await idx.password_signin("dave@example.com", "Dave-Passw0rd!")
    doc = idx.doc
    assert names(doc)[0] == "authenticator-verification-data"
    data = remediation(doc, "authenticator-verification-data")["value"][0]
    ids = {f["name"]: f.get("value") for f in data["form"]["value"]}
    doc = await idx.submit("authenticator-verification-data", authenticator={"id": ids["id"], "methodType": method})
    assert names(doc)[0] == "challenge-authenticator"
    assert doc["currentAuthenticatorEnrollment"]["value"]["methods"] == [{"type": method}]
    assert doc["currentAuthenticatorEnrollment"]["value"]["profile"]["phoneNumber"] == "+1 XXX-XXX-0100"
    r = await idx.client.get("/outbox.json", params={"to": "+15550100100"})
    message = (await r.json())[0]
    assert message["kind"] == method
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": message["code"]})
    assert "successWithInteractionCode" in doc


async def test_erin_security_question(idx):
    await idx.password_signin("erin@example.com", "Erin-Passw0rd!")
    doc = idx.doc
    creds = remediation(doc, "challenge-authenticator")["value"][0]["form"]["value"]
    question = creds[0]
    assert question["name"] == "questionKey" and question["value"] == "favorite_vacation_location"
    assert (
        doc["currentAuthenticatorEnrollment"]["value"]["contextualData"]["enrolledQuestion"]["question"]
        == "Where did you go for your favorite vacation?"
    )
    await idx.submit("challenge-authenticator", credentials={"questionKey": question["value"], "answer": "Paris"})
    assert idx.status == 401
    doc = await idx.submit(
        "challenge-authenticator", credentials={"questionKey": question["value"], "answer": "lisbon"}
    )
    assert "successWithInteractionCode" in doc


async def _oscar_push(idx):
    await idx.password_signin("oscar@example.com", "Oscar-Passw0rd!")
    assert names(idx.doc)[0] == "authenticator-verification-data"
    data = remediation(idx.doc, "authenticator-verification-data")["value"][0]
    ident = next(f["value"] for f in data["form"]["value"] if f["name"] == "id")
    doc = await idx.submit("authenticator-verification-data", authenticator={"id": ident, "methodType": "push"})
    assert names(doc)[0] == "challenge-poll"
    assert remediation(doc, "challenge-poll")["refresh"] == 4000
    push = (await (await idx.client.get("/outbox.json", params={"to": "oscar@example.com"})).json())[0]
    assert push["kind"] == "push" and push["correct_answer"] in push["choices"]
    assert doc["currentAuthenticator"]["value"]["contextualData"]["correctAnswer"] == push["correct_answer"]
    return push


async def test_oscar_push_approved_with_number_challenge(idx):
    push = await _oscar_push(idx)
    doc = await idx.submit("challenge-poll")
    assert names(doc)[0] == "challenge-poll"
    r = await idx.client.post(
        f"/outbox/push/{push['id']}/approve", data={"answer": push["correct_answer"]}, allow_redirects=False
    )
    assert r.status == 303
    doc = await idx.submit("challenge-poll")
    assert "successWithInteractionCode" in doc
    tokens = await (await idx.exchange()).json()
    assert "mca" in jwt.decode(tokens["id_token"], options={"verify_signature": False})["amr"]


async def test_oscar_push_denied_then_resent(idx):
    push = await _oscar_push(idx)
    r = await idx.client.post(f"/outbox/push/{push['id']}/deny")
    assert (await r.json())["status"] == "denied"
    doc = await idx.submit("challenge-poll")
    assert "api.authn.poll.error.push_rejected" in field_messages(doc) and names(doc)[0] == "resend"
    again = remediation(doc, "resend")["value"][0]["value"]["form"]["value"]
    doc = await idx.submit("resend", authenticator={f["name"]: f["value"] for f in again})
    assert names(doc)[0] == "challenge-poll"


async def test_oscar_wrong_number_denies(idx):
    push = await _oscar_push(idx)
    wrong = next(c for c in push["choices"] if c != push["correct_answer"])
    r = await idx.client.post(f"/outbox/push/{push['id']}/approve", data={"answer": wrong}, allow_redirects=False)
    assert r.status == 303
    doc = await idx.submit("challenge-poll")
    assert names(doc)[0] == "resend"


async def test_oscar_okta_verify_totp(idx):
    await idx.password_signin("oscar@example.com", "Oscar-Passw0rd!")
    data = remediation(idx.doc, "authenticator-verification-data")["value"][0]
    ident = next(f["value"] for f in data["form"]["value"] if f["name"] == "id")
    doc = await idx.submit("authenticator-verification-data", authenticator={"id": ident, "methodType": "totp"})
    assert remediation(doc, "challenge-authenticator")["value"][0]["form"]["value"][0]["name"] == "totp"
    doc = await idx.submit("challenge-authenticator", credentials={"totp": totp.totp("OSCAROSCAROSCAR2")})
    assert "successWithInteractionCode" in doc


async def test_frank_must_enroll_second_factor_then_may_skip(idx, client):
    doc = await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    assert names(doc) == ["select-authenticator-enroll"]  # required: no skip
    doc = await idx.select("phone_number", form="select-authenticator-enroll")
    assert names(doc)[0] == "authenticator-enrollment-data"
    data = remediation(doc, "authenticator-enrollment-data")["value"][0]
    ident = next(f["value"] for f in data["form"]["value"] if f["name"] == "id")
    doc = await idx.submit(
        "authenticator-enrollment-data", authenticator={"id": ident, "methodType": "sms", "phoneNumber": "12"}
    )
    assert idx.status == 400 and "api.factors.error.sms.invalid_phone" in field_messages(doc)
    doc = await idx.submit(
        "authenticator-enrollment-data",
        authenticator={"id": ident, "methodType": "sms", "phoneNumber": "+1 555 0100 222"},
    )
    assert names(doc)[0] == "enroll-authenticator"
    code = await idx.outbox_code("+15550100222")
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": code})
    assert names(doc) == ["select-authenticator-enroll", "skip"]  # optional ones now, skippable
    doc = await idx.submit("skip")
    assert "successWithInteractionCode" in doc


async def test_frank_enrolls_google_authenticator(idx):
    await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    doc = await idx.select("google_otp", form="select-authenticator-enroll")
    current = doc["currentAuthenticator"]["value"]
    assert current["contextualData"]["qrcode"]["href"].startswith("data:image/png;base64,")
    secret = current["contextualData"]["sharedSecret"]
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": totp.totp(secret)})
    assert names(doc) == ["select-authenticator-enroll", "skip"]


async def test_frank_enrolls_security_question(idx):
    await idx.password_signin("frank@example.com", "Frank-Passw0rd!")
    doc = await idx.select("security_question", form="select-authenticator-enroll")
    assert doc["currentAuthenticator"]["value"]["contextualData"]["questions"]
    doc = await idx.submit("enroll-authenticator", credentials={"questionKey": "disliked_food", "answer": "abc"})
    assert idx.status == 400 and "securityQuestion.answer.tooShort.arg" in field_messages(doc)
    doc = await idx.submit(
        "enroll-authenticator", credentials={"questionKey": "custom", "question": "Best dog?", "answer": "Rex the dog"}
    )
    assert names(doc) == ["select-authenticator-enroll", "skip"]


async def test_gina_passwordless_email(idx):
    await idx.start()
    doc = await idx.submit("identify", identifier="gina@example.com")
    assert doc["currentAuthenticatorEnrollment"]["value"]["key"] == "okta_email"
    doc = await idx.submit(
        "challenge-authenticator", credentials={"passcode": await idx.outbox_code("gina@example.com")}
    )
    assert "successWithInteractionCode" in doc


@pytest.mark.parametrize("after_unlock", ["sign_in", "message"])
async def test_henry_locked_gets_unlock_then_signs_in(aiohttp_client, org, after_unlock):
    """Unlocked by his emailed code, henry signs straight on: his rule is password first, so his
    password is asked next, with Okta's landing message. The org's older way ends with a page
    saying he can sign in, and he signs in afresh."""
    org.after_unlock = after_unlock
    idx = Idx(await aiohttp_client(create_simulator_app(org)))
    state = idx.client.server.app[SIMULATOR]
    doc = await idx.start()
    assert "unlock-account" in names(doc)
    doc = await idx.submit("identify", identifier="henry@example.com")
    assert idx.status == 400 and "unlock-account" in names(doc)
    doc = await idx.submit("unlock-account")
    assert names(doc) == ["select-authenticator-unlock-account"]
    form = remediation(doc, "select-authenticator-unlock-account")
    option = next(o for o in form["value"][1]["options"] if o["label"] == "Email")
    ident = option["value"]["form"]["value"][0]["value"]
    doc = await idx.submit(
        "select-authenticator-unlock-account",
        identifier="henry@example.com",
        authenticator={"id": ident, "methodType": "email"},
    )
    assert names(doc)[0] == "challenge-authenticator"
    doc = await idx.submit(
        "challenge-authenticator", credentials={"passcode": await idx.outbox_code("henry@example.com")}
    )
    assert state.org.user("henry@example.com").status == "active"
    if after_unlock == "message":
        assert "remediation" not in doc and field_messages(doc) == ["oie.selfservice.unlock_user.success.message"]
        doc = await Idx(idx.client).password_signin("henry@example.com", "Henry-Passw0rd!")
        assert "successWithInteractionCode" in doc
        return
    assert names(doc) == ["challenge-authenticator"]
    assert doc["currentAuthenticatorEnrollment"]["value"]["key"] == "okta_password"
    assert doc["messages"]["value"][0]["i18n"]["key"] == "oie.selfservice.unlock_user.landing.to.app.success.message"
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "Henry-Passw0rd!"})
    assert "successWithInteractionCode" in doc and "messages" not in doc
    assert state.engine.sessions[-1]["amr"] == ["email", "pwd", "mfa"]


async def test_irene_expired_password_must_change_it(idx):
    doc = await idx.password_signin("irene@example.com", "Irene-Passw0rd!")
    assert names(doc) == ["reenroll-authenticator"]
    assert doc["recoveryAuthenticator"]["value"]["settings"]["complexity"]["minLength"] == 8
    doc = await idx.submit("reenroll-authenticator", credentials={"passcode": "short"})
    assert idx.status == 400 and "password.passwordRequirementsNotMet" in field_messages(doc)
    doc = await idx.submit("reenroll-authenticator", credentials={"passcode": "Irene-Passw0rd!"})
    assert idx.status == 400  # same as the current one (history)
    doc = await idx.submit("reenroll-authenticator", credentials={"passcode": "Brand-New-Secret9"})
    assert "successWithInteractionCode" in doc


async def test_recovery_resets_password(idx, state):
    await idx.start()
    await idx.submit("identify", identifier="alice@example.com")
    doc = await idx.action("currentAuthenticatorEnrollment", "recover")
    assert names(doc)[0] == "challenge-authenticator"
    assert doc["currentAuthenticatorEnrollment"]["value"]["key"] == "okta_email"
    doc = await idx.submit(
        "challenge-authenticator", credentials={"passcode": await idx.outbox_code("alice@example.com")}
    )
    assert names(doc) == ["reset-authenticator"]
    doc = await idx.submit("reset-authenticator", credentials={"passcode": "Fresh-Start-42"})
    assert "successWithInteractionCode" in doc
    assert state.org.user("alice@example.com").password == "Fresh-Start-42"


async def test_recovery_identifier_first_starts_beside_the_password(idx):
    doc = await idx.start()
    assert "currentAuthenticator" not in doc  # identifier first: nothing to recover until someone is known
    doc = await idx.submit("identify", identifier="frank@example.com")
    doc = await idx.action("currentAuthenticatorEnrollment", "recover")
    assert "oie.selfservice.reset.password.not.allowed" in field_messages(doc)  # frank has nothing to recover with


async def test_recovery_from_the_password_first_form_asks_who(aiohttp_client, org):
    org.first_form = "identifier_password"
    idx = Idx(await aiohttp_client(create_simulator_app(org)))
    doc = await idx.start()
    doc = await idx.action("currentAuthenticator", "recover")
    assert names(doc) == ["identify-recovery"]
    doc = await idx.submit("identify-recovery", identifier="frank@example.com")
    assert "oie.selfservice.reset.password.not.allowed" in field_messages(doc)  # frank has nothing to recover with


PROFILE = {
    "firstName": "Zed",
    "lastName": "Zulu",
    "email": "zed@example.com",
    "favoriteColor": "blue",
    "newsletter": True,
}


async def test_registration(idx, state):
    """The demo requires a password on the profile form; the email enrollment follows."""
    doc = await idx.start()
    doc = await idx.submit("select-enroll-profile")
    profile = remediation(doc, "enroll-profile")["value"][0]["form"]["value"]
    assert {f["name"]: f.get("type") for f in profile} == {
        "firstName": "string",
        "lastName": "string",
        "email": "string",
        "favoriteColor": "string",
        "newsletter": "boolean",
    }
    doc = await idx.submit(
        "enroll-profile", userProfile={"firstName": "Zed", "lastName": "Zulu", "email": "bob@example.com"}
    )
    assert idx.status == 400 and "registration.error.notUniqueWithinOrg" in field_messages(doc)
    doc = await idx.submit("enroll-profile", userProfile={**PROFILE, "favoriteColor": "pink"})
    assert idx.status == 400 and "model.validation.field.invalid" in field_messages(doc)
    doc = await idx.submit("enroll-profile", userProfile=PROFILE)
    assert idx.status == 400 and "model.validation.field.blank" in field_messages(doc)  # the password
    doc = await idx.submit("enroll-profile", userProfile=PROFILE, credentials={"passcode": "Quiet-Harbor-77"})
    assert names(doc) == ["select-authenticator-enroll"]
    doc = await idx.select("okta_email", form="select-authenticator-enroll")
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": await idx.outbox_code("zed@example.com")})
    assert "successWithInteractionCode" in doc
    zed = state.org.user("zed@example.com")
    assert zed.profile["favoriteColor"] == "blue" and zed.password == "Quiet-Harbor-77"


@pytest.mark.parametrize("then", ["enroll", "skip"])
async def test_registration_with_an_optional_password(aiohttp_client, org, then):
    """Okta's "password optional" registration: the profile form has no password; once the
    required email is enrolled, the password is offered, skippable."""
    org.profile_enrollment.password = "optional"
    org.profile_enrollment.enroll_required = ["okta_email"]
    idx = Idx(await aiohttp_client(create_simulator_app(org)))
    await idx.start()
    doc = await idx.submit("select-enroll-profile")
    assert [f["name"] for f in remediation(doc, "enroll-profile")["value"]] == ["userProfile", "stateHandle"]
    assert "currentAuthenticator" not in doc
    doc = await idx.submit("enroll-profile", userProfile=PROFILE, credentials={"passcode": "Quiet-Harbor-77"})
    assert names(doc) == ["select-authenticator-enroll"]  # the password sent anyway was not taken
    await idx.select("okta_email", form="select-authenticator-enroll")
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": await idx.outbox_code("zed@example.com")})
    assert names(doc) == ["select-authenticator-enroll", "skip"]
    assert "okta_password" in [a["key"] for a in doc["authenticators"]["value"]]
    zed = idx.client.server.app[SIMULATOR].org.user("zed@example.com")
    if then == "skip":
        doc = await idx.submit("skip")
        assert "successWithInteractionCode" in doc and zed.password is None
        return
    await idx.select("okta_password", form="select-authenticator-enroll")
    doc = await idx.submit("enroll-authenticator", credentials={"passcode": "Quiet-Harbor-77"})
    assert "successWithInteractionCode" in doc and zed.password == "Quiet-Harbor-77"


async def test_already_have_an_account_goes_back_to_the_first_page(idx):
    """select-identify beside registration posts only the state handle to /identify/select."""
    await idx.start()
    doc = await idx.submit("select-enroll-profile")
    form = remediation(doc, "select-identify")
    assert form["href"].endswith("/idp/idx/identify/select") and [f["name"] for f in form["value"]] == ["stateHandle"]
    doc = await idx.submit("select-identify")
    assert idx.status == 200 and names(doc)[0] == "identify" and "select-enroll-profile" in names(doc)
    doc = await idx.submit("identify", identifier="alice@example.com")
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "Alice-Passw0rd!"})
    assert "successWithInteractionCode" in doc


async def test_registration_off(aiohttp_client, org):
    from embedded.simulator import create_simulator_app

    org.profile_enrollment.enabled = False
    flow = Idx(await aiohttp_client(create_simulator_app(org)))
    doc = await flow.start()
    assert "select-enroll-profile" not in names(doc)
    doc = await flow.post_href(remediation(doc, "identify")["href"].replace("identify", "enroll"), {})
    assert flow.status == 400 and "E0000020" in field_messages(doc)


async def test_cancel_restarts(idx):
    await idx.start()
    await idx.submit("identify", identifier="bob@example.com")
    doc = await idx.post_href(idx.doc["cancel"]["href"], {})
    assert names(doc)[0] == "identify" and "user" not in doc


async def test_select_other_authenticator(idx, org, aiohttp_client):
    from embedded.simulator import create_simulator_app

    org.user("bob@example.com").enrollments.append(
        type(org.users[0].enrollments[0])("phone_number", "pb", {"phone": "+15550100199"})
    )
    flow = Idx(await aiohttp_client(create_simulator_app(org)))
    doc = await flow.password_signin("bob@example.com", "Bob-Passw0rd!")
    assert names(doc) == ["select-authenticator-authenticate"]
    doc = await flow.select("phone_number", methodType="voice")
    assert names(doc)[:2] == ["challenge-authenticator", "select-authenticator-authenticate"]
    doc = await flow.submit("challenge-authenticator", credentials={"passcode": await flow.outbox_code("+15550100199")})
    assert "successWithInteractionCode" in doc


async def test_form_not_offered_is_rejected(idx):
    await idx.start()
    doc = await idx.post_href(
        remediation(idx.doc, "identify")["href"].replace("identify", "challenge/answer"),
        {"credentials": {"passcode": "x"}},
    )
    assert idx.status == 400 and "E0000020" in field_messages(doc) and names(doc)[0] == "identify"


async def test_expired_transaction(idx, state):
    await idx.start()
    state.expire_all()
    doc = await idx.submit("identify", identifier="alice@example.com")
    assert idx.status == 401 and "remediation" not in doc
    assert doc["messages"]["value"][0]["i18n"]["key"] == "idx.session.expired"
    assert doc["messages"]["value"][0]["message"] == (
        "You have been logged out due to inactivity. Refresh or return to the sign in screen."
    )


async def test_unknown_handle(client):
    r = await client.post("/idp/idx/introspect", json={"stateToken": "nope"})
    assert r.status == 401
    assert (await r.json(content_type=None))["messages"]["value"][0]["i18n"]["key"] == "idx.session.expired"


async def test_rate_limit_per_state_handle(idx, state):
    await idx.start()
    for _ in range(state.org.rate_limit_requests - 1):
        await idx.introspect()
        assert idx.status == 200
    doc = await idx.introspect()
    assert idx.status == 429 and doc["messages"]["value"][0]["i18n"]["key"] == "tooManyRequests"
