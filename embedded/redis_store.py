"""Shared state on a Redis server (EMBEDDED_REDIS_URL), so any number of app processes serve
any request of any session: sessions with their step claims, and rate limits.

Keys are namespaced (`embedded:` by default) and expire on their own: a session with its idle
lifetime, a limit's state once it no longer holds anyone back. A request costs at most two round
trips: one script reads the session, counts its limits and claims it (`BEGIN`), one writes back
and releases (`COMMIT`); a page that changed nothing writes nothing. Every script is timed by the
Redis server's clock, so every instance agrees. The session's bookkeeping lives in its own hash
beside its fields (names starting with `_`), so one script touches one key for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .ratelimit import Rate
from .sessions import GUARDED, Committed, Fields, Hit, Opened, Record, SessionStore

# Shared by the scripts below: the server's time in seconds, and one GCRA hit against a
# theoretical arrival time (returns the new one and 0, or the old one and the seconds to wait).
PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local function gcra(tat, interval, tolerance)
  if tat < now then tat = now end
  if tat - now > tolerance then return tat, tat - now - tolerance end
  return tat + interval, 0
end
local function live(key, absolute)
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then return nil end
  if now - tonumber(redis.call('HGET', key, '_created') or '0') > absolute then
    redis.call('DEL', key)
    return nil
  end
  return fields
end
"""
# KEYS[1] session; ARGV: idle ms, absolute s. A live record's fields, counting the read as activity.
READ = (
    PRELUDE
    + """
local fields = live(KEYS[1], tonumber(ARGV[2]))
if fields then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return fields
"""
)
# KEYS[1] session, KEYS[2..] limit keys; ARGV: idle ms, absolute s, claim token ('' for none),
# claim ms, number of hits, then per hit: key index (1: the session's own limit), interval s,
# tolerance s. Returns {status, wait, limit index, fields}: status 'ok', 'busy' or 'limited'.
# Taking the claim reserves a wrong code (see `sessions`); a claim already under this token is
# this call run again (a retry after a lost reply), which counts nothing more.
BEGIN = (
    PRELUDE
    + """
local fields = live(KEYS[1], tonumber(ARGV[2]))
for i = 0, tonumber(ARGV[5]) - 1 do
  local k, interval, tolerance = tonumber(ARGV[6 + 3 * i]), tonumber(ARGV[7 + 3 * i]), tonumber(ARGV[8 + 3 * i])
  if k > 1 or fields then
    local tat = tonumber((k > 1 and redis.call('GET', KEYS[k])) or (k == 1 and redis.call('HGET', KEYS[1], '_tat')) or '0')
    local next, wait = gcra(tat, interval, tolerance)
    if wait > 0 then return {'limited', tostring(wait), i, fields or {}} end
    if k == 1 then
      redis.call('HSET', KEYS[1], '_tat', string.format('%.6f', next))
    else
      redis.call('SET', KEYS[k], string.format('%.6f', next), 'PX', math.ceil((next - now) * 1000) + 1)
    end
  end
end
if not fields then return {'ok', '0', -1, {}} end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if ARGV[3] == '' then return {'ok', '0', -1, fields} end
local holder = redis.call('HGET', KEYS[1], '_claim')
if holder == ARGV[3] then return {'ok', '0', -1, fields} end
if holder and tonumber(redis.call('HGET', KEYS[1], '_claim_until')) > now then return {'busy', '0', -1, fields} end
redis.call('HSET', KEYS[1], '_claim', ARGV[3], '_claim_until', string.format('%.6f', now + tonumber(ARGV[4]) / 1000))
redis.call('HINCRBY', KEYS[1], 'codes', 1)
return {'ok', '0', -1, redis.call('HGETALL', KEYS[1])}
"""
)
# KEYS[1] session; ARGV: idle ms, then field/value pairs. A new record.
CREATE = (
    PRELUDE
    + """
redis.call('HSET', KEYS[1], '_created', string.format('%.6f', now), '_v', '0', unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
)
# KEYS[1] session; ARGV: idle ms, version read, claim token to release ('' for none), codes to
# add, reserved codes to give back with the claim, then four counts (fields to set, to delete,
# guarded fields to set, guarded to delete) and the names (and values) in that order. 1 written,
# -1 stale (guarded fields left), 0 gone.
COMMIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], '_v') or '0') == tonumber(ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[1], 'codes', ARGV[4]) end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], '_claim') == ARGV[3] then
  if current and tonumber(ARGV[5]) > 0 and redis.call('HINCRBY', KEYS[1], 'codes', -tonumber(ARGV[5])) <= 0 then
    redis.call('HDEL', KEYS[1], 'codes')
  end
  redis.call('HDEL', KEYS[1], '_claim', '_claim_until')
end
local set, del, gset, gdel = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local at = 10
if set > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, at, at + 2 * set - 1)) end
at = at + 2 * set
if del > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, at, at + del - 1)) end
at = at + del
local result = 1
if gset + gdel > 0 then
  if not current then
    result = -1
  else
    if gset > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, at, at + 2 * gset - 1)) end
    at = at + 2 * gset
    if gdel > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, at, at + gdel - 1)) end
    redis.call('HINCRBY', KEYS[1], '_v', 1)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return result
"""
# KEYS[1] limit; ARGV: interval s, tolerance s. "0", or the seconds to wait.
HIT = (
    PRELUDE
    + """
local next, wait = gcra(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], string.format('%.6f', next), 'PX', math.ceil((next - now) * 1000) + 1)
return '0'
"""
)
COMMITTED = {1: Committed.WRITTEN, -1: Committed.STALE, 0: Committed.GONE}


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


Observer = Callable[[str], None]  # told the name of each round trip to Redis (metrics)


def ignore(_: str) -> None:
    pass


async def run(script: Any, keys: list[str], args: list[Any]) -> Any:
    try:
        return await script(keys=keys, args=args)
    except RedisError as exc:
        raise StoreUnavailable(type(exc).__name__) from None


def _rate_args(rate: Rate) -> list[str]:
    return [repr(rate.interval), repr(rate.tolerance)]


def _record(flat: list[bytes]) -> Record | None:
    if not flat:
        return None
    pairs = {k.decode(): v.decode() for k, v in zip(flat[::2], flat[1::2], strict=True)}
    fields = {k: v for k, v in pairs.items() if not k.startswith("_")}
    return Record(float(pairs.get("_created", "0")), fields, int(pairs.get("_v", "0")))


class RedisStorage(SessionStore):
    def __init__(
        self,
        client: redis.Redis,
        *,
        secure: bool,
        idle_seconds: int,
        absolute_seconds: float,
        claim_seconds: float = 30.0,
        namespace: str = "embedded",
        observe: Observer = ignore,
    ):
        super().__init__(
            secure=secure, idle_seconds=idle_seconds, absolute_seconds=absolute_seconds, claim_seconds=claim_seconds
        )
        self.client = client
        self.observe = observe  # one call per round trip: a script, a command
        self.prefix = f"{namespace}:s:"
        self.limit_prefix = f"{namespace}:rl:"
        self._read, self._begin, self._create, self._commit = (
            client.register_script(s) for s in (READ, BEGIN, CREATE, COMMIT)
        )

    @property
    def idle_ms(self) -> int:
        return int(self.idle_seconds * 1000)

    def session_key(self, key: str) -> str:
        return self.prefix + key

    async def read(self, key: str) -> Record | None:
        self.observe("read")
        return _record(await run(self._read, [self.session_key(key)], [self.idle_ms, self.absolute_seconds]))

    async def begin(self, key: str | None, hits: Sequence[Hit], claim: str | None) -> Opened:
        keys = [self.session_key(key) if key else self.prefix]  # no cookie: a key no session has
        args: list[Any] = [self.idle_ms, self.absolute_seconds, claim or "", int(self.claim_seconds * 1000), len(hits)]
        for hit in hits:
            if hit.key is not None:
                keys.append(self.limit_prefix + hit.key)
            args += [1 if hit.key is None else len(keys), *_rate_args(hit.rate)]
        self.observe("begin")
        status, wait, index, flat = await run(self._begin, keys, args)
        record = _record(flat) if key else None
        if status == b"limited":
            return Opened(record, wait=float(wait), limited=hits[int(index)].name)
        claimed = status == b"ok" and claim is not None and record is not None
        return Opened(record, claimed=claimed, reserved=1 if claimed else 0)

    async def create(self, key: str, fields: Fields) -> None:
        self.observe("create")
        await run(self._create, [self.session_key(key)], [self.idle_ms, *[x for kv in fields.items() for x in kv]])

    async def commit(
        self,
        key: str,
        version: int,
        changed: Fields,
        removed: set[str],
        *,
        release: str | None,
        codes: int,
        returned: int = 0,
    ) -> Committed:
        if not changed and not removed and release is None and not codes:
            return Committed.WRITTEN
        plain = {k: v for k, v in changed.items() if k not in GUARDED}
        guarded = {k: v for k, v in changed.items() if k in GUARDED}
        gone, guarded_gone = sorted(removed - GUARDED), sorted(removed & GUARDED)
        args = [self.idle_ms, version, release or "", codes, returned]
        args += [len(plain), len(gone), len(guarded), len(guarded_gone)]
        args += [*[x for kv in plain.items() for x in kv], *gone, *[x for kv in guarded.items() for x in kv]]
        args += guarded_gone
        self.observe("commit")
        return COMMITTED[int(await run(self._commit, [self.session_key(key)], args))]

    async def delete(self, key: str) -> None:
        self.observe("delete")
        try:
            await self.client.delete(self.session_key(key))
        except RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from None

    async def count(self) -> int:
        return sum([1 async for _ in self.client.scan_iter(match=self.prefix + "*", count=1000)])


class RedisLimiter:
    """`Rate(limit, window)` per key, shared by every instance (a limit `begin` does not count)."""

    def __init__(
        self,
        client: redis.Redis,
        name: str,
        limit: int,
        window: float,
        namespace: str = "embedded",
        observe: Observer = ignore,
    ):
        self.rate = Rate(limit, window)
        self.observe = observe
        self.prefix = f"{namespace}:rl:{name}:"
        self._hit = client.register_script(HIT)

    async def check(self, key: str) -> float:
        self.observe("limit")
        return float(cast(bytes, await run(self._hit, [self.prefix + key], _rate_args(self.rate))))
