"""This browser's session with the package, kept apart from any session the host app has.

The package's middleware saves it after the handler, under its own request key and cookie, so a
host that also uses aiohttp-session keeps its own. It is read when first asked for: a host's
route gets it before its handler (so `current_user` needs no I/O), the package's routes when
they need it, and health checks, metrics and static files never.

A route that calls the Identity Engine for the transaction opens the session with `open_step`:
one store call counts its rate limits, reads the record and claims it (see `sessions`).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import Session

from ..keys import LIMITS, SESSION, SESSION_STORAGE, config
from ..metrics import METRICS
from ..sessions import Hit, Opened, StoredSession
from .context import client_ip

OPENED = web.RequestKey("embedded.opened", Opened)  # what `open_step` found: limits, claim


async def get_session(request: web.Request) -> Session:
    session = request.get(SESSION)
    if session is None:
        session = request[SESSION] = await config(request)[SESSION_STORAGE].load_session(request)
    return session


async def load_if_present(request: web.Request) -> None:
    """Load the session when the browser sent our cookie, so `current_user` can answer at once."""
    storage = config(request)[SESSION_STORAGE]
    if storage.load_cookie(request):
        await get_session(request)


def hit(request: web.Request, name: str) -> Hit:
    """One of the app's limits for this request: per client address ("ip" for steps, "login" for
    sign-ins started), or per transaction ("tx", kept in the session's own record)."""
    rate = config(request)[LIMITS][name]
    return Hit(name, None if name == "tx" else f"{name}:{client_ip(request) or 'unknown'}", rate)


async def open_step(request: web.Request, *limits: str, claim: bool = True) -> Opened:
    """Read this browser's session afresh, counting `limits` and (with `claim`) claiming it for
    this request, in one store call. A session read earlier in the request is replaced: after a
    slow request body, what others wrote meanwhile (a wrong code counted, a step taken) is what
    this request starts from."""
    previous = request.get(SESSION)
    if isinstance(previous, StoredSession) and previous.claim is not None:
        return request[OPENED]  # claimed already: it is this request's
    storage = config(request)[SESSION_STORAGE]
    session, opened = await storage.open_session(request, [hit(request, name) for name in limits], claim)
    request[SESSION], request[OPENED] = session, opened
    if opened.limited and (metrics := config(request).get(METRICS)) is not None:
        metrics.refusal(opened.limited)
    return opened


def stored(session: Session) -> StoredSession:
    """The session as the package's stores make it (with a claim and a code count)."""
    if not isinstance(session, StoredSession):
        raise TypeError(f"the package's session store makes StoredSession, not {type(session).__name__}")
    return session


async def save(request: web.Request, response: web.StreamResponse) -> None:
    session = request.get(SESSION)
    if session is None:
        return
    # aiohttp-session's own middleware decides by the same private flag; a claim is given back
    # even when nothing changed.
    if session.needs_saving if isinstance(session, StoredSession) else session._changed:
        await config(request)[SESSION_STORAGE].save_session(request, response, session)


# What a person chose that outlives the session id changing at sign-in (the page language).
KEPT_ACROSS_ROTATION = ("lang",)


async def rotate(request: web.Request) -> Session:
    """A fresh session under a new id, the old one deleted (sign-in must not keep a pre-login id);
    only the person's own choices (`KEPT_ACROSS_ROTATION`) come along."""
    old = await get_session(request)
    storage = config(request)[SESSION_STORAGE]
    await storage.forget(old.identity)
    session = await storage.new_session()
    for key in KEPT_ACROSS_ROTATION:
        if key in old:
            session[key] = old[key]
    session.changed()
    request[SESSION] = session
    return session
