"""What a template gets for one IDX response: the page model and which template files to try.

Pure. The first remediation becomes the page's form and the others its alternatives; actions
such as resend or cancel become small buttons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .captcha import CaptchaWidget, captcha_widget
from .devices import DuoFrame, device_challenge, duo_frame, mapping
from .forms import FormView, form_view
from .idx_models import Authenticator, Form, IdxResponse, Message

GENERIC_TEMPLATE = "steps/_generic.html"
# A form asking for a CAPTCHA this package cannot show: what to do instead, never a dead end.
CAPTCHA_UNSUPPORTED_TEMPLATE = "steps/captcha-unsupported.html"
TERMINAL_TEMPLATE = "terminal.html"
# Actions offered as buttons; poll actions run in the background instead.
BUTTON_ACTIONS = ("resend", "recover", "send", "cancel", "cancel-polling")
# Passkey sign-in offered on the identify page (autofill, or a button): answered by script, never shown as forms.
PASSKEY_FORMS = ("challenge-webauthn-autofillui-authenticator", "launch-passkeys-authenticator")
# Top-level messages about one field of the form: Okta sends a wrong password for the whole
# response. Shown on that field, the form's error summary links to it and marks it invalid.
FIELD_OF_MESSAGE = {"incorrectPassword": "credentials.passcode"}


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


def build_page(response: IdxResponse, echo: Mapping[str, str] | None = None) -> Page:
    forms = response.remediations
    primary = forms[0] if forms else None
    authenticator = authenticator_in_play(response, primary)
    method = authenticator.methods[0] if authenticator and len(authenticator.methods) == 1 else None
    passkey = next(((i, f) for i, f in enumerate(forms) if i > 0 and f.name == PASSKEY_FORMS[0]), None)
    autofill = response.raw.get("webauthnAutofillUIChallenge")
    captcha = captcha_widget(response, primary)
    templates = template_names(primary.name if primary else None, authenticator.key if authenticator else None, method)
    view, messages = on_their_fields(form_view(primary, "0", echo) if primary else None, response.messages)
    return Page(
        templates=(CAPTCHA_UNSUPPORTED_TEMPLATE, *templates) if captcha and not captcha.supported else templates,
        primary=view,
        alternatives=tuple(form_view(f, str(i)) for i, f in enumerate(forms) if i > 0 and f.name not in PASSKEY_FORMS),
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
    )


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
