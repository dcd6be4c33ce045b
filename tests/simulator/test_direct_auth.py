"""Direct Authentication against the simulator's HTTP API (the contract: /work/notes/direct-wire.md):
the password grant, mfa_required with an mfa_token, /v1/challenge, the mfa-otp / mfa-oob grants
(TOTP, Okta Verify push with its number challenge, SMS and voice codes from the outbox), the
passwordless otp / oob grants with /v1/primary-authenticate, expiry, client binding, grant
permissions, lockout, the send limit, user enumeration prevention and hostile input. Security
checklist items cited where they apply."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from embedded.simulator import totp
from embedded.simulator.authenticator_base import SEND_LIMIT
from embedded.simulator.direct import MFA_OOB, MFA_OTP, OOB, OTP
from embedded.simulator.org import Client, Enrollment, OrgError, User, demo_org, describe_org, org_from_toml

from .conftest import CLIENT

AS = "/oauth2/default"
TOKEN, CHALLENGE, PRIMARY = f"{AS}/v1/token", f"{AS}/v1/challenge", f"{AS}/v1/primary-authenticate"
SCOPE = "openid profile email offline_access"
BOTH = f"{MFA_OTP} {MFA_OOB}"
CAROL, OSCAR, DAVE, OTTO = "carol@example.com", "oscar@example.com", "dave@example.com", "otto@example.com"
PASSWORDS = {
    CAROL: "Carol-Passw0rd!",
    OSCAR: "Oscar-Passw0rd!",
    DAVE: "Dave-Passw0rd!",
    "bob@example.com": "Bob-Passw0rd!",
}


def wrong_code(secret: str) -> str:
    """A six-digit code that is none of the codes the simulator accepts now (its window is ±1 step)."""
    near = {totp.totp(secret, time.time() + steps * totp.STEP) for steps in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near)


async def post(client, path: str, auth: dict | None = None, /, **fields: str) -> tuple[int, dict]:
    r = await client.post(path, data={**(CLIENT if auth is None else auth), **fields})
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "no-store"
    return r.status, await r.json()


async def password_grant(client, login: str, password: str, **extra) -> tuple[int, dict]:
    return await post(client, TOKEN, grant_type="password", username=login, password=password, scope=SCOPE, **extra)


async def mfa_token(client, login: str) -> str:
    status, body = await password_grant(client, login, PASSWORDS[login])
    assert status == 403, body
    assert (
        body["error"] == "mfa_required"
        and body["error_description"] == "Verify with an additional authenticator to complete the sign-in process."
    )
    return body["mfa_token"]


async def verified_claims(client, tokens: dict) -> dict:
    """The ID token's claims, its signature checked against the simulator's JWKS."""
    config = await (await client.get(f"{AS}/.well-known/openid-configuration")).json()
    jwks = await (await client.get(f"{AS}/v1/keys")).json()
    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    return jwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience="demo-client", issuer=config["issuer"])


async def outbox(client, to: str, kind: str) -> dict:
    sent = await (await client.get("/outbox.json", params={"to": to})).json()
    return next(m for m in sent if m["kind"] == kind)


async def answer_push(client, push_id: str, decision: str, answer: str = "") -> None:
    r = await client.post(f"/outbox/push/{push_id}/{decision}", json={"answer": answer})
    assert r.status == 200, await r.text()


# ---------------------------------------------------------------------------------------- password
async def test_alice_password_grant_gives_tokens_that_verify_and_carry_no_nonce(client, state):
    config = await (await client.get(f"{AS}/.well-known/openid-configuration")).json()
    assert {"password", MFA_OTP, MFA_OOB, OTP, OOB} <= set(config["grant_types_supported"])
    before = int(time.time())
    status, tokens = await password_grant(client, "alice@example.com", "Alice-Passw0rd!")
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == SCOPE and tokens["refresh_token"]
    claims = await verified_claims(client, tokens)
    assert "nonce" not in claims  # checklist: a token without a nonce is only for grants that send none
    assert claims["amr"] == ["pwd"] and before <= claims["auth_time"] <= time.time()
    assert (
        claims["preferred_username"] == "alice@example.com" and claims["sub"] == state.org.user("alice@example.com").id
    )
    assert state.engine.sessions[-1]["amr"] == ["pwd"] and state.engine.sessions[-1]["login"] == "alice@example.com"

    # The usual token life goes on: userinfo, refresh (same claims), revoke, logout.
    r = await client.get(f"{AS}/v1/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert (await r.json())["preferred_username"] == "alice@example.com"
    status, refreshed = await post(client, TOKEN, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert status == 200 and (await verified_claims(client, refreshed))["amr"] == ["pwd"]
    assert (await client.post(f"{AS}/v1/revoke", data={**CLIENT, "token": tokens["refresh_token"]})).status == 200
    status, body = await post(client, TOKEN, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert status == 400 and body["error"] == "invalid_grant"
    r = await client.get(f"{AS}/v1/logout", params={"id_token_hint": tokens["id_token"]})
    assert r.status == 200


async def test_wrong_password_unknown_user_and_staged_user_are_one_answer(client):
    # checklist: no user enumeration through the password grant's answers
    answers = [
        await password_grant(client, "alice@example.com", "wrong"),
        await password_grant(client, "nobody@example.com", "Alice-Passw0rd!"),
        await password_grant(client, "sam@example.com", "anything"),
        await password_grant(client, "gina@example.com", ""),  # no password at all: a missing parameter
    ]
    assert (
        answers[:3]
        == [(400, {"error": "invalid_grant", "error_description": "The credentials provided were invalid."})] * 3
    )
    assert answers[3] == (
        400,
        {"error": "invalid_request", "error_description": "The 'password' parameter is required."},
    )


async def test_consent_the_user_has_not_given_is_not_granted_here(client):
    status, body = await password_grant(client, "connie@example.com", "Connie-Passw0rd!")
    assert (status, body["error"]) == (400, "consent_required")


# ---------------------------------------------------------------------------------------- mfa-otp
async def test_carol_totp_after_her_password(client, state):
    token = await mfa_token(client, CAROL)
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH)
    assert (status, body) == (200, {"challenge_type": MFA_OTP})

    status, body = await post(client, TOKEN, grant_type=MFA_OTP, mfa_token=token, otp=wrong_code("CAROLCAROLCAROL2"))
    assert (status, body["error"]) == (400, "invalid_grant")
    assert state.org.user(CAROL).failed_codes == 1  # counted toward the lockout

    code = totp.totp("CAROLCAROLCAROL2")
    status, tokens = await post(client, TOKEN, grant_type=MFA_OTP, mfa_token=token, otp=code)
    assert status == 200, tokens
    claims = await verified_claims(client, tokens)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and "nonce" not in claims
    assert claims["preferred_username"] == CAROL and state.org.user(CAROL).failed_codes == 0
    # The mfa_token died with the grant that used it (checklist: single-use credentials).
    status, body = await post(client, TOKEN, grant_type=MFA_OTP, mfa_token=token, otp=code)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_oscar_okta_verify_code_when_the_app_takes_only_codes(client):
    token = await mfa_token(client, OSCAR)
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=MFA_OTP)
    assert (status, body) == (200, {"challenge_type": MFA_OTP})
    status, tokens = await post(client, TOKEN, grant_type=MFA_OTP, mfa_token=token, otp=totp.totp("OSCAROSCAROSCAR2"))
    assert status == 200 and (await verified_claims(client, tokens))["amr"] == ["pwd", "otp", "mfa"]


# ---------------------------------------------------------------------------------------- mfa-oob: push
async def test_oscar_push_with_number_challenge(client, state):
    token = await mfa_token(client, OSCAR)
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH, channel_hint="push")
    assert status == 200, body
    assert body["challenge_type"] == MFA_OOB and body["channel"] == "push" and body["binding_method"] == "transfer"
    assert body["expires_in"] == 300 and body["interval"] == 1
    push = await outbox(client, OSCAR, "push")
    assert push["status"] == "pending" and body["binding_code"] == push["correct_answer"]
    assert body["binding_code"] in push["choices"]

    poll = {"grant_type": MFA_OOB, "mfa_token": token, "oob_code": body["oob_code"]}
    status, answer = await post(client, TOKEN, **poll)
    assert (status, answer["error"]) == (400, "authorization_pending")
    status, answer = await post(client, TOKEN, **poll)  # again at once: sooner than `interval`
    assert (status, answer["error"]) == (400, "slow_down")

    await answer_push(client, push["id"], "approve", body["binding_code"])
    await asyncio.sleep(state.org.direct_poll_seconds)
    status, tokens = await post(client, TOKEN, **poll)
    assert status == 200, tokens
    assert (await verified_claims(client, tokens))["amr"] == ["pwd", "mca", "mfa"]
    status, answer = await post(client, TOKEN, **poll)  # the oob_code and the mfa_token are spent
    assert (status, answer["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("decision, answer", [("deny", ""), ("approve", "wrong number")])
async def test_oscar_push_rejected_or_the_wrong_number_picked(client, decision, answer):
    token = await mfa_token(client, OSCAR)
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH)
    assert status == 200 and body["channel"] == "push"  # without a hint a push comes first
    push = await outbox(client, OSCAR, "push")
    await answer_push(client, push["id"], decision, answer)
    status, answer_body = await post(client, TOKEN, grant_type=MFA_OOB, mfa_token=token, oob_code=body["oob_code"])
    assert (status, answer_body["error"]) == (400, "access_denied")


async def test_push_without_number_challenge_binds_nothing(client, state):
    state.org.number_challenge = False
    token = await mfa_token(client, OSCAR)
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=MFA_OOB)
    assert status == 200 and body["binding_method"] == "none" and "binding_code" not in body
    await answer_push(client, (await outbox(client, OSCAR, "push"))["id"], "approve")
    status, _ = await post(client, TOKEN, grant_type=MFA_OOB, mfa_token=token, oob_code=body["oob_code"])
    assert status == 200


# ---------------------------------------------------------------------------------------- mfa-oob: SMS, voice
@pytest.mark.parametrize("channel, amr", [("sms", "sms"), ("voice", "tel")])
async def test_dave_types_the_code_he_was_sent(client, state, channel, amr):
    token = await mfa_token(client, DAVE)
    hint = {"channel_hint": channel} if channel == "voice" else {}  # SMS is the default for a phone
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH, **hint)
    assert status == 200, body
    assert body["channel"] == channel and body["binding_method"] == "prompt" and "binding_code" not in body
    sent = await outbox(client, "+15550100100", channel)
    assert sent["subject"] == "Embedded demo org verification code" and len(sent["code"]) == 6

    fields = {"grant_type": MFA_OOB, "mfa_token": token, "oob_code": body["oob_code"]}
    status, answer = await post(client, TOKEN, **fields)
    assert (status, answer["error"]) == (400, "invalid_request")  # prompt: the code is required
    wrong = f"{(int(sent['code']) + 1) % 10**6:06d}"
    status, answer = await post(client, TOKEN, **fields, binding_code=wrong)
    assert (status, answer["error"]) == (400, "invalid_grant") and state.org.user(DAVE).failed_codes == 1
    status, tokens = await post(client, TOKEN, **fields, binding_code=sent["code"])
    assert status == 200, tokens
    assert (await verified_claims(client, tokens))["amr"] == ["pwd", amr, "mfa"]


# ---------------------------------------------------------------------------------------- email is never offered
async def test_email_is_never_a_challenge(client):
    token = await mfa_token(client, "bob@example.com")  # bob's second factor is his email
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH)
    assert (status, body["error"]) == (400, "unsupported_challenge_type")
    token = await mfa_token(client, CAROL)
    for hint in ("email", "sms"):  # carol has no phone either
        status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH, channel_hint=hint)
        assert (status, body["error"]) == (400, "unsupported_challenge_type"), hint
    status, body = await post(client, PRIMARY, login_hint=OTTO, channel_hint="email", challenge_hint=OOB)
    assert (status, body["error"]) == (400, "unsupported_challenge_type")


# ---------------------------------------------------------------------------------------- passwordless
async def test_otto_signs_in_with_a_code_alone(client, state):
    status, body = await post(
        client, TOKEN, grant_type=OTP, login_hint=OTTO, otp=wrong_code("OTTOOTTOOTTOOTT2"), scope=SCOPE
    )
    assert (status, body["error"]) == (400, "invalid_grant") and state.org.user(OTTO).failed_codes == 1
    status, tokens = await post(
        client, TOKEN, grant_type=OTP, login_hint=OTTO, otp=totp.totp("OTTOOTTOOTTOOTT2"), scope=SCOPE
    )
    assert status == 200, tokens
    claims = await verified_claims(client, tokens)
    assert claims["amr"] == ["otp"] and claims["preferred_username"] == OTTO and "nonce" not in claims


async def test_password_first_users_cannot_start_with_a_code(client):
    status, body = await post(
        client, TOKEN, grant_type=OTP, login_hint=CAROL, otp=totp.totp("CAROLCAROLCAROL2"), scope=SCOPE
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await post(client, PRIMARY, login_hint=OSCAR, channel_hint="push", challenge_hint=OOB)
    assert (status, body["error"]) == (400, "invalid_grant")


def passwordless(state, login: str, enrollment: Enrollment) -> None:
    state.org.add_user(User(login=login, first_name="Nell", groups=["passwordless"], enrollments=[enrollment]))


async def test_primary_authenticate_push_then_the_oob_grant(client, state):
    passwordless(state, "nell@example.com", Enrollment("okta_verify", "", {"secret": "NELLNELLNELLNEL2"}))
    status, body = await post(client, PRIMARY, login_hint="nell@example.com", channel_hint="push", challenge_hint=OOB)
    assert status == 200, body
    assert body["channel"] == "push" and body["binding_method"] == "transfer" and "challenge_type" not in body
    push = await outbox(client, "nell@example.com", "push")
    assert push["correct_answer"] == body["binding_code"]
    poll = {"grant_type": OOB, "oob_code": body["oob_code"], "scope": SCOPE}
    status, answer = await post(client, TOKEN, **poll)
    assert (status, answer["error"]) == (400, "authorization_pending")
    await answer_push(client, push["id"], "approve", body["binding_code"])
    await asyncio.sleep(state.org.direct_poll_seconds)
    status, tokens = await post(client, TOKEN, **poll)
    assert status == 200, tokens
    assert (await verified_claims(client, tokens))["amr"] == ["mca"]


async def test_old_oob_authenticate_path_with_an_sms_code(client, state):
    passwordless(state, "nell@example.com", Enrollment("phone_number", "", {"phone": "+15550100999"}))
    status, body = await post(
        client, f"{AS}/v1/oob-authenticate", login_hint="nell@example.com", channel_hint="sms", challenge_hint=OOB
    )
    assert status == 200 and body["binding_method"] == "prompt", body
    code = (await outbox(client, "+15550100999", "sms"))["code"]
    status, tokens = await post(
        client, TOKEN, grant_type=OOB, oob_code=body["oob_code"], binding_code=code, scope=SCOPE
    )
    assert status == 200 and (await verified_claims(client, tokens))["amr"] == ["sms"]


async def test_an_mfa_oob_code_is_not_a_primary_one(client):
    token = await mfa_token(client, DAVE)
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=MFA_OOB)
    code = (await outbox(client, "+15550100100", "sms"))["code"]
    status, answer = await post(
        client, TOKEN, grant_type=OOB, oob_code=body["oob_code"], binding_code=code, scope=SCOPE
    )
    assert (status, answer["error"]) == (400, "invalid_grant")


# ---------------------------------------------------------------------------------------- expiry, binding
async def test_expired_mfa_token(client, state):
    state.org.mfa_token_seconds = 0.2
    token = await mfa_token(client, CAROL)
    await asyncio.sleep(0.3)
    for path, fields in (
        (CHALLENGE, {"challenge_types_supported": BOTH}),
        (TOKEN, {"grant_type": MFA_OTP, "otp": totp.totp("CAROLCAROLCAROL2")}),
    ):
        status, body = await post(client, path, mfa_token=token, **fields)
        assert (status, body) == (
            400,
            {"error": "invalid_grant", "error_description": "The 'mfa_token' is invalid or has expired."},
        )


async def test_expired_oob_code(client, state):
    state.org.oob_code_seconds = 0.2
    token = await mfa_token(client, OSCAR)
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=MFA_OOB)
    await answer_push(client, (await outbox(client, OSCAR, "push"))["id"], "approve", body["binding_code"])
    await asyncio.sleep(0.3)
    status, answer = await post(client, TOKEN, grant_type=MFA_OOB, mfa_token=token, oob_code=body["oob_code"])
    assert (status, answer["error"]) == (400, "expired_token")


async def test_mfa_token_and_oob_code_belong_to_their_client(client, state):
    # checklist: codes and tokens are bound to the client they were issued to
    state.org.clients.append(
        Client(
            id="other-app",
            name="Other",
            secret="other-secret",
            grant_types=list(state.org.client("demo-client").grant_types),
        )
    )
    other = {"client_id": "other-app", "client_secret": "other-secret"}
    token = await mfa_token(client, OSCAR)
    status, body = await post(client, CHALLENGE, other, mfa_token=token, challenge_types_supported=BOTH)
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH)
    await answer_push(client, (await outbox(client, OSCAR, "push"))["id"], "approve", body["binding_code"])
    status, answer = await post(client, TOKEN, other, grant_type=MFA_OOB, mfa_token=token, oob_code=body["oob_code"])
    assert (status, answer["error"]) == (400, "invalid_grant")
    status, _ = await post(client, TOKEN, grant_type=MFA_OOB, mfa_token=token, oob_code=body["oob_code"])
    assert status == 200


async def test_a_client_without_the_grants_is_unauthorized(client):
    spa = {"client_id": "demo-spa"}
    for path, fields in (
        (
            TOKEN,
            {"grant_type": "password", "username": "alice@example.com", "password": "Alice-Passw0rd!", "scope": SCOPE},
        ),
        (TOKEN, {"grant_type": OTP, "login_hint": OTTO, "otp": "123456", "scope": SCOPE}),
        (CHALLENGE, {"mfa_token": "x", "challenge_types_supported": BOTH}),
        (PRIMARY, {"login_hint": OTTO, "channel_hint": "push", "challenge_hint": OOB}),
    ):
        status, body = await post(client, path, spa, **fields)
        assert (status, body["error"]) == (400, "unauthorized_client"), path


# ---------------------------------------------------------------------------------------- lockout
async def test_wrong_passwords_lock_the_account(client, state):
    # checklist: brute force is stopped by the org's lockout, as in IDX
    for _ in range(state.org.lockout_attempts):
        status, body = await password_grant(client, "alice@example.com", "Wrong-Passw0rd!")
        assert (status, body["error"]) == (400, "invalid_grant")
    assert state.org.user("alice@example.com").status == "locked_out"
    status, body = await password_grant(client, "alice@example.com", "Alice-Passw0rd!")
    assert (status, body["error"]) == (400, "invalid_grant") and "locked" in body["error_description"]
    state.org.user_enumeration_prevention = True  # then locked is told apart from nothing
    status, body = await password_grant(client, "alice@example.com", "Alice-Passw0rd!")
    assert body["error_description"] == "The credentials provided were invalid."


async def test_wrong_codes_lock_the_account_and_a_right_password_buys_no_more_guesses(client, state):
    for _ in range(state.org.lockout_attempts - 1):
        token = await mfa_token(client, CAROL)
        status, _ = await post(client, TOKEN, grant_type=MFA_OTP, mfa_token=token, otp=wrong_code("CAROLCAROLCAROL2"))
        assert status == 400
    token = await mfa_token(client, CAROL)  # the password again: the wrong codes still count
    status, _ = await post(client, TOKEN, grant_type=MFA_OTP, mfa_token=token, otp=wrong_code("CAROLCAROLCAROL2"))
    assert status == 400 and state.org.user(CAROL).status == "locked_out"
    status, body = await post(client, TOKEN, grant_type=MFA_OTP, mfa_token=token, otp=totp.totp("CAROLCAROLCAROL2"))
    assert (status, body["error"]) == (400, "invalid_grant")


# ---------------------------------------------------------------------------------------- send limit
def assert_rate_limited(r, body: dict) -> None:
    """Okta's rate-limit answer: 429, its API error body (not an OAuth error), when to come back."""
    assert r.status == 429
    assert body["errorCode"] == "E0000047" and "error" not in body
    assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert r.headers["Cache-Control"] == "no-store" and r.headers["Content-Type"].startswith("application/json")
    assert r.headers["X-Rate-Limit-Limit"] == str(SEND_LIMIT) and r.headers["X-Rate-Limit-Remaining"] == "0"
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= 300
    assert abs(int(r.headers["X-Rate-Limit-Reset"]) - (time.time() + retry_after)) <= 2


async def test_pushes_and_codes_stop_at_the_send_limit_per_user_and_channel(client, state):
    # checklist 41: a client's credentials and a password do not buy unlimited pushes (push-bombing)
    token = await mfa_token(client, OSCAR)
    for _ in range(SEND_LIMIT):
        status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH)
        assert status == 200 and body["channel"] == "push", body
    r = await client.post(CHALLENGE, data={**CLIENT, "mfa_token": token, "challenge_types_supported": BOTH})
    assert_rate_limited(r, await r.json())
    sent = await (await client.get("/outbox.json", params={"to": OSCAR})).json()
    assert [m["kind"] for m in sent].count("push") == SEND_LIMIT  # the refused one never went
    # A code from his app is no message: still offered.
    status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=MFA_OTP)
    assert (status, body) == (200, {"challenge_type": MFA_OTP})

    # Per channel: dave's SMS run out, his voice calls do not; per user: nell's pushes go on.
    token = await mfa_token(client, DAVE)
    for _ in range(SEND_LIMIT):
        status, _ = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=MFA_OOB)
        assert status == 200
    r = await client.post(CHALLENGE, data={**CLIENT, "mfa_token": token, "challenge_types_supported": MFA_OOB})
    assert_rate_limited(r, await r.json())
    status, body = await post(
        client, CHALLENGE, mfa_token=token, challenge_types_supported=MFA_OOB, channel_hint="voice"
    )
    assert status == 200 and body["channel"] == "voice"
    passwordless(state, "nell@example.com", Enrollment("okta_verify", "", {"secret": "NELLNELLNELLNEL2"}))
    status, _ = await post(client, PRIMARY, login_hint="nell@example.com", channel_hint="push", challenge_hint=OOB)
    assert status == 200


async def test_the_send_limit_covers_primary_authenticate_and_frees_as_sends_age(client, state):
    state.org.oob_code_seconds = 0.6  # the window the limit counts in
    passwordless(state, "nell@example.com", Enrollment("phone_number", "", {"phone": "+15550100999"}))
    start = {"login_hint": "nell@example.com", "channel_hint": "sms", "challenge_hint": OOB}
    for _ in range(SEND_LIMIT):
        status, _ = await post(client, PRIMARY, **start)
        assert status == 200
    r = await client.post(PRIMARY, data={**CLIENT, **start})
    assert_rate_limited(r, await r.json())
    assert r.headers["Retry-After"] == "1"
    await asyncio.sleep(0.7)
    status, _ = await post(client, PRIMARY, **start)
    assert status == 200


async def test_sign_ins_with_a_resend_each_never_meet_the_limit(client, state):
    # The demo stays usable: a sign-in that issues tokens starts the count again.
    for _ in range(SEND_LIMIT):
        token = await mfa_token(client, OSCAR)
        for _ in range(2):  # the push, then "send it again"
            status, body = await post(client, CHALLENGE, mfa_token=token, challenge_types_supported=BOTH)
            assert status == 200, body
        push = await outbox(client, OSCAR, "push")  # the newest
        await answer_push(client, push["id"], "approve", body["binding_code"])
        status, tokens = await post(client, TOKEN, grant_type=MFA_OOB, mfa_token=token, oob_code=body["oob_code"])
        assert status == 200, tokens


# ---------------------------------------------------------------------------------------- user enumeration
def masked(body: dict) -> dict:
    """An oob answer with its random values replaced by their shape (checklist 40: bodies equal once masked)."""
    return {
        k: (f"<{len(v)} digits>" if k == "binding_code" else "<code>" if k == "oob_code" else v)
        for k, v in body.items()
    }


async def test_primary_authenticate_for_someone_unreachable_is_a_decoy_that_never_completes(client, state):
    # checklist 40: with user enumeration prevention an unknown user looks like a real one
    state.org.user_enumeration_prevention = True
    state.org.oob_code_seconds = 2  # to see the decoy expire
    passwordless(state, "nell@example.com", Enrollment("okta_verify", "", {"secret": "NELLNELLNELLNEL2"}))
    logins = [
        "nell@example.com",
        "nobody@example.com",
        OSCAR,
        "henry@example.com",
        "sam@example.com",
        "gina@example.com",
    ]
    answers = {}
    for login in logins:  # real; unknown; password first; locked; staged; no Okta Verify
        status, body = await post(client, PRIMARY, login_hint=login, channel_hint="push", challenge_hint=OOB)
        assert status == 200, (login, body)
        answers[login] = body
    real = masked(answers["nell@example.com"])
    assert real["binding_method"] == "transfer" and real["binding_code"] == "<2 digits>"
    assert all(masked(b) == real for b in answers.values())
    pushes = [m for m in await (await client.get("/outbox.json")).json() if m["kind"] == "push"]
    assert [m["to"] for m in pushes] == ["nell@example.com"]  # the decoys sent nothing

    # A decoy is polled like a push nobody answers: pending, slow_down, then expired.
    poll = {"grant_type": OOB, "oob_code": answers["nobody@example.com"]["oob_code"], "scope": SCOPE}
    status, body = await post(client, TOKEN, **poll)
    assert (status, body["error"]) == (400, "authorization_pending")
    status, body = await post(client, TOKEN, **poll)
    assert (status, body["error"]) == (400, "slow_down")
    real_poll = {**poll, "oob_code": answers["nell@example.com"]["oob_code"]}
    status, body = await post(client, TOKEN, **real_poll)  # the real push, unanswered: the same
    assert (status, body["error"]) == (400, "authorization_pending")
    await asyncio.sleep(2.1)
    for fields in (poll, real_poll):
        status, body = await post(client, TOKEN, **fields)
        assert (status, body["error"]) == (400, "expired_token")


async def test_an_sms_decoy_takes_no_code_and_answers_as_a_wrong_one(client, state):
    state.org.user_enumeration_prevention = True
    passwordless(state, "nell@example.com", Enrollment("phone_number", "", {"phone": "+15550100999"}))
    start = {"channel_hint": "sms", "challenge_hint": OOB}
    status, real = await post(client, PRIMARY, login_hint="nell@example.com", **start)
    assert status == 200
    status, decoy = await post(client, PRIMARY, login_hint="nobody@example.com", **start)
    assert status == 200 and masked(decoy) == masked(real) and real["binding_method"] == "prompt"
    code = (await outbox(client, "+15550100999", "sms"))["code"]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    wrong_for_nell = await post(
        client, TOKEN, grant_type=OOB, oob_code=real["oob_code"], binding_code=wrong, scope=SCOPE
    )
    any_for_nobody = await post(
        client, TOKEN, grant_type=OOB, oob_code=decoy["oob_code"], binding_code=code, scope=SCOPE
    )
    assert (
        wrong_for_nell
        == any_for_nobody
        == (
            400,
            {"error": "invalid_grant", "error_description": "The 'binding_code' is invalid."},
        )
    )
    # Locked once the code went: even the right code answers as a decoy does (no "locked" oracle).
    state.org.user("nell@example.com").status = "locked_out"
    status, body = await post(client, TOKEN, grant_type=OOB, oob_code=real["oob_code"], binding_code=code, scope=SCOPE)
    assert (status, body) == any_for_nobody


async def test_decoys_meet_the_send_limit_as_real_users_do(client, state):
    # checklist 40 + 41: the 429 must not tell a real user from an unknown one either
    state.org.user_enumeration_prevention = True
    passwordless(state, "nell@example.com", Enrollment("okta_verify", "", {"secret": "NELLNELLNELLNEL2"}))
    for login in ("nell@example.com", "Nobody@Example.com"):
        start = {"login_hint": login, "channel_hint": "push", "challenge_hint": OOB}
        for _ in range(SEND_LIMIT):
            status, _ = await post(client, PRIMARY, **start)
            assert status == 200
        r = await client.post(PRIMARY, data={**CLIENT, **start})
        assert_rate_limited(r, await r.json())
    # A channel the org offers to nobody says nothing of the user: refused for all alike.
    state.org.phone_methods = ["sms"]
    for login in ("dave@example.com", "nobody@example.com"):
        status, body = await post(client, PRIMARY, login_hint=login, channel_hint="voice", challenge_hint=OOB)
        assert (status, body["error"]) == (400, "unsupported_challenge_type")


async def test_otp_grant_answers_everyone_who_cannot_start_as_a_wrong_code(client, state):
    # checklist 40: a wrong code for a real user and any code for an unknown one are one answer
    state.org.user_enumeration_prevention = True
    code = totp.totp("OTTOOTTOOTTOOTT2")
    answers = [
        await post(client, TOKEN, grant_type=OTP, login_hint=OTTO, otp=wrong_code("OTTOOTTOOTTOOTT2"), scope=SCOPE),
        await post(client, TOKEN, grant_type=OTP, login_hint="nobody@example.com", otp=code, scope=SCOPE),
        await post(client, TOKEN, grant_type=OTP, login_hint=CAROL, otp=totp.totp("CAROLCAROLCAROL2"), scope=SCOPE),
        await post(client, TOKEN, grant_type=OTP, login_hint="sam@example.com", otp=code, scope=SCOPE),
    ]
    wrong = (400, {"error": "invalid_grant", "error_description": "The one-time password is invalid."})
    assert answers == [wrong] * 4
    # Locked by wrong codes (checklist 10), otto's right code answers as a wrong one does.
    for _ in range(state.org.lockout_attempts):
        await post(client, TOKEN, grant_type=OTP, login_hint=OTTO, otp=wrong_code("OTTOOTTOOTTOOTT2"), scope=SCOPE)
    assert state.org.user(OTTO).status == "locked_out"
    assert await post(client, TOKEN, grant_type=OTP, login_hint=OTTO, otp=code, scope=SCOPE) == wrong

    state.org.user_enumeration_prevention = False  # off: an unknown user is told apart, as before
    status, body = await post(client, TOKEN, grant_type=OTP, login_hint="nobody@example.com", otp=code, scope=SCOPE)
    assert (status, body["error_description"]) == (400, "The credentials provided were invalid.")


# ---------------------------------------------------------------------------------------- hostile input
async def test_garbage_is_an_oauth_error_never_a_500(client):
    # checklist: bad input gets an error answer, never a 500 or a traceback
    token = await mfa_token(client, CAROL)
    cases = [
        (TOKEN, {"grant_type": "password", "scope": SCOPE}, "invalid_request"),
        (TOKEN, {"grant_type": "password", "username": "alice@example.com", "password": "x"}, "invalid_scope"),
        (TOKEN, {"grant_type": "password", "username": "a", "password": "b", "scope": "openid nope"}, "invalid_scope"),
        (TOKEN, {"grant_type": MFA_OTP, "mfa_token": token}, "invalid_request"),
        (TOKEN, {"grant_type": MFA_OTP, "mfa_token": "\u00e9" * 5000, "otp": "1"}, "invalid_grant"),
        (TOKEN, {"grant_type": MFA_OTP, "mfa_token": token, "otp": "١٢٣٤٥٦"}, "invalid_grant"),
        (TOKEN, {"grant_type": MFA_OOB, "mfa_token": token, "oob_code": "nope"}, "invalid_grant"),
        (TOKEN, {"grant_type": OOB, "oob_code": "nope", "scope": SCOPE}, "invalid_grant"),
        (TOKEN, {"grant_type": OTP, "login_hint": "", "otp": "1", "scope": SCOPE}, "invalid_request"),
        (TOKEN, {"grant_type": MFA_OTP.replace("mfa-otp", "mfa-bogus")}, "unsupported_grant_type"),
        (TOKEN, {"grant_type": "urn:okta:params:oauth:grant-type:mfa-otp"}, "unsupported_grant_type"),
        (CHALLENGE, {"mfa_token": token}, "invalid_request"),
        (CHALLENGE, {"mfa_token": token, "challenge_types_supported": "bogus"}, "unsupported_challenge_type"),
        (CHALLENGE, {"mfa_token": token, "challenge_types_supported": BOTH, "channel_hint": "fax"}, "invalid_request"),
        (CHALLENGE, {"mfa_token": "", "challenge_types_supported": BOTH}, "invalid_request"),
        (PRIMARY, {"login_hint": OTTO, "channel_hint": "push"}, "invalid_request"),
        (PRIMARY, {"login_hint": OTTO, "channel_hint": "push", "challenge_hint": OTP}, "invalid_request"),
        (PRIMARY, {"login_hint": OTTO, "challenge_hint": OOB}, "invalid_request"),
        (PRIMARY, {"login_hint": "nobody", "channel_hint": "push", "challenge_hint": OOB}, "invalid_grant"),
        (PRIMARY, {"login_hint": OTTO, "channel_hint": "push", "challenge_hint": OOB}, "unsupported_challenge_type"),
    ]
    for path, fields, error in cases:
        status, body = await post(client, path, **fields)
        assert (status, body["error"]) == (400, error), (path, fields, body)

    # A parameter twice (RFC 6749 §3.2), JSON instead of a form, bytes that are not UTF-8.
    creds = b"&client_id=demo-client&client_secret=demo-secret"
    for path, raw, content_type in (
        (TOKEN, b"grant_type=password&username=a&password=a&password=b&scope=openid", "x-www-form-urlencoded"),
        (CHALLENGE, f"mfa_token={token}&mfa_token=x&challenge_types_supported=x".encode(), "x-www-form-urlencoded"),
        (CHALLENGE, b'{"mfa_token": "x", "client_id": "demo-client"}', "json"),
        (PRIMARY, b"login_hint=\xff\xfe&channel_hint=push&challenge_hint=x", "x-www-form-urlencoded"),
        (TOKEN, b"grant_type=password&username=\xc3&password=\xff&scope=openid", "x-www-form-urlencoded"),
    ):
        r = await client.post(path, data=raw + creds, headers={"Content-Type": f"application/{content_type}"})
        assert r.status == 400 and (await r.json())["error"] == "invalid_request", (path, raw)


# ---------------------------------------------------------------------------------------- org settings
def test_org_settings_default_to_okta_values_and_are_checked():
    org = org_from_toml('[org]\nname = "x"\n')
    assert (org.mfa_token_seconds, org.oob_code_seconds, org.direct_poll_seconds) == (300, 300, 5)
    org = org_from_toml("[org]\nmfa_token_seconds = 30\noob_code_seconds = 60\ndirect_poll_seconds = 0\n")
    assert (org.mfa_token_seconds, org.oob_code_seconds, org.direct_poll_seconds) == (30, 60, 0)
    for bad in (
        "mfa_token_seconds = 0",
        'oob_code_seconds = "soon"',
        "direct_poll_seconds = 1.5",
        "direct_poll_seconds = -1",
    ):
        with pytest.raises(OrgError):
            org_from_toml(f"[org]\n{bad}\n")


def test_the_demo_describes_direct_authentication_and_its_passwordless_user():
    text = describe_org(demo_org())
    assert "Direct Authentication" in text and "for demo-client:" in text and "demo-spa:" not in text
    assert "otto@example.com (groups: passwordless): no password; google_otp TOTP secret OTTOOTTOOTTOOTT2" in text
