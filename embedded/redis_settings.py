"""The Redis settings read (docs/redis.md): one server, a Sentinel-managed primary or a Cluster.

redis-py reads a redis://, rediss:// or unix:// URL itself; the Sentinel and Cluster forms name
several hosts, which no URL parser takes, so they are read here:

    redis+sentinel://[USER:PASSWORD@]HOST:PORT,HOST:PORT,.../SERVICE[/DB]   (rediss+sentinel: TLS)
    redis+cluster://[USER:PASSWORD@]HOST:PORT,HOST:PORT,...                 (rediss+cluster: TLS)

Pure: config.py turns a `RedisSettingsError` into its own one-line SettingsError.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from urllib.parse import unquote

SENTINEL_PORT, REDIS_PORT = 26379, 6379
# URL scheme -> (topology, TLS)
SCHEMES = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "unix": ("single", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}


class RedisSettingsError(ValueError):
    """A malformed Redis setting: one line naming it, never a password."""


@dataclass(frozen=True)
class RedisOptions:
    """The settings beside EMBEDDED_REDIS_URL: Sentinels named one by one, Cluster mode for a
    redis:// URL, credentials and TLS files as redis-py takes them, and how a write that must
    survive a failover is confirmed by replicas."""

    sentinels: tuple[str, ...] = ()  # HOST:PORT of each Sentinel (EMBEDDED_REDIS_SENTINELS)
    service: str | None = None  # the primary's name at the Sentinels (EMBEDDED_REDIS_SERVICE)
    cluster: bool = False  # EMBEDDED_REDIS_URL names one node of a Redis Cluster
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)  # the Sentinels' own
    tls: bool = False
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # Replicas that must hold a confirmed write before the answer goes out (None: 1 on Sentinel
    # and Cluster, 0 on one server), and how long to wait for them before the 503 page.
    replicas: int | None = None
    confirm_ms: int = 1000


@dataclass(frozen=True)
class RedisTarget:
    """The shared store as the settings describe it: what `redis_store.connect` needs."""

    topology: str  # "single", "sentinel" or "cluster"
    url: str | None = None  # one server: the URL as given
    nodes: tuple[tuple[str, int], ...] = ()  # the Sentinels, or the cluster nodes to start from
    service: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    replicas: int = 0
    options: RedisOptions = RedisOptions()


def redis_target(url: str | None, options: RedisOptions) -> RedisTarget | None:
    """EMBEDDED_REDIS_URL (or EMBEDDED_REDIS_SENTINELS) with the other settings; None: no Redis."""
    if options.service and not options.sentinels:
        raise RedisSettingsError(
            "EMBEDDED_REDIS_SERVICE goes with EMBEDDED_REDIS_SENTINELS (a redis+sentinel:// URL names it in its path)"
        )
    if options.sentinels:
        if url:
            raise RedisSettingsError("set EMBEDDED_REDIS_URL or EMBEDDED_REDIS_SENTINELS, not both")
        if not options.service:
            raise RedisSettingsError("EMBEDDED_REDIS_SENTINELS needs EMBEDDED_REDIS_SERVICE, the primary's name there")
        nodes = tuple(host_port(text, SENTINEL_PORT, "EMBEDDED_REDIS_SENTINELS") for text in options.sentinels)
        target = RedisTarget("sentinel", nodes=nodes, service=options.service, tls=options.tls)
    elif url is None:
        if options.cluster:
            raise RedisSettingsError("EMBEDDED_REDIS_CLUSTER needs EMBEDDED_REDIS_URL, a node of the cluster")
        return None
    else:
        target = _from_url(url, options)
    _check(options, target.tls)
    return dataclasses.replace(
        target,
        username=options.username or target.username,
        password=options.password or target.password,
        replicas=options.replicas if options.replicas is not None else 0 if target.topology == "single" else 1,
        options=options,
    )


def _from_url(url: str, options: RedisOptions) -> RedisTarget:
    scheme, _, rest = url.partition("://")
    topology, tls = SCHEMES.get(scheme.lower() if rest else "", ("", False))
    if not topology:
        raise RedisSettingsError(
            "EMBEDDED_REDIS_URL must be a redis://, rediss://, unix://, redis+sentinel:// or redis+cluster:// URL,"
            f" got {redacted(url)!r}"
        )
    tls = tls or options.tls
    if options.cluster:
        if topology == "sentinel" or scheme == "unix":
            raise RedisSettingsError("EMBEDDED_REDIS_CLUSTER=1 needs a redis:// or rediss:// EMBEDDED_REDIS_URL")
        topology = "cluster"
    if topology == "single":
        return RedisTarget(topology, url=url, tls=tls)
    if "?" in rest or "#" in rest:
        raise RedisSettingsError(
            f"EMBEDDED_REDIS_URL: a {scheme}:// URL takes no query or fragment"
            " (passwords and TLS files have EMBEDDED_REDIS_* settings of their own)"
        )
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    default = SENTINEL_PORT if topology == "sentinel" else REDIS_PORT
    nodes = tuple(host_port(text, default, "EMBEDDED_REDIS_URL") for text in hosts.split(","))
    target = RedisTarget(topology, nodes=nodes, username=unquote(username) or None, password=unquote(password) or None)
    parts = [part for part in path.split("/") if part]
    if topology == "cluster":
        if parts not in ([], ["0"]):
            raise RedisSettingsError("EMBEDDED_REDIS_URL: a Redis Cluster has only database 0")
        return dataclasses.replace(target, tls=tls)
    service, db = (parts + ["0"])[:2] if len(parts) in (1, 2) else ("", "")
    if not service or not db.isdigit():
        raise RedisSettingsError(
            "EMBEDDED_REDIS_URL: a Sentinel URL is redis+sentinel://HOST:PORT,HOST:PORT/SERVICE or .../SERVICE/DB"
        )
    return dataclasses.replace(target, service=unquote(service), db=int(db), tls=tls)


def host_port(text: str, default: int, name: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, or HOST alone (the default port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]")
        if port and not port.startswith(":"):
            raise RedisSettingsError(f"{name}: {text!r} is not HOST:PORT")
        port = port[1:]
    else:
        host, _, port = text.partition(":")
    if not host or (port and not port.isdigit()) or not 0 < int(port or default) < 65536:
        raise RedisSettingsError(f"{name}: {text!r} is not HOST:PORT")
    return host, int(port or default)


def _check(options: RedisOptions, tls: bool) -> None:
    if options.replicas is not None and not 0 <= options.replicas <= 100:
        raise RedisSettingsError(f"EMBEDDED_REDIS_REPLICAS must be between 0 and 100, got {options.replicas}")
    if not 1 <= options.confirm_ms <= 60_000:
        raise RedisSettingsError(f"EMBEDDED_REDIS_CONFIRM_MS must be between 1 and 60000, got {options.confirm_ms}")
    files = {
        "EMBEDDED_REDIS_TLS_CA_FILE": options.tls_ca_file,
        "EMBEDDED_REDIS_TLS_CERT_FILE": options.tls_cert_file,
        "EMBEDDED_REDIS_TLS_KEY_FILE": options.tls_key_file,
    }
    for name, path in files.items():
        if path and not tls:
            raise RedisSettingsError(f"{name} needs TLS: a rediss URL, or EMBEDDED_REDIS_TLS=1")
        if path and not os.path.isfile(path):
            raise RedisSettingsError(f"{name}: no such file: {path!r}")
    if options.tls_key_file and not options.tls_cert_file:
        raise RedisSettingsError(
            "EMBEDDED_REDIS_TLS_KEY_FILE needs EMBEDDED_REDIS_TLS_CERT_FILE, the key's certificate"
        )


def redacted(url: str) -> str:
    """A URL fit for a message or a log line: whatever precedes an @ (user, password) left out."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if not sep or "@" not in netloc:
        return url
    return f"{scheme}{sep}…@{netloc.rpartition('@')[2]}{slash}{path}"
