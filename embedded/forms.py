"""HTML forms from IDX forms, and request bodies from HTML submissions.

Pure. Control names are the IDX field names, nested ones dotted (`credentials.passcode`,
`userProfile.firstName`). Server-owned values (`mutable: false`, `visible: false`,
`stateHandle`) never become controls; `to_body` re-injects them from the form itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from .idx_models import Authenticator, Field, Form, Message, Option

# Steps where a secret is a new password, so browsers offer to generate one.
NEW_SECRET_STEPS = frozenset(
    {
        "enroll-authenticator",
        "reset-authenticator",
        "reenroll-authenticator",
        "reenroll-authenticator-warning",
        "enroll-profile",
    }
)
PASSCODE_FIELDS = frozenset({"passcode", "totp", "otp", "verificationCode"})


class SubmissionError(ValueError):
    """A submission the form cannot take (a choice it never offered, a bad number, a new
    password typed differently twice); `key` names the text that explains it."""

    def __init__(self, field: str, key: str):
        super().__init__(f"{field}: {key}")
        self.field = field
        self.key = key


@dataclass(frozen=True)
class Choice:
    value: str  # what the browser posts
    label: str
    detail: str | None = None  # masked email or phone, nickname
    controls: tuple[Control, ...] = ()  # inputs of an object option's sub-form
    authenticator: Authenticator | None = None


@dataclass(frozen=True)
class Control:
    name: str
    kind: str  # text | password | checkbox | radio | select | number
    label: str
    required: bool = False
    value: str = ""
    checked: bool = False
    choices: tuple[Choice, ...] = ()
    messages: tuple[Message, ...] = ()
    autocomplete: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    hint: str | None = None  # help text shown under the input
    filled_by: str | None = None  # a hidden input's filler ("webauthn", "captcha"): set by a page script
    fixed: bool = False  # shown as the server set it; never posted (the server puts the value back)


@dataclass(frozen=True)
class FormView:
    id: str  # posted back as `_form`: the remediation's index in the response
    name: str
    label: str
    method: str
    controls: tuple[Control, ...]
    authenticator: Authenticator | None = None
    idp_type: str | None = None

    @property
    def has_inputs(self) -> bool:
        return bool(self.controls)

    def without(self, *names: str) -> FormView:
        """The same form without the controls named (a page that has no use for them); a
        checkbox left out posts as unchecked."""
        return replace(self, controls=tuple(c for c in self.controls if c.name not in names))


def humanize(name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[-_.]", " ", name).split()
    return " ".join(words).capitalize() if words else name


def authenticator_detail(a: Authenticator | None) -> str | None:
    if a is None:
        return None
    p = a.profile
    for key in ("email", "phoneNumber", "question"):
        value = p.get(key)
        if isinstance(value, str):
            return value
    return a.nickname


def option_value(v: Any) -> str:
    """How a primitive option travels in HTML: strings as they are, others as JSON (`true`, `3`)."""
    return v if isinstance(v, str) else json.dumps(v)


def control_kind(f: Field) -> str | None:
    """How a browser-owned field is shown; None for a hidden choice (left to the next step)."""
    if not f.visible:
        return None if f.options else "hidden"
    if f.options:
        return "radio" if any(o.form is not None for o in f.options) or len(f.options) <= 6 else "select"
    if f.type == "boolean":
        return "checkbox"
    return "password" if f.secret else "number" if f.type in ("integer", "number") else "text"


def _posted_even_if_unused(f: Field) -> bool:
    """Inputs a browser submits even when empty (radios and checkboxes post only when chosen)."""
    return not f.immutable and f.form is None and control_kind(f) in ("text", "password", "number", "select", "hidden")


def _autocomplete(step: str, dotted: str, f: Field) -> str | None:
    if dotted == "identifier" or dotted.endswith(".identifier"):
        return "username"
    if f.secret:
        return "new-password" if step in NEW_SECRET_STEPS else "current-password"
    if f.name in PASSCODE_FIELDS:
        return "one-time-code"
    if f.name in ("email", "firstName", "lastName"):
        return {"email": "email", "firstName": "given-name", "lastName": "family-name"}[f.name]
    if f.name == "phoneNumber":
        return "tel"
    return None


class _Common(TypedDict):
    """The Control arguments every kind of input shares (typed, so `**common` is checked)."""

    name: str
    label: str
    required: bool
    messages: tuple[Message, ...]
    min_length: int | None
    max_length: int | None
    hint: str | None
    filled_by: str | None


def _controls(step: str, fields: Sequence[Field] | None, prefix: str, echo: Mapping[str, str]) -> tuple[Control, ...]:
    out: list[Control] = []
    for f in fields or ():
        dotted = prefix + f.name
        if f.immutable:
            if f.visible and f.mutable is False and f.type == "boolean":
                # A choice made for the person (a scope that is always shared): shown, not posted.
                out.append(
                    Control(
                        kind="checkbox",
                        name=dotted,
                        label=f.label or humanize(f.name),
                        checked=f.value is True,
                        hint=f.description,
                        fixed=True,
                    )
                )
            continue
        if f.form is not None:
            out.extend(_controls(step, f.form, dotted + ".", echo))
            continue
        label = f.label or humanize(f.name)
        common = _Common(
            name=dotted,
            label=label,
            required=f.required,
            messages=f.messages,
            min_length=f.min_length,
            max_length=f.max_length,
            hint=f.description,
            filled_by=f.hint,
        )
        kind = control_kind(f)
        if kind is None:
            continue
        if f.options:
            object_options = any(o.form is not None for o in f.options)
            choices = tuple(
                Choice(
                    value=str(i) if object_options else option_value(o.value),
                    label=o.label,
                    detail=authenticator_detail(o.authenticator),
                    controls=_controls(step, o.form, dotted + ".", echo) if o.form else (),
                    authenticator=o.authenticator,
                )
                for i, o in enumerate(f.options)
            )
            chosen = echo.get(dotted, "" if object_options or f.value is None else option_value(f.value))
            out.append(Control(kind=kind, choices=choices, value=chosen, **common))
        elif kind == "checkbox":
            checked = echo[dotted] in ("on", "true") if dotted in echo else f.value is True
            out.append(Control(kind=kind, checked=checked, **common))
        else:
            value = "" if f.secret else echo.get(dotted, "" if f.value is None else str(f.value))
            out.append(Control(kind=kind, value=value, autocomplete=_autocomplete(step, dotted, f), **common))
    return tuple(out)


def form_view(form: Form, form_id: str, echo: Mapping[str, str] | None = None) -> FormView:
    """The template's view of one IDX form. `echo` refills non-secret values the user typed."""
    return FormView(
        id=form_id,
        name=form.name,
        label=form.label or (form.idp.get("name") if form.idp else None) or humanize(form.name),
        method=form.method,
        controls=_controls(form.name, form.fields, "", echo or {}),
        authenticator=form.authenticator,
        idp_type=form.idp_type,
    )


# --- submission -> JSON body --------------------------------------------------------------


def _server_value(f: Field) -> Any:
    if f.form is not None:
        return {g.name: _server_value(g) for g in f.form}
    return "" if f.value is None else f.value


def _coerce(f: Field, dotted: str, raw: str) -> Any:
    if f.type == "boolean":
        return raw in ("on", "true", "1", "yes")
    if f.type in ("integer", "number"):
        try:
            return int(raw) if f.type == "integer" else float(raw)
        except ValueError:
            raise SubmissionError(dotted, "form.enter_number") from None
    return raw if f.secret else raw.strip()


def _body(
    fields: Sequence[Field], prefix: str, data: Mapping[str, Sequence[str]], nth: Mapping[str, int]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        dotted = prefix + f.name
        if f.immutable:
            out[f.name] = _server_value(f)
        elif f.form is not None:
            sub = _body(f.form, dotted + ".", data, nth)
            if sub or f.required:
                # Some forms split one object over two fields of the same name (`userProfile` twice in profile-update).
                earlier = out.get(f.name)
                out[f.name] = {**earlier, **sub} if isinstance(earlier, dict) else sub
        elif f.options and any(o.form is not None for o in f.options):
            picked = _pick(data, dotted, nth)
            if picked is None:
                continue
            if not picked.isdigit() or int(picked) >= len(f.options):
                raise SubmissionError(dotted, "form.choose_option")
            index = int(picked)
            chosen = f.options[index].form or ()
            # Several options may declare the same input (`credentials.answer`); a page that shows
            # every option's inputs posts every copy in document order, so this option's copy comes
            # after earlier options'. A page showing only this option's (the chosen method's
            # details) posts just its own.
            copies_before = {}
            for g in (g for g in chosen if not g.immutable):
                name = dotted + "." + g.name
                before = sum(
                    1 for o in f.options[:index] for h in o.form or () if h.name == g.name and _posted_even_if_unused(h)
                )
                copies_before[name] = before if len(data.get(name) or ()) > before else 0
            out[f.name] = _body(chosen, dotted + ".", data, {**nth, **copies_before})
        elif f.options:
            picked = _pick(data, dotted, nth)
            if picked is None:
                if f.value is not None:
                    out[f.name] = f.value
                elif len(f.options) == 1:  # a choice of one is not asked (a method's only way to send a code)
                    out[f.name] = f.options[0].value
                continue
            allowed = {option_value(o.value): o.value for o in f.options}
            if picked not in allowed:
                raise SubmissionError(dotted, "form.choose_option")
            out[f.name] = allowed[picked]
        else:
            picked = _pick(data, dotted, nth)
            if picked is not None:
                out[f.name] = _coerce(f, dotted, picked)
            elif f.type == "boolean":
                out[f.name] = False  # an unchecked checkbox posts nothing
            elif f.value is not None:
                out[f.name] = f.value
    return out


def _pick(data: Mapping[str, Sequence[str]], name: str, nth: Mapping[str, int]) -> str | None:
    values = data.get(name) or ()
    i = nth.get(name, 0)
    return values[i] if i < len(values) else None


def to_body(form: Form, submitted: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The JSON body for `form` from an HTML submission (each name -> its posted values).

    Names the form does not declare are dropped; server-owned values come from the form.
    """
    body = _body(form.fields, "", submitted, {})
    # A new password's second copy (our page's own input, not an IDX field), when typed, must
    # match the first.
    confirmed = (submitted.get(CONFIRM_PASSWORD) or [""])[0]
    if confirmed and confirmed != (submitted.get(NEW_PASSWORD) or [""])[0]:
        raise SubmissionError(CONFIRM_PASSWORD, "password.mismatch")
    return body


NEW_PASSWORD, CONFIRM_PASSWORD = "credentials.passcode", "confirmPassword"


def missing_required(form: Form, submitted: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Every required input of `form` the submission leaves empty (a browser's own checks stop at
    the first, and only when it runs them). A choice's own inputs are the choice's business."""
    missing: list[str] = []
    _missing_in(form.fields, "", submitted, missing)
    return tuple(missing)


# The walks below are module functions, not closures: a closure that calls itself is a reference
# cycle, garbage only the cycle collector frees, made on every request.
def _missing_in(
    fields: Sequence[Field], prefix: str, submitted: Mapping[str, Sequence[str]], missing: list[str]
) -> None:
    for f in fields:
        dotted = prefix + f.name
        if f.immutable or not f.visible or f.type == "boolean":
            continue
        if f.form is not None:
            _missing_in(f.form, dotted + ".", submitted, missing)
        elif (
            f.required and f.value is None and len(f.options) != 1 and not "".join(submitted.get(dotted) or ()).strip()
        ):
            missing.append(dotted)


def is_chooser(f: Field) -> bool:
    """A choice of authenticators (the method chooser): each option an authenticator with its own form."""
    return bool(f.options) and all(o.form is not None and o.authenticator is not None for o in f.options)


def details_asked(option: Option) -> tuple[Field, ...]:
    """What a chosen method still asks the person: its visible inputs, but for a choice of one
    (sent for them). A hidden choice is left to the Identity Engine's next step."""
    return tuple(
        g for g in option.form or () if not g.immutable and g.visible and not (g.options and len(g.options) == 1)
    )


def public_values(form: Form, submitted: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """What the user typed, secrets left out: refilled if the same form comes back with an error."""
    secret: set[str] = set()
    _secret_names(form.fields, "", secret)
    return {k: v[0] for k, v in submitted.items() if v and k not in secret}


def _secret_names(fields: Sequence[Field] | None, prefix: str, secret: set[str]) -> None:
    for f in fields or ():
        if f.secret:
            secret.add(prefix + f.name)
        _secret_names(f.form, prefix + f.name + ".", secret)
        for o in f.options:
            _secret_names(o.form, prefix + f.name + ".", secret)


def flatten(body: Mapping[str, Any], form: Form) -> dict[str, list[str]]:
    """The inverse of `to_body` for the browser-owned part: what a browser would post."""
    out: dict[str, list[str]] = {}
    _flatten_into(form.fields, body, "", out)
    return out


def _flatten_into(fields: Sequence[Field], value: Mapping[str, Any], prefix: str, out: dict[str, list[str]]) -> None:
    for f in fields:
        if f.immutable or f.name not in value:
            continue
        dotted, v = prefix + f.name, value[f.name]
        if f.form is not None:
            _flatten_into(f.form, v, dotted + ".", out)
        elif f.options and any(o.form is not None for o in f.options):
            index = _matching_option(f, v)
            out.setdefault(dotted, []).append(str(index))
            for i, o in enumerate(f.options):
                if i == index:
                    _flatten_into(o.form or (), v, dotted + ".", out)
                else:  # a browser also posts the other options' empty text inputs
                    for g in o.form or ():
                        if _posted_even_if_unused(g):
                            out.setdefault(dotted + "." + g.name, []).append("")
        elif f.options:
            out.setdefault(dotted, []).append(option_value(v))
        elif f.type == "boolean":
            if v:
                out.setdefault(dotted, []).append("on")
        else:
            out.setdefault(dotted, []).append(str(v))


def _matching_option(f: Field, value: Any) -> int:
    """The option whose server-owned values the body carries; the most specific one wins."""

    def fixed(i: int) -> list[Field]:
        return [g for g in f.options[i].form or () if g.immutable]

    matching = [
        i
        for i, o in enumerate(f.options)
        if isinstance(value, dict) and all(value.get(g.name) == _server_value(g) for g in fixed(i))
    ]
    return max(matching, key=lambda i: len(fixed(i)))
