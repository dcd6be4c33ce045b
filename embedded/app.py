"""The application factory."""

from __future__ import annotations

import secrets
from typing import AsyncIterator

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import session_middleware

from . import middlewares, rendering, views
from .config import Settings
from .idx_client import IdxClient
from .keys import AUDIT_KEY, IDX_CLIENT, IN_FLIGHT, IP_LIMITER, KEY_SET, SESSION_STORAGE, SETTINGS, TX_LIMITER
from .oidc import KeySet
from .sessions import MemoryStorage

MAX_BODY_BYTES = 32 * 1024  # sign-in forms are small; refuse anything bigger before parsing
# How to serve the app (web.run_app / AppRunner keyword arguments): an access log without query strings.
RUNNER_OPTIONS = {"access_log_class": middlewares.AccessLogger}


async def _upstream(app: web.Application) -> AsyncIterator[None]:
    """One ClientSession for the app's life, with timeouts, closed on shutdown."""
    settings = app[SETTINGS]
    timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout, connect=min(5.0, settings.upstream_timeout))
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        client = IdxClient(http, settings)
        app[IDX_CLIENT] = client
        app[KEY_SET] = KeySet(client.jwks)
        yield


def create_app(settings: Settings) -> web.Application:
    storage = MemoryStorage(
        secure=settings.secure_cookies,
        idle_seconds=settings.session_idle_minutes * 60,
        max_entries=settings.max_sessions,
        absolute_seconds=settings.session_max_hours * 3600,
    )
    # Order matters: errors (outermost) -> session -> csrf (needs the session).
    app = web.Application(
        middlewares=[middlewares.errors, session_middleware(storage), middlewares.csrf],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[SESSION_STORAGE] = storage
    # Our own limits on step submissions, checked before anything goes upstream.
    app[IP_LIMITER] = middlewares.RateLimiter(*settings.step_limit_per_ip)
    app[TX_LIMITER] = middlewares.RateLimiter(*settings.step_limit_per_transaction)
    app[IN_FLIGHT] = set()
    app[AUDIT_KEY] = settings.audit_key.encode() if settings.audit_key else secrets.token_bytes(32)
    dirs = rendering.template_dirs(settings.template_dir)
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader([str(d) for d in dirs]), autoescape=True)
    rendering.configure(env, dirs)
    app.cleanup_ctx.append(_upstream)
    app.on_response_prepare.append(middlewares.security_headers)
    views.setup_routes(app)
    app.router.add_static("/static", rendering.STATIC_DIR, name="static")
    return app
