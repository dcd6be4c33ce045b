"""Fidelity with the official SDK beyond sign-in: @okta/okta-auth-js (installed as test_authjs.py
installs it) registers a new user with `idx.register` (profile with the demo org's custom
attributes, then the email enrollment the policy requires, code from the outbox) and recovers
alice's password with `idx.recoverPassword` (email code, new password), each ending with tokens
whose ID token auth-js verified against the simulator's keys; the new password then signs alice in."""

import json
from pathlib import Path

from embedded.simulator import SIMULATOR

from .test_authjs import run_script

SCRIPT = Path(__file__).with_name("authjs_journeys.js")
NEW_USER = "nia@example.com"
ALICE = "alice@example.com"
NEW_PASSWORD = "Tulip-Garden-77"


async def test_authjs_registers_and_recovers_a_password():
    app, issuer, (code, out, err) = await run_script(SCRIPT, NEW_USER, ALICE, NEW_PASSWORD)
    assert code == 0, err
    registered, recovered = (json.loads(line) for line in out.strip().splitlines())
    org = app[SIMULATOR].org

    # (a) registration: the profile and password went in one form, the email was then enrolled
    assert registered["steps"] == ["select-authenticator-enroll", "enroll-authenticator"], registered
    assert "okta_email" in registered["offered"], registered
    nia = org.user(NEW_USER)
    assert nia is not None and nia.status == "active"
    assert registered["sub"] == nia.id and registered["email"] == NEW_USER and registered["name"] == "Nia Nakamura"
    assert registered["iss"] == issuer and registered["accessToken"] is True
    assert set(registered["amr"]) >= {"pwd", "email"}
    assert nia.profile["favoriteColor"] == "blue" and nia.profile["newsletter"] is True
    assert nia.password == NEW_PASSWORD and {"okta_password", "okta_email"} <= set(nia.enrolled_keys())

    # (b) recovery: email code, then the reset form; signed in, and the new password works
    assert recovered["steps"][-2:] == ["challenge-authenticator", "reset-authenticator"], recovered
    alice = org.user(ALICE)
    assert recovered["sub"] == alice.id == recovered["signedInAgain"] and recovered["email"] == ALICE
    assert recovered["iss"] == issuer and recovered["accessToken"] is True
    assert alice.password == NEW_PASSWORD

    calls = app[SIMULATOR].calls
    for path in (
        "/idp/idx/enroll",
        "/idp/idx/enroll/new",
        "/idp/idx/credential/enroll",
        "/idp/idx/recover",
        "/idp/idx/challenge/answer",
    ):
        assert ("POST", path) in calls, path
    assert calls.count(("POST", "/oauth2/default/v1/token")) == 3  # register, recover, sign-in again
