"""What to do with an IDX response: the sign-in state machine's decisions.

Pure. Views switch on the outcome type returned by `decide` and never name remediations;
every rule keyed on a remediation name or message key lives here, with a named constant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from . import forms
from .idx_models import Form, IdxResponse, Message
from .page import Chosen, Page, authenticator_in_play, broken_rules, build_page, known_names, password_rules

SESSION_EXPIRED = "idx.session.expired"


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


def poll_interval(refresh: int | None) -> int:
    return max(refresh or DEFAULT_POLL_MS, MIN_POLL_MS)


def is_poll_form(form: Form) -> bool:
    """A form that only asks "anything new?": it has a refresh interval and nothing to fill in."""
    return form.refresh is not None and all(f.immutable for f in form.fields)


def poll_form(response: IdxResponse) -> Form | None:
    """What to submit to learn about progress made elsewhere (push approved, magic link opened)."""
    if response.remediations and is_poll_form(response.remediations[0]):
        return response.remediations[0]
    return (
        next((f for k, f in response.actions.items() if k.endswith("-poll")), None) if response.remediations else None
    )


def state_signature(response: IdxResponse) -> tuple[object, ...]:
    """What a person would notice changing: the forms offered, the messages, success."""
    return (
        tuple(f.name for f in response.remediations),
        tuple((m.key, m.text) for m in response.all_messages()),
        response.success is not None,
    )


def too_many_requests(status: int, response: IdxResponse | None) -> bool:
    return status == 429 or (response is not None and any(m.key in RATE_LIMIT_KEYS for m in response.messages))


def settle(response: IdxResponse) -> Expired | ExchangeCode | RedirectToIdp | None:
    """What a response leads to without a page: the transaction has expired, the code is ready
    to exchange, or an identity provider must be visited. None: it is a page to show."""
    if response.success is not None:
        code = response.interaction_code
        return ExchangeCode(code) if code else None
    if not response.remediations:
        return Expired(response.messages) if any(m.key == SESSION_EXPIRED for m in response.messages) else None
    primary = response.remediations[0]
    # An IdP routing rule leaves a single redirect: there is nothing for the user to choose.
    if len(response.remediations) == 1 and primary.method == "GET" and not response.messages:
        return RedirectToIdp(primary.href)
    return None


def decide(
    response: IdxResponse,
    echo: Mapping[str, str] | None = None,
    *,
    chosen: Chosen | None = None,
    blank: Mapping[str, Sequence[str]] | None = None,
    broken: Sequence[str] | None = None,
    listing: bool = False,
) -> Outcome:
    """What to do with `response`; the rest is what the app kept of the person's last answer (`page.build_page`)."""
    if (settled := settle(response)) is not None:
        return settled
    if response.success is not None or not response.remediations:
        return Terminal(build_page(response))
    primary = response.remediations[0]
    page = build_page(response, echo, chosen=chosen, blank=blank, broken=broken, listing=listing)
    if is_poll_form(primary):
        return Poll(page, primary, poll_interval(primary.refresh))
    return ShowForm(page)


EMAIL_AUTHENTICATOR = "okta_email"


def email_code_form(response: IdxResponse) -> Form | None:
    """Where an emailed link's code may go: the current step, only if it is the email
    authenticator's and takes a one-time code (`credentials.passcode`). A link must never
    answer anything else, such as a password page."""
    primary = response.remediations[0] if response.remediations else None
    credentials = primary.field("credentials") if primary else None
    if credentials is None or not credentials.form or not any(f.name == "passcode" for f in credentials.form):
        return None
    authenticator = authenticator_in_play(response, primary)
    return primary if authenticator is not None and authenticator.key == EMAIL_AUTHENTICATOR else None


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


def method_to_hold(form: Form, submitted: Mapping[str, Sequence[str]]) -> int | None:
    """The method picked on our own list (its index), when it still asks for details the submission
    does not carry: the next view asks for them, and nothing is sent yet. None: send it as it is."""
    chooser = next((f for f in form.fields if forms.is_chooser(f)), None)
    picked = (submitted.get(chooser.name) or [""])[0] if chooser else ""
    if chooser is None or not picked.isdigit() or int(picked) >= len(chooser.options):
        return None
    asked = forms.details_asked(chooser.options[int(picked)])
    if not asked or any(f"{chooser.name}.{g.name}" in submitted for g in asked):
        return None
    return int(picked)


def broken_password_rules(
    response: IdxResponse, form: Form, submitted: Mapping[str, Sequence[str]]
) -> tuple[str, ...] | None:
    """The org's rules a new password typed into `form` breaks, as far as they can be checked here
    (only the rules' names: no secret is kept); None when the form sets no password."""
    typed = (submitted.get(forms.NEW_PASSWORD) or [""])[0]
    rules = password_rules(authenticator_in_play(response, form), response.user, form.name) if typed else ()
    return broken_rules(rules, typed, known_names(response.user, submitted)) if rules else None


# The fixed entry routes (/register, /recover, /unlock) and what starts each in a fresh
# transaction: the first of these remediations or actions the response offers.
JOURNEY_STARTS = {
    "register": ("select-enroll-profile",),
    "recover": ("currentAuthenticator-recover", "currentAuthenticatorEnrollment-recover", "identify-recovery"),
    "unlock": ("unlock-account",),
}


def identify_first(response: IdxResponse) -> bool:
    """The person must say who they are before anything else is offered (identifier first)."""
    return bool(response.remediations) and response.remediations[0].name == "identify"


def journey_start(response: IdxResponse, journey: str) -> Form | None:
    """The form that begins `journey`, if the org offers it and it needs nothing typed in."""
    for name in JOURNEY_STARTS[journey]:
        form = response.actions.get(name) or response.remediation(name)
        if form is not None and all(f.immutable for f in form.fields):
            return form
    return None


# Choices of a way to verify or to set up: with one way on offer, there is nothing to decide.
CHOICE_FORMS = ("select-authenticator-authenticate", "select-authenticator-enroll")


def sole_choice(response: IdxResponse) -> tuple[Form, dict[str, list[str]]] | None:
    """A page that would only ask the person to press Continue: the one form on offer chooses an
    authenticator, there is one to choose, and nothing else to fill in (not even how to get a
    code). Returns the form and the answer to send for them."""
    if len(response.remediations) != 1 or response.remediations[0].name not in CHOICE_FORMS:
        return None
    form = response.remediations[0]
    inputs = [f for f in form.fields if not f.immutable]
    if len(inputs) != 1 or len(inputs[0].options) != 1:
        return None
    option = inputs[0].options[0]
    if option.form is None or not all(f.immutable for f in option.form):
        return None
    return form, {inputs[0].name: ["0"]}


# What an ending (a response with no form) means to the person, by message key; the
# terminal page words its title and next action after it.
TERMINAL_KINDS = {
    "check_email": (
        "idx.email.verification.required",
        "idx.request.activation.email",
        "idx.return.to.original.tab",
        "idx.enter.otp.in.original.tab",
        "idx.transferred.to.new.tab",
    ),
    "done": (
        "idx.recovery.completed",
        "oie.selfservice.unlock_user.success.message",
        "oie.selfservice.unlock_user.landing.to.app.success.message",
        "idx.device.activated",
    ),
    "denied": (
        "security.access_denied",
        "oie.selfservice.reset.password.not.allowed",
        "oie.selfservice.unlock_user.failed.message",
        "oie.selfservice.user.unlock.not.allowed",
        "idx.identity.provider.auth.error",
        "E0000009",
        "E0000010",
        "registration.error.generic",
        "registration.error.request.not.completed",
        "idx.operation.cancelled.on.other.device",
        "idx.activating.inactive.user",
        "idx.reset.password.activating.user",
        "idx.device.not.activated.consent.denied",
        "oie.selfservice.unlock_user.challenge.failed.permissions",
        "core.auth.factor.signedNonce.error.invalidDevice",
    ),
    "expired": (
        SESSION_EXPIRED,
        "idx.return.link.expired",
        "idx.return.stale",
        "idx.invalid.reset.password.token",
        "idx.invalid.forgot.password.token",
        "idx.expired.activation.token",
        "core.system.transaction_resource_not_found",
        "error.expired.session",
    ),
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
        when = when.replace(tzinfo=UTC)
    return when <= (now or datetime.now(UTC))
