"""The step pages: show the current step, take its answer, and poll for progress made elsewhere.

Handlers switch on `flow.settle` and `flow.decide` outcomes, never on remediation names. One
user action costs one IDX call: POST -> proceed -> store the response -> 303 -> GET renders the
stored one. A second only spares a click that decides nothing: the journey the person asked for
once it is offered, or the one way on offer to verify or set up.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from aiohttp import web
from aiohttp_session import Session

from .. import devices, flow, forms, idx_client, page_cache, policy, rendering, transaction
from ..idx_client import IonReply, UpstreamError
from ..idx_models import Form, IdxResponse, Message, NotAnIdxResponse, parse
from ..keys import CORRELATION, CSP_EXTRA, IDX_CLIENT, SETTINGS, config
from ..page import GENERIC_TEMPLATE, Chosen, Page
from ..sessions import StoredSession
from ..transaction import Transaction
from .account import sign_in
from .context import audit, user_ref
from .respond import flash, page_language, recalled, render, render_error, see_other, urls
from .session import OPENED, get_session, open_step, stored

log = logging.getLogger("embedded")

ECHO = "echo"  # what the person typed, shown again when the same step comes back with an error
CHOSEN = "chosen"  # a method picked on the list, its details still to ask: {version, form, option, values}
BLANK = "blank"  # form name -> the required fields the last submission left empty
BROKEN = "broken"  # the password rules the last new password broke, as checked here
METHOD, LIST = "method", "list"  # ?method: the chosen method's details; ?list: the list of methods


async def current_transaction(request: web.Request) -> tuple[Session, Transaction | None]:
    """This browser's session and its sign-in transaction, if one is under way and not too old."""
    session = await get_session(request)
    idx_client.LANGUAGE.set(page_language(request, session))  # the Identity Engine answers in it too
    return session, transaction.load(session, config(request)[SETTINGS].transaction_minutes * 60)


async def show_step(request: web.Request) -> web.Response:
    """Render the current step from the stored response: no upstream call."""
    session, tx = await current_transaction(request)
    if tx is None:
        return see_other(urls(request).login)
    response = transaction.response(session)
    if response is None:  # evicted or never stored: ask the Identity Engine where we stand
        return await recover_response(request)
    if flow.is_past(response.expires_at):
        return restart(request, session, "notice.expired")
    echo, chosen = session.pop(ECHO, None), held_method(request, session, tx)
    # BLANK and BROKEN are kept until the next answer: a reload or another language says it again.
    blank, broken, listing = session.get(BLANK), session.get(BROKEN), LIST in request.query
    inputs = page_inputs(session, response, tx, echo, chosen, blank, broken, listing)
    if inputs is not None and (kept := await recalled(request, inputs)) is not None:
        page, request[CSP_EXTRA] = kept
        return page
    outcome = flow.decide(response, echo, chosen=chosen, blank=blank, broken=broken, listing=listing)
    if isinstance(outcome, flow.Expired):
        return restart(request, session, "notice.expired")
    if isinstance(outcome, (flow.ExchangeCode, flow.RedirectToIdp)):
        # Reached only if the browser came back here mid-hand-off; the code is single use.
        transaction.clear(session)
        return await render(request, "error.html", {"title_key": "error.unfinished"}, status=409)
    names, context = rendering.step_context(response, outcome, version=tx.version)
    request[CSP_EXTRA] = devices.csp_additions(
        context["page"].device_challenge, context["page"].duo, context["page"].captcha
    )
    context = {**context, "journey": tx.journey}
    try:
        recall = (inputs, request[CSP_EXTRA]) if inputs is not None else None
        return await render(request, names, context, private=(response.state_handle,), recall=recall)
    except rendering.MALFORMED as exc:
        # A part of the response with a shape no real one has (settings that are not an object,
        # a list where a text belongs): the generic page shows what it can, else the upstream page.
        log.warning("step page could not show the response (%s) [%s]", type(exc).__name__, request.get(CORRELATION))
    try:
        return await render(request, GENERIC_TEMPLATE, context, private=(response.state_handle,))
    except rendering.MALFORMED:
        return render_error(request, 502, "error.upstream")


async def submit_step(request: web.Request) -> web.Response:
    """The one endpoint every step form posts to. The pages middleware has already read the
    form and opened the session with this route's limits and claim (`open_step`)."""
    opened = request[OPENED]
    if opened.wait:  # our own limits, per address then per transaction, before any upstream call
        return await too_many(request, opened.wait)
    session, tx = await current_transaction(request)
    if not claimed(session):
        # A double click, or a second tab, while this transaction's last step is still on its
        # way: the step page shows what that one leads to (a notice written now could only
        # overwrite the notice that one leaves).
        return see_other(urls(request).step)
    data = await request.post()
    response = transaction.response(session) if tx is not None else None
    if tx is None or response is None:
        flash(session, "notice.no_transaction")
        return see_other(urls(request).login)
    if data.get("_step") != str(tx.version):
        # A stale tab or the back button: show where the transaction really is.
        flash(session, "notice.stale")
        return see_other(urls(request).step)
    form = flow.find_form(response, _text(data.get("_form")), _text(data.get("_action")))
    if form is None:
        flash(session, "notice.stale")
        return see_other(urls(request).step)
    submitted = {k: [str(v) for v in data.getall(k)] for k in set(data.keys()) if not k.startswith("_")}
    form_id = _text(data.get("_form")) or ""
    held = session.pop(CHOSEN, None)
    for said in (BLANK, BROKEN):  # what the page said of the last answer
        session.pop(said, None)
    if data.get("_details") is not None:  # a chosen method's details: with what its list's form carried
        if isinstance(held, dict) and held.get("version") == tx.version and held.get("form") == form_id:
            submitted = {**{k: [v] for k, v in held.get("values", {}).items()}, **submitted}
    elif (option := flow.method_to_hold(form, submitted)) is not None:
        # A method chosen on our own list: no call; its details are asked next and sent with it in one.
        values = {k: v for k, v in forms.public_values(form, submitted).items() if "." not in k}
        session[CHOSEN] = {"version": tx.version, "form": form_id, "option": option, "values": values}
        return see_other(urls(request).step + f"?{METHOD}")
    return await answer(request, session, tx, response, form, submitted)


def page_inputs(session: Session, response: IdxResponse, tx: Transaction, *kept: Any) -> str | None:
    """What makes a step page's context, as text (`respond.recalled`): the stored response (state
    handle and expiry cut out), the step's number, the journey, and what was kept of the person's
    last answer. None when the response cannot be cut cleanly."""
    text = transaction.response_text(session)
    cut = page_cache.response_inputs(text, response.state_handle) if text is not None else None
    return "\x00".join((cut, str(tx.version), repr(tx.journey), *map(repr, kept))) if cut is not None else None


def held_method(request: web.Request, session: Session, tx: Transaction) -> Chosen | None:
    """The method chosen on the list whose details this page asks (`?method`), if still current."""
    held = session.get(CHOSEN) if METHOD in request.query else None
    if not isinstance(held, dict) or held.get("version") != tx.version or not isinstance(held.get("option"), int):
        return None
    return Chosen(str(held.get("form")), held["option"])


def claimed(session: Session) -> bool:
    """Whether this request holds the session's claim: no other request is taking a step for
    this transaction, on any instance, until this one has written back."""
    return isinstance(session, StoredSession) and session.claim is not None


async def answer(
    request: web.Request,
    session: Session,
    tx: Transaction,
    response: IdxResponse,
    form: Form,
    submitted: dict[str, list[str]],
) -> web.Response:
    """Send what the person answered to the form's own href. The one way an answer reaches the
    Identity Engine, from a step form or an emailed link alike: limited per transaction, one at a
    time (the caller opened the session with a claim), and a refused code counts against the
    transaction."""
    if not claimed(session):  # another request is taking a step for this transaction
        return see_other(urls(request).step)
    if (idp := flow.follow(form)) is not None:
        return idp_redirect(request, session, tx, idp.href)
    try:
        body = request_body(response, form, submitted)
    except forms.SubmissionError as exc:
        flash(session, exc.key, "ERROR")
        return see_other(urls(request).step)
    session[ECHO] = forms.public_values(form, submitted)
    if (broken := flow.broken_password_rules(response, form, submitted)) is not None:
        session[BROKEN] = list(broken)  # said beside the refusal, if the org refuses the password
    if blank := forms.missing_required(form, submitted):
        # The Identity Engine names the first required field left empty; the page names them all.
        session[BLANK] = {form.name: list(blank)}
    if typed := submitted.get("identifier"):
        tx.user = user_ref(request, typed[0])
    if stored(session).codes_before >= policy.MAX_FAILED_CODES:  # the cap's ending was lost (a failover)
        audit(request, "signin.failed", user=tx.user, reason="too_many_codes")
        return restart(request, session, "notice.too_many_codes")
    audit(request, "signin.step", user=tx.user, form=form.name)
    stored(session).stake_code()  # the wrong code reserved with the claim stands unless the reply clears it
    try:
        reply = await config(request)[IDX_CLIENT].proceed(form.href, body)
    except UpstreamError as exc:
        if exc.status != 429:
            raise
        stored(session).give_back_code()  # refused before it was checked
        audit(request, "signin.failed", user=tx.user, reason="rate_limited")
        flash(session, "notice.rate_limited", "ERROR")  # nothing is lost: the same step again
        return see_other(urls(request).step)
    return await advance(request, session, tx, reply, answered=True)


async def recover_response(request: web.Request) -> web.Response:
    """The stored response is gone (evicted, or never stored): ask the Identity Engine where the
    transaction stands, as a step of its own (limited, one at a time)."""
    opened = await open_step(request, "tx")
    session, tx = await current_transaction(request)
    if tx is None:
        return see_other(urls(request).login)
    if opened.wait or not claimed(session):
        return see_other(urls(request).step)  # another request is on it: its answer will be here
    return await advance(request, session, tx, await config(request)[IDX_CLIENT].introspect(tx.interaction_handle))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def too_many(request: web.Request, wait: float) -> web.Response:
    """Our own 429: nothing was sent upstream; Retry-After says when to try again."""
    audit(request, "signin.failed", reason="app_rate_limit")
    response = await render(request, "error.html", {"title_key": "error.rate_limited"}, status=429)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def request_body(response: IdxResponse, form: Form, submitted: dict[str, list[str]]) -> dict[str, Any]:
    body = forms.to_body(form, submitted)
    if response.state_handle:
        body["stateHandle"] = response.state_handle  # always the latest, from server state only
    return body


async def poll(request: web.Request) -> web.Response:
    """One check for progress made elsewhere, at most as often as the Identity Engine allows.

    poll.js asks with `Accept: application/json` and gets {changed, location, next_ms};
    pages without JavaScript come here through a meta refresh and are sent back to the step.
    Observing the transaction changes nothing the user chose, so this is a GET.
    """
    wants_json = "application/json" in request.headers.get("Accept", "")
    # A poll is an Identity Engine call for the transaction like a step: limited, and never two
    # at once, so neither can put back a transaction older than the other's.
    opened = await open_step(request, "tx")
    session, tx = await current_transaction(request)
    response = transaction.response(session) if tx is not None else None
    form = flow.poll_form(response) if response is not None else None
    if tx is None or response is None or form is None:  # nothing to wait for any more: the page is out of date
        # Finished elsewhere (an emailed link opened in another tab) or ended.
        location = urls(request).step if tx else urls(request).home if "user" in session else urls(request).login
        return poll_answer(request, wants_json, changed=True, location=location)
    interval = flow.poll_interval(form.refresh)
    now = time.time()
    if now < tx.poll_not_before:
        return poll_answer(request, wants_json, changed=False, next_ms=math.ceil((tx.poll_not_before - now) * 1000))
    if opened.wait:
        return poll_answer(request, wants_json, changed=False, next_ms=math.ceil(opened.wait * 1000))
    if not claimed(session):
        return poll_answer(request, wants_json, changed=False, next_ms=interval)
    return await poll_once(request, session, tx, response, form, wants_json, interval, now)


async def poll_once(
    request: web.Request,
    session: Session,
    tx: Transaction,
    response: IdxResponse,
    form: Form,
    wants_json: bool,
    interval: int,
    now: float,
) -> web.Response:
    latest = None
    try:
        reply = await config(request)[IDX_CLIENT].proceed(form.href, request_body(response, form, {}))
    except UpstreamError as exc:  # a missed poll is no loss: wait longer and try again
        interval = flow.RATE_LIMITED_POLL_MS if exc.status == 429 else min(interval * 2, flow.RATE_LIMITED_POLL_MS)
    else:
        latest = parse(reply.body)
        if flow.too_many_requests(reply.status, latest):
            interval, latest = flow.RATE_LIMITED_POLL_MS, None
    if latest is None or flow.state_signature(latest) == flow.state_signature(response):
        # Unchanged: keep the stored response (and its version) so forms on the page stay valid.
        tx.poll_not_before = now + interval / 1000
        transaction.save(session, tx)
        return poll_answer(request, wants_json, changed=False, next_ms=interval)
    moved = await advance(request, session, tx, reply)
    if not wants_json or moved.status != 303:
        return moved
    return poll_answer(request, wants_json, changed=True, location=moved.headers["Location"])


def poll_answer(
    request: web.Request, wants_json: bool, *, changed: bool, location: str | None = None, next_ms: int = 0
) -> web.Response:
    location = location or urls(request).step
    if wants_json:
        return web.json_response({"changed": changed, "location": location if changed else None, "next_ms": next_ms})
    return see_other(location)


def idp_redirect(request: web.Request, session: Session, tx: Transaction, href: str) -> web.Response:
    if not policy.is_org_url(href, config(request)[SETTINGS].org_origin):
        raise UpstreamError("identity provider link outside the Identity Engine")
    tx.via_idp = True
    transaction.save(session, tx)
    return see_other(href)


def restart(request: web.Request, session: Session, notice: str) -> web.Response:
    transaction.clear(session)
    flash(session, notice)
    return see_other(urls(request).login)


async def advance(
    request: web.Request,
    session: Session,
    tx: Transaction,
    reply: IonReply,
    *,
    answered: bool = False,
    chosen: bool = False,
) -> web.Response:
    """Store a fresh IDX response and send the browser where it leads. `answered`: the reply
    answers something the person submitted, so a refused code counts against the transaction.
    `chosen`: the reply answers a choice made for them (the only one there was)."""
    try:
        body = vetted(request, reply.body, reply.text)
        response = parse(body)
    except NotAnIdxResponse:
        raise UpstreamError("not an IDX response", status=reply.status) from None
    refused = answered and policy.code_refused(response)
    if answered and not refused:
        stored(session).give_back_code()  # not a wrong code: the one reserved for it is given back
    if refused and stored(session).add_code() >= policy.MAX_FAILED_CODES:
        # Too many wrong one-time codes in one transaction (ASVS 6.5.1/6.6.3): it ends here,
        # and nothing more is sent for it.
        audit(request, "signin.failed", user=tx.user, reason="too_many_codes")
        return restart(request, session, "notice.too_many_codes")
    if flow.too_many_requests(reply.status, response) and not response.remediations:
        # `tooManyRequests` with nothing left to do: this transaction is spent; start afresh.
        # (With forms still offered, the step is simply shown again with the message.)
        audit(request, "signin.failed", user=tx.user, reason="too_many_requests")
        return restart(request, session, "notice.rate_limited_restart")
    if answered and config(request)[SETTINGS].conceal_existing_accounts and policy.reveals_existing_account(response):
        # A registration for an email that has an account ends where a new one would wait on
        # its email, so the form never says who is registered.
        transaction.clear(session)
        audit(request, "signin.failed", user=tx.user, reason="account_exists")
        return await render(request, "terminal.html", {"page": neutral_ending(), "terminal_kind": "check_email"})
    if tx.user is None and isinstance(identifier := (response.user or {}).get("identifier"), str):
        tx.user = user_ref(request, identifier)
    if errors := [m.key for m in response.all_messages() if m.cls == "ERROR"]:
        audit(request, "signin.failed", user=tx.user, reason=policy.audit_reason(errors[0]))
    if tx.journey is not None and (start := flow.journey_start(response, tx.journey)) is not None:
        # The journey the person asked for is on offer now (recovery, once identified): take it
        # at once, as they would have, rather than show a page they did not ask for.
        tx.journey = None
        return await advance(
            request,
            session,
            tx,
            await config(request)[IDX_CLIENT].proceed(start.href, request_body(response, start, {})),
        )
    if not chosen and (sole := flow.sole_choice(response)) is not None:
        # One way on offer: choose it as they would have, rather than show a page that only asks
        # for Continue (once: whatever comes back is shown).
        form, only_way = sole
        return await advance(
            request,
            session,
            tx,
            await config(request)[IDX_CLIENT].proceed(form.href, request_body(response, form, only_way)),
            chosen=True,
        )
    outcome = flow.settle(response)  # the page itself is built when the browser asks for it
    if isinstance(outcome, flow.Expired):
        return restart(request, session, "notice.expired")
    if isinstance(outcome, flow.ExchangeCode):
        transaction.clear(session)
        return await sign_in(request, tx, outcome.code)
    transaction.remember(session, tx, body, response, text=reply.text if body is reply.body else None)
    if isinstance(outcome, flow.RedirectToIdp):
        return idp_redirect(request, session, tx, outcome.href)
    return see_other(urls(request).step)


def neutral_ending() -> Page:
    message = Message(text="", key="registration.check_email")
    return Page(
        templates=(),
        primary=None,
        alternatives=(),
        actions=(),
        messages=(message,),
        authenticator=None,
        user=None,
        app=None,
    )


def vetted(request: web.Request, body: Any, text: str | None) -> dict[str, Any]:
    """`policy.vet_response` (of `body`, read from `text`), logging each link it drops."""
    body, dropped = policy.vet_response(body, config(request)[SETTINGS].org_origin, text)
    for name, scheme in dropped:
        log.warning(
            "dropped a %s link to a %s URL outside the Identity Engine [%s]",
            json.dumps(name),
            json.dumps(scheme),
            request.get(CORRELATION),
        )
    return body
