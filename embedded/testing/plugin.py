"""The pytest plugin (entry point `pytest11: embedded = embedded.testing.plugin`).

Fixtures, each on a free loopback port and closed after the test:

* `idx_replay`: an `IdxReplay`, a fake Identity Engine playing a script of IDX responses
  (`play_recorded(dir, name)`, `play([...])`); `embedded.testing.DEMO_RECORDINGS` is a recording
  of the demo org shipped with the package. It checks what the test typed against what was
  recorded: every value exactly, except a secret (password, passcode, answer), which must be given
  but whose value a replay cannot check. When the app calls something the script did not expect,
  sends something the recording did not, or fails a check Okta makes, the test fails with
  `ScriptMismatch`: the replay's report and a diff of the calls, pointing at the test's line
  that made the call (whether or not the test itself went on to fail);
* `embedded_simulator`: a `SimulatorHandle`, the built-in simulator with the org from the
  `embedded_org` fixture (None for the demo org; override it to return a TOML path or an Org).
  It checks secrets for real. `await .code(to)` reads the newest code sent to `to` now (once the
  code page shows); `.code_for(to)` is a function for `signed_in(code=...)`, which calls it only
  when a page asks for a code, after the app has had it sent.
"""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest
import pytest_asyncio

from .replay import IdxReplay, ScriptMismatch
from .simulator import SimulatorHandle


@pytest_asyncio.fixture
async def idx_replay(request: pytest.FixtureRequest) -> AsyncIterator[IdxReplay]:
    """A fake Identity Engine that replays a script: `idx_replay.play_recorded(dir, name)`,
    `idx_replay.play([...])`, then `create_app(idx_replay.settings(prefix=...))`."""
    async with IdxReplay() as replay:
        replay.locate_problems_in(getattr(request, "function", None))
        yield replay


@pytest.fixture
def embedded_org() -> Any:
    """The org `embedded_simulator` serves: None for the demo org. Override it in a conftest to
    return the path of an org TOML file (see embedded/simulator/demo_org.toml) or an Org."""
    return None


@pytest_asyncio.fixture
async def embedded_simulator(embedded_org: Any) -> AsyncIterator[SimulatorHandle]:
    """The built-in Identity Engine simulator: `embedded_simulator.settings(prefix=...)` for the
    app; `.code(to)`, `.code_for(to)`, `.magic_link(to)`, `.approve_push(to)`, `.faults(...)`
    for the test."""
    async with SimulatorHandle(embedded_org) as simulator:
        yield simulator


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """A test that used `idx_replay` fails with its report when the app strayed from the script,
    whether or not the test itself noticed, at the test's line where it first strayed."""
    __tracebackhide__ = True
    try:
        result = yield
    except BaseException as exc:
        replay = _replay_of(item)
        if replay is not None and replay.problems and not isinstance(exc, ScriptMismatch):
            raise _at_the_test(ScriptMismatch(replay.report()), replay) from exc
        raise
    replay = _replay_of(item)
    if replay is not None and replay.problems:
        raise _at_the_test(ScriptMismatch(replay.report()), replay)
    return result


def _replay_of(item: pytest.Item) -> IdxReplay | None:
    replay = getattr(item, "funcargs", {}).get("idx_replay")
    return replay if isinstance(replay, IdxReplay) else None


def _at_the_test(error: ScriptMismatch, replay: IdxReplay) -> ScriptMismatch:
    """The error with a traceback that starts at the test's line (pytest shows that line, the
    plugin's own frames being hidden), when the replay knows where the test was."""
    if replay.first_problem_at is None:
        return error
    frame, instruction, line = replay.first_problem_at
    return error.with_traceback(types.TracebackType(None, frame, instruction, line))
