"""What a submission to each IDX endpoint does to a transaction: `Submissions.submit` checks that
the endpoint serves a form the current state offers and calls that endpoint's method, chosen
through an explicit table (`Submissions.handlers`). A handler either moves the transaction on (most
end with `engine.advance`) or raises Reject; the engine then renders the state it is in. The top of
the simulator's core: it calls the engine, which never calls it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from . import ion
from .authenticators import (
    OKTA_VERIFY,
    SEND_LIMIT,
    WEBAUTHN,
    Error,
    kind,
    password_problem,
)
from .compare import same
from .engine import Engine
from .ion import Json, msg
from .org import Enrollment, ProfileAttribute, User, stable_id
from .transaction import Challenge, Reject, Transaction

# Wrong one-time codes (or security answers) one challenge accepts; the next ends the transaction
# with Okta's suspended-factor error, and the user starts a new sign-in.
MAX_CODE_ATTEMPTS = 5
CODE_ERRORS = {"passcode_invalid", "answer_wrong", "vip_invalid"}
POLL_ENDPOINTS = {"challenge/poll", "authenticators/poll"}
# The one member of `credentials` that is not text (reset-authenticator's checkbox).
BOOLEAN_CREDENTIALS = {"revokeSessions"}

# Which offered forms each IDX endpoint serves (a submission must match an offered form).
ENDPOINT_FORMS = {
    "identify": {"identify", "identify-recovery"},
    "identify/select": {"select-identify"},
    "challenge": {
        "select-authenticator-authenticate",
        "authenticator-verification-data",
        "select-authenticator-unlock-account",
        "resend",
    },
    "challenge/answer": {
        "challenge-authenticator",
        "enroll-authenticator",
        "reenroll-authenticator",
        "reenroll-authenticator-warning",
        "reset-authenticator",
    },
    "challenge/answer/webauthn-autofillui": {"challenge-webauthn-autofillui-authenticator"},
    "challenge/poll": {"challenge-poll", "enroll-poll", "poll"},
    "authenticators/poll": {"challenge-poll"},
    "authenticators/poll/cancel": {"cancel-polling"},
    "challenge/resend": {"resend"},
    "challenge/send": {"enrollment-channel-data"},
    "credential/enroll": {
        "select-authenticator-enroll",
        "authenticator-enrollment-data",
        "select-enrollment-channel",
        "enroll-authenticator-promotion",
    },
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

Handler = Callable[[Transaction, Json], None]


def member(body: Json, name: str) -> Json:
    """The sub-object `name` of a submission (`credentials`, `userProfile`…), or {}."""
    value = body.get(name)
    return value if isinstance(value, dict) else {}


class Submissions:
    """The IDX endpoints of one engine: `submit` dispatches to the handler of an endpoint, each
    taking the transaction and the submitted JSON body."""

    def __init__(self, engine: Engine):
        self.engine, self.org = engine, engine.org
        self.handlers: dict[str, Handler] = {
            "identify": self.identify,
            "identify/select": self.select_identify,
            "challenge": self.challenge,
            "challenge/answer": self.challenge_answer,
            "challenge/answer/webauthn-autofillui": self.challenge_answer_webauthn_autofillui,
            "challenge/poll": self.challenge_poll,
            "authenticators/poll": self.authenticators_poll,
            "authenticators/poll/cancel": self.authenticators_poll_cancel,
            "challenge/resend": self.challenge_resend,
            "challenge/send": self.challenge_send,
            "credential/enroll": self.credential_enroll,
            "enroll": self.enroll,
            "enroll/new": self.enroll_new,
            "enroll/update": self.enroll_update,
            "consent": self.consent,
            "keep-me-signed-in": self.keep_me_signed_in,
            "request-activation": self.request_activation,
            "recover": self.recover,
            "skip": self.skip,
            "unlock-account": self.unlock_account,
        }

    def submit(self, endpoint: str, tx: Transaction, body: Json, origin: str) -> tuple[int, Json]:
        """A submission to the IDX endpoint `endpoint` (the path after /idp/idx/): the HTTP status
        and the Ion document of the state it leads to. The endpoint must serve one of the forms the
        current state offers (else 400 E0000020, the state unchanged)."""
        engine = self.engine
        tx.touch()
        if endpoint == "introspect":
            return 200, engine.render(tx, origin)
        if endpoint == "cancel":
            engine.reset(tx)
            return 200, engine.render(tx, origin)
        handler = self.handlers.get(endpoint)
        if handler is None:  # no such endpoint: nothing the state offers is served there
            return 400, engine.render(tx, origin, [msg("bad_request")])
        offered = self.offered(tx, origin)
        if endpoint in POLL_ENDPOINTS and not (ENDPOINT_FORMS[endpoint] & offered):
            # A poll from a page left behind (the magic link or another tab finished the challenge)
            # reads the state the transaction has moved on to, as Okta answers it.
            return 200, engine.render(tx, origin)
        served = ENDPOINT_FORMS[endpoint] & offered
        if not served:
            return 400, engine.render(tx, origin, [msg("bad_request")])
        try:
            self._check_credential_types(min(served), body)
            handler(tx, body)
        except Reject as r:
            doc = engine.render(tx, origin, [r.message] if r.message else [])
            if r.field_error:
                form_name, path, message = r.field_error
                if not ion.add_field_message(doc, form_name, path, message):
                    doc.setdefault("messages", ion.messages())["value"].append(message)
            return r.status, doc
        return 200, engine.render(tx, origin)

    @staticmethod
    def _check_credential_types(form_name: str, body: Json) -> None:
        """A password, code or answer is text: any other JSON type in `credentials` is a field
        error (400) before any check runs, so it never counts as a wrong answer."""
        for name, value in member(body, "credentials").items():
            wanted = bool if name in BOOLEAN_CREDENTIALS else str
            if value is not None and not isinstance(value, wanted):
                raise Reject(400, field_error=(form_name, ["credentials", name], msg("invalid_value")))

    def offered(self, tx: Transaction, origin: str) -> set[str]:
        """The names of the forms the current state offers (remediations and authenticator actions)."""
        doc = self.engine.render(tx, origin)
        names = {r["name"] for r in doc.get("remediation", {}).get("value", [])}
        for top in ("currentAuthenticator", "currentAuthenticatorEnrollment"):
            names |= {
                v.get("name", k)
                for k, v in doc.get(top, {}).get("value", {}).items()
                if isinstance(v, dict) and "rel" in v
            }
        return names

    def identify(self, tx: Transaction, body: Json) -> None:
        form_name = "identify-recovery" if tx.step == "identify-recovery" else "identify"
        self._check_captcha(tx, body)
        identifier = str(body.get("identifier") or "").strip()
        if not identifier:
            raise Reject(400, field_error=(form_name, ["identifier"], msg("required")))
        remember = body.get("rememberMe")
        if form_name == "identify" and remember is not None and not isinstance(remember, bool):
            raise Reject(400, field_error=(form_name, ["rememberMe"], msg("invalid_value")))
        hide = self.org.user_enumeration_prevention
        user = self.org.user(identifier)
        if user is None or user.status == "staged":
            if not hide:
                raise Reject(400, msg("unknown_user", identifier, cls="INFO"))
            return self._identify_phantom(tx, body, identifier, form_name)
        if tx.client.groups and not set(tx.client.groups) & set(user.groups):
            raise Reject(400, msg("not_assigned"))
        if tx.step == "identify-recovery":
            tx.user = user
            self.engine.offer_recovery(tx)
            return
        if user.status == "locked_out":
            if not hide:
                raise Reject(400, msg("locked"))
            return self._identify_phantom(tx, body, identifier, form_name)
        creds = member(body, "credentials")
        if self._password_on_first_form(user):
            if not creds.get("passcode"):
                raise Reject(400, field_error=("identify", ["credentials", "passcode"], msg("required")))
            self._check_password(tx, user, creds, first_form=True)
            tx.user = user
            self.engine.mark_verified(tx, "okta_password", "pwd")
        tx.user = user
        if remember:  # "Keep me signed in" ticked here: a remembered session, "Stay signed in?" not asked
            tx.kmsi = True
        self.engine.advance(tx)

    def _check_captcha(self, tx: Transaction, body: Json) -> None:
        """The org's CAPTCHA on this step, checked before anything else is looked at: the
        `captchaVerify` object must name this check and carry a token the provider issued for the
        org's site key and nobody has used."""
        captcha = self.org.captcha
        if captcha is None or tx.step not in captcha.steps:
            return
        verify = member(body, "captchaVerify")
        token = verify.get("captchaToken")
        if (
            verify.get("captchaId") != captcha.id
            or not isinstance(token, str)
            or not self.engine.captcha_tokens.redeem(token, captcha.site_key)
        ):
            raise Reject(400, msg("captcha_invalid"))

    def _password_on_first_form(self, user: User) -> bool:
        return self.org.first_form == "identifier_password" and self.org.sign_on_rule(user).first == "password"

    def _identify_phantom(self, tx: Transaction, body: Json, identifier: str, form_name: str) -> None:
        """User enumeration prevention: an unknown, staged or locked-out identifier goes on as an
        existing user would (a password challenge, a recovery email) with a stand-in that never
        verifies; the password on the first form fails as a wrong one does."""
        phantom = self.engine.phantom(identifier)
        if form_name == "identify" and self._password_on_first_form(phantom):
            creds = member(body, "credentials")
            if not creds.get("passcode"):
                raise Reject(400, field_error=("identify", ["credentials", "passcode"], msg("required")))
            self._check_password(tx, phantom, creds, first_form=True)  # always refused
        tx.user, tx.phantom = phantom, True
        if form_name == "identify-recovery":
            self.engine.offer_recovery(tx)
        else:
            self.engine.advance(tx)

    def select_identify(self, tx: Transaction, body: Json) -> None:
        """ "Already have an account? Sign in" beside registration: back to the first page."""
        self.engine.reset(tx)

    def challenge(self, tx: Transaction, body: Json) -> None:
        if tx.step == "select-authenticator-unlock-account":
            identifier = str(body.get("identifier") or "").strip()
            user = self.org.user(identifier)
            if user is None or user.status == "staged":
                if not self.org.user_enumeration_prevention:
                    raise Reject(400, msg("unknown_user", identifier, cls="INFO"))
                # As for an existing user: the code is "sent" (nothing leaves) and never matches.
                user, tx.phantom = self.engine.phantom(identifier), True
            tx.user = user
        auth = body.get("authenticator")
        if not isinstance(auth, dict) or not auth.get("id"):
            raise Reject(400, field_error=(self._select_form(tx), ["authenticator"], msg("required")))
        key = self._key_for(tx, auth["id"])
        allowed = list(tx.candidates)
        if tx.challenge and tx.challenge.purpose == "verify":
            allowed.append(tx.challenge.key)
        if tx.step == "select-authenticator-unlock-account":
            allowed = self.engine.recovery_keys(tx.user)
        if key is None or key not in allowed:
            raise Reject(400, msg("invalid_value"))
        # Several enrollments of one authenticator (two phones) are told apart by enrollmentId.
        mine = tx.known_user.enrollments_of(key)
        wanted = auth.get("enrollmentId") or next((e.id for e in mine if e.id == auth["id"]), None)
        enrollment = next((e for e in mine if e.id == wanted), None) if wanted else (mine[0] if mine else None)
        if enrollment is None:
            raise Reject(400, msg("invalid_value"))
        method = auth.get("methodType")
        k = kind(key)
        methods = k.methods_for(self.org, enrollment)
        if method is not None and method not in methods:
            raise Reject(400, msg("invalid_value"))
        auto = auth.get("autoChallenge")
        if auto is not None and not isinstance(auto, bool):
            raise Reject(
                400, field_error=(self._select_form(tx), ["authenticator", "autoChallenge"], msg("invalid_value"))
            )
        if auto is not None and key == OKTA_VERIFY.key and method == "push":
            enrollment.data["auto_challenge"] = auto  # Okta Verify's "Send push automatically", kept
        if method is None and len(methods) == 1:
            method = methods[0]
        tx.challenge = Challenge(key, "verify", method, enrollment)
        if method is None:
            tx.step = "authenticator-verification-data"
            return
        self.engine.start_challenge(tx)

    def challenge_answer(self, tx: Transaction, body: Json) -> None:
        ch, user = tx.active_challenge, tx.known_user
        creds = body.get("credentials")
        form_name = tx.step
        if not isinstance(creds, dict):
            raise Reject(400, field_error=(form_name, ["credentials"], msg("required")))
        k = kind(ch.key)
        try:
            if ch.purpose == "verify":
                if ch.key == "okta_password":
                    self._check_password(tx, user, creds)
                else:
                    k.check(self.engine, tx, ch, creds)
            else:
                k.check_enroll(self.engine, tx, ch, creds)
        except Error as e:
            if e.name in CODE_ERRORS:
                ch.failures += 1
                if ch.failures >= MAX_CODE_ATTEMPTS:
                    tx.challenge, tx.step, tx.terminal = None, "terminal", [msg("suspended")]
                    raise Reject(403) from None
            if e.path is None:
                raise Reject(e.status, msg(e.name, *e.params)) from None
            raise Reject(e.status, field_error=(form_name, ["credentials", *e.path], msg(e.name, *e.params))) from None
        if ch.purpose == "verify":
            self.engine.mark_verified(tx, ch.key, k.amr_for(ch))
        elif ch.purpose == "enroll":
            if ch.key == "okta_password":
                user.password = ch.data.pop("password")
            self._enrolled(tx, ch)
        else:  # reset / reenroll (expired or expiring): a new password
            user.password = ch.data["password"]
            user.status, user.failed_passwords, user.password_expires_in_days = "active", 0, None
            self.engine.mark_verified(tx, "okta_password", "pwd")
            tx.flow, tx.password_warned = "login", True
        tx.challenge = None
        self.engine.advance(tx)

    def challenge_answer_webauthn_autofillui(self, tx: Transaction, body: Json) -> None:
        """A passkey picked from the browser's autofill on the first page: the assertion names the
        user (userHandle, or whose credential verifies) and verifies WebAuthn at once."""
        form_name = "challenge-webauthn-autofillui-authenticator"
        creds = body.get("credentials")
        if not isinstance(creds, dict):
            raise Reject(400, field_error=(form_name, ["credentials"], msg("required")))
        found = WEBAUTHN.autofill(self.engine, tx, tx.autofill_challenge or b"", creds)
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
        self.engine.mark_verified(tx, "webauthn", WEBAUTHN.amr)
        self.engine.advance(tx)

    def _answer_promotion(self, tx: Transaction, body: Json) -> None:
        """The passkey the invitation asked for: registered like any WebAuthn enrollment."""
        creds = body.get("credentials")
        if not isinstance(creds, dict):
            raise Reject(400, field_error=("enroll-authenticator-promotion", ["credentials"], msg("required")))
        ch = tx.active_challenge
        try:
            WEBAUTHN.check_enroll(self.engine, tx, ch, creds)
        except Error as e:
            raise Reject(e.status, msg(e.name, *e.params)) from None
        self._enrolled(tx, ch)
        tx.challenge, tx.promoted = None, True
        self.engine.advance(tx)

    def _enrolled(self, tx: Transaction, ch: Challenge) -> None:
        user = tx.known_user
        user.enrollments.append(Enrollment(ch.key, stable_id("enr", user.login, ch.key, secrets.token_hex(4)), ch.data))
        self.engine.mark_verified(tx, ch.key, kind(ch.key).amr_for(ch))

    def challenge_poll(self, tx: Transaction, body: Json) -> None:
        ch = tx.active_challenge
        if tx.step == "enroll-poll":
            activation = self.engine.outbox.find(ch.activation_id or "")
            if activation and activation.status == "activated":
                ch.data["device_name"] = activation.device_name
                ch.data.pop("uri", None)
                self._enrolled(tx, ch)
                tx.challenge = None
                self.engine.advance(tx)
            return
        if tx.step == "loopback-poll":
            if ch.data.get("answered"):  # Okta Verify on this computer signed the challenge
                self.engine.loopback.pop(ch.data.get("challenge_id", ""), None)
                self.engine.mark_verified(tx, ch.key, kind(ch.key).amr_for(ch))
                tx.challenge = None
                self.engine.advance(tx)
            return
        if tx.step != "challenge-poll":
            return  # email: nothing arrives out of band here; the same state comes back
        push = self.engine.outbox.find(ch.push_id or "")
        if push is None:
            return
        if push.status == "approved":
            self.engine.mark_verified(tx, ch.key, "mca")
            tx.challenge = None
            self.engine.advance(tx)
        elif push.status == "denied":
            tx.step = "push-rejected"

    def authenticators_poll(self, tx: Transaction, body: Json) -> None:
        self.challenge_poll(tx, body)

    def authenticators_poll_cancel(self, tx: Transaction, body: Json) -> None:
        """The page found no Okta Verify listening on this computer: back to choosing."""
        self.engine.loopback.pop(tx.active_challenge.data.get("challenge_id", ""), None)
        tx.challenge, tx.step = None, "select-authenticator-authenticate"

    def challenge_resend(self, tx: Transaction, body: Json) -> None:
        ch = tx.active_challenge
        if ch.sends >= SEND_LIMIT:  # Okta throttles resends (E0000150 for SMS, E0000151 for voice)
            raise Reject(429, msg({"sms": "sms_limit", "voice": "voice_limit"}.get(ch.method or "", "too_many")))
        kind(ch.key).start(self.engine, tx, ch)
        if tx.step == "push-rejected":
            tx.step = "challenge-poll"

    def challenge_send(self, tx: Transaction, body: Json) -> None:
        """Okta Verify enrollment by link: where to send it (only Okta Verify offers this form)."""
        ch = tx.active_challenge
        try:
            OKTA_VERIFY.send_link(self.engine, tx, ch, body)
        except Error as e:
            raise Reject(
                e.status, field_error=("enrollment-channel-data", e.path or [], msg(e.name, *e.params))
            ) from None
        tx.step = "enroll-poll"

    def credential_enroll(self, tx: Transaction, body: Json) -> None:
        if tx.step == "enroll-authenticator-promotion":
            return self._answer_promotion(tx, body)
        auth = body.get("authenticator")
        if not isinstance(auth, dict) or not auth.get("id"):
            raise Reject(400, field_error=("select-authenticator-enroll", ["authenticator"], msg("required")))
        key = self._key_for(tx, auth["id"])
        if tx.step == "authenticator-enrollment-data":
            key = key if key == tx.active_challenge.key else None
        if key is None or key not in tx.enroll_options and not (tx.challenge and key == tx.challenge.key):
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
            step = k.begin_enroll(self.engine, tx, ch, auth)
        except Error as e:
            if k.enrollment_data_fields(self.org):
                tx.step = "authenticator-enrollment-data"
            else:
                tx.challenge = before
            raise Reject(e.status, msg(e.name, *e.params)) from None
        tx.step = step or "enroll-authenticator"

    def enroll(self, tx: Transaction, body: Json) -> None:
        tx.flow, tx.step, tx.user = "register", "enroll-profile", None

    @staticmethod
    def _read_profile(
        form_name: str, attributes: list[ProfileAttribute], body: Json, required: Callable[[ProfileAttribute], bool]
    ) -> Json:
        """The `userProfile` values of a submission, checked against `attributes`; `required(a)`
        says whether a blank one is refused."""
        given = member(body, "userProfile")
        profile: Json = {}
        for a in attributes:
            value = given.get(a.name)
            blank = value is None or (isinstance(value, str) and not value.strip())
            if blank:
                if required(a):
                    raise Reject(400, field_error=(form_name, ["userProfile", a.name], msg("required")))
                continue
            ok = (
                isinstance(value, bool)
                if a.type == "boolean"
                else value in a.options
                if a.type == "enum"
                else isinstance(value, str)
            )
            ok = ok and (a.max_length is None or len(str(value)) <= a.max_length)
            ok = ok and (a.min_length is None or len(str(value).strip()) >= a.min_length)
            if not ok:
                raise Reject(400, field_error=(form_name, ["userProfile", a.name], msg("invalid_value")))
            profile[a.name] = value.strip() if isinstance(value, str) else value
        return profile

    def enroll_new(self, tx: Transaction, body: Json) -> None:
        if tx.step == "profile-update":
            return self._update_profile(tx, body)
        self._check_captcha(tx, body)
        policy = self.org.profile_enrollment
        attributes = [a for a in policy.attributes if a.registration]
        profile = self._read_profile("enroll-profile", attributes, body, lambda a: a.required)
        email = profile.get("email", "")
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            raise Reject(400, field_error=("enroll-profile", ["userProfile", "email"], msg("invalid_email")))
        if self.org.user(email):
            raise Reject(400, field_error=("enroll-profile", ["userProfile", "email"], msg("not_unique", "Email")))
        user = User(
            login=email,
            first_name=profile.get("firstName", ""),
            last_name=profile.get("lastName", ""),
            groups=list(policy.groups),
            profile=profile,
        )
        # Only a required password is on the form (an optional one is enrolled afterwards).
        password = str(member(body, "credentials").get("passcode") or "") if policy.password == "required" else ""
        if policy.password == "required" and not password:
            raise Reject(400, field_error=("enroll-profile", ["credentials", "passcode"], msg("required")))
        if password:
            problem = password_problem(self.org, user, password)
            if problem:
                raise Reject(400, field_error=("enroll-profile", ["credentials", "passcode"], msg(*problem)))
        self.org.add_user(user)
        if password:
            user.password = password
            user.enrollments.append(Enrollment("okta_password", stable_id("enr", user.login, "okta_password")))
            self.engine.mark_verified(tx, "okta_password", "pwd")
        tx.user = user
        self.engine.advance(tx)

    def enroll_update(self, tx: Transaction, body: Json) -> None:
        self._update_profile(tx, body)

    def _update_profile(self, tx: Transaction, body: Json) -> None:
        """Progressive profiling: what the signed-in user was missing, stored on their profile.
        Attributes required at sign-in must be given; optional ones may stay blank."""
        user = tx.known_user
        asked = self.org.progressive_attributes(user)
        profile = self._read_profile("profile-update", asked, body, lambda a: a.sign_in == "required")
        for name, value in profile.items():
            if name == "firstName":
                user.first_name = value
            elif name == "lastName":
                user.last_name = value
            user.profile[name] = value
        tx.profiled = True
        self.engine.advance(tx)

    def consent(self, tx: Transaction, body: Json) -> None:
        """Allow (with the optional scopes the person kept) or don't allow. Granted scopes are
        remembered for this user and client, so the page is not shown again for them."""
        form_name = tx.step
        answer = body.get("consent")
        if not isinstance(answer, bool):
            raise Reject(
                400, field_error=(form_name, ["consent"], msg("required" if answer is None else "invalid_value"))
            )
        if not answer:  # Okta ends the transaction: 403 with security.access_denied
            tx.step, tx.terminal, tx.challenge = "terminal", [msg("access_denied")], None
            raise Reject(403)
        declined: list[str] = []
        if form_name == "granular-consent":
            opted = member(body, "optedScopes")
            for name in tx.consent_scopes:
                if self.org.scope(name).consent != "optional":
                    continue  # immutable: granted with the rest
                value = opted.get(name)
                if not isinstance(value, bool):
                    raise Reject(
                        400,
                        field_error=(
                            form_name,
                            ["optedScopes", name],
                            msg("required" if value is None else "invalid_value"),
                        ),
                    )
                if not value:
                    declined.append(name)
        granted = tx.known_user.grants.setdefault(tx.client.id, [])
        granted.extend(s for s in tx.consent_scopes if s not in declined and s not in granted)
        tx.declined, tx.consented = declined, True
        self.engine.advance(tx)

    def keep_me_signed_in(self, tx: Transaction, body: Json) -> None:
        answer = body.get("keepMeSignedIn")
        if not isinstance(answer, bool):
            raise Reject(
                400,
                field_error=(
                    "keep-me-signed-in",
                    ["keepMeSignedIn"],
                    msg("required" if answer is None else "invalid_value"),
                ),
            )
        tx.kmsi = answer
        self.engine.advance(tx)

    def request_activation(self, tx: Transaction, body: Json) -> None:
        """A new activation email for the user whose link expired, to the app the old link served
        (the origin of this transaction's redirect URI). The answer never says more than Okta's."""
        user = tx.user
        if user is not None and user.status == "staged":
            parts = urlsplit(tx.redirect_uri)
            self.engine.send_token_email(user, "activation-email", f"{parts.scheme}://{parts.netloc}")
        tx.user, tx.step, tx.terminal = None, "terminal", [msg("activation_requested", cls="INFO")]

    def recover(self, tx: Transaction, body: Json) -> None:
        tx.flow, tx.verified, tx.amr, tx.challenge = "recover", [], [], None
        if tx.user is None:
            tx.step = "identify-recovery"
        else:
            self.engine.offer_recovery(tx)

    def skip(self, tx: Transaction, body: Json) -> None:
        if tx.step == "reenroll-authenticator-warning":
            tx.password_warned = True
        elif tx.step == "enroll-authenticator-promotion":
            tx.promoted = True
        elif tx.step == "profile-update":
            tx.profiled = True
        else:
            tx.skipped = True
        self.engine.advance(tx)

    def unlock_account(self, tx: Transaction, body: Json) -> None:
        tx.flow, tx.step, tx.user, tx.verified, tx.amr = "unlock", "select-authenticator-unlock-account", None, [], []

    def _check_password(self, tx: Transaction, user: User, creds: dict, first_form: bool = False) -> None:
        """A wrong password is answered in the top-level messages, as Okta does ("Password is
        incorrect"; on the first form, with the identifier, "Authentication failed"), 401; the
        lockout threshold ends the transaction with the locked-out message."""
        given = str(creds.get("passcode") or "")
        if user.password and same(given, user.password):
            user.failed_passwords = 0
            return
        user.failed_passwords += 1
        if (
            self.org.lockout_attempts
            and user.failed_passwords >= self.org.lockout_attempts
            and user.status != "locked_out"
        ):
            user.status = "locked_out"
            self.engine.reset(tx)
            raise Reject(400, msg("locked"))
        raise Reject(401, msg("auth_failed" if first_form else "password_incorrect"))

    def _key_for(self, tx: Transaction, some_id: str) -> str | None:
        """Authenticator key for an authenticator id (or, tolerantly, one of the user's enrollment ids)."""
        key = next((k for k in self.org.authenticators if self.org.authenticator_id(k) == some_id), None)
        if key is None and tx.user is not None:
            key = next((e.key for e in tx.user.enrollments if e.id == some_id), None)
        return key

    def _select_form(self, tx: Transaction) -> str:
        return tx.step if tx.step != "challenge-authenticator" else "select-authenticator-authenticate"
