"""The pytest plugin (entry point `pytest11: embedded = embedded.testing.plugin`).

Fixtures, each on a free loopback port and closed after the test:

* `idx_replay`: an `IdxReplay` (a fake Identity Engine playing a script of IDX responses);
  when the app calls something the script did not expect, or fails a check Okta makes, the test
  fails with the replay's report and a diff of the calls;
* `embedded_simulator`: a `SimulatorHandle` (the built-in simulator, with the org from the
  `embedded_org` fixture: None for the demo org; override it to return a TOML path or an Org).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest
import pytest_asyncio

from .replay import IdxReplay, ScriptMismatch
from .simulator import SimulatorHandle


@pytest_asyncio.fixture
async def idx_replay() -> AsyncIterator[IdxReplay]:
    """A fake Identity Engine that replays a script: `idx_replay.play_recorded(dir, name)`,
    `idx_replay.play([...])`, then `create_app(idx_replay.settings(prefix=...))`."""
    async with IdxReplay() as replay:
        yield replay


@pytest.fixture
def embedded_org() -> Any:
    """The org `embedded_simulator` serves: None for the demo org. Override it in a conftest to
    return the path of an org TOML file (see embedded/simulator/demo_org.toml) or an Org."""
    return None


@pytest_asyncio.fixture
async def embedded_simulator(embedded_org: Any) -> AsyncIterator[SimulatorHandle]:
    """The built-in Identity Engine simulator: `embedded_simulator.settings(prefix=...)` for the
    app, `.code(to)`, `.magic_link(to)`, `.approve_push(to)`, `.faults(...)` for the test."""
    async with SimulatorHandle(embedded_org) as simulator:
        yield simulator


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """A test that used `idx_replay` fails with its report when the app strayed from the script,
    whether or not the test itself noticed."""
    try:
        result = yield
    except BaseException as exc:
        replay = getattr(item, "funcargs", {}).get("idx_replay")
        if isinstance(replay, IdxReplay) and replay.problems and not isinstance(exc, ScriptMismatch):
            raise ScriptMismatch(replay.report()) from exc
        raise
    replay = getattr(item, "funcargs", {}).get("idx_replay")
    if isinstance(replay, IdxReplay):
        replay.check()
    return result
