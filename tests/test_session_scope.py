"""Issue 19, break 6: which requests read the session. Health, readiness, metrics and static
files never do, so a session cookie cannot turn them into 503 pages while Redis is down (a
host's own pages still read it before their handler, so `current_user` needs no I/O). And a
body in a Content-Encoding aiohttp does not decode is refused with 415, never read as identity."""

from __future__ import annotations

import re

import aiohttp
import pytest
from redis_server import RedisServer
from test_e2e_authenticators import Walker
from test_shared_store import Alternating, start_instances


@pytest.fixture
async def signed_in_on_redis(simulator):
    redis = RedisServer().start()
    servers, bases = await start_instances(simulator, 1, redis_url=redis.url, metrics=True)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, bases), simulator)
            await walker.begin("alice@example.com", "Alice-Passw0rd!")
            assert walker.signed_in
            yield walker, redis
    finally:
        redis.stop()
        for server in servers:
            await server.close()


async def test_probes_metrics_and_static_files_never_read_the_session(signed_in_on_redis):
    walker, redis = signed_in_on_redis
    redis.stop()
    for path in ("/healthz", "/metrics", "/static/css/embedded.css", "/static/img/logo.svg"):
        resp = await walker.client.get(path)
        assert resp.status == 200, path
    ready = await walker.client.get("/readyz")  # it pings Redis itself, and says what it found
    assert ready.status == 503 and (await ready.json())["checks"]["redis"] != "ok"
    home = await walker.client.get("/")  # a host page reads the session first: the store's 503 page
    assert home.status == 503 and "template: error.html" in await home.text()


async def test_an_unknown_content_encoding_is_refused_with_415(signed_in_on_redis):
    walker, _ = signed_in_on_redis
    await walker._load(await walker.client.get("/login"))
    data = walker.form().hidden | {"identifier": "alice@example.com"}
    body = "&".join(f"{k}={v}" for k, v in data.items())
    for coding in ("bogus", "x-compress", "identity, bogus"):
        resp = await walker.client.post(
            "/login/step",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": coding},
        )
        assert resp.status == 415, coding
    resp = await walker.client.post(
        "/login/step", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 200 and "credentials.passcode" in await resp.text()  # the same form, as sent


async def round_trips(walker) -> float:
    text = await (await walker.client.get("/metrics")).text()
    return sum(float(n) for n in re.findall(r'^embedded_redis_round_trips_total\{operation="\w+"\} (\S+)$', text, re.M))


async def test_a_password_sign_in_makes_at_most_14_round_trips_to_redis_and_a_page_view_one(simulator):
    """Issue 20: one script reads the session, counts the limits and claims it, one writes back
    and releases; a page that changed nothing writes nothing."""
    redis = RedisServer().start()
    servers, bases = await start_instances(simulator, 1, redis_url=redis.url, metrics=True)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, bases), simulator)
            before = await round_trips(walker)
            await walker.begin("alice@example.com", "Alice-Passw0rd!")
            assert walker.signed_in
            after = await round_trips(walker)
            assert after - before <= 14
            await walker._load(await walker.client.get("/"))
            assert await round_trips(walker) - after == 1
    finally:
        redis.stop()
        for server in servers:
            await server.close()
