"""HTTP handlers: glue between the browser, the IDX client and the pure core.

Views switch on `flow.decide`'s outcome, never on remediation names. One user action
costs at most one IDX call: POST -> proceed -> store the response -> 303 -> GET renders
the stored response.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import Session, get_session

from . import flow, forms, policy, rendering, transaction
from .idx_client import IonReply, OAuthError, RequestContext, UpstreamError
from .idx_models import Form, IdxResponse, NotAnIdxResponse, parse
from .keys import AUDIT_KEY, CORRELATION, CSP_EXTRA, CSP_NONCE, IDX_CLIENT, IN_FLIGHT, IP_LIMITER, KEY_SET, NEW_DEVICE_TOKEN, SETTINGS, TX_LIMITER
from .oidc import InvalidIdToken, s256, same, validate_id_token
from .sessions import device_cookie_name, rotate
from .transaction import Transaction

log = logging.getLogger("embedded")
audit_log = logging.getLogger("embedded.audit")

STEP_PATH = "/login/step"
FLASH = "flash"
ECHO = "echo"


# --- rendering helpers -------------------------------------------------------------------


def csrf_token(session: Session) -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def flash(session: Session, key: str, cls: str = "INFO") -> None:
    session[FLASH] = [*session.get(FLASH, []), {"key": key, "cls": cls}]


async def render(request: web.Request, names: tuple[str, ...] | str, context: dict[str, Any] | None = None, *, status: int = 200) -> web.Response:
    session = await get_session(request)
    env = aiohttp_jinja2.get_env(request.app)
    notices = session.pop(FLASH, [])
    html = rendering.render(
        env,
        names,
        {
            **(context or {}),
            "csrf_token": csrf_token(session),
            "csp_nonce": request[CSP_NONCE],
            "correlation": request.get(CORRELATION),
            "notices": notices,
        },
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


# --- sign-in events ----------------------------------------------------------------------


def user_ref(request: web.Request, identifier: str | None) -> str | None:
    """A user identifier as the event log shows it: keyed-hashed, never the address itself."""
    if not identifier:
        return None
    digest = hmac.new(request.app[AUDIT_KEY], identifier.strip().lower().encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:20]


def audit(request: web.Request, event: str, *, user: str | None = None, **fields: Any) -> None:
    """One sign-in event, one log line: `event=… correlation=… ip=… user=…` plus details. Values
    are JSON strings (ASCII, quoted), so a CR, LF or any control character arrives escaped and
    nobody can forge a second line. `user` is already hashed (`user_ref`). The same values go in
    the record's `audit` attribute for structured handlers."""
    record = {
        "event": event,
        "correlation": request.get(CORRELATION),
        "ip": client_ip(request, request.app[SETTINGS].trusted_proxies),
        "user": user,
        **fields,
    }
    record = {k: v for k, v in record.items() if v is not None}
    audit_log.info("%s", " ".join(f"{k}={json.dumps(str(v))}" for k, v in record.items()), extra={"audit": record})


# --- pages -------------------------------------------------------------------------------


async def home(request: web.Request) -> web.Response:
    session = await get_session(request)
    user = session.get("user")
    tokens = await current_tokens(request, session) if user else None
    if user and tokens is None:
        return await end_app_session(request, "notice.signed_out_elsewhere")
    expires = datetime.fromtimestamp(tokens["expires_at"], timezone.utc).strftime("%H:%M:%S UTC") if tokens else None
    return await render(request, "home.html", {"user": user, "access_expires_at": expires})


STEP_UP_ACR = re.compile(r"[A-Za-z0-9:._-]{1,100}( [A-Za-z0-9:._-]{1,100}){0,4}")


async def profile(request: web.Request) -> web.Response:
    """What the Identity Engine says about the signed-in user (userinfo, with the access token)."""
    session = await get_session(request)
    if not session.get("user"):
        raise see_other("/login")
    tokens = await current_tokens(request, session)
    if tokens is None:
        return await end_app_session(request, "notice.signed_out_elsewhere")
    try:
        claims = await request.app[IDX_CLIENT].userinfo(tokens["access_token"])
    except OAuthError:  # revoked since: the app session ends with it
        return await end_app_session(request, "notice.signed_out_elsewhere")
    if claims.get("sub") != session["user"].get("sub"):
        # Someone else's claims (OIDC Core §5.3.2): never show them as this user's.
        raise UpstreamError("userinfo for another subject")
    shown = sorted((k, v if isinstance(v, str) else json.dumps(v)) for k, v in claims.items())
    return await render(request, "profile.html", {"user": session["user"], "claims": shown})


async def login(request: web.Request) -> web.Response:
    """Sign in; `?acr_values=…&max_age=…` asks for a stronger or fresher sign-in (step-up), and
    `?return_to=/a/path` is where to go afterwards (a path on this site, else home)."""
    acr_values, max_age = request.query.get("acr_values"), request.query.get("max_age")
    if (acr_values is not None and not STEP_UP_ACR.fullmatch(acr_values)) or (max_age is not None and not (max_age.isdigit() and len(max_age) < 10)):
        return await render(request, "error.html", {"title_key": "error.step_up"}, status=400)
    step_up = {"acr_values": acr_values, "max_age": int(max_age) if max_age else None}
    return await begin(request, step_up=step_up, return_to=policy.safe_return_to(request.query.get("return_to")))


async def register(request: web.Request) -> web.Response:
    return await begin(request, "register")


async def recover(request: web.Request) -> web.Response:
    return await begin(request, "recover")


async def unlock(request: web.Request) -> web.Response:
    return await begin(request, "unlock")


async def activate(request: web.Request) -> web.Response:
    """The link in an activation email: a fresh transaction for the user the token names."""
    return await begin_from_link(request, "activation_token", request.query.get("token") or request.query.get("activation_token"))


async def reset_password(request: web.Request) -> web.Response:
    """The link in a password-reset email: a fresh recovery transaction for the token's user."""
    return await begin_from_link(request, "recovery_token", request.query.get("token") or request.query.get("recovery_token"))


async def begin_from_link(request: web.Request, kind: str, token: str | None) -> web.Response:
    if not token or len(token) > 512:
        return await render(request, "error.html", {"title_key": "error.link"}, status=400)
    try:
        return await begin(request, **{kind: token})
    except OAuthError as exc:  # invalid, expired or already used: Okta answers 400 invalid_request
        log.info("email link refused: %r", exc.error)
        return await render(request, "error.html", {"title_key": "error.link", "error_description": exc.description}, status=400)


DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def request_context(request: web.Request) -> RequestContext:
    """The person's address (through trusted proxies only), browser, and this browser's device
    token; a browser without one gets a new token, remembered in a long-lived cookie."""
    settings = request.app[SETTINGS]
    token = request.cookies.get(device_cookie_name(settings.secure_cookies), "")
    if not DEVICE_TOKEN.fullmatch(token):
        token = secrets.token_urlsafe(32)
        request[NEW_DEVICE_TOKEN] = token
    return RequestContext(
        client_ip=client_ip(request, settings.trusted_proxies),
        user_agent=request.headers.get("User-Agent", "")[:512] or None,
        device_token=token,
    )


def client_ip(request: web.Request, trusted_proxies: tuple[str, ...]) -> str | None:
    """The first address, from the right, that is not one of our proxies."""
    address = request.remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    while address in trusted_proxies and hops:
        address = hops.pop()
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


async def begin(request: web.Request, journey: str | None = None, step_up: dict | None = None, return_to: str = "/", **link_token: str) -> web.Response:
    """Start a transaction (interact + introspect); for a journey route, take its first step
    at once so the person lands on the page they asked for. `return_to` is captured now, in
    the server-side transaction, and followed after sign-in."""
    client = request.app[IDX_CLIENT]
    session = await get_session(request)
    verifier, state, nonce = transaction.new_secrets()
    context = request_context(request)
    step_up = step_up or {}
    handle = await client.interact(code_challenge=s256(verifier), state=state, nonce=nonce, context=context, **step_up, **link_token)
    tx = Transaction(interaction_handle=handle, verifier=verifier, state=state, nonce=nonce, return_to=return_to, **step_up)
    reply = await client.introspect(handle)
    signed_in_as = (session.get("user") or {}).get("preferred_username")  # a step-up
    audit(request, "signin.started", user=user_ref(request, signed_in_as), journey=journey or ("email link" if link_token else "sign-in"))
    if journey is not None:
        try:
            response = parse(reply.body)
        except NotAnIdxResponse:
            raise UpstreamError("not an IDX response", status=reply.status) from None
        form = flow.journey_start(response, journey)
        if form is None:
            flash(session, f"notice.no_{journey}")
        else:
            reply = await client.proceed(form.href, request_body(response, form, {}))
    return await advance(request, session, tx, reply)


async def show_step(request: web.Request) -> web.Response:
    """Render the current step from the stored response: no upstream call."""
    settings = request.app[SETTINGS]
    session = await get_session(request)
    tx = transaction.load(session, settings.transaction_minutes * 60)
    if tx is None:
        raise see_other("/login")
    if tx.response is None:  # evicted or never stored: ask the Identity Engine where we stand
        return await advance(request, session, tx, await request.app[IDX_CLIENT].introspect(tx.interaction_handle))
    response = parse(tx.response)
    if flow.is_past(response.expires_at):
        return restart(session, "notice.expired")
    outcome = flow.decide(response, session.pop(ECHO, None))
    if isinstance(outcome, flow.Expired):
        return restart(session, "notice.expired")
    if isinstance(outcome, (flow.ExchangeCode, flow.RedirectToIdp)):
        # Reached only if the browser came back here mid-hand-off; the code is single use.
        transaction.clear(session)
        return await render(request, "error.html", {"title_key": "error.unfinished"}, status=409)
    names, context = rendering.step_context(response, outcome, version=tx.version)
    request[CSP_EXTRA] = flow.csp_additions(context["page"])
    return await render(request, names, context)


async def submit_step(request: web.Request) -> web.Response:
    """The one endpoint every step form posts to."""
    settings = request.app[SETTINGS]
    # Our own per-address limit first: a flood costs no session work and no upstream call. The
    # address is X-Forwarded-For only through trusted proxies, so a forged header changes nothing.
    if wait := request.app[IP_LIMITER].hit(client_ip(request, settings.trusted_proxies) or "unknown"):
        return await too_many(request, wait)
    session = await get_session(request)
    data = await request.post()
    tx = transaction.load(session, settings.transaction_minutes * 60)
    if tx is None or tx.response is None:
        flash(session, "notice.no_transaction")
        raise see_other("/login")
    if data.get("_step") != str(tx.version):
        # A stale tab or the back button: show where the transaction really is.
        flash(session, "notice.stale")
        raise see_other(STEP_PATH)
    response = parse(tx.response)
    form = flow.find_form(response, data.get("_form"), data.get("_action"))
    if form is None:
        flash(session, "notice.stale")
        raise see_other(STEP_PATH)
    tx_key = transaction_key(tx)
    # Per transaction too, below the Identity Engine's own limit per state token.
    if wait := request.app[TX_LIMITER].hit(tx_key):
        return await too_many(request, wait)
    in_flight = request.app[IN_FLIGHT]
    if tx_key in in_flight:
        # A double click or a second tab while this transaction's last step is still on its
        # way: one remediation at a time, the other is treated as out of date.
        flash(session, "notice.stale")
        raise see_other(STEP_PATH)
    if (idp := flow.follow(form)) is not None:
        return idp_redirect(request, session, tx, idp.href)
    submitted = {k: [str(v) for v in data.getall(k)] for k in set(data.keys()) if not k.startswith("_")}
    try:
        body = request_body(response, form, submitted)
    except forms.SubmissionError as exc:
        session[FLASH] = [{"text": exc.text, "cls": "ERROR"}]
        raise see_other(STEP_PATH) from None
    session[ECHO] = forms.public_values(form, submitted)
    if typed := (submitted.get("identifier") or [None])[0]:
        tx.user = user_ref(request, typed)
    audit(request, "signin.step", user=tx.user, form=form.name)
    in_flight.add(tx_key)
    try:
        try:
            reply = await request.app[IDX_CLIENT].proceed(form.href, body)
        except UpstreamError as exc:
            if exc.status != 429:
                raise
            audit(request, "signin.failed", user=tx.user, reason="rate_limited")
            return slow_down(session)
        return await advance(request, session, tx, reply, answered=True)
    finally:
        in_flight.discard(tx_key)


def transaction_key(tx: Transaction) -> str:
    """A name for the transaction in app-wide tables, which must not hold its handle."""
    return hashlib.sha256(tx.interaction_handle.encode()).hexdigest()[:32]


async def too_many(request: web.Request, wait: float) -> web.Response:
    """Our own 429: nothing was sent upstream; Retry-After says when to try again."""
    audit(request, "signin.failed", reason="app_rate_limit")
    response = await render(request, "error.html", {"title_key": "error.rate_limited"}, status=429)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def slow_down(session: Session) -> web.Response:
    """Too many requests for this transaction: nothing is lost, the same step is shown again."""
    flash(session, "notice.rate_limited", "ERROR")
    raise see_other(STEP_PATH)


def request_body(response: IdxResponse, form: Form, submitted: dict[str, list[str]]) -> dict:
    body = forms.to_body(form, submitted)
    if response.state_handle:
        body["stateHandle"] = response.state_handle  # always the latest, from server state only
    return body


async def poll(request: web.Request) -> web.StreamResponse:
    """One check for progress made elsewhere, at most as often as the Identity Engine allows.

    poll.js asks with `Accept: application/json` and gets {changed, location, next_ms};
    pages without JavaScript come here through a meta refresh and are sent back to the step.
    Observing the transaction changes nothing the user chose, so this is a GET.
    """
    wants_json = "application/json" in request.headers.get("Accept", "")
    settings = request.app[SETTINGS]
    session = await get_session(request)
    tx = transaction.load(session, settings.transaction_minutes * 60)
    response = parse(tx.response) if tx is not None and tx.response is not None else None
    form = flow.poll_form(response) if response is not None else None
    if form is None:  # nothing to wait for any more: the page is out of date
        # Finished elsewhere (an emailed link opened in another tab) or ended.
        location = STEP_PATH if tx else "/" if "user" in session else "/login"
        return poll_answer(wants_json, changed=True, location=location)
    interval = flow.poll_interval(form.refresh)
    now = time.time()
    if now < tx.poll_not_before:
        return poll_answer(wants_json, changed=False, next_ms=math.ceil((tx.poll_not_before - now) * 1000))
    latest = None
    try:
        reply = await request.app[IDX_CLIENT].proceed(form.href, request_body(response, form, {}))
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
        return poll_answer(wants_json, changed=False, next_ms=interval)
    try:
        return await advance(request, session, tx, reply)
    except web.HTTPSeeOther as moved:
        if not wants_json:
            raise
        return poll_answer(wants_json, changed=True, location=moved.location)


def poll_answer(wants_json: bool, *, changed: bool, location: str = STEP_PATH, next_ms: int = 0) -> web.StreamResponse:
    if wants_json:
        return web.json_response({"changed": changed, "location": location if changed else None, "next_ms": next_ms})
    raise see_other(location)


def idp_redirect(request: web.Request, session: Session, tx: Transaction, href: str) -> web.Response:
    if not href.startswith(request.app[SETTINGS].org_origin + "/"):
        raise UpstreamError("identity provider link outside the Identity Engine")
    tx.via_idp = True
    transaction.save(session, tx)
    raise see_other(href)


def restart(session: Session, notice: str) -> web.Response:
    transaction.clear(session)
    flash(session, notice)
    raise see_other("/login")


async def advance(request: web.Request, session: Session, tx: Transaction, reply: IonReply, *, answered: bool = False) -> web.Response:
    """Store a fresh IDX response and send the browser where it leads. `answered`: the reply
    answers something the person submitted, so a refused code counts against the transaction."""
    try:
        body = vetted(request, reply.body)
        response = parse(body)
    except NotAnIdxResponse:
        raise UpstreamError("not an IDX response", status=reply.status) from None
    if answered and policy.code_refused(response):
        tx.failed_codes += 1
        if tx.failed_codes >= policy.MAX_FAILED_CODES:
            # Too many wrong one-time codes in one transaction (ASVS 6.5.1/6.6.3): it ends
            # here, and nothing more is sent for it.
            audit(request, "signin.failed", user=tx.user, reason="too_many_codes")
            return restart(session, "notice.too_many_codes")
    if flow.too_many_requests(reply.status, response) and not response.remediations:
        # `tooManyRequests` with nothing left to do: this transaction is spent; start afresh.
        # (With forms still offered, the step is simply shown again with the message.)
        audit(request, "signin.failed", user=tx.user, reason="too_many_requests")
        return restart(session, "notice.rate_limited_restart")
    if tx.user is None and isinstance(identifier := (response.user or {}).get("identifier"), str):
        tx.user = user_ref(request, identifier)
    if errors := [m.key or "unknown" for m in response.all_messages() if m.cls == "ERROR"]:
        audit(request, "signin.failed", user=tx.user, reason=errors[0])
    outcome = flow.decide(response)
    if isinstance(outcome, flow.Expired):
        return restart(session, "notice.expired")
    if isinstance(outcome, flow.ExchangeCode):
        transaction.clear(session)
        return await sign_in(request, tx, outcome.code)
    tx.remember(body)
    transaction.save(session, tx)
    if isinstance(outcome, flow.RedirectToIdp):
        return idp_redirect(request, session, tx, outcome.href)
    raise see_other(STEP_PATH)


def vetted(request: web.Request, body: Any) -> dict:
    """`policy.vet_response`, logging each link it drops."""
    body, dropped = policy.vet_response(body, request.app[SETTINGS].org_origin)
    for name, scheme in dropped:
        log.warning("dropped a %s link to a %s URL outside the Identity Engine [%s]", json.dumps(name), json.dumps(scheme), request.get(CORRELATION))
    return body


async def sign_in(request: web.Request, tx: Transaction, code: str) -> web.Response:
    """Exchange the interaction code, check the ID token, and start the app session."""
    settings = request.app[SETTINGS]
    tokens = await request.app[IDX_CLIENT].exchange_code(code, tx.verifier)
    try:
        claims = await validate_id_token(
            tokens["id_token"],
            request.app[KEY_SET],
            issuer=settings.issuer_url,
            client_id=settings.client_id,
            nonce=tx.nonce,
            acr_values=tx.acr_values,
            max_age=tx.max_age,
        )
    except InvalidIdToken as exc:
        log.warning("ID token rejected: %s", exc)
        audit(request, "signin.failed", user=tx.user, reason="id_token")
        return await render(request, "error.html", {"title_key": "error.id_token"}, status=400)
    session = await rotate(request)
    session["user"] = {k: claims.get(k) for k in ("sub", "name", "email", "preferred_username", "acr", "amr", "auth_time")}
    # Who this is: the issuer's subject, never the email (which can change or be reused): ASVS 10.5.2.
    session["user"]["iss"] = claims["iss"]
    session["user"]["account"] = account_key(claims)
    session["tokens"] = {
        "access_token": tokens.get("access_token"),
        "refresh_token": tokens.get("refresh_token"),
        "id_token": tokens["id_token"],
        "expires_at": time.time() + float(tokens.get("expires_in") or 0),
    }
    session["okta_session"] = tx.via_idp
    audit(request, "signin.succeeded", user=user_ref(request, claims.get("preferred_username")) or tx.user, account=user_ref(request, account_key(claims)))
    raise see_other(policy.safe_return_to(tx.return_to))


def account_key(claims: dict) -> str:
    """The signed-in account: (iss, sub), the only pair OIDC promises is stable and unique."""
    return json.dumps([claims["iss"], claims["sub"]])


async def callback(request: web.Request) -> web.Response:
    """The redirect URI: interaction codes and `interaction_required` after an identity
    provider, emailed magic links (`state` + `otp`), and errors. Nothing is exchanged
    unless `state` matches this browser's transaction."""
    settings = request.app[SETTINGS]
    session = await get_session(request)
    query = request.query
    tx = transaction.load(session, settings.transaction_minutes * 60)
    state_ok = tx is not None and same(query.get("state"), tx.state)
    if "interaction_code" in query:
        if not state_ok:
            audit(request, "signin.failed", reason="callback_state")
            return await render(request, "error.html", {"title_key": "error.callback_state"}, status=400)
        transaction.clear(session)  # a replayed callback finds nothing to exchange
        return await sign_in(request, tx, query["interaction_code"])
    if "otp" in query:
        return await magic_link(request, session, tx if state_ok else None, query["otp"])
    if query.get("error") == "interaction_required" and state_ok:
        return await advance(request, session, tx, await request.app[IDX_CLIENT].introspect(tx.interaction_handle))
    if "error" in query:
        audit(request, "signin.failed", user=tx.user if state_ok else None, reason=query.get("error"))
        return await render(
            request,
            "error.html",
            {"title_key": "error.callback", "error_code": query.get("error"), "error_description": query.get("error_description")},
            status=400,
        )
    return await render(request, "error.html", {"title_key": "error.callback_state"}, status=400)


async def magic_link(request: web.Request, session: Session, tx: Transaction | None, otp: str) -> web.Response:
    """An emailed link: in the browser that started the sign-in, submit its code and go on;
    anywhere else, show the code to type in the original tab and sign nobody in here."""
    response = parse(tx.response) if tx is not None and tx.response is not None else None
    form = flow.passcode_form(response) if response is not None else None
    if form is None:
        return await render(request, "magic-link.html", {"otp": otp})
    body = request_body(response, form, {"credentials.passcode": [otp]})
    return await advance(request, session, tx, await request.app[IDX_CLIENT].proceed(form.href, body))


REFRESH_MARGIN_SECONDS = 60


async def current_tokens(request: web.Request, session: Session) -> dict | None:
    """The signed-in user's tokens, refreshed first when the access token is about to expire.
    None when the refresh token was refused (revoked, expired): the app session is over."""
    tokens = session.get("tokens") or {}
    if not tokens.get("refresh_token") or tokens.get("expires_at", 0) - time.time() > REFRESH_MARGIN_SECONDS:
        return tokens
    try:
        fresh = await request.app[IDX_CLIENT].refresh(tokens["refresh_token"])
    except OAuthError as exc:
        log.info("refresh token refused: %r", exc.error)
        return None
    except UpstreamError as exc:  # the access token may still be good: try again on the next page
        log.warning("token refresh failed: %s", exc.reason)
        return tokens
    # The ID token from sign-in stays: its nonce was checked, and it is the hint for /v1/logout.
    tokens = {
        **tokens,
        "access_token": fresh["access_token"],
        "refresh_token": fresh.get("refresh_token") or tokens["refresh_token"],
        "expires_at": time.time() + float(fresh.get("expires_in") or 0),
    }
    session["tokens"] = tokens
    return tokens


async def end_app_session(request: web.Request, notice: str | None = None, location: str = "/") -> web.Response:
    """Forget this browser's session; a notice, if any, travels in a fresh one."""
    session = await rotate(request)
    response = see_other(location)
    if notice:
        flash(session, notice)
    else:
        response.headers["Clear-Site-Data"] = '"cookies"'
    raise response


async def logout(request: web.Request) -> web.Response:
    """Revoke the refresh then the access token and end the app session; a browser that went
    through an identity provider also has an Okta session, ended at Okta's /v1/logout."""
    settings = request.app[SETTINGS]
    session = await get_session(request)
    tokens = session.get("tokens") or {}
    client = request.app[IDX_CLIENT]
    audit(request, "signout", user=user_ref(request, (session.get("user") or {}).get("preferred_username")))
    for hint in ("refresh_token", "access_token"):
        if tokens.get(hint):
            try:
                await client.revoke(tokens[hint], hint)
            except (UpstreamError, OAuthError) as exc:
                log.warning("revoking the %s failed: %s", hint, type(exc).__name__)
    location = "/"
    if session.get("okta_session") and tokens.get("id_token"):
        try:
            end_session = await client.end_session_url()
        except UpstreamError:
            end_session = None
        if end_session:
            query = urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": settings.app_origin + "/"})
            location = f"{end_session}?{query}"
    return await end_app_session(request, location=location)


def setup_routes(app: web.Application) -> None:
    callback_path = app[SETTINGS].callback_path
    app.router.add_get("/", home, name="home")
    app.router.add_get("/profile", profile, name="profile")
    app.router.add_get("/login", login, name="login")
    app.router.add_get("/register", register, name="register")
    app.router.add_get("/recover", recover, name="recover")
    app.router.add_get("/unlock", unlock, name="unlock")
    app.router.add_get("/activate", activate, name="activate")
    app.router.add_get("/reset-password", reset_password, name="reset_password")
    app.router.add_get(STEP_PATH, show_step, name="step")
    app.router.add_post(STEP_PATH, submit_step)
    app.router.add_get("/login/poll", poll, name="poll")
    app.router.add_get(callback_path, callback, name="callback")
    app.router.add_post("/logout", logout, name="logout")
