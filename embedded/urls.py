"""Every URL the package puts in a page, a form or a redirect, built from where it is mounted.

`PATHS` is the one table of the package's paths under its prefix; the routes are registered
from it (`web/routes.py`) under the names `embedded.<name>`, and `Urls` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass

PATHS = {
    "login": "/login",
    "step": "/login/step",
    "poll": "/login/poll",
    "hosted": "/login/hosted",
    "callback": "/login/callback",  # the redirect URI's path, under the prefix
    "register": "/register",
    "recover": "/recover",
    "unlock": "/unlock",
    "activate": "/activate",
    "reset_password": "/reset-password",
    "logout": "/logout",
    "csp_report": "/csp-report",  # browsers post Content-Security-Policy violations here
}
STATIC = "/static"


def normalise_prefix(prefix: str) -> str:
    """ "" (the root) or "/a/b": one leading slash, no trailing one."""
    if prefix in ("", "/"):
        return ""
    if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix or any(c in prefix for c in "?#{}% "):
        raise ValueError(f"the prefix must be empty or a path like /auth, got {prefix!r}")
    return prefix


@dataclass(frozen=True)
class Urls:
    base: str  # the prefix as mounted: "" or "/auth"
    home: str = "/"  # where people land after signing out, or signing in with nowhere asked for

    def __getattr__(self, name: str) -> str:
        # urls.login, urls.step, ...: one attribute per entry of PATHS.
        try:
            return self.base + PATHS[name]
        except KeyError:
            raise AttributeError(name) from None

    def static(self, path: str) -> str:
        return f"{self.base}{STATIC}/{path}"
