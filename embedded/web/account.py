"""The signed-in account: the token exchange that starts it, its tokens, and sign-out."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp_session import Session

from .. import policy
from ..idx_client import OAuthError, UpstreamError
from ..keys import IDX_CLIENT, KEY_SET, SETTINGS, config
from ..oidc import InvalidIdToken, validate_id_token
from ..transaction import Transaction
from .context import audit, user_ref
from .respond import flash, render, see_other, urls
from .session import get_session, rotate

log = logging.getLogger("embedded")

# The claims kept at the top of the session's user record (the rest stay under "claims").
USER_CLAIMS = ("sub", "name", "email", "preferred_username", "acr", "amr", "auth_time")
REFRESH_MARGIN_SECONDS = 60


async def sign_in(request: web.Request, tx: Transaction, code: str) -> web.Response:
    """Exchange the code (an interaction code, or an authorization code after the hosted sign-in
    page), check the ID token, and start the app session in a fresh session id."""
    client = config(request)[IDX_CLIENT]
    tokens = await (
        client.exchange_authorization_code(code, tx.verifier) if tx.hosted else client.exchange_code(code, tx.verifier)
    )
    return await sign_in_with_tokens(request, tx, tokens, nonce=tx.nonce)


async def sign_in_with_tokens(
    request: web.Request,
    tx: Transaction,
    tokens: Mapping[str, Any],
    *,
    nonce: str | None,
    binding: Callable[[dict[str, Any]], str | None] | None = None,
) -> web.Response:
    """The one way tokens become an app session, whatever grant brought them: the ID token
    checked (its `nonce`, or None for a grant that sends none, and `binding`'s further checks,
    which say why a token is not this sign-in's), then the session started in a fresh id."""
    settings = config(request)[SETTINGS]
    try:
        claims = await validate_id_token(
            tokens["id_token"],
            config(request)[KEY_SET],
            issuer=settings.issuer_url,
            client_id=settings.client_id,
            nonce=nonce,
            acr_values=tx.acr_values,
            max_age=tx.max_age,
        )
        if binding is not None and (problem := binding(claims)) is not None:
            raise InvalidIdToken(problem)
    except InvalidIdToken as exc:
        log.warning("ID token rejected: %s", exc)
        audit(request, "signin.failed", user=tx.user, reason="id_token")
        return await render(request, "error.html", {"title_key": "error.id_token"}, status=400)
    session = await rotate(request)
    session["user"] = {
        **{k: claims.get(k) for k in USER_CLAIMS},
        # Who this is: the issuer's subject, never the email (which can change or be reused): ASVS 10.5.2.
        "iss": claims["iss"],
        "account": account_key(claims),
        "claims": claims,
    }
    session["tokens"] = {
        "access_token": tokens.get("access_token"),
        "refresh_token": tokens.get("refresh_token"),
        "id_token": tokens["id_token"],
        "expires_at": time.time() + float(tokens.get("expires_in") or 0),
    }
    # After an identity provider or the hosted page the browser also holds an Okta session.
    session["okta_session"] = tx.via_idp or tx.hosted
    audit(
        request,
        "signin.succeeded",
        user=user_ref(request, claims.get("preferred_username")) or tx.user,
        account=user_ref(request, account_key(claims)),
    )
    return see_other(policy.safe_return_to(tx.return_to or urls(request).home))


def account_key(claims: dict[str, Any]) -> str:
    """The signed-in account: (iss, sub), the only pair OIDC promises is stable and unique."""
    return json.dumps([claims["iss"], claims["sub"]])


async def current_tokens(request: web.Request, session: Session) -> dict[str, Any] | None:
    """The signed-in user's tokens, refreshed first when the access token is about to expire.
    None when the refresh token was refused (revoked, expired): the app session is over."""
    tokens: dict[str, Any] = session.get("tokens") or {}
    if not tokens.get("refresh_token") or tokens.get("expires_at", 0) - time.time() > REFRESH_MARGIN_SECONDS:
        return tokens
    try:
        fresh = await config(request)[IDX_CLIENT].refresh(tokens["refresh_token"])
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


async def end_app_session(request: web.Request, notice: str | None = None) -> web.Response:
    """Forget this browser's session and go home; a notice, if any, travels in a fresh one."""
    session = await rotate(request)
    response = see_other(urls(request).home)
    if notice:
        flash(session, notice)
    else:
        response.headers["Clear-Site-Data"] = '"cookies"'
    return response


async def confirm_logout(request: web.Request) -> web.Response:
    """A page with the sign-out button, for hosts that link to sign-out rather than post to it."""
    session = await get_session(request)
    if not session.get("user"):
        return see_other(urls(request).home)
    return await render(request, "signout.html")


async def logout(request: web.Request) -> web.Response:
    """Revoke the refresh then the access token and end the app session; a browser that went
    through an identity provider also has an Okta session, ended at Okta's /v1/logout."""
    settings = config(request)[SETTINGS]
    session = await get_session(request)
    tokens = session.get("tokens") or {}
    client = config(request)[IDX_CLIENT]
    audit(request, "signout", user=user_ref(request, (session.get("user") or {}).get("preferred_username")))
    for hint in ("refresh_token", "access_token"):
        if tokens.get(hint):
            try:
                await client.revoke(tokens[hint], hint)
            except (UpstreamError, OAuthError) as exc:
                log.warning("revoking the %s failed: %s", hint, type(exc).__name__)
    if session.get("okta_session") and tokens.get("id_token"):
        try:
            end_session = await client.end_session_url()
        except UpstreamError:
            end_session = None
        if end_session:
            # The org's session lives in its cookie in this browser, so the browser must take the
            # ID token there. It goes in a POST body (OIDC RP-Initiated Logout allows both),
            # never in a URL or a Location header that browsers, proxies and logs keep.
            await rotate(request)
            return await render(
                request,
                "signout-continue.html",
                {
                    "end_session": end_session,
                    "id_token_hint": tokens["id_token"],
                    "post_logout_redirect_uri": settings.app_origin + urls(request).home,
                },
            )
    return await end_app_session(request)
