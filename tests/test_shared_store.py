"""Issue 11: many instances on one Redis. Two app instances share a real redis-server, and
requests alternate between them; the same attacks run against the in-memory store too."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import demo_settings, doc
from pages import read
from prometheus_client import REGISTRY
from redis_server import RedisServer, free_port
from test_e2e_authenticators import Walker

from embedded.demo import create_app
from embedded.keys import SESSION_STORAGE
from embedded.web.setup import RUNNER_OPTIONS


@pytest.fixture
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.stop()


class Alternating:
    """A browser whose requests go to each app instance in turn (one cookie jar: same host)."""

    def __init__(self, session: aiohttp.ClientSession, bases: list[str]):
        self.session = session
        self.bases = bases
        self._next = itertools.cycle(bases)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else next(self._next) + path

    def get(self, path: str, **kwargs):
        return self.session.get(self._url(path), **kwargs)

    def post(self, path: str, **kwargs):
        return self.session.post(self._url(path), **kwargs)


async def start_instances(simulator, count: int, **changes) -> tuple[list[TestServer], list[str]]:
    servers, bases = [], []
    for _ in range(count):
        port = free_port()
        settings = dataclasses.replace(
            demo_settings(simulator.port, redirect_uri=f"http://127.0.0.1:{port}/login/callback"), **changes
        )
        server = TestServer(create_app(settings), host="127.0.0.1", port=port)
        await server.start_server(**RUNNER_OPTIONS)
        servers.append(server)
        bases.append(f"http://127.0.0.1:{port}")
    return servers, bases


@pytest.fixture
async def two_on_redis(simulator, redis_url):
    servers, bases = await start_instances(simulator, 2, redis_url=redis_url)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Walker(Alternating(http, bases), simulator), servers
    for server in servers:
        await server.close()


async def test_two_instances_share_a_sign_in_with_mfa_and_its_sign_out(two_on_redis):
    walker, servers = two_on_redis
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    await walker.submit(**{"credentials.passcode": (await walker.outbox("bob@example.com", "email"))["code"]})
    assert walker.signed_in
    for _ in range(2):  # both instances know who this is
        assert 'data-claim="email">bob@example.com<' in await (await walker.client.get("/")).text()
    csrf = read(walker.html).forms[-1].hidden["_csrf"]
    await walker._load(await walker.client.post("/logout", data={"_csrf": csrf}))
    for _ in range(2):
        assert 'data-claim="email"' not in await (await walker.client.get("/")).text()
    assert all(server.app[SESSION_STORAGE].__class__.__name__ == "RedisStorage" for server in servers)


async def test_registration_and_recovery_alternate_between_instances(two_on_redis):
    walker, _ = two_on_redis
    await walker._load(await walker.client.get("/recover"))
    await walker.submit(identifier="alice@example.com")
    if walker.form().name.startswith("select-authenticator"):
        await walker.choose("Email")
    await walker.submit(**{"credentials.passcode": (await walker.outbox("alice@example.com", "email"))["code"]})
    assert "credentials.passcode" in walker.form().inputs  # the new password
    await walker.submit(**{"credentials.passcode": "Blue-Harbour-77", "confirmPassword": "Blue-Harbour-77"})
    assert walker.signed_in or walker.shows("sign in")
    assert walker.state.org.user("alice@example.com").password == "Blue-Harbour-77"
    walker.client.session.cookie_jar.clear()
    await walker._load(await walker.client.get("/register"))
    await walker.submit(
        **{
            "userProfile.firstName": "Sol",
            "userProfile.lastName": "Shared",
            "userProfile.email": "sol@example.com",
            "credentials.passcode": "Green-Meadow-42x",
        }
    )
    for _ in range(4):
        if walker.signed_in:
            break
        if "credentials.passcode" in walker.form().inputs:
            await walker.submit(**{"credentials.passcode": (await walker.outbox("sol@example.com", "email"))["code"]})
        elif any(f.name == "skip" for f in read(walker.html).forms):
            await walker.submit("skip")
        else:
            await walker.choose("Email")
    assert walker.signed_in


async def test_the_five_codes_cap_holds_across_instances(two_on_redis):
    walker, _ = two_on_redis
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    answers = lambda: [p for _, p in walker.state.calls if p.endswith("/challenge/answer")]  # noqa: E731
    before = len(answers())
    for attempt in range(5):
        await walker.submit(**{"credentials.passcode": f"00000{attempt}"})
    assert len(answers()) - before == 5 and walker.shows("too many")


async def test_rate_limits_are_shared_by_instances(simulator, redis_url):
    servers, bases = await start_instances(
        simulator, 2, redis_url=redis_url, login_limit_per_ip=(5, 60.0)
    )  # a burst of 3
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            client = Alternating(http, bases)
            statuses = [(await client.get("/login", allow_redirects=False)).status for _ in range(4)]
        assert statuses == [303, 303, 303, 429]
    finally:
        for server in servers:
            await server.close()


async def test_redis_stopped_mid_flow_is_a_friendly_503_and_back_it_signs_in(simulator):
    redis = RedisServer().start()
    servers, bases = await start_instances(simulator, 1, redis_url=redis.url, metrics=True)

    def unavailable() -> float:
        return REGISTRY.get_sample_value("embedded_store_unavailable_total") or 0.0

    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, bases), simulator)
            await walker._load(await walker.client.get("/login"))
            port = redis.port
            redis.stop()
            before = unavailable()
            for path in ("/login/step", "/", "/login"):
                resp = await walker.client.get(path)
                text = await resp.text()
                assert resp.status == 503 and "Traceback" not in text and "template: error.html" in text
            assert unavailable() - before == 3  # a counter to alert on
            redis.port = port
            redis.start()
            http.cookie_jar.clear()
            await walker.begin("alice@example.com", "Alice-Passw0rd!")
            assert walker.signed_in
    finally:
        redis.stop()
        for server in servers:
            await server.close()


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_a_slow_body_cannot_roll_back_the_wrong_code_count(simulator, redis_url, store):
    """Hold half of a wrong-code POST, make four more wrong-code posts, then finish the first:
    it must not write back the count it read when it started (it finds its page out of date),
    so the next wrong code is the fifth and ends the transaction."""
    servers, bases = await start_instances(simulator, 1, **({"redis_url": redis_url} if store == "redis" else {}))
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, bases), simulator)
            await walker.begin("bob@example.com", "Bob-Passw0rd!")
            form = walker.form()
            cookie = next(c.value for c in http.cookie_jar if c.key == "embedded")
            body = "&".join(f"{k}={v}" for k, v in {**form.hidden, "credentials.passcode": "999999"}.items()).encode()
            port = urlsplit(bases[0]).port
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST /login/step HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: embedded={cookie}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body[:10]
            )
            await writer.drain()
            for attempt in range(4):
                await walker.submit(**{"credentials.passcode": f"00000{attempt}"})
            writer.write(body[10:])
            await writer.drain()
            head = (await asyncio.wait_for(reader.read(), 10)).decode("latin-1")
            writer.close()
            assert " 303 " in head.split("\r\n")[0] and "Location: /login/step\r\n" in head  # out of date: nothing sent
            await walker._load(await walker.client.get("/login/step"))
            await walker.submit(**{"credentials.passcode": "000004"})
            assert walker.path == "/login/step" and walker.shows("too many")
    finally:
        for server in servers:
            await server.close()


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_anonymous_traffic_creates_no_state_and_cannot_evict_a_signed_in_user(simulator, redis_url, store):
    changes = {"max_sessions": 20} | ({"redis_url": redis_url} if store == "redis" else {})
    servers, bases = await start_instances(simulator, 1, **changes)
    storage = servers[0].app[SESSION_STORAGE]
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, bases), simulator)
            await walker.begin("alice@example.com", "Alice-Passw0rd!")
            assert walker.signed_in
            async with aiohttp.ClientSession() as stranger:  # no cookies kept: every request is new
                for path in ("/", "/nope", "/login/step", "/login/poll", "/static/css/embedded.css") * 40:
                    async with stranger.get(bases[0] + path, allow_redirects=False) as resp:
                        assert resp.status < 500 and "embedded=" not in resp.headers.get("Set-Cookie", "")
            count = len(storage) if store == "memory" else await storage.count()
            assert count == 1
            assert 'data-claim="email">alice@example.com<' in await (await walker.client.get("/")).text()
    finally:
        for server in servers:
            await server.close()


async def test_a_record_comes_back_whole_whatever_its_values_hold(redis_url):
    """A record travels from Redis as one string, its names and values each ended by a NUL: values
    holding anything else (quotes, backslashes, line breaks, U+2028, an empty one, a stored IDX
    text) come back as written, from a read and from a claim; a NUL, which the package never
    writes (JSON escapes it), is refused before anything is written."""
    import redis.asyncio

    from embedded.redis_store import RedisStorage

    client = redis.asyncio.Redis.from_url(redis_url)
    store = RedisStorage(client, secure=False, idle_seconds=60, absolute_seconds=3600)
    fields = {"idx": json.dumps(doc("identify")), "odd": '"\\\n\u2028é', "empty": "", "csrf": "t" * 43}
    try:
        await store.create("one", fields)
        record = await store.read("one")
        assert record is not None and record.fields == fields and record.version == 0
        opened = await store.begin("one", [], "claim-token")
        assert opened.claimed and opened.record is not None and opened.record.fields == {**fields, "codes": "1"}
        with pytest.raises(ValueError, match="NUL"):
            await store.create("two", {"a\x00b": "1"})
        assert await store.read("two") is None
    finally:
        await client.aclose()


async def test_a_redis_that_stops_answering_is_store_unavailable_within_the_deadline_and_then_serves_again():
    """Each round trip has its own deadline (the client has no socket timeout): a Redis that
    hangs (SIGSTOP) makes every kind of call StoreUnavailable (the 503 page) within it, and the
    connections it abandoned are not reused, so once Redis answers again each reply is the one
    asked for. A server without the scripts (SCRIPT FLUSH, as after a restart) gets them again."""
    import signal
    import time

    import redis.asyncio

    from embedded.redis_clients import StoreUnavailable
    from embedded.redis_store import RedisLimiter, RedisStorage
    from embedded.sessions import Hit

    server = RedisServer().start()
    client = redis.asyncio.Redis.from_url(server.url)
    store = RedisStorage(client, secure=False, idle_seconds=60, absolute_seconds=3600)
    limiter = RedisLimiter(client, "report", 5, 60.0)
    try:
        await store.create("one", {"csrf": '"one"'})
        await store.create("two", {"csrf": '"two"'})
        store.seconds = 0.5
        server.process.send_signal(signal.SIGSTOP)
        try:
            calls = {
                "read": store.read("one"),
                "begin": store.begin("one", [Hit("step", None, limiter.rate)], "claim"),
                "commit": store.commit("one", 0, {"csrf": '"x"'}, set(), release=None, codes=0),
                "create": store.create("three", {"csrf": '"three"'}),
                "delete": store.delete("two"),
            }
            for name, call in calls.items():
                started = time.monotonic()
                with pytest.raises(StoreUnavailable):
                    await call
                assert time.monotonic() - started < 1.5, name
        finally:
            server.process.send_signal(signal.SIGCONT)
        # A write that timed out may still land once Redis runs again (as with any deadline):
        # what matters is that each reply now answers its own call.
        await store.create("four", {"csrf": '"four"'})
        four, one = await store.read("four"), await store.read("one")
        assert four is not None and four.fields == {"csrf": '"four"'}
        assert one is not None and one.fields["csrf"] in ('"one"', '"x"')
        await client.script_flush()
        assert (await store.read("one")) is not None and await limiter.check("1.2.3.4") == 0.0
    finally:
        await client.aclose()
        server.stop()
