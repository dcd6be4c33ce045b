"""Direct Authentication (`EMBEDDED_MODE=direct`): the decisions, pure.

The app signs people in with Okta's token endpoint grants (password, mfa-otp, mfa-oob, otp,
oob) instead of IDX. This module holds what the pages ask (`page_for`: the same `Page` and
`FormView` model every IDX step uses, so the same templates show it), what each answer of the
token, challenge and primary-authenticate endpoints leads to (`after_grant`, `after_challenge`),
and the checks that bind an ID token that carries no nonce to this sign-in (`binding_problem`).

The transaction's direct state (`State`) lives only in the server-side session, in the field
that holds the IDX response in the other mode: the mfa_token and oob_code never reach a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .forms import Choice, Control, FormView
from .idx_models import Authenticator, Message
from .page import BLANK, GENERIC_TEMPLATE, ActionView, Page, template_names

PASSWORD = "password"
# A second factor's grants keep the names Auth0 gave them: Okta's reference and discovery use those.
MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp"
MFA_OOB = "http://auth0.com/oauth/grant-type/mfa-oob"
OTP = "urn:okta:params:oauth:grant-type:otp"
OOB = "urn:okta:params:oauth:grant-type:oob"

# What the chooser lists: the channels the endpoints offer (a TOTP code; push, SMS, voice) and
# email, which they never do: choosing it says so and offers the org's own page.
METHODS = ("otp", "push", "sms", "voice", "email")
METHOD_LABELS = {
    "otp": "Enter a code",
    "push": "Get a push notification",
    "sms": "SMS",
    "voice": "Voice call",
    "email": "Email",
}
# The icon and one-line description each method shows: an authenticator key (and type, for the
# icon, where the key is the direct mode's own: SMS and voice each say only what they send).
METHOD_AUTHENTICATORS = {
    "otp": Authenticator(None, "custom_otp", None, None),
    "push": Authenticator(None, "okta_verify", None, None),
    "sms": Authenticator(None, "phone_sms", "phone", None),
    "voice": Authenticator(None, "phone_voice", "phone", None),
    "email": Authenticator(None, "okta_email", None, None),
}
DEFAULT_INTERVAL = 5  # seconds between polls when the answer names none (RFC 8628 §3.5)
SLOW_DOWN_SECONDS = 5  # added to the interval on `slow_down` (RFC 8628 §3.5)
MAX_INTERVAL = 60
# Where the first page's other links lead: Direct Authentication cannot do any of them.
JOURNEYS = ("recover", "register", "unlock")
# A token minted for this sign-in was minted while the request that made the grant ran; this
# much clock difference between the org and this server is tolerated either way.
FRESH_SECONDS = 120


@dataclass
class State:
    """Where one direct sign-in stands. `stage`: identify | methods | otp | code | push | unavailable."""

    stage: str = "identify"
    username: str = ""
    passwordless: bool = False  # the first page asks the username alone (a code or a push instead)
    mfa_token: str | None = None  # a second factor is due: from mfa_required, server-side only
    method: str | None = None  # the method being used (one of METHODS)
    oob_code: str | None = None
    binding_method: str | None = None  # none | prompt (a code to type back) | transfer (a number to pick)
    binding_code: str | None = None  # the number to pick on the phone (transfer only)
    interval: int = DEFAULT_INTERVAL
    expires_at: float = 0.0  # when the oob_code dies
    error: str | None = None  # a message key said on the page's form (wrong code, ...)
    reason: str | None = None  # unavailable: the message key saying why

    def to_json(self) -> dict[str, Any]:
        return {"direct": asdict(self)}

    @classmethod
    def from_json(cls, doc: Any) -> State | None:
        raw = doc.get("direct") if isinstance(doc, dict) else None
        if not isinstance(raw, dict) or set(raw) - NAMES:
            return None
        return cls(**raw)


NAMES = frozenset(f.name for f in fields(State))


@dataclass(frozen=True)
class Refusal:
    """An OAuth error answer: `{"error", "error_description"}`, with the mfa_token of mfa_required."""

    error: str
    description: str = ""
    mfa_token: str | None = None


class Malformed(ValueError):
    """An answer of the right status but not the right shape (the upstream-error page)."""


@dataclass(frozen=True)
class SignIn:
    tokens: Mapping[str, Any]


@dataclass(frozen=True)
class Show:
    state: State  # store it and show its page


@dataclass(frozen=True)
class WrongCode:
    state: State  # a refused code: counted against the transaction, then shown


@dataclass(frozen=True)
class Wait:
    state: State  # a push not answered yet: poll again after state.interval


@dataclass(frozen=True)
class Restart:
    notice: str  # the transaction is over: back to the first page with this notice


Next = SignIn | Show | WrongCode | Wait | Restart


def first_page(username: str = "") -> State:
    return State(username=username)


def methods(state: State, error: str | None = None) -> State:
    """The list of methods, the mfa_token (if any) kept, any challenge under way dropped."""
    return State(
        stage="methods",
        username=state.username,
        passwordless=state.passwordless,
        mfa_token=state.mfa_token,
        error=error,
    )


def unavailable(state: State, reason: str) -> State:
    return replace(methods(state), stage="unavailable", reason=reason)


def grant_name(state: State) -> str:
    """The grant that finishes the stage on screen."""
    if state.stage == "otp":
        return MFA_OTP if state.mfa_token else OTP
    return MFA_OOB if state.mfa_token else OOB


def after_grant(state: State, grant: str, answer: Mapping[str, Any] | Refusal, *, typed_code: bool) -> Next:
    """What a token-endpoint answer leads to. `typed_code`: the grant carried a code the person typed."""
    if not isinstance(answer, Refusal):
        if not isinstance(answer.get("id_token"), str) or not isinstance(answer.get("access_token"), str):
            raise Malformed("token response without an id_token and access_token")
        return SignIn(answer)
    error = answer.error
    if error == "mfa_required":
        if not answer.mfa_token:
            raise Malformed("mfa_required without an mfa_token")
        return Show(State(stage="methods", username=state.username, mfa_token=answer.mfa_token))
    if error == "authorization_pending":
        return Wait(replace(state, error=None))
    if error == "slow_down":
        return Wait(replace(state, interval=min(state.interval + SLOW_DOWN_SECONDS, MAX_INTERVAL), error=None))
    if error == "access_denied":  # a push declined, or a user the app is not assigned to
        return Restart(
            "notice.direct_push_denied" if grant in (MFA_OOB, OOB) and not typed_code else "notice.direct_denied"
        )
    if error == "expired_token":  # the push or the code sent timed out: choose again
        return Show(methods(state, "direct.expired_code"))
    if error in ("unauthorized_client", "unsupported_grant_type"):  # the app may not use this grant
        return Show(unavailable(state, "direct.grant_not_allowed"))
    if error in ("consent_required", "interaction_required"):  # only a browser sign-in can ask it
        return Show(unavailable(state, "direct.needs_browser"))
    if error == "invalid_grant":
        if grant == PASSWORD:  # wrong password, unknown or locked user: one answer for all (ASVS 6.3.8)
            return Show(replace(first_page(state.username), error="sign_in.failed"))
        if token_gone(answer) or not typed_code:
            return Restart("notice.expired")
        return WrongCode(replace(state, error="direct.wrong_code"))
    raise Malformed(f"unexpected token error {error!r}")


def token_gone(refusal: Refusal) -> bool:
    """Whether an invalid_grant is about the mfa_token or oob_code (expired, unknown, spent)
    rather than the code typed: Okta names the parameter it refused in its description."""
    text = refusal.description.lower()
    return "mfa_token" in text or "oob_code" in text or "expired" in text


def after_challenge(state: State, method: str, answer: Mapping[str, Any] | Refusal, now: float) -> Next:
    """What a /v1/challenge or /v1/primary-authenticate answer leads to."""
    if isinstance(answer, Refusal):
        if answer.error == "unsupported_challenge_type":  # nothing enrolled for that channel
            return Show(unavailable(replace(state, method=method), "direct.no_such_method"))
        if answer.error in ("unauthorized_client", "unsupported_grant_type"):
            return Show(unavailable(state, "direct.grant_not_allowed"))
        if answer.error == "invalid_grant" and state.mfa_token:
            return Restart("notice.expired")
        if answer.error in ("invalid_grant", "invalid_request"):  # an unknown user, told like a wrong password
            return Show(replace(first_page(state.username), error="sign_in.failed"))
        raise Malformed(f"unexpected challenge error {answer.error!r}")
    if method == "otp":
        if answer.get("challenge_type") != MFA_OTP:
            raise Malformed("an OTP challenge answered with another type")
        return Show(replace(methods(state), stage="otp", method="otp"))
    oob_code, channel, binding = answer.get("oob_code"), answer.get("channel", method), answer.get("binding_method")
    if not isinstance(oob_code, str) or not oob_code or channel != method:
        raise Malformed("an OOB challenge without its oob_code, or on another channel")
    binding = binding if binding in ("none", "prompt", "transfer") else ("prompt" if method != "push" else "none")
    number = answer.get("binding_code") if binding == "transfer" else None
    return Show(
        replace(
            methods(state),
            stage="push" if binding != "prompt" else "code",
            method=method,
            oob_code=oob_code,
            binding_method=binding,
            binding_code=str(number) if isinstance(number, (str, int)) and not isinstance(number, bool) else None,
            interval=seconds(answer.get("interval"), DEFAULT_INTERVAL, 1, MAX_INTERVAL),
            expires_at=now + seconds(answer.get("expires_in"), 300, 1, 3600),
        )
    )


def seconds(value: Any, default: int, low: int, high: int) -> int:
    return min(max(value, low), high) if isinstance(value, int) and not isinstance(value, bool) else default


def binding_problem(
    claims: Mapping[str, Any], *, username: str, client_id: str, granted_at: float, now: float
) -> str | None:
    """Why an ID token from a direct grant is not this sign-in's, or None. With no nonce to echo,
    these tie it to the grant this server made a moment ago for the person on this page: issued
    (`iat`) and authenticated (`auth_time`) while that request ran, for this client alone (`aud`,
    `azp`), and for the username typed (`preferred_username` or `sub`). A token replayed from an
    earlier sign-in, minted for another app, or for someone else, fails one of them."""
    low, high = granted_at - FRESH_SECONDS, now + FRESH_SECONDS
    for name in ("iat", "auth_time"):
        value = claims.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
            return f"{name} is not from this grant"
    aud = claims.get("aud")
    if aud != client_id and aud != [client_id]:
        return "aud is not this client alone"
    if claims.get("azp", client_id) != client_id:
        return "azp is another client"
    asked = username.strip().casefold()
    named = claims.get("preferred_username")
    if not asked or not (
        (isinstance(named, str) and named.casefold() == asked) or str(claims.get("sub", "")).casefold() == asked
    ):
        return "the token is for another user"
    return None


# --- pages ----------------------------------------------------------------------------------------


def error_on(message_key: str | None) -> tuple[Message, ...]:
    return (Message(text="", cls="ERROR", key=message_key),) if message_key else ()


def code_control(state: State) -> Control:
    return Control(
        name="credentials.passcode",
        kind="text",
        label="Enter code",
        required=True,
        autocomplete="one-time-code",
        max_length=16,
        messages=error_on(state.error),
    )


OTHER_METHOD = FormView(
    id="methods", name="select-authenticator-authenticate", label="Verify", method="POST", controls=()
)
CANCEL = (ActionView(id="cancel", name="cancel"),)


def method_choices() -> tuple[Choice, ...]:
    return tuple(Choice(value=m, label=METHOD_LABELS[m], authenticator=METHOD_AUTHENTICATORS[m]) for m in METHODS)


def page_for(state: State) -> Page:
    """The page for a stage, in the generic renderer's model."""
    user = {"identifier": state.username} if state.username else None
    if state.stage == "identify":
        return identify_page(state)
    if state.stage == "methods":
        chooser = Control(
            name="method", kind="radio", label="Authenticator", required=True, choices=method_choices(), value=""
        )
        view = FormView(
            id="method", name="select-authenticator-authenticate", label="", method="POST", controls=(chooser,)
        )
        return step_page(view, None, user, messages=error_on(state.error), others=())
    if state.stage == "otp":
        view = FormView(
            id="otp",
            name="challenge-authenticator",
            label="",
            method="POST",
            controls=(code_control(state),),
            authenticator=Authenticator(None, "custom_otp", "app", None),
        )
        return step_page(view, view.authenticator, user)
    if state.stage == "code":
        phone = Authenticator(None, "phone_number", "phone", None, methods=(state.method or "sms",))
        view = FormView(
            id="code", name="challenge-authenticator", label="", method="POST", controls=(code_control(state),)
        )
        return step_page(replace(view, authenticator=phone), phone, user, resend=True)
    if state.stage == "push":
        number = {"correctAnswer": state.binding_code} if state.binding_code else {}
        verify = Authenticator(None, "okta_verify", "app", None, methods=("push",), contextual_data=number)
        view = FormView(id="poll", name="challenge-poll", label="", method="POST", controls=(), authenticator=verify)
        return step_page(view, verify, user, resend=True)
    return Page(
        templates=("steps/direct-unavailable.html", GENERIC_TEMPLATE),
        primary=None,
        alternatives=(OTHER_METHOD,) if state.username else (),
        actions=CANCEL if state.username else (),
        messages=(Message(text="", cls="WARNING", key=state.reason),) if state.reason else (),
        authenticator=None,
        user=user,
        app=None,
    )


def step_page(
    view: FormView,
    authenticator: Authenticator | None,
    user: Mapping[str, Any] | None,
    *,
    messages: tuple[Message, ...] = (),
    others: tuple[FormView, ...] = (OTHER_METHOD,),
    resend: bool = False,
) -> Page:
    method = authenticator.methods[0] if authenticator and len(authenticator.methods) == 1 else None
    return Page(
        templates=template_names(view.name, authenticator.key if authenticator else None, method),
        primary=view,
        alternatives=others,
        actions=(*((ActionView(id="resend", name="resend"),) if resend else ()), *CANCEL),
        messages=messages,
        authenticator=authenticator,
        user=user,
        app=None,
    )


def identify_page(state: State) -> Page:
    username = Control(
        name="identifier",
        kind="text",
        label="Username",
        required=True,
        value=state.username,
        autocomplete="username",
        max_length=256,
        messages=error_on(BLANK if state.error == BLANK else None),
    )
    password = Control(
        name="credentials.passcode",
        kind="password",
        label="Password",
        autocomplete="current-password",
        messages=error_on(state.error if state.error not in (None, BLANK) else None),
    )
    controls = (username,) if state.passwordless else (username, password)
    view = FormView(id="identify", name="identify", label="", method="POST", controls=controls)
    ways = () if state.passwordless else (FormView("passwordless", "direct-passwordless", "", "POST", ()),)
    links = tuple(FormView(name, f"direct-{name}", "", "POST", ()) for name in JOURNEYS)
    return Page(
        templates=template_names("identify", None),
        primary=view,
        alternatives=(*ways, *links),
        actions=CANCEL if state.passwordless else (),
        messages=(),
        authenticator=None,
        user=None,
        app=None,
    )
