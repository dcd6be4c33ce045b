"""Every route of the package in one table: method, name (a key of `urls.PATHS`), handler.
Routes are registered as `embedded.<name>` under the prefix; pages build their URLs from the
same table through `Urls`. The direct mode (`EMBEDDED_MODE=direct`) serves the same URLs with
its own handlers where its sign-in differs, chosen once as the routes are added."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .. import rendering
from ..urls import PATHS, STATIC
from . import account, callback, direct, entry, reports, steps

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# method, name, handler, and the direct mode's own handler where its sign-in differs (the
# redirect model decides inside the IDX handlers).
ROUTES: tuple[tuple[str, str, Handler, Handler | None], ...] = (
    ("GET", "login", entry.login, direct.login),
    ("GET", "register", entry.register, direct.journey("direct.no_register")),
    ("GET", "recover", entry.recover, direct.journey("direct.no_recover")),
    ("GET", "unlock", entry.unlock, direct.journey("direct.no_unlock")),
    ("GET", "activate", entry.activate, direct.journey("direct.no_link")),
    ("GET", "reset_password", entry.reset_password, direct.journey("direct.no_link")),
    ("GET", "hosted", entry.hosted, None),
    ("GET", "step", steps.show_step, direct.show_step),
    ("POST", "step", steps.submit_step, direct.submit_step),
    ("GET", "poll", steps.poll, direct.poll),
    ("GET", "callback", callback.callback, None),
    ("GET", "logout", account.confirm_logout, None),
    ("POST", "logout", account.logout, None),
    ("POST", "csp_report", reports.csp_report, None),
)


def add_routes(app: web.Application, prefix: str, mode: str) -> None:
    for method, name, handler, direct_handler in ROUTES:
        chosen = direct_handler if mode == "direct" and direct_handler is not None else handler
        app.router.add_route(method, prefix + PATHS[name], chosen, name=f"embedded.{name}")
    app.router.add_static(prefix + STATIC, rendering.STATIC_DIR, name="embedded.static")
