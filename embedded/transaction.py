"""What one browser is in the middle of: the IDX transaction record kept in its session.

It holds the interaction handle, the PKCE verifier, state, nonce, when it began, and the
latest IDX response (so rendering a page costs no upstream call). `version` counts the
responses stored; every form carries it so a stale tab is recognised.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

from . import oidc

SESSION_FIELD = "tx"


@dataclass
class Transaction:
    interaction_handle: str
    verifier: str
    state: str
    nonce: str
    created_at: float = field(default_factory=time.time)
    version: int = 0
    response: dict[str, Any] | None = None
    poll_not_before: float = 0.0  # no upstream poll before this time, whatever the browser asks
    via_idp: bool = False  # the browser went to the org (an identity provider) and so holds an Okta session
    acr_values: str | None = None  # step-up asked for: the ID token must say it was done
    max_age: int | None = None
    return_to: str = "/"  # where to go after sign-in: a path on this site, checked at the start
    failed_codes: int = 0  # one-time codes refused so far; the transaction ends at MAX_FAILED_CODES
    user: str | None = None  # the hashed identifier for event logs, once the person has typed it
    hosted: bool = False  # the redirect model: the org's own sign-in page, answered with an authorization code
    # A journey to begin once the Identity Engine offers it: "recover" on an identifier-first org,
    # whose recovery starts only after the person has said who they are.
    journey: str | None = None

    def remember(self, response: dict[str, Any]) -> None:
        self.response = response
        self.version += 1


def new_secrets() -> tuple[str, str, str]:
    """A fresh PKCE verifier, state and nonce for one transaction."""
    return oidc.new_verifier(), oidc.random_value(), oidc.random_value()


def load(session: MutableMapping[str, Any], max_age_seconds: float, now: float | None = None) -> Transaction | None:
    raw = session.get(SESSION_FIELD)
    if not isinstance(raw, dict):
        return None
    try:
        tx = Transaction(**raw)
    except TypeError:
        clear(session)
        return None
    if (now or time.time()) - tx.created_at > max_age_seconds:
        clear(session)
        return None
    return tx


def save(session: MutableMapping[str, Any], tx: Transaction) -> None:
    session[SESSION_FIELD] = asdict(tx)


def clear(session: MutableMapping[str, Any]) -> None:
    session.pop(SESSION_FIELD, None)
