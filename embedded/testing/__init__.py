"""embedded.testing: test a host app's sign-in pages and protected routes without an Okta org.

Installed with `pip install "embedded-idx-signin[testing]"`; pytest loads the plugin by itself
(entry point `pytest11`), which provides the fixtures `idx_replay` and `embedded_simulator`
(see `embedded.testing.plugin`).

    IdxReplay         a fake Identity Engine on a loopback port playing a script of IDX responses,
                      checking what the test typed against what was recorded (a secret only for
                      being given: a replay cannot check a secret's value)
    ScriptMismatch    the failure when the app strays from the script
    Recording, Step   a directory written by `python -m embedded record`, one scripted call
    DEMO_RECORDINGS   the demo org's recorded sign-ins, shipped with the package (`Recording(...).names`)
    SimulatorHandle   the built-in simulator on a loopback port, with outbox, push and fault helpers
    Tab, Form         a browser tab without the browser, and a form it read off a page
    signed_in         a whole sign-in through the real pages in one call
    settings_for      the app's Settings for a replay or the simulator
    Recorder          the recording proxy behind `python -m embedded record`
"""

from pathlib import Path
from typing import Any

from ..config import Settings
from .browser import Form, Tab, signed_in
from .record import Recorder
from .replay import Call, IdxReplay, ScriptMismatch
from .script import FORMAT, PLACEHOLDER_ORG, Recording, Step, rebase
from .simulator import SimulatorHandle

# password, password-wrong-then-right, unknown-user, email-code, okta-verify-push: recorded from the
# demo org (tests/demo_recordings.py), its made-up people named in the manifest's `people`.
DEMO_RECORDINGS = Path(__file__).resolve().parent / "demo-recordings"


def settings_for(server: IdxReplay | SimulatorHandle, *, prefix: str = "/auth", **overrides: Any) -> Settings:
    """Settings that point an app under test, with sign-in at `prefix`, at a replay or the simulator."""
    return server.settings(prefix=prefix, **overrides)


__all__ = [
    "DEMO_RECORDINGS",
    "FORMAT",
    "PLACEHOLDER_ORG",
    "Call",
    "Form",
    "IdxReplay",
    "Recorder",
    "Recording",
    "ScriptMismatch",
    "SimulatorHandle",
    "Step",
    "Tab",
    "rebase",
    "settings_for",
    "signed_in",
]
