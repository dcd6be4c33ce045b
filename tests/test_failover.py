"""Issue 21: a primary that dies mid-sign-in costs seconds, not security. The wrong code sent to
the Identity Engine is counted (reserved with the step's claim, confirmed by a replica) before
it goes, and given back only when the reply shows it was not a wrong code; a failover drill
(bench/failover.py, shortened) loses no confirmed write and keeps the cap at five; a write that
cannot be confirmed is the 503 page, never a 500 (checklist 10, 43)."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import pytest
from conftest import ROOT
from redis_server import RedisServer, SentinelDeployment
from test_e2e_authenticators import Walker
from test_sentinel import session_key
from test_shared_store import Alternating, start_instances

from embedded.keys import SESSION_STORAGE
from embedded.redis_settings import RedisOptions
from embedded.simulator.faults import Faults

sys.path.insert(0, str(ROOT / "bench"))
import failover  # noqa: E402

BOB = ("bob@example.com", "Bob-Passw0rd!")


def answers(walker: Walker) -> int:
    return sum(1 for _, path in walker.state.calls if path.endswith("/challenge/answer"))


async def test_a_short_failover_drill_loses_no_confirmed_write_and_keeps_the_cap():
    """Timing is the bench's; here: no 500, no traceback, every sign-in confirmed before the kill
    still signed in after it, no confirmed sign-out undone, five wrong codes per ended transaction."""
    report = await failover.drill(flows=12, attackers=3, sitters=6, seconds=14.0, upstream_timeout=4.0)
    assert report.problems() == [], report.text()
    assert report.http_500 == 0 and report.tracebacks == 0
    assert report.sitters_after == report.sitters == 6 and report.sessions_after == report.sessions_before >= 6
    assert report.completed > 12 and report.ended_by_cap
    assert all(report.wrong_codes[tx] == 5 for tx in report.ended_by_cap)
    assert report.pages_503 > 0 and report.first_503 is not None  # the kill was felt, and answered with 503s


async def test_a_wrong_code_counts_though_the_primary_dies_while_the_identity_engine_checks_it(simulator):
    """The code is on a replica before it goes; the primary is killed while the Identity Engine
    holds the answer back, so the request can never write back. After the failover the count is
    there on the promoted replica, and four more wrong codes end the transaction: five in all."""
    sentinels = SentinelDeployment(replicas=2).start()
    # A claim lapses 3 + 5 s after it was taken (the instance that held it cannot give it back).
    servers, bases = await start_instances(simulator, 2, redis_url=sentinels.url, upstream_timeout=3.0)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, bases), simulator)
            await walker.begin(*BOB)
            before = answers(walker)
            # Held back until well before the Sentinels can have promoted anyone (1 s to call the
            # primary down, then a vote), so the request's write-back meets no primary at all.
            walker.state.faults = Faults(latency_ms=1200, paths=["/idp/idx/challenge/answer"])
            form = walker.form()
            data = [*form.hidden.items(), ("credentials.passcode", "000001")]
            sending = asyncio.ensure_future(walker.client.post("/login/step", data=data))
            await asyncio.sleep(0.5)  # claimed, reserved and confirmed; the answer is upstream
            old = sentinels.kill_primary()
            reply = await sending
            assert reply.status == 503 and "Traceback" not in await reply.text()  # the store's page
            assert answers(walker) - before == 1
            promoted = await asyncio.to_thread(sentinels.wait_for_failover, old)
            walker.state.faults = Faults()
            with promoted.client() as client:
                assert client.hget(session_key(walker), "codes") == b"1"
                lapses = float(client.hget(session_key(walker), "_claim_until") or 0)
                now = float(client.time()[0])
            await asyncio.sleep(max(0.0, lapses - now + 0.5))  # the dead request's claim runs out
            await walker._load(await walker.client.get("/login/step"))
            for attempt in range(2, 6):
                await walker.submit(**{"credentials.passcode": f"00000{attempt}"})
            assert answers(walker) - before == 5 and walker.shows("too many")
    finally:
        for server in servers:
            await server.close()
        sentinels.stop()


async def test_a_write_no_replica_confirms_is_the_503_page_never_a_500(simulator):
    """EMBEDDED_REDIS_REPLICAS=1 on a server that has no replica: every write that carries a
    promise waits `confirm_ms` for one, then the store's 503 page; nothing else breaks."""
    alone = RedisServer().start()
    options = RedisOptions(replicas=1, confirm_ms=200)
    servers, bases = await start_instances(simulator, 1, redis_url=alone.url, redis=options)
    try:
        assert servers[0].app[SESSION_STORAGE].replicas == 1
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            resp = await http.get(bases[0] + "/login")  # a new session: a write confirmed like a sign-in
            text = await resp.text()
            assert resp.status == 503 and "template: error.html" in text and "Traceback" not in text
            healthz = await http.get(bases[0] + "/healthz")
            assert healthz.status == 200
    finally:
        await servers[0].close()
        alone.stop()


@pytest.fixture(params=["memory", "redis"])
async def bob_at_his_code(request, simulator):
    """Bob at the emailed-code step, on either store (the same semantics)."""
    changes = {}
    if request.param == "redis":
        server = RedisServer().start()
        request.addfinalizer(server.stop)
        changes["redis_url"] = server.url
    servers, bases = await start_instances(simulator, 1, **changes)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        walker = Walker(Alternating(http, bases), simulator)
        await walker.begin(*BOB)
        assert "credentials.passcode" in walker.form().inputs
        yield walker, servers[0].app[SESSION_STORAGE]
    await servers[0].close()


async def stored_codes(walker: Walker, storage) -> str | None:
    record = await storage.read(session_key(walker).removeprefix("embedded:s:{").removesuffix("}"))
    return record.fields.get("codes") if record else None


async def test_an_answer_that_is_not_a_wrong_code_gives_its_reservation_back(bob_at_his_code):
    walker, storage = bob_at_his_code
    assert await stored_codes(walker, storage) is None  # identify and password: reserved, then given back
    await walker.submit(**{"credentials.passcode": "000000"})
    assert await stored_codes(walker, storage) == "1"


async def test_an_answer_whose_fate_is_unknown_stays_counted_and_one_okta_refused_unchecked_does_not(
    bob_at_his_code,
):
    """The connection dropped with the answer on its way: the Identity Engine may have checked
    it, so it counts (four more wrong codes end the transaction). Okta's 429 says it checked
    nothing: that one is given back."""
    walker, storage = bob_at_his_code
    before = answers(walker)
    walker.state.faults = Faults(next=["429"], paths=["/idp/idx/challenge/answer"])
    await walker.submit(**{"credentials.passcode": "000001"})
    assert await stored_codes(walker, storage) is None
    walker.state.faults = Faults(next=["drop"], paths=["/idp/idx/challenge/answer"])
    await walker.client.post("/login/step", data=[*walker.form().hidden.items(), ("credentials.passcode", "000002")])
    assert await stored_codes(walker, storage) == "1"
    await walker._load(await walker.client.get("/login/step"))
    for attempt in range(3, 7):
        await walker.submit(**{"credentials.passcode": f"00000{attempt}"})
    assert walker.shows("too many")
    assert answers(walker) - before == 6  # the 429, the dropped one, and four checked


async def test_a_cap_whose_ending_a_failover_lost_still_ends_the_transaction(bob_at_his_code):
    """The fifth wrong code is counted (confirmed) before it goes, but the write that ends the
    transaction after it is not waited for: a failover can bring back the transaction with its
    five codes. Nothing more is sent for it; the next answer ends it."""
    walker, storage = bob_at_his_code
    key = session_key(walker)
    if hasattr(storage, "client"):
        await storage.client.hset(key, "codes", "5")
    else:
        storage._data[key.removeprefix("embedded:s:{").removesuffix("}")].fields["codes"] = "5"
    before = answers(walker)
    await walker.submit(**{"credentials.passcode": "000009"})
    assert answers(walker) == before and walker.shows("too many") and 'name="identifier"' in walker.html
