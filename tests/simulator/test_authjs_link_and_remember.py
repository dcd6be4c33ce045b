"""Issue 23 with the official SDK (installed as test_authjs.py installs it): okta-auth-js follows
registration's "Already have an account? Sign in" (it sends only the state handle, to
/idp/idx/identify/select) and signs alice in; `rememberMe: true` at identify makes kim's sign-in a
remembered session, so "Stay signed in?", for which auth-js has no remediator, is never asked."""

import json
from pathlib import Path

from embedded.simulator import SIMULATOR

from .test_authjs import run_script

SCRIPT = Path(__file__).with_name("authjs_link_and_remember.js")


async def test_authjs_follows_the_sign_in_link_and_remember_me():
    app, issuer, (code, out, err) = await run_script(SCRIPT)
    assert code == 0, err
    link, remembered = (json.loads(line) for line in out.strip().splitlines())

    assert link == {
        "journey": "sign-in link",
        "steps": ["enroll-profile", "identify", "challenge-authenticator"],
        "status": "SUCCESS",
        "email": "alice@example.com",
    }
    assert remembered == {"journey": "remember me", "status": "SUCCESS", "email": "kim@example.com"}

    state = app[SIMULATOR]
    assert state.calls.count(("POST", "/idp/idx/identify/select")) == 1
    assert ("POST", "/idp/idx/keep-me-signed-in") not in state.calls
    assert [(s["login"], s["keep_me_signed_in"]) for s in state.engine.sessions] == [
        ("alice@example.com", None),
        ("kim@example.com", True),
    ]
