"""Cross-cutting request handling: error pages, CSRF, security headers, the access log.

Setup order (see app.py): `errors` is outermost so every failure becomes a friendly
page; then aiohttp-session loads the session; then `csrf` checks POSTs before any view.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict, deque
from http.cookies import SimpleCookie
from typing import Callable

import aiohttp_jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp_session import get_session

from . import rendering
from .idx_client import OAuthError, UpstreamError
from .idx_models import NotAnIdxResponse
from .keys import CORRELATION, CSP_EXTRA, CSP_NONCE, NEW_DEVICE_TOKEN, SETTINGS
from .oidc import same
from .sessions import DEVICE_COOKIE_SECONDS, device_cookie_name

log = logging.getLogger("embedded")


def render_error(request: web.Request, status: int, title_key: str, **context) -> web.Response:
    """An error page that needs no session: safe to show whatever went wrong."""
    html = rendering.render(
        aiohttp_jinja2.get_env(request.app),
        "error.html",
        {"title_key": title_key, "status": status, "correlation": request.get(CORRELATION), "csp_nonce": request.get(CSP_NONCE, ""), **context},
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    request[CSP_NONCE] = secrets.token_urlsafe(18)
    request[CORRELATION] = secrets.token_hex(8)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = render_error(request, exc.status, f"error.http_{exc.status}" if exc.status in (403, 404, 405, 413) else "error.http")
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except UpstreamError as exc:
        log.warning("upstream failure %s (status %s) [%s]", exc.reason, exc.status, request[CORRELATION])
        return render_error(request, 503 if exc.status in (429, 503) or exc.reason == "timeout" else 502, "error.upstream")
    except OAuthError as exc:
        log.warning("OAuth error %r [%s]", exc.error, request[CORRELATION])
        return render_error(request, 400, "error.oauth", error_code=exc.error, error_description=exc.description)
    except NotAnIdxResponse:
        return render_error(request, 502, "error.upstream")
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error [%s]", request[CORRELATION])
        return render_error(request, 500, "error.internal")


# What browsers say about where a request came from (Fetch Metadata); absent from old browsers.
SAME_ORIGIN_SITES = ("same-origin", "none")


def cross_site(request: web.Request) -> bool:
    """A POST another site made the browser send. `Origin: null` proves nothing either way (our
    own pages send it, Referrer-Policy being no-referrer), so the token check decides then."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in SAME_ORIGIN_SITES:
        return True
    origin = request.headers.get("Origin")
    return origin not in (None, "null") and origin != request.app[SETTINGS].app_origin


@web.middleware
async def csrf(request: web.Request, handler) -> web.StreamResponse:
    """Cross-site POSTs are refused outright (Fetch Metadata, Origin); every other POST needs
    the synchronizer token: the session's `csrf` value in the `_csrf` field."""
    if request.method == "POST":
        if cross_site(request):  # decided on headers alone, before reading the body
            log.warning("cross-site POST refused [%s]", request[CORRELATION])
            return render_error(request, 403, "error.cross_site")
        session = await get_session(request)
        data = await request.post()
        if not same(data.get("_csrf"), session.get("csrf")):
            return render_error(request, 403, "error.csrf")
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[SETTINGS]
    nonce = request.get(CSP_NONCE, "")
    extra = request.get(CSP_EXTRA, {})  # a step page reaching Okta Verify on loopback, or Duo's frame
    directives = {
        "default-src": ["'none'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", *extra.get("connect-src", ())],
        # Chromium applies form-action to the redirect after a POST, and choosing an
        # identity provider posts here and is redirected to the Identity Engine.
        "form-action": ["'self'", settings.org_origin],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    if extra.get("frame-src"):
        directives["frame-src"] = list(extra["frame-src"])
    h = response.headers
    h["Content-Security-Policy"] = "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Server"] = "embedded"
    if settings.secure_cookies:
        h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if not request.path.startswith("/static/"):
        h["Cache-Control"] = "no-store"
    if NEW_DEVICE_TOKEN in request:  # this browser's id for Okta's risk engine (X-Device-Token)
        # Headers are already assembled when this hook runs, so the cookie goes in as a header.
        cookie = SimpleCookie()
        name = device_cookie_name(settings.secure_cookies)
        cookie[name] = request[NEW_DEVICE_TOKEN]
        cookie[name].update({"max-age": DEVICE_COOKIE_SECONDS, "path": "/", "httponly": True, "samesite": "Lax", "secure": settings.secure_cookies})
        h.add("Set-Cookie", cookie[name].OutputString())


class AccessLogger(AbstractAccessLogger):
    """Method, path without its query (callbacks carry codes), status, time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %s %.1fms", request.remote, request.method, request.path, response.status, time * 1000)


class RateLimiter:
    """At most `limit` hits per key in any `window` seconds (a sliding window), in memory.
    Bounded: beyond `max_keys` keys the least recently used is forgotten."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, key: str) -> float:
        """Count one hit and return 0, or, over the limit, count nothing and return the seconds to wait."""
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits.move_to_end(key)
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return 0.0
