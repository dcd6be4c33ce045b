"""The remediation state machine: a transaction, the org's policies, and a submission give the next
Ion document. Policy-driven: what is asked next follows from the user's enrollments, the sign-on,
enrollment, recovery and unlock policies, never from a script.

This module holds the transactions and the policy (`Engine.advance`); the Ion document of a step
is built by documents.py; what each IDX endpoint does with a submission is in submissions.py, which
sits above the engine (it calls the engine, never the other way round)."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterable
from urllib.parse import urlencode

import jwt

from . import duo, ion
from .authenticators import KINDS, kind
from .captcha import TokenBook
from .documents import DocumentBuilder
from .ion import Json, msg
from .org import Client, Enrollment, Org, User, stable_id
from .outbox import Outbox
from .transaction import Challenge, Transaction

CODE_LIFETIME = 60  # seconds an interaction code can be exchanged
MAX_PHANTOMS = 1000  # stand-ins for unknown identifiers kept (their failed-password counts)
LOOPBACK_AUDIENCE = "okta-verify-loopback"  # the challengeRequest JWT's audience: the device

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
        self.captcha_tokens = TokenBook()  # what the fake CAPTCHA provider issued (see captcha.py)
        self.device_key = secrets.token_bytes(32)  # signs FastPass challengeRequests (HS256)
        self.loopback: dict[str, Transaction] = {}  # FastPass challenges by id
        self._dead_port: int | None = None
        self.phantoms: dict[str, User] = {}  # stand-ins for unknown identifiers (user enumeration prevention)

    # ---------------------------------------------------------------- transactions
    def begin(
        self,
        client: Client,
        redirect_uri: str,
        scopes: list[str],
        state: str | None,
        nonce: str | None,
        code_challenge: str,
        user: User | None = None,
        flow: str = "login",
        acr: str | None = None,
        max_age: int | None = None,
        hosted_origin: str | None = None,
    ) -> Transaction:
        """A new transaction (/v1/interact, or /v1/authorize with `hosted_origin`: the simulator's
        pages drive it). With `user` (an email link's token) it starts at that user's `flow`."""
        tx = Transaction(
            interaction_handle=secrets.token_urlsafe(32),
            state_handle="02" + secrets.token_urlsafe(48),
            client=client,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            nonce=nonce,
            code_challenge=code_challenge,
            lifetime=self.org.transaction_minutes * 60,
            acr=acr,
            max_age=max_age,
            hosted_origin=hosted_origin,
        )
        tx.touch()
        self._forget_stale()
        self.transactions[tx.interaction_handle] = self.transactions[tx.state_handle] = tx
        if user is not None:
            tx.user, tx.flow = user, flow
            if flow == "recover":
                self.start_reset(tx)
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

    # ---------------------------------------------------------------- user enumeration prevention
    def phantom(self, identifier: str) -> User:
        """A stand-in for an identifier that must not be told apart from an existing user (no such
        user, staged, locked out): the ids and enrollments (password, email) an existing user
        with the default policy has, derived as for real users, so every answer looks the same.
        It has no password and its codes are never sent, so it never verifies anything. Kept per
        identifier, so wrong passwords lock it out after as many attempts as a real account."""
        key = identifier.strip().lower()
        if key in self.phantoms:
            return self.phantoms[key]
        real = self.org.user(key)
        login = real.login if real else key
        user = User(
            login=login,
            id=real.id if real else stable_id("00u", self.org.name, key),
            enrollments=[
                Enrollment(k, stable_id("enr", self.org.name, key, k))
                for k in ("okta_password", "okta_email")
                if k in self.org.authenticators
            ],
        )
        if len(self.phantoms) >= MAX_PHANTOMS:
            self.phantoms.pop(next(iter(self.phantoms)))
        self.phantoms[key] = user
        return user

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
        """The transaction an unexpired, unused code (interaction or authorization code) belongs
        to; `spend` it once exchanged."""
        found = self.codes.get(code)
        if not found or time.time() > found[1]:
            return None
        return found[0]

    def spend(self, code: str) -> None:
        self.codes.pop(code, None)

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
        tx.active_challenge.data["challenge_id"] = challenge_id
        self.loopback[challenge_id] = tx
        now = int(time.time())
        return jwt.encode(
            {
                "iss": self.issuer or "embedded-simulator",
                "aud": LOOPBACK_AUDIENCE,
                "jti": challenge_id,
                "sub": tx.known_user.id,
                "nonce": secrets.token_urlsafe(16),
                "challengeMethod": "LOOPBACK",
                "iat": now,
                "exp": now + int(tx.lifetime),
            },
            self.device_key,
            algorithm="HS256",
        )

    def answer_loopback(self, token: str) -> str:
        """Okta Verify on this computer received `token` at /challenge: `answered`, or why not
        (`invalid`: not a challenge we signed; `stale`: no sign-in waits for it; `no_account`:
        the user has no FastPass here)."""
        try:
            claims = jwt.decode(token, self.device_key, algorithms=["HS256"], audience=LOOPBACK_AUDIENCE)
        except jwt.PyJWTError:
            return "invalid"
        tx = self.loopback.get(claims.get("jti", ""))
        if tx is None or tx.expired or tx.challenge is None or tx.step != "loopback-poll":
            return "stale"
        ch = tx.challenge
        if ch.data.get("challenge_id") != claims["jti"]:
            return "stale"
        if not (ch.enrollment and ch.enrollment.data.get("fastpass")):
            return "no_account"
        ch.data["answered"] = True
        return "answered"

    def idp_login(self, tx: Transaction, user: User, idp_id: str) -> None:
        """The user came back from an identity provider: that counts as one factor."""
        self.reset(tx)
        tx.user, tx.idp = user, idp_id
        self.mark_verified(tx, "idp:" + idp_id, "fed")
        self.advance(tx)

    def federated_verified(self, tx: Transaction) -> None:
        """The identity provider behind the factor being verified (external_idp, smart card)
        vouched for the identified user."""
        ch = tx.active_challenge
        self.mark_verified(tx, ch.key, kind(ch.key).amr)
        tx.challenge = None
        self.advance(tx)

    def smart_card_login(self, tx: Transaction, user: User) -> None:
        """From the first page: the card's certificate identifies the user and proves the card."""
        self.reset(tx)
        tx.user = user
        self.mark_verified(tx, "smart_card_idp", kind("smart_card_idp").amr)
        self.advance(tx)

    # ---------------------------------------------------------------- policy
    def advance(self, tx: Transaction) -> None:
        """Decide the next step from the org's policies and what this transaction has proven."""
        user, org = tx.known_user, self.org
        tx.challenge, tx.candidates, tx.enroll_options, tx.skippable = None, [], [], False
        if tx.flow == "recover":
            return self.start_reset(tx) if tx.verified else self.offer_recovery(tx)
        if tx.flow == "unlock":  # a recovery factor was verified: unlock, then (as Okta) sign in on
            user.status, user.failed_passwords = ("active" if user.status == "locked_out" else user.status), 0
            if org.after_unlock == "message":
                tx.step, tx.terminal = "terminal", [msg("unlock_success", cls="INFO")]
                return
            tx.flow, tx.unlocked = "login", True
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
        # Step-up beyond counting: acr 1fa:pwd wants the password, phr / phrh a strong factor. After
        # an unlock the unlocking factor counts, but a password-first rule still wants the password.
        password_first = tx.unlocked and rule.first == "password" and user.enrollment("okta_password") is not None
        needs_password = (tx.acr == ACR_PWD or password_first) and "okta_password" not in tx.verified
        needs_strong = tx.acr in STRONG_AMR and not set(tx.amr) & STRONG_AMR[tx.acr]
        if len(set(tx.verified)) < factors or needs_password or needs_strong:
            if needs_password or (not tx.verified and rule.first == "password" and user.enrollment("okta_password")):
                candidates = ["okta_password"] if user.enrollment("okta_password") else []
            elif needs_strong:
                candidates = list(
                    dict.fromkeys(e.key for e in enabled if e.key not in tx.verified and self._strong_enough(e, tx.acr))
                )
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
        # A password the registration form left out (profile enrollment "optional") is offered
        # once the required enrollments are done, skippable, as Okta does.
        optional_password = (
            tx.flow == "register" and org.profile_enrollment.password == "optional" and "okta_password" in enrollable
        )
        if optional_password and "okta_password" not in optional:
            optional.append("okta_password")
        if missing:
            return self._offer_enroll(tx, missing, skippable=False)
        if len(enrolled) < wanted or len(set(tx.verified)) < factors:
            if not optional:  # the policy cannot be met by this user
                tx.step, tx.terminal = "terminal", [msg("access_denied")]
                return
            return self._offer_enroll(tx, optional, skippable=False)
        if (erule.prompt_optional or optional_password) and optional and not tx.skipped:
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
                granular = any(org.scope(sc).consent == "optional" for sc in tx.consent_scopes)
                tx.step = "granular-consent" if granular else "consent"
                return
        self._succeed(tx)

    def factors_needed(self, tx: Transaction, policy_factors: int) -> int:
        """Distinct factors this sign-in needs: the sign-on policy's, raised by acr_values (never
        lowered: Okta evaluates the policy first). `2fa:any:ifpossible` asks for two only of
        users who have two authenticators enrolled."""
        if tx.acr == ACR_2FA:
            return max(policy_factors, 2)
        if tx.acr == ACR_2FA_IFPOSSIBLE:
            usable = {e.key for e in tx.known_user.enrollments if e.key in self.org.authenticators}
            return max(policy_factors, 2 if len(usable) >= 2 else 1)
        return policy_factors

    @staticmethod
    def _strong_enough(enrollment: Enrollment, acr: str | None) -> bool:
        if enrollment.key == "okta_verify":
            return bool(enrollment.data.get("fastpass"))  # FastPass signs with a device-bound key
        return acr == "phr" and enrollment.key in ("webauthn", "smart_card_idp")

    def _invites_passkey(self, tx: Transaction) -> bool:
        """After a sign-in, members of the org's promotion groups without a passkey are invited to
        create one (once per transaction; they may skip)."""
        org, user = self.org, tx.known_user
        return (
            tx.flow == "login"
            and not tx.promoted
            and "webauthn" in org.authenticators
            and bool(set(org.passkey_promotion_groups) & set(user.groups))
            and not user.enrollment("webauthn")
        )

    def password_expiring(self, user: User) -> bool:
        days = user.password_expires_in_days
        return days is not None and days <= self.org.password.expire_warn_days

    def _offer(self, tx: Transaction, candidates: list[str]) -> None:
        tx.candidates, user = candidates, tx.known_user
        if len(candidates) > 1 or len(user.enrollments_of(candidates[0])) > 1:
            tx.step = "select-authenticator-authenticate"
            return
        key = candidates[0]
        k = kind(key)
        tx.challenge = ch = Challenge(key, "verify", None, user.enrollment(key))
        methods = k.methods_for(self.org, ch.enrollment)
        if ch.known_enrollment.data.get("auto_challenge") and "push" in methods:
            ch.method = "push"  # "Send push automatically" was ticked on an earlier sign-in
        elif len(methods) > 1 and k.needs_method_choice(self.org):
            tx.step = "authenticator-verification-data"
            return
        else:
            ch.method = methods[0]
        self.start_challenge(tx)

    def start_challenge(self, tx: Transaction) -> None:
        ch = tx.active_challenge
        kind(ch.key).start(self, tx, ch)
        tx.step = {"push": "challenge-poll", "signed_nonce": "loopback-poll"}.get(ch.method or "") or kind(
            ch.key
        ).challenge_step

    def _offer_enroll(self, tx: Transaction, options: list[str], skippable: bool) -> None:
        tx.step, tx.enroll_options, tx.skippable = "select-authenticator-enroll", options, skippable

    def recovery_keys(self, user: User | None) -> list[str]:
        if user is None:
            return []
        return [k for k in self.org.recovery_authenticators if user.enrollment(k)]

    def offer_recovery(self, tx: Transaction) -> None:
        keys = self.recovery_keys(tx.user)
        if not keys:
            tx.step, tx.terminal = "terminal", [msg("reset_not_allowed")]
            return
        self._offer(tx, keys)

    def start_reset(self, tx: Transaction) -> None:
        tx.challenge = Challenge("okta_password", "reset", "password", tx.known_user.enrollment("okta_password"))
        tx.verified, tx.step = [k for k in tx.verified if k != "okta_password"], "reset-authenticator"

    def mark_verified(self, tx: Transaction, key: str, amr: str) -> None:
        if key not in tx.verified:
            tx.verified.append(key)
        if amr not in tx.amr:
            tx.amr.append(amr)
        # No Okta session carries over between transactions: every sign-in authenticates afresh,
        # and auth_time is when this one last proved a factor (max_age is always met).
        tx.auth_time = time.time()

    def _succeed(self, tx: Transaction) -> None:
        user = tx.known_user
        if user.status == "staged":  # activation completed
            user.status = "active"
            user.activation_token = user.activation_expires_at = None
        tx.step = "success"
        tx.auth_time = tx.auth_time or time.time()
        code = secrets.token_urlsafe(32)
        self.codes[code] = (tx, time.time() + CODE_LIFETIME)
        if tx.hosted_origin is None:
            tx.interaction_code = code
        else:
            tx.authorization_code = code
        self.sessions.append(
            {
                "login": user.login,
                "client_id": tx.client.id,
                "amr": self.amr(tx),
                "acr": tx.acr,
                "idp": tx.idp or self.org.id,
                "auth_time": int(tx.auth_time),
                "max_age": tx.max_age,
                "keep_me_signed_in": tx.kmsi,
                "scopes": self.granted_scopes(tx),
            }
        )

    @staticmethod
    def amr(tx: Transaction) -> list[str]:
        return list(tx.amr) + (["mfa"] if len(tx.verified) > 1 else [])

    @staticmethod
    def granted_scopes(tx: Transaction) -> list[str]:
        """The requested scopes less the optional ones declined on the consent page."""
        return [sc for sc in tx.scopes if sc not in tx.declined]

    def reset(self, tx: Transaction) -> None:
        """Back to the first form (cancel, lockout)."""
        tx.flow, tx.step, tx.user, tx.challenge = "login", "identify", None, None
        tx.verified, tx.amr, tx.candidates, tx.enroll_options, tx.skipped, tx.terminal = [], [], [], [], False, []
        tx.password_warned = tx.promoted = tx.profiled = tx.consented = False
        tx.autofill_challenge, tx.idp, tx.kmsi, tx.consent_scopes, tx.declined = None, None, None, [], []
        tx.phantom = tx.unlocked = False

    # ---------------------------------------------------------------- rendering
    def render(self, tx: Transaction, origin: str, messages: Iterable[Json] = ()) -> Json:
        return DocumentBuilder(self, tx, origin).document(list(messages))

    def error_document(self, name: str) -> Json:
        """Ion body without remediation (expired / unknown handle, rate limited, bad request): only
        the version and the message, as Okta answers an expired state handle."""
        return {"version": ion.VERSION, "messages": ion.messages(msg(name))}
