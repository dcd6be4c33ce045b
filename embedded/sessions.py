"""Server-side sessions (aiohttp-session storages): the cookie carries only a random id.

Everything else (the IDX transaction, tokens) stays on the server, bounded and expiring, so a
copied cookie dies with logout and no secret reaches the browser. A session is kept as one
record of fields (`tx`, `user`, `tokens`, ...), and a request writes back only the fields it
changed: a slow request can never put back an old transaction over a newer one.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session


def cookie_name(secure: bool) -> str:
    # The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain.
    return "__Host-embedded" if secure else "embedded"


# A long-lived random id per browser, sent to Okta as X-Device-Token (never the session id).
DEVICE_COOKIE_SECONDS = 400 * 24 * 3600  # the longest lifetime browsers keep


def device_cookie_name(secure: bool) -> str:
    return "__Host-embedded-device" if secure else "embedded-device"


Fields = dict[str, str]  # field name -> its value as compact JSON


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class StoredSession(Session):
    """A session whose fields stay the JSON text they were stored as until a handler reads them,
    and which remembers them as loaded, so saving writes only what changed and never encodes a
    field nobody read."""

    def __init__(self, identity: str | None, fields: Fields, created: float):
        super().__init__(
            identity, data={"created": int(created), "session": {}} if fields else None, new=identity is None
        )
        self.loaded = fields
        self._mapping.update(fields)
        self._undecoded = set(fields)  # fields whose value in _mapping is still their JSON text

    def __getitem__(self, key: str) -> Any:
        value = self._mapping[key]
        if key in self._undecoded:
            value = self._mapping[key] = json.loads(value)
            self._undecoded.discard(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._undecoded.discard(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._undecoded.discard(key)

    def set_text(self, key: str, text: str) -> None:
        """Set a field to a value given as its JSON text (read back decoded, stored as given)."""
        super().__setitem__(key, text)
        self._undecoded.add(key)

    def text(self, key: str) -> str | None:
        """A field's JSON text (None if there is no such field), without decoding it."""
        if key not in self._mapping:
            return None
        return self._mapping[key] if key in self._undecoded else encode(self._mapping[key])

    def fields(self) -> Fields:
        """Every field as JSON text."""
        return {k: v if k in self._undecoded else encode(v) for k, v in self._mapping.items()}

    def changes(self) -> tuple[Fields, set[str]]:
        """(fields to write, fields to delete) since loading."""
        now = self.fields()
        return {k: v for k, v in now.items() if self.loaded.get(k) != v}, set(self.loaded) - set(now)


def field_text(session: MutableMapping[str, Any], key: str) -> str | None:
    """A session field as JSON text, decoding nothing where the session can say so."""
    if isinstance(session, StoredSession):
        return session.text(key)
    return encode(session[key]) if key in session else None


def set_field_text(session: MutableMapping[str, Any], key: str, text: str) -> None:
    if isinstance(session, StoredSession):
        session.set_text(key, text)
    else:
        session[key] = json.loads(text)


class SessionStore(AbstractStorage):
    """What every store does: cookie in, record out, and back. Stores implement `read`, `create`,
    `update` and `delete` on records of fields, with the idle and absolute lifetimes."""

    def __init__(self, *, secure: bool, idle_seconds: int, absolute_seconds: float):
        super().__init__(cookie_name=cookie_name(secure), secure=secure, httponly=True, samesite="Lax", path="/")
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    async def read(self, key: str) -> tuple[float, Fields] | None:
        """(created, fields) of a live record, counting the read as activity; None if there is none."""
        raise NotImplementedError

    async def create(self, key: str, fields: Fields) -> None:
        raise NotImplementedError

    async def update(self, key: str, changed: Fields, removed: set[str]) -> bool:
        """Write some fields of a live record; False (and nothing written) when it has ended."""
        raise NotImplementedError

    async def delete(self, key: str) -> None:
        raise NotImplementedError

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        found = await self.read(key) if isinstance(key, str) and 0 < len(key) <= 64 else None
        if found is None:
            return StoredSession(None, {}, time.time())
        created, fields = found
        return StoredSession(key, fields, created)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        key = session.identity
        if session.empty:
            if key is not None:
                await self.delete(key)
            self.save_cookie(response, "")
            return
        if not isinstance(session, StoredSession) or key is None:
            key = secrets.token_urlsafe(32)  # 256 bits
            await self.create(
                key,
                session.fields() if isinstance(session, StoredSession) else {k: encode(v) for k, v in session.items()},
            )
        else:
            changed, removed = session.changes()
            if not await self.update(key, changed, removed):
                return  # ended (signed out, expired) while this request ran: never bring it back
        self.save_cookie(response, key)

    async def forget(self, key: str | None) -> None:
        if key:
            await self.delete(key)

    async def new_session(self) -> Session:
        return StoredSession(None, {}, time.time())


class MemoryStorage(SessionStore):
    """Sessions in this process's memory, evicted when idle for `idle_seconds`, older than
    `absolute_seconds` however active, or beyond `max_entries` (least recently used first)."""

    def __init__(
        self,
        *,
        secure: bool,
        idle_seconds: int,
        max_entries: int,
        absolute_seconds: float = 12 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(secure=secure, idle_seconds=idle_seconds, absolute_seconds=absolute_seconds)
        self.max_entries = max_entries
        self._clock = clock
        # id -> [last used, created, fields]; kept in least-recently-used order.
        self._data: OrderedDict[str, tuple[float, float, Fields]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def records(self) -> list[Fields]:
        """Every live record's fields (for tests and operators)."""
        return [entry[2] for entry in self._data.values()]

    def _expired(self, entry: tuple[float, float, Fields], now: float) -> bool:
        touched, created, _ = entry
        return now - touched > self.idle_seconds or now - created > self.absolute_seconds

    async def read(self, key: str) -> tuple[float, Fields] | None:
        entry = self._data.get(key)
        now = self._clock()
        if entry is None or self._expired(entry, now):
            self._data.pop(key, None)  # an expired id stays dead: replaying its cookie finds nothing
            return None
        # Any request is activity, even one that changes nothing (and so saves nothing).
        self._data[key] = (now, entry[1], entry[2])
        self._data.move_to_end(key)
        return time.time() - (now - entry[1]), dict(entry[2])

    async def create(self, key: str, fields: Fields) -> None:
        now = self._clock()
        self._data[key] = (now, now, fields)
        self._sweep()

    async def update(self, key: str, changed: Fields, removed: set[str]) -> bool:
        entry = self._data.get(key)
        if entry is None:
            return False
        fields = {k: v for k, v in {**entry[2], **changed}.items() if k not in removed}
        self._data[key] = (self._clock(), entry[1], fields)
        self._data.move_to_end(key)
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def _sweep(self) -> None:
        now = self._clock()
        while self._data:
            oldest_key, entry = next(iter(self._data.items()))
            if self._expired(entry, now) or len(self._data) > self.max_entries:
                del self._data[oldest_key]
            else:
                break
