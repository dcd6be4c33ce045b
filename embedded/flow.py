"""What to do with an IDX response: the sign-in state machine's decisions.

Pure. Views switch on the outcome type returned by `decide` and never name remediations;
every rule keyed on a remediation name or message key lives here, with a named constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from .forms import FormView, form_view
from .idx_models import Authenticator, Form, IdxResponse, Message

SESSION_EXPIRED = "idx.session.expired"
GENERIC_TEMPLATE = "steps/_generic.html"
TERMINAL_TEMPLATE = "terminal.html"
# Actions offered as buttons; poll actions run in the background instead.
BUTTON_ACTIONS = ("resend", "recover", "send", "cancel", "cancel-polling")
# Passkey sign-in offered on the identify page (autofill, or a button): answered by script, never shown as forms.
PASSKEY_FORMS = ("challenge-webauthn-autofillui-authenticator", "launch-passkeys-authenticator")


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
    duo: "DuoFrame | None" = None


@dataclass(frozen=True)
class DuoFrame:
    """Duo Web v2: the frame at `origin` answers with a signed response; the app half of the
    request (`app_sig`) is appended before it goes back to the Identity Engine."""

    origin: str
    tx: str
    app_sig: str


@dataclass(frozen=True)
class ShowForm:
    page: Page


@dataclass(frozen=True)
class Poll:
    page: Page
    form: Form
    refresh_ms: int


@dataclass(frozen=True)
class RedirectToIdp:
    href: str


@dataclass(frozen=True)
class ExchangeCode:
    code: str


@dataclass(frozen=True)
class Terminal:
    page: Page


@dataclass(frozen=True)
class Expired:
    messages: tuple[Message, ...]


Outcome = ShowForm | Poll | RedirectToIdp | ExchangeCode | Terminal | Expired

DEFAULT_POLL_MS = 4000
MIN_POLL_MS = 1000  # never poll faster than this, whatever `refresh` says
RATE_LIMITED_POLL_MS = 60_000  # after a 429, as the Sign-In Widget does
RATE_LIMIT_KEYS = frozenset({"tooManyRequests", "E0000047"})


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


def poll_interval(refresh: int | None) -> int:
    return max(refresh or DEFAULT_POLL_MS, MIN_POLL_MS)


def is_poll_form(form: Form) -> bool:
    """A form that only asks "anything new?": it has a refresh interval and nothing to fill in."""
    return form.refresh is not None and all(f.immutable for f in form.fields)


def poll_form(response: IdxResponse) -> Form | None:
    """What to submit to learn about progress made elsewhere (push approved, magic link opened)."""
    if response.remediations and is_poll_form(response.remediations[0]):
        return response.remediations[0]
    return next((f for k, f in response.actions.items() if k.endswith("-poll")), None) if response.remediations else None


def state_signature(response: IdxResponse) -> tuple:
    """What a person would notice changing: the forms offered, the messages, success."""
    return (
        tuple(f.name for f in response.remediations),
        tuple((m.key, m.text) for m in response.all_messages()),
        response.success is not None,
    )


def too_many_requests(status: int, response: IdxResponse | None) -> bool:
    return status == 429 or (response is not None and any(m.key in RATE_LIMIT_KEYS for m in response.messages))


def build_page(response: IdxResponse, echo: Mapping[str, str] | None = None) -> Page:
    forms = response.remediations
    primary = forms[0] if forms else None
    authenticator = authenticator_in_play(response, primary)
    method = authenticator.methods[0] if authenticator and len(authenticator.methods) == 1 else None
    passkey = next(((i, f) for i, f in enumerate(forms) if i > 0 and f.name == PASSKEY_FORMS[0]), None)
    autofill = response.raw.get("webauthnAutofillUIChallenge")
    return Page(
        templates=template_names(primary.name if primary else None, authenticator.key if authenticator else None, method),
        primary=form_view(primary, "0", echo) if primary else None,
        alternatives=tuple(form_view(f, str(i)) for i, f in enumerate(forms) if i > 0 and f.name not in PASSKEY_FORMS),
        actions=tuple(ActionView(id=k, name=f.name) for k, f in response.actions.items() if f.name in BUTTON_ACTIONS),
        messages=response.messages,
        authenticator=authenticator,
        user=response.user,
        app=response.app,
        webauthn_credential_ids=tuple(a.credential_id for a in response.enrollments if a.key == "webauthn" and a.credential_id),
        device_challenge=device_challenge(response),
        passkey=form_view(passkey[1], str(passkey[0])) if passkey else None,
        passkey_options=_mapping(_mapping(autofill).get("value")).get("challengeData") if autofill else None,
        duo=duo_frame(authenticator),
    )


def _mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def device_challenge(response: IdxResponse) -> Mapping[str, Any] | None:
    """What Okta asks of an authenticator app on this device: `challengeMethod` LOOPBACK (with
    domain, ports, challengeRequest), CUSTOM_URI / UNIVERSAL_LINK / APP_LINK (an href to open),
    or APPLE_SSO_EXTENSION. In the current authenticator's contextualData, or top level."""
    for a in (response.current_authenticator, response.current_enrollment):
        found = _mapping(_mapping(a.contextual_data.get("challenge") if a else None).get("value"))
        if found.get("challengeMethod"):
            return found
    found = _mapping(_mapping(response.raw.get("authenticatorChallenge")).get("value"))
    return found if found.get("challengeMethod") else None


_LOOPBACK_DOMAIN = re.compile(r"https?://(localhost|127\.0\.0\.1|\[::1\])")
_PORT = re.compile(r"[0-9]{1,5}")


def loopback_origins(challenge: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The loopback addresses the browser may probe for Okta Verify; nothing unless every part
    is a plain loopback origin (the values end up in a Content-Security-Policy header)."""
    if not challenge or challenge.get("challengeMethod") != "LOOPBACK":
        return ()
    domain, ports = challenge.get("domain"), challenge.get("ports")
    if not isinstance(domain, str) or not _LOOPBACK_DOMAIN.fullmatch(domain) or not isinstance(ports, (list, tuple)):
        return ()
    if not all(_PORT.fullmatch(str(p)) for p in ports):
        return ()
    return tuple(f"{domain}:{p}" for p in ports)


_DUO_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_DUO_SIG = re.compile(r"(TX\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+):(APP\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+)")


def duo_frame(authenticator: Authenticator | None) -> DuoFrame | None:
    """Duo's iframe for `contextualData` {host, signedToken}; None when either is malformed."""
    if authenticator is None or authenticator.key != "duo":
        return None
    host, token = authenticator.contextual_data.get("host"), authenticator.contextual_data.get("signedToken")
    if not isinstance(host, str) or not _DUO_HOST.fullmatch(host) or not isinstance(token, str):
        return None
    m = _DUO_SIG.fullmatch(token)
    if m is None:
        return None
    scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
    return DuoFrame(origin=f"{scheme}://{host}", tx=m.group(1), app_sig=m.group(2))


def csp_additions(page: Page) -> dict[str, tuple[str, ...]]:
    """Origins a step page's scripts must reach beyond our own: Okta Verify's loopback server, Duo's frame."""
    extra: dict[str, tuple[str, ...]] = {}
    if origins := loopback_origins(page.device_challenge):
        extra["connect-src"] = origins
    if page.duo is not None:
        extra["frame-src"] = (page.duo.origin,)
    return extra


def decide(response: IdxResponse, echo: Mapping[str, str] | None = None) -> Outcome:
    if response.success is not None:
        code = response.interaction_code
        return ExchangeCode(code) if code else Terminal(build_page(response))
    if not response.remediations:
        if any(m.key == SESSION_EXPIRED for m in response.messages):
            return Expired(response.messages)
        return Terminal(build_page(response))
    primary = response.remediations[0]
    # An IdP routing rule leaves a single redirect: there is nothing for the user to choose.
    if len(response.remediations) == 1 and primary.method == "GET" and not response.messages:
        return RedirectToIdp(primary.href)
    page = build_page(response, echo)
    if is_poll_form(primary):
        return Poll(page, primary, poll_interval(primary.refresh))
    return ShowForm(page)


def passcode_form(response: IdxResponse) -> Form | None:
    """The current step if it takes a one-time code (`credentials.passcode`): where an emailed link's code goes."""
    primary = response.remediations[0] if response.remediations else None
    credentials = primary.field("credentials") if primary else None
    if credentials is not None and credentials.form and any(f.name == "passcode" for f in credentials.form):
        return primary
    return None


def follow(form: Form) -> RedirectToIdp | None:
    """A form the browser itself must visit (an identity provider) rather than the server post."""
    return RedirectToIdp(form.href) if form.method == "GET" else None


def find_form(response: IdxResponse, form_id: str | None, action_id: str | None) -> Form | None:
    """The remediation (`_form` = its index) or action (`_action` = its id) a submission names."""
    if action_id:
        return response.actions.get(action_id)
    if form_id is not None and form_id.isdigit() and int(form_id) < len(response.remediations):
        return response.remediations[int(form_id)]
    return None


# The fixed entry routes (/register, /recover, /unlock) and what starts each in a fresh
# transaction: the first of these remediations or actions the response offers.
JOURNEY_STARTS = {
    "register": ("select-enroll-profile",),
    "recover": ("currentAuthenticator-recover", "currentAuthenticatorEnrollment-recover", "identify-recovery"),
    "unlock": ("unlock-account",),
}


def journey_start(response: IdxResponse, journey: str) -> Form | None:
    """The form that begins `journey`, if the org offers it and it needs nothing typed in."""
    for name in JOURNEY_STARTS[journey]:
        form = response.actions.get(name) or response.remediation(name)
        if form is not None and all(f.immutable for f in form.fields):
            return form
    return None


# What an ending (a response with no form) means to the person, by message key; the
# terminal page words its title and next action after it.
TERMINAL_KINDS = {
    "check_email": ("idx.email.verification.required", "idx.request.activation.email", "idx.return.to.original.tab",
                    "idx.enter.otp.in.original.tab", "idx.transferred.to.new.tab"),
    "done": ("idx.recovery.completed", "oie.selfservice.unlock_user.success.message",
             "oie.selfservice.unlock_user.landing.to.app.success.message", "idx.device.activated"),
    "denied": ("security.access_denied", "oie.selfservice.reset.password.not.allowed", "oie.selfservice.unlock_user.failed.message",
               "oie.selfservice.user.unlock.not.allowed", "idx.identity.provider.auth.error", "E0000009", "E0000010",
               "registration.error.generic", "registration.error.request.not.completed", "idx.operation.cancelled.on.other.device",
               "idx.activating.inactive.user", "idx.reset.password.activating.user", "idx.device.not.activated.consent.denied",
               "oie.selfservice.unlock_user.challenge.failed.permissions", "core.auth.factor.signedNonce.error.invalidDevice"),
    "expired": (SESSION_EXPIRED, "idx.return.link.expired", "idx.return.stale", "idx.invalid.reset.password.token",
                "idx.invalid.forgot.password.token", "idx.expired.activation.token", "core.system.transaction_resource_not_found",
                "error.expired.session"),
}


DEVICE_ASSURANCE_DENIED = "idx.error.code.access_denied.device_assurance"


def terminal_kind(messages: tuple[Message, ...]) -> str:
    """check_email | done | denied | expired | ended, from the first message with a known key."""
    for m in messages:
        if (m.key or "").startswith(DEVICE_ASSURANCE_DENIED):
            return "denied"
        for kind, keys in TERMINAL_KINDS.items():
            if m.key in keys:
                return kind
    return "ended"


def is_past(expires_at: str | None, now: datetime | None = None) -> bool:
    """Whether a response's `expiresAt` has passed; unparseable or absent means no."""
    if not expires_at:
        return False
    try:
        when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when <= (now or datetime.now(timezone.utc))
