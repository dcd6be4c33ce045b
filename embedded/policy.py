"""What the app accepts and keeps, as pure rules: where a browser may be sent back to after
sign-in, which Identity Engine URLs may be used and which IDX links followed, which errors would
reveal an account, and when a one-time code was refused. No I/O; the views log and act on the
answers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from .idx_models import IdxResponse

# A path on this site: printable ASCII, no backslash (browsers read `/\x` as `//x`).
RETURN_TO = re.compile(r"/[!#-\[\]-~]{0,1999}")


def safe_return_to(value: str | None) -> str:
    """`value` if it can only lead to a page of this site, else "/" (never an open redirect).

    Checked as sent and once percent-decoded, since something on the way may decode it: it must
    start with a single "/", and carry no backslash, control character (CR/LF would split the
    Location header) or scheme/host."""
    if not value or not RETURN_TO.fullmatch(value):
        return "/"
    for form in (value, unquote(value)):
        if form.startswith("//") or "\\" in form or any(ord(c) < 0x20 or ord(c) == 0x7F for c in form):
            return "/"
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return "/"
    return value


# An Identity Engine URL as sent: printable ASCII without space or backslash (browsers read `\`
# as `/`), and bounded. CR or LF would split a header (aiohttp refuses it, and the browser would
# get no answer at all); other control characters and Unicode line breaks have no place in one.
ORG_URL = re.compile(r"[!-\[\]-~]{1,8192}")


def is_org_url(url: Any, org_origin: str) -> bool:
    """Whether `url` may be requested, or a browser sent to it, as a URL of the configured
    Identity Engine: it parses and its origin is exactly `org_origin` (so its scheme is the org's
    own, https or http for a loopback org, its port the org's, and it has no user info)."""
    if not isinstance(url, str) or not ORG_URL.fullmatch(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # a bracket left open: `https://[::1/x`
        return False
    return f"{parts.scheme}://{parts.netloc}" == org_origin and parts.path.startswith("/")


def url_scheme(url: Any) -> str | None:
    """The scheme of a URL for a log line (None when it is not a URL that parses)."""
    try:
        return urlsplit(url).scheme if isinstance(url, str) else None
    except ValueError:
        return None


# An emailed link's one-time code: Okta's are six digits; anything unlike a code is neither
# shown nor sent (a link is attacker-writable text on our own origin).
OTP = re.compile(r"[A-Za-z0-9]{4,16}")
# The `error` values a callback may carry that we explain in our own words; any other value
# reads as "other", and `error_description` is never shown (anyone can write it into a link).
CALLBACK_ERRORS = frozenset(
    {
        "access_denied",
        "consent_required",
        "interaction_required",
        "invalid_request",
        "invalid_scope",
        "login_required",
        "server_error",
        "temporarily_unavailable",
        "unauthorized_client",
        "unsupported_response_type",
        "user_canceled_request",
    }
)


def callback_error(value: str | None) -> str:
    return value if value in CALLBACK_ERRORS else "other"


MAX_FAILED_CODES = 5
# Message keys the Identity Engine uses for a wrong one-time code or security answer.
CODE_REFUSED_KEYS = frozenset({"api.authn.error.PASSCODE_INVALID", "authfactor.challenge.soft_token.invalid_passcode"})


def code_refused(response: IdxResponse) -> bool:
    """Whether an IDX response says the one-time code (or answer) just sent was wrong."""
    return any(m.key in CODE_REFUSED_KEYS for m in response.all_messages())


# On the pages that take a username nobody is identified yet: whether an account exists, or is
# locked, must not show (ASVS 6.3.8), so "no such user", "locked" and "wrong password" all
# become one generic message on sign-in, recovery and unlock alike.
ACCOUNT_FAILURE_KEYS = frozenset(
    {"errors.E0000004", "E0000004", "idx.unknown.user", "incorrectPassword", "errors.E0000069", "E0000069"}
)
# The unlock page asks for the username and the way to verify at once (Okta's
# `select-authenticator-unlock-account`), and answers an unknown one with `idx.unknown.user`.
ENTRY_FORMS = frozenset({"identify", "identify-recovery", "unlock-account", "select-authenticator-unlock-account"})
SIGN_IN_FAILED = {
    "message": "Sign-in failed. Check your details and try again.",
    "i18n": {"key": "sign_in.failed"},
    "class": "ERROR",
}


def audit_reason(key: str | None) -> str:
    """An Identity Engine error as an audit reason: its key when it is one the app knows by
    name, "idx_error" otherwise (event logs carry no text an outsider chose)."""
    return key if key in KNOWN_ERROR_KEYS else "idx_error"


# Registration's answer when the email already has an account.
ACCOUNT_EXISTS_KEYS = frozenset({"registration.error.notUniqueWithinOrg"})


KNOWN_ERROR_KEYS = (
    ACCOUNT_FAILURE_KEYS
    | CODE_REFUSED_KEYS
    | ACCOUNT_EXISTS_KEYS
    | frozenset(
        {
            "idx.session.expired",
            "tooManyRequests",
            "E0000047",
            "security.access_denied",
            "api.authn.error.PASSCODE_INVALID",
            "password.passwordRequirementsNotMet",
            "idx.identity.provider.auth.error",
            "E0000009",
            "E0000010",
        }
    )
)


def reveals_existing_account(response: IdxResponse) -> bool:
    return any(m.key in ACCOUNT_EXISTS_KEYS for m in response.all_messages())


def vet_response(body: Any, org_origin: str, text: str | None = None) -> tuple[Any, list[tuple[str, str | None]]]:
    """An IDX response as the app keeps it, and the (name, URL scheme) of each link dropped:
    identity-provider links that would take the browser anywhere but the Identity Engine (or
    that are not a clean URL, `is_org_url`) go, and account-revealing errors on the first page
    are made generic. Forms the app posts to are kept: the client checks their href before the
    call (a 502 page). The caller parses the result (NotAnIdxResponse for anything that is not
    an IDX response). `text`: the JSON text `body` was read from, if at hand (a quicker look for
    account-revealing errors)."""
    if not isinstance(body, dict):
        return body, []
    remediation = body.get("remediation")
    if not isinstance(remediation, dict) or not isinstance(remediation.get("value"), list):
        return body, []
    kept: list[Any] = []
    dropped: list[tuple[str, str | None]] = []
    for form in remediation["value"]:
        href = form.get("href") if isinstance(form, dict) else None
        if (
            isinstance(form, dict)
            and str(form.get("method", "POST")).upper() == "GET"
            and not is_org_url(href, org_origin)
        ):
            dropped.append((str(form.get("name")), url_scheme(href)))
            continue
        kept.append(form)
    body = {**body, "remediation": {**remediation, "value": kept}} if dropped else body
    if kept and isinstance(kept[0], dict) and isinstance(kept[0].get("name"), str) and kept[0]["name"] in ENTRY_FORMS:
        body = without_account_failures(body, text)
    return body, dropped


def without_account_failures(body: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    if text is not None and "\\u" not in text and not any(f'"{key}"' in text for key in ACCOUNT_FAILURE_KEYS):
        # No string in the text is a key (one would be there quoted as it is: its characters
        # need no escape, and none is written as \u): the usual case, read off the text.
        return body
    if not _mentions_account_failure(body["remediation"], body.get("messages")):
        return body  # the usual case, found without copying the document to learn it
    found: list[bool] = []  # one entry per message list an account failure was taken out of
    remediation, messages = _without_failures(body["remediation"], found), _strip_failures(body.get("messages"), found)
    if not found:
        return body
    if not isinstance(messages, dict) or not isinstance(messages.get("value"), list):
        messages = {"type": "array", "value": []}
    return {**body, "remediation": remediation, "messages": {**messages, "value": [SIGN_IN_FAILED, *messages["value"]]}}


CONTAINERS = (dict, list)


def _mentions_account_failure(*nodes: Any) -> bool:
    """Whether any string in `nodes` is an account-failure key: true whenever `_without_failures`
    or `_strip_failures` would take a message out (and sometimes when they would not), at half
    the cost of their walk, which copies every object."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        for value in node.values() if isinstance(node, dict) else node if isinstance(node, list) else ():
            if isinstance(value, CONTAINERS):
                stack.append(value)
            elif isinstance(value, str) and value in ACCOUNT_FAILURE_KEYS:
                return True
    return False


# Module functions, not closures: a closure that calls itself is a reference cycle, garbage only
# the cycle collector frees, made on every response.
def _without_failures(node: Any, found: list[bool]) -> Any:
    if isinstance(node, list):
        return [_without_failures(n, found) for n in node]
    if isinstance(node, dict):
        return {
            k: _strip_failures(v, found) if k == "messages" else _without_failures(v, found) for k, v in node.items()
        }
    return node


def _strip_failures(messages: Any, found: list[bool]) -> Any:
    if not isinstance(messages, dict) or not isinstance(messages.get("value"), list):
        return messages
    kept = [
        m
        for m in messages["value"]
        if not (
            isinstance(m, dict) and isinstance(m.get("i18n"), dict) and m["i18n"].get("key") in ACCOUNT_FAILURE_KEYS
        )
    ]
    if len(kept) != len(messages["value"]):
        found.append(True)
    return {**messages, "value": kept}


# A request's path as sent, for a host's guarded routes: `%` not starting an escape, and an
# escape that decodes to a path separator (`/`, or `\` which some servers and browsers read as one).
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
SEPARATOR_ESCAPE = re.compile(r"%(2[Ff]|5[Cc])")
DOUBLE_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def ambiguous_path(raw_path: str) -> str | None:
    """Why a request path, as sent, could be read as two different paths (by the router, a static
    directory, a handler, a proxy in front), or None when it reads one way only. Refused: a
    backslash or an encoded `/` or `\\`; a `.` or `..` segment, raw or encoded; an empty segment
    (`//`); a control character (NUL included); a `%` that starts no escape, or escapes that are
    not UTF-8 (overlong forms included); an escape that decodes to another escape (`%252e`)."""
    if not raw_path.startswith("/"):
        return "not a path"
    if "\\" in raw_path or SEPARATOR_ESCAPE.search(raw_path):
        return "separator"
    if BAD_ESCAPE.search(raw_path):
        return "escape"
    try:
        path = unquote(raw_path, errors="strict")  # strict UTF-8: overlong forms and surrogates fail
    except UnicodeDecodeError:
        return "encoding"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in path):
        return "control"
    if DOUBLE_ESCAPE.search(path):
        return "escape"
    segments = path.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        return "dot segment"
    if "" in segments[:-1]:
        return "empty segment"
    return None


# What meets a step-up beyond the very `acr` asked for, for Okta's predefined acr_values: any
# sign-in is one factor; the ID token's `amr` says when a password was used and when more than
# one factor was ("mfa"); two factors always meet "two if possible", and a hardware-protected
# phishing-resistant sign-in is phishing-resistant. Any other value is met only by itself.
ACR_2FA = "urn:okta:loa:2fa:any"
ACR_MET_BY_AMR: dict[str, str | None] = {
    "urn:okta:loa:1fa:any": None,  # None: signed in at all
    "urn:okta:loa:1fa:pwd": "pwd",
    ACR_2FA: "mfa",
    "urn:okta:loa:2fa:any:ifpossible": "mfa",
}
ACR_MET_BY_ACR = {"urn:okta:loa:2fa:any:ifpossible": {ACR_2FA}, "phr": {"phrh"}}


def sign_in_meets(
    acr_values: str | None, max_age: int | None, *, acr: Any, amr: Any, auth_time: Any, now: float
) -> bool:
    """Whether a sign-in, as its ID token describes it (`acr`, `amr`, `auth_time`), is strong
    and fresh enough: one of the space-separated `acr_values` met (the same value, or one known to
    be stronger), and authenticated at most `max_age` seconds ago (a missing `auth_time` is too old)."""
    if max_age is not None and not (
        isinstance(auth_time, int) and not isinstance(auth_time, bool) and now - auth_time <= max_age
    ):
        return False
    if acr_values is None:
        return True
    methods = {m for m in amr if isinstance(m, str)} if isinstance(amr, list | tuple) else set()
    for wanted in acr_values.split():
        if acr == wanted or acr in ACR_MET_BY_ACR.get(wanted, ()):
            return True
        if wanted in ACR_MET_BY_AMR and (ACR_MET_BY_AMR[wanted] is None or ACR_MET_BY_AMR[wanted] in methods):
            return True
    return False
