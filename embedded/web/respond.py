"""Building responses: pages from templates, redirects, one-time notices and the CSRF token."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from aiohttp_session import Session

from .. import locales, rendering
from ..keys import CORRELATION, CSP_NONCE, SESSION, SETTINGS, TEMPLATES, URLS, config
from ..urls import Urls
from .session import get_session

FLASH = "flash"  # notices shown once, on the next page
LANG = "lang"  # the language this browser chose with the switch (?lang=)


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


def page_language(request: web.Request, session: Session | None) -> str:
    """This page's language (`locales.choose`): `?lang=`, the choice kept in `session`, the
    browser's Accept-Language, English. A `?lang=` naming one of ours is remembered in `session`
    (which creates it: an explicit choice is worth keeping)."""
    asked = request.query.get("lang")
    code = locales.choose(
        asked, session.get(LANG) if session is not None else None, request.headers.get("Accept-Language")
    )
    if session is not None and asked is not None and locales.match(asked) == code and session.get(LANG) != code:
        session[LANG] = code
    return code


def language_links(request: web.Request) -> tuple[locales.LanguageLink, ...]:
    """The language switch: this page's path with each `?lang=` (one leading slash, so never
    another host's `//address`)."""
    return locales.switch("/" + request.rel_url.raw_path.lstrip("/"))


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8", status=status)


def _varying(request: web.Request, session: Session) -> dict[str, Any]:
    """What differs on every request, each one a truthy value as the page cache's stand-ins are."""
    correlation = request.get(CORRELATION)
    return {
        "csrf_token": LazyToken(session),
        "csp_nonce": request[CSP_NONCE],
        **({"correlation": correlation} if correlation else {}),
    }


def _recall_key(request: web.Request, locale: str, inputs: str) -> str:
    """What made a step page's context, with what the page adds around it: its language, the
    language switch (this path), the app's name, and whether it shows a correlation id."""
    settings = config(request)[SETTINGS]
    return "\x00".join(
        (inputs, locale, request.rel_url.raw_path, repr(settings.app_name), str(bool(request.get(CORRELATION))))
    )


async def render(
    request: web.Request,
    names: tuple[str, ...] | str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    private: tuple[str | None, ...] | None = None,
    recall: tuple[str, Any] | None = None,
) -> web.Response:
    """A page with this browser's session: its CSRF token and pending notices. With `private`
    (values the context carries that the page must not show, such as a state handle) the page
    may come from the page cache, keyed by the rest of its context: for pages many people see
    alike (steps), not for one person's own (the host's home page). With `recall` too (what made
    the context, and what to keep with the page), `recalled` finds the page by those inputs."""
    session = await get_session(request)
    correlation = request.get(CORRELATION)
    notices = session.pop(FLASH, [])
    locale = page_language(request, session)
    page = rendering.render(
        config(request)[TEMPLATES],
        names,
        {
            **(context or {}),
            "notices": notices,
            "languages": language_links(request),
            "app_name": config(request)[SETTINGS].app_name,
            **({} if correlation else {"correlation": None}),
        },
        locale=locale,
        varying=_varying(request, session),
        cached=private is not None,
        private=private or (),
        # A page with notices is not what these inputs alone make.
        recall=(_recall_key(request, locale, recall[0]), recall[1]) if recall and not notices else None,
    )
    return html(page, status)


async def recalled(request: web.Request, inputs: str) -> tuple[web.Response, Any] | None:
    """The step page kept for what made its context (`render`'s `recall`), with this request's
    token, nonce and correlation id, and what was kept with it; None when there is none, or
    when notices are waiting (they are drawn into the page)."""
    session = await get_session(request)
    if session.get(FLASH):
        return None
    key = _recall_key(request, page_language(request, session), inputs)
    found = rendering.recalled(config(request)[TEMPLATES], key, _varying(request, session))
    return (html(found[0]), found[1]) if found is not None else None


def render_error(request: web.Request, status: int, title_key: str, **context: Any) -> web.Response:
    """An error page that needs no session: safe to show whatever went wrong. Its language is
    a choice already in the loaded session, if any, but nothing is stored."""
    page = rendering.render(
        config(request)[TEMPLATES],
        "error.html",
        {
            "title_key": title_key,
            "status": status,
            "correlation": request.get(CORRELATION),
            "csp_nonce": request.get(CSP_NONCE, ""),
            "languages": language_links(request),
            "app_name": getattr(config(request).get(SETTINGS), "app_name", None),
            **context,
        },
        locale=locales.choose(
            request.query.get("lang"), (request.get(SESSION) or {}).get(LANG), request.headers.get("Accept-Language")
        ),
    )
    return html(page, status)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def urls(request: web.Request) -> Urls:
    return config(request)[URLS]
