"""This browser's session with the package, kept apart from any session the host app has.

The package's own middleware loads it (`load`) and saves it after the handler (`save`), under
its own request key and cookie, so a host that also uses aiohttp-session keeps its own.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import Session

from ..keys import SESSION, SESSION_STORAGE


async def get_session(request: web.Request) -> Session:
    session = request.get(SESSION)
    if session is None:
        session = request[SESSION] = await request.config_dict[SESSION_STORAGE].load_session(request)
    return session


async def load_if_present(request: web.Request) -> None:
    """Load the session when the browser sent our cookie, so `current_user` can answer at once."""
    storage = request.config_dict[SESSION_STORAGE]
    if storage.load_cookie(request):
        await get_session(request)


async def reload(request: web.Request) -> Session:
    """Read this browser's session again: after a slow request body, what others wrote meanwhile
    (a wrong code counted, a step taken) must be what this request starts from."""
    session = request[SESSION] = await request.config_dict[SESSION_STORAGE].load_session(request)
    return session


async def save(request: web.Request, response: web.StreamResponse) -> None:
    session = request.get(SESSION)
    # aiohttp-session's own middleware decides by the same private flag.
    if session is not None and session._changed:
        await request.config_dict[SESSION_STORAGE].save_session(request, response, session)


# What a person chose that outlives the session id changing at sign-in (the page language).
KEPT_ACROSS_ROTATION = ("lang",)


async def rotate(request: web.Request) -> Session:
    """A fresh session under a new id, the old one deleted (sign-in must not keep a pre-login id);
    only the person's own choices (`KEPT_ACROSS_ROTATION`) come along."""
    old = await get_session(request)
    storage = request.config_dict[SESSION_STORAGE]
    await storage.forget(old.identity)
    session = await storage.new_session()
    for key in KEPT_ACROSS_ROTATION:
        if key in old:
            session[key] = old[key]
    session.changed()
    request[SESSION] = session
    return session
