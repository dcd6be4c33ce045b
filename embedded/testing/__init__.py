"""embedded.testing: test a host app's sign-in pages and protected routes without an Okta org.

Installed with `pip install embedded[testing]`; pytest loads the plugin by itself (entry point
`pytest11`), which provides the fixtures `idx_replay` and `embedded_simulator`.

    IdxReplay         a fake Identity Engine on a loopback port playing a script of IDX responses
    Recording, Step   a directory written by `python -m embedded record`, one scripted call
    SimulatorHandle   the built-in simulator on a loopback port, with outbox, push and fault helpers
    Tab, signed_in    a browser tab without the browser; a whole sign-in through the real pages
    Recorder          the recording proxy behind `python -m embedded record`
"""

from typing import Any

from ..config import Settings
from .browser import Form, Tab, signed_in
from .record import Recorder
from .replay import Call, IdxReplay, ScriptMismatch
from .script import FORMAT, PLACEHOLDER_ORG, Recording, Step, rebase
from .simulator import SimulatorHandle


def settings_for(server: IdxReplay | SimulatorHandle, *, prefix: str = "/auth", **overrides: Any) -> Settings:
    """Settings that point an app under test, with sign-in at `prefix`, at a replay or the simulator."""
    return server.settings(prefix=prefix, **overrides)


__all__ = [
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
