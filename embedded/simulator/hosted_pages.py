"""The simulator's own sign-in pages (the redirect model, /v1/authorize) as plain HTML forms: an Ion
document of the engine becomes a page (`page_of`), and a posted page becomes the JSON body of the
IDX submission it stands for (`body_of`). Generic: any remediation whose fields a person can fill
in is rendered from its fields, so every flow the engine runs works without a page per step;
steps that need a browser script (WebAuthn, Duo, FastPass) are not offered here.

Input names are the Ion field paths, dotted (`identifier`, `credentials.passcode`,
`userProfile.firstName`). A choice between options (an authenticator, SMS or voice, Allow or
Don't allow) is one submit button per option, named after the field, valued by the option's
index; an option's own inputs are named `<field>.<index>.<name>`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .ion import Json

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Labels for the few fields Okta sends without one.
LABELS = {"methodType": "Method", "channel": "Channel", "authenticator": "Security method", "consent": "Consent"}

# The page heading of each step (a step not listed reads "Sign In").
TITLES = {
    "identify": "Sign In",
    "identify-recovery": "Reset your password",
    "select-authenticator-authenticate": "Verify it's you with a security method",
    "select-authenticator-enroll": "Set up security methods",
    "select-authenticator-unlock-account": "Unlock account?",
    "reset-authenticator": "Reset your password",
    "reenroll-authenticator": "Your password has expired",
    "reenroll-authenticator-warning": "Your password will expire soon",
    "enroll-profile": "Sign up",
    "profile-update": "Additional profile information",
    "keep-me-signed-in": "Stay signed in?",
    "consent": "Allow access?",
    "granular-consent": "Choose what to share",
    "request-activation-email": "Activation link expired",
    "terminal": "Sign In",
    "push-rejected": "Push notification rejected",
}
# Steps about one authenticator: "Verify with …" / "Set up …" + its name.
VERIFY_STEPS = {
    "challenge-authenticator",
    "authenticator-verification-data",
    "challenge-poll",
    "loopback-poll",
    "redirect-idp",
}
ENROLL_STEPS = {
    "enroll-authenticator",
    "authenticator-enrollment-data",
    "enroll-poll",
    "enrollment-channel-data",
    "enroll-authenticator-promotion",
}

# The submit button of each form (a form not listed reads "Continue").
BUTTONS = {
    "identify": "Next",
    "identify-recovery": "Next",
    "select-identify": "Back to sign in",
    "challenge-authenticator": "Verify",
    "enroll-authenticator": "Verify",
    "authenticator-enrollment-data": "Receive a code",
    "enrollment-channel-data": "Send me the setup link",
    "reset-authenticator": "Reset password",
    "reenroll-authenticator": "Change password",
    "reenroll-authenticator-warning": "Change password",
    "select-enroll-profile": "Sign up",
    "enroll-profile": "Sign up",
    "unlock-account": "Unlock account?",
    "skip": "Skip",
    "challenge-poll": "I have responded",
    "enroll-poll": "I have set it up",
    "poll": "Check again",
    "cancel-polling": "Choose another method",
    "profile-update": "Save",
    "granular-consent": "Allow access",
    "request-activation-email": "Request a new activation email",
    "resend": "Resend",
    "recover": "Forgot password?",
    "cancel": "Back to sign in",
}


@dataclass
class HostedSignin:
    """One browser's sign-in on the simulator's pages, named by its cookie: the transaction it
    drives, the token its forms carry (CSRF), and how the code goes back to the client."""

    id: str
    state_handle: str
    response_mode: str = "query"  # query | fragment | form_post
    login_hint: str = ""
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.time)


# ------------------------------------------------------------------------ the page model
@dataclass
class Option:
    value: str  # what the browser sends: the option's index
    label: str
    fields: list[Input] = field(default_factory=list)  # an option's own inputs (beside its button)


@dataclass
class Input:
    name: str  # the Ion path, dotted
    label: str
    widget: str  # text | password | checkbox | select | buttons
    value: str = ""
    required: bool = False
    checked: bool = False
    options: list[Option] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass
class Form:
    name: str  # the remediation (or action) it submits
    inputs: list[Input]
    button: str | None  # None: the options of a `buttons` input submit it
    href: str | None = None  # a link instead of a form (an identity provider)


@dataclass
class Page:
    title: str
    user: str | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)  # (class, text)
    notes: list[str] = field(default_factory=list)  # what the current authenticator says
    qrcode: str | None = None  # a data: URI
    forms: list[Form] = field(default_factory=list)
    actions: list[Form] = field(default_factory=list)  # resend, forgot password, back to sign in
    unsupported: bool = False  # the step needs a script these pages do not have


def sub_fields(f: Json) -> list[Json] | None:
    """The fields inside a field: its sub-form, or the form that is its value."""
    if isinstance(f.get("form"), dict):
        return list(f["form"].get("value", []))
    value = f.get("value")
    if isinstance(value, dict) and isinstance(value.get("form"), dict):
        return list(value["form"].get("value", []))
    return None


def object_options(f: Json) -> bool:
    return any(isinstance(o.get("value"), dict) for o in f.get("options", []))


def needs_script(fields: list[Json]) -> bool:
    """A required field the page cannot fill in: hidden, without a value, not a yes (WebAuthn
    assertions, Duo's signature)."""
    for f in fields:
        inner = sub_fields(f)
        if inner is not None and needs_script(inner):
            return True
        if (
            f.get("visible") is False
            and f.get("required")
            and "value" not in f
            and f.get("type") != "boolean"
            and f.get("name") != "stateHandle"
        ):
            return True
    return False


def inputs_of(fields: list[Json], prefix: str = "", values: Mapping[str, str] | None = None) -> list[Input]:
    """The inputs a person fills in for these Ion fields (fixed and hidden ones are not shown)."""
    out: list[Input] = []
    for f in fields:
        if f.get("name") == "stateHandle" or f.get("mutable") is False or f.get("visible") is False:
            continue
        path = prefix + str(f["name"])
        label = str(f.get("label") or LABELS.get(f["name"], f["name"]))
        messages = [str(m.get("message", "")) for m in f.get("messages", {}).get("value", [])]
        inner = sub_fields(f)
        if inner is not None:
            found = inputs_of(inner, path + ".", values)
            if found and messages:
                found[0].messages = messages + found[0].messages
            out += found
        elif "options" in f:
            # An option's own inputs, when it needs some (its optional ones the next step asks).
            options = [
                Option(
                    str(i),
                    str(o.get("label", i)),
                    inputs_of([g for g in sub_fields(o["value"]) or [] if g.get("required")], f"{path}.{i}.", values)
                    if isinstance(o.get("value"), dict)
                    else [],
                )
                for i, o in enumerate(f["options"])
            ]
            widget = "buttons" if object_options(f) else "select"
            out.append(Input(path, label, widget, required=bool(f.get("required")), options=options, messages=messages))
        elif f.get("type") == "boolean":
            out.append(Input(path, label, "checkbox", checked=f.get("value") is True, messages=messages))
        else:
            out.append(
                Input(
                    path,
                    label,
                    "password" if f.get("secret") else "text",
                    value=(values or {}).get(path, ""),
                    required=bool(f.get("required")),
                    messages=messages,
                )
            )
    return out


def form_of(rem: Json, values: Mapping[str, str] | None = None) -> Form:
    name = str(rem["name"])
    if str(rem.get("method", "POST")).upper() == "GET":  # a browser redirect: an identity provider
        idp = rem.get("idp", {}).get("name") or "identity provider"
        return Form(name, [], f"Sign in with {idp}", href=str(rem["href"]))
    inputs = inputs_of(list(rem.get("value", [])), "", values)
    choices = [i for i in inputs if i.widget in ("select", "buttons")]
    if len(inputs) == 1 and choices:  # the form's only question: one button per answer
        inputs[0].widget = "buttons"
    buttons = any(i.widget == "buttons" for i in inputs)
    return Form(name, inputs, None if buttons else BUTTONS.get(name, "Continue"))


def current_authenticator(doc: Json) -> Json:
    for top in ("currentAuthenticatorEnrollment", "currentAuthenticator"):
        value = doc.get(top, {}).get("value")
        if isinstance(value, dict):
            return value
    return {}


def title_of(step: str, doc: Json) -> str:
    name = current_authenticator(doc).get("displayName") or doc.get("enrollmentAuthenticator", {}).get("value", {}).get(
        "displayName"
    )
    if step in VERIFY_STEPS and name:
        return f"Verify with {name}"
    if step in ENROLL_STEPS and name:
        return f"Set up {name}"
    return TITLES.get(step, "Sign In")


def page_of(doc: Json, step: str, login_hint: str = "") -> Page:
    """The page of an Ion document for the transaction's `step`."""
    page = Page(title_of(step, doc))
    page.user = doc.get("user", {}).get("value", {}).get("identifier")
    for m in doc.get("messages", {}).get("value", []):
        page.messages.append((str(m.get("class", "ERROR")).lower(), str(m.get("message", ""))))
    remediations = list(doc.get("remediation", {}).get("value", []))
    for i, rem in enumerate(remediations):
        if needs_script(list(rem.get("value", []))):
            page.unsupported = page.unsupported or i == 0  # the step itself, not an extra
            continue
        page.forms.append(form_of(rem, {"identifier": login_hint} if rem["name"] == "identify" else None))
    current = current_authenticator(doc)
    for name in ("resend", "recover"):
        action = current.get(name)
        if isinstance(action, dict) and "href" in action:
            page.actions.append(
                Form(f"{action_top(doc)}.{name}", inputs_of(list(action.get("value", []))), BUTTONS[name])
            )
    if "cancel" in doc and step != "identify":
        page.actions.append(Form("cancel", [], BUTTONS["cancel"]))
    data = current.get("contextualData") or {}
    if isinstance(data.get("qrcode"), dict):
        page.qrcode = str(data["qrcode"].get("href", "")) or None
    if data.get("sharedSecret"):
        page.notes.append(f"Or enter this key in the app: {data['sharedSecret']}")
    if data.get("correctAnswer"):
        page.notes.append(f"Pick {data['correctAnswer']} in the app to approve.")
    question = (data.get("enrolledQuestion") or {}).get("question")
    if question:
        page.notes.append(f"Question: {question}")
    profile = current.get("profile") or {}
    sent_to = profile.get("email") or profile.get("phoneNumber")
    if sent_to and "resend" in current:
        page.notes.append(f"A verification code was sent to {sent_to}.")
    return page


def action_top(doc: Json) -> str:
    return "currentAuthenticatorEnrollment" if "currentAuthenticatorEnrollment" in doc else "currentAuthenticator"


def find_form(doc: Json, name: str) -> Json | None:
    """The remediation, authenticator action (`currentAuthenticator.resend`) or `cancel` a posted
    page names."""
    if name == "cancel":
        cancel = doc.get("cancel")
        return cancel if isinstance(cancel, dict) else None
    top, _, action = name.partition(".")
    if action:
        found = (
            doc.get(top, {}).get("value", {}).get(action)
            if top in ("currentAuthenticator", "currentAuthenticatorEnrollment")
            else None
        )
        return found if isinstance(found, dict) and "href" in found else None
    return next((r for r in doc.get("remediation", {}).get("value", []) if r.get("name") == name), None)


def body_of(fields: list[Json], posted: Mapping[str, str], prefix: str = "") -> Json:
    """The JSON body a client would submit for these Ion fields, from a posted page: fixed values as
    given by the document (never from the browser), the rest from the inputs."""
    out: Json = {}
    for f in fields:
        name = str(f["name"])
        path = prefix + name
        inner = sub_fields(f)
        if f.get("mutable") is False and inner is None:
            if "value" in f:
                out[name] = f["value"]
        elif inner is not None:
            out[name] = body_of(inner, posted, path + ".")
        elif "options" in f:
            raw = posted.get(path, "")
            if raw.isdigit() and int(raw) < len(f["options"]):
                chosen = f["options"][int(raw)].get("value")
                chosen_fields = sub_fields(chosen) if isinstance(chosen, dict) else None
                out[name] = body_of(chosen_fields, posted, f"{path}.{raw}.") if chosen_fields is not None else chosen
        elif f.get("visible") is False:
            if f.get("type") == "boolean" and f.get("required") and "value" not in f:
                out[name] = True  # the form's own yes (granular consent's `consent`)
            elif "value" in f:
                out[name] = f["value"]
        elif f.get("type") == "boolean":
            out[name] = posted.get(path) == "true"
        elif path in posted:
            out[name] = posted[path]
    return out


def render(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(**context)
