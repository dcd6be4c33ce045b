"""The redirect URI: codes coming back from the org, emailed magic links, and errors."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import Session

from .. import flow, policy, transaction
from ..keys import IDX_CLIENT, SETTINGS, config
from ..oidc import same
from ..transaction import Transaction
from .account import sign_in
from .context import audit
from .respond import render
from .session import OPENED, open_step
from .steps import advance, answer, current_transaction, too_many


async def callback(request: web.Request) -> web.Response:
    """Interaction codes and `interaction_required` after an identity provider, authorization
    codes after the hosted sign-in page, emailed magic links (`state` + `otp`), and errors.
    Nothing is exchanged unless `state` matches this browser's transaction. Like a step, it is
    one at a time for the transaction (the session is claimed); an emailed link's code also
    counts against the address and transaction limits."""
    query = request.query
    await open_step(request, *(("ip", "tx") if "otp" in query else ()))
    session, tx = await current_transaction(request)
    state_ok = tx is not None and same(query.get("state"), tx.state)
    code = query.get("code") if tx is not None and tx.hosted else query.get("interaction_code")
    if "interaction_code" in query or "code" in query:
        if tx is None or not state_ok or code is None:
            audit(request, "signin.failed", reason="callback_state")
            return await render(request, "error.html", {"title_key": "error.callback_state"}, status=400)
        transaction.clear(session)  # a replayed callback finds nothing to exchange
        return await sign_in(request, tx, code)
    # The direct mode has no IDX transaction: it sends no email link of its own to answer, nor
    # waits on an identity provider (its transaction is only ever finished here by the hosted page).
    idx = config(request)[SETTINGS].mode != "direct"
    if "otp" in query:
        return await magic_link(request, session, tx if state_ok and idx else None, query["otp"])
    if query.get("error") == "interaction_required" and tx is not None and state_ok and not tx.hosted and idx:
        return await advance(request, session, tx, await config(request)[IDX_CLIENT].introspect(tx.interaction_handle))
    if "error" in query:
        error = policy.callback_error(query.get("error"))
        audit(
            request, "signin.failed", user=tx.user if tx is not None and state_ok else None, reason=f"callback_{error}"
        )
        return await render(request, "error.html", {"title_key": "error.callback", "error_code": error}, status=400)
    return await render(request, "error.html", {"title_key": "error.callback_state"}, status=400)


async def magic_link(request: web.Request, session: Session, tx: Transaction | None, otp: str) -> web.Response:
    """An emailed link: in the browser that started the sign-in, and only while it waits for the
    email code, submit the code like any answer (same limits, same wrong-code count); anywhere
    else, show the code to type in the original tab and sign nobody in here."""
    if not policy.OTP.fullmatch(otp):  # not a code at all: nothing of it is shown or sent
        return await render(request, "error.html", {"title_key": "error.link"}, status=400)
    if wait := request[OPENED].wait:
        return await too_many(request, wait)
    response = transaction.response(session) if tx is not None else None
    form = flow.email_code_form(response) if response is not None else None
    if tx is None or response is None or form is None:
        return await render(request, "magic-link.html", {"otp": otp})
    return await answer(request, session, tx, response, form, {"credentials.passcode": [otp]})
