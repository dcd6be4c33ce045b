"""`embedded.setup(app, settings, prefix=...)`: the package's routes, middlewares and resources
added to a host's aiohttp application."""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import jinja2
from aiohttp import web

from .. import metrics, redis_clients, redis_store, rendering, themes
from ..config import Settings, SettingsError
from ..idx_client import IdxClient
from ..keys import (
    AUDIT_KEY,
    IDX_CLIENT,
    KEY_SET,
    LIMITS,
    REPORT_LIMITER,
    SESSION_STORAGE,
    SETTINGS,
    TEMPLATES,
    URLS,
)
from ..metrics import METRICS
from ..oidc import KeySet
from ..ratelimit import Limiter, Rate, RateLimiter
from ..sessions import MemoryStorage
from ..urls import PATHS, STATIC, Urls, normalise_prefix
from .logs import quiet_client_faults
from .middlewares import pages_middleware, security_headers, sessions_middleware
from .ops import AccessLogger, CountedLimiter, add_health, add_metrics, ops_middleware
from .routes import add_routes

log = logging.getLogger("embedded")

REPORT_LIMIT = (30, 60.0)  # CSP reports per address: a page breaks a few rules at a time; a flood is not a report
# How to serve an app (web.run_app / AppRunner keyword arguments): an access log without query
# strings, and probes only at DEBUG.
RUNNER_OPTIONS = {"access_log_class": AccessLogger}


async def _upstream(app: web.Application) -> AsyncIterator[None]:
    """One ClientSession for the app's life, with timeouts, closed on shutdown."""
    settings = app[SETTINGS]
    timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout, connect=min(5.0, settings.upstream_timeout))
    observe = app[METRICS].upstream if METRICS in app else None
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        client = IdxClient(http, settings, observe=observe)
        app[IDX_CLIENT] = client
        app[KEY_SET] = KeySet(client.jwks)
        yield
    log.info("stopped: connections to the Identity Engine closed")


async def _mounted_urls(app: web.Application) -> None:
    """URLs as really mounted (a sub-application adds its own prefix), once routes are frozen."""
    login = str(app.router["embedded.login"].url_for())
    urls = Urls(base=login[: -len(PATHS["login"])], home=app[URLS].home)
    if urls.callback != urlsplit(app[SETTINGS].redirect_uri).path:
        raise SettingsError(f"OKTA_IDX_REDIRECTURI must point at {urls.callback}, where the callback is mounted")
    app[URLS] = urls
    app[TEMPLATES] = _templates(app[SETTINGS], urls)
    try:
        rendering.warm(app[TEMPLATES])
    except jinja2.TemplateSyntaxError as exc:
        raise SettingsError(f"{exc.filename or exc.name}, line {exc.lineno}: {exc.message}") from None


def _templates(settings: Settings, urls: Urls) -> jinja2.Environment:
    # One environment per process for each theme chain and mount point, shared by every app.
    return rendering.create_env(settings.theme_chain, urls=urls, reload=settings.template_reload)


class ThemeStatic(web.StaticResource):
    """The themes' static files, served before the built-in ones under the same URL: this
    resource answers only for a file one of the themes has (child first), and every other path
    falls through to the built-in static resource registered after it."""

    def __init__(self, prefix: str, roots: Sequence[Path]):
        super().__init__(prefix, roots[0], name="embedded.theme_static")
        self.roots = roots

    async def resolve(self, request: web.Request) -> tuple[web.UrlMappingMatchInfo | None, set[str]]:
        match, allowed = await super().resolve(request)
        if match is None or themes.static_file(self.roots, match["filename"]) is None:
            return None, set()
        return match, allowed

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        found = themes.static_file(self.roots, request.match_info["filename"])
        if found is None:  # removed since it was resolved
            raise web.HTTPNotFound()
        return web.FileResponse(found)


async def _stopping(app: web.Application) -> None:
    log.info("stopping: no new connections; requests in flight may finish before the connections close")


def add_stores(app: web.Application, settings: Settings) -> None:
    """Sessions (with their step claims and the limits counted as they are opened) and the CSP
    report limit: in memory, or on Redis when configured."""
    idle, absolute = settings.session_idle_minutes * 60, settings.session_max_hours * 3600
    # A claim outlives the longest Identity Engine call its holder can wait for.
    claim_seconds = settings.upstream_timeout + 5
    app[LIMITS] = {
        "ip": Rate(*settings.step_limit_per_ip),
        "tx": Rate(*settings.step_limit_per_transaction),
        "login": Rate(*settings.login_limit_per_ip),
    }
    target = settings.redis_target
    if target is None:
        app[SESSION_STORAGE] = MemoryStorage(
            secure=settings.secure_cookies,
            idle_seconds=idle,
            absolute_seconds=absolute,
            claim_seconds=claim_seconds,
            max_entries=settings.max_sessions,
        )
        app[REPORT_LIMITER] = _counted(app, "report", RateLimiter(*REPORT_LIMIT))
        return
    client, close_client = redis_clients.connect(target)
    observe = app[METRICS].redis_round_trip if METRICS in app else redis_store.ignore
    app[SESSION_STORAGE] = redis_store.RedisStorage(
        client,
        secure=settings.secure_cookies,
        idle_seconds=idle,
        absolute_seconds=absolute,
        claim_seconds=claim_seconds,
        observe=observe,
        replicas=target.replicas,
        confirm_ms=target.options.confirm_ms,
    )
    report_limiter = redis_store.RedisLimiter(client, "report", *REPORT_LIMIT, observe=observe)
    app[REPORT_LIMITER] = _counted(app, "report", report_limiter)
    confirmed = f"writes confirmed by {target.replicas} replica(s)" if target.replicas else "no replica confirmation"
    log.info("sessions on Redis: %s; %s", redis_clients.describe(target), confirmed)

    async def close(_: web.Application) -> None:
        await close_client()
        log.info("stopped: Redis connections closed")

    app.on_cleanup.append(close)


def _counted(app: web.Application, name: str, limiter: Limiter) -> Limiter:
    return CountedLimiter(limiter, name, app[METRICS]) if METRICS in app else limiter


def setup(
    app: web.Application,
    settings: Settings,
    *,
    prefix: str = "/auth",
    home: str = "/",
    health: bool = True,
    theme_dirs: Sequence[str | Path] | None = None,
) -> None:
    """Add sign-in (login, step, poll, callback, register, recover, unlock, activate,
    reset-password, logout) and its static files under `prefix` ("" for the root), with the
    session, CSRF and security-header machinery they need. `home` is the host's page people
    land on after sign-out, or after sign-in when they were not on their way somewhere.
    `health`: `/healthz` and `/readyz` at the application's root (False: the host has its own).
    With `settings.metrics` or `settings.metrics_listen`, Prometheus metrics are counted and
    served at `/metrics` (or on that listener). `theme_dirs`: theme directories, child first,
    in place of the settings' own (docs/theming.md)."""
    if theme_dirs is not None:
        if (why := themes.chain_problem(theme_dirs, "theme_dirs")) is not None:
            raise SettingsError(why)  # named as the caller gave it, not as the environment would
        settings = dataclasses.replace(settings, theme_dirs=tuple(str(d) for d in theme_dirs), template_dir=None)
    try:
        prefix = normalise_prefix(prefix)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    urls = Urls(base=prefix, home=home)
    if urlsplit(settings.redirect_uri).path != urls.callback:
        raise SettingsError(
            f"OKTA_IDX_REDIRECTURI must end in {urls.callback} (the callback under the prefix "
            f"{prefix or '/'!r}), got {settings.redirect_uri!r}"
        )
    app[SETTINGS] = settings
    app[URLS] = urls
    if settings.metrics or settings.metrics_listen:
        add_metrics(app, metrics.get())
    add_stores(app, settings)
    app[AUDIT_KEY] = settings.audit_key.encode() if settings.audit_key else secrets.token_bytes(32)
    # The package's own Jinja environment, under its own key: a host's aiohttp_jinja2 setup stays its own.
    app[TEMPLATES] = _templates(settings, urls)
    app.middlewares.extend([ops_middleware, sessions_middleware, pages_middleware])
    quiet_client_faults()
    app.on_response_prepare.append(security_headers)
    app.on_startup.append(_mounted_urls)
    app.cleanup_ctx.append(_upstream)
    if theme_static := themes.static_dirs(themes.chain(settings.theme_chain)):
        app.router.register_resource(ThemeStatic(prefix + STATIC, theme_static))
    add_routes(app, prefix, settings.mode)
    app.on_shutdown.append(_stopping)
    if health:
        add_health(app)
