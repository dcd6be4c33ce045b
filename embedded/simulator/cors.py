"""Who may call the simulator from a browser, and from where.

* The protocol endpoints a browser client uses (discovery, keys, interact, token, revoke,
  userinfo, logout and every IDX endpoint) speak CORS as Okta does with Trusted Origins: a request
  whose `Origin` the org trusts (`[org] trusted_origins`) gets that exact origin back in
  `Access-Control-Allow-Origin`, with `Access-Control-Allow-Credentials: true` (IDX calls carry
  cookies) and `Vary: Origin`; its preflight (`OPTIONS`) is answered with the methods of the
  endpoint and the request headers Okta's browser SDKs send. Any other origin gets no CORS header
  at all (its preflight a 403), so the browser refuses to let the page read anything.
* The simulator's own controls (`/_sim/*`) and outbox (`/outbox…`) are for the person at this
  computer and for tests, never for web pages: they answer only requests whose `Host` is a
  loopback name (or the host of a fixed `--issuer`), which defeats DNS rebinding, and refuse any
  state-changing request a browser marks as coming from another site (`Sec-Fetch-Site` other than
  `same-origin` / `none`, or an `Origin` other than the simulator's own). Requests without those
  headers (scripts, test clients) are not browsers' cross-site requests and pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from .context import sim
from .org import is_loopback

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What Okta's browser SDKs (auth-js, the Sign-In Widget) put on their requests beyond the
# CORS-safelisted ones: the SDK's user agent, a device token or fingerprint, bearer tokens.
ALLOWED_HEADERS = (
    "Accept",
    "Accept-Language",
    "Authorization",
    "Content-Type",
    "X-Device-Fingerprint",
    "X-Device-Token",
    "X-Okta-User-Agent-Extended",
    "X-Okta-XsrfToken",
    "X-Requested-With",
)
# What a page may read from our answers beyond the safelisted headers.
EXPOSED_HEADERS = (
    "WWW-Authenticate",
    "Retry-After",
    "X-Rate-Limit-Limit",
    "X-Rate-Limit-Remaining",
    "X-Rate-Limit-Reset",
)
PREFLIGHT_MAX_AGE = 60  # seconds a browser may reuse a preflight answer
BROWSER_OAUTH = ("keys", "interact", "token", "revoke", "userinfo", "logout")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def browser_endpoint(request: web.Request) -> bool:
    """Whether the path is one a browser client of the org calls across origins."""
    path, base = request.path, sim(request).base
    return (
        path.startswith("/idp/idx/")
        or path == f"{base}/.well-known/openid-configuration"
        or any(path == f"{base}/v1/{name}" for name in BROWSER_OAUTH)
    )


def allowed_methods(request: web.Request) -> list[str]:
    """The methods the router serves at this path, for a preflight's Allow-Methods (an OPTIONS
    request reaches no route of ours, so the router's 405 names them; a route for any method
    is one that takes GET and POST)."""
    refused = request.match_info.http_exception
    methods = set(refused.allowed_methods) if isinstance(refused, web.HTTPMethodNotAllowed) else {"GET", "POST"}
    return [*sorted(methods - {"HEAD", "OPTIONS"}), "OPTIONS"]


def refused_preflight() -> web.Response:
    # No CORS header: the browser reports the preflight failed and never sends the request.
    return web.json_response(
        {"errorCode": "E0000006", "errorSummary": "The origin is not a trusted origin of this org."},
        status=403,
        headers={"Vary": "Origin"},
    )


def cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not browser_endpoint(request):
        return await handler(request)
    origin = request.headers.get("Origin")
    trusted = sim(request).org.origin_trusted(origin)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        if not trusted or origin is None:
            return refused_preflight()
        return web.Response(
            status=204,
            headers={
                **cors_headers(origin),
                "Access-Control-Allow-Methods": ", ".join(allowed_methods(request)),
                "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
            },
        )
    try:
        response = await handler(request)
    except web.HTTPException as e:  # errors are readable by a trusted page too
        if trusted and origin is not None:
            e.headers.update(cors_headers(origin))
            e.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        else:
            e.headers["Vary"] = "Origin"
        raise
    if trusted and origin is not None:
        response.headers.update(cors_headers(origin))
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
    else:
        response.headers["Vary"] = "Origin"
    return response


# ------------------------------------------------------------------------ the simulator's controls
def control_endpoint(path: str) -> bool:
    return path.startswith("/_sim/") or path == "/outbox" or path.startswith(("/outbox/", "/outbox."))


def host_allowed(request: web.Request) -> bool:
    """A loopback name in Host (DNS rebinding puts the attacker's name there), or the host of the
    issuer the simulator was started with."""
    host = urlsplit(f"//{request.host}").hostname
    if is_loopback(host):
        return True
    issuer = sim(request).issuer
    return issuer is not None and host is not None and host == urlsplit(issuer).hostname


def cross_site(request: web.Request) -> bool:
    """A browser's request from another site (or another origin of this one)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.host}"


def refusal(reason: str) -> web.Response:
    return web.json_response(
        {"error": "forbidden", "error_description": reason}, status=403, headers={"Cache-Control": "no-store"}
    )


@web.middleware
async def guard_controls(request: web.Request, handler: Handler) -> web.StreamResponse:
    if control_endpoint(request.path):
        if not host_allowed(request):
            return refusal("The simulator's controls answer only on a loopback host name.")
        if request.method not in SAFE_METHODS and cross_site(request):
            return refusal("The simulator's controls refuse requests from other sites.")
    return await handler(request)
