"""One sign-in transaction (what /v1/interact or /v1/authorize starts), the authenticator in play
in it, and the refusal a submission can raise. The engine (engine.py, submissions.py) moves a
transaction from step to step; the document builder (documents.py) turns its current step into an
Ion document. Below all of them: it imports only the org."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .org import Client, Enrollment, User


@dataclass
class Challenge:
    """An authenticator in play in a transaction: being verified (`enrollment` set) or enrolled
    (`data` collects what the new enrollment will hold)."""

    key: str
    purpose: str  # verify | enroll | reset | reenroll
    method: str | None = None
    enrollment: Enrollment | None = None
    data: dict = field(default_factory=dict)
    code: str | None = None
    code_expires: float = 0.0
    push_id: str | None = None
    activation_id: str | None = None  # Okta Verify enrollment: the outbox activation the device answers
    sends: int = 0
    failures: int = 0  # wrong one-time codes or answers so far

    @property
    def known_enrollment(self) -> Enrollment:
        """The enrollment being verified (verification only: enrolling has none yet)."""
        if self.enrollment is None:
            raise RuntimeError(f"{self.key} {self.purpose}: no enrollment in play")
        return self.enrollment


# A field error: (remediation name, path of field names inside it, message).
FieldError = tuple[str, list[str], dict]


class Reject(Exception):
    """A submission the current state refuses: re-render the state with these messages."""

    def __init__(self, status: int, message: dict | None = None, field_error: FieldError | None = None):
        super().__init__(status)
        self.status, self.message, self.field_error = status, message, field_error


class StateError(RuntimeError):
    """The transaction is not in a state the code asking for it assumes (a bug, not bad input)."""


@dataclass
class Transaction:
    interaction_handle: str
    state_handle: str
    client: Client
    redirect_uri: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str
    lifetime: float
    expires_at: float = 0.0
    flow: str = "login"  # login | recover | unlock | register | activation-expired
    step: str = "identify"
    user: User | None = None
    verified: list[str] = field(default_factory=list)
    amr: list[str] = field(default_factory=list)
    challenge: Challenge | None = None
    candidates: list[str] = field(default_factory=list)
    enroll_options: list[str] = field(default_factory=list)
    skippable: bool = False
    skipped: bool = False
    password_warned: bool = False  # the expiring-password prompt was answered or skipped
    terminal: list[dict] = field(default_factory=list)
    interaction_code: str | None = None
    auth_time: float = 0.0
    autofill_challenge: bytes | None = None  # passkey autofill on the first page
    promoted: bool = False  # the passkey invitation was answered (created or skipped)
    acr: str | None = None  # the acr_values value chosen for this transaction (step-up)
    max_age: int | None = None
    idp: str | None = None  # the identity provider that signed the user in (social), else Okta
    profiled: bool = False  # progressive profiling answered or skipped
    kmsi: bool | None = None  # the "Stay signed in?" answer, once asked
    consent_scopes: list[str] = field(default_factory=list)  # scopes the consent page asks about
    declined: list[str] = field(default_factory=list)  # optional scopes the person unticked
    consented: bool = False
    # /v1/authorize: the simulator's origin, whose own sign-in pages (hosted.py) drive this
    # transaction and send an authorization code to redirect_uri. None: the client drives IDX
    # (/v1/interact) and exchanges the interaction code.
    hosted_origin: str | None = None
    authorization_code: str | None = None
    # User enumeration prevention: the "user" is a stand-in for an unknown, staged or locked-out
    # identifier (Engine.phantom), answered as an existing user would be but never verified.
    phantom: bool = False
    # Self-service unlock done in this transaction: the sign-in goes on (Engine.advance).
    unlocked: bool = False

    @property
    def grant_type(self) -> str:
        """The grant that exchanges this transaction's code at /v1/token."""
        return "interaction_code" if self.hosted_origin is None else "authorization_code"

    def touch(self) -> None:
        self.expires_at = time.time() + self.lifetime

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at

    @property
    def known_user(self) -> User:
        """The identified user, for steps that only exist once someone is identified."""
        if self.user is None:
            raise StateError(f"step {self.step} needs an identified user")
        return self.user

    @property
    def active_challenge(self) -> Challenge:
        """The authenticator in play, for steps that only exist while one is."""
        if self.challenge is None:
            raise StateError(f"step {self.step} needs an authenticator in play")
        return self.challenge


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))
