"""What a host app asks of the package: who is signed in, an access token, and guards for its
own routes (one handler with `login_required`, or a whole policy with `protect`).

A guard decides on what aiohttp's router decided: the route it chose, and the path exactly as the
router matched it (`rel_url.path_safe`: percent-decoded except `%2F` and `%25`), never a copy
decoded some other way. A path that could be read two ways (an encoded slash, a dot segment, an
overlong UTF-8 form: `policy.ambiguous_path`) never reaches a guarded handler: it gets a 400
before any handler runs. A guarded route may also ask for a stronger (`acr_values`) or fresher
(`max_age`) sign-in than the person has: a browser goes through step-up and comes back, a JSON
caller gets a 401 saying what is required (RFC 9470)."""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeVar, cast, overload
from urllib.parse import urlencode

from aiohttp import web

from .. import policy
from ..config import SettingsError
from ..keys import CSP_NONCE, OURS, SESSION, SESSION_STORAGE, URLS, config
from .account import current_tokens
from .entry import STEP_UP_ACR
from .respond import render_error
from .session import get_session, load_if_present

log = logging.getLogger("embedded")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H")
T = TypeVar("T")
PROTECTED = web.AppKey("embedded.protected", bool)
# A route's max_age shorter than this could run out between the sign-in and the page itself, and
# send the person round the step-up again and again.
MIN_MAX_AGE = 60


@dataclass(frozen=True)
class SignedInUser:
    """The person signed in on this browser, from their validated ID token."""

    sub: str
    iss: str
    email: str | None
    name: str | None
    preferred_username: str | None
    amr: tuple[str, ...]
    acr: str | None
    auth_time: int | None
    claims: Mapping[str, Any] = field(default_factory=dict)  # every claim of the ID token, read-only

    @classmethod
    def from_record(cls, user: Mapping[str, Any]) -> SignedInUser:
        amr = user.get("amr")
        return cls(
            sub=user["sub"],
            iss=user["iss"],
            email=user.get("email"),
            name=user.get("name"),
            preferred_username=user.get("preferred_username"),
            amr=tuple(a for a in amr if isinstance(a, str)) if isinstance(amr, list) else (),
            acr=user.get("acr"),
            auth_time=user.get("auth_time") if isinstance(user.get("auth_time"), int) else None,
            claims=MappingProxyType(dict(user.get("claims") or {})),
        )


def _require_setup(request: web.Request) -> None:
    if SESSION_STORAGE not in config(request):
        raise RuntimeError("embedded.setup(app, settings) was not called for this application")


def current_user(request: web.Request) -> SignedInUser | None:
    """The signed-in user, or None. No I/O: the package's middleware has already loaded the session."""
    _require_setup(request)
    session = request.get(SESSION)
    user = session.get("user") if session is not None else None
    return SignedInUser.from_record(user) if isinstance(user, dict) else None


async def access_token(request: web.Request) -> str | None:
    """A valid access token for calling APIs as the user, refreshed first when it is about to
    expire; None when signed out or when the Identity Engine no longer accepts the refresh."""
    _require_setup(request)
    session = await get_session(request)
    if not session.get("user"):
        return None
    tokens = await current_tokens(request, session)
    token = tokens.get("access_token") if tokens else None
    return token if isinstance(token, str) else None


def wants_json(request: web.Request) -> bool:
    """An API call rather than a page: it gets 401 instead of a trip to the sign-in page."""
    return "application/json" in request.headers.get("Accept", "") or "X-Requested-With" in request.headers


@dataclass(frozen=True)
class Requirement:
    """What a guarded route asks of the sign-in: that there is one and, for step-up, that it met
    one of the space-separated `acr_values` and is at most `max_age` seconds old."""

    acr_values: str | None = None
    max_age: int | None = None

    def __post_init__(self) -> None:
        if self.acr_values is not None and not (
            isinstance(self.acr_values, str) and STEP_UP_ACR.fullmatch(self.acr_values)
        ):
            raise SettingsError(
                f"acr_values must be one to five values of letters, digits and ':._-', got {self.acr_values!r}"
            )
        if self.max_age is not None and not (type(self.max_age) is int and MIN_MAX_AGE <= self.max_age < 10**9):
            raise SettingsError(
                f"max_age must be a whole number of seconds, at least {MIN_MAX_AGE}, got {self.max_age!r}"
            )

    def met_by(self, user: SignedInUser) -> bool:
        return policy.sign_in_meets(
            self.acr_values, self.max_age, acr=user.acr, amr=user.amr, auth_time=user.auth_time, now=time.time()
        )

    def asked(self) -> dict[str, str]:
        """The step-up parameters for /login (none when only a sign-in is required)."""
        return {k: str(v) for k, v in (("acr_values", self.acr_values), ("max_age", self.max_age)) if v is not None}


SIGNED_IN = Requirement()


def refusal(request: web.Request, requirement: Requirement = SIGNED_IN) -> web.Response | None:
    """None when the signed-in user meets `requirement`; otherwise what the request gets. A
    browser goes to sign in, asking for the step-up, and comes back; a JSON caller gets 401 with
    the login URL, and when someone is signed in but not strongly or recently enough, RFC 9470's
    `insufficient_user_authentication` with what is required."""
    user = current_user(request)
    if user is not None and requirement.met_by(user):
        return None
    asked = requirement.asked()
    login = config(request)[URLS].login
    if wants_json(request):
        login_for = f"{login}?{urlencode(asked)}" if asked else login
        if user is None:
            body: dict[str, Any] = {"error": "unauthenticated", "login": login_for}
            challenge = 'Bearer realm="embedded"'
        else:
            body = {
                "error": "step_up_required",
                "acr_values": requirement.acr_values,
                "max_age": requirement.max_age,
                "login": login_for,
            }
            challenge = ", ".join(
                [
                    'Bearer realm="embedded", error="insufficient_user_authentication"',
                    'error_description="A stronger or more recent sign-in is required"',
                    *(f'{name}="{value}"' for name, value in asked.items()),
                ]
            )
        return web.json_response(body, status=401, headers={"WWW-Authenticate": challenge})
    # Back to the page as it was asked for (the raw form: safe_return_to checks it as sent).
    target = policy.safe_return_to(request.rel_url.raw_path_qs) if request.method == "GET" else "/"
    return web.Response(status=303, headers={"Location": f"{login}?{urlencode({**asked, 'return_to': target})}"})


def target_refusal(request: web.Request) -> web.Response | None:
    """A 400 for a request whose path could be read two ways (`policy.ambiguous_path`), None for
    any other: the package's error page for a browser, a JSON error for an API caller."""
    reason = policy.ambiguous_path(request.rel_url.raw_path)
    if reason is None:
        return None
    log.info("ambiguous request target refused (%s)", reason)  # the reason only: the path is the client's
    if wants_json(request):
        return web.json_response({"error": "invalid_request_target"}, status=400)
    request[OURS] = True  # the package's page, with the package's headers
    request.setdefault(CSP_NONCE, secrets.token_urlsafe(18))
    return render_error(request, 400, "error.http_400")


@overload
def login_required(handler: H, /) -> H: ...


@overload
def login_required(*, acr_values: str | None = None, max_age: int | None = None) -> Callable[[H], H]: ...


def login_required(handler: Any = None, /, *, acr_values: str | None = None, max_age: int | None = None) -> Any:
    """Decorate a handler (a function taking the request, a method of a `web.View`, or a
    `web.View` class): anonymous browsers go to sign in and come back; JSON callers get 401.
    `@login_required(acr_values=..., max_age=...)` also asks for step-up: a sign-in that met one
    of the `acr_values` (e.g. "urn:okta:loa:2fa:any") at most `max_age` seconds ago."""
    requirement = Requirement(acr_values, max_age)
    if handler is None:
        return functools.partial(guarded_handler, requirement=requirement)
    return guarded_handler(handler, requirement)


def guarded_handler(handler: H, requirement: Requirement) -> H:
    def check(request: web.Request) -> web.Response | None:
        return target_refusal(request) or refusal(request, requirement)

    if isinstance(handler, type) and issubclass(handler, web.View):
        view = cast(type[web.View], handler)

        class Guarded(view):  # type: ignore[valid-type,misc]  # a subclass of the host's own view
            async def _iter(self) -> web.StreamResponse:
                return check(self.request) or await super()._iter()

        functools.update_wrapper(Guarded, view, updated=())
        return cast(H, Guarded)

    func = cast(Callable[..., Awaitable[web.StreamResponse]], handler)

    @functools.wraps(func)
    async def guarded(*args: Any) -> web.StreamResponse:
        request = args[-1] if isinstance(args[-1], web.Request) else args[0].request
        return check(request) or await func(*args)

    return cast(H, guarded)


class Patterns(Generic[T]):
    """Paths a policy names, each with a value: one path ("/about"), or a path and everything
    below it ("/docs/*" is /docs, /docs/ and /docs/a/b; "/*" is every path). A path named both
    ways takes the exact pattern's value, else the longest matching pattern's."""

    def __init__(self, named: Iterable[tuple[str, T]]):
        self.exact: dict[str, T] = {}
        self.below: list[tuple[str, T]] = []
        for pattern, value in named:
            path, below = parse_pattern(pattern)
            if below:
                self.below.append((path, value))
            else:
                self.exact[path] = value
        self.below.sort(key=lambda named: len(named[0]), reverse=True)

    def match(self, path: str) -> T | None:
        if path in self.exact:
            return self.exact[path]
        return next((value for p, value in self.below if path == p or path.startswith(p + "/")), None)


def parse_pattern(pattern: Any) -> tuple[str, bool]:
    """A pattern as (path, whether it covers what is below): `*` only after a final `/`, and the
    path plain and decoded, as a request for it must be (no `%`, no `//`, no dot segment)."""
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise SettingsError(f"a path pattern must start with '/', got {pattern!r}")
    below = pattern.endswith("/*")
    path = pattern[:-2] if below else pattern
    if "*" in path:
        raise SettingsError(f"'*' may only end a path pattern, after a '/' (as in '/docs/*'), got {pattern!r}")
    if "%" in path or policy.ambiguous_path(path or "/") is not None:
        raise SettingsError(f"a path pattern is a plain decoded path (no '%', '//', '.' or '..'), got {pattern!r}")
    return path, below


def step_up_rule(pattern: str, asked: Any) -> tuple[str, Requirement]:
    if not isinstance(asked, Mapping) or not set(asked) <= {"acr_values", "max_age"}:
        raise SettingsError(f"step_up[{pattern!r}] must be a mapping of acr_values and max_age, got {asked!r}")
    return pattern, Requirement(asked.get("acr_values"), asked.get("max_age"))


def protect(
    app: web.Application,
    *,
    require: Literal["all", "none"] = "all",
    public: Iterable[str] = (),
    private: Iterable[str] = (),
    step_up: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """A sign-in policy for a whole app, after `embedded.setup`: `require="all"` guards every
    route except the `public` paths, `require="none"` only the `private` ones (none: nowhere).
    `step_up` maps paths to what they ask beyond a sign-in, `{"/admin/*": {"acr_values":
    "urn:okta:loa:2fa:any", "max_age": 300}}`, and guards them whatever else is said (the most
    specific pattern decides). Patterns name paths as `Patterns` reads them; a request whose path
    could be read two ways gets 400 first. The package's own pages and files are always reachable."""
    if SESSION_STORAGE not in app:
        raise RuntimeError("call embedded.setup(app, settings) before embedded.protect(app)")
    if PROTECTED in app:
        raise RuntimeError("embedded.protect(app) was called already for this application")
    if require not in ("all", "none"):
        raise SettingsError(f"require must be 'all' or 'none', got {require!r}")
    is_public = Patterns((p, True) for p in public)
    is_private = Patterns((p, True) for p in private)
    step_ups = Patterns(step_up_rule(p, asked) for p, asked in (step_up or {}).items())

    @web.middleware
    async def target_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        return target_refusal(request) or await handler(request)

    @web.middleware
    async def policy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_ours(request):
            path = request.rel_url.path_safe  # exactly what the router matched
            requirement = step_ups.match(path)
            guarded = requirement is not None or (
                is_public.match(path) is None if require == "all" else is_private.match(path) is not None
            )
            if guarded:
                await load_if_present(request)  # not loaded yet for a static file
                if (refused := refusal(request, requirement or SIGNED_IN)) is not None:
                    return refused
        return await handler(request)

    from .middlewares import sessions_middleware  # here: that module imports this one

    # The target is judged before the session is even read; the policy once it is loaded.
    app.middlewares.insert(app.middlewares.index(sessions_middleware), target_middleware)
    app.middlewares.append(policy_middleware)
    app[PROTECTED] = True


def is_ours(request: web.Request) -> bool:
    """A request for one of the package's own routes (all named `embedded.…`)."""
    name = request.match_info.route.name
    return bool(name and name.startswith("embedded."))
