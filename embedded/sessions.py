"""Server-side sessions (aiohttp-session storages): the cookie carries only a random id.

Everything else (the IDX transaction, tokens) stays on the server, bounded and expiring, so a
copied cookie dies with logout and no secret reaches the browser. A session is one record of
fields (`tx`, `idx`, `user`, `tokens`, ...) and a request writes back only the fields it changed.

One step at a time, on any number of instances (issue 19): a request that calls the Identity
Engine for the transaction first *claims* the record, in the same store call that reads it and
checks its rate limits (`begin`), and gives the claim back in the call that writes it (`commit`).
The transaction's own fields (`GUARDED`) are written only when the record's version is still the
one read, so a request that outlived its claim can never put back an older transaction; the count
of wrong codes is a counter the store adds to, never a value written back whole. Taking the claim
also counts one wrong code in advance (a reservation), before any answer goes out: a code sent
counts even if the store fails while the Identity Engine checks it, and saving gives the
reservation back unless the answer was a wrong code or its fate is unknown. Each store does its
part of this atomically: the memory store between two awaits, Redis in one script.
"""

from __future__ import annotations

import enum
import json
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from .ratelimit import GcraTable, Rate, gcra


def cookie_name(secure: bool) -> str:
    # The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain.
    return "__Host-embedded" if secure else "embedded"


# A long-lived random id per browser, sent to Okta as X-Device-Token (never the session id).
DEVICE_COOKIE_SECONDS = 400 * 24 * 3600  # the longest lifetime browsers keep


def device_cookie_name(secure: bool) -> str:
    return "__Host-embedded-device" if secure else "embedded-device"


Fields = dict[str, str]  # field name -> its value as compact JSON
SESSION_ID = re.compile(r"[A-Za-z0-9_-]+")  # as secrets.token_urlsafe makes them: nothing in a cookie to quote


encode = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per json.dumps call


class StoredSession(Session):
    """A session whose fields stay the JSON text they were stored as until a handler reads them,
    and keep that text until set, so saving writes only what changed and encodes only fields set or
    read as a list or dict (which a caller may change in place). `version` is the record's as read;
    `claim` the token of this request's claim on it, if any; `codes_added` the wrong codes to add to
    the record's count; `reserved` the wrong code the store counted in advance with the claim."""

    def __init__(self, identity: str | None, fields: Fields, created: float, version: int = 0):
        super().__init__(
            identity, data={"created": int(created), "session": {}} if fields else None, new=identity is None
        )
        self.loaded = fields
        self.version = version
        self.claim: str | None = None
        self.codes_added = self.reserved = 0
        self.staked = False  # an answer went out: the reservation stands unless `give_back_code`
        self._mapping.update(fields)
        self._texts = dict(fields)  # each field's JSON text while its value cannot have changed (undecoded: its value)

    def __getitem__(self, key: str) -> Any:
        value = self._mapping[key]
        text = self._texts.get(key)
        if text is not None and value is text:
            value = self._mapping[key] = json.loads(text)
            if isinstance(value, (dict, list)):  # the caller may change it in place
                del self._texts[key]
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._texts.pop(key, None)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._texts.pop(key, None)

    def set_text(self, key: str, text: str) -> None:
        """Set a field to a value given as its JSON text (read back decoded, stored as given)."""
        super().__setitem__(key, text)
        self._texts[key] = text

    def text(self, key: str) -> str | None:
        """A field's JSON text (None if there is no such field), without decoding it."""
        return (self._texts.get(key) or encode(self._mapping[key])) if key in self._mapping else None

    def fields(self) -> Fields:
        """Every field as JSON text, each encoded at most once."""
        return {k: self._texts.get(k) or encode(v) for k, v in self._mapping.items()}

    def add_code(self) -> int:
        """Count one more wrong code; the count now. The code reserved with the claim is this one
        (the count read already holds it); without one, it is added to the record's on saving."""
        if self.reserved:
            self.reserved -= 1
            return int(self.get(CODES, 0))
        self.codes_added += 1
        count = int(self.get(CODES, 0)) + 1
        super().__setitem__(CODES, count)  # what this request reads; never written back whole
        self._texts.pop(CODES, None)
        return count

    def stake_code(self) -> None:
        """An answer is on its way to the Identity Engine: from here the reserved code stands,
        even if nothing comes back, unless `give_back_code` says it was not a wrong code."""
        self.staked = True

    def give_back_code(self) -> None:
        """The answer was not a wrong code (or was refused unchecked): saving gives back the
        code reserved for it."""
        self.staked = False

    @property
    def codes_before(self) -> int:
        """Wrong codes the transaction had before this request (its reservation aside)."""
        return int(self.get(CODES, 0)) - self.reserved

    def changes(self) -> tuple[Fields, set[str]]:
        """(fields to write, fields to delete) since loading; the code count is only ever added to."""
        now = self.fields()
        changed = {k: v for k, v in now.items() if self.loaded.get(k) != v and k != CODES}
        return changed, self.loaded.keys() - now.keys()

    @property
    def needs_saving(self) -> bool:
        return self._changed or self.claim is not None or self.codes_added > 0


CODES = "codes"  # wrong one-time codes in this transaction: a counter the store adds to
# The transaction's fields: written only over the version they were read at (see the docstring).
GUARDED = frozenset({"tx", "idx", CODES})


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


@dataclass(frozen=True)
class Record:
    created: float  # wall-clock seconds
    fields: Fields
    version: int  # how many times the transaction's fields were written


@dataclass(frozen=True)
class Hit:
    """One rate limit `begin` checks: its name (for metrics), and the key it counts under, or
    None for the session's own limit (one per transaction, kept in the record)."""

    name: str
    key: str | None
    rate: Rate


@dataclass(frozen=True)
class Opened:
    record: Record | None  # None: no live session
    wait: float = 0.0  # > 0: the limit named `limited` refused the request (nothing claimed)
    limited: str | None = None
    claimed: bool = False  # the claim asked for was taken (False: another request holds it)
    reserved: int = 0  # wrong codes counted in advance with the claim (given back by `commit`)


class Committed(enum.Enum):
    WRITTEN = "written"
    STALE = "stale"  # the transaction had moved on: its fields were left as they were
    GONE = "gone"  # the record ended (signed out, expired) while the request ran


class SessionStore(AbstractStorage):
    """What every store does: cookie in, record out, and back. Stores implement `read`, `begin`,
    `create`, `commit` and `delete` on records of fields, with the idle and absolute lifetimes."""

    def __init__(self, *, secure: bool, idle_seconds: int, absolute_seconds: float, claim_seconds: float = 30.0):
        super().__init__(cookie_name=cookie_name(secure), secure=secure, httponly=True, samesite="Lax", path="/")
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self.claim_seconds = claim_seconds  # a claim lapses after this even if its holder died
        # The attributes aiohttp writes after the session id in its Set-Cookie, as it writes them.
        super().save_cookie(probe := web.Response(), "-")
        self._cookie_tail = probe.cookies[self.cookie_name].OutputString()[len(self.cookie_name) + 2 :]

    def save_cookie(self, response: web.StreamResponse, cookie_data: str, *, max_age: int | None = None) -> None:
        # An id goes out as that same header, ready-made (aiohttp's morsel costs ten times more).
        if max_age is None and SESSION_ID.fullmatch(cookie_data) and self.cookie_name not in response.cookies:
            response.headers.add("Set-Cookie", f"{self.cookie_name}={cookie_data}{self._cookie_tail}")
        else:
            super().save_cookie(response, cookie_data, max_age=max_age)

    async def read(self, key: str) -> Record | None:
        """A live record, counting the read as activity; None if there is none."""
        raise NotImplementedError

    async def begin(self, key: str | None, hits: Sequence[Hit], claim: str | None) -> Opened:
        """At once: count `hits` (stopping at the first refused), read the record, and, when
        `claim` is given and the record lives, claim it under that token unless another
        request's claim is still live, counting one wrong code in advance as it takes it (the
        record returned holds it). A claim already under this token is this call run again:
        it stands, and nothing more is counted."""
        raise NotImplementedError

    async def create(self, key: str, fields: Fields) -> None:
        raise NotImplementedError

    async def commit(
        self,
        key: str,
        version: int,
        changed: Fields,
        removed: set[str],
        *,
        release: str | None,
        codes: int,
        returned: int = 0,
    ) -> Committed:
        """Write changed fields and delete removed ones (the `GUARDED` ones only if the record is
        still at `version`, then counted as a new version), add `codes` to the code count, and
        give back the claim `release` if it is still this request's, with the `returned` codes
        reserved under it if the record is still at `version` (else they stay counted)."""
        raise NotImplementedError

    async def delete(self, key: str) -> None:
        raise NotImplementedError

    def _cookie_key(self, request: web.Request) -> str | None:
        key = self.load_cookie(request)
        return key if isinstance(key, str) and 0 < len(key) <= 64 else None

    async def load_session(self, request: web.Request) -> Session:
        key = self._cookie_key(request)
        return self._session(key, await self.read(key) if key else None)

    async def open_session(
        self, request: web.Request, hits: Sequence[Hit], claim: bool
    ) -> tuple[StoredSession, Opened]:
        """This browser's session through `begin`: the limits counted and, with `claim`, the
        record claimed for this request (`session.claim` holds the token until it is saved)."""
        key = self._cookie_key(request)
        token = secrets.token_urlsafe(12) if claim and key else None
        opened = await self.begin(key, hits, token)
        session = self._session(key, opened.record)
        if opened.claimed:
            session.claim, session.reserved = token, opened.reserved
        return session, opened

    @staticmethod
    def _session(key: str | None, found: Record | None) -> StoredSession:
        if found is None:
            return StoredSession(None, {}, time.time())
        return StoredSession(key, found.fields, found.created, found.version)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        key = session.identity
        if session.empty:
            await self.forget(key)
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
            result = await self.commit(
                key,
                session.version,
                changed,
                removed,
                release=session.claim,
                codes=session.codes_added,
                returned=0 if session.staked else session.reserved,
            )
            session.claim, session.codes_added, session.reserved, session.staked = None, 0, 0, False
            if result is Committed.GONE:
                return  # ended (signed out, expired) while this request ran: never bring it back
        self.save_cookie(response, key)

    async def forget(self, key: str | None) -> None:
        if key:
            await self.delete(key)

    async def new_session(self) -> Session:
        return StoredSession(None, {}, time.time())


class _Entry:
    """A record in memory: its fields and the bookkeeping the Redis store keeps beside them."""

    __slots__ = ("touched", "created", "fields", "version", "claim", "claim_until", "tat")

    def __init__(self, now: float, fields: Fields):
        self.touched = self.created = now
        self.fields = fields
        self.version = 0
        self.claim: str | None = None
        self.claim_until = self.tat = 0.0  # tat: the session's own limit (GCRA state)


def add_codes(fields: Fields, count: int) -> None:
    """Add `count` (perhaps negative) to a record's code count; a count of 0 is no field at all."""
    if count:
        total = int(fields.get(CODES, "0")) + count
        if total > 0:
            fields[CODES] = str(total)
        else:
            fields.pop(CODES, None)


class MemoryStorage(SessionStore):
    """Sessions in this process's memory, evicted when idle for `idle_seconds`, older than
    `absolute_seconds` however active, or beyond `max_entries` (least recently used first).
    Limits counted by `begin` under a key keep their state here too, as bounded."""

    def __init__(
        self,
        *,
        secure: bool,
        idle_seconds: int,
        max_entries: int,
        absolute_seconds: float = 12 * 3600,
        claim_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(
            secure=secure, idle_seconds=idle_seconds, absolute_seconds=absolute_seconds, claim_seconds=claim_seconds
        )
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._limits = GcraTable(max_keys=max(10_000, max_entries), clock=clock)

    def __len__(self) -> int:
        return len(self._data)

    def records(self) -> list[Fields]:
        """Every live record's fields (for tests and operators)."""
        return [entry.fields for entry in self._data.values()]

    def _live(self, key: str | None, now: float) -> _Entry | None:
        if not key or (entry := self._data.get(key)) is None:
            return None
        if now - entry.touched > self.idle_seconds or now - entry.created > self.absolute_seconds:
            del self._data[key]  # an expired id stays dead: its cookie finds nothing
            return None
        # Any request is activity, even one that changes nothing (and so saves nothing).
        entry.touched = now
        self._data.move_to_end(key)
        return entry

    def _record(self, entry: _Entry, now: float) -> Record:
        return Record(time.time() - (now - entry.created), dict(entry.fields), entry.version)

    async def read(self, key: str) -> Record | None:
        entry = self._live(key, now := self._clock())
        return self._record(entry, now) if entry else None

    async def begin(self, key: str | None, hits: Sequence[Hit], claim: str | None) -> Opened:
        now = self._clock()
        entry = self._live(key, now)
        for hit in hits:
            if hit.key is None:
                if entry is None:
                    continue
                entry.tat, wait = gcra(entry.tat, now, hit.rate)
            else:
                wait = self._limits.hit(hit.key, hit.rate)
            if wait:
                return Opened(None if entry is None else self._record(entry, now), wait=wait, limited=hit.name)
        if entry is None or claim is None:
            return Opened(None if entry is None else self._record(entry, now))
        if entry.claim != claim:  # the same token: this call run again, and its claim stands
            if entry.claim is not None and entry.claim_until > now:
                return Opened(self._record(entry, now), claimed=False)  # another request's claim is live
            entry.claim, entry.claim_until = claim, now + self.claim_seconds
            add_codes(entry.fields, 1)
        return Opened(self._record(entry, now), claimed=True, reserved=1)

    async def create(self, key: str, fields: Fields) -> None:
        self._data[key] = _Entry(self._clock(), fields)
        self._sweep()

    async def commit(
        self,
        key: str,
        version: int,
        changed: Fields,
        removed: set[str],
        *,
        release: str | None,
        codes: int,
        returned: int = 0,
    ) -> Committed:
        entry = self._data.get(key)
        if entry is None:
            return Committed.GONE
        add_codes(entry.fields, codes)
        if release is not None and entry.claim == release:
            if entry.version == version:
                add_codes(entry.fields, -returned)
            entry.claim = None
        guarded = not (GUARDED.isdisjoint(changed) and GUARDED.isdisjoint(removed))
        current = not guarded or entry.version == version
        entry.fields.update(changed if current else {k: v for k, v in changed.items() if k not in GUARDED})
        for k in removed:
            if current or k not in GUARDED:
                entry.fields.pop(k, None)
        if guarded and current:
            entry.version += 1
        entry.touched = self._clock()
        self._data.move_to_end(key)
        return Committed.WRITTEN if current else Committed.STALE

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def _sweep(self) -> None:
        now = self._clock()
        while self._data:
            oldest_key, entry = next(iter(self._data.items()))
            expired = now - entry.touched > self.idle_seconds or now - entry.created > self.absolute_seconds
            if not expired and len(self._data) <= self.max_entries:
                break
            del self._data[oldest_key]
