"""Every route of the package in one table: method, name (a key of `urls.PATHS`), handler.
Routes are registered as `embedded.<name>` under the prefix; pages build their URLs from the
same table through `Urls`. The direct mode (`EMBEDDED_MODE=direct`) serves the same URLs with
its own handlers where its sign-in differs (`by_mode`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .. import rendering
from ..keys import SETTINGS
from ..urls import PATHS, STATIC
from . import account, callback, direct, entry, reports, steps

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def by_mode(embedded: Handler, direct_mode: Handler) -> Handler:
    """The direct mode's handler when the app runs in it, else the IDX one (the redirect model
    decides inside its handlers)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        chosen = direct_mode if request.config_dict[SETTINGS].mode == "direct" else embedded
        return await chosen(request)

    handle.__name__ = handle.__qualname__ = embedded.__name__
    return handle


ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "login", by_mode(entry.login, direct.login)),
    ("GET", "register", by_mode(entry.register, direct.journey("direct.no_register"))),
    ("GET", "recover", by_mode(entry.recover, direct.journey("direct.no_recover"))),
    ("GET", "unlock", by_mode(entry.unlock, direct.journey("direct.no_unlock"))),
    ("GET", "activate", by_mode(entry.activate, direct.journey("direct.no_link"))),
    ("GET", "reset_password", by_mode(entry.reset_password, direct.journey("direct.no_link"))),
    ("GET", "hosted", entry.hosted),
    ("GET", "step", by_mode(steps.show_step, direct.show_step)),
    ("POST", "step", by_mode(steps.submit_step, direct.submit_step)),
    ("GET", "poll", by_mode(steps.poll, direct.poll)),
    ("GET", "callback", callback.callback),
    ("GET", "logout", account.confirm_logout),
    ("POST", "logout", account.logout),
    ("POST", "csp_report", reports.csp_report),
)


def add_routes(app: web.Application, prefix: str) -> None:
    for method, name, handler in ROUTES:
        app.router.add_route(method, prefix + PATHS[name], handler, name=f"embedded.{name}")
    app.router.add_static(prefix + STATIC, rendering.STATIC_DIR, name="embedded.static")
