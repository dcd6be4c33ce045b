"""embedded: sign users in with Okta Identity Engine through your own aiohttp pages."""

from typing import Any

__all__ = ["create_app", "Settings"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `embedded.simulator` can be imported without loading the app.
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Settings":
        from .config import Settings

        return Settings
    raise AttributeError(name)
