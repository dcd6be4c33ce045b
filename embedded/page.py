"""What a template gets for one IDX response: the page model and which template files to try.

Pure. The first remediation becomes the page's form and the others its alternatives; actions
such as resend or cancel become small buttons.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .captcha import CaptchaWidget, captcha_widget
from .devices import DuoFrame, device_challenge, duo_frame, mapping
from .forms import NEW_SECRET_STEPS, Choice, Control, FormView, details_asked, form_view, humanize, is_chooser
from .idx_models import Authenticator, Field, Form, IdxResponse, Message

GENERIC_TEMPLATE = "steps/_generic.html"
# A form asking for a CAPTCHA this package cannot show: what to do instead, never a dead end.
CAPTCHA_UNSUPPORTED_TEMPLATE = "steps/captcha-unsupported.html"
TERMINAL_TEMPLATE = "terminal.html"
# Actions offered as buttons; poll actions run in the background instead.
BUTTON_ACTIONS = ("resend", "recover", "send", "cancel", "cancel-polling")
# Passkey sign-in offered on the identify page (autofill, or a button): answered by script, never shown as forms.
PASSKEY_FORMS = ("challenge-webauthn-autofillui-authenticator", "launch-passkeys-authenticator")
PASSWORD_REFUSED = "password.passwordRequirementsNotMet"
# Top-level messages about one field of the form: Okta sends a wrong password for the whole
# response. Shown on that field, which it marks invalid (and the error summary, with others, links to it).
FIELD_OF_MESSAGE = {"incorrectPassword": "credentials.passcode", PASSWORD_REFUSED: "credentials.passcode"}
# A chosen method's details (phone's SMS or voice and number, Okta Verify's channel): a view of their own.
DETAILS_TEMPLATES = ("steps/method-details--{key}.html", "steps/method-details.html")
BLANK = "model.validation.field.blank"  # the Identity Engine's key for a required field left empty


@dataclass(frozen=True)
class Chosen:
    """A method the person picked on our own list that still asks for details: nothing has been
    sent for it yet; the next view asks for them."""

    form_id: str  # the remediation's index, as posted in `_form`
    option: int  # the method's index among the chooser's options


@dataclass(frozen=True)
class Details:
    """The view after a method is chosen: what that method still asks, sent with the choice in one call."""

    view: FormView  # the chosen remediation, its controls the method's own
    field: str  # the chooser's control ("authenticator"), posted again with `choice.value`
    choice: Choice  # the method: its label, icon and masked address
    back: bool  # there is a list to go back to


@dataclass(frozen=True)
class ActionView:
    id: str  # posted back as `_action`: "cancel", "currentAuthenticator-resend", ...
    name: str  # the form's own name: resend, recover, ...


@dataclass(frozen=True)
class Page:
    """Everything a template needs for one response; built from the stored response, no I/O."""

    templates: tuple[str, ...]  # most specific first
    primary: FormView | None
    alternatives: tuple[FormView, ...]
    actions: tuple[ActionView, ...]
    messages: tuple[Message, ...]  # global; field messages sit on their controls
    authenticator: Authenticator | None
    user: Mapping[str, Any] | None
    app: Mapping[str, Any] | None
    webauthn_credential_ids: tuple[str, ...] = ()  # the user's security keys, for navigator.credentials.get
    device_challenge: Mapping[str, Any] | None = None  # for an authenticator app on this device (FastPass)
    passkey: FormView | None = None  # answered with a discoverable credential (autofill or button)
    passkey_options: Mapping[str, Any] | None = None  # webauthnAutofillUIChallenge.challengeData
    duo: DuoFrame | None = None
    captcha: CaptchaWidget | None = None  # a check the main form asks for (its widget goes before the button)
    details: Details | None = None  # a method chosen on the list: its details, instead of the list
    password_rules: tuple[PasswordRule, ...] = ()  # the org's rules for the new password this page sets
    password_refusal: PasswordRefusal | None = None  # the rules a refused new password broke

    @property
    def asks_password(self) -> bool:
        """Whether a form on the page takes a password (it gets a show/hide button)."""
        views = (self.primary, self.details.view if self.details else None, *self.alternatives)
        return any(c.kind == "password" for v in views if v is not None for c in v.controls)


def template_names(form_name: str | None, authenticator_key: str | None, method: str | None = None) -> tuple[str, ...]:
    """Lookup order: `<remediation>--<key>--<method>.html` (when the authenticator is down to one
    method), `<remediation>--<authenticator key>.html`, `<remediation>.html`, generic."""
    if form_name is None:
        return (TERMINAL_TEMPLATE,)
    names = [f"steps/{form_name}--{authenticator_key}--{method}.html"] if authenticator_key and method else []
    names += [f"steps/{form_name}--{authenticator_key}.html"] if authenticator_key else []
    return (*names, f"steps/{form_name}.html", GENERIC_TEMPLATE)


def authenticator_in_play(response: IdxResponse, form: Form | None) -> Authenticator | None:
    if form is not None and form.authenticator is not None:
        return form.authenticator
    return response.current_enrollment or response.current_authenticator


def build_page(
    response: IdxResponse,
    echo: Mapping[str, str] | None = None,
    *,
    chosen: Chosen | None = None,
    blank: Mapping[str, Sequence[str]] | None = None,
    broken: Sequence[str] | None = None,
    listing: bool = False,
) -> Page:
    """The page for `response`. What the app kept of the person's last answer: `echo` (values to
    refill), `chosen` (a method picked on the list: its details are asked), `blank` (form name ->
    the required fields left empty, said when the answer was refused), `broken` (the password
    rules a refused new password broke, as checked here; None when nothing was checked).
    `listing`: the list of methods, whatever the response would show first (the details view's
    back link)."""
    forms = response.remediations
    primary = forms[0] if forms else None
    authenticator = authenticator_in_play(response, primary)
    method = authenticator.methods[0] if authenticator and len(authenticator.methods) == 1 else None
    passkey = next(((i, f) for i, f in enumerate(forms) if i > 0 and f.name == PASSKEY_FORMS[0]), None)
    autofill = response.raw.get("webauthnAutofillUIChallenge")
    captcha = captcha_widget(response, primary)
    templates = template_names(primary.name if primary else None, authenticator.key if authenticator else None, method)
    blank = blank if blank and any(m.is_error for m in response.all_messages()) else {}  # only if refused
    view, messages = on_their_fields(form_view(primary, "0", echo) if primary else None, response.messages)
    rules = password_rules(authenticator, response.user, primary.name) if primary else ()
    details = None if listing else method_details(forms, chosen, echo)
    if details is not None:
        key = details.choice.authenticator.key if details.choice.authenticator else None
        templates = tuple(t.format(key=key) for t in DETAILS_TEMPLATES[0 if key else 1 :])
    return Page(
        templates=(CAPTCHA_UNSUPPORTED_TEMPLATE, *templates) if captcha and not captcha.supported else templates,
        primary=as_list(with_blanks(view, blank), primary) if view and primary else None,
        alternatives=tuple(
            as_list(with_blanks(form_view(f, str(i)), blank), f)
            for i, f in enumerate(forms)
            if i > 0 and f.name not in PASSKEY_FORMS
        ),
        actions=tuple(ActionView(id=k, name=f.name) for k, f in response.actions.items() if f.name in BUTTON_ACTIONS),
        messages=messages,
        authenticator=authenticator,
        user=response.user,
        app=response.app,
        webauthn_credential_ids=tuple(
            a.credential_id for a in response.enrollments if a.key == "webauthn" and a.credential_id
        ),
        device_challenge=device_challenge(response),
        passkey=form_view(passkey[1], str(passkey[0])) if passkey else None,
        passkey_options=mapping(mapping(autofill).get("value")).get("challengeData") if autofill else None,
        duo=duo_frame(authenticator),
        captcha=captcha,
        details=details,
        password_rules=rules,
        password_refusal=refusal(view, rules, broken) if view else None,
    )


def with_blanks(view: FormView, blank: Mapping[str, Sequence[str]]) -> FormView:
    """The form with each required field the person left empty saying so, where the Identity
    Engine (which names the first only) has not."""
    names = blank.get(view.name) or ()
    if not names:
        return view
    message = Message(text="", cls="ERROR", key=BLANK)
    return replace(
        view,
        controls=tuple(
            replace(c, messages=(message,)) if c.name in names and not c.messages else c for c in view.controls
        ),
    )


def choosers(form: Form) -> dict[str, Field]:
    return {f.name: f for f in form.fields if is_chooser(f)}


def as_list(view: FormView, form: Form) -> FormView:
    """A method chooser lists the methods only: what one asks for comes once it is chosen."""
    names = choosers(form)
    if not names:
        return view
    return replace(
        view,
        controls=tuple(
            replace(c, choices=tuple(replace(ch, controls=()) for ch in c.choices)) if c.name in names else c
            for c in view.controls
        ),
    )


def method_details(forms: Sequence[Form], chosen: Chosen | None, echo: Mapping[str, str] | None) -> Details | None:
    """The details view: of the method chosen on the list; else, on a form that asks nothing but
    the method, of the method the Identity Engine found fault with (its message is on one of the
    method's own fields), or of the only method on offer (no list worth showing)."""
    if chosen is not None:
        if not chosen.form_id.isdigit() or int(chosen.form_id) >= len(forms):
            return None
        index = int(chosen.form_id)
        form = forms[index]
        field = next(iter(choosers(form).values()), None)
        if field is None or not 0 <= chosen.option < len(field.options):
            return None
        option, back = chosen.option, True
    elif forms and (field := next(iter(choosers(forms[0]).values()), None)) is not None:
        index, form = 0, forms[0]
        if any(f is not field and not f.immutable for f in form.fields):
            return None  # the list's own form asks more (unlock's username): the list comes first
        faulted = [i for i, o in enumerate(field.options) if any(g.messages for g in o.form or ())]
        if faulted:
            option, back = faulted[0], len(field.options) > 1
        elif len(field.options) == 1:
            option, back = 0, False
        else:
            return None
    else:
        return None
    if not details_asked(field.options[option]):
        return None
    view = form_view(form, str(index), echo)
    choice = next(c for c in view.controls if c.name == field.name).choices[option]
    asked = tuple(_first_chosen(c) for c in choice.controls if not (c.choices and len(c.choices) == 1))
    return Details(view=replace(view, controls=asked), field=field.name, choice=choice, back=back)


def _first_chosen(c: Control) -> Control:
    """A way to receive a code comes chosen, the first on offer (SMS before a voice call, the QR code)."""
    return replace(c, value=c.choices[0].value) if c.kind == "radio" and c.choices and not c.value else c


def on_their_fields(
    view: FormView | None, messages: tuple[Message, ...]
) -> tuple[FormView | None, tuple[Message, ...]]:
    """The form with each top-level message that is about one of its fields moved onto it, and
    the messages left for the whole page."""
    names = {c.name for c in view.controls} if view else set()
    moved = [m for m in messages if FIELD_OF_MESSAGE.get(m.key or "") in names]
    if view is None or not moved:
        return view, messages
    controls = tuple(
        replace(c, messages=(*c.messages, *(m for m in moved if FIELD_OF_MESSAGE[m.key or ""] == c.name)))
        for c in view.controls
    )
    return replace(view, controls=controls), tuple(m for m in messages if m not in moved)


# --- the org's password rules ------------------------------------------------------------------

# Rules the page's script and this server check from the password and the names the page knows;
# the others (history, minimum age, an attribute the page does not know) only the org can check.
CHECKED_RULES = frozenset(
    {
        "minLength",
        "minLowerCase",
        "minUpperCase",
        "minNumber",
        "minSymbol",
        "adComplexity",
        "maxConsecutiveRepeatingCharacters",
        "excludeUsername",
    }
)
NAMES = ("firstName", "lastName")
REGISTRATION = "enroll-profile"  # a brand-new account: no past passwords, so no history or minimum age
# Okta splits a username into parts at these; a password may not contain a part of 3 characters or more.
USERNAME_DELIMITERS = re.compile(r"[,.\-_#@+]")


@dataclass(frozen=True)
class PasswordRule:
    """One rule of the org's password policy, as the checklist words it: `ui(key, *params)`."""

    id: str  # minLength, ..., excludeUsername, excludeAttribute, historyCount, minAgeMinutes
    value: int | str  # the number it states, or the attribute a password must not include
    key: str
    params: tuple[Any, ...] = ()

    @property
    def ref(self) -> str:
        """Its name among the policy's rules (attributes apart)."""
        return f"{self.id}.{self.value}" if self.id == "excludeAttribute" else self.id

    @property
    def checkable(self) -> bool:
        return self.id in CHECKED_RULES or (self.id == "excludeAttribute" and self.value in NAMES)


@dataclass(frozen=True)
class PasswordRefusal:
    """The Identity Engine refused a new password ("Password requirements were not met")."""

    field: str  # the control that says so
    broken: tuple[PasswordRule, ...] | None  # what the refused password broke, as checked here; None: not checked
    unchecked: tuple[PasswordRule, ...]  # the stated rules only the org can check


def _count(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


def password_rules(
    authenticator: Authenticator | None, user: Mapping[str, Any] | None, step: str
) -> tuple[PasswordRule, ...]:
    """The org's rules for the new password a `step` form sets, from the password authenticator's
    `settings` (complexity, and age but on a registration)."""
    if step not in NEW_SECRET_STEPS or authenticator is None or authenticator.key != "okta_password":
        return ()
    c = mapping(authenticator.settings.get("complexity"))
    age = mapping(None if step == REGISTRATION else authenticator.settings.get("age"))
    rules = [
        PasswordRule(rule, n, f"password.rule.{rule}", (n,))
        for rule in ("minLength", "minLowerCase", "minUpperCase", "minNumber", "minSymbol")
        if (n := _count(c.get(rule)))
    ]
    if c.get("useADComplexityRequirements") is True:
        rules.append(PasswordRule("adComplexity", 3, "password.rule.adComplexity"))
    if n := _count(c.get("maxConsecutiveRepeatingCharacters")):
        rules.append(
            PasswordRule(
                "maxConsecutiveRepeatingCharacters", n, "password.rule.maxConsecutiveRepeatingCharacters", (n,)
            )
        )
    if c.get("excludeUsername") is True:
        rules.append(PasswordRule("excludeUsername", 1, "password.rule.excludeUsername"))
    listed = c.get("excludeAttributes")
    attributes = [a for a in listed if isinstance(a, str)] if isinstance(listed, (list, tuple)) else []
    attributes += [a for a in NAMES if c.get("exclude" + a[0].upper() + a[1:]) is True]  # excludeFirstName
    for attr in dict.fromkeys(a for a in attributes if a not in ("username", "login")):  # excludeUsername says it
        named = attr in NAMES
        key = f"password.rule.exclude.{attr}" if named else "password.rule.excludeAttribute"
        rules.append(PasswordRule("excludeAttribute", attr, key, () if named else (humanize(attr).lower(),)))
    if n := _count(age.get("historyCount")):
        rules.append(PasswordRule("historyCount", n, "password.rule.historyCount", (n,)))
    if n := _count(age.get("minAgeMinutes")):
        hours = f"{n / 60:.1f}".removesuffix(".0")
        rules.append(
            PasswordRule("minAgeMinutes", n, "password.rule.minAgeHours", (hours,))
            if n >= 60
            else PasswordRule("minAgeMinutes", n, "password.rule.minAgeMinutes", (n,))
        )
    return tuple(rules)


def known_names(user: Mapping[str, Any] | None, submitted: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The username and names a new password may not include: the person's, else the registration form's."""
    profile = mapping(mapping(user).get("profile"))

    def typed(name: str) -> str:
        return (submitted.get("userProfile." + name) or [""])[0]

    identifier = mapping(user).get("identifier")
    return {
        "username": identifier if isinstance(identifier, str) else typed("login") or typed("email"),
        **{n: v if isinstance(v := profile.get(n), str) and v else typed(n) for n in NAMES},
    }


def _longest_run(s: str) -> int:
    return max((len(m.group(0)) for m in re.finditer(r"(.)\1*", s, re.S)), default=0)


def breaks(rule: PasswordRule, password: str, names: Mapping[str, str]) -> bool:
    """Whether `password` breaks a checkable `rule` (static/js/password.js checks the same in the browser)."""
    s, lower, n = password, password.lower(), rule.value if isinstance(rule.value, int) else 0
    classes = (
        sum(c.islower() for c in s),
        sum(c.isupper() for c in s),
        sum(c.isdecimal() for c in s),
        sum(not c.isalnum() and not c.isspace() for c in s),
    )
    if rule.id == "excludeUsername":
        parts = [p for p in USERNAME_DELIMITERS.split(names.get("username", "").lower()) if len(p) >= 3]
        return any(p in lower for p in parts)
    if rule.id == "excludeAttribute":
        name = names.get(str(rule.value), "").lower()
        return bool(name) and name in lower
    return {
        "minLength": len(s) < n,
        "minLowerCase": classes[0] < n,
        "minUpperCase": classes[1] < n,
        "minNumber": classes[2] < n,
        "minSymbol": classes[3] < n,
        "adComplexity": sum(1 for k in classes if k) < n,
        "maxConsecutiveRepeatingCharacters": _longest_run(s) > n,
    }.get(rule.id, False)


def broken_rules(rules: Sequence[PasswordRule], password: str, names: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(r.ref for r in rules if r.checkable and breaks(r, password, names))


def refusal(view: FormView, rules: tuple[PasswordRule, ...], broken: Sequence[str] | None) -> PasswordRefusal | None:
    """What a page setting a password says beside Okta's refusal: the rules broken, when checked."""
    field = next((c.name for c in view.controls if any(m.key == PASSWORD_REFUSED for m in c.messages)), None)
    if field is None or not rules:
        return None
    return PasswordRefusal(
        field=field,
        broken=None if broken is None else tuple(r for r in rules if r.ref in broken),
        unchecked=tuple(r for r in rules if not r.checkable),
    )
