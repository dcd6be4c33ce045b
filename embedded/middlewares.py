"""Cross-cutting request handling: error pages, CSRF, security headers, the access log.

Setup order (see app.py): `errors` is outermost so every failure becomes a friendly
page; then aiohttp-session loads the session; then `csrf` checks POSTs before any view.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from http.cookies import SimpleCookie

import aiohttp_jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp_session import get_session

from . import rendering
from .idx_client import OAuthError, UpstreamError
from .idx_models import NotAnIdxResponse
from .keys import CSP_EXTRA, CSP_NONCE, NEW_DEVICE_TOKEN, SETTINGS
from .oidc import same
from .sessions import DEVICE_COOKIE_SECONDS, device_cookie_name

log = logging.getLogger("embedded")

CORRELATION = web.RequestKey("correlation", str)


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
        log.warning("OAuth error %s [%s]", exc.error, request[CORRELATION])
        return render_error(request, 400, "error.oauth", error_code=exc.error, error_description=exc.description)
    except NotAnIdxResponse:
        return render_error(request, 502, "error.upstream")
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error [%s]", request[CORRELATION])
        return render_error(request, 500, "error.internal")


@web.middleware
async def csrf(request: web.Request, handler) -> web.StreamResponse:
    """A synchronizer token on every POST: the session's `csrf` value in the `_csrf` field."""
    if request.method == "POST":
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
