"""What a host app asks of the package: who is signed in, an access token, and guards for its
own routes (one handler with `login_required`, or a whole policy with `protect`)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlencode

from aiohttp import web

from .. import policy
from ..keys import SESSION, SESSION_STORAGE, URLS
from .account import current_tokens
from .session import get_session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H")


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
    if SESSION_STORAGE not in request.config_dict:
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


def refusal(request: web.Request) -> web.Response | None:
    """None for a signed-in user; otherwise what an anonymous request to a guarded page gets."""
    if current_user(request) is not None:
        return None
    login = request.config_dict[URLS].login
    if wants_json(request):
        return web.json_response(
            {"error": "unauthenticated", "login": login},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="embedded"'},
        )
    target = policy.safe_return_to(request.rel_url.path_qs) if request.method == "GET" else "/"
    return web.Response(status=303, headers={"Location": f"{login}?{urlencode({'return_to': target})}"})


def login_required(handler: H) -> H:
    """Decorate a handler (a function taking the request, a method of a `web.View`, or a
    `web.View` class): anonymous browsers go to sign in and come back; JSON callers get 401."""
    if isinstance(handler, type) and issubclass(handler, web.View):
        view = cast(type[web.View], handler)

        class Guarded(view):  # type: ignore[valid-type,misc]  # a subclass of the host's own view
            async def _iter(self) -> web.StreamResponse:
                return refusal(self.request) or await super()._iter()

        functools.update_wrapper(Guarded, view, updated=())
        return cast(H, Guarded)

    func = cast(Callable[..., Awaitable[web.StreamResponse]], handler)

    @functools.wraps(func)
    async def guarded(*args: Any) -> web.StreamResponse:
        request = args[-1] if isinstance(args[-1], web.Request) else args[0].request
        return refusal(request) or await func(*args)

    return cast(H, guarded)


def path_rule(patterns: Iterable[str]) -> Callable[[str], bool]:
    """Paths a policy names: exact ("/about"), or everything below one ending in "*" ("/docs/*")."""
    patterns = tuple(patterns)  # read twice below; a generator would be empty the second time
    exact = {p for p in patterns if not p.endswith("*")}
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
    for p in (*exact, *prefixes):
        if not p.startswith("/"):
            raise ValueError(f"a protected or public path must start with '/', got {p!r}")
    return lambda path: path in exact or path.startswith(prefixes)


def protect(
    app: web.Application,
    *,
    require: Literal["all", "none"] = "all",
    public: Iterable[str] = (),
    private: Iterable[str] = (),
) -> None:
    """A sign-in policy for a whole app, after `embedded.setup`: `require="all"` guards every
    route except the `public` paths, `require="none"` only the `private` ones (none: nowhere).
    The package's own pages and files are always reachable."""
    if SESSION_STORAGE not in app:
        raise RuntimeError("call embedded.setup(app, settings) before embedded.protect(app)")
    if require not in ("all", "none"):
        raise ValueError(f"require must be 'all' or 'none', got {require!r}")
    is_public, is_private = path_rule(public), path_rule(private)

    @web.middleware
    async def policy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        guarded = not is_public(request.path) if require == "all" else is_private(request.path)
        if guarded and not is_ours(request) and (refused := refusal(request)) is not None:
            return refused
        return await handler(request)

    app.middlewares.append(policy_middleware)


def is_ours(request: web.Request) -> bool:
    """A request for one of the package's own routes (all named `embedded.…`)."""
    name = request.match_info.route.name
    return bool(name and name.startswith("embedded."))
