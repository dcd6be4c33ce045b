"""What every authenticator kind shares: the `Kind` interface the engine calls (describe, start a
challenge, check an answer, enroll), the `Services` of the engine a kind may use (so that kinds
never import the engine), the `Error` a rejected answer raises, and small helpers (codes, masks,
phone numbers, QR codes)."""

from __future__ import annotations

import base64
import io
import re
import secrets
from collections.abc import Iterable
from typing import Any, Protocol

import segno

from .duo import DuoKeys
from .ion import Json
from .ion import field as fld
from .org import Enrollment, Org, User
from .outbox import Outbox
from .transaction import Challenge, Transaction

CODE_LIFETIME = 300  # seconds an emailed / texted code stays valid
SEND_LIMIT = 5  # messages (codes, pushes, activation links) one challenge may send before throttling


class Services(Protocol):
    """What of the engine an authenticator kind (and the document builder) may use: the org, the
    outbox, the spent YubiKey OTPs, the fake Duo's keys, FastPass's loopback challenge."""

    org: Org
    issuer: str | None
    outbox: Outbox
    spent_otps: set[str]
    duo: DuoKeys

    @property
    def dead_port(self) -> int: ...

    def loopback_challenge(self, tx: Transaction) -> str: ...


class Error(Exception):
    """A rejected answer: message name (ion.MSG), field path inside `credentials` (None: a global
    message), HTTP status."""

    def __init__(
        self, name: str, path: Iterable[str] | None = ("passcode",), status: int = 401, params: tuple[Any, ...] = ()
    ):
        super().__init__(name)
        self.name, self.status, self.params = name, status, params
        self.path = list(path) if path is not None else None


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***{local[-1:] if len(local) > 1 else ''}@{domain}"


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return f"+{digits[:-10] or '1'} XXX-XXX-{digits[-4:]}"


def e164(raw: object) -> str:
    """The number in E.164 form, or an Error for something that cannot be a phone number."""
    number = re.sub(r"[\s().-]", "", str(raw or ""))
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", number):  # ASCII digits (\d takes any script's)
        raise Error("invalid_phone", path=("phoneNumber",), status=400)
    return number


def qr_png(text: str) -> dict:
    """`contextualData.qrcode` as Okta sends it: an embedded PNG data URI."""
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=4)
    return {
        "method": "embedded",
        "href": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
        "type": "image/png",
    }


class Kind:
    key = ""
    type = ""
    label = ""
    enrollable = True
    amr = "otp"
    # Okta presents some authenticators being verified as `currentAuthenticator` (not the enrollment).
    current_authenticator = False
    resendable = True  # a `resend` action beside a sent code or push
    challenge_step = "challenge-authenticator"  # the step verifying it (push methods poll instead)
    logo: str | None = None  # path on the simulator of the `logoUri` image

    def methods(self, org: Org) -> list[str]:
        return [self.type]

    def methods_for(self, org: Org, enrollment: Enrollment | None) -> list[str]:
        """The methods one enrollment offers (most offer all of the authenticator's)."""
        return self.methods(org)

    def describe(self, org: Org) -> Json:
        d: Json = {
            "type": self.type,
            "key": self.key,
            "id": org.authenticator_id(self.key),
            "displayName": self.label,
        }
        if self.logo:
            d["logoUri"] = self.logo  # made absolute on the simulator's origin by the renderer
        d["methods"] = [{"type": m} for m in self.methods(org)]
        return d

    def describe_enrollment(self, org: Org, user: User, enrollment: Enrollment) -> dict:
        d = self.describe(org)
        d["id"] = enrollment.id
        d["authenticatorId"] = org.authenticator_id(self.key)
        d["methods"] = [{"type": m} for m in self.methods_for(org, enrollment)]
        profile = self.profile(user, enrollment)
        if profile:
            d["profile"] = profile
        if enrollment.data.get("nickname"):
            d["nickname"] = enrollment.data["nickname"]
        return d

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return None

    def needs_method_choice(self, org: Org) -> bool:
        return len(self.methods(org)) > 1

    # -- verification
    def start(self, engine: Services, tx: Transaction, ch: Challenge) -> None:
        """Send whatever the user needs to answer (a code, a push)."""

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [fld("passcode", "Enter code")]

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        raise NotImplementedError

    def contextual_data(self, engine: Services, tx: Transaction, ch: Challenge) -> dict | None:
        return None

    def contextual(self, engine: Services, tx: Transaction, ch: Challenge, origin: str) -> dict | None:
        """`contextualData` as rendered for a client of the simulator at `origin`."""
        return self.contextual_data(engine, tx, ch)

    # -- enrollment
    def enrollment_data_fields(self, org: Org) -> list[dict] | None:
        """Fields of `authenticator-enrollment-data` when enrolling needs input first (phone)."""
        return None

    def enroll_option_fields(self, org: Org) -> list[dict] | None:
        """Fields of this authenticator's option in `select-authenticator-enroll` (None: id + method)."""
        return None

    def enroll_method(self, requested: str | None, org: Org) -> str | None:
        return requested or self.methods(org)[0]

    def enroll_answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return self.answer_fields(org, ch)

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        """Start enrolling; returns the next step when it is not `enroll-authenticator`."""
        self.start(engine, tx, ch)
        return None

    def check_enroll(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        self.check(engine, tx, ch, creds)

    def amr_for(self, ch: Challenge) -> str:
        return self.amr


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode()
