"""Shared state on Redis (docs/redis.md), so any number of app processes serve any request of
any session: sessions with their step claims, and rate limits. One server, a primary with
replicas behind Sentinel, or a Redis Cluster.

Keys are namespaced (`embedded:` by default) and expire on their own: a session with its idle
lifetime, a limit's state once it no longer holds anyone back. A request costs at most two round
trips: one script reads the session, counts its limits and claims it (`BEGIN`), one writes back
and releases (`COMMIT`); a page that changed nothing writes nothing. Every script is timed by the
Redis server's clock, so every instance agrees. The session's bookkeeping lives in its own hash
beside its fields (names starting with `_`), so one script touches one key for it.

On a Cluster every key one script touches must share a hash slot: a session's key carries its id
as a hash tag (`embedded:s:{ID}`), and a client address's limits carry the address
(`embedded:rl:ip:{ADDRESS}`), so the limits of one request share a slot, but not the session's:
there they are counted on their own node while `BEGIN` runs on the session's.

A failover loses no security promise: replication is asynchronous, so a write the primary took
may be missing on the replica promoted in its place. The writes that carry a promise (the wrong
code reserved with a claim, a new session such as a completed sign-in, a deleted one such as a
sign-out) are followed, in the same pipeline on the same connection, by `WAIT` for `replicas`
replicas; fewer in time is `StoreUnavailable` (the 503 page), and the answer never goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio.cluster import ClusterNode, PipelineCommand, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError

from .ratelimit import Rate
from .redis_clients import REDIS_SECONDS, Client, Script, StoreUnavailable, run
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
local function joined(fields)
  if not fields then return '' end
  return table.concat(fields, '\\0')
end
"""
# KEYS[1] session; ARGV: idle ms, absolute s. A live record's fields, counting the read as activity.
READ = (
    PRELUDE
    + """
local fields = live(KEYS[1], tonumber(ARGV[2]))
if fields then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return joined(fields)
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
    local tat = tonumber((k > 1 and redis.call('GET', KEYS[k]))
      or (k == 1 and redis.call('HGET', KEYS[1], '_tat')) or '0')
    local next, wait = gcra(tat, interval, tolerance)
    if wait > 0 then return {'limited', tostring(wait), i, joined(fields)} end
    if k == 1 then
      redis.call('HSET', KEYS[1], '_tat', string.format('%.6f', next))
    else
      redis.call('SET', KEYS[k], string.format('%.6f', next), 'PX', math.ceil((next - now) * 1000) + 1)
    end
  end
end
if not fields then return {'ok', '0', -1, ''} end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if ARGV[3] == '' then return {'ok', '0', -1, joined(fields)} end
local holder = redis.call('HGET', KEYS[1], '_claim')
if holder == ARGV[3] then return {'ok', '0', -1, joined(fields)} end
if holder and tonumber(redis.call('HGET', KEYS[1], '_claim_until')) > now then
  return {'busy', '0', -1, joined(fields)}
end
redis.call('HSET', KEYS[1], '_claim', ARGV[3], '_claim_until', string.format('%.6f', now + tonumber(ARGV[4]) / 1000))
redis.call('HINCRBY', KEYS[1], 'codes', 1)
return {'ok', '0', -1, joined(redis.call('HGETALL', KEYS[1]))}
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
# KEYS: limit keys (one hash slot); ARGV: interval s and tolerance s for each. Counts them in
# order, stopping at the first refused: {-1, '0'}, or {its index from 0, the seconds to wait}.
LIMITS = (
    PRELUDE
    + """
for i = 1, #KEYS do
  local next, wait = gcra(tonumber(redis.call('GET', KEYS[i]) or '0'), tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i]))
  if wait > 0 then return {i - 1, tostring(wait)} end
  redis.call('SET', KEYS[i], string.format('%.6f', next), 'PX', math.ceil((next - now) * 1000) + 1)
end
return {-1, '0'}
"""
)
COMMITTED = {1: Committed.WRITTEN, -1: Committed.STALE, 0: Committed.GONE}


Observer = Callable[[str], None]  # told the name of each round trip to Redis (metrics)


def ignore(_: str) -> None:
    pass


def _rate_args(rate: Rate) -> list[str]:
    return [repr(rate.interval), repr(rate.tolerance)]


def _record(joined: bytes | None) -> Record | None:
    """A record as the scripts return it: its names and values in one string, each ended by a NUL
    (one bulk reply: redis-py's Python parser pays per element, and a record has dozens)."""
    if not joined:
        return None
    flat = joined.decode().split("\x00")
    pairs = dict(zip(flat[::2], flat[1::2], strict=True))
    fields = {k: v for k, v in pairs.items() if not k.startswith("_")}
    return Record(float(pairs.get("_created", "0")), fields, int(pairs.get("_v", "0")))


def _nul_free(values: list[Any]) -> list[Any]:
    """`values` to write, none holding a NUL, which ends a name or value in a record's reply. The
    package writes none (JSON texts escape it, and an Identity Engine's text with one is no JSON)."""
    if any("\x00" in v for v in values if isinstance(v, str)):
        raise ValueError("a session field's name or value holds a NUL")
    return values


def limit_key(prefix: str, key: str) -> str:
    """A limit's key, NAME:SUBJECT, with the subject (a client address) as its hash tag, so one
    request's limits share a slot on a Cluster."""
    name, _, subject = key.partition(":")
    return f"{prefix}{name}:{{{subject}}}"


class RedisStorage(SessionStore):
    """Sessions on Redis. `replicas`: how many replicas confirm a write that must survive a
    failover (0: none are waited for, as on one server), within `confirm_ms`."""

    def __init__(
        self,
        client: Client,
        *,
        secure: bool,
        idle_seconds: int,
        absolute_seconds: float,
        claim_seconds: float = 30.0,
        namespace: str = "embedded",
        observe: Observer = ignore,
        replicas: int = 0,
        confirm_ms: int = 1000,
    ):
        super().__init__(
            secure=secure, idle_seconds=idle_seconds, absolute_seconds=absolute_seconds, claim_seconds=claim_seconds
        )
        self.client = client
        self.cluster = isinstance(client, RedisCluster)
        self.observe = observe  # one call per round trip: a script, a command, a pipeline
        self.replicas = replicas
        self.confirm_ms = confirm_ms
        self.seconds = REDIS_SECONDS + confirm_ms / 1000  # a round trip's deadline, a WAIT's included
        self.prefix = f"{namespace}:s:"
        self.limit_prefix = f"{namespace}:rl:"
        self._read, self._begin, self._create, self._commit, self._limits = map(
            Script, (READ, BEGIN, CREATE, COMMIT, LIMITS)
        )

    @property
    def idle_ms(self) -> int:
        return int(self.idle_seconds * 1000)

    def session_key(self, key: str) -> str:
        return f"{self.prefix}{{{key}}}"

    async def read(self, key: str) -> Record | None:
        self.observe("read")
        return _record(await self._run(self._read, [self.session_key(key)], [self.idle_ms, self.absolute_seconds]))

    async def begin(self, key: str | None, hits: Sequence[Hit], claim: str | None) -> Opened:
        by_address = [hit for hit in hits if hit.key is not None]
        if not self.cluster or not by_address:
            return await self._open(key, hits, claim)
        # On a Cluster a client address's limits live in another slot than the session: they
        # are counted on their own node while BEGIN runs on the session's (one round trip of
        # waiting, two calls), and what BEGIN took is given back if one of them refuses.
        keys = [limit_key(self.limit_prefix, hit.key) for hit in by_address if hit.key is not None]
        self.observe("limits")
        counting = self._run(self._limits, keys, [x for hit in by_address for x in _rate_args(hit.rate)])
        if key is None:
            (index, wait), opened = await counting, Opened(None)
        else:
            own = [hit for hit in hits if hit.key is None]
            (index, wait), opened = await asyncio.gather(counting, self._open(key, own, claim))
        if int(index) < 0:
            return opened
        if key is not None and opened.claimed and opened.record is not None:
            await self.commit(key, opened.record.version, {}, set(), release=claim, codes=0, returned=opened.reserved)
        return Opened(opened.record, wait=float(wait), limited=by_address[int(index)].name)

    async def _open(self, key: str | None, hits: Sequence[Hit], claim: str | None) -> Opened:
        keys = [self.session_key(key) if key else self.prefix]  # no cookie: a key no session has
        args: list[Any] = [self.idle_ms, self.absolute_seconds, claim or "", int(self.claim_seconds * 1000), len(hits)]
        for hit in hits:
            if hit.key is not None:
                keys.append(limit_key(self.limit_prefix, hit.key))
            args += [1 if hit.key is None else len(keys), *_rate_args(hit.rate)]
        self.observe("begin")
        if claim is not None and key is not None and self.replicas:
            # The claim reserves a wrong code: confirmed before any answer can go out.
            reply, confirmed = await self._confirmed(keys[0], self._begin, keys, args)
        else:
            reply, confirmed = await self._run(self._begin, keys, args), True
        status, wait, index, flat = reply
        record = _record(flat) if key else None
        if status == b"limited":
            return Opened(record, wait=float(wait), limited=hits[int(index)].name)
        claimed = status == b"ok" and claim is not None and record is not None
        if claimed and not confirmed:
            assert key is not None and record is not None
            await self.commit(key, record.version, {}, set(), release=claim, codes=0, returned=1)
            raise StoreUnavailable(f"no replica confirmed a claim within {self.confirm_ms} ms")
        return Opened(record, claimed=claimed, reserved=1 if claimed else 0)

    async def create(self, key: str, fields: Fields) -> None:
        self.observe("create")
        keys, args = [self.session_key(key)], [self.idle_ms, *_nul_free([x for kv in fields.items() for x in kv])]
        await self._write(keys[0], self._create, keys, args)

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
        args += _nul_free([*[x for kv in plain.items() for x in kv], *gone, *[x for kv in guarded.items() for x in kv]])
        args += guarded_gone
        self.observe("commit")
        keys = [self.session_key(key)]
        # A wrong code counted here (none was reserved for it) is confirmed like a reserved one.
        result = (
            await self._write(keys[0], self._commit, keys, args) if codes else await self._run(self._commit, keys, args)
        )
        return COMMITTED[int(result)]

    async def delete(self, key: str) -> None:
        self.observe("delete")
        await self._write(self.session_key(key), None, [self.session_key(key)], [])

    def _run(self, script: Script, keys: list[str], args: list[Any]) -> Awaitable[Any]:
        return run(self.client, script, keys, args, self.seconds)

    async def _write(self, key: str, script: Script | None, keys: list[str], args: list[Any]) -> Any:
        """A write that must survive a failover: `script` (None: DEL `keys`), confirmed."""
        if not self.replicas:
            if script is not None:
                return await self._run(script, keys, args)
            try:
                async with asyncio.timeout(self.seconds):
                    return await self.client.delete(*keys)
            except (RedisError, TimeoutError) as exc:
                raise StoreUnavailable(type(exc).__name__) from None
        reply, confirmed = await self._confirmed(key, script, keys, args)
        if not confirmed:
            raise StoreUnavailable(f"no replica confirmed a write within {self.confirm_ms} ms")
        return reply

    async def _confirmed(self, key: str, script: Script | None, keys: list[str], args: list[Any]) -> tuple[Any, bool]:
        """Run `script` (None: DEL `keys`) and, right after it on the same connection, WAIT for the
        replicas: (its reply, whether enough of them had it in time)."""
        command = ("DEL", *keys) if script is None else ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            async with asyncio.timeout(self.seconds):
                for _ in range(2):  # once more after loading a script the server did not have
                    reply, acked = await (self._on_node(key, command) if self.cluster else self._on_primary(command))
                    if not isinstance(reply, NoScriptError) or script is None:
                        break
                    await (
                        self._node(key).execute_command("SCRIPT", "LOAD", script.text)
                        if self.cluster
                        else self.client.script_load(script.text)
                    )
        except (RedisError, TimeoutError) as exc:
            if self.cluster:  # the slot may have moved, or its node died: learn the map afresh
                await self._refresh()
            raise StoreUnavailable(type(exc).__name__) from None
        if isinstance(reply, Exception):
            if self.cluster:
                await self._refresh()
            raise StoreUnavailable(type(reply).__name__)
        return reply, isinstance(acked, int) and acked >= self.replicas

    async def _on_primary(self, command: tuple[Any, ...]) -> list[Any]:
        # One pipeline is one connection; a retry sends both commands again, together.
        pipe = self.client.pipeline(transaction=False)
        pipe.execute_command(*command)
        pipe.execute_command("WAIT", self.replicas, self.confirm_ms)
        return await pipe.execute(raise_on_error=False)

    def _node(self, key: str) -> ClusterNode:
        assert isinstance(self.client, RedisCluster)
        node = self.client.get_node_from_key(key)
        if node is None:
            raise RedisConnectionError("no node serves the slot")
        return node

    async def _on_node(self, key: str, command: tuple[Any, ...]) -> list[Any]:
        # The cluster client's own pipeline may send a retried command elsewhere than its WAIT:
        # both go here on one connection to the node that serves the key's slot, or neither.
        assert isinstance(self.client, RedisCluster)
        await self.client.initialize()
        sent = [PipelineCommand(0, *command), PipelineCommand(1, "WAIT", self.replicas, self.confirm_ms)]
        await self._node(key).execute_pipeline(sent)
        return [each.result for each in sent]

    async def _refresh(self) -> None:
        assert isinstance(self.client, RedisCluster)
        with contextlib.suppress(RedisError):  # if it fails, the next request tries again
            await self.client.nodes_manager.initialize()

    async def count(self) -> int:
        return sum([1 async for _ in self.client.scan_iter(match=self.prefix + "*", count=1000)])


class RedisLimiter:
    """`Rate(limit, window)` per key, shared by every instance (a limit `begin` does not count)."""

    def __init__(
        self,
        client: Client,
        name: str,
        limit: int,
        window: float,
        namespace: str = "embedded",
        observe: Observer = ignore,
    ):
        self.rate = Rate(limit, window)
        self.name = name
        self.observe = observe
        self.prefix = f"{namespace}:rl:"
        self.client = client
        self._limits = Script(LIMITS)

    async def check(self, key: str) -> float:
        self.observe("limit")
        keys = [limit_key(self.prefix, f"{self.name}:{key}")]
        _, wait = await run(self.client, self._limits, keys, _rate_args(self.rate), REDIS_SECONDS)
        return float(wait)
