"""Issue 19, break 2: one step at a time per transaction, across instances, under parallel
requests (checklist 10 and 43). Two app instances share a real redis-server (and, with the same
attacks, one instance keeps the in-memory store); the per-address and per-transaction limits are
raised so that they are not what stops the attack: only the session's claim, its version check
and the wrong-code counter do."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import pytest
from pages import read
from test_e2e_authenticators import Walker
from test_shared_store import Alternating, redis_url, start_instances  # noqa: F401 - redis_url is a fixture

from embedded.simulator import submissions

RUNS = int(__import__("os").environ.get("RUNS", 20))
UNLIMITED = {
    "step_limit_per_ip": (100_000, 1.0),
    "step_limit_per_transaction": (100_000, 1.0),
    "login_limit_per_ip": (100_000, 1.0),
}


@pytest.fixture(params=["memory", "redis"])
async def instances(request, simulator, monkeypatch):
    # Nor are the Identity Engine's own limits: requests per state handle (10 in 5 s, as Okta's)
    # and wrong codes per challenge (5, the same number as ours: its ending would hide ours).
    Walker(None, simulator).state.org.rate_limit_requests = 100_000
    monkeypatch.setattr(submissions, "MAX_CODE_ATTEMPTS", 100)
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        servers, bases = await start_instances(simulator, 2, redis_url=url, **UNLIMITED)
    else:
        servers, bases = await start_instances(simulator, 1, **UNLIMITED)
    yield bases
    for server in servers:
        await server.close()


def upstream(simulator, endpoint: str) -> int:
    return sum(1 for _, path in Walker(None, simulator).state.calls if path.endswith(endpoint))


def form_data(html: str, **fields: str) -> list[tuple[str, str]]:
    form = next(f for f in read(html).forms if f.hidden.get("_form") == "0")
    return [*form.hidden.items(), *((name, fields.get(name, "")) for name in form.inputs)]


async def test_parallel_wrong_codes_reach_the_identity_engine_once_per_state_and_five_in_all(instances, simulator):
    """Bursts of ten wrong codes at once, split over both instances and sent again from each new
    page until the transaction ends: at most one goes upstream per burst, five in all."""
    for _run in range(RUNS):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, instances), simulator)
            await walker.begin("bob@example.com", "Bob-Passw0rd!")
            assert "credentials.passcode" in walker.form().inputs
            before = upstream(simulator, "/challenge/answer")
            codes = (f"{n:06d}" for n in itertools.count(100_000))
            pages: list[str] = []
            while "credentials.passcode" in walker.html:
                sent = upstream(simulator, "/challenge/answer")
                burst = [form_data(walker.html, **{"credentials.passcode": next(codes)}) for _ in range(10)]
                replies = await asyncio.gather(*(walker.client.post("/login/step", data=data) for data in burst))
                assert all(r.status < 500 for r in replies)
                pages += [await r.text() for r in replies]
                assert upstream(simulator, "/challenge/answer") - sent <= 1  # one call per transaction state
                await walker._load(await walker.client.get("/login/step"))
                assert upstream(simulator, "/challenge/answer") - before <= 5
            assert upstream(simulator, "/challenge/answer") - before == 5
            # The request that sent the fifth ended the transaction and said so (on every tab that
            # looked at the same moment); a fresh one began.
            assert any("Too many incorrect codes" in page for page in pages)
            assert 'name="identifier"' in walker.html


async def test_eight_identical_posts_at_once_make_one_upstream_call(instances, simulator):
    for _run in range(RUNS):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, instances), simulator)
            await walker._load(await walker.client.get("/login"))
            data = form_data(walker.html, identifier="alice@example.com")
            before = upstream(simulator, "/idp/idx/identify")
            replies = await asyncio.gather(*(walker.client.post("/login/step", data=data) for _ in range(8)))
            assert [r.status for r in replies] == [200] * 8  # each lands on the step page, none on an error
            assert upstream(simulator, "/idp/idx/identify") - before == 1
            await walker._load(await walker.client.get("/login/step"))
            assert "credentials.passcode" in walker.form().inputs  # the one that went through moved it on
