"""Clients for the shared store as the Redis settings describe it (`redis_settings`): one server,
the primary of a Sentinel-managed deployment, or a Redis Cluster; and one round trip on them."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .redis_settings import RedisTarget, redacted

Client = redis.Redis | RedisCluster
# How long Redis has to connect, or to answer a store's round trip (a WAIT's own wait on top).
REDIS_SECONDS = 2.0


class StoreUnavailable(Exception):
    """The shared store could not be reached, or could not confirm a write that must survive a
    failover; the request is answered with a 503 page."""


class Script:
    """A Lua script, run by its SHA1 (EVALSHA) and loaded where the server does not have it."""

    def __init__(self, text: str):
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


async def run(client: Client, script: Script, keys: list[str], args: list[Any], seconds: float) -> Any:
    """One round trip: `script` over `keys` and `args`, answered within `seconds` or
    StoreUnavailable. The deadline is the call's own, not the client's `socket_timeout`, which
    would wrap every command's write in a task of its own (a sixth of a round trip's CPU)."""
    try:
        async with asyncio.timeout(seconds):
            try:
                return await client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
            except NoScriptError:  # a restarted or newly promoted server: load it, then again
                await client.script_load(script.text)
                return await client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    except (RedisError, TimeoutError) as exc:
        raise StoreUnavailable(type(exc).__name__) from None


def connect(target: RedisTarget) -> tuple[Client, Callable[[], Awaitable[None]]]:
    """A client for the primary (found again through the Sentinels, or the cluster's map, after a
    failover), and how to close it."""
    options = target.options
    # Short timeouts: a Redis that does not answer is reported, not waited on (beyond a WAIT).
    # A store's round trip carries its own deadline (`run` above): no `socket_timeout`
    # here, which would cost every command's write a task of its own. Two quick retries on a
    # broken connection, so a restarted Redis or a failover that is over costs nobody a 503 page
    # (a script run again finds what its first run did: see BEGIN).
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": REDIS_SECONDS,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
    }
    kwargs.update((k, v) for k, v in (("username", target.username), ("password", target.password)) if v)
    tls = {
        "ssl_ca_certs": options.tls_ca_file,
        "ssl_certfile": options.tls_cert_file,
        "ssl_keyfile": options.tls_key_file,
    }
    kwargs.update((k, v) for k, v in tls.items() if v)
    if target.topology == "cluster":
        nodes = [ClusterNode(host, port) for host, port in target.nodes]
        cluster = RedisCluster(startup_nodes=nodes, ssl=target.tls, **kwargs)
        return cluster, cluster.aclose
    kwargs["retry_on_error"] = [RedisConnectionError, RedisTimeoutError]
    if target.topology == "single":
        assert target.url is not None
        url = "rediss" + target.url[5:] if target.tls and target.url.startswith("redis:") else target.url
        client = redis.Redis.from_url(url, **kwargs)
        return client, client.aclose
    # The Sentinels' own connections: the same sockets and TLS, their own password.
    watching: dict[str, Any] = {k: v for k, v in kwargs.items() if k.startswith(("socket_", "ssl_"))}
    watching.update(socket_timeout=REDIS_SECONDS, ssl=target.tls)
    watching.update({"password": options.sentinel_password} if options.sentinel_password else {})
    sentinel = Sentinel(target.nodes, sentinel_kwargs=watching)
    assert target.service is not None
    primary = sentinel.master_for(target.service, db=target.db, ssl=target.tls, **kwargs)

    async def close() -> None:
        await primary.aclose()
        await sentinel.aclose()

    return primary, close


def describe(target: RedisTarget) -> str:
    """Where the store is, for the start-up log (no password)."""
    if target.topology == "single":
        return redacted(target.url or "")
    nodes = ", ".join(f"{host}:{port}" for host, port in target.nodes)
    if target.topology == "cluster":
        return f"a Redis Cluster (from {nodes})"
    return f"the primary {target.service!r} of the Sentinels at {nodes}"
