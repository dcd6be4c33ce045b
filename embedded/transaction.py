"""What one browser is in the middle of: the IDX transaction record kept in its session.

The record (`tx`) holds the interaction handle, the PKCE verifier, state, nonce, when it began,
and `version`, which counts the responses stored; every form carries it so a stale tab is
recognised. The wrong one-time codes it has had are a counter of their own beside it
(`sessions.CODES`), which concurrent requests can only add to. The latest IDX response sits
beside it in a field of its own (`idx`), so rendering
a page costs no upstream call. That field stays the JSON text it is stored as, and its text is
parsed at most once per process (`PARSED` keeps the last few hundred parsed responses by their
text): showing a step and taking its answer reuse what storing it parsed.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass, field, fields
from typing import Any

from . import oidc
from .idx_models import IdxResponse, parse
from .sessions import CODES, field_text, set_field_text

SESSION_FIELD = "tx"
RESPONSE_FIELD = "idx"


@dataclass
class Transaction:
    interaction_handle: str
    verifier: str
    state: str
    nonce: str
    created_at: float = field(default_factory=time.time)
    version: int = 0
    poll_not_before: float = 0.0  # no upstream poll before this time, whatever the browser asks
    via_idp: bool = False  # the browser went to the org (an identity provider) and so holds an Okta session
    acr_values: str | None = None  # step-up asked for: the ID token must say it was done
    max_age: int | None = None
    return_to: str = "/"  # where to go after sign-in: a path on this site, checked at the start
    user: str | None = None  # the hashed identifier for event logs, once the person has typed it
    hosted: bool = False  # the redirect model: the org's own sign-in page, answered with an authorization code
    # A journey to begin once the Identity Engine offers it: "recover" on an identifier-first org,
    # whose recovery starts only after the person has said who they are.
    journey: str | None = None


FIELD_NAMES = tuple(f.name for f in fields(Transaction))


class ParsedResponses:
    """The last `size` parsed responses by their JSON text. Parsed responses are frozen, so one
    may serve every request that shows or answers the same step."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, IdxResponse] = OrderedDict()

    def get(self, text: str) -> IdxResponse | None:
        found = self._items.get(text)
        if found is not None:
            self._items.move_to_end(text)
        return found

    def put(self, text: str, parsed: IdxResponse) -> None:
        self._items[text] = parsed
        self._items.move_to_end(text)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


# Enough for the page shown right after its step's answer, on this instance. Each entry is a few
# thousand objects the cycle collector walks while it lives: more of them only lengthen its pauses.
PARSED = ParsedResponses(64)


def new_secrets() -> tuple[str, str, str]:
    """A fresh PKCE verifier, state and nonce for one transaction."""
    return oidc.new_verifier(), oidc.random_value(), oidc.random_value()


def load(session: MutableMapping[str, Any], max_age_seconds: float, now: float | None = None) -> Transaction | None:
    raw = session.get(SESSION_FIELD)
    if not isinstance(raw, dict):
        return None
    try:
        tx = Transaction(**raw)
    except TypeError:  # a record this version does not know (one written by an older release)
        clear(session)
        return None
    if (now or time.time()) - tx.created_at > max_age_seconds:
        clear(session)
        return None
    return tx


def save(session: MutableMapping[str, Any], tx: Transaction) -> None:
    # A shallow copy: every field is a str, number, bool or None.
    session[SESSION_FIELD] = {name: getattr(tx, name) for name in FIELD_NAMES}


def remember(
    session: MutableMapping[str, Any],
    tx: Transaction,
    body: dict[str, Any],
    parsed: IdxResponse,
    *,
    text: str | None = None,
) -> None:
    """Store a new response (its body, or `text` when that is the body as it came, and what
    parsing it gave) and the record that counts it."""
    text = text if text is not None else json.dumps(body, separators=(",", ":"))
    PARSED.put(text, parsed)
    set_field_text(session, RESPONSE_FIELD, text)
    tx.version += 1
    save(session, tx)


def response_text(session: MutableMapping[str, Any]) -> str | None:
    """The stored response, as the JSON text it is kept as."""
    return field_text(session, RESPONSE_FIELD)


def response(session: MutableMapping[str, Any]) -> IdxResponse | None:
    """The stored response, parsed; None when there is none (NotAnIdxResponse if it no longer
    parses)."""
    text = response_text(session)
    if text is None:
        return None
    found = PARSED.get(text)
    if found is None:
        found = parse(json.loads(text))
        PARSED.put(text, found)
    return found


def clear(session: MutableMapping[str, Any]) -> None:
    for key in (SESSION_FIELD, RESPONSE_FIELD, CODES):  # CODES: the wrong codes it counted
        if key in session:
            del session[key]  # not pop(): that would decode the field only to drop it
