"""embedded: sign users in with Okta Identity Engine through your own aiohttp pages.

The whole public API:

    embedded.setup(app, settings, prefix="/auth")   add sign-in to a host's aiohttp app
    embedded.current_user(request)                  the SignedInUser, or None
    embedded.login_required                         a decorator for the host's handlers; with
                                                    (acr_values=..., max_age=...) it asks for step-up
    embedded.protect(app, require=..., public=..., private=..., step_up=...)   a route-level policy
    await embedded.access_token(request)            a fresh access token, or None
    embedded.Settings, embedded.SettingsError, embedded.SignedInUser
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Settings, SettingsError
    from .web.guard import SignedInUser, access_token, current_user, login_required, protect
    from .web.setup import setup

__all__ = [
    "Settings",
    "SettingsError",
    "SignedInUser",
    "access_token",
    "current_user",
    "login_required",
    "protect",
    "setup",
]

_WHERE = {
    "Settings": "config",
    "SettingsError": "config",
    "setup": "web.setup",
    "SignedInUser": "web.guard",
    "access_token": "web.guard",
    "current_user": "web.guard",
    "login_required": "web.guard",
    "protect": "web.guard",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that the pure core and `embedded.simulator` import without loading aiohttp's web side.
    if name not in _WHERE:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
