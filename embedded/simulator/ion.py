"""Builders for the pieces of an IDX Ion document: forms, fields, messages, wrappers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# A JSON object of an Ion document (a form, a field, a message, an authenticator…).
Json = dict[str, Any]

ACCEPTS = "application/json; okta-version=1.0.0"
PRODUCES = "application/ion+json; okta-version=1.0.0"
VERSION = "1.0.0"


def state_field(handle: str) -> Json:
    return {"name": "stateHandle", "required": True, "value": handle, "visible": False, "mutable": False}


def form(
    name: str,
    href: str,
    handle: str,
    fields: Iterable[Json] = (),
    *,
    relates_to: str | None = None,
    refresh: int | None = None,
    method: str = "POST",
) -> Json:
    """A submittable form: its fields, then the hidden immutable stateHandle every form carries."""
    f: Json = {"rel": ["create-form"], "name": name}
    if relates_to:
        f["relatesTo"] = [relates_to]
    f.update({"href": href, "method": method, "produces": PRODUCES})
    if refresh is not None:
        f["refresh"] = refresh
    f["value"] = [*fields, state_field(handle)]
    f["accepts"] = ACCEPTS
    return f


def field(name: str, label: str | None = None, **extra: Any) -> Json:
    f: Json = {"name": name}
    if label is not None:
        f["label"] = label
    f.update(extra)
    return f


def fixed(name: str, value: Any, **extra: Any) -> Json:
    """An immutable field the client must send back as is (ids, methodType, questionKey)."""
    return {"name": name, "required": extra.pop("required", True), "value": value, "mutable": False, **extra}


def subform(name: str, fields: Iterable[Json], **extra: Any) -> Json:
    return {"name": name, "type": "object", "form": {"value": list(fields)}, **extra}


def option(label: str, fields: Iterable[Json], relates_to: str | None = None) -> Json:
    o: Json = {"label": label, "value": {"form": {"value": list(fields)}}}
    if relates_to:
        o["relatesTo"] = relates_to
    return o


def choices(values: Iterable[tuple[Any, str]]) -> list[Json]:
    return [{"label": label, "value": value} for value, label in values]


def message(key: str, text: str, cls: str = "ERROR", params: Iterable[Any] | None = None) -> Json:
    i18n: Json = {"key": key}
    if params is not None:
        i18n["params"] = list(params)
    m: Json = {"message": text, "i18n": i18n, "class": cls}
    return m


def messages(*items: Json) -> Json:
    return {"type": "array", "value": list(items)}


def obj(value: Any) -> Json:
    return {"type": "object", "value": value}


def array(values: Iterable[Any]) -> Json:
    return {"type": "array", "value": list(values)}


def add_field_message(doc: Json, form_name: str, path: list[str], msg: Json) -> bool:
    """Attach `msg` to the field at `path` (names, descending through sub-forms and the chosen
    options' forms) of remediation `form_name`; False when there is no such field."""
    for rem in doc.get("remediation", {}).get("value", []):
        if rem.get("name") != form_name:
            continue
        found = _find_fields(rem["value"], path)
        for f in found:
            f.setdefault("messages", messages())["value"].append(msg)
        return bool(found)
    return False


def _find_fields(fields: list[Json], path: list[str]) -> list[Json]:
    name, rest = path[0], path[1:]
    found: list[Json] = []
    for f in fields:
        if f.get("name") != name:
            continue
        if not rest:
            found.append(f)
            continue
        forms = [f["form"]["value"]] if "form" in f else []
        forms += [o["value"]["form"]["value"] for o in f.get("options", []) if isinstance(o.get("value"), dict)]
        for sub in forms:
            found += _find_fields(sub, rest)
    return found


# Texts as Okta words them (keys and messages seen in real responses).
MSG = {
    "session_expired": (
        "idx.session.expired",
        "You have been logged out due to inactivity. Refresh or return to the sign in screen.",
    ),
    "passcode_invalid": ("api.authn.error.PASSCODE_INVALID", "Invalid code. Try again."),
    "duo_failed": ("oie.authenticator.duo.method.duo.verification_failed", "Duo web signature verification failed."),
    "duo_timeout": ("oie.authenticator.duo.method.duo.verification_timeout", "We did not hear back from Duo."),
    "vip_invalid": (  # Symantec VIP's, and every soft token's (Google Authenticator, Okta Verify's code)
        "authfactor.challenge.soft_token.invalid_passcode",
        "API error: Your code doesn't match our records. Please try again.",
    ),
    "password_incorrect": ("incorrectPassword", "Password is incorrect"),
    "auth_failed": ("errors.E0000004", "Authentication failed"),
    "unknown_user": ("idx.unknown.user", "There is no account with the Username {0}."),
    "locked": ("errors.E0000069", "Your account is locked because of too many authentication attempts."),
    "not_assigned": ("idx.error.user.not.assigned.to.app", "User is not assigned to this application."),
    "bad_request": ("E0000020", "Bad request."),
    "server_error": ("E0000009", "Internal Server Error"),
    "malformed": ("E0000003", "The request body was not well-formed."),
    "too_many": ("tooManyRequests", "Too many requests"),
    "access_denied": ("security.access_denied", "You do not have permission to perform the requested action."),
    "push_rejected": ("api.authn.poll.error.push_rejected", "You have chosen to reject this login."),
    "requirements": ("password.passwordRequirementsNotMet", "Password requirements were not met. {0}"),
    "common_password": (
        "password.common",
        "This password was found in a list of commonly used passwords. Please try another password.",
    ),
    "answer_short": (
        "securityQuestion.answer.tooShort.arg",
        "The security question answer must be at least 4 characters in length",
    ),
    "answer_wrong": ("api.authn.error.PASSCODE_INVALID", "Your answer doesn't match our records. Please try again."),
    "invalid_phone": ("api.factors.error.sms.invalid_phone", "Invalid Phone Number."),
    "required": ("model.validation.field.blank", "This field cannot be left blank"),
    "invalid_value": ("model.validation.field.invalid", "This field has an invalid value"),
    "not_unique": ("registration.error.notUniqueWithinOrg", "A user with this {0} already exists"),
    "invalid_email": ("registration.error.invalidLoginEmail", "'Email' must be in the form of an email address"),
    "reset_not_allowed": (
        "oie.selfservice.reset.password.not.allowed",
        "Reset password is not allowed at this time. Please contact support for assistance.",
    ),
    "unlock_not_allowed": (
        "oie.selfservice.user.unlock.not.allowed",
        "Self Service Unlock is not allowed at this time. Please contact support for assistance.",
    ),
    "unlock_success": (
        "oie.selfservice.unlock_user.success.message",
        "You can log in using your existing username and password",
    ),
    "unlock_landing": (
        "oie.selfservice.unlock_user.landing.to.app.success.message",
        "Account successfully unlocked! Verify your account with a security method to continue.",
    ),
    "recovery_completed": (
        "idx.recovery.completed",
        "You can now sign in with your existing username and new password.",
    ),
    "email_verification": ("idx.email.verification.required", "To finish signing in, check your email."),
    "suspended": (
        "authfactor.challenge.suspended_factor",
        "This factor is suspended for your account due to too many failed attempts",
    ),
    "webauthn_attestation": (
        "authfactor.webauthn.error.invalid_attestation",
        "The security key or biometric authenticator could not be registered. Try again.",
    ),
    "webauthn_assertion": (
        "authfactor.webauthn.error.assertion_validation_failure",
        "None of the WebAuthn authenticators the user has enrolled for was able to validate the assertion",
    ),
    "sms_limit": ("errors.E0000150", "You have reached the limit of sms requests, please try again later."),
    "voice_limit": ("errors.E0000151", "You have reached the limit of call requests, please try again later."),
    "password_expiring": (
        "idx.password.expiring.message",
        "When your password expires, you will have to change your password before you can login to your {0} account.",
    ),
    "idp_error": ("idx.identity.provider.auth.error", "There was a problem signing you in with the identity provider."),
    "activation_expired": (
        "idx.expired.activation.token",
        "Your account activation link is no longer valid. Request a new activation email below.",
    ),
    "activation_expired_admin": (
        "idx.expired.activation.token",
        "Your account activation link is no longer valid. Contact your administrator to request a new activation link.",
    ),
    # Not seen in a recorded response: the key is the simulator's own.
    "captcha_invalid": ("captcha.verification.failed", "The CAPTCHA check failed. Try again."),
    "activation_requested": (
        "idx.request.activation.email",
        (
            "New activation link requested. If your information matches our records, you will receive a new "
            "activation link in your inbox soon."
        ),
    ),
}


def msg(name: str, *params: Any, cls: str = "ERROR") -> Json:
    key, text = MSG[name]
    for i, p in enumerate(params):
        text = text.replace(f"{{{i}}}", str(p))
    return message(key, text, cls, params if params else None)
