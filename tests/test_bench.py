"""The benchmarks still run and still count what they claim: one IDX round trip per user action."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def bench(script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_IDX_")}  # the simulator, not an org
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_password_sign_in_costs_five_calls():
    assert "IDX calls per sign-in: 5..5" in bench("signin_calls.py", "--runs", "3")


def test_each_journey_action_costs_one_call():
    out = bench("journey_calls.py", "--runs", "2")
    for journey in ("registration", "password recovery", "account unlock"):
        assert f"\n{journey}\n" in out
    assert out.count("calls per later action: 1..") == 3 and "interact, introspect, enroll" in out
    # A second call only for a click the person is spared: registration's one way to verify the
    # email (chosen for them), recovery once the identifier is known.
    assert "calls per later action: 1..2" in out and "submit profile               new, enroll" in out
