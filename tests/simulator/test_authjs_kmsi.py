"""Keep me signed in with the official okta-auth-js (issue 15, item 4): why auth-js's
`idx.authenticate()` stops at `keep-me-signed-in`, and that our response is not the cause.

Finding: an SDK limitation. auth-js (8.0.1, and no later version ships one) has no remediator for
`keep-me-signed-in`, and its authenticate flow (lib/idx/flow/AuthenticationFlow) whitelists only
identify, select-/challenge-/enroll- authenticator steps, polls, redirect-idp and skip. In legacy
(flow) mode it therefore throws "No remediation can match current flow … Remediations:
[keep-me-signed-in]" as soon as the form is the only one offered. Our form is the real one (the
shape test "keep me signed in" matches post-auth-keep-me-signed-in.json key for key, the
`authentication` echo aside), and in step mode (auth-js 8's default) the caller proceeds with
`{step: 'keep-me-signed-in', keepMeSignedIn}` and gets tokens: nothing to fix on our side."""

import json
from pathlib import Path

from embedded.simulator import SIMULATOR

from .test_authjs import run_script

SCRIPT = Path(__file__).with_name("authjs_kmsi.js")


async def test_authjs_legacy_mode_has_no_remediator_for_keep_me_signed_in_and_step_mode_completes():
    app, issuer, (code, out, err) = await run_script(SCRIPT)
    assert code == 0, err
    legacy, step = (json.loads(line) for line in out.strip().splitlines())

    assert legacy["error"] == "AuthSdkError"
    assert "No remediation can match current flow" in legacy["message"]
    assert "Remediations: [keep-me-signed-in]" in legacy["message"]

    assert step["steps"] == ["challenge-authenticator", "keep-me-signed-in"]
    assert step["inputs"] == [{"name": "keepMeSignedIn", "type": "boolean", "required": True}]
    assert step["status"] == "SUCCESS" and step["sub"] == app[SIMULATOR].org.user("kim@example.com").id

    sessions = app[SIMULATOR].engine.sessions
    assert [s["keep_me_signed_in"] for s in sessions] == [True]  # only the step-mode sign-in finished
    calls = app[SIMULATOR].calls
    assert calls.count(("POST", "/idp/idx/keep-me-signed-in")) == 1  # legacy mode never posted it
