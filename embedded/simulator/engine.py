"""The remediation state machine: a transaction, the org's policies, and a submission give the next
Ion document. Policy-driven: what is asked next follows from the user's enrollments, the sign-on,
enrollment, recovery and unlock policies, never from a script."""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import jwt
from webauthn.helpers import bytes_to_base64url

from . import duo, ion
from .authenticators import KINDS, SEND_LIMIT, Challenge, Error, kind, password_problem
from .ion import field as fld
from .ion import fixed, form, msg
from .org import Client, Enrollment, Org, User, stable_id
from .outbox import Outbox

CODE_LIFETIME = 60  # seconds an interaction code can be exchanged
# Wrong one-time codes (or security answers) one challenge accepts; the next ends the transaction
# with Okta's suspended-factor error, and the user starts a new sign-in.
MAX_CODE_ATTEMPTS = 5
CODE_ERRORS = {"passcode_invalid", "answer_wrong", "vip_invalid"}

METHOD_LABELS = {"sms": "SMS", "voice": "Voice call", "push": "Get a push notification", "totp": "Enter a code",
                 "signed_nonce": "Use Okta FastPass"}
LOOPBACK_AUDIENCE = "okta-verify-loopback"  # the challengeRequest JWT's audience: the device
POLL_ENDPOINTS = {"challenge/poll", "authenticators/poll"}
# Steps once the user is authenticated (and the expired-activation page): no authenticator lists.
AFTER_AUTHENTICATION = ("profile-update", "keep-me-signed-in", "consent", "granular-consent", "request-activation-email")

# Step-up (acr_values): what each value asks beyond the sign-on policy.
ACR_2FA, ACR_2FA_IFPOSSIBLE, ACR_PWD = "urn:okta:loa:2fa:any", "urn:okta:loa:2fa:any:ifpossible", "urn:okta:loa:1fa:pwd"
# `phr` (phishing-resistant) and `phrh` (hardware-protected) are met by these factors (their amr):
# WebAuthn (hwk), a smart card (sc), Okta FastPass (pop); hardware-protected keys: FastPass only.
STRONG_AMR = {"phr": {"hwk", "sc", "pop"}, "phrh": {"pop"}}

# What an administrator's email carries: the user attribute holding the token, the app path the
# link opens, the subject.
ADMIN_EMAILS = {
    "activation-email": ("activation_token", "/activate", "Activate your {org} account"),
    "reset-email": ("recovery_token", "/reset-password", "Reset your {org} password"),
}

# Which offered forms each IDX endpoint serves (a submission must match an offered form).
ENDPOINT_FORMS = {
    "identify": {"identify", "identify-recovery", "select-identify"},
    "challenge": {"select-authenticator-authenticate", "authenticator-verification-data",
                  "select-authenticator-unlock-account", "resend"},
    "challenge/answer": {"challenge-authenticator", "enroll-authenticator", "reenroll-authenticator",
                         "reenroll-authenticator-warning", "reset-authenticator"},
    "challenge/answer/webauthn-autofillui": {"challenge-webauthn-autofillui-authenticator"},
    "challenge/poll": {"challenge-poll", "enroll-poll", "poll"},
    "authenticators/poll": {"challenge-poll"},
    "authenticators/poll/cancel": {"cancel-polling"},
    "challenge/resend": {"resend"},
    "challenge/send": {"enrollment-channel-data"},
    "credential/enroll": {"select-authenticator-enroll", "authenticator-enrollment-data", "select-enrollment-channel",
                          "enroll-authenticator-promotion"},
    "enroll": {"select-enroll-profile"},
    "enroll/new": {"enroll-profile", "profile-update"},
    "enroll/update": {"profile-update"},
    "consent": {"consent", "granular-consent"},
    "keep-me-signed-in": {"keep-me-signed-in"},
    "request-activation": {"request-activation-email"},
    "recover": {"recover"},
    "skip": {"skip"},
    "unlock-account": {"unlock-account"},
}


class Reject(Exception):
    """A submission the current state refuses: re-render the state with these messages."""

    def __init__(self, status: int, message: dict | None = None, field_error=None):
        super().__init__(status)
        self.status, self.message, self.field_error = status, message, field_error


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
    flow: str = "login"  # login | recover | unlock | register
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

    def touch(self) -> None:
        self.expires_at = time.time() + self.lifetime

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


class Engine:
    def __init__(self, org: Org, outbox: Outbox, issuer: str | None = None):
        self.org = org
        self.outbox = outbox
        self.issuer = issuer  # None: derived from each request's origin
        self.sessions: list[dict] = []  # each completed sign-in, as the Okta session it would start
        self.transactions: dict[str, Transaction] = {}  # by interaction handle and by state handle
        self.codes: dict[str, tuple[Transaction, float]] = {}
        self.spent_otps: set[str] = set()  # YubiKey OTPs already used (each works once)
        self.duo = duo.DuoKeys()  # the fake Duo's keys (see duo.py)
        self.device_key = secrets.token_bytes(32)  # signs FastPass challengeRequests (HS256)
        self.loopback: dict[str, Transaction] = {}  # FastPass challenges by id
        self._dead_port: int | None = None

    # ---------------------------------------------------------------- transactions
    def begin(self, client: Client, redirect_uri: str, scopes: list[str], state, nonce, code_challenge,
              user: User | None = None, flow: str = "login", acr: str | None = None,
              max_age: int | None = None) -> Transaction:
        tx = Transaction(
            interaction_handle=secrets.token_urlsafe(32), state_handle="02" + secrets.token_urlsafe(48),
            client=client, redirect_uri=redirect_uri, scopes=scopes, state=state, nonce=nonce,
            code_challenge=code_challenge, lifetime=self.org.transaction_minutes * 60, acr=acr, max_age=max_age,
        )
        tx.touch()
        self._forget_stale()
        self.transactions[tx.interaction_handle] = self.transactions[tx.state_handle] = tx
        if user is not None:
            tx.user, tx.flow = user, flow
            if flow == "recover":
                self._start_reset(tx)
            elif flow == "activation-expired":
                self._activation_expired(tx)
            else:
                self.advance(tx)
        return tx

    def _activation_expired(self, tx: Transaction) -> None:
        """An activation link past its expiry: Okta offers a new email (or, when the org does not
        let people ask, says to contact the administrator)."""
        if self.org.request_activation_email:
            tx.step = "request-activation-email"
        else:
            tx.step, tx.terminal = "terminal", [msg("activation_expired_admin")]

    # ---------------------------------------------------------------- emails with tokens
    def send_token_email(self, user: User, what: str, app_url: str, expires_in: float | None = None) -> tuple[str, str]:
        """An activation or password-reset email: a fresh single-use token stored on the user (it
        replaces any earlier one, so only the newest email works) and the email in the outbox,
        linking to `{app_url}/activate?token=…` or `/reset-password?token=…`. (link, token)."""
        attr, path, subject = ADMIN_EMAILS[what]
        token = secrets.token_urlsafe(24)
        setattr(user, attr, token)
        if what == "activation-email":
            lifetime = self.org.activation_token_days * 86400 if expires_in is None else expires_in
            user.activation_expires_at = time.time() + lifetime
        link = f"{app_url}{path}?{urlencode({'token': token})}"
        self.outbox.send(user.email, "email", link=link, subject=subject.format(org=self.org.name))
        return link, token

    def _forget_stale(self) -> None:
        """Drop transactions long expired, and spent or stale codes, so a long benchmark stays small.
        (A forgotten handle gets the same 401 idx.session.expired as an expired one.)"""
        now = time.time()
        for handle, tx in list(self.transactions.items()):
            if tx.expires_at < now - tx.lifetime:
                del self.transactions[handle]
        for code, (_, until) in list(self.codes.items()):
            if until < now:
                del self.codes[code]

    def find(self, handle: str | None) -> Transaction | None:
        return self.transactions.get(handle or "")

    def expire(self, tx: Transaction) -> None:
        tx.expires_at = 0.0

    def expire_all(self) -> None:
        for tx in self.transactions.values():
            tx.expires_at = 0.0

    def redeem(self, code: str) -> Transaction | None:
        """The transaction an unexpired, unused interaction code belongs to; the code is spent."""
        found = self.codes.get(code)
        if not found or time.time() > found[1]:
            return None
        return found[0]

    def spend(self, code: str) -> None:
        self.codes.pop(code, None)

    # ---------------------------------------------------------------- submissions
    def submit(self, endpoint: str, tx: Transaction, body: dict, origin: str) -> tuple[int, dict]:
        tx.touch()
        if endpoint == "introspect":
            return 200, self.render(tx, origin)
        if endpoint == "cancel":
            self._reset(tx)
            return 200, self.render(tx, origin)
        offered = self.offered(tx, origin)
        if endpoint in POLL_ENDPOINTS and not (ENDPOINT_FORMS[endpoint] & offered):
            # A poll from a page left behind (the magic link or another tab finished the challenge)
            # reads the state the transaction has moved on to, as Okta answers it.
            return 200, self.render(tx, origin)
        if not (ENDPOINT_FORMS.get(endpoint, set()) & offered):
            return 400, self.render(tx, origin, [msg("bad_request")])
        try:
            getattr(self, "do_" + endpoint.replace("/", "_").replace("-", "_"))(tx, body)
        except Reject as r:
            doc = self.render(tx, origin, [r.message] if r.message else [])
            if r.field_error:
                form_name, path, message = r.field_error
                if not ion.add_field_message(doc, form_name, path, message):
                    doc.setdefault("messages", ion.messages())["value"].append(message)
            return r.status, doc
        return 200, self.render(tx, origin)

    def offered(self, tx: Transaction, origin: str) -> set[str]:
        doc = self.render(tx, origin)
        names = {r["name"] for r in doc.get("remediation", {}).get("value", [])}
        for top in ("currentAuthenticator", "currentAuthenticatorEnrollment"):
            names |= {v.get("name", k) for k, v in doc.get(top, {}).get("value", {}).items() if isinstance(v, dict) and "rel" in v}
        return names

    def do_identify(self, tx: Transaction, body: dict) -> None:
        form_name = "identify-recovery" if tx.step == "identify-recovery" else "identify"
        identifier = str(body.get("identifier") or "").strip()
        if not identifier:
            raise Reject(400, field_error=(form_name, ["identifier"], msg("required")))
        user = self.org.user(identifier)
        if user is None or user.status == "staged":
            raise Reject(400, msg("unknown_user", identifier, cls="INFO"))
        if tx.client.groups and not set(tx.client.groups) & set(user.groups):
            raise Reject(400, msg("not_assigned"))
        if tx.step == "identify-recovery":
            tx.user = user
            self._offer_recovery(tx)
            return
        if user.status == "locked_out":
            raise Reject(400, msg("locked"))
        creds = body.get("credentials") if isinstance(body.get("credentials"), dict) else {}
        if self.org.first_form == "identifier_password" and self.org.sign_on_rule(user).first == "password":
            if not creds.get("passcode"):
                raise Reject(400, field_error=("identify", ["credentials", "passcode"], msg("required")))
            self._check_password(tx, user, creds, form_name="identify", path=["credentials", "passcode"])
            tx.user = user
            self._verified(tx, "okta_password", "pwd")
        tx.user = user
        self.advance(tx)

    def do_challenge(self, tx: Transaction, body: dict) -> None:
        if tx.step == "select-authenticator-unlock-account":
            identifier = str(body.get("identifier") or "").strip()
            user = self.org.user(identifier)
            if user is None:
                raise Reject(400, msg("unknown_user", identifier, cls="INFO"))
            tx.user = user
        auth = body.get("authenticator")
        if not isinstance(auth, dict) or not auth.get("id"):
            raise Reject(400, field_error=(self._select_form(tx), ["authenticator"], msg("required")))
        key = self._key_for(tx, auth["id"])
        allowed = list(tx.candidates)
        if tx.challenge and tx.challenge.purpose == "verify":
            allowed.append(tx.challenge.key)
        if tx.step == "select-authenticator-unlock-account":
            allowed = self._recovery_keys(tx.user)
        # Several enrollments of one authenticator (two phones) are told apart by enrollmentId.
        mine = tx.user.enrollments_of(key)
        wanted = auth.get("enrollmentId") or next((e.id for e in mine if e.id == auth["id"]), None)
        enrollment = next((e for e in mine if e.id == wanted), None) if wanted else (mine[0] if mine else None)
        if key not in allowed or enrollment is None:
            raise Reject(400, msg("invalid_value"))
        method = auth.get("methodType")
        k = kind(key)
        methods = k.methods_for(self.org, enrollment)
        if method is not None and method not in methods:
            raise Reject(400, msg("invalid_value"))
        if method is None and len(methods) == 1:
            method = methods[0]
        tx.challenge = Challenge(key, "verify", method, enrollment)
        if method is None:
            tx.step = "authenticator-verification-data"
            return
        self._start_challenge(tx)

    def do_challenge_answer(self, tx: Transaction, body: dict) -> None:
        ch = tx.challenge
        creds = body.get("credentials")
        form_name = tx.step
        if not isinstance(creds, dict):
            raise Reject(400, field_error=(form_name, ["credentials"], msg("required")))
        k = kind(ch.key)
        try:
            if ch.purpose == "verify":
                if ch.key == "okta_password":
                    self._check_password(tx, tx.user, creds, form_name, ["credentials", "passcode"])
                else:
                    k.check(self, tx, ch, creds)
            else:
                k.check_enroll(self, tx, ch, creds)
        except Error as e:
            if e.name in CODE_ERRORS:
                ch.failures += 1
                if ch.failures >= MAX_CODE_ATTEMPTS:
                    tx.challenge, tx.step, tx.terminal = None, "terminal", [msg("suspended")]
                    raise Reject(403) from None
            if e.path is None:
                raise Reject(e.status, msg(e.name, *e.params)) from None
            raise Reject(e.status, field_error=(form_name, ["credentials", *e.path], msg(e.name, *e.params))) from None
        user = tx.user
        if ch.purpose == "verify":
            self._verified(tx, ch.key, k.amr_for(ch))
        elif ch.purpose == "enroll":
            if ch.key == "okta_password":
                user.password = ch.data.pop("password")
            self._enrolled(tx, ch)
        else:  # reset / reenroll (expired or expiring): a new password
            user.password = ch.data["password"]
            user.status, user.failed_passwords, user.password_expires_in_days = "active", 0, None
            self._verified(tx, "okta_password", "pwd")
            tx.flow, tx.password_warned = "login", True
        tx.challenge = None
        self.advance(tx)

    def do_challenge_answer_webauthn_autofillui(self, tx: Transaction, body: dict) -> None:
        """A passkey picked from the browser's autofill on the first page: the assertion names the
        user (userHandle, or whose credential verifies) and verifies WebAuthn at once."""
        form_name = "challenge-webauthn-autofillui-authenticator"
        creds = body.get("credentials")
        if not isinstance(creds, dict):
            raise Reject(400, field_error=(form_name, ["credentials"], msg("required")))
        found = kind("webauthn").autofill(self, tx, tx.autofill_challenge or b"", creds)
        if found is None:
            raise Reject(400, msg("webauthn_assertion"))
        user = found[0]
        if user.status == "staged":
            raise Reject(400, msg("unknown_user", user.login, cls="INFO"))
        if tx.client.groups and not set(tx.client.groups) & set(user.groups):
            raise Reject(400, msg("not_assigned"))
        if user.status == "locked_out":
            raise Reject(400, msg("locked"))
        tx.autofill_challenge = None  # each challenge answers once
        tx.user = user
        self._verified(tx, "webauthn", kind("webauthn").amr)
        self.advance(tx)

    def _answer_promotion(self, tx: Transaction, body: dict) -> None:
        """The passkey the invitation asked for: registered like any WebAuthn enrollment."""
        creds = body.get("credentials")
        if not isinstance(creds, dict):
            raise Reject(400, field_error=("enroll-authenticator-promotion", ["credentials"], msg("required")))
        ch = tx.challenge
        try:
            kind("webauthn").check_enroll(self, tx, ch, creds)
        except Error as e:
            raise Reject(e.status, msg(e.name, *e.params)) from None
        self._enrolled(tx, ch)
        tx.challenge, tx.promoted = None, True
        self.advance(tx)

    def _enrolled(self, tx: Transaction, ch: Challenge) -> None:
        user = tx.user
        user.enrollments.append(Enrollment(ch.key, stable_id("enr", user.login, ch.key, secrets.token_hex(4)), ch.data))
        self._verified(tx, ch.key, kind(ch.key).amr_for(ch))

    def do_challenge_poll(self, tx: Transaction, body: dict) -> None:
        ch = tx.challenge
        if tx.step == "enroll-poll":
            activation = self.outbox.find(ch.activation_id)
            if activation and activation.status == "activated":
                ch.data["device_name"] = activation.device_name
                ch.data.pop("uri", None)
                self._enrolled(tx, ch)
                tx.challenge = None
                self.advance(tx)
            return
        if tx.step == "loopback-poll":
            if ch.data.get("answered"):  # Okta Verify on this computer signed the challenge
                self.loopback.pop(ch.data.get("challenge_id"), None)
                self._verified(tx, ch.key, kind(ch.key).amr_for(ch))
                tx.challenge = None
                self.advance(tx)
            return
        if tx.step != "challenge-poll":
            return  # email: nothing arrives out of band here; the same state comes back
        push = self.outbox.find(ch.push_id)
        if push.status == "approved":
            self._verified(tx, ch.key, "mca")
            tx.challenge = None
            self.advance(tx)
        elif push.status == "denied":
            tx.step = "push-rejected"

    def do_authenticators_poll(self, tx: Transaction, body: dict) -> None:
        self.do_challenge_poll(tx, body)

    def do_authenticators_poll_cancel(self, tx: Transaction, body: dict) -> None:
        """The page found no Okta Verify listening on this computer: back to choosing."""
        self.loopback.pop(tx.challenge.data.get("challenge_id"), None)
        tx.challenge, tx.step = None, "select-authenticator-authenticate"

    # ---------------------------------------------------------------- FastPass by loopback
    @property
    def dead_port(self) -> int:
        """A loopback port nobody listens on (offered first, so a page's probe really skips one)."""
        if self._dead_port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self._dead_port = s.getsockname()[1]
        return self._dead_port

    def loopback_challenge(self, tx: Transaction) -> str:
        """The challengeRequest JWT the page hands Okta Verify on this computer."""
        challenge_id = secrets.token_urlsafe(16)
        tx.challenge.data["challenge_id"] = challenge_id
        self.loopback[challenge_id] = tx
        now = int(time.time())
        return jwt.encode({"iss": self.issuer or "embedded-simulator", "aud": LOOPBACK_AUDIENCE, "jti": challenge_id,
                           "sub": tx.user.id, "nonce": secrets.token_urlsafe(16), "challengeMethod": "LOOPBACK",
                           "iat": now, "exp": now + int(tx.lifetime)}, self.device_key, algorithm="HS256")

    def answer_loopback(self, token: str) -> str:
        """Okta Verify on this computer received `token` at /challenge: `answered`, or why not
        (`invalid`: not a challenge we signed; `stale`: no sign-in waits for it; `no_account`:
        the user has no FastPass here)."""
        try:
            claims = jwt.decode(token, self.device_key, algorithms=["HS256"], audience=LOOPBACK_AUDIENCE)
        except jwt.PyJWTError:
            return "invalid"
        tx = self.loopback.get(claims.get("jti", ""))
        ch = tx.challenge if tx is not None and not tx.expired else None
        if ch is None or tx.step != "loopback-poll" or ch.data.get("challenge_id") != claims["jti"]:
            return "stale"
        if not (ch.enrollment and ch.enrollment.data.get("fastpass")):
            return "no_account"
        ch.data["answered"] = True
        return "answered"

    def do_challenge_resend(self, tx: Transaction, body: dict) -> None:
        ch = tx.challenge
        if ch.sends >= SEND_LIMIT:  # Okta throttles resends (E0000150 for SMS, E0000151 for voice)
            raise Reject(429, msg({"sms": "sms_limit", "voice": "voice_limit"}.get(ch.method, "too_many")))
        kind(ch.key).start(self, tx, ch)
        if tx.step == "push-rejected":
            tx.step = "challenge-poll"

    def do_challenge_send(self, tx: Transaction, body: dict) -> None:
        ch = tx.challenge
        try:
            kind(ch.key).send_link(self, tx, ch, body)
        except Error as e:
            raise Reject(e.status, field_error=("enrollment-channel-data", e.path, msg(e.name, *e.params))) from None
        tx.step = "enroll-poll"

    def do_credential_enroll(self, tx: Transaction, body: dict) -> None:
        if tx.step == "enroll-authenticator-promotion":
            return self._answer_promotion(tx, body)
        auth = body.get("authenticator")
        if not isinstance(auth, dict) or not auth.get("id"):
            raise Reject(400, field_error=("select-authenticator-enroll", ["authenticator"], msg("required")))
        key = self._key_for(tx, auth["id"])
        if tx.step == "authenticator-enrollment-data":
            key = key if key == tx.challenge.key else None
        if key not in tx.enroll_options and not (tx.challenge and key == tx.challenge.key):
            raise Reject(400, msg("invalid_value"))
        k = kind(key)
        method = auth.get("methodType")
        if method is not None and method not in k.methods(self.org):
            raise Reject(400, field_error=(tx.step, ["authenticator", "methodType"], msg("invalid_value")))
        before = tx.challenge
        tx.challenge = ch = Challenge(key, "enroll", k.enroll_method(method, self.org))
        if k.enrollment_data_fields(self.org) and not auth.get("phoneNumber"):
            tx.step = "authenticator-enrollment-data"
            return
        try:
            step = k.begin_enroll(self, tx, ch, auth)
        except Error as e:
            if k.enrollment_data_fields(self.org):
                tx.step = "authenticator-enrollment-data"
            else:
                tx.challenge = before
            raise Reject(e.status, msg(e.name, *e.params)) from None
        tx.step = step or "enroll-authenticator"

    def do_enroll(self, tx: Transaction, body: dict) -> None:
        tx.flow, tx.step, tx.user = "register", "enroll-profile", None

    @staticmethod
    def _read_profile(form_name: str, attributes, body: dict, required) -> dict:
        """The `userProfile` values of a submission, checked against `attributes`; `required(a)`
        says whether a blank one is refused."""
        given = body.get("userProfile") if isinstance(body.get("userProfile"), dict) else {}
        profile = {}
        for a in attributes:
            value = given.get(a.name)
            blank = value is None or (isinstance(value, str) and not value.strip())
            if blank:
                if required(a):
                    raise Reject(400, field_error=(form_name, ["userProfile", a.name], msg("required")))
                continue
            ok = (isinstance(value, bool) if a.type == "boolean"
                  else value in a.options if a.type == "enum" else isinstance(value, str))
            ok = ok and (a.max_length is None or len(str(value)) <= a.max_length)
            ok = ok and (a.min_length is None or len(str(value).strip()) >= a.min_length)
            if not ok:
                raise Reject(400, field_error=(form_name, ["userProfile", a.name], msg("invalid_value")))
            profile[a.name] = value.strip() if isinstance(value, str) else value
        return profile

    def do_enroll_new(self, tx: Transaction, body: dict) -> None:
        if tx.step == "profile-update":
            return self._update_profile(tx, body)
        policy = self.org.profile_enrollment
        attributes = [a for a in policy.attributes if a.registration]
        profile = self._read_profile("enroll-profile", attributes, body, lambda a: a.required)
        email = profile.get("email", "")
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            raise Reject(400, field_error=("enroll-profile", ["userProfile", "email"], msg("invalid_email")))
        if self.org.user(email):
            raise Reject(400, field_error=("enroll-profile", ["userProfile", "email"], msg("not_unique", "Email")))
        user = User(login=email, first_name=profile.get("firstName", ""), last_name=profile.get("lastName", ""),
                    groups=list(policy.groups), profile=profile)
        creds = body.get("credentials") if isinstance(body.get("credentials"), dict) else {}
        password = str(creds.get("passcode") or "")
        if policy.password == "required" and not password:
            raise Reject(400, field_error=("enroll-profile", ["credentials", "passcode"], msg("required")))
        if password and policy.password != "none":
            problem = password_problem(self.org, user, password)
            if problem:
                raise Reject(400, field_error=("enroll-profile", ["credentials", "passcode"], msg(*problem)))
        self.org.add_user(user)
        if password and policy.password != "none":
            user.password = password
            user.enrollments.append(Enrollment("okta_password", stable_id("enr", user.login, "okta_password")))
            self._verified(tx, "okta_password", "pwd")
        tx.user = user
        self.advance(tx)

    def do_enroll_update(self, tx: Transaction, body: dict) -> None:
        self._update_profile(tx, body)

    def _update_profile(self, tx: Transaction, body: dict) -> None:
        """Progressive profiling: what the signed-in user was missing, stored on their profile.
        Attributes required at sign-in must be given; optional ones may stay blank."""
        user = tx.user
        asked = self.org.progressive_attributes(user)
        profile = self._read_profile("profile-update", asked, body, lambda a: a.sign_in == "required")
        for name, value in profile.items():
            if name == "firstName":
                user.first_name = value
            elif name == "lastName":
                user.last_name = value
            user.profile[name] = value
        tx.profiled = True
        self.advance(tx)

    def do_consent(self, tx: Transaction, body: dict) -> None:
        """Allow (with the optional scopes the person kept) or don't allow. Granted scopes are
        remembered for this user and client, so the page is not shown again for them."""
        form_name = tx.step
        answer = body.get("consent")
        if not isinstance(answer, bool):
            raise Reject(400, field_error=(form_name, ["consent"], msg("required" if answer is None else "invalid_value")))
        if not answer:  # Okta ends the transaction: 403 with security.access_denied
            tx.step, tx.terminal, tx.challenge = "terminal", [msg("access_denied")], None
            raise Reject(403)
        declined = []
        if form_name == "granular-consent":
            opted = body.get("optedScopes") if isinstance(body.get("optedScopes"), dict) else {}
            for name in tx.consent_scopes:
                if self.org.scope(name).consent != "optional":
                    continue  # immutable: granted with the rest
                value = opted.get(name)
                if not isinstance(value, bool):
                    raise Reject(400, field_error=(form_name, ["optedScopes", name],
                                                   msg("required" if value is None else "invalid_value")))
                if not value:
                    declined.append(name)
        granted = tx.user.grants.setdefault(tx.client.id, [])
        granted.extend(s for s in tx.consent_scopes if s not in declined and s not in granted)
        tx.declined, tx.consented = declined, True
        self.advance(tx)

    def do_keep_me_signed_in(self, tx: Transaction, body: dict) -> None:
        answer = body.get("keepMeSignedIn")
        if not isinstance(answer, bool):
            raise Reject(400, field_error=("keep-me-signed-in", ["keepMeSignedIn"],
                                           msg("required" if answer is None else "invalid_value")))
        tx.kmsi = answer
        self.advance(tx)

    def do_request_activation(self, tx: Transaction, body: dict) -> None:
        """A new activation email for the user whose link expired, to the app the old link served
        (the origin of this transaction's redirect URI). The answer never says more than Okta's."""
        user = tx.user
        if user is not None and user.status == "staged":
            parts = urlsplit(tx.redirect_uri)
            self.send_token_email(user, "activation-email", f"{parts.scheme}://{parts.netloc}")
        tx.user, tx.step, tx.terminal = None, "terminal", [msg("activation_requested", cls="INFO")]

    def do_recover(self, tx: Transaction, body: dict) -> None:
        tx.flow, tx.verified, tx.amr, tx.challenge = "recover", [], [], None
        if tx.user is None:
            tx.step = "identify-recovery"
        else:
            self._offer_recovery(tx)

    def do_skip(self, tx: Transaction, body: dict) -> None:
        if tx.step == "reenroll-authenticator-warning":
            tx.password_warned = True
        elif tx.step == "enroll-authenticator-promotion":
            tx.promoted = True
        elif tx.step == "profile-update":
            tx.profiled = True
        else:
            tx.skipped = True
        self.advance(tx)

    def do_unlock_account(self, tx: Transaction, body: dict) -> None:
        tx.flow, tx.step, tx.user, tx.verified, tx.amr = "unlock", "select-authenticator-unlock-account", None, [], []

    def idp_login(self, tx: Transaction, user: User, idp_id: str) -> None:
        """The user came back from an identity provider: that counts as one factor."""
        self._reset(tx)
        tx.user, tx.idp = user, idp_id
        self._verified(tx, "idp:" + idp_id, "fed")
        self.advance(tx)

    def federated_verified(self, tx: Transaction) -> None:
        """The identity provider behind the factor being verified (external_idp, smart card)
        vouched for the identified user."""
        ch = tx.challenge
        self._verified(tx, ch.key, kind(ch.key).amr)
        tx.challenge = None
        self.advance(tx)

    def smart_card_login(self, tx: Transaction, user: User) -> None:
        """From the first page: the card's certificate identifies the user and proves the card."""
        self._reset(tx)
        tx.user = user
        self._verified(tx, "smart_card_idp", kind("smart_card_idp").amr)
        self.advance(tx)

    # ---------------------------------------------------------------- policy
    def advance(self, tx: Transaction) -> None:
        """Decide the next step from the org's policies and what this transaction has proven."""
        user, org = tx.user, self.org
        tx.challenge, tx.candidates, tx.enroll_options, tx.skippable = None, [], [], False
        if tx.flow == "recover":
            return self._start_reset(tx) if tx.verified else self._offer_recovery(tx)
        if tx.flow == "unlock":  # a recovery factor was verified: unlock, then sign in afresh
            user.status, user.failed_passwords = ("active" if user.status == "locked_out" else user.status), 0
            tx.step, tx.terminal = "terminal", [msg("unlock_success", cls="INFO")]
            return
        if user.status == "password_expired" and "okta_password" in tx.verified:
            tx.challenge = Challenge("okta_password", "reenroll", "password", user.enrollment("okta_password"))
            tx.step = "reenroll-authenticator"
            return
        if "okta_password" in tx.verified and not tx.password_warned and self.password_expiring(user):
            tx.challenge = Challenge("okta_password", "reenroll", "password", user.enrollment("okta_password"))
            tx.step = "reenroll-authenticator-warning"
            return
        rule = org.sign_on_rule(user)
        enabled = [e for e in user.enrollments if e.key in org.authenticators]
        factors = self.factors_needed(tx, rule.factors)
        # Step-up beyond counting: acr 1fa:pwd wants the password, phr / phrh a strong factor.
        needs_password = tx.acr == ACR_PWD and "okta_password" not in tx.verified
        needs_strong = tx.acr in STRONG_AMR and not set(tx.amr) & STRONG_AMR[tx.acr]
        if len(set(tx.verified)) < factors or needs_password or needs_strong:
            if needs_password or (not tx.verified and rule.first == "password" and user.enrollment("okta_password")):
                candidates = ["okta_password"] if user.enrollment("okta_password") else []
            elif needs_strong:
                candidates = list(dict.fromkeys(e.key for e in enabled if e.key not in tx.verified
                                                and self._strong_enough(e, tx.acr)))
            else:
                candidates = list(dict.fromkeys(e.key for e in enabled if e.key not in tx.verified))
            if candidates:
                return self._offer(tx, candidates)
            if needs_password or needs_strong:  # nothing this user has can meet the acr asked for
                tx.step, tx.terminal = "terminal", [msg("access_denied")]
                return
        erule = org.enrollment_rule(user)
        enrolled = set(user.enrolled_keys())
        required = list(erule.required) + (org.profile_enrollment.enroll_required if tx.flow == "register" else [])
        enrollable = [k for k in org.authenticators if KINDS[k].enrollable and k not in enrolled]
        missing = [k for k in enrollable if k in required]
        wanted = max(erule.min_factors, factors)
        optional = [k for k in enrollable if k in erule.optional]
        if missing:
            return self._offer_enroll(tx, missing, skippable=False)
        if len(enrolled) < wanted or len(set(tx.verified)) < factors:
            if not optional:  # the policy cannot be met by this user
                tx.step, tx.terminal = "terminal", [msg("access_denied")]
                return
            return self._offer_enroll(tx, optional, skippable=False)
        if erule.prompt_optional and optional and not tx.skipped:
            return self._offer_enroll(tx, optional, skippable=True)
        if self._invites_passkey(tx):
            tx.challenge = Challenge("webauthn", "enroll", "webauthn")
            kind("webauthn").start(self, tx, tx.challenge)
            tx.step = "enroll-authenticator-promotion"
            return
        # After authentication: progressive profiling, "Stay signed in?", then the app's consent.
        if tx.flow == "login" and not tx.profiled and org.progressive_attributes(user):
            tx.step = "profile-update"
            return
        if tx.flow == "login" and tx.kmsi is None and org.asks_kmsi(user):
            tx.step = "keep-me-signed-in"
            return
        if not tx.consented:
            tx.consent_scopes = [sc.name for sc in org.consent_needed(user, tx.client, tx.scopes)]
            if tx.consent_scopes:
                optional = any(org.scope(sc).consent == "optional" for sc in tx.consent_scopes)
                tx.step = "granular-consent" if optional else "consent"
                return
        self._succeed(tx)

    def factors_needed(self, tx: Transaction, policy_factors: int) -> int:
        """Distinct factors this sign-in needs: the sign-on policy's, raised by acr_values (never
        lowered: Okta evaluates the policy first). `2fa:any:ifpossible` asks for two only of
        users who have two authenticators enrolled."""
        if tx.acr == ACR_2FA:
            return max(policy_factors, 2)
        if tx.acr == ACR_2FA_IFPOSSIBLE:
            usable = {e.key for e in tx.user.enrollments if e.key in self.org.authenticators}
            return max(policy_factors, 2 if len(usable) >= 2 else 1)
        return policy_factors

    @staticmethod
    def _strong_enough(enrollment: Enrollment, acr: str) -> bool:
        if enrollment.key == "okta_verify":
            return bool(enrollment.data.get("fastpass"))  # FastPass signs with a device-bound key
        return acr == "phr" and enrollment.key in ("webauthn", "smart_card_idp")

    def _invites_passkey(self, tx: Transaction) -> bool:
        """After a sign-in, members of the org's promotion groups without a passkey are invited to
        create one (once per transaction; they may skip)."""
        org, user = self.org, tx.user
        return (tx.flow == "login" and not tx.promoted and "webauthn" in org.authenticators
                and bool(set(org.passkey_promotion_groups) & set(user.groups)) and not user.enrollment("webauthn"))

    def password_expiring(self, user: User) -> bool:
        days = user.password_expires_in_days
        return days is not None and days <= self.org.password.expire_warn_days

    def _offer(self, tx: Transaction, candidates: list[str]) -> None:
        tx.candidates = candidates
        if len(candidates) > 1 or len(tx.user.enrollments_of(candidates[0])) > 1:
            tx.step = "select-authenticator-authenticate"
            return
        key = candidates[0]
        k = kind(key)
        tx.challenge = Challenge(key, "verify", None, tx.user.enrollment(key))
        methods = k.methods_for(self.org, tx.challenge.enrollment)
        if len(methods) > 1 and k.needs_method_choice(self.org):
            tx.step = "authenticator-verification-data"
            return
        tx.challenge.method = methods[0]
        self._start_challenge(tx)

    def _start_challenge(self, tx: Transaction) -> None:
        ch = tx.challenge
        kind(ch.key).start(self, tx, ch)
        tx.step = {"push": "challenge-poll", "signed_nonce": "loopback-poll"}.get(ch.method) or kind(ch.key).challenge_step

    def _offer_enroll(self, tx: Transaction, options: list[str], skippable: bool) -> None:
        tx.step, tx.enroll_options, tx.skippable = "select-authenticator-enroll", options, skippable

    def _recovery_keys(self, user: User | None) -> list[str]:
        if user is None:
            return []
        return [k for k in self.org.recovery_authenticators if user.enrollment(k)]

    def _offer_recovery(self, tx: Transaction) -> None:
        keys = self._recovery_keys(tx.user)
        if not keys:
            tx.step, tx.terminal = "terminal", [msg("reset_not_allowed")]
            return
        self._offer(tx, keys)

    def _start_reset(self, tx: Transaction) -> None:
        tx.challenge = Challenge("okta_password", "reset", "password", tx.user.enrollment("okta_password"))
        tx.verified, tx.step = [k for k in tx.verified if k != "okta_password"], "reset-authenticator"

    def _verified(self, tx: Transaction, key: str, amr: str) -> None:
        if key not in tx.verified:
            tx.verified.append(key)
        if amr not in tx.amr:
            tx.amr.append(amr)
        # No Okta session carries over between transactions: every sign-in authenticates afresh,
        # and auth_time is when this one last proved a factor (max_age is always met).
        tx.auth_time = time.time()

    def _check_password(self, tx, user: User, creds: dict, form_name: str, path: list[str]) -> None:
        given = str(creds.get("passcode") or "")
        if user.password and secrets.compare_digest(given.encode(), user.password.encode()):
            user.failed_passwords = 0
            return
        user.failed_passwords += 1
        if self.org.lockout_attempts and user.failed_passwords >= self.org.lockout_attempts:
            user.status = "locked_out"
            self._reset(tx)
            raise Reject(400, msg("locked"))
        raise Reject(401, field_error=(form_name, path, msg("password_incorrect")))

    def _succeed(self, tx: Transaction) -> None:
        if tx.user.status == "staged":  # activation completed
            tx.user.status = "active"
            tx.user.activation_token = tx.user.activation_expires_at = None
        tx.step = "success"
        tx.auth_time = tx.auth_time or time.time()
        tx.interaction_code = secrets.token_urlsafe(32)
        self.codes[tx.interaction_code] = (tx, time.time() + CODE_LIFETIME)
        self.sessions.append({
            "login": tx.user.login, "client_id": tx.client.id, "amr": self.amr(tx), "acr": tx.acr,
            "idp": tx.idp or self.org.id, "auth_time": int(tx.auth_time), "max_age": tx.max_age,
            "keep_me_signed_in": tx.kmsi, "scopes": self.granted_scopes(tx),
        })

    @staticmethod
    def amr(tx: Transaction) -> list[str]:
        return list(tx.amr) + (["mfa"] if len(tx.verified) > 1 else [])

    @staticmethod
    def granted_scopes(tx: Transaction) -> list[str]:
        """The requested scopes less the optional ones declined on the consent page."""
        return [sc for sc in tx.scopes if sc not in tx.declined]

    def _reset(self, tx: Transaction) -> None:
        """Back to the first form (cancel, lockout)."""
        tx.flow, tx.step, tx.user, tx.challenge = "login", "identify", None, None
        tx.verified, tx.amr, tx.candidates, tx.enroll_options, tx.skipped, tx.terminal = [], [], [], [], False, []
        tx.password_warned = tx.promoted = tx.profiled = tx.consented = False
        tx.autofill_challenge, tx.idp, tx.kmsi, tx.consent_scopes, tx.declined = None, None, None, [], []

    def _key_for(self, tx: Transaction, some_id: str) -> str | None:
        """Authenticator key for an authenticator id (or, tolerantly, one of the user's enrollment ids)."""
        key = next((k for k in self.org.authenticators if self.org.authenticator_id(k) == some_id), None)
        if key is None and tx.user is not None:
            key = next((e.key for e in tx.user.enrollments if e.id == some_id), None)
        return key

    def _select_form(self, tx: Transaction) -> str:
        return tx.step if tx.step != "challenge-authenticator" else "select-authenticator-authenticate"

    # ---------------------------------------------------------------- rendering
    def render(self, tx: Transaction, origin: str, messages=()) -> dict:
        return Renderer(self, tx, origin).document(list(messages))

    def error_document(self, name: str, handle: str | None = None) -> dict:
        """Ion body without remediation (expired / unknown handle, rate limited, bad request)."""
        doc = {"version": ion.VERSION}
        if handle:
            doc.update(stateHandle=handle, expiresAt=iso(time.time()), intent="LOGIN")
        doc["messages"] = ion.messages(msg(name))
        return doc


class Renderer:
    """Builds the Ion document for a transaction's current step."""

    def __init__(self, engine: Engine, tx: Transaction, origin: str):
        self.engine, self.org, self.tx, self.origin = engine, engine.org, tx, origin
        self.sh = tx.state_handle

    def href(self, path: str) -> str:
        return f"{self.origin}/idp/idx/{path}"

    def form(self, name, path, fields=(), **kw):
        return form(name, self.href(path), self.sh, fields, **kw)

    def document(self, messages: list[dict]) -> dict:
        tx = self.tx
        doc = {"version": ion.VERSION, "stateHandle": self.sh, "expiresAt": iso(tx.expires_at), "intent": "LOGIN"}
        remediations = []
        current = None  # (top-level key, authenticator object)
        if tx.step == "terminal":
            messages = tx.terminal + messages
        elif tx.step != "success":
            remediations, current = getattr(self, "step_" + tx.step.replace("-", "_"))()
        if tx.step == "push-rejected":
            messages = [msg("push_rejected")] + messages
        if tx.step == "reenroll-authenticator-warning":
            messages = [msg("password_expiring", self.org.name, cls="INFO")] + messages
        if tx.step == "request-activation-email":
            messages = [msg("activation_expired")] + messages
        if remediations:
            doc["remediation"] = ion.array(remediations)
        if messages:
            doc["messages"] = ion.messages(*messages)
        for top, obj in ([current] if isinstance(current, tuple) else current or []):
            doc[top] = ion.obj(obj)
        if tx.step == "select-authenticator-unlock-account":
            doc["authenticators"] = ion.array(self.catalog())
        elif tx.user is not None and tx.step not in ("terminal", "success", *AFTER_AUTHENTICATION):
            doc["authenticators"] = ion.array(self.catalog())
            doc["authenticatorEnrollments"] = ion.array(self.enrollments())
            if tx.step in ("reset-authenticator", "reenroll-authenticator"):
                doc["recoveryAuthenticator"] = ion.obj(self.password_object())
            if tx.challenge and tx.challenge.purpose == "enroll":
                doc["enrollmentAuthenticator"] = ion.obj(kind(tx.challenge.key).describe(self.org))
        if tx.user is not None:
            doc["user"] = ion.obj(self.user())
        if tx.step == "success":
            doc["successWithInteractionCode"] = self.success_form()
        doc["cancel"] = self.form("cancel", "cancel")
        doc["app"] = ion.obj(self.app())
        if self.autofill_offered():
            doc["webauthnAutofillUIChallenge"] = ion.obj(self.autofill_challenge())
        return doc

    # -- shared pieces
    def app(self) -> dict:
        """The client; on consent pages also its terms, privacy policy, logo and home page."""
        client = self.tx.client
        app = {"name": "oidc_client", "label": client.name, "id": client.id}
        if self.tx.step in ("consent", "granular-consent"):
            for key, uri, rel in (("termsOfService", client.terms_uri, "terms-of-service"),
                                  ("privacyPolicy", client.policy_uri, "privacy-policy"),
                                  ("logo", client.logo_uri, "icon"), ("clientUri", client.client_uri, None)):
                if uri:
                    app[key] = {"href": uri, **({"rel": [rel]} if rel else {})}
                    if key == "logo":
                        app[key]["alt"] = f"Logo for {client.name}"
        return app

    def absolute(self, obj: dict) -> dict:
        """Authenticator logos are served by the simulator: their URIs name its origin."""
        if str(obj.get("logoUri", "")).startswith("/"):
            obj["logoUri"] = self.origin + obj["logoUri"]
        return obj

    def catalog(self) -> list[dict]:
        return [self.absolute(kind(k).describe(self.org)) for k in self.org.authenticators]

    def enrollments(self) -> list[dict]:
        u = self.tx.user
        out = []
        for e in u.enrollments:
            if e.key not in KINDS:
                continue
            d = kind(e.key).describe_enrollment(self.org, u, e)
            if e.key == "webauthn":  # what a client puts in allowCredentials
                d["credentialId"] = e.data["credential_id"]
            out.append(self.absolute(d))
        return out

    def user(self) -> dict:
        u = self.tx.user
        return {"id": u.id, "identifier": u.login,
                "profile": {"firstName": u.first_name, "lastName": u.last_name, "timeZone": "UTC", "locale": "en_US"}}

    def password_object(self) -> dict:
        p = kind("okta_password")
        return {**p.describe(self.org), "settings": p.settings(self.org)}

    def success_form(self) -> dict:
        tx = self.tx
        issuer = self.engine.issuer or self.origin + "/oauth2/default"
        fields = [
            fixed("grant_type", "interaction_code"),
            fixed("interaction_code", tx.interaction_code),
            fixed("client_id", tx.client.id),
        ]
        if tx.client.secret:
            fields.append(fld("client_secret", required=True))
        fields.append(fld("code_verifier", required=True))
        return {"name": "issue", "href": f"{issuer}/v1/token", "method": "POST",
                "value": fields, "accepts": "application/x-www-form-urlencoded"}

    def enrollment_index(self, enrollment: Enrollment) -> int:
        return [e for e in self.tx.user.enrollments if e.key in KINDS].index(enrollment)

    def enrollment_id_field(self, enrollment: Enrollment) -> list[dict]:
        """`enrollmentId`, needed only to tell several enrollments of one authenticator apart."""
        several = len(self.tx.user.enrollments_of(enrollment.key)) > 1
        return [fixed("enrollmentId", enrollment.id)] if several else []

    def method_field(self, key: str, enrollment: Enrollment | None = None) -> dict:
        methods = kind(key).methods_for(self.org, enrollment)
        if len(methods) == 1:
            return fixed("methodType", methods[0], required=False)
        return fld("methodType", type="string", required=False, options=ion.choices((m, METHOD_LABELS.get(m, m)) for m in methods))

    def select_authenticate(self, keys: list[str], name="select-authenticator-authenticate", extra=()) -> dict:
        options = []
        for key in keys:
            for e in self.tx.user.enrollments_of(key):
                fields = [fixed("id", self.org.authenticator_id(key)), self.method_field(key, e), *self.enrollment_id_field(e)]
                options.append(ion.option(kind(key).label, fields,
                                          f"$.authenticatorEnrollments.value[{self.enrollment_index(e)}]"))
        return self.form(name, "challenge", [*extra, fld("authenticator", type="object", options=options)])

    def select_enroll(self) -> dict:
        options = []
        for key in self.tx.enroll_options:
            k = kind(key)
            fields = k.enroll_option_fields(self.org) or [fixed("id", self.org.authenticator_id(key)), self.method_field(key)]
            if k.enrollment_data_fields(self.org):
                fields.append(fld("phoneNumber", "Phone number", required=False))
            options.append(ion.option(k.label, fields, f"$.authenticators.value[{self.org.authenticators.index(key)}]"))
        return self.form("select-authenticator-enroll", "credential/enroll",
                         [fld("authenticator", type="object", required=True, options=options)])

    def others(self) -> list[dict]:
        """The 'verify with something else' list offered beside a challenge: other authenticators,
        or another method of this one (SMS / voice, push / code)."""
        keys = [k for k in self.tx.candidates if self.tx.user.enrollment(k)]
        choices = sum(len(self.tx.user.enrollments_of(k)) for k in keys)
        several_methods = len(keys) == 1 and len(kind(keys[0]).methods_for(self.org, self.tx.user.enrollment(keys[0]))) > 1
        return [self.select_authenticate(keys)] if choices > 1 or several_methods else []

    def select_channel(self) -> dict:
        """Okta Verify enrollment: show a QR code, or send the activation link by SMS or email."""
        ov = kind("okta_verify")
        return self.form("select-enrollment-channel", "credential/enroll", [{
            "name": "authenticator", "type": "object", "label": ov.label,
            "value": {"form": {"value": [fixed("id", self.org.authenticator_id(ov.key), visible=False),
                                         ov.channel_field(required=True, visible=True)]}}}])

    def current_object(self, with_actions=True) -> tuple[str, dict]:
        ch, tx = self.tx.challenge, self.tx
        k = kind(ch.key)
        if ch.purpose == "verify" and ch.enrollment and not k.current_authenticator:
            obj = k.describe_enrollment(self.org, tx.user, ch.enrollment)
            top = "currentAuthenticatorEnrollment"
        else:  # enrolling, or those Okta presents as the authenticator itself (Okta Verify, WebAuthn)
            obj, top = k.describe(self.org), "currentAuthenticator"
        self.absolute(obj)
        if ch.method and ch.key != "okta_password":
            obj["methods"] = [{"type": ch.method}]
        if ch.key == "okta_password" and ch.purpose != "verify":
            obj["settings"] = k.settings(self.org)
            if tx.step == "reenroll-authenticator-warning":
                obj["settings"]["daysToExpiry"] = tx.user.password_expires_in_days
        data = k.contextual(self.engine, tx, ch, self.origin)
        if data:
            obj["contextualData"] = data
        if with_actions:
            if (ch.code is not None or ch.push_id) and k.resendable:
                obj["resend"] = self.form("resend", "challenge/resend")
            if ch.key == "okta_email" and ch.code is not None:
                obj["poll"] = self.form("poll", "challenge/poll", refresh=4000)
            if ch.activation_id and ch.data.get("address"):  # Okta Verify link sent by SMS / email
                name = "email" if ch.data["channel"] == "email" else "phone"
                obj["resend"] = self.form("resend", "challenge/resend", [fixed(name, ch.data["address"], visible=False)])
            if ch.key == "okta_password" and ch.purpose == "verify" and self.org.recovery_authenticators:
                obj["recover"] = self.form("recover", "recover")
        return top, obj

    # -- one method per step: (remediations, current authenticator)
    def step_identify(self):
        org = self.org
        fields = [fld("identifier", "Username", required=True)]
        if org.first_form == "identifier_password":
            fields.append(ion.subform("credentials", [fld("passcode", "Password", secret=True)], required=True))
        fields.append(fld("rememberMe", "Keep me signed in", type="boolean"))
        rems = [self.form("identify", "identify", fields)]
        for idp in org.idps:
            if idp.on_identify:
                rems.append(self.redirect_idp(idp))
        if org.profile_enrollment.enabled:
            rems.append(self.form("select-enroll-profile", "enroll"))
        if org.self_service_unlock:
            rems.append(self.form("unlock-account", "unlock-account"))
        if self.autofill_offered():
            hidden = dict(required=True, visible=False)
            rems.append(self.form("challenge-webauthn-autofillui-authenticator", "challenge/answer/webauthn-autofillui", [
                ion.subform("credentials", [fld("authenticatorData", "Authenticator Data", **hidden),
                                            fld("clientData", "Client Data", **hidden),
                                            fld("signatureData", "Signature Data", **hidden),
                                            fld("userHandle", "User Handle", required=False, visible=False)],
                            required=True)], relates_to="$.webauthnAutofillUIChallenge"))
        current = None
        if org.recovery_authenticators:
            # The password authenticator with its `recover` action: where "Forgot password?" starts.
            p = kind("okta_password")
            current = ("currentAuthenticator", {**p.describe(org), "recover": self.form("recover", "recover")})
        return rems, current

    def redirect_idp(self, idp, relates_to: str | None = None) -> dict:
        r = {"name": "redirect-idp", "type": idp.type, "idp": {"id": idp.id, "name": idp.name},
             "href": f"{self.origin}/sso/idps/{idp.id}?stateToken={self.sh}", "method": "GET"}
        if relates_to:
            r["relatesTo"] = [relates_to]
        return r

    def step_redirect_idp(self):
        """A federated factor (external IdP, smart card): the browser goes to its identity provider.
        Okta names the authenticator both ways here, as the enrollment and as the authenticator."""
        ch = self.tx.challenge
        k = kind(ch.key)
        enrollment = self.absolute(k.describe_enrollment(self.org, self.tx.user, ch.enrollment))
        current = self.absolute(k.describe(self.org))
        rems = [self.redirect_idp(self.org.idp_for(ch.key), "$.currentAuthenticatorEnrollment")]
        return rems, [("currentAuthenticatorEnrollment", enrollment), ("currentAuthenticator", current)]

    def autofill_offered(self) -> bool:
        tx, org = self.tx, self.org
        return org.passkey_autofill and "webauthn" in org.authenticators and tx.step == "identify" and tx.flow == "login"

    def autofill_challenge(self) -> dict:
        """`webauthnAutofillUIChallenge`: the options of the page's conditional-mediation get()."""
        tx = self.tx
        if tx.autofill_challenge is None:
            tx.autofill_challenge = secrets.token_bytes(32)
        return {"challengeData": {"challenge": bytes_to_base64url(tx.autofill_challenge),
                                  "userVerification": "preferred", "extensions": {}}}

    def step_enroll_authenticator_promotion(self):
        top, obj = self.current_object(with_actions=False)
        creds = {"name": "credentials", "form": {"value": kind("webauthn").enroll_answer_fields(self.org, self.tx.challenge)}}
        return [self.form("enroll-authenticator-promotion", "credential/enroll", [creds], relates_to=f"$.{top}"),
                self.form("skip", "skip")], (top, obj)

    def step_identify_recovery(self):
        return [self.form("identify-recovery", "identify", [fld("identifier", "Username", required=True)])], None

    def step_select_authenticator_authenticate(self):
        return [self.select_authenticate(self.tx.candidates)], None

    def step_authenticator_verification_data(self):
        ch = self.tx.challenge
        k = kind(ch.key)
        options = [(m, METHOD_LABELS.get(m, m)) for m in k.methods_for(self.org, ch.enrollment)]
        sub = ion.subform("authenticator", [
            fixed("id", self.org.authenticator_id(ch.key)),
            fld("methodType", type="string", required=True, options=ion.choices(options)),
            *self.enrollment_id_field(ch.enrollment),
        ], label=k.label, relatesTo=f"$.authenticatorEnrollments.value[{self.enrollment_index(ch.enrollment)}]")
        top, obj = self.current_object(with_actions=False)
        obj.pop("methods", None)
        obj["methods"] = [{"type": m} for m in k.methods_for(self.org, ch.enrollment)]
        return [self.form("authenticator-verification-data", "challenge", [sub], relates_to=f"$.{top}"),
                *self.others()], (top, obj)

    def step_challenge_authenticator(self):
        ch = self.tx.challenge
        k = kind(ch.key)
        top, obj = self.current_object()
        creds = ion.subform("credentials", k.answer_fields(self.org, ch), required=True)
        return [self.form("challenge-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}"),
                *self.others()], (top, obj)

    def step_challenge_poll(self):
        top, obj = self.current_object()
        return [self.form("challenge-poll", "challenge/poll", relates_to=f"$.{top}", refresh=4000),
                *self.others()], (top, obj)

    def step_loopback_poll(self):
        """Okta FastPass: the page finds Okta Verify on a loopback port and hands it the challenge;
        meanwhile it polls; `cancel-polling` gives up when nothing answers."""
        top, obj = self.current_object()
        obj["cancel"] = self.form("cancel-polling", "authenticators/poll/cancel")
        obj["contextualData"] = obj.pop("contextualData")  # after the action, as Okta orders it
        return [self.form("challenge-poll", "authenticators/poll", relates_to=f"$.{top}", refresh=4000),
                *self.others()], (top, obj)

    def step_push_rejected(self):
        ch = self.tx.challenge
        top, obj = self.current_object(with_actions=False)
        # As Okta sends it: the whole authenticator object is the field's fixed value.
        again = self.form("resend", "challenge", [{
            "name": "authenticator", "type": "object", "label": kind(ch.key).label,
            "value": {"form": {"value": [fixed("id", self.org.authenticator_id(ch.key)),
                                         fixed("methodType", "push", label="PUSH")]}}}],
            relates_to=f"$.{top}")
        return [again, *self.others()], (top, obj)

    def step_select_authenticator_enroll(self):
        rems = [self.select_enroll()]
        if self.tx.skippable:
            rems.append(self.form("skip", "skip"))
        return rems, None

    def step_authenticator_enrollment_data(self):
        ch = self.tx.challenge
        k = kind(ch.key)
        sub = ion.subform("authenticator", k.enrollment_data_fields(self.org), label=k.label, required=True)
        return [self.form("authenticator-enrollment-data", "credential/enroll", [sub], relates_to="$.currentAuthenticator"),
                self.select_enroll()], ("currentAuthenticator", k.describe(self.org))

    def step_enroll_authenticator(self):
        ch = self.tx.challenge
        k = kind(ch.key)
        top, obj = self.current_object()
        answer = k.enroll_answer_fields(self.org, ch)
        creds = answer[0] if answer and answer[0]["name"] == "credentials" else ion.subform("credentials", answer, required=True)
        return [self.form("enroll-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}"),
                self.select_enroll()], (top, obj)

    def step_enroll_poll(self):
        top, obj = self.current_object()
        return [self.form("enroll-poll", "challenge/poll", refresh=4000), self.select_channel(),
                self.select_enroll()], (top, obj)

    def step_enrollment_channel_data(self):
        top, obj = self.current_object(with_actions=False)
        if self.tx.challenge.data["channel"] == "email":
            address = fld("email", "Email", required=True, visible=True)
        else:
            address = fld("phoneNumber", "Phone number", required=True, visible=True)
        return [self.form("enrollment-channel-data", "challenge/send", [address]), self.select_channel(),
                self.select_enroll()], (top, obj)

    def step_reenroll_authenticator_warning(self):
        top, obj = self.current_object(with_actions=False)
        creds = ion.subform("credentials", kind("okta_password").answer_fields(self.org, self.tx.challenge), required=True)
        return [self.form("reenroll-authenticator-warning", "challenge/answer", [creds], relates_to=f"$.{top}"),
                self.form("skip", "skip")], (top, obj)

    def step_reenroll_authenticator(self):
        top, obj = self.current_object(with_actions=False)
        creds = ion.subform("credentials", kind("okta_password").answer_fields(self.org, self.tx.challenge), required=True)
        return [self.form("reenroll-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}")], (top, obj)

    def step_reset_authenticator(self):
        top, obj = self.current_object(with_actions=False)
        creds = ion.subform("credentials", kind("okta_password").answer_fields(self.org, self.tx.challenge), required=True)
        return [self.form("reset-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}")], (top, obj)

    def step_enroll_profile(self):
        policy = self.org.profile_enrollment
        attrs = []
        for a in policy.attributes:
            if not a.registration:
                continue
            extra = {"type": "boolean" if a.type == "boolean" else "string", "required": a.required}
            if a.type == "enum":
                extra["options"] = ion.choices((o, o) for o in a.options)
            if a.max_length:
                extra["maxLength"] = a.max_length
            attrs.append(fld(a.name, a.label, **extra))
        fields = [ion.subform("userProfile", attrs)]
        if policy.password != "none":
            fields.append(ion.subform("credentials", [fld("passcode", "Password", secret=True)],
                                      required=policy.password == "required", relatesTo="$.currentAuthenticator"))
        current = ("currentAuthenticator", self.password_object()) if policy.password != "none" else None
        return [self.form("enroll-profile", "enroll/new", fields),
                self.form("select-identify", "identify", [fld("identifier", "Username")])], current

    def step_select_authenticator_unlock_account(self):
        options = []
        for i, key in enumerate(self.org.authenticators):
            if key in self.org.recovery_authenticators:
                options.append(ion.option(kind(key).label, [fixed("id", self.org.authenticator_id(key)),
                                                            self.method_field(key)], f"$.authenticators.value[{i}]"))
        fields = [fld("identifier", "Username", required=True), fld("authenticator", type="object", options=options)]
        return [self.form("select-authenticator-unlock-account", "challenge", fields)], None

    # -- after authentication
    def step_profile_update(self):
        """Progressive profiling: the attributes this user lacks; skippable when all are optional."""
        asked = self.org.progressive_attributes(self.tx.user)
        fields = []
        for a in asked:
            extra = {"required": a.sign_in == "required"}
            if a.type == "boolean":
                extra["type"] = "boolean"
            if a.type == "enum":
                extra["options"] = ion.choices((o, o) for o in a.options)
            if a.description:
                extra["desc"] = a.description
            if a.min_length:
                extra["minLength"] = a.min_length
            if a.max_length:
                extra["maxLength"] = a.max_length
            fields.append(fld(a.name, a.label, **extra))
        rems = [self.form("profile-update", "enroll/new", [ion.subform("userProfile", fields)])]
        if all(a.sign_in == "optional" for a in asked):
            rems.append(self.form("skip", "skip"))
        return rems, None

    def step_keep_me_signed_in(self):
        return [self.form("keep-me-signed-in", "keep-me-signed-in", [
            fld("keepMeSignedIn", type="boolean", label="Stay signed in", required=True, value=False, mutable=True)])], None

    def step_consent(self):
        """All-or-nothing consent: the scopes asked about, then Allow Access / Don't Allow."""
        scopes = [{"name": sc.name, "label": sc.label, "value": sc.name, "desc": sc.description}
                  for sc in map(self.org.scope, self.tx.consent_scopes)]
        form = self.form("consent", "consent", [fld("consent", type="boolean", required=True, options=[
            {"label": "Allow Access", "value": True}, {"label": "Don't Allow", "value": False}])])
        value = form.pop("value")
        accepts = form.pop("accepts")
        form.update(scopes=scopes, value=value, accepts=accepts)
        return [form], None

    def step_granular_consent(self):
        """Granular consent: one box per scope, ticked; the optional ones may be unticked. openid
        is listed first, fixed, as Okta shows it."""
        tx = self.tx
        opted = []
        names = (["openid"] if "openid" in tx.scopes and "openid" not in tx.consent_scopes else []) + tx.consent_scopes
        for name in names:
            sc = self.org.scope(name)
            f = {"name": name}
            if name != "openid":
                f["label"] = sc.label
                if sc.description:
                    f["desc"] = sc.description
            f.update(type="boolean", required=True, value=True, visible=True, mutable=sc.consent == "optional")
            opted.append(f)
        return [self.form("granular-consent", "consent", [
            fld("consent", type="boolean", visible=False, required=True),
            {"name": "optedScopes", "form": {"value": opted}}])], None

    def step_request_activation_email(self):
        return [self.form("request-activation-email", "request-activation")], None

