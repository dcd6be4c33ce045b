"""Okta's Direct Authentication API: the app collects the password and the codes itself and trades
them at the token endpoint, with no redirect and no IDX transaction.

* `/v1/token` grants `password`, `urn:…:otp` and `urn:…:oob` (a first factor), and Auth0's
  `http://…/mfa-otp` and `http://…/mfa-oob` (the factors after it: Okta kept those names). When
  the user's sign-on rule (org.py) wants more factors than were proven, the answer is 403
  `mfa_required` with an `mfa_token`: bound to the client and the user, living
  `[org] mfa_token_seconds`, gone once a grant with it issues tokens.
* `/v1/challenge` (with an mfa_token) and `/v1/primary-authenticate` (old name
  `/v1/oob-authenticate`, with a login_hint) start a factor: a TOTP code (`…/mfa-otp`: Google
  Authenticator or Okta Verify's code), or an out-of-band one (`…/mfa-oob` / `…:oob`, an
  `oob_code`): an Okta Verify push in the outbox (binding_method `transfer`: the number challenge,
  picked in the outbox) or an SMS / voice code sent through the outbox as IDX sends it (binding
  method `prompt`: the app sends it back as `binding_code`). Email is never offered.
* Pushes are polled: `authorization_pending` until answered, `slow_down` when polled again sooner
  than `[org] direct_poll_seconds`, `access_denied` when denied, `expired_token` after
  `[org] oob_code_seconds`.
* Wrong passwords and wrong codes lock the account after `[lockout] max_attempts` (passwords and
  codes counted apart, so a right password never buys more guesses at a code); a locked user gets
  `invalid_grant`.
* Sends are limited as IDX limits resends: at most SEND_LIMIT (5) pushes / SMS / calls to one
  user by one channel in a sliding window of `[org] oob_code_seconds`; a sign-in that issues
  tokens starts the count again. Past it the answer is Okta's rate-limit answer (429, API error
  E0000047, Retry-After and X-Rate-Limit-* headers) and nothing is sent: no push-bombing.
* With `user_enumeration_prevention`, a passwordless start reveals nothing: /v1/primary-authenticate
  for someone who cannot be reached that way (unknown, staged, locked, password first, not assigned,
  no such authenticator) answers a decoy oob_code shaped like a real one, which sends nothing and
  never completes (authorization_pending, then expired_token; any binding_code is wrong); the otp
  grant answers all of those as it answers a wrong code.

oauth.py authenticates the client and checks that it may use the grant; this module does the rest.
Tokens are minted by tokens.py as for the other grants (no nonce: these requests carry none)."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from . import totp
from .authenticator_base import SEND_LIMIT, new_code
from .authenticators import kind
from .compare import same
from .context import Simulator
from .faults import api_error
from .org import Client, Enrollment, Org, User
from .outbox import Message
from .tokens import Grant
from .transaction import Challenge

# Okta's names: its own URNs for a first factor, and for a second one the names Auth0 gave the
# MFA grants, which Okta's reference and discovery document use as they are.
URN = "urn:okta:params:oauth:grant-type:"
MFA = "http://auth0.com/oauth/grant-type/"
PASSWORD, MFA_OTP, MFA_OOB, OTP, OOB = "password", MFA + "mfa-otp", MFA + "mfa-oob", URN + "otp", URN + "oob"
GRANTS = (PASSWORD, MFA_OTP, MFA_OOB, OTP, OOB)
MFA_GRANTS = (MFA_OTP, MFA_OOB)
CHANNELS = ("push", "sms", "voice")
TOTP_APPS = ("google_otp", "okta_verify")  # whose codes the otp grants take
REMEMBER_EXPIRED = 600  # seconds an expired oob_code is kept, to answer expired_token rather than invalid_grant
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

BAD_CREDENTIALS = "The credentials provided were invalid."
LOCKED = "The user's account is locked because of too many authentication attempts."
BAD_MFA_TOKEN = "The 'mfa_token' is invalid or has expired."
BAD_OOB_CODE = "The 'oob_code' is invalid."
BAD_OTP = "The one-time password is invalid."
BAD_BINDING_CODE = "The 'binding_code' is invalid."
RATE_LIMIT_CODE, RATE_LIMITED = "E0000047", "API call exceeded rate limit due to too many requests."


class Refusal(Exception):
    """An OAuth error answer (400 unless said otherwise), with any extra members (mfa_token)."""

    def __init__(self, error: str, description: str, status: int = 400, **extra: str):
        super().__init__(error)
        self.error, self.description, self.status, self.extra = error, description, status, extra

    def response(self) -> web.Response:
        body = {"error": self.error, "error_description": self.description, **self.extra}
        return web.json_response(body, status=self.status, headers=NO_STORE)


class Throttled(Refusal):
    """Okta's answer to a rate limit: 429 with its API error body (E0000047), not an OAuth error,
    and when to come back (Retry-After in seconds, X-Rate-Limit-Reset as epoch seconds)."""

    def __init__(self, retry_after: int, reset: int):
        super().__init__(RATE_LIMIT_CODE, RATE_LIMITED, 429)
        self.retry_after, self.reset = retry_after, reset

    def response(self) -> web.Response:
        response = api_error(429, RATE_LIMIT_CODE, RATE_LIMITED)
        response.headers.update(
            {
                **NO_STORE,
                "Retry-After": str(self.retry_after),
                "X-Rate-Limit-Limit": str(SEND_LIMIT),
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(self.reset),
            }
        )
        return response


@dataclass
class MfaToken:
    value: str
    user: User
    client: Client
    scopes: list[str]
    factors: list[tuple[str, str]]  # (authenticator key, amr) proven so far, in order
    expires_at: float

    @property
    def verified(self) -> list[str]:
        return [key for key, _ in self.factors]


@dataclass
class OobCode:
    value: str
    user: User | None  # None: a decoy for someone who cannot be reached (user enumeration prevention)
    client: Client
    key: str  # the authenticator: okta_verify | phone_number
    channel: str  # push | sms | voice
    expires_at: float
    mfa_token: str | None  # the mfa_token of /v1/challenge; None: from /v1/primary-authenticate
    push: Message | None = None
    code: str | None = None  # what the SMS / voice call said
    last_poll: float | None = None
    issued_at: float = field(default_factory=time.time)

    @property
    def binding_method(self) -> str:
        if self.push is None:
            return "prompt"
        return "transfer" if self.push.correct_answer else "none"

    def answer(self, interval: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "oob_code": self.value,
            "expires_in": math.ceil(self.expires_at - self.issued_at),
            "interval": interval,
            "channel": self.channel,
            "binding_method": self.binding_method,
        }
        if self.push is not None and self.push.correct_answer:
            body["binding_code"] = self.push.correct_answer
        return body


def repeated(fields: MultiMapping[Any]) -> Refusal | None:
    """RFC 6749 §3.2: no parameter may be sent twice."""
    for name in fields:
        if len(fields.getall(name)) > 1:
            return Refusal("invalid_request", f"The '{name}' parameter must not be repeated.")
    return None


def required(form: Mapping[str, str], *names: str) -> None:
    for name in names:
        if not form.get(name):
            raise Refusal("invalid_request", f"The '{name}' parameter is required.")


def channel_hint(form: Mapping[str, str], needed: bool) -> str | None:
    hint = form.get("channel_hint") or None
    if hint is None and needed:
        raise Refusal("invalid_request", "The 'channel_hint' parameter is required.")
    if hint == "email":
        raise Refusal("unsupported_challenge_type", "Email is not offered by direct authentication.")
    if hint is not None and hint not in CHANNELS:
        raise Refusal("invalid_request", "The 'channel_hint' parameter must be push, sms or voice.")
    return hint


def amr_of(key: str, method: str) -> str:
    """The amr an IDX sign-in records for this authenticator and method (authenticators.py)."""
    return kind(key).amr_for(Challenge(key, "verify", method))


class DirectAuth:
    """The mfa_tokens and oob_codes one simulator has handed out, and the grants that redeem them."""

    def __init__(self, s: Simulator):
        self.s = s
        self.mfa_tokens: dict[str, MfaToken] = {}
        self.oob_codes: dict[str, OobCode] = {}
        self.sends: dict[tuple[str, str], list[float]] = {}  # (login, channel): when each message went

    @property
    def org(self) -> Org:
        return self.s.org

    # ---------------------------------------------------------------- endpoints
    def token(self, client: Client, grant_type: str, form: Mapping[str, str], issuer: str) -> web.Response:
        try:
            return self._token(client, grant_type, form, issuer)
        except Refusal as refusal:
            return refusal.response()

    def _token(self, client: Client, grant_type: str, form: Mapping[str, str], issuer: str) -> web.Response:
        if grant_type in MFA_GRANTS:
            required(form, "mfa_token", "otp" if grant_type == MFA_OTP else "oob_code")
            token = self._mfa_token(client, form["mfa_token"])
            self._usable(token.user)
            if grant_type == MFA_OTP:
                proven = self._check_otp(token.user, form["otp"], token.verified)
            else:
                proven = self._redeem_oob(client, form, token)[1]
            token.factors.append(proven)
            return self._conclude(client, token.user, token.scopes, token.factors, issuer, token)
        scopes = self._scopes(form)
        if grant_type == PASSWORD:
            required(form, "username", "password")
            user = self._password_user(client, form["username"], form["password"])
            return self._conclude(client, user, scopes, [("okta_password", "pwd")], issuer)
        if grant_type == OTP:
            required(form, "login_hint", "otp")
            user = self._otp_user(client, form["login_hint"])
            return self._conclude(client, user, scopes, [self._check_otp(user, form["otp"], [])], issuer)
        required(form, "oob_code")
        user, proven = self._redeem_oob(client, form, None)
        return self._conclude(client, user, scopes, [proven], issuer)

    def challenge(self, client: Client, form: Mapping[str, str]) -> web.Response:
        """/v1/challenge: the next factor for an mfa_token (a TOTP code to type, or an oob_code)."""
        try:
            required(form, "mfa_token", "challenge_types_supported")
            hint = channel_hint(form, needed=False)
            token = self._mfa_token(client, form["mfa_token"])
            self._usable(token.user)
            types = [
                t for t in form["challenge_types_supported"].split() if t in MFA_GRANTS and t in client.grant_types
            ]
            if not types:
                raise Refusal(
                    "unsupported_challenge_type", "None of the challenge types supported is one this client may use."
                )
            user, done = token.user, token.verified
            channels = self._channels(user, done) if MFA_OOB in types else {}
            has_totp = MFA_OTP in types and bool(self._totp_enrollments(user, done))
            # Without a hint: a push first, then a code from an app, then SMS, then a voice call.
            if hint is None and "push" not in channels and has_totp:
                return web.json_response({"challenge_type": MFA_OTP}, headers=NO_STORE)
            picked = hint or next((c for c in CHANNELS if c in channels), None)
            if picked is None or picked not in channels:
                raise Refusal(
                    "unsupported_challenge_type", "The user has no enrolled authenticator for this challenge type."
                )
            self._throttle(user.login, picked)
            oob = self._send(client, user, picked, channels[picked], token.value)
            body = {"challenge_type": MFA_OOB, **oob.answer(self.org.direct_poll_seconds)}
            return web.json_response(body, headers=NO_STORE)
        except Refusal as refusal:
            return refusal.response()

    def primary_authenticate(self, client: Client, form: Mapping[str, str]) -> web.Response:
        """/v1/primary-authenticate: a push or a code as the first factor of a passwordless user."""
        try:
            required(form, "login_hint", "challenge_hint")
            hint = channel_hint(form, needed=True)
            if form["challenge_hint"] != OOB:
                raise Refusal("invalid_request", f"The 'challenge_hint' parameter must be {OOB}.")
            channel, login = str(hint), form["login_hint"]
            if self.org.user_enumeration_prevention:
                oob = self._send_or_decoy(client, login, channel)
            else:
                user = self._first_factor_user(client, login)
                channels = self._channels(user, [])
                if channel not in channels:
                    raise Refusal(
                        "unsupported_challenge_type", "The user has no enrolled authenticator for this channel."
                    )
                self._throttle(user.login, channel)
                oob = self._send(client, user, channel, channels[channel], None)
            return web.json_response(oob.answer(self.org.direct_poll_seconds), headers=NO_STORE)
        except Refusal as refusal:
            return refusal.response()

    # ---------------------------------------------------------------- users and policy
    def _usable(self, user: User | None) -> User:
        """The user, unless nobody may sign in as them (unknown, staged, locked out)."""
        if user is None or user.status == "staged":
            raise Refusal("invalid_grant", BAD_CREDENTIALS)
        if user.status == "locked_out":
            raise Refusal("invalid_grant", BAD_CREDENTIALS if self.org.user_enumeration_prevention else LOCKED)
        return user

    def _assigned(self, client: Client, user: User) -> None:
        if client.groups and not set(client.groups) & set(user.groups):
            raise Refusal("access_denied", "User is not assigned to the client application.")

    def _password_user(self, client: Client, login: str, password: str) -> User:
        user = self._usable(self.org.user(login))
        if user.password and same(password, user.password):
            user.failed_passwords = 0
        else:
            user.failed_passwords += 1
            self._lock_after(user, user.failed_passwords)
            raise Refusal("invalid_grant", BAD_CREDENTIALS)
        if user.status == "password_expired":
            raise Refusal("invalid_grant", "The user's password has expired; it must be changed in a browser sign-in.")
        self._assigned(client, user)
        return user

    def _first_factor_user(self, client: Client, login: str) -> User:
        """A user who may start without the password (a passwordless sign-on rule, or no password)."""
        user = self._usable(self.org.user(login))
        if self.org.sign_on_rule(user).first == "password" and user.enrollment("okta_password"):
            if self.org.user_enumeration_prevention:
                raise Refusal("invalid_grant", BAD_CREDENTIALS)
            raise Refusal("invalid_grant", "The user's sign-on policy asks for the password first.")
        self._assigned(client, user)
        return user

    def _otp_user(self, client: Client, login: str) -> User:
        """The user the otp grant names; with user enumeration prevention, whoever may not start
        with a code is answered as a wrong code is."""
        try:
            return self._first_factor_user(client, login)
        except Refusal:
            if self.org.user_enumeration_prevention:
                raise Refusal("invalid_grant", BAD_OTP) from None
            raise

    def _lock_after(self, user: User, failures: int) -> None:
        """The org's lockout: after max_attempts wrong passwords, or wrong codes, in a row."""
        limit = self.org.lockout_attempts
        if limit and failures >= limit and user.status != "locked_out":
            user.status, user.failed_codes = "locked_out", 0

    def _wrong_code(self, user: User, description: str) -> Refusal:
        user.failed_codes += 1
        self._lock_after(user, user.failed_codes)
        return Refusal("invalid_grant", description)

    def _scopes(self, form: Mapping[str, str]) -> list[str]:
        scopes = list(dict.fromkeys((form.get("scope") or "").split()))
        if not scopes:
            raise Refusal("invalid_scope", "The 'scope' parameter is required.")
        if any(sc not in self.org.scopes for sc in scopes):
            raise Refusal(
                "invalid_scope", "One or more scopes are not configured for the authorization server resource."
            )
        return scopes

    def _conclude(
        self,
        client: Client,
        user: User,
        scopes: list[str],
        factors: list[tuple[str, str]],
        issuer: str,
        token: MfaToken | None = None,
    ) -> web.Response:
        """Tokens when the sign-on rule is met, else mfa_required (a new mfa_token, or the same one
        when a rule wants a third factor)."""
        if self.org.consent_needed(user, client, scopes):
            raise Refusal("consent_required", "The user has not consented to these scopes; sign in with a browser.")
        if len({key for key, _ in factors}) < self.org.sign_on_rule(user).factors:
            if token is None:
                token = MfaToken(
                    secrets.token_urlsafe(32),
                    user,
                    client,
                    scopes,
                    list(factors),
                    time.time() + self.org.mfa_token_seconds,
                )
                self._forget_stale()
                self.mfa_tokens[token.value] = token
            raise Refusal(
                "mfa_required",
                "Verify with an additional authenticator to complete the sign-in process.",
                403,
                mfa_token=token.value,
            )
        if token is not None:
            self.mfa_tokens.pop(token.value, None)
        self._forget_sends(user.login)  # signed in: their sends count from nothing again
        amr = list(dict.fromkeys(a for _, a in factors)) + (["mfa"] if len(factors) > 1 else [])
        auth_time = time.time()
        grant = Grant(user, client, scopes, amr, auth_time, None, idp=self.org.id)
        self.s.engine.sessions.append(
            {
                "login": user.login,
                "client_id": client.id,
                "amr": amr,
                "acr": None,
                "idp": self.org.id,
                "auth_time": int(auth_time),
                "max_age": None,
                "keep_me_signed_in": None,
                "scopes": scopes,
            }
        )
        return web.json_response(self.s.tokens.issue(issuer, grant), headers=NO_STORE)

    # ---------------------------------------------------------------- factors
    def _mfa_token(self, client: Client, value: str) -> MfaToken:
        token = self.mfa_tokens.get(value)
        if token is None or token.client.id != client.id or time.time() >= token.expires_at:
            raise Refusal("invalid_grant", BAD_MFA_TOKEN)
        return token

    def _totp_enrollments(self, user: User, done: list[str]) -> list[Enrollment]:
        return [
            e
            for e in user.enrollments
            if e.key in TOTP_APPS and e.key in self.org.authenticators and e.data.get("secret") and e.key not in done
        ]

    def _check_otp(self, user: User, code: str, done: list[str]) -> tuple[str, str]:
        for e in self._totp_enrollments(user, done):
            if totp.verify(e.data["secret"], code):
                user.failed_codes = 0
                return e.key, amr_of(e.key, "totp" if e.key == "okta_verify" else "otp")
        raise self._wrong_code(user, BAD_OTP)

    def _channels(self, user: User, done: list[str]) -> dict[str, Enrollment]:
        """The out-of-band channels the user can be reached by: Okta Verify push, SMS, voice."""
        found: dict[str, Enrollment] = {}
        enabled = self.org.authenticators
        verify = user.enrollment("okta_verify")
        if (
            verify is not None
            and "okta_verify" in enabled
            and "okta_verify" not in done
            and "push" in kind("okta_verify").methods_for(self.org, verify)
        ):
            found["push"] = verify
        phone = user.enrollment("phone_number")
        if phone is not None and "phone_number" in enabled and "phone_number" not in done:
            found.update({m: phone for m in ("sms", "voice") if m in self.org.phone_methods})
        return found

    def _send(self, client: Client, user: User, channel: str, enrollment: Enrollment, mfa_token: str | None) -> OobCode:
        now = time.time()
        oob = OobCode(
            secrets.token_urlsafe(32),
            user,
            client,
            enrollment.key,
            channel,
            now + self.org.oob_code_seconds,
            mfa_token,
            issued_at=now,
        )
        outbox = self.s.outbox
        if channel == "push":
            oob.push = outbox.push(user.login, self.org.number_challenge)
        else:  # as IDX sends it (authenticators.OtpByMessage)
            oob.code = new_code()
            outbox.send(enrollment.data["phone"], channel, code=oob.code, subject=f"{self.org.name} verification code")
        return self._keep(oob)

    def _send_or_decoy(self, client: Client, login: str, channel: str) -> OobCode:
        """/v1/primary-authenticate under user enumeration prevention: a real send when the user
        can be reached by this channel, else a decoy; both counted toward the send limit, so
        neither the answer nor the 429 tells them apart. Only a channel the org does not offer at
        all (which says nothing of the user) is refused."""
        if channel not in self._offered_channels():
            raise Refusal("unsupported_challenge_type", "This channel is not offered by the org.")
        try:
            user: User | None = self._first_factor_user(client, login)
        except Refusal:
            user = None
        channels = self._channels(user, []) if user is not None else {}
        self._throttle(login, channel)
        if user is not None and channel in channels:
            return self._send(client, user, channel, channels[channel], None)
        now = time.time()
        decoy = OobCode(
            secrets.token_urlsafe(32),
            None,
            client,
            "okta_verify" if channel == "push" else "phone_number",
            channel,
            now + self.org.oob_code_seconds,
            None,
            issued_at=now,
        )
        if channel == "push":  # a number as a real push shows (outbox.Outbox.push), on no phone
            number = str(secrets.randbelow(90) + 10) if self.org.number_challenge else None
            decoy.push = Message(to=login, kind="push", correct_answer=number, status="pending")
        return self._keep(decoy)

    def _offered_channels(self) -> set[str]:
        enabled = self.org.authenticators
        offered = {"push"} if "okta_verify" in enabled else set()
        if "phone_number" in enabled:
            offered |= {m for m in ("sms", "voice") if m in self.org.phone_methods}
        return offered

    def _keep(self, oob: OobCode) -> OobCode:
        self._forget_stale()
        self.oob_codes[oob.value] = oob
        return oob

    def _throttle(self, login: str, channel: str) -> None:
        """Count a message about to go to `login` by `channel`; refuse it (429) when SEND_LIMIT
        went within the last oob_code_seconds."""
        now, window = time.time(), self.org.oob_code_seconds
        key = (login.strip().lower(), channel)
        recent = [t for t in self.sends.get(key, []) if t > now - window]
        if len(recent) >= SEND_LIMIT:
            frees_at = recent[0] + window
            raise Throttled(max(1, math.ceil(frees_at - now)), math.ceil(frees_at))
        self.sends[key] = [*recent, now]

    def _forget_sends(self, login: str) -> None:
        for key in [k for k in self.sends if k[0] == login.lower()]:
            del self.sends[key]

    def _redeem_oob(
        self, client: Client, form: Mapping[str, str], token: MfaToken | None
    ) -> tuple[User, tuple[str, str]]:
        """The user and the oob_code's factor once the push is approved or the binding code is right."""
        oob = self.oob_codes.get(form["oob_code"])
        if oob is None or oob.client.id != client.id or oob.mfa_token != (token.value if token else None):
            raise Refusal("invalid_grant", BAD_OOB_CODE)
        now = time.time()
        if now >= oob.expires_at:
            raise Refusal("expired_token", "The 'oob_code' has expired.")
        user = oob.user
        if user is not None:
            try:
                self._usable(user)
            except Refusal:
                if oob.mfa_token is not None or not self.org.user_enumeration_prevention:
                    raise
                user = None  # locked since the code went: it answers as a decoy does
        if oob.push is not None:
            interval = self.org.direct_poll_seconds
            too_soon = oob.last_poll is not None and now - oob.last_poll < interval
            oob.last_poll = now
            if too_soon:
                raise Refusal("slow_down", f"Wait {interval} seconds between polls.")
            if user is None or oob.push.status == "pending":
                raise Refusal("authorization_pending", "The user has not answered the push notification yet.")
            del self.oob_codes[oob.value]
            if oob.push.status != "approved":
                raise Refusal("access_denied", "The user rejected the push notification.")
            return user, (oob.key, amr_of(oob.key, "push"))
        given = form.get("binding_code")
        if not given:
            raise Refusal("invalid_request", "The 'binding_code' parameter is required for this oob_code.")
        if user is None:
            raise Refusal("invalid_grant", BAD_BINDING_CODE)
        if not same(given.strip(), oob.code or ""):
            raise self._wrong_code(user, BAD_BINDING_CODE)
        user.failed_codes = 0
        del self.oob_codes[oob.value]
        return user, (oob.key, amr_of(oob.key, oob.channel))

    def _forget_stale(self) -> None:
        """Drop expired mfa_tokens, oob_codes long expired and send counts past their window, so a long
        run stays small."""
        now = time.time()
        for value, token in list(self.mfa_tokens.items()):
            if token.expires_at < now:
                del self.mfa_tokens[value]
        for value, oob in list(self.oob_codes.items()):
            if oob.expires_at < now - REMEMBER_EXPIRED:
                del self.oob_codes[value]
        for key, times in list(self.sends.items()):
            if times[-1] <= now - self.org.oob_code_seconds:
                del self.sends[key]


DIRECT = web.AppKey("DIRECT", DirectAuth)
