"""Operations: liveness and readiness probes, Prometheus metrics, the request context for log
lines, and an access log that leaves the probes out.

`setup()` registers `/healthz` and `/readyz` at the application's root, outside the package's
prefix (`setup(..., health=False)` leaves them to the host), and `/metrics` when metrics are on
without a port of their own.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from .. import metrics as prometheus
from ..idx_client import UpstreamError
from ..keys import IDX_CLIENT, SESSION_STORAGE, SETTINGS, config
from ..logformat import CURRENT_REQUEST, one_line
from ..metrics import METRICS, Metrics
from ..ratelimit import Limiter
from ..redis_store import RedisStorage
from ..sessions import MemoryStorage, SessionStore
from ..transaction import SESSION_FIELD
from .middlewares import AccessLogger as PageAccessLogger

log = logging.getLogger("embedded")

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNTIMED_ROUTES = frozenset(
    {"embedded.static", "embedded.theme_static", "embedded.healthz", "embedded.readyz", "embedded.metrics"}
)
READY_TIMEOUT = 3.0  # seconds a readiness probe waits for Redis or the Identity Engine
COUNT_SECONDS = 10.0  # a scrape's SCAN of the session keys: past this, the figure is skipped, not waited on
# While the Identity Engine cannot be checked, probes reuse the last failure for this long: a load
# balancer polling every instance, or anyone hammering /readyz, costs at most one fetch in it.
READY_RETRY = 5.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- probes ------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    """Alive: the event loop answers. No I/O."""
    return web.Response(text="ok\n")


class Readiness:
    """The Identity Engine half of readiness, fetched in a task of its own: a probe that gives
    up waiting does not cancel the fetch, so the next probe finds it done. A failed fetch is
    the answer for READY_RETRY seconds after it failed; only then does a probe start another."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.task: asyncio.Task[None] | None = None
        self.clock = clock
        self.failed_at = -math.inf

    def identity_engine(self, request: web.Request) -> Awaitable[None]:
        task = self.task
        if task is None or (self.failed(task) and self.clock() - self.failed_at >= READY_RETRY):
            task = self.task = asyncio.ensure_future(config(request)[IDX_CLIENT].ready())
            task.add_done_callback(self.finished)
        return asyncio.shield(task)

    @staticmethod
    def failed(task: asyncio.Task[None]) -> bool:
        return task.done() and (task.cancelled() or task.exception() is not None)

    def finished(self, task: asyncio.Task[None]) -> None:
        if self.failed(task):  # which also retrieves the exception, even if no probe waits for it
            self.failed_at = self.clock()

    async def cancel(self, _: web.Application) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


READINESS = web.AppKey("embedded.readiness", Readiness)


async def readyz(request: web.Request) -> web.Response:
    """Ready to serve sign-ins: Redis answers a PING (when configured), and the Identity Engine's
    discovery document and signing keys have been fetched (once: after that, a blip at Okta
    does not take every instance out of the load balancer)."""
    checks: dict[str, str] = {}
    storage = config(request)[SESSION_STORAGE]
    if isinstance(storage, RedisStorage):
        checks["redis"] = await _check(storage.client.ping())
    checks["identity_engine"] = await _check(config(request)[READINESS].identity_engine(request))
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
    )


async def _check(call: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(call, READY_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except UpstreamError as exc:
        return exc.reason
    except Exception as exc:  # noqa: BLE001 - a probe reports, it never fails
        return type(exc).__name__
    return "ok"


# --- metrics -----------------------------------------------------------------------------


async def count_transactions(storage: SessionStore) -> int | None:
    """Sessions with a sign-in transaction under way: exact in memory; on Redis a SCAN of the
    session keys (approximate while keys change during it). None for another store."""
    if isinstance(storage, MemoryStorage):
        return sum(1 for fields in storage.records() if SESSION_FIELD in fields)
    if not isinstance(storage, RedisStorage):
        return None
    count, batch = 0, []
    async for key in storage.client.scan_iter(match=storage.prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            count += await _with_transaction(storage, batch)
            batch = []
    return count + (await _with_transaction(storage, batch) if batch else 0)


async def _with_transaction(storage: RedisStorage, keys: list[bytes]) -> int:
    pipe = storage.client.pipeline(transaction=False)
    for key in keys:
        pipe.hexists(key, SESSION_FIELD)
    return sum(1 for found in await pipe.execute() if found)


def metrics_handler(app: web.Application) -> Handler:
    async def serve_metrics(request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(COUNT_SECONDS):  # the Redis client's commands have no deadline of their own
                active = await count_transactions(app[SESSION_STORAGE])
        except Exception as exc:  # noqa: BLE001 - the rest of the metrics are still worth a scrape
            log.warning("active transactions not counted: %s", type(exc).__name__)
        else:
            if active is not None:
                app[METRICS].active.set(active)
        body, content_type = prometheus.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    return serve_metrics


def metrics_listener(host: str, port: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context serving /metrics on a listener of its own. Under gunicorn the first
    worker to bind the port serves it (every worker's figures with PROMETHEUS_MULTIPROC_DIR)."""

    async def listen(app: web.Application) -> AsyncIterator[None]:
        side = web.Application()
        side.router.add_get("/metrics", metrics_handler(app))
        runner = web.AppRunner(side, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            log.info("metrics port %s:%d not bound here (%s): another worker serves it", host, port, exc.strerror)
        yield
        await runner.cleanup()

    return listen


class CountedLimiter:
    """A limiter whose refusals are counted, by the limit's name."""

    def __init__(self, inner: Limiter, name: str, metrics: Metrics):
        self.inner, self.name, self.metrics = inner, name, metrics

    async def check(self, key: str) -> float:
        wait = await self.inner.check(key)
        if wait:
            self.metrics.refusal(self.name)
        return wait


# --- every request -----------------------------------------------------------------------


@web.middleware
async def ops_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost of the package's middlewares: log lines made while handling the request know
    it (its correlation id), and the package's own routes are timed when metrics are on."""
    token = CURRENT_REQUEST.set(request)
    started = time.monotonic()
    try:
        return await handler(request)
    finally:
        CURRENT_REQUEST.reset(token)
        name = request.match_info.route.name
        if (
            name
            and name.startswith("embedded.")
            and name not in UNTIMED_ROUTES
            and (metrics := config(request).get(METRICS)) is not None
        ):
            metrics.step(name.removeprefix("embedded."), request.method, time.monotonic() - started)


class AccessLogger(PageAccessLogger):
    """The package's access log (method, path without its query, status, time), with the probes
    and scrapes at DEBUG so they never fill the INFO log. The path is the client's: escaped in
    the message itself (`one_line`), so the line stays one even under a host's own formatter
    (the JSON format's `http` field keeps it as sent, JSON escapes it)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.path
        level = logging.DEBUG if path in HEALTH_PATHS else logging.INFO
        if self.logger.isEnabledFor(level):
            remote, method, status, ms = request.remote, request.method, response.status, time * 1000
            http = {"remote": remote, "method": method, "path": path, "status": status, "ms": round(ms, 1)}
            self.logger.log(
                level,
                "%s %s %s %s %.1fms",
                one_line(str(remote)),  # a host's proxy middleware may set it from a header
                method,
                one_line(path),
                status,
                ms,
                extra={"http": http},
            )


def add_health(app: web.Application) -> None:
    app[READINESS] = readiness = Readiness()
    app.on_cleanup.append(readiness.cancel)
    app.router.add_get("/healthz", healthz, name="embedded.healthz")
    app.router.add_get("/readyz", readyz, name="embedded.readyz")


def add_metrics(app: web.Application, metrics: Metrics) -> None:
    """Count (audit events, upstream calls, timed routes, limits) and serve the figures."""
    app[METRICS] = metrics
    listen = app[SETTINGS].metrics_listen
    if listen is None:
        app.router.add_get("/metrics", metrics_handler(app), name="embedded.metrics")
    else:
        app.cleanup_ctx.append(metrics_listener(*listen))
