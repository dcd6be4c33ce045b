"""Cross-cutting request handling: the package's session, error pages, CSRF, security headers
and the access log.

Order (see `setup`): `sessions` loads this browser's session for every request, so a host's own
handlers can ask `current_user`; `pages` wraps only the package's own routes, turning every
failure into a friendly page and checking POSTs before any handler.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..idx_client import OAuthError, UpstreamError
from ..idx_models import NotAnIdxResponse
from ..keys import CORRELATION, CSP_EXTRA, CSP_NONCE, NEW_DEVICE_TOKEN, OURS, SETTINGS, URLS, config
from ..metrics import METRICS
from ..oidc import same
from ..redis_clients import StoreUnavailable
from ..sessions import DEVICE_COOKIE_SECONDS, device_cookie_name
from ..urls import PATHS
from . import session as sessions
from .guard import is_ours
from .respond import render_error

log = logging.getLogger("embedded")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Sign-in forms are small: a bigger POST to the package's routes is refused before it is read
# (per route, since the host's own limit for its uploads is the application's).
MAX_BODY_BYTES = 16 * 1024
# Every form the package renders is url-encoded; anything else is refused before it is parsed.
FORM_TYPE = "application/x-www-form-urlencoded"
# The Content-Encodings aiohttp decodes for a request body (anything else is refused with 415).
READABLE_CODINGS = frozenset({"identity", "gzip", "deflate", "br", "zstd"})
# Posts that may call the Identity Engine for the transaction: their session is opened after the
# body is read, with these limits counted and the record claimed, in one store call.
POST_LIMITS = {"embedded.step": ("ip", "tx")}


def claims(request: web.Request) -> bool:
    return request.match_info.route.name in POST_LIMITS


@web.middleware
async def sessions_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Save the package's session after any handler that read it, on every route, and read it
    first for a host's own routes (so `current_user` needs no I/O). When the shared store is
    down, the answer is a 503 page, whoever's route it is."""
    try:
        if not reads_session_itself(request):
            await sessions.load_if_present(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # a host's handler may raise its redirect
            await sessions.save(request, exc)
            raise
        if not response.prepared:
            await sessions.save(request, response)
        return response
    except StoreUnavailable as exc:
        log.warning("session store unavailable: %s", exc)
        if (metrics := config(request).get(METRICS)) is not None:
            metrics.store_unavailable.inc()
        request[OURS] = True
        request.setdefault(CSP_NONCE, secrets.token_urlsafe(18))
        return render_error(request, 503, "error.store")


# The package's routes that read the session when (and as) they need it, and those that never do.
SESSION_ON_DEMAND = frozenset(f"embedded.{name}" for name in (*PATHS, "healthz", "readyz", "metrics", "theme_static"))


def reads_session_itself(request: web.Request) -> bool:
    route = request.match_info.route
    return route.name in SESSION_ON_DEMAND or isinstance(route.resource, web.StaticResource)


def serves(request: web.Request) -> bool:
    """The package's own routes, and unknown paths under its prefix (they get its 404 page)."""
    if is_ours(request):
        return True
    base = config(request)[URLS].base
    return isinstance(request.match_info.http_exception, web.HTTPException) and (
        request.path == base or request.path.startswith(base + "/")
    )


@web.middleware
async def pages_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not serves(request):
        return await handler(request)
    request[OURS] = True
    request[CSP_NONCE] = secrets.token_urlsafe(18)
    request[CORRELATION] = secrets.token_hex(8)
    try:
        # Violation reports come from the browser itself, with no form and no token.
        if (
            request.method == "POST"
            and request.match_info.route.name != "embedded.csp_report"
            and (refused := await check_post(request)) is not None
        ):
            return refused
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = render_error(
            request, exc.status, f"error.http_{exc.status}" if exc.status in (403, 404, 405, 413) else "error.http"
        )
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except UpstreamError as exc:
        log.warning("upstream failure %s (status %s) [%s]", exc.reason, exc.status, request[CORRELATION])
        return render_error(
            request, 503 if exc.status in (429, 503) or exc.reason == "timeout" else 502, "error.upstream"
        )
    except OAuthError as exc:
        log.warning("OAuth error %r [%s]", exc.error, request[CORRELATION])
        return render_error(request, 400, "error.oauth", error_code=exc.error, error_description=exc.description)
    except NotAnIdxResponse:
        return render_error(request, 502, "error.upstream")
    except (asyncio.CancelledError, StoreUnavailable):
        raise  # the shared store being down is the sessions middleware's 503 page, not a bug
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
    return origin not in (None, "null") and origin != config(request)[SETTINGS].app_origin


async def check_post(request: web.Request) -> web.Response | None:
    """Cross-site POSTs are refused outright (Fetch Metadata, Origin); every other POST needs
    the synchronizer token: the session's `csrf` value in the `_csrf` field."""
    if cross_site(request):  # decided on headers alone, before reading the body
        log.warning("cross-site POST refused [%s]", request[CORRELATION])
        return render_error(request, 403, "error.cross_site")
    # Browsers send a form's length; without one (chunked) the size could not be known in advance.
    if (request.content_length is None and request.body_exists) or (request.content_length or 0) > MAX_BODY_BYTES:
        return render_error(request, 413, "error.http_413")
    if request.body_exists and request.content_type != FORM_TYPE:
        return render_error(request, 415, "error.bad_request")
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in READABLE_CODINGS:
        # aiohttp reads a coding it does not know as identity; a sender that meant one gets a 415.
        return render_error(request, 415, "error.bad_request")
    try:
        data = await request.post()
    except Exception as exc:  # noqa: BLE001 - any body the parser cannot read is the sender's fault
        log.warning("unreadable POST body refused: %s [%s]", type(exc).__name__, request[CORRELATION])
        refused = render_error(request, 400, "error.bad_request")
        refused.force_close()  # the rest of the body cannot be read either: this connection is done
        return refused
    await sessions.open_step(request, *POST_LIMITS.get(request.match_info.route.name or "", ()), claim=claims(request))
    session = await sessions.get_session(request)
    token = data.get("_csrf")
    if not same(token if isinstance(token, str) else None, session.get("csrf")):
        return render_error(request, 403, "error.csrf")
    return None


NONCE_SLOT = "\x00nonce\x00"


def _frozen(extra: dict[str, Any] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((k, tuple(v)) for k, v in extra.items()) if extra else ()


@functools.lru_cache(maxsize=64)
def content_security_policy(org_origin: str, report_uri: str, extra: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """The policy, with a slot for the response's nonce: the same for every page but those that
    reach further (Okta Verify on loopback, Duo's frame), so it is written once for each."""
    more = dict(extra)  # a step page reaching Okta Verify on loopback, or Duo's frame
    directives = {
        "default-src": ["'none'"],
        "script-src": ["'self'", f"'nonce-{NONCE_SLOT}'", *more.get("script-src", ())],
        "style-src": ["'self'", *more.get("style-src", ())],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", *more.get("connect-src", ())],
        # Chromium applies form-action to the redirect after a POST, and choosing an
        # identity provider posts here and is redirected to the Identity Engine.
        "form-action": ["'self'", org_origin],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
        # report-uri alone: with report-to beside it Chromium switches to the Reporting API, which
        # batches reports for a minute or more; Firefox knows only report-uri.
        "report-uri": [report_uri],
    }
    if more.get("frame-src"):
        directives["frame-src"] = list(more["frame-src"])
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On the package's own responses only: a host's pages keep the headers the host chose."""
    if not request.get(OURS):
        return
    settings = config(request)[SETTINGS]
    policy = content_security_policy(
        settings.org_origin, config(request)[URLS].csp_report, _frozen(request.get(CSP_EXTRA))
    )
    h = response.headers
    h["Content-Security-Policy"] = policy.replace(NONCE_SLOT, request.get(CSP_NONCE, ""))
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Server"] = "embedded"
    if settings.secure_cookies:
        h["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if request.match_info.route.name not in ("embedded.static", "embedded.theme_static"):
        h["Cache-Control"] = "no-store"
    if NEW_DEVICE_TOKEN in request:  # this browser's id for Okta's risk engine (X-Device-Token)
        # Headers are already assembled when this hook runs, so the cookie goes in as a header
        # (the token is base64url: nothing in it needs quoting).
        cookie = (
            f"{device_cookie_name(settings.secure_cookies)}={request[NEW_DEVICE_TOKEN]}; "
            f"HttpOnly; Max-Age={DEVICE_COOKIE_SECONDS}; Path=/; SameSite=Lax"
        )
        h.add("Set-Cookie", cookie + ("; Secure" if settings.secure_cookies else ""))


class AccessLogger(AbstractAccessLogger):
    """Method, path without its query (callbacks carry codes), status, time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.1fms", request.remote, request.method, request.path, response.status, time * 1000
        )
