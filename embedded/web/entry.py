"""Where a sign-in starts: /login (and its step-up and return_to), the journeys' own entry
routes, the links in activation and reset emails, and the hosted sign-in page (redirect model).
The direct mode's own entry (web/direct.py) reads /login's query with `asked_step_up` too."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiohttp import web

from .. import flow, idx_client, policy, transaction
from ..idx_client import OAuthError, UpstreamError
from ..idx_models import NotAnIdxResponse, parse
from ..keys import IDX_CLIENT, SETTINGS, config
from ..oidc import s256
from ..transaction import Transaction
from .context import audit, request_context, user_ref
from .respond import csrf_token, flash, page_language, render, see_other
from .session import get_session, open_step
from .steps import ECHO, advance, current_transaction, request_body, too_many

log = logging.getLogger("embedded")

STEP_UP_ACR = re.compile(r"[A-Za-z0-9:._-]{1,100}( [A-Za-z0-9:._-]{1,100}){0,4}")


async def login(request: web.Request) -> web.Response:
    """Sign in; `?acr_values=…&max_age=…` asks for a stronger or fresher sign-in (step-up), and
    `?return_to=/a/path` is where to go afterwards (a path on this site, else home)."""
    asked = await asked_step_up(request)
    if isinstance(asked, web.Response):
        return asked
    step_up, return_to = asked
    if config(request)[SETTINGS].mode == "redirect":
        return await begin_hosted(request, return_to, step_up)
    return await begin(request, step_up=step_up, return_to=return_to)


async def asked_step_up(request: web.Request) -> tuple[StepUp, str] | web.Response:
    """What /login's query asks (the step-up, where to go after), or the page refusing it."""
    acr_values, max_age = request.query.get("acr_values"), request.query.get("max_age")
    if (acr_values is not None and not STEP_UP_ACR.fullmatch(acr_values)) or (
        max_age is not None and not (max_age.isdigit() and len(max_age) < 10)
    ):
        return await render(request, "error.html", {"title_key": "error.step_up"}, status=400)
    return StepUp(acr_values, int(max_age) if max_age else None), policy.safe_return_to(request.query.get("return_to"))


async def register(request: web.Request) -> web.Response:
    return await begin(request, "register")


async def recover(request: web.Request) -> web.Response:
    return await begin(request, "recover")


async def unlock(request: web.Request) -> web.Response:
    return await begin(request, "unlock")


async def activate(request: web.Request) -> web.Response:
    """The link in an activation email: a fresh transaction for the user the token names."""
    return await begin_from_link(
        request, "activation_token", request.query.get("token") or request.query.get("activation_token")
    )


async def reset_password(request: web.Request) -> web.Response:
    """The link in a password-reset email: a fresh recovery transaction for the token's user."""
    return await begin_from_link(
        request, "recovery_token", request.query.get("token") or request.query.get("recovery_token")
    )


async def begin_from_link(request: web.Request, kind: str, token: str | None) -> web.Response:
    if not token or len(token) > 512:
        return await render(request, "error.html", {"title_key": "error.link"}, status=400)
    try:
        return await begin(request, link_token=(kind, token))
    except OAuthError as exc:  # invalid, expired or already used: Okta answers 400 invalid_request
        log.info("email link refused: %r", exc.error)
        return await render(
            request, "error.html", {"title_key": "error.link", "error_description": exc.description}, status=400
        )


@dataclass(frozen=True)
class StepUp:
    """A stronger or fresher sign-in asked for; the ID token must show it happened."""

    acr_values: str | None = None
    max_age: int | None = None


async def begin(
    request: web.Request,
    journey: str | None = None,
    *,
    step_up: StepUp = StepUp(),
    return_to: str = "/",
    link_token: tuple[str, str] | None = None,
) -> web.Response:
    """Start a transaction (interact + introspect); for a journey route, take its first step
    at once so the person lands on the page they asked for. `return_to` is captured now, in
    the server-side transaction, and followed after sign-in. `link_token` is an emailed link's
    (activation_token | recovery_token, value)."""
    if wait := await start_limited(request):
        return await too_many(request, wait)
    client = config(request)[IDX_CLIENT]
    session = await get_session(request)  # read with the limit, by start_limited
    transaction.clear(session)  # a new transaction starts with no codes counted against it
    csrf_token(session)  # made with the session, so showing its first page writes nothing
    # /login?lang=xx: remembered now, before the redirect to the step; the Identity Engine answers in it too.
    idx_client.LANGUAGE.set(page_language(request, session))
    verifier, state, nonce = transaction.new_secrets()
    tokens = dict([link_token]) if link_token else {}
    handle = await client.interact(
        code_challenge=s256(verifier),
        state=state,
        nonce=nonce,
        context=request_context(request),
        acr_values=step_up.acr_values,
        max_age=step_up.max_age,
        activation_token=tokens.get("activation_token"),
        recovery_token=tokens.get("recovery_token"),
    )
    tx = Transaction(
        interaction_handle=handle,
        verifier=verifier,
        state=state,
        nonce=nonce,
        return_to=return_to,
        acr_values=step_up.acr_values,
        max_age=step_up.max_age,
    )
    reply = await client.introspect(handle)
    signed_in_as = (session.get("user") or {}).get("preferred_username")
    if isinstance(signed_in_as, str) and (step_up.acr_values or step_up.max_age):
        # A step-up: say why they sign in again, and who as (the username is filled in for them).
        flash(session, "notice.step_up")
        session[ECHO] = {"identifier": signed_in_as}
    audit(
        request,
        "signin.started",
        user=user_ref(request, signed_in_as),
        journey=journey or ("email link" if link_token else "sign-in"),
    )
    if journey is not None:
        try:
            response = parse(reply.body)
        except NotAnIdxResponse:
            raise UpstreamError("not an IDX response", status=reply.status) from None
        form = flow.journey_start(response, journey)
        if form is not None:
            reply = await client.proceed(form.href, request_body(response, form, {}))
        elif journey == "recover" and flow.identify_first(response):
            tx.journey = journey  # begun as soon as the person is identified
        else:
            flash(session, f"notice.no_{journey}")
    return await advance(request, session, tx, reply)


async def start_limited(request: web.Request) -> float:
    """Seconds before this client address may start another sign-in (each costs upstream calls
    and a session); 0 to go ahead. Counted as the session is read, in one store call."""
    return (await open_step(request, "login", claim=False)).wait


async def hosted(request: web.Request) -> web.Response:
    """ "Continue on the sign-in page": leave a step this server cannot perform (an authenticator
    bound to this device, Apple's SSO extension) for the org's own page, keeping where the
    person was going and the strength they were asked for."""
    _, tx = await current_transaction(request)
    if tx is None:
        return await begin_hosted(request, "/", StepUp())
    return await begin_hosted(request, tx.return_to, StepUp(tx.acr_values, tx.max_age))


async def begin_hosted(request: web.Request, return_to: str, step_up: StepUp) -> web.Response:
    """The redirect model: the org's /v1/authorize with PKCE, state and nonce; the code comes
    back to the same callback. The transaction replaces any embedded one in progress."""
    if wait := await start_limited(request):
        return await too_many(request, wait)
    session = await get_session(request)
    transaction.clear(session)
    verifier, state, nonce = transaction.new_secrets()
    url = await config(request)[IDX_CLIENT].authorize_url(
        code_challenge=s256(verifier), state=state, nonce=nonce, acr_values=step_up.acr_values, max_age=step_up.max_age
    )
    tx = Transaction(
        interaction_handle="",
        verifier=verifier,
        state=state,
        nonce=nonce,
        return_to=return_to,
        hosted=True,
        acr_values=step_up.acr_values,
        max_age=step_up.max_age,
    )
    transaction.save(session, tx)
    audit(request, "signin.started", journey="hosted")
    return see_other(url)
