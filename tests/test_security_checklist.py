"""The rest of ../shared/security-checklist.md: each test names the property number it proves."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from conftest import ISSUER, hidden, identify_and_password, own, post_step, serve, shared, sign_in, start
from embedded.keys import SESSION_STORAGE


def session_cookie(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))["embedded"].value


def signed_in(html: str) -> bool:
    return "Alice Anders" in html


# --- 24: idle and absolute session lifetimes ----------------------------------------------


async def test_24_idle_and_absolute_timeouts_are_enforced_server_side(client, org):
    storage = client.server.app[SESSION_STORAGE]
    clock = [1000.0]
    storage._clock = lambda: clock[0]

    # Idle: an hour without a request ends the session.
    await sign_in(client, org)
    clock[0] += 59 * 60
    assert signed_in(await (await client.get("/")).text())
    clock[0] += 61 * 60
    stale = session_cookie(client)
    assert not signed_in(await (await client.get("/")).text())
    # Replaying the expired cookie later finds nothing either.
    resp = await client.get("/", cookies={"embedded": stale})
    assert not signed_in(await resp.text())

    # Absolute: a request every 50 minutes does not keep a session alive past 12 hours.
    client.session.cookie_jar.clear()
    await sign_in(client, org)
    cookie = session_cookie(client)
    for _ in range(14):  # 11 h 40 min
        clock[0] += 50 * 60
        assert signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())
    clock[0] += 50 * 60  # 12 h 30 min after sign-in
    assert not signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())
    assert not signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())


async def test_24_the_absolute_lifetime_is_a_setting(aiohttp_client, settings, org):
    client = await serve(aiohttp_client, dataclasses.replace(settings, session_max_hours=1))
    storage = client.server.app[SESSION_STORAGE]
    assert storage.absolute_seconds == 3600
    clock = [0.0]
    storage._clock = lambda: clock[0]
    await sign_in(client, org)
    clock[0] += 30 * 60
    assert signed_in(await (await client.get("/")).text())
    clock[0] += 31 * 60
    assert not signed_in(await (await client.get("/")).text())
