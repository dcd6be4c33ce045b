"""One class per authenticator key: how it is described, challenged, enrolled and how an answer is
checked. Adding an authenticator kind means adding a class (here, or in passcodes.py for one more
typed code) and listing it in KINDS. The interface they implement is in authenticator_base.py."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import urlencode, urlsplit

import webauthn
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_attestation_object,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse,
    RegistrationCredential,
)

from . import duo, ion, totp
from .authenticator_base import (
    CODE_LIFETIME,
    SEND_LIMIT,
    Error,
    Kind,
    Services,
    e164,
    mask_email,
    mask_phone,
    new_code,
    new_secret,
    qr_png,
)
from .compare import same
from .ion import field as fld
from .ion import fixed
from .org import QUESTIONS, Enrollment, Org, User
from .outbox import Message
from .passcodes import (
    MODHEX,
    NfcPin,
    OnPremMfa,
    RsaToken,
    SymantecVip,
    TemporaryAccessCode,
    YubiKey,
)
from .transaction import Challenge, Transaction

__all__ = [
    "KINDS",
    "MODHEX",
    "OKTA_VERIFY",
    "PASSWORD",
    "SEND_LIMIT",
    "WEBAUTHN",
    "Error",
    "Kind",
    "kind",
    "password_problem",
]


class OtpByMessage(Kind):
    """Codes delivered by the outbox (email, SMS, voice)."""

    def _send(self, engine: Services, tx: Transaction, ch: Challenge, to: str, kind: str) -> Message | None:
        ch.sends += 1
        ch.code_expires = time.time() + CODE_LIFETIME
        if tx.phantom:  # user enumeration prevention: "sent" as to anyone, but nothing leaves
            ch.code = ""  # and no code will ever match
            return None
        ch.code = new_code()
        return engine.outbox.send(to, kind, code=ch.code, subject=f"{engine.org.name} verification code")

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        code = str(creds.get("passcode") or "").strip()
        if not ch.code or time.time() > ch.code_expires or not same(code, ch.code):
            raise Error("passcode_invalid")


class Email(OtpByMessage):
    key, type, label, amr = "okta_email", "email", "Email", "email"

    def address(self, tx: Transaction, ch: Challenge) -> str | None:
        return ch.enrollment.data.get("email") if ch.enrollment else ch.data.get("email") or tx.known_user.email

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return {"email": mask_email(enrollment.data.get("email", user.email))}

    def start(self, engine: Services, tx: Transaction, ch: Challenge) -> None:
        to = self.address(tx, ch) or tx.known_user.email
        ch.data.setdefault("email", to)
        sent = self._send(engine, tx, ch, to, "email")
        if sent is None or not engine.org.email_magic_link:
            return
        if tx.hosted_origin is not None:
            # The simulator's own pages drive this sign-in: the link opens them (same browser).
            sent.link = f"{tx.hosted_origin}/signin/email?{urlencode({'otp': ch.code or ''})}"
        else:
            # The link lands on the app's callback, which resumes the transaction found by `state`.
            sep = "&" if "?" in tx.redirect_uri else "?"
            sent.link = f"{tx.redirect_uri}{sep}state={tx.state}&otp={ch.code}"

    def contextual_data(self, engine: Services, tx: Transaction, ch: Challenge) -> dict | None:
        return {"useEmailMagicLink": engine.org.email_magic_link}


class Phone(OtpByMessage):
    key, type, label, amr = "phone_number", "phone", "Phone", "sms"

    def methods(self, org: Org) -> list[str]:
        return list(org.phone_methods)

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return {"phoneNumber": mask_phone(enrollment.data["phone"])}

    def start(self, engine: Services, tx: Transaction, ch: Challenge) -> None:
        phone = ch.enrollment.data["phone"] if ch.enrollment else ch.data["phone"]
        self._send(engine, tx, ch, phone, ch.method or "sms")

    def enrollment_data_fields(self, org: Org) -> list[dict]:
        return [
            fixed("id", org.authenticator_id(self.key)),
            fld(
                "methodType",
                required=True,
                options=ion.choices([(m, "SMS" if m == "sms" else "Voice call") for m in self.methods(org)]),
            ),
            fld("phoneNumber", "Phone number", required=True, type="string"),
        ]

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        ch.data["phone"] = e164(submitted.get("phoneNumber"))
        self.start(engine, tx, ch)
        return None

    def amr_for(self, ch: Challenge) -> str:
        return "tel" if ch.method == "voice" else "sms"


class Totp(Kind):
    """Authenticator apps: the code comes from a shared TOTP secret. A wrong code when verifying
    gets Okta's soft-token error ("Your code doesn't match our records"); when enrolling, the
    generic one (as authenticator-reset-google's invalid code shows)."""

    credential = "passcode"
    error = "vip_invalid"  # authfactor.challenge.soft_token.invalid_passcode

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        if not totp.verify(ch.known_enrollment.data["secret"], str(creds.get(self.credential) or "")):
            raise Error(self.error, path=(self.credential,))

    def check_enroll(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        if not totp.verify(ch.data["secret"], str(creds.get(self.credential) or "")):
            raise Error("passcode_invalid", path=(self.credential,))

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        ch.data["secret"] = new_secret()
        return None

    def contextual_data(self, engine: Services, tx: Transaction, ch: Challenge) -> dict | None:
        if ch.purpose != "enroll":
            return None
        uri = totp.provisioning_uri(ch.data["secret"], tx.known_user.login, engine.org.name)
        return {"qrcode": qr_png(uri), "sharedSecret": ch.data["secret"]}


class GoogleAuthenticator(Totp):
    key, type, label = "google_otp", "app", "Google Authenticator"
    current_authenticator = True  # its challenge names the authenticator, as Okta's does

    def methods(self, org: Org) -> list[str]:
        return ["otp"]

    def needs_method_choice(self, org: Org) -> bool:
        return False


class OktaVerify(Totp):
    """Push (with an optional number challenge, answered at /outbox) or a TOTP code. Enrolling
    shows a QR code or sends an activation link by SMS or email; the simulated device activates
    from the outbox (`POST /outbox/enrollment/{id}/activate`) and `enroll-poll` then completes."""

    key, type, label, amr = "okta_verify", "app", "Okta Verify", "mca"
    credential = "totp"
    current_authenticator = True
    CHANNELS = {"qrcode": "QR code", "email": "Email", "sms": "SMS"}

    def methods(self, org: Org) -> list[str]:
        return ["push", "totp"]

    def methods_for(self, org: Org, enrollment: Enrollment | None) -> list[str]:
        """FastPass (`fastpass = true`: Okta Verify on this computer) signs a nonce; an enrollment
        with a `secret` (a phone) also pushes and shows codes."""
        if enrollment is None or not enrollment.data.get("fastpass"):
            return self.methods(org)
        return ["signed_nonce"] + (self.methods(org) if enrollment.data.get("secret") else [])

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return {"deviceName": enrollment.data.get("device_name", "Okta Verify")}

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [fld("totp", "Enter code from Okta Verify app", required=True)]

    def channel_field(self, **extra) -> dict:
        return fld("channel", options=ion.choices(self.CHANNELS.items()), **extra)

    def enroll_option_fields(self, org: Org) -> list[dict]:
        return [fixed("id", org.authenticator_id(self.key)), self.channel_field(required=False, type="string")]

    def enroll_method(self, requested: str | None, org: Org) -> str | None:
        return None  # the device enrolls every method at once

    def start(self, engine: Services, tx: Transaction, ch: Challenge) -> None:
        ch.sends += 1
        if ch.purpose == "enroll":
            # What the QR code / link carries; the simulated device "reads" it from the outbox.
            to = ch.data.get("address") or tx.known_user.login
            activation = engine.outbox.activation(to, ch.data["channel"], ch.data["secret"], tx.known_user.login)
            ch.activation_id = activation.id
            ch.data["uri"] = activation.link
        elif ch.method == "push":
            ch.push_id = engine.outbox.push(tx.known_user.login, engine.org.number_challenge).id
        elif ch.method == "signed_nonce":
            ch.data["challenge_request"] = engine.loopback_challenge(tx)

    def contextual(self, engine: Services, tx: Transaction, ch: Challenge, origin: str) -> dict | None:
        if ch.method != "signed_nonce":
            return self.contextual_data(engine, tx, ch)
        # Okta Verify on this computer listens on a loopback port; the page probes each in turn.
        # The first port is one nobody listens on, the second is the simulator playing the device.
        parts = urlsplit(origin)
        own = parts.port or (443 if parts.scheme == "https" else 80)
        return {
            "challenge": ion.obj(
                {
                    "challengeMethod": "LOOPBACK",
                    "challengeRequest": ch.data["challenge_request"],
                    "domain": "http://localhost",
                    "ports": [str(engine.dead_port), str(own)],
                }
            )
        }

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        channel = submitted.get("channel") or "qrcode"
        if channel not in self.CHANNELS:
            raise Error("invalid_value", path=("channel",), status=400)
        ch.data.update(secret=new_secret(), channel=channel)
        if channel != "qrcode":
            return "enrollment-channel-data"  # where to send the link comes first
        self.start(engine, tx, ch)
        return "enroll-poll"

    def send_link(self, engine: Services, tx: Transaction, ch: Challenge, body: dict) -> None:
        """`enrollment-channel-data`: the address the activation link goes to."""
        if ch.data["channel"] == "sms":
            ch.data["address"] = e164(body.get("phoneNumber"))
        else:
            email = str(body.get("email") or "").strip()
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise Error("invalid_email", path=("email",), status=400)
            ch.data["address"] = email
        self.start(engine, tx, ch)

    def push(self, engine: Services, ch: Challenge):
        return engine.outbox.find(ch.push_id) if ch.push_id else None

    def contextual_data(self, engine: Services, tx: Transaction, ch: Challenge) -> dict | None:
        if ch.purpose == "enroll":
            channel = ch.data["channel"]
            data = {"selectedChannel": channel}
            if channel == "qrcode" and ch.data.get("uri"):
                data = {"qrcode": qr_png(ch.data["uri"]), **data}
            elif ch.data.get("address"):
                data["email" if channel == "email" else "phoneNumber"] = ch.data["address"]
            return data
        push = self.push(engine, ch)
        return {"correctAnswer": push.correct_answer} if push and push.correct_answer else None

    def amr_for(self, ch: Challenge) -> str:
        return {"totp": "otp", "signed_nonce": "pop"}.get(ch.method or "", "mca")


class WebAuthn(Kind):
    """Security keys and platform authenticators, verified for real (py_webauthn). The relying party
    is the app: its origin (and RP ID, its host) come from the transaction's redirect URI, because
    the browser runs navigator.credentials on the app's pages. Browsers refuse IP addresses as RP
    IDs, so use the app on `localhost`."""

    key, type, label, amr = "webauthn", "security_key", "Security Key or Biometric", "hwk"
    current_authenticator = True
    ALGORITHMS = (-7, -257)  # ES256, RS256

    def methods(self, org: Org) -> list[str]:
        return ["webauthn"]

    @staticmethod
    def relying_party(tx: Transaction) -> tuple[str, str]:
        parts = urlsplit(tx.redirect_uri)
        return parts.hostname or "", f"{parts.scheme}://{parts.netloc}"

    def start(self, engine: Services, tx: Transaction, ch: Challenge) -> None:
        ch.data["challenge"] = secrets.token_bytes(32)

    def contextual_data(self, engine: Services, tx: Transaction, ch: Challenge) -> dict | None:
        challenge = bytes_to_base64url(ch.data["challenge"])
        if ch.purpose != "enroll":
            return {"challengeData": {"challenge": challenge, "userVerification": "discouraged"}}
        user = tx.known_user
        return {
            "activationData": {
                "rp": {"name": engine.org.name},
                "user": {"displayName": user.name, "name": user.login, "id": user.id},
                "pubKeyCredParams": [{"type": "public-key", "alg": a} for a in self.ALGORITHMS],
                "challenge": challenge,
                "attestation": "none",
                # A discoverable credential when the authenticator can (a passkey, usable by autofill).
                "authenticatorSelection": {
                    "userVerification": "discouraged",
                    "residentKey": "preferred",
                    "requireResidentKey": False,
                },
                "excludeCredentials": [
                    {"type": "public-key", "id": e.data["credential_id"]} for e in user.enrollments if e.key == self.key
                ],
            }
        }

    @staticmethod
    def _hidden(name: str, label: str, required: bool = True, **extra) -> dict:
        return fld(name, label, required=required, visible=False, **extra)

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [
            self._hidden("clientData", "Client Data"),
            self._hidden("authenticatorData", "Authenticator Data"),
            self._hidden("signatureData", "Signature Data"),
        ]

    def enroll_answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [
            self._hidden("clientData", "Client Data", hint="webauthn"),
            self._hidden("attestation", "Attestation", hint="webauthn"),
            self._hidden("transports", "Transports", required=False, hint="webauthn"),
            self._hidden("clientExtensions", "clientExtensions", required=False, hint="webauthn"),
        ]

    def check_enroll(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        rp_id, origin = self.relying_party(tx)
        try:
            attestation = base64url_to_bytes(str(creds.get("attestation") or ""))
            client_data = base64url_to_bytes(str(creds.get("clientData") or ""))
            attested = parse_attestation_object(attestation).auth_data.attested_credential_data
            if attested is None:  # a registration must carry the new credential
                raise ValueError("no attested credential data")
            credential_id = attested.credential_id
            verified = webauthn.verify_registration_response(
                credential=RegistrationCredential(
                    id=bytes_to_base64url(credential_id),
                    raw_id=credential_id,
                    response=AuthenticatorAttestationResponse(
                        client_data_json=client_data, attestation_object=attestation
                    ),
                ),
                expected_challenge=ch.data["challenge"],
                expected_rp_id=rp_id,
                expected_origin=origin,
                supported_pub_key_algs=[COSEAlgorithmIdentifier(a) for a in self.ALGORITHMS],
            )
        except (WebAuthnException, ValueError, TypeError, AttributeError, KeyError):
            raise Error("webauthn_attestation", path=None, status=400) from None
        ch.data.clear()
        ch.data.update(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
        )
        transports = creds.get("transports")
        if isinstance(transports, str):  # sent as a JSON array in a string by the widget
            ch.data["transports"] = transports

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        # Assertions name no credential in Okta's body: try each WebAuthn enrollment of the user.
        if self.verify_assertion(tx, ch.data["challenge"], creds, tx.known_user.enrollments_of(self.key)) is None:
            raise Error("webauthn_assertion", path=None, status=400)

    def verify_assertion(self, tx: Transaction, challenge: bytes, creds: dict, enrollments) -> Enrollment | None:
        """The enrollment whose credential made this assertion over `challenge`, if any (its sign
        count is updated)."""
        rp_id, origin = self.relying_party(tx)
        for enrollment in enrollments:
            data = enrollment.data
            try:
                verified = webauthn.verify_authentication_response(
                    credential=AuthenticationCredential(
                        id=data["credential_id"],
                        raw_id=base64url_to_bytes(data["credential_id"]),
                        response=AuthenticatorAssertionResponse(
                            client_data_json=base64url_to_bytes(str(creds.get("clientData") or "")),
                            authenticator_data=base64url_to_bytes(str(creds.get("authenticatorData") or "")),
                            signature=base64url_to_bytes(str(creds.get("signatureData") or "")),
                        ),
                    ),
                    expected_challenge=challenge,
                    expected_rp_id=rp_id,
                    expected_origin=origin,
                    credential_public_key=base64url_to_bytes(data["public_key"]),
                    credential_current_sign_count=int(data.get("sign_count", 0)),
                )
            except (WebAuthnException, ValueError, TypeError, KeyError):
                continue
            data["sign_count"] = verified.new_sign_count
            return enrollment
        return None

    @staticmethod
    def user_handle_matches(user: User, handle) -> bool:
        """Whether a passkey's userHandle (base64url, as clients send it) is this user's: the
        activationData `user.id`, read as base64url by clients (or, by some, as text)."""
        if not isinstance(handle, str) or not handle:
            return False
        try:
            raw = base64url_to_bytes(handle)
        except (ValueError, TypeError):
            return False
        try:
            ours = base64url_to_bytes(user.id)
        except (ValueError, TypeError):
            ours = None
        return raw in (ours, user.id.encode())

    def autofill(
        self, engine: Services, tx: Transaction, challenge: bytes, creds: dict
    ) -> tuple[User, Enrollment] | None:
        """Passkey autofill on the first page: the user whose discoverable credential made this
        assertion, found by userHandle when given, else among every user's passkeys."""
        handle = creds.get("userHandle")
        users = [u for u in engine.org.users if not handle or self.user_handle_matches(u, handle)]
        enrollments = [e for u in users for e in u.enrollments_of(self.key)]
        found = self.verify_assertion(tx, challenge, creds, enrollments)
        if found is None:
            return None
        return next(u for u in users if found in u.enrollments), found


class CustomOtp(Totp):
    """A generic passcode authenticator (custom_otp): an administrator provisions the TOTP secret,
    the user types the code. Not self-enrollable (Okta answers `enroll.hotp.restricted`)."""

    key, type, label = "custom_otp", "security_key", "Custom OTP Authenticator"
    enrollable = False
    error = "passcode_invalid"  # a hardware token's code, not a soft token's

    def methods(self, org: Org) -> list[str]:
        return ["otp"]


class CustomApp(Kind):
    """A custom push authenticator (an app built with Okta's Devices SDK): verified by a push the
    person approves or denies in the outbox, like Okta Verify's, without a number challenge."""

    key, type, label, amr = "custom_app", "app", "Custom Push", "mca"
    current_authenticator = True
    enrollable = False
    resendable = False
    logo = "/img/custom-push-logo.svg"

    def methods(self, org: Org) -> list[str]:
        return ["push"]

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return {"deviceName": enrollment.data.get("device_name", "Custom Push")}

    def start(self, engine: Services, tx: Transaction, ch: Challenge) -> None:
        ch.sends += 1
        ch.push_id = engine.outbox.push(
            tx.known_user.login, False, subject=f"{self.label}: did you just try to sign in?"
        ).id


class Duo(Kind):
    """Duo Security through the Duo Web v2 iframe, answered by the simulator's own fake Duo (see
    duo.py): `host` is the simulator, `signedToken` its signed TX:APP request, and the answer
    `credentials.signatureData` = Duo's AUTH half + ":" + the APP half."""

    key, type, label, amr = "duo", "app", "Duo Security", "mca"
    enrollable = False

    def methods(self, org: Org) -> list[str]:
        return ["duo"]

    def start(self, engine: Services, tx: Transaction, ch: Challenge) -> None:
        ch.data["signed_token"] = duo.sign_request(engine.duo, tx.known_user.login)

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [fld("signatureData", "Assertion From Duo", required=True, visible=False)]

    def contextual(self, engine: Services, tx: Transaction, ch: Challenge, origin: str) -> dict | None:
        return {
            "integrationType": "IFRAME",
            "host": urlsplit(origin).netloc,
            "signedToken": ch.data["signed_token"],
            "script": origin + "/frame/duo-web-v2.js",
        }

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        try:
            duo.verify_response(engine.duo, str(creds.get("signatureData") or ""), tx.known_user.login)
        except duo.DuoError as e:
            raise Error(f"duo_{e}", path=None, status=400) from None


class Federated(Kind):
    """Verified by sending the browser to an identity provider (`redirect-idp` relating to this
    authenticator); the simulator's /sso/idps/{id} page stands in for it. The displayName is the
    identity provider's name."""

    type = "federated"
    enrollable = False
    challenge_step = "redirect-idp"

    def describe(self, org: Org) -> dict:
        d = super().describe(org)
        idp = org.idp_for(self.key)
        if idp is not None:
            d["displayName"] = idp.name
        return d


class ExternalIdp(Federated):
    key, label, amr = "external_idp", "IDP Authenticator", "fed"

    def methods(self, org: Org) -> list[str]:
        return ["idp"]


class SmartCard(Federated):
    """A PIV / CAC card: the enrollment holds the card certificate's `subject` (and `issuer`,
    `serial`), which the simulator's card page offers to pick."""

    key, label, amr = "smart_card_idp", "Smart Card IdP", "sc"

    def methods(self, org: Org) -> list[str]:
        return ["cert"]


class SecurityQuestion(Kind):
    key, type, label, amr = "security_question", "security_question", "Security Question", "kba"

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return self._question(enrollment.data)

    @staticmethod
    def _question(data: dict) -> dict:
        key = data.get("question_key", "custom")
        return {"questionKey": key, "question": data.get("question") or QUESTIONS.get(key, key)}

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        q = self._question(ch.known_enrollment.data)
        return [
            fixed("questionKey", q["questionKey"], label=q["question"], visible=False),
            fld("answer", "Answer", required=True, secret=True),
        ]

    def contextual_data(self, engine: Services, tx: Transaction, ch: Challenge) -> dict | None:
        if ch.purpose == "enroll":
            return {
                "questionKeys": [*QUESTIONS, "custom"],
                "questions": [{"questionKey": k, "question": q} for k, q in QUESTIONS.items()],
            }
        return {"enrolledQuestion": self._question(ch.known_enrollment.data)}

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        given = str(creds.get("answer") or "").strip().lower()
        if not same(given, ch.known_enrollment.data["answer"].strip().lower()):
            raise Error("answer_wrong", path=("answer",))

    def enroll_answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        answer = fld("answer", "Answer", required=True, secret=True)
        return [
            {
                "name": "credentials",
                "type": "object",
                "required": True,
                "options": [
                    ion.option(
                        "Choose a security question",
                        [
                            fld(
                                "questionKey",
                                "Choose a security question",
                                type="string",
                                required=True,
                                options=ion.choices(QUESTIONS.items()),
                            ),
                            answer,
                        ],
                    ),
                    ion.option(
                        "Create my own security question",
                        [
                            fixed("questionKey", "custom"),
                            fld("question", "Create a security question", required=True),
                            answer,
                        ],
                    ),
                ],
            },
        ]

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        return None

    def check_enroll(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        key = str(creds.get("questionKey") or "")
        answer = str(creds.get("answer") or "").strip()
        if key != "custom" and key not in QUESTIONS:
            raise Error("invalid_value", path=("questionKey",), status=400)
        if key == "custom" and not str(creds.get("question") or "").strip():
            raise Error("required", path=("question",), status=400)
        if len(answer) < 4:
            raise Error("answer_short", path=("answer",), status=400, params=(4,))
        ch.data.update(question_key=key, answer=answer)
        if key == "custom":
            ch.data["question"] = str(creds["question"]).strip()


class Password(Kind):
    key, type, label, amr = "okta_password", "password", "Password", "pwd"

    def settings(self, org: Org) -> dict:
        p = org.password
        complexity = {
            "minLength": p.min_length,
            "minLowerCase": p.min_lower,
            "minUpperCase": p.min_upper,
            "minNumber": p.min_number,
            "minSymbol": p.min_symbol,
            "excludeUsername": p.exclude_username,
            "excludeAttributes": list(p.exclude_attributes),
        }
        if p.max_consecutive_repeating:
            complexity["maxConsecutiveRepeatingCharacters"] = p.max_consecutive_repeating
        return {"complexity": complexity, "age": {"minAgeMinutes": p.min_age_minutes, "historyCount": p.history_count}}

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        if ch.purpose == "reset":
            return [
                fld("passcode", "New password", secret=True),
                fld("revokeSessions", "Sign me out of all other devices", type="boolean"),
            ]
        if ch.purpose in ("enroll", "reenroll"):
            return [fld("passcode", "New password" if ch.purpose == "reenroll" else "Enter password", secret=True)]
        return [fld("passcode", "Password", secret=True)]

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        given = str(creds.get("passcode") or "")
        if not tx.known_user.password or not same(given, tx.known_user.password):
            raise Error("password_incorrect")

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        return None

    def check_enroll(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        new = str(creds.get("passcode") or "")
        problem = password_problem(engine.org, tx.known_user, new)
        if problem:
            raise Error(problem[0], status=400, params=problem[1:])
        ch.data["password"] = new


def password_requirements(org: Org) -> str:
    p = org.password
    parts = [f"at least {p.min_length} characters"]
    parts += ["a lowercase letter"] if p.min_lower else []
    parts += ["an uppercase letter"] if p.min_upper else []
    parts += ["a number"] if p.min_number else []
    parts += ["a symbol"] if p.min_symbol else []
    parts += ["no parts of your username"] if p.exclude_username else []
    parts += [
        f"does not include your {'first' if a == 'firstName' else 'last'} name"
        for a in p.exclude_attributes
        if a in ("firstName", "lastName")
    ]
    text = "Password requirements: " + ", ".join(parts) + "."
    if p.history_count:
        text += f" Your password cannot be any of your last {p.history_count} passwords."
    return text


def password_problem(org: Org, user: User, pw: str) -> tuple | None:
    """None when `pw` satisfies the org's password policy for `user`, else (message name, params…)."""
    p = org.password
    lower = pw.lower()
    username_parts = [s for s in re.split(r"[@._\-+]", user.login.lower()) if len(s) >= 3]
    names = {"firstName": user.first_name, "lastName": user.last_name}
    broken = (
        len(pw) < p.min_length
        or sum(c.islower() for c in pw) < p.min_lower
        or sum(c.isupper() for c in pw) < p.min_upper
        or sum(c.isdigit() for c in pw) < p.min_number
        or sum(not c.isalnum() for c in pw) < p.min_symbol
        or (p.exclude_username and any(part in lower for part in username_parts))
        or any(names.get(a) and names[a].lower() in lower for a in p.exclude_attributes)
        or (p.history_count and user.password == pw)
        or (p.max_consecutive_repeating and re.search(rf"(.)\1{{{p.max_consecutive_repeating},}}", pw))
    )
    if broken:
        return ("requirements", password_requirements(org))
    if pw in p.common:
        return ("common_password",)
    return None


# The kinds the engine and the document builder call beyond the Kind interface.
PASSWORD, OKTA_VERIFY, WEBAUTHN = Password(), OktaVerify(), WebAuthn()

KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        PASSWORD,
        Email(),
        Phone(),
        GoogleAuthenticator(),
        OKTA_VERIFY,
        SecurityQuestion(),
        WEBAUTHN,
        CustomOtp(),
        CustomApp(),
        Duo(),
        ExternalIdp(),
        SmartCard(),
        RsaToken(),
        OnPremMfa(),
        SymantecVip(),
        YubiKey(),
        TemporaryAccessCode(),
        NfcPin(),
    )
}


def kind(key: str) -> Kind:
    return KINDS[key]
