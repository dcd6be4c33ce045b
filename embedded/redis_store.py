"""Shared state on a Redis server (EMBEDDED_REDIS_URL), so any number of app processes serve
any request of any session: sessions, rate limits and the one-step-in-flight lock.

Keys are namespaced (`embedded:` by default) and expire on their own: a session with its idle
lifetime, a rate-limit window with the window, a lock after a bounded time. Each update is one
atomic script, timed by the Redis server's clock so every instance agrees.
"""

from __future__ import annotations

import secrets
from typing import Any, cast

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .sessions import Fields, SessionStore

CREATED = "_created"  # a record's birth, in the Redis server's seconds

# KEYS[1] session; ARGV: idle ms, absolute s. A live record's fields (and its birth), counting the read as activity.
READ = """
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return nil end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local created = tonumber(redis.call('HGET', KEYS[1], '_created') or '0')
if now - created > tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return nil end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return fields
"""
# KEYS[1] session; ARGV: idle ms, then field/value pairs. A new record.
CREATE = """
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], '_created', tostring(tonumber(t[1]) + tonumber(t[2]) / 1e6), unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS[1] session; ARGV: idle ms, count of fields to set, their name/value pairs, then names to delete.
UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n)) end
if #ARGV > 2 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + 2 * n)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS[1] window; ARGV: window s, limit, a unique member. "0", or the seconds to wait.
HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return '0'
"""


class StoreUnavailable(Exception):
    """The shared store could not be reached; the request is answered with a 503 page."""


def connect(url: str) -> redis.Redis:
    # Short timeouts: a Redis that does not answer is reported, not waited on. Two quick retries
    # on a broken connection, so a restarted Redis costs nobody a 503 page.
    return redis.Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


class RedisStorage(SessionStore):
    def __init__(
        self,
        client: redis.Redis,
        *,
        secure: bool,
        idle_seconds: int,
        absolute_seconds: float,
        namespace: str = "embedded",
    ):
        super().__init__(secure=secure, idle_seconds=idle_seconds, absolute_seconds=absolute_seconds)
        self.client = client
        self.prefix = f"{namespace}:s:"
        self._read, self._create, self._update = (client.register_script(s) for s in (READ, CREATE, UPDATE))

    @property
    def idle_ms(self) -> int:
        return int(self.idle_seconds * 1000)

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from None

    async def read(self, key: str) -> tuple[float, Fields] | None:
        flat = await self._run(self._read, [self.prefix + key], [self.idle_ms, self.absolute_seconds])
        if not flat:
            return None
        pairs = dict(zip(flat[::2], flat[1::2], strict=True))
        decoded = {k.decode(): v.decode() for k, v in pairs.items()}
        created = float(decoded.pop(CREATED, "0"))
        return created, decoded

    async def create(self, key: str, fields: Fields) -> None:
        await self._run(self._create, [self.prefix + key], [self.idle_ms, *[x for kv in fields.items() for x in kv]])

    async def update(self, key: str, changed: Fields, removed: set[str]) -> bool:
        if not changed and not removed:
            return True
        args = [self.idle_ms, len(changed), *[x for kv in changed.items() for x in kv], *sorted(removed)]
        return bool(await self._run(self._update, [self.prefix + key], args))

    async def delete(self, key: str) -> None:
        try:
            await self.client.delete(self.prefix + key)
        except RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from None

    async def count(self) -> int:
        return sum([1 async for _ in self.client.scan_iter(match=self.prefix + "*", count=1000)])


class RedisLimiter:
    """At most `limit` hits per key in any `window` seconds, shared by every instance."""

    def __init__(self, client: redis.Redis, name: str, limit: int, window: float, namespace: str = "embedded"):
        self.limit, self.window = limit, window
        self.prefix = f"{namespace}:rl:{name}:"
        self._hit = client.register_script(HIT)

    async def check(self, key: str) -> float:
        try:
            wait = await self._hit(keys=[self.prefix + key], args=[self.window, self.limit, secrets.token_hex(8)])
        except RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from None
        return float(cast(bytes, wait))


class RedisInFlight:
    """One thing at a time per key across instances; a claim lapses after `ttl_seconds` even if
    its holder died, so a crashed instance never locks a transaction for good."""

    def __init__(self, client: redis.Redis, ttl_seconds: float, namespace: str = "embedded"):
        self.client = client
        self.ttl_ms = int(ttl_seconds * 1000)
        self.prefix = f"{namespace}:busy:"

    async def claim(self, key: str) -> bool:
        try:
            return bool(await self.client.set(self.prefix + key, b"1", nx=True, px=self.ttl_ms))
        except RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from None

    async def release(self, key: str) -> None:
        try:
            await self.client.delete(self.prefix + key)
        except RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from None
