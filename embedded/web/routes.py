"""Every route of the package in one table: method, name (a key of `urls.PATHS`), handler.
Routes are registered as `embedded.<name>` under the prefix; pages build their URLs from the
same table through `Urls`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .. import rendering
from ..urls import PATHS, STATIC
from . import account, callback, entry, reports, steps

ROUTES: tuple[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]], ...] = (
    ("GET", "login", entry.login),
    ("GET", "register", entry.register),
    ("GET", "recover", entry.recover),
    ("GET", "unlock", entry.unlock),
    ("GET", "activate", entry.activate),
    ("GET", "reset_password", entry.reset_password),
    ("GET", "hosted", entry.hosted),
    ("GET", "step", steps.show_step),
    ("POST", "step", steps.submit_step),
    ("GET", "poll", steps.poll),
    ("GET", "callback", callback.callback),
    ("GET", "logout", account.confirm_logout),
    ("POST", "logout", account.logout),
    ("POST", "csp_report", reports.csp_report),
)


def add_routes(app: web.Application, prefix: str) -> None:
    for method, name, handler in ROUTES:
        app.router.add_route(method, prefix + PATHS[name], handler, name=f"embedded.{name}")
    app.router.add_static(prefix + STATIC, rendering.STATIC_DIR, name="embedded.static")
