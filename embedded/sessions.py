"""Server-side session storage (an aiohttp-session storage): the cookie carries only a random id.

Everything else (the IDX transaction, tokens) stays in this process's memory, bounded
and expiring, so a copied cookie dies with logout and no secret reaches the browser.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web
from aiohttp_session import AbstractStorage, Session


def cookie_name(secure: bool) -> str:
    # The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain.
    return "__Host-embedded" if secure else "embedded"


# A long-lived random id per browser, sent to Okta as X-Device-Token (never the session id).
DEVICE_COOKIE_SECONDS = 400 * 24 * 3600  # the longest lifetime browsers keep


def device_cookie_name(secure: bool) -> str:
    return "__Host-embedded-device" if secure else "embedded-device"


class MemoryStorage(AbstractStorage):
    """Sessions in a dict, evicted when idle for `idle_seconds`, older than `absolute_seconds`
    however active, or beyond `max_entries` (least recently used first)."""

    def __init__(
        self,
        *,
        secure: bool,
        idle_seconds: int,
        max_entries: int,
        absolute_seconds: float = 12 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(cookie_name=cookie_name(secure), secure=secure, httponly=True, samesite="Lax", path="/")
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self.max_entries = max_entries
        self._clock = clock
        # id -> (last used, created, data); kept in least-recently-used order.
        self._data: OrderedDict[str, tuple[float, float, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def _expired(self, entry: tuple[float, float, str], now: float) -> bool:
        touched, created, _ = entry
        return now - touched > self.idle_seconds or now - created > self.absolute_seconds

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        entry = self._data.get(key) if isinstance(key, str) else None
        now = self._clock()
        if not isinstance(key, str) or entry is None or self._expired(entry, now):
            if isinstance(key, str) and entry is not None:
                del self._data[key]  # an expired id stays dead: replaying its cookie finds nothing
            return Session(None, data=None, new=True, max_age=None)
        # Any request is activity, even one that changes nothing (and so saves nothing).
        self._data[key] = (now, entry[1], entry[2])
        self._data.move_to_end(key)
        return Session(key, data=self._decoder(entry[2]), new=False, max_age=None)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        key = session.identity
        if session.empty:
            if key is not None:
                self._data.pop(key, None)
            self.save_cookie(response, "")
            return
        now = self._clock()
        if key is None:
            key = secrets.token_urlsafe(32)  # 256 bits
            created = now
        elif key in self._data:
            created = self._data[key][1]  # the absolute lifetime never restarts
        else:
            # Ended (signed out, expired) while this request ran: never bring it back.
            return
        self.save_cookie(response, key)
        self._data[key] = (now, created, self._encoder(self._get_session_data(session)))
        self._data.move_to_end(key)
        self._sweep()

    def forget(self, key: str | None) -> None:
        if key:
            self._data.pop(key, None)

    def _sweep(self) -> None:
        now = self._clock()
        while self._data:
            oldest_key, entry = next(iter(self._data.items()))
            if self._expired(entry, now) or len(self._data) > self.max_entries:
                del self._data[oldest_key]
            else:
                break
