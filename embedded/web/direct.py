"""The direct mode's routes (`EMBEDDED_MODE=direct`): the same /login, step and poll URLs as the
embedded mode, driven by Okta's Direct Authentication grants instead of IDX.

Thin: `direct` decides, `direct_client` calls. Every answer goes through the same machinery as an
IDX step: the pages middleware has checked CSRF and opened the session with the step's limits and
claim; a typed code is staked before it goes and counted if refused (five end the transaction);
the direct state (with the mfa_token) is stored in the transaction's response field, server-side.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from aiohttp_session import Session

from .. import direct, policy, transaction
from ..direct import State
from ..direct_client import Answer, DirectClient
from ..idx_client import UpstreamError
from ..keys import IDX_CLIENT, SETTINGS, config
from ..oidc import random_value
from ..page import BLANK
from ..sessions import field_text, set_field_text
from ..transaction import RESPONSE_FIELD, Transaction
from .account import sign_in_with_tokens
from .context import audit, request_context, user_ref
from .entry import asked_step_up, begin_hosted, start_limited
from .respond import csrf_token, flash, page_language, render, see_other, urls
from .session import OPENED, get_session, open_step, stored
from .steps import claimed, current_transaction, poll_answer, restart, too_many

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
POLL_BACKOFF, MAX_BACKOFF = 60, 300  # seconds without a poll after Okta's 429: without and with a Retry-After
# What the audit log may name as the step taken: the direct pages' own forms and actions, never a
# posted value nobody vetted (ASVS 16.4.1: no text an outsider chose in the event log).
FORMS = frozenset({"identify", "passwordless", "method", "methods", "otp", "code", "poll", "resend", *direct.JOURNEYS})


def load_state(session: Session) -> State | None:
    text = field_text(session, RESPONSE_FIELD)
    try:
        return State.from_json(json.loads(text)) if text is not None else None
    except (ValueError, TypeError):
        return None


def remember(session: Session, tx: Transaction, state: State) -> None:
    """Store a new stage: a new version, so forms of the page before it are stale."""
    set_field_text(session, RESPONSE_FIELD, json.dumps(state.to_json(), separators=(",", ":")))
    tx.version += 1
    transaction.save(session, tx)


def client(request: web.Request) -> DirectClient:
    return DirectClient(config(request)[IDX_CLIENT], request_context(request))


async def login(request: web.Request) -> web.Response:
    """A new direct sign-in: its first page, at no upstream cost. A step-up that names
    `acr_values` goes to the hosted page: no direct grant can be asked for one, nor prove it."""
    asked = await asked_step_up(request)
    if isinstance(asked, web.Response):
        return asked
    step_up, return_to = asked
    if step_up.acr_values:
        return await begin_hosted(request, return_to, step_up)
    if wait := await start_limited(request):
        return await too_many(request, wait)
    session = await get_session(request)
    transaction.clear(session)
    csrf_token(session)
    page_language(request, session)  # a ?lang= is remembered now
    tx = Transaction(
        interaction_handle="", verifier="", state=random_value(), nonce="", return_to=return_to, max_age=step_up.max_age
    )
    signed_in_as = (session.get("user") or {}).get("preferred_username")
    username = signed_in_as if isinstance(signed_in_as, str) and step_up.max_age else ""
    if username:
        flash(session, "notice.step_up")
    audit(request, "signin.started", user=user_ref(request, username or None), journey="direct")
    remember(session, tx, direct.first_page(username))
    return see_other(urls(request).step)


def journey(reason: str) -> Handler:
    """Registration, recovery, unlock and emailed links: Direct Authentication does none of them;
    the page says so and offers the org's own sign-in page, which does."""

    async def unavailable(request: web.Request) -> web.Response:
        page = direct.page_for(State(stage="unavailable", reason=reason))
        return await render(request, page.templates, {"page": page, "step_version": ""})

    return unavailable


async def show_step(request: web.Request) -> web.Response:
    session, tx = await current_transaction(request)
    state = load_state(session) if tx is not None else None
    if tx is None or state is None:
        return see_other(urls(request).login)
    page = direct.page_for(state)
    waiting = state.stage == "push"
    context = {
        "page": page,
        "step_version": tx.version,
        "poll_ms": state.interval * 1000 if waiting else None,  # poll.js, or a meta refresh without it
        "poll_reload": waiting,
        "journey": None,
    }
    return await render(request, page.templates, context)


async def submit_step(request: web.Request) -> web.Response:
    """Every direct form posts here; the middleware has checked its CSRF token and opened the
    session with the step limits and the claim."""
    if wait := request[OPENED].wait:
        return await too_many(request, wait)
    session, tx = await current_transaction(request)
    if not claimed(session):  # another request is taking a step for this transaction
        return see_other(urls(request).step)
    data = await request.post()
    state = load_state(session) if tx is not None else None
    if tx is None or state is None:
        flash(session, "notice.no_transaction")
        return see_other(urls(request).login)
    if data.get("_step") != str(tx.version):
        flash(session, "notice.stale")
        return see_other(urls(request).step)

    def value(name: str) -> str:
        found = data.get(name)
        return found if isinstance(found, str) else ""

    action, form = value("_action"), value("_form")
    if action == "cancel":
        transaction.clear(session)
        return see_other(urls(request).login)
    audit(request, "signin.step", user=tx.user, form=(form or action) if (form or action) in FORMS else "other")
    if action == "resend" and state.stage in ("code", "push") and state.method:  # the same method, sent again
        return await choose(request, session, tx, state, state.method)
    if form == "identify" and state.stage == "identify":
        return await identify(request, session, tx, state, value("identifier").strip(), value("credentials.passcode"))
    if form == "passwordless" and state.stage == "identify":
        remember(session, tx, replace(direct.first_page(state.username), passwordless=True))
        return see_other(urls(request).step)
    if form in direct.JOURNEYS and state.stage == "identify":
        return see_other(getattr(urls(request), form))
    if form == "method" and state.stage == "methods":
        if (method := value("method")) not in direct.METHODS:
            remember(session, tx, direct.methods(state, BLANK))
            return see_other(urls(request).step)
        return await choose(request, session, tx, state, method)
    if form == "methods" and state.stage in ("otp", "code", "push", "unavailable"):
        remember(session, tx, direct.methods(state))
        return see_other(urls(request).step)
    if form in ("otp", "code") and state.stage == form:
        return await code(request, session, tx, state, value("credentials.passcode").strip())
    if form == "poll" and state.stage == "push":
        if time.time() < tx.poll_not_before:  # "Check again" sooner than Okta allows: the page as it is
            return see_other(urls(request).step)
        return (await poll_grant(request, session, tx, state))[1]
    flash(session, "notice.stale")
    return see_other(urls(request).step)


async def identify(
    request: web.Request, session: Session, tx: Transaction, state: State, username: str, password: str
) -> web.Response:
    if not username or len(username) > 256:
        remember(session, tx, replace(state, error=BLANK))
        return see_other(urls(request).step)
    tx.user = user_ref(request, username)
    if state.passwordless or not password:  # no password: a code or a push instead
        remember(session, tx, direct.methods(State(username=username, passwordless=True)))
        return see_other(urls(request).step)
    return await grant(
        request, session, tx, replace(state, username=username), direct.PASSWORD, username=username, password=password
    )


async def choose(request: web.Request, session: Session, tx: Transaction, state: State, method: str) -> web.Response:
    """A method chosen: email is never offered by these endpoints; a TOTP code as the first
    factor needs no call before it; the others are challenged (an mfa_token) or sent
    (/v1/primary-authenticate)."""
    if method == "email":
        remember(session, tx, direct.unavailable(state, "direct.no_email"))
        return see_other(urls(request).step)
    if method == "otp" and not state.mfa_token:
        remember(session, tx, replace(direct.methods(state), stage="otp", method="otp"))
        return see_other(urls(request).step)
    upstream = client(request)
    answer = await limited(
        request,
        upstream.challenge(state.mfa_token, None if method == "otp" else method)
        if state.mfa_token
        else upstream.primary_authenticate(state.username, method),
        notice="direct.too_many_sends",  # Okta's limit on pushes / SMS / calls to one person
    )
    if isinstance(answer, Throttled):
        return see_other(urls(request).step)
    return await follow(
        request, session, tx, state, checked(direct.after_challenge, state, method, answer, time.time())
    )


async def code(request: web.Request, session: Session, tx: Transaction, state: State, typed: str) -> web.Response:
    if not policy.OTP.fullmatch(typed):  # nothing that could be a code is sent (or counted)
        remember(session, tx, replace(state, error=BLANK if not typed else "direct.not_a_code"))
        return see_other(urls(request).step)
    grant_type = direct.grant_name(state)
    params = {"mfa_token": state.mfa_token} if state.mfa_token else {}
    if state.stage == "otp":
        params |= {"otp": typed} if state.mfa_token else {"login_hint": state.username, "otp": typed}
    else:
        params |= {"oob_code": state.oob_code or "", "binding_code": typed}
    return await grant(request, session, tx, state, grant_type, typed_code=True, **params)


async def grant(
    request: web.Request,
    session: Session,
    tx: Transaction,
    state: State,
    grant_type: str,
    *,
    typed_code: bool = False,
    **params: str,
) -> web.Response:
    """One token-endpoint grant. A typed code counts against the transaction's five: the one
    reserved with the claim stands from the moment it goes, unless the answer clears it."""
    started = time.time()
    if typed_code:
        if stored(session).codes_before >= policy.MAX_FAILED_CODES:  # the cap's ending was lost (a failover)
            audit(request, "signin.failed", user=tx.user, reason="too_many_codes")
            return restart(request, session, "notice.too_many_codes")
        stored(session).stake_code()
    answer = await limited(request, client(request).token(grant_type, **params))
    if isinstance(answer, Throttled):
        return see_other(urls(request).step)
    outcome = checked(direct.after_grant, state, grant_type, answer, typed_code=typed_code)
    return await follow(request, session, tx, state, outcome, granted_at=started)


@dataclass(frozen=True)
class Throttled:
    """Okta's 429: nothing was checked or sent; `retry_after` seconds, if it said."""

    retry_after: int | None


async def limited(
    request: web.Request, call: Awaitable[Answer], notice: str = "notice.rate_limited"
) -> Answer | Throttled:
    """The call's answer; Okta's 429 gives back the code reserved (it was refused unchecked) and
    says `notice`, the step unchanged."""
    try:
        return await call
    except UpstreamError as exc:
        if exc.status != 429:
            raise
        retry_after = exc.retry_after
    session = await get_session(request)
    stored(session).give_back_code()
    audit(request, "signin.failed", reason="rate_limited")
    flash(session, notice, "ERROR")
    return Throttled(retry_after)


def checked(decide: Callable[..., direct.Next], *args: Any, **kwargs: Any) -> direct.Next:
    """An answer of an unexpected shape is the Identity Engine failing: the upstream-error page."""
    try:
        return decide(*args, **kwargs)
    except direct.Malformed as exc:
        raise UpstreamError(str(exc)) from None


async def follow(
    request: web.Request,
    session: Session,
    tx: Transaction,
    state: State,
    outcome: direct.Next,
    *,
    granted_at: float = 0.0,
) -> web.Response:
    if not isinstance(outcome, direct.WrongCode):
        stored(session).give_back_code()  # whatever went, it was not a wrong code
    if isinstance(outcome, direct.SignIn):
        transaction.clear(session)  # the mfa_token and oob_code go with it
        settings = config(request)[SETTINGS]

        def binding(claims: dict[str, Any]) -> str | None:
            return direct.binding_problem(
                claims, username=state.username, client_id=settings.client_id, granted_at=granted_at, now=time.time()
            )

        return await sign_in_with_tokens(request, tx, outcome.tokens, nonce=None, binding=binding)
    if isinstance(outcome, direct.Restart):
        audit(request, "signin.failed", user=tx.user, reason=outcome.notice.removeprefix("notice."))
        return restart(request, session, outcome.notice)
    if isinstance(outcome, direct.WrongCode):
        audit(request, "signin.failed", user=tx.user, reason="wrong_code")
        if stored(session).add_code() >= policy.MAX_FAILED_CODES:
            # Too many wrong codes in one transaction (ASVS 6.5.1/6.6.3): it ends, nothing more is sent.
            audit(request, "signin.failed", user=tx.user, reason="too_many_codes")
            return restart(request, session, "notice.too_many_codes")
        remember(session, tx, outcome.state)
        return see_other(urls(request).step)
    if isinstance(outcome, direct.Wait):  # same page, same version: its forms stay good
        tx.poll_not_before = time.time() + outcome.state.interval
        set_field_text(session, RESPONSE_FIELD, json.dumps(outcome.state.to_json(), separators=(",", ":")))
        transaction.save(session, tx)
        return see_other(urls(request).step)
    if outcome.state.error:
        audit(request, "signin.failed", user=tx.user, reason=outcome.state.error)
    remember(session, tx, outcome.state)
    return see_other(urls(request).step)


async def poll_grant(
    request: web.Request, session: Session, tx: Transaction, state: State
) -> tuple[bool, web.Response]:
    """One poll of a push at the token endpoint: (still waiting, the response)."""
    grant_type = direct.grant_name(state)
    params = {"oob_code": state.oob_code or "", **({"mfa_token": state.mfa_token} if state.mfa_token else {})}
    answer = await limited(request, client(request).token(grant_type, **params))
    if isinstance(answer, Throttled):  # not before Okta's Retry-After, else a minute as after an IDX poll's 429
        tx.poll_not_before = time.time() + min(answer.retry_after or POLL_BACKOFF, MAX_BACKOFF)
        transaction.save(session, tx)
        return True, see_other(urls(request).step)
    started = time.time()
    outcome = checked(direct.after_grant, state, grant_type, answer, typed_code=False)
    return isinstance(outcome, direct.Wait), await follow(request, session, tx, state, outcome, granted_at=started)


async def poll(request: web.Request) -> web.Response:
    """The push page's check (poll.js asks for JSON, a page without it comes by meta refresh):
    at most one grant per interval, each counted by the transaction's limit, one at a time."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    opened = await open_step(request, "tx")
    session, tx = await current_transaction(request)
    state = load_state(session) if tx is not None else None
    if tx is None or state is None or state.stage != "push":
        location = urls(request).step if tx else urls(request).home if "user" in session else urls(request).login
        return poll_answer(request, wants_json, changed=True, location=location)
    now = time.time()
    if now < tx.poll_not_before:
        return poll_answer(request, wants_json, changed=False, next_ms=math.ceil((tx.poll_not_before - now) * 1000))
    if opened.wait:
        return poll_answer(request, wants_json, changed=False, next_ms=math.ceil(opened.wait * 1000))
    if not claimed(session):
        return poll_answer(request, wants_json, changed=False, next_ms=state.interval * 1000)
    waiting, moved = await poll_grant(request, session, tx, state)
    if waiting:
        return poll_answer(request, wants_json, changed=False, next_ms=math.ceil((tx.poll_not_before - now) * 1000))
    if not wants_json or moved.status != 303:
        return moved
    return poll_answer(request, wants_json, changed=True, location=moved.headers["Location"])
