"""Building responses: pages from templates, redirects, one-time notices and the CSRF token."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from aiohttp_session import Session

from .. import rendering
from ..keys import CORRELATION, CSP_NONCE, TEMPLATES, URLS
from ..urls import Urls
from .session import get_session

FLASH = "flash"  # notices shown once, on the next page


def csrf_token(session: Session) -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


class LazyToken:
    """The CSRF token as a page asks for it: made (and the session with it) only when a form
    on the page prints it, so anonymous pages without forms leave no state on the server."""

    def __init__(self, session: Session):
        self.session = session

    def __str__(self) -> str:
        return csrf_token(self.session)

    def __html__(self) -> str:  # printed as is: a token is URL-safe base64
        return str(self)


def flash(session: Session, key: str, cls: str = "INFO") -> None:
    session[FLASH] = [*session.get(FLASH, []), {"key": key, "cls": cls}]


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8", status=status)


async def render(request: web.Request, names: tuple[str, ...] | str, context: dict[str, Any] | None = None, *, status: int = 200) -> web.Response:
    """A page with this browser's session: its CSRF token and pending notices."""
    session = await get_session(request)
    page = rendering.render(
        request.config_dict[TEMPLATES],
        names,
        {
            **(context or {}),
            "csrf_token": LazyToken(session),
            "csp_nonce": request[CSP_NONCE],
            "correlation": request.get(CORRELATION),
            "notices": session.pop(FLASH, []),
        },
    )
    return html(page, status)


def render_error(request: web.Request, status: int, title_key: str, **context: Any) -> web.Response:
    """An error page that needs no session: safe to show whatever went wrong."""
    page = rendering.render(
        request.config_dict[TEMPLATES],
        "error.html",
        {"title_key": title_key, "status": status, "correlation": request.get(CORRELATION), "csp_nonce": request.get(CSP_NONCE, ""), **context},
    )
    return html(page, status)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def urls(request: web.Request) -> Urls:
    return request.config_dict[URLS]
