"""The Ion document builder: a transaction's current step as the JSON document IDX answers with
(remediations, authenticators and enrollments, the current authenticator, messages, the user, the
app, and at the end `successWithInteractionCode`). It only reads the transaction; what moves it on
is the engine's (engine.py, submissions.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from webauthn.helpers import bytes_to_base64url

from . import ion
from .authenticator_base import Services
from .authenticators import KINDS, OKTA_VERIFY, PASSWORD, kind
from .captcha import PROVIDERS, provider_name
from .ion import Json, fixed, form, msg
from .ion import field as fld
from .org import Enrollment
from .transaction import StateError, Transaction, iso

METHOD_LABELS = {
    "sms": "SMS",
    "voice": "Voice call",
    "push": "Get a push notification",
    "totp": "Enter a code",
    "signed_nonce": "Use Okta FastPass",
}
# Steps once the user is authenticated (and the expired-activation page): no authenticator lists.
AFTER_AUTHENTICATION = (
    "profile-update",
    "keep-me-signed-in",
    "consent",
    "granular-consent",
    "request-activation-email",
)
# Steps that enroll an authenticator, and those that change the password.
ENROLL_STEPS = (
    "select-authenticator-enroll",
    "authenticator-enrollment-data",
    "enroll-authenticator",
    "enroll-poll",
    "enrollment-channel-data",
    "enroll-authenticator-promotion",
)
PASSWORD_STEPS = ("reset-authenticator", "reenroll-authenticator", "reenroll-authenticator-warning")

# The current authenticator of a step: (top-level key, authenticator object), or several of them.
Current = tuple[str, Json] | list[tuple[str, Json]] | None
Step = tuple[list[Json], Current]
StepBuilder = Callable[[], Step]


class DocumentBuilder:
    """Builds the Ion document for a transaction's current step."""

    def __init__(self, engine: Services, tx: Transaction, origin: str):
        self.engine, self.org, self.tx, self.origin = engine, engine.org, tx, origin
        self.sh = tx.state_handle
        # Each step's remediations and current authenticator, by step name.
        self.steps: dict[str, StepBuilder] = {
            "identify": self.step_identify,
            "redirect-idp": self.step_redirect_idp,
            "enroll-authenticator-promotion": self.step_enroll_authenticator_promotion,
            "identify-recovery": self.step_identify_recovery,
            "select-authenticator-authenticate": self.step_select_authenticator_authenticate,
            "authenticator-verification-data": self.step_authenticator_verification_data,
            "challenge-authenticator": self.step_challenge_authenticator,
            "challenge-poll": self.step_challenge_poll,
            "loopback-poll": self.step_loopback_poll,
            "push-rejected": self.step_push_rejected,
            "select-authenticator-enroll": self.step_select_authenticator_enroll,
            "authenticator-enrollment-data": self.step_authenticator_enrollment_data,
            "enroll-authenticator": self.step_enroll_authenticator,
            "enroll-poll": self.step_enroll_poll,
            "enrollment-channel-data": self.step_enrollment_channel_data,
            "reenroll-authenticator-warning": self.step_reenroll_authenticator_warning,
            "reenroll-authenticator": self.step_reenroll_authenticator,
            "reset-authenticator": self.step_reset_authenticator,
            "enroll-profile": self.step_enroll_profile,
            "select-authenticator-unlock-account": self.step_select_authenticator_unlock_account,
            "profile-update": self.step_profile_update,
            "keep-me-signed-in": self.step_keep_me_signed_in,
            "consent": self.step_consent,
            "granular-consent": self.step_granular_consent,
            "request-activation-email": self.step_request_activation_email,
        }

    def href(self, path: str) -> str:
        return f"{self.origin}/idp/idx/{path}"

    def form(self, name: str, path: str, fields: Iterable[Json] = (), **kw: Any) -> Json:
        return form(name, self.href(path), self.sh, fields, **kw)

    def document(self, messages: list[Json]) -> Json:
        tx = self.tx
        doc: Json = {"version": ion.VERSION, "stateHandle": self.sh, "expiresAt": iso(tx.expires_at), "intent": "LOGIN"}
        remediations: list[Json] = []
        current: Current = None  # (top-level key, authenticator object), or several
        if tx.step == "terminal":
            messages = tx.terminal + messages
        elif tx.step != "success":
            build = self.steps.get(tx.step)
            if build is None:
                raise StateError(f"no document for step {tx.step!r}")
            remediations, current = build()
        if tx.step == "push-rejected":
            messages = [msg("push_rejected")] + messages
        if tx.step == "reenroll-authenticator-warning":
            messages = [msg("password_expiring", self.org.name, cls="INFO")] + messages
        if tx.step == "request-activation-email":
            messages = [msg("activation_expired")] + messages
        if tx.unlocked and len(tx.verified) == 1 and tx.step != "success":  # the step an unlock lands on
            messages = [msg("unlock_landing", cls="INFO")] + messages
        if remediations:
            doc["remediation"] = ion.array(remediations)
        if messages:
            doc["messages"] = ion.messages(*messages)
        for top, obj in [current] if isinstance(current, tuple) else current or []:
            doc[top] = ion.obj(obj)
        if tx.step == "select-authenticator-unlock-account":
            doc["authenticators"] = ion.array(self.catalog())
        elif tx.user is not None and tx.step not in ("terminal", "success", *AFTER_AUTHENTICATION):
            doc["authenticators"] = ion.array(self.catalog())
            doc["authenticatorEnrollments"] = ion.array(self.enrollments())
            if tx.step in ("reset-authenticator", "reenroll-authenticator") or tx.flow == "recover":
                # The password being recovered, from the first answer of a recovery on.
                doc["recoveryAuthenticator"] = ion.obj(self.password_object())
            if tx.challenge and tx.challenge.purpose == "enroll":
                doc["enrollmentAuthenticator"] = ion.obj(kind(tx.challenge.key).describe(self.org))
        if tx.user is not None:
            doc["user"] = ion.obj(self.user())
        if tx.step == "success" and tx.hosted_origin is None:
            doc["successWithInteractionCode"] = self.success_form()
        elif tx.step == "success":  # the simulator's own pages: back to the client with the code
            doc["success"] = {"name": "success-redirect", "href": self.success_redirect()}
        doc["cancel"] = self.form("cancel", "cancel")
        doc["app"] = ion.obj(self.app())
        if self.captcha_asked():
            doc["captcha"] = ion.obj(self.captcha())
        if self.autofill_offered():
            doc["webauthnAutofillUIChallenge"] = ion.obj(self.autofill_challenge())
        return doc

    # -- shared pieces
    def captcha_asked(self) -> bool:
        """Whether this step's form carries the org's CAPTCHA (identify, registration, recovery)."""
        captcha = self.org.captcha
        return captcha is not None and self.tx.step in captcha.steps

    def captcha(self) -> Json:
        captcha = self.org.captcha
        assert captcha is not None
        found: Json = {
            "id": captcha.id,
            "name": provider_name(captcha.type),
            "siteKey": captcha.site_key,
            "type": captcha.type,
        }
        if captcha.type in PROVIDERS:  # the fake provider's script (Okta's object names none)
            found["scriptSource"] = f"{self.origin}/captcha/{PROVIDERS[captcha.type][0]}/api.js"
        return found

    def captcha_field(self) -> list[Json]:
        """`captchaVerify`, as Okta adds it to a form that needs the CAPTCHA: the check's id to send
        back, and the provider's token, filled by the page's script."""
        if not self.captcha_asked():
            return []
        captcha = self.org.captcha
        assert captcha is not None
        return [
            {
                "name": "captchaVerify",
                "form": {
                    "value": [
                        fixed("captchaId", captcha.id, visible=False),
                        fld("captchaToken", required=True, visible=False, hint="captcha"),
                    ]
                },
                "relatesTo": "$.captcha",
            }
        ]

    def app(self) -> dict:
        """The client; on consent pages also its terms, privacy policy, logo and home page."""
        client = self.tx.client
        app: Json = {"name": "oidc_client", "label": client.name, "id": client.id}
        if self.tx.step in ("consent", "granular-consent"):
            for key, uri, rel in (
                ("termsOfService", client.terms_uri, "terms-of-service"),
                ("privacyPolicy", client.policy_uri, "privacy-policy"),
                ("logo", client.logo_uri, "icon"),
                ("clientUri", client.client_uri, None),
            ):
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

    # -- the authenticators and enrollments a document lists: those of this user and this step,
    # as Okta lists them (never the org's whole catalog): what may be verified now (the choices
    # and the one in play) and the user's enrollments of them; while enrolling, what may be
    # enrolled and everything the user already has; a password change, the password.
    @cached_property
    def listed_keys(self) -> list[str]:
        tx, org = self.tx, self.org
        if tx.step == "select-authenticator-unlock-account":
            keys = set(org.recovery_authenticators)
        elif tx.step in PASSWORD_STEPS:
            keys = {"okta_password"}
        elif tx.step in ENROLL_STEPS:
            keys = set(tx.enroll_options)
        else:
            keys = set(tx.candidates)
        if tx.challenge is not None:
            keys.add(tx.challenge.key)
        return [k for k in org.authenticators if k in keys]

    @cached_property
    def listed_enrollments(self) -> list[Enrollment]:
        tx = self.tx
        mine = [e for e in tx.known_user.enrollments if e.key in KINDS]
        if tx.step in ENROLL_STEPS:
            return mine
        return [e for e in mine if e.key in self.listed_keys]

    def catalog(self) -> list[dict]:
        return [self.absolute(kind(k).describe(self.org)) for k in self.listed_keys]

    def authenticator_index(self, key: str) -> int:
        return self.listed_keys.index(key)

    def enrollments(self) -> list[dict]:
        out = []
        for e in self.listed_enrollments:
            d = kind(e.key).describe_enrollment(self.org, self.tx.known_user, e)
            if e.key == "webauthn":  # what a client puts in allowCredentials
                d["credentialId"] = e.data["credential_id"]
            out.append(self.absolute(d))
        return out

    def user(self) -> dict:
        u, tx = self.tx.known_user, self.tx
        if self.org.user_enumeration_prevention and not tx.verified:
            # Nothing beyond what was typed until the user proves something: an unknown or locked
            # user (tx.phantom) must look exactly like an existing one.
            return {"id": u.id, "identifier": u.login}
        return {
            "id": u.id,
            "identifier": u.login,
            "profile": {"firstName": u.first_name, "lastName": u.last_name, "timeZone": "UTC", "locale": "en_US"},
        }

    def password_object(self) -> dict:
        return {**PASSWORD.describe(self.org), "settings": PASSWORD.settings(self.org)}

    def success_form(self) -> dict:
        tx = self.tx
        issuer = self.engine.issuer or self.origin + "/oauth2/default"
        # As Okta sends them: required values, without `mutable` (okta-signin-widget's
        # success-with-interaction-code.json); the client adds its secret (when it has one) and verifier.
        fields = [
            {"name": "grant_type", "required": True, "value": "interaction_code"},
            {"name": "interaction_code", "required": True, "value": tx.interaction_code},
            {"name": "client_id", "required": True, "value": tx.client.id},
        ]
        if not tx.client.public:  # a public client has no secret to send
            fields.append(fld("client_secret", required=True))
        fields.append(fld("code_verifier", required=True))
        return {
            "rel": ["create-form"],
            "name": "issue",
            "href": f"{issuer}/v1/token",
            "method": "POST",
            "accepts": "application/x-www-form-urlencoded",
            "value": fields,
        }

    def success_redirect(self) -> str:
        """Where a hosted sign-in ends: the redirect URI with the authorization code and state."""
        tx = self.tx
        params = {"code": tx.authorization_code or "", **({"state": tx.state} if tx.state is not None else {})}
        return tx.redirect_uri + ("&" if "?" in tx.redirect_uri else "?") + urlencode(params)

    def enrollment_index(self, enrollment: Enrollment) -> int:
        return self.listed_enrollments.index(enrollment)

    def enrollment_id_field(self, enrollment: Enrollment) -> list[dict]:
        """`enrollmentId`, needed only to tell several enrollments of one authenticator apart."""
        several = len(self.tx.known_user.enrollments_of(enrollment.key)) > 1
        return [fixed("enrollmentId", enrollment.id)] if several else []

    def method_field(self, key: str, enrollment: Enrollment | None = None) -> dict:
        methods = kind(key).methods_for(self.org, enrollment)
        if len(methods) == 1:
            return fixed("methodType", methods[0], required=False)
        return fld(
            "methodType",
            type="string",
            required=False,
            options=ion.choices((m, METHOD_LABELS.get(m, m)) for m in methods),
        )

    def select_authenticate(self, keys: list[str], name="select-authenticator-authenticate", extra=()) -> dict:
        options = []
        for key in keys:
            for e in self.tx.known_user.enrollments_of(key):
                fields = [
                    fixed("id", self.org.authenticator_id(key)),
                    self.method_field(key, e),
                    *self.enrollment_id_field(e),
                ]
                if key == "phone_number":  # as Okta sends a phone: its methods to pick from, and which phone
                    methods = kind(key).methods_for(self.org, e)
                    fields = [
                        fixed("id", self.org.authenticator_id(key)),
                        fld(
                            "methodType",
                            type="string",
                            required=False,
                            options=ion.choices((m, METHOD_LABELS.get(m, m)) for m in methods),
                        ),
                        fixed("enrollmentId", e.id),
                    ]
                options.append(
                    ion.option(kind(key).label, fields, f"$.authenticatorEnrollments.value[{self.enrollment_index(e)}]")
                )
        return self.form(name, "challenge", [*extra, fld("authenticator", type="object", options=options)])

    def select_enroll(self) -> dict:
        options = []
        for key in self.tx.enroll_options:
            k = kind(key)
            fields = k.enroll_option_fields(self.org) or [
                fixed("id", self.org.authenticator_id(key)),
                self.method_field(key),
            ]
            if k.enrollment_data_fields(self.org):
                fields.append(fld("phoneNumber", "Phone number", required=False))
            options.append(ion.option(k.label, fields, f"$.authenticators.value[{self.authenticator_index(key)}]"))
        return self.form(
            "select-authenticator-enroll",
            "credential/enroll",
            [fld("authenticator", type="object", required=True, options=options)],
        )

    def others(self) -> list[dict]:
        """The 'verify with something else' list offered beside a challenge: other authenticators,
        or another method of this one (SMS / voice, push / code)."""
        keys = [k for k in self.tx.candidates if self.tx.known_user.enrollment(k)]
        choices = sum(len(self.tx.known_user.enrollments_of(k)) for k in keys)
        several_methods = (
            len(keys) == 1 and len(kind(keys[0]).methods_for(self.org, self.tx.known_user.enrollment(keys[0]))) > 1
        )
        return [self.select_authenticate(keys)] if choices > 1 or several_methods else []

    def select_channel(self) -> dict:
        """Okta Verify enrollment: show a QR code, or send the activation link by SMS or email."""
        ov = OKTA_VERIFY
        return self.form(
            "select-enrollment-channel",
            "credential/enroll",
            [
                {
                    "name": "authenticator",
                    "type": "object",
                    "label": ov.label,
                    "value": {
                        "form": {
                            "value": [
                                fixed("id", self.org.authenticator_id(ov.key), visible=False),
                                ov.channel_field(required=True, visible=True),
                            ]
                        }
                    },
                }
            ],
        )

    def current_object(self, with_actions=True) -> tuple[str, dict]:
        ch, tx = self.tx.active_challenge, self.tx
        k = kind(ch.key)
        if ch.purpose == "verify" and ch.enrollment and not k.current_authenticator:
            obj = k.describe_enrollment(self.org, tx.known_user, ch.enrollment)
            top = "currentAuthenticatorEnrollment"
        else:  # enrolling, or those Okta presents as the authenticator itself (Okta Verify, WebAuthn)
            obj, top = k.describe(self.org), "currentAuthenticator"
        self.absolute(obj)
        if ch.method and ch.key != "okta_password":
            obj["methods"] = [{"type": ch.method}]
        if ch.key == "okta_password" and ch.purpose != "verify":
            obj["settings"] = PASSWORD.settings(self.org)
            if tx.step == "reenroll-authenticator-warning":
                obj["settings"]["daysToExpiry"] = tx.known_user.password_expires_in_days
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
                obj["resend"] = self.form(
                    "resend", "challenge/resend", [fixed(name, ch.data["address"], visible=False)]
                )
            if ch.key == "okta_password" and ch.purpose == "verify" and self.org.recovery_authenticators:
                obj["recover"] = self.form("recover", "recover")
        return top, obj

    # -- one method per step: (remediations, current authenticator)
    def step_identify(self) -> Step:
        org = self.org
        fields = [fld("identifier", "Username", required=True)]
        if org.first_form == "identifier_password":
            fields.append(ion.subform("credentials", [fld("passcode", "Password", secret=True)], required=True))
        fields.append(fld("rememberMe", "Keep me signed in", type="boolean"))
        rems = [self.form("identify", "identify", [*fields, *self.captcha_field()])]
        for idp in org.idps:
            if idp.on_identify:
                rems.append(self.redirect_idp(idp))
        if org.profile_enrollment.enabled:
            rems.append(self.form("select-enroll-profile", "enroll"))
        if org.self_service_unlock:
            rems.append(self.form("unlock-account", "unlock-account"))
        if self.autofill_offered():
            hidden = dict(required=True, visible=False)
            rems.append(
                self.form(
                    "challenge-webauthn-autofillui-authenticator",
                    "challenge/answer/webauthn-autofillui",
                    [
                        ion.subform(
                            "credentials",
                            [
                                fld("authenticatorData", "Authenticator Data", **hidden),
                                fld("clientData", "Client Data", **hidden),
                                fld("signatureData", "Signature Data", **hidden),
                                fld("userHandle", "User Handle", required=False, visible=False),
                            ],
                            required=True,
                        )
                    ],
                    relates_to="$.webauthnAutofillUIChallenge",
                )
            )
        current = None
        if org.first_form == "identifier_password" and org.recovery_authenticators:
            # With the password on this form (only then), the password authenticator with its
            # `recover` action: where "Forgot password?" starts. Identifier first, it is offered
            # beside the password challenge, once the user is known.
            p = kind("okta_password")
            current = ("currentAuthenticator", {**p.describe(org), "recover": self.form("recover", "recover")})
        return rems, current

    def redirect_idp(self, idp, relates_to: str | None = None) -> dict:
        r = {
            "name": "redirect-idp",
            "type": idp.type,
            "idp": {"id": idp.id, "name": idp.name},
            "href": f"{self.origin}/sso/idps/{idp.id}?stateToken={self.sh}",
            "method": "GET",
        }
        if relates_to:
            r["relatesTo"] = [relates_to]
        return r

    def step_redirect_idp(self) -> Step:
        """A federated factor (external IdP, smart card): the browser goes to its identity provider.
        Okta names the authenticator both ways here, as the enrollment and as the authenticator."""
        ch = self.tx.active_challenge
        k = kind(ch.key)
        enrollment = self.absolute(k.describe_enrollment(self.org, self.tx.known_user, ch.known_enrollment))
        current = self.absolute(k.describe(self.org))
        rems = [self.redirect_idp(self.org.idp_for(ch.key), "$.currentAuthenticatorEnrollment")]
        return rems, [("currentAuthenticatorEnrollment", enrollment), ("currentAuthenticator", current)]

    def autofill_offered(self) -> bool:
        tx, org = self.tx, self.org
        return (
            org.passkey_autofill and "webauthn" in org.authenticators and tx.step == "identify" and tx.flow == "login"
        )

    def autofill_challenge(self) -> dict:
        """`webauthnAutofillUIChallenge`: the options of the page's conditional-mediation get()."""
        tx = self.tx
        if tx.autofill_challenge is None:
            tx.autofill_challenge = secrets.token_bytes(32)
        return {
            "challengeData": {
                "challenge": bytes_to_base64url(tx.autofill_challenge),
                "userVerification": "preferred",
                "extensions": {},
            }
        }

    def step_enroll_authenticator_promotion(self) -> Step:
        top, obj = self.current_object(with_actions=False)
        creds = {
            "name": "credentials",
            "form": {"value": kind("webauthn").enroll_answer_fields(self.org, self.tx.active_challenge)},
        }
        return [
            self.form("enroll-authenticator-promotion", "credential/enroll", [creds], relates_to=f"$.{top}"),
            self.form("skip", "skip"),
        ], (top, obj)

    def step_identify_recovery(self) -> Step:
        return [
            self.form(
                "identify-recovery", "identify", [fld("identifier", "Username", required=True), *self.captcha_field()]
            )
        ], None

    def step_select_authenticator_authenticate(self) -> Step:
        return [self.select_authenticate(self.tx.candidates)], None

    def step_authenticator_verification_data(self) -> Step:
        ch = self.tx.active_challenge
        k = kind(ch.key)
        options = [(m, METHOD_LABELS.get(m, m)) for m in k.methods_for(self.org, ch.enrollment)]
        auto_challenge = (
            # Okta Verify: whether to send the push at once on later sign-ins from now on.
            [
                fld(
                    "autoChallenge",
                    "Send push automatically",
                    type="boolean",
                    required=False,
                    value=False,
                    visible=True,
                    mutable=True,
                )
            ]
            if ch.key == OKTA_VERIFY.key and "push" in k.methods_for(self.org, ch.enrollment)
            else []
        )
        sub = ion.subform(
            "authenticator",
            [
                fixed("id", self.org.authenticator_id(ch.key)),
                fld("methodType", type="string", required=True, options=ion.choices(options)),
                *auto_challenge,
                *self.enrollment_id_field(ch.known_enrollment),
            ],
            label=k.label,
            relatesTo=f"$.authenticatorEnrollments.value[{self.enrollment_index(ch.known_enrollment)}]",
        )
        top, obj = self.current_object(with_actions=False)
        obj.pop("methods", None)
        obj["methods"] = [{"type": m} for m in k.methods_for(self.org, ch.enrollment)]
        return [
            self.form("authenticator-verification-data", "challenge", [sub], relates_to=f"$.{top}"),
            *self.others(),
        ], (top, obj)

    def step_challenge_authenticator(self) -> Step:
        ch = self.tx.active_challenge
        k = kind(ch.key)
        top, obj = self.current_object()
        creds = ion.subform("credentials", k.answer_fields(self.org, ch), required=True)
        return [
            self.form("challenge-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}"),
            *self.others(),
        ], (top, obj)

    def step_challenge_poll(self) -> Step:
        top, obj = self.current_object()
        return [self.form("challenge-poll", "challenge/poll", relates_to=f"$.{top}", refresh=4000), *self.others()], (
            top,
            obj,
        )

    def step_loopback_poll(self) -> Step:
        """Okta FastPass: the page finds Okta Verify on a loopback port and hands it the challenge;
        meanwhile it polls; `cancel-polling` gives up when nothing answers."""
        top, obj = self.current_object()
        obj["cancel"] = self.form("cancel-polling", "authenticators/poll/cancel")
        obj["contextualData"] = obj.pop("contextualData")  # after the action, as Okta orders it
        return [
            self.form("challenge-poll", "authenticators/poll", relates_to=f"$.{top}", refresh=4000),
            *self.others(),
        ], (top, obj)

    def step_push_rejected(self) -> Step:
        ch = self.tx.active_challenge
        top, obj = self.current_object(with_actions=False)
        # As Okta sends it: the whole authenticator object is the field's fixed value.
        again = self.form(
            "resend",
            "challenge",
            [
                {
                    "name": "authenticator",
                    "type": "object",
                    "label": kind(ch.key).label,
                    "value": {
                        "form": {
                            "value": [
                                fixed("id", self.org.authenticator_id(ch.key)),
                                fixed("methodType", "push", label="PUSH"),
                            ]
                        }
                    },
                }
            ],
            relates_to=f"$.{top}",
        )
        return [again, *self.others()], (top, obj)

    def step_select_authenticator_enroll(self) -> Step:
        rems = [self.select_enroll()]
        if self.tx.skippable:
            rems.append(self.form("skip", "skip"))
        return rems, None

    def step_authenticator_enrollment_data(self) -> Step:
        ch = self.tx.active_challenge
        k = kind(ch.key)
        sub = ion.subform("authenticator", k.enrollment_data_fields(self.org) or [], label=k.label, required=True)
        return [
            self.form("authenticator-enrollment-data", "credential/enroll", [sub], relates_to="$.currentAuthenticator"),
            self.select_enroll(),
        ], ("currentAuthenticator", k.describe(self.org))

    def step_enroll_authenticator(self) -> Step:
        ch = self.tx.active_challenge
        k = kind(ch.key)
        top, obj = self.current_object()
        answer = k.enroll_answer_fields(self.org, ch)
        creds = (
            answer[0]
            if answer and answer[0]["name"] == "credentials"
            else ion.subform("credentials", answer, required=True)
        )
        return [
            self.form("enroll-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}"),
            self.select_enroll(),
        ], (top, obj)

    def step_enroll_poll(self) -> Step:
        top, obj = self.current_object()
        return [
            self.form("enroll-poll", "challenge/poll", refresh=4000),
            self.select_channel(),
            self.select_enroll(),
        ], (top, obj)

    def step_enrollment_channel_data(self) -> Step:
        top, obj = self.current_object(with_actions=False)
        if self.tx.active_challenge.data["channel"] == "email":
            address = fld("email", "Email", required=True, visible=True)
        else:
            address = fld("phoneNumber", "Phone number", required=True, visible=True)
        return [
            self.form("enrollment-channel-data", "challenge/send", [address]),
            self.select_channel(),
            self.select_enroll(),
        ], (top, obj)

    def step_reenroll_authenticator_warning(self) -> Step:
        top, obj = self.current_object(with_actions=False)
        creds = ion.subform(
            "credentials", kind("okta_password").answer_fields(self.org, self.tx.active_challenge), required=True
        )
        return [
            self.form("reenroll-authenticator-warning", "challenge/answer", [creds], relates_to=f"$.{top}"),
            self.form("skip", "skip"),
        ], (top, obj)

    def step_reenroll_authenticator(self) -> Step:
        top, obj = self.current_object(with_actions=False)
        creds = ion.subform(
            "credentials", kind("okta_password").answer_fields(self.org, self.tx.active_challenge), required=True
        )
        return [self.form("reenroll-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}")], (top, obj)

    def step_reset_authenticator(self) -> Step:
        top, obj = self.current_object(with_actions=False)
        creds = ion.subform(
            "credentials", kind("okta_password").answer_fields(self.org, self.tx.active_challenge), required=True
        )
        return [self.form("reset-authenticator", "challenge/answer", [creds], relates_to=f"$.{top}")], (top, obj)

    def step_enroll_profile(self) -> Step:
        policy = self.org.profile_enrollment
        attrs = []
        for a in policy.attributes:
            if not a.registration:
                continue
            extra: Json = {"type": "boolean" if a.type == "boolean" else "string", "required": a.required}
            if a.type == "enum":
                extra["options"] = ion.choices((o, o) for o in a.options)
            if a.max_length:
                extra["maxLength"] = a.max_length
            attrs.append(fld(a.name, a.label, **extra))
        fields = [ion.subform("userProfile", attrs)]
        current: Current = None
        # As Okta: the password is on this form only when the policy requires it (both the object
        # and the passcode marked required); an optional one is left out and offered afterwards.
        if policy.password == "required":
            fields.append(
                ion.subform(
                    "credentials",
                    [fld("passcode", "Password", secret=True, required=True)],
                    required=True,
                    relatesTo="$.currentAuthenticator",
                )
            )
            current = ("currentAuthenticator", self.password_object())
        return [
            self.form("enroll-profile", "enroll/new", [*fields, *self.captcha_field()]),
            self.form("select-identify", "identify/select"),  # back to the first page: only the state handle
        ], current

    def step_select_authenticator_unlock_account(self) -> Step:
        options = [
            ion.option(
                kind(key).label,
                [fixed("id", self.org.authenticator_id(key)), self.method_field(key)],
                f"$.authenticators.value[{self.authenticator_index(key)}]",
            )
            for key in self.listed_keys
        ]
        fields = [fld("identifier", "Username", required=True), fld("authenticator", type="object", options=options)]
        return [self.form("select-authenticator-unlock-account", "challenge", fields)], None

    # -- after authentication
    def step_profile_update(self) -> Step:
        """Progressive profiling: the attributes this user lacks; skippable when all are optional."""
        asked = self.org.progressive_attributes(self.tx.known_user)
        fields = []
        for a in asked:
            extra: Json = {"required": a.sign_in == "required"}
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

    def step_keep_me_signed_in(self) -> Step:
        return [
            self.form(
                "keep-me-signed-in",
                "keep-me-signed-in",
                [
                    fld(
                        "keepMeSignedIn",
                        type="boolean",
                        label="Stay signed in",
                        required=True,
                        value=False,
                        mutable=True,
                    )
                ],
            )
        ], None

    def step_consent(self) -> Step:
        """All-or-nothing consent: the scopes asked about, then Allow Access / Don't Allow."""
        scopes = [
            {"name": sc.name, "label": sc.label, "value": sc.name, "desc": sc.description}
            for sc in map(self.org.scope, self.tx.consent_scopes)
        ]
        form = self.form(
            "consent",
            "consent",
            [
                fld(
                    "consent",
                    type="boolean",
                    required=True,
                    options=[{"label": "Allow Access", "value": True}, {"label": "Don't Allow", "value": False}],
                )
            ],
        )
        value = form.pop("value")
        accepts = form.pop("accepts")
        form.update(scopes=scopes, value=value, accepts=accepts)
        return [form], None

    def step_granular_consent(self) -> Step:
        """Granular consent: one box per scope, ticked; the optional ones may be unticked. openid
        is listed first, fixed, as Okta shows it."""
        tx = self.tx
        opted = []
        names = (["openid"] if "openid" in tx.scopes and "openid" not in tx.consent_scopes else []) + tx.consent_scopes
        for name in names:
            sc = self.org.scope(name)
            f: Json = {"name": name}
            if name != "openid":
                f["label"] = sc.label
                if sc.description:
                    f["desc"] = sc.description
            f.update(type="boolean", required=True, value=True, visible=True, mutable=sc.consent == "optional")
            opted.append(f)
        return [
            self.form(
                "granular-consent",
                "consent",
                [
                    fld("consent", type="boolean", visible=False, required=True),
                    {"name": "optedScopes", "form": {"value": opted}},
                ],
            )
        ], None

    def step_request_activation_email(self) -> Step:
        return [self.form("request-activation-email", "request-activation")], None
