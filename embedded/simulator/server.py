"""HTTP face of the simulator: the IDX endpoints, the identity providers' pages, the outbox, fault
injection and test controls, the fake Duo and Okta Verify on this computer; `build_app` routes them
and the OAuth endpoints (oauth.py)."""

from __future__ import annotations

import codecs
import copy
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from . import captcha, cors, direct, duo, frames, hosted, oauth, pages, translations
from . import faults as faults_mod
from .compare import same
from .context import SIMULATOR, Simulator, ion_response, oauth_error, sim
from .org import Org, User, demo_org, describe_org
from .transaction import Transaction

log = logging.getLogger("embedded.simulator")

IDX_ENDPOINTS = [
    "introspect",
    "identify",
    "identify/select",
    "challenge",
    "challenge/answer",
    "challenge/poll",
    "challenge/resend",
    "challenge/send",
    "credential/enroll",
    "enroll",
    "enroll/new",
    "enroll/update",
    "recover",
    "skip",
    "cancel",
    "unlock-account",
    "authenticators/poll",
    "authenticators/poll/cancel",
    "challenge/answer/webauthn-autofillui",
    "consent",
    "keep-me-signed-in",
    "request-activation",
]


def is_idx(path: str) -> bool:
    return path.startswith("/idp/idx/")


@web.middleware
async def record(request: web.Request, handler):
    """The call log (/_sim/calls), CORS preflights included."""
    sim(request).calls.append((request.method, request.path))
    return await handler(request)


def unreadable_body(request: web.Request, s: Simulator) -> web.Response:
    """A body that is not text in the charset it names: the client's error, never a 500."""
    if is_idx(request.path):
        return ion_response(s.engine.error_document("malformed"), 400)
    return oauth_error(400, "invalid_request", "The request body is not text in the charset it names.")


def known_charset(name: str | None) -> bool:
    try:
        return name is None or bool(codecs.lookup(name))
    except LookupError:
        return False


@web.middleware
async def faults_and_errors(request: web.Request, handler):
    """Apply injected faults, and turn unexpected exceptions into proper error bodies (Ion on IDX
    endpoints, OAuth JSON elsewhere) instead of a bare 500; a body that cannot be read as text is
    a 400."""
    s = sim(request)
    injected = await faults_mod.apply(s.faults, request)
    if injected is not None:
        return injected
    if not known_charset(request.charset):
        return unreadable_body(request, s)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except UnicodeDecodeError:  # a form's bytes read as text (aiohttp decodes them strictly)
        return unreadable_body(request, s)
    except Exception:
        log.exception("simulator error on %s %s", request.method, request.path)
        if is_idx(request.path):
            return ion_response(s.engine.error_document("server_error"), 500)
        return oauth_error(500, "server_error", "The server encountered an internal error.")


# ------------------------------------------------------------------------ IDX endpoints
def idx_handler(endpoint: str):
    async def handle(request: web.Request) -> web.Response:
        s = sim(request)
        if "json" not in request.content_type:
            return faults_mod.api_error(
                415, "E0000021", "Bad request. Accept and/or Content-Type headers likely do not match supported values."
            )
        try:
            body = await request.json() if request.can_read_body else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return ion_response(s.engine.error_document("malformed"), 400)
        handle = body.get("stateHandle")
        if endpoint == "introspect":
            handle = body.get("interactionHandle") or body.get("stateToken") or handle
        if not isinstance(handle, str) or not handle:
            return ion_response(s.engine.error_document("bad_request"), 400)
        tx = s.engine.find(handle)
        if tx is None or tx.expired:
            return ion_response(s.engine.error_document("session_expired"), 401)
        if s.rate_limited(tx.state_handle):
            response = ion_response(s.engine.error_document("too_many"), 429)
            response.headers.update(
                {
                    "Retry-After": str(int(s.org.rate_limit_seconds)),
                    "X-Rate-Limit-Limit": str(s.org.rate_limit_requests),
                    "X-Rate-Limit-Remaining": "0",
                }
            )
            return response
        status, doc = s.submissions.submit(endpoint, tx, body, s.origin_for(request))
        return ion_response(translations.translate(doc, request.headers.get("Accept-Language")), status)

    return handle


# ------------------------------------------------------------------------ identity provider (browser)
def back_to_app(tx: Transaction, **params: str) -> web.HTTPFound:
    """The redirect to the transaction's redirect URI with `params` and its state. A sign-in on the
    simulator's own pages (/v1/authorize) goes back to those pages instead, which carry on (or
    send the authorization code)."""
    if tx.hosted_origin is not None:
        return web.HTTPFound(f"{tx.hosted_origin}{hosted.PAGE}")
    sep = "&" if "?" in tx.redirect_uri else "?"
    return web.HTTPFound(tx.redirect_uri + sep + urlencode({**params, "state": tx.state or ""}))


def finished(tx: Transaction) -> web.HTTPFound:
    """Back to the app after an identity provider: the code when policy is met, else more to do."""
    if tx.step == "success":
        return back_to_app(tx, interaction_code=tx.interaction_code or "")
    return back_to_app(tx, error="interaction_required")


async def idp_page(request: web.Request) -> web.Response:
    s = sim(request)
    idp = s.org.idp(request.match_info["idp_id"])
    tx = s.engine.find(request.query.get("stateToken"))
    if idp is None:
        return pages.html(
            pages.message_page("Unknown identity provider", "No such identity provider in this org."), 404
        )
    if tx is None or tx.expired:
        return pages.html(
            pages.message_page(
                "Session expired", "You have been logged out due to inactivity. Return to the app and start again."
            ),
            401,
        )
    if idp.type == "X509":
        return await smart_card_page(request, s, idp, tx)
    if idp.authenticator:
        return await idp_factor_page(request, s, idp, tx)
    if request.method == "GET":
        return pages.html(pages.idp_consent(idp, tx.state_handle, s.org.users))
    form = await request.post()
    if form.get("action") != "continue":
        raise back_to_app(tx, error="access_denied", error_description="User canceled the social sign-in request.")
    email = str(form.get("email", "")).strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        return pages.html(pages.idp_consent(idp, tx.state_handle, s.org.users, error="Enter an email address."), 400)
    user = s.org.user(email) or s.org.add_user(
        User(login=email, first_name=email.split("@")[0].title(), profile={"email": email})
    )
    if user.status in ("locked_out", "staged"):
        raise back_to_app(tx, error="access_denied", error_description="User is not allowed to sign in.")
    s.engine.idp_login(tx, user, idp.id)
    tx.touch()
    raise finished(tx)


def factor_in_play(tx, key: str) -> bool:
    return tx.user is not None and tx.challenge is not None and tx.challenge.key == key and tx.step == "redirect-idp"


async def idp_factor_page(request: web.Request, s: Simulator, idp, tx) -> web.Response:
    """An identity provider used as a factor (external_idp): it vouches for the user the
    transaction already identified, so there is nobody to pick, only Continue or Cancel."""
    if not factor_in_play(tx, idp.authenticator):
        return pages.html(
            pages.message_page(
                f"Sign in with {idp.name}", "This sign-in is not waiting for this identity provider. Return to the app."
            ),
            400,
        )
    if request.method == "GET":
        return pages.html(pages.idp_factor(idp, tx.state_handle, tx.user))
    form = await request.post()
    if form.get("action") != "continue":
        raise back_to_app(
            tx, error="access_denied", error_description="User canceled the sign-in request at the identity provider."
        )
    s.engine.federated_verified(tx)
    tx.touch()
    raise finished(tx)


async def smart_card_page(request: web.Request, s: Simulator, idp, tx) -> web.Response:
    """A smart card reader (type X509): verifying the identified user's card as a factor, or, from
    the first page, identifying whoever's card is picked."""
    as_factor = factor_in_play(tx, "smart_card_idp") and idp.authenticator == "smart_card_idp"
    from_identify = tx.step == "identify" and idp.on_identify and tx.flow == "login"
    if not (as_factor or from_identify):
        return pages.html(
            pages.message_page(
                "Insert your smart card", "This sign-in is not waiting for a smart card. Return to the app."
            ),
            400,
        )
    holders = [tx.user] if as_factor else s.org.users
    cards = [(u, e) for u in holders for e in u.enrollments_of("smart_card_idp")]
    if request.method == "GET":
        return pages.html(pages.smart_card(idp, tx.state_handle, cards))
    form = await request.post()
    if form.get("action") != "continue":
        raise back_to_app(tx, error="access_denied", error_description="User canceled the smart card sign-in request.")
    chosen = next(((u, e) for u, e in cards if e.id == form.get("certificate")), None)
    if chosen is None:
        return pages.html(pages.smart_card(idp, tx.state_handle, cards, error="Choose a certificate."), 400)
    user = chosen[0]
    if as_factor:
        s.engine.federated_verified(tx)
    else:
        if user.status in ("locked_out", "staged"):
            raise back_to_app(tx, error="access_denied", error_description="User is not allowed to sign in.")
        s.engine.smart_card_login(tx, user)
    tx.touch()
    raise finished(tx)


# ------------------------------------------------------------------------ outbox
async def outbox_page(request: web.Request) -> web.Response:
    s = sim(request)
    return pages.html(pages.outbox(s.outbox.newest_first(), s.org.users, s.app_url, s.org.activation_token_days))


async def outbox_json(request: web.Request) -> web.Response:
    to = request.query.get("to")
    return web.json_response([m.as_json() for m in sim(request).outbox.newest_first(to)])


async def push_decision(request: web.Request) -> web.Response:
    s = sim(request)
    push = s.outbox.find(request.match_info["push_id"])
    if push is None or push.kind != "push":
        return web.json_response({"error": "not_found"}, status=404)
    if push.status != "pending":
        return web.json_response({"error": "already_answered", "status": push.status}, status=409)
    fields = await read_fields(request)
    if fields is None:
        return unsupported_body()
    body, is_form = fields
    answer = body.get("answer")
    if answer is not None and not isinstance(answer, str):
        return web.json_response({"error": "invalid_answer", "error_description": "answer is text"}, status=400)
    approve = request.match_info["decision"] == "approve"
    if approve and push.correct_answer is not None and not (answer or "").strip():
        # A number challenge is approved only by picking its number: no number, nothing decided.
        return web.json_response(
            {"error": "answer_required", "error_description": "pick the number the sign-in page shows"}, status=400
        )
    # Picking the wrong number is a denial, as in Okta Verify. Without a number challenge, an
    # empty answer is no answer (the outbox form always sends the field).
    picked_right = same(answer or "", push.correct_answer or "")
    push.status = "approved" if approve and picked_right else "denied"
    if is_form:
        raise web.HTTPSeeOther("/outbox")
    return web.json_response({"id": push.id, "status": push.status})


async def activate_device(request: web.Request) -> web.Response:
    """The simulated phone: it read the Okta Verify activation (QR code or link) and activates, so
    the transaction's `enroll-poll` completes. Optional body field `device_name`."""
    s = sim(request)
    activation = s.outbox.find(request.match_info["activation_id"])
    if activation is None or activation.kind != "activation":
        return web.json_response({"error": "not_found"}, status=404)
    if activation.status != "pending":
        return web.json_response({"error": "already_activated", "status": activation.status}, status=409)
    form = request.content_type == "application/x-www-form-urlencoded"
    body: Mapping[str, Any] = {}
    if form:
        body = await request.post()
    elif request.can_read_body and "json" in request.content_type:
        try:
            parsed = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            parsed = None
        body = parsed if isinstance(parsed, dict) else {}
    name = str(body.get("device_name") or "").strip()
    activation.device_name, activation.status = name[:64] or "Simulated device", "activated"
    if form:
        raise web.HTTPSeeOther("/outbox")
    return web.json_response(
        {
            "id": activation.id,
            "status": activation.status,
            "device_name": activation.device_name,
            "secret": activation.secret,
        }
    )


# ------------------------------------------------------------------------ test controls
async def sim_faults(request: web.Request) -> web.Response:
    s = sim(request)
    if request.method == "DELETE":
        s.faults = faults_mod.Faults()
    elif request.method == "POST":
        if request.content_type != "application/json":
            return web.json_response({"error": "send the faults as application/json"}, status=415)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            s.faults = faults_mod.Faults.from_json(body)
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            return web.json_response({"error": str(e)}, status=400)
    return web.json_response(s.faults.as_json())


async def sim_expire(request: web.Request) -> web.Response:
    """Expire every transaction, one (`stateHandle` / `interactionHandle`), or a user's
    activation link (`activation_login`: the activation email sent to that user)."""
    s = sim(request)
    fields = await read_fields(request)
    if fields is None:
        return unsupported_body()
    body, _ = fields
    for name in ("activation_login", "stateHandle", "interactionHandle"):
        if body.get(name) is not None and not isinstance(body[name], str):
            return web.json_response({"error": f"{name} must be a string"}, status=400)
    if body.get("activation_login"):
        user = s.org.user(str(body["activation_login"]))
        if user is None or not user.activation_token:
            return web.json_response({"error": "no activation link for that user"}, status=404)
        user.activation_expires_at = time.time() - 1
        return web.json_response({"expired": "activation", "login": user.login})
    handle = body.get("stateHandle") or body.get("interactionHandle")
    if not handle:
        s.expire_all()
        return web.json_response({"expired": "all"})
    tx = s.engine.find(handle)
    if tx is None:
        return web.json_response({"error": "unknown handle"}, status=404)
    s.engine.expire(tx)
    return web.json_response({"expired": tx.state_handle})


async def sim_sessions(request: web.Request) -> web.Response:
    """Each completed sign-in, newest last: who, client, amr, acr, idp, auth_time, max_age, the
    "Stay signed in?" answer (null when not asked) and the scopes granted."""
    s = sim(request)
    if request.method == "DELETE":
        s.engine.sessions.clear()
    return web.json_response(s.engine.sessions)


async def sim_calls(request: web.Request) -> web.Response:
    s = sim(request)
    if request.method == "DELETE":
        s.calls.clear()
    return web.json_response([list(c) for c in s.calls])


async def read_fields(request: web.Request) -> tuple[dict, bool] | None:
    """Body fields of a control request, form-urlencoded or JSON (True when it was a form), or
    None for any other body (a `text/plain` one is what a page can send anywhere without asking)."""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(await request.post()), True
    if not request.can_read_body:
        return {}, False
    if request.content_type != "application/json":
        return None
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return (body if isinstance(body, dict) else {}), False


def unsupported_body() -> web.Response:
    return web.json_response({"error": "send a form or application/json"}, status=415)


async def admin_email(request: web.Request) -> web.Response:
    """An administrator sends an activation or a password-reset email: a fresh single-use token is
    stored on the user and the email (in the outbox) links to `{app_url}/activate?token=…` or
    `{app_url}/reset-password?token=…`; the app then calls /v1/interact with activation_token /
    recovery_token. Fields `login`, optional `app_url`, and for activation `expires_in` (seconds the
    link works; default the org's activation_token_days, 0 = already expired). Answers {"link",
    "token"} (a form posted from the outbox page with return=outbox goes back there)."""
    s = sim(request)
    what = request.match_info["what"]
    fields = await read_fields(request)
    if fields is None:
        return unsupported_body()
    body, is_form = fields
    login = str(body.get("login") or "").strip()
    user = s.org.user(login)
    if user is None:
        return web.json_response(
            {"error": "not_found", "error_description": f"No user {login!r} in this org."}, status=404
        )
    app_url = str(body.get("app_url") or "").strip().rstrip("/") or s.app_url
    parts = urlsplit(app_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        return web.json_response(
            {"error": "invalid_request", "error_description": "app_url must be an http(s) origin."}, status=400
        )
    if what == "activation-email" and user.status != "staged":
        return web.json_response(
            {
                "error": "invalid_request",
                "error_description": f"{user.login} is {user.status}; only staged users are activated.",
            },
            status=409,
        )
    if what == "reset-email" and user.status == "staged":
        return web.json_response(
            {
                "error": "invalid_request",
                "error_description": f"{user.login} is not activated yet; send an activation email.",
            },
            status=409,
        )
    expires_in = None
    if what == "activation-email" and body.get("expires_in") is not None and str(body["expires_in"]).strip():
        try:
            expires_in = float(body["expires_in"])
        except (TypeError, ValueError):
            expires_in = -1
        if not 0 <= expires_in <= 10 * 365 * 86400:
            return web.json_response(
                {"error": "invalid_request", "error_description": "expires_in must be seconds, 0 or more."}, status=400
            )
    link, token = s.engine.send_token_email(user, what, app_url, expires_in)
    if is_form and body.get("return") == "outbox":
        raise web.HTTPSeeOther("/outbox")
    return web.json_response({"link": link, "token": token})


# ------------------------------------------------------------------------ fake Duo (Duo Web v2 iframe)
async def duo_frame(request: web.Request) -> web.Response:
    """The Duo prompt a client page frames: `tx` is the TX half of the signedToken, `parent` the
    framing page's URL. Approve answers the parent window with postMessage(AUTH…, parent origin);
    Deny only says so."""
    keys = sim(request).engine.duo
    nonce = secrets.token_urlsafe(16)

    def frame(html: str, status: int = 200) -> web.Response:
        return web.Response(text=html, status=status, content_type="text/html", headers=frames.frame_headers(nonce))

    tx = request.query.get("tx", "")
    try:
        username = duo.read(keys.skey, "TX", tx)
    except duo.DuoError as e:
        text = (
            "This sign-in request has expired. Start again."
            if str(e) == "timeout"
            else "This is not a valid Duo request."
        )
        return frame(duo.frame_page(nonce, f"<p>{text}</p>"), 400)
    parent = urlsplit(request.query.get("parent", ""))
    if parent.scheme not in ("http", "https") or not parent.netloc:
        return frame(duo.frame_page(nonce, "<p>The page asking for Duo did not say who it is (parent).</p>"), 400)
    if request.method == "GET":
        return frame(duo.prompt(nonce, username, request.path_qs))
    form = await request.post()
    if form.get("decision") == "approve":
        return frame(duo.approved(nonce, duo.approve(keys, tx), f"{parent.scheme}://{parent.netloc}"))
    return frame(duo.denied(nonce))


async def duo_parent_script(request: web.Request) -> web.Response:
    return web.Response(
        text=duo.PARENT_SCRIPT,
        content_type="application/javascript",
        headers={"Cache-Control": "max-age=3600", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


# ------------------------------------------------------------------------ fake CAPTCHA provider
async def captcha_script(request: web.Request) -> web.Response:
    """The provider's script (hCaptcha's or reCAPTCHA's API shape); `onload` names the page's
    function to call once it is ready, as with the real ones."""
    return web.Response(
        text=captcha.script(request.match_info["provider"], request.query.get("onload")),
        content_type="application/javascript",
        headers={"Cache-Control": "no-store", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


async def captcha_frame(request: web.Request) -> web.Response:
    """The check a page frames: "I am human" issues a token for the site key and posts it to the
    framing page's origin (`parent`)."""
    nonce = secrets.token_urlsafe(16)

    def frame(html: str, status: int = 200) -> web.Response:
        return web.Response(text=html, status=status, content_type="text/html", headers=frames.frame_headers(nonce))

    site_key = request.query.get("sitekey", "")
    parent = urlsplit(request.query.get("parent", ""))
    setting = sim(request).org.captcha
    if setting is None or site_key != setting.site_key:
        return frame(captcha.frame_page(nonce, "<p>Unknown site key.</p>"), 400)
    if parent.scheme not in ("http", "https") or not parent.netloc:
        return frame(captcha.frame_page(nonce, "<p>The page asking did not say who it is (parent).</p>"), 400)
    if request.method == "GET":
        return frame(captcha.prompt(nonce, request.path_qs))
    token = sim(request).engine.captcha_tokens.issue(site_key)
    return frame(captcha.solved(nonce, token, f"{parent.scheme}://{parent.netloc}", request.query.get("widget", "0")))


# ------------------------------------------------------------------------ Okta Verify on this computer
# The simulator also plays Okta Verify installed on the computer running the browser: for FastPass
# the sign-in page probes `http://localhost:{port}/probe` on each port the challenge lists and posts
# the challengeRequest to `/challenge` on the first that answers. Only loopback pages may ask.
LOOPBACK_ORIGIN = re.compile(r"https?://(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?")


def device_cors(request: web.Request) -> dict | None:
    """CORS headers for a loopback page (none needed without Origin); None: refuse the origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return {}
    if not LOOPBACK_ORIGIN.fullmatch(origin):
        return None
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def device_refusal() -> web.Response:
    return web.json_response({"error": "origin_not_allowed"}, status=403, headers={"Vary": "Origin"})


async def device_preflight(request: web.Request) -> web.Response:
    headers = device_cors(request)
    method = request.headers.get("Access-Control-Request-Method", "")
    allowed = "GET" if request.path == "/probe" else "POST"
    if headers is None or method not in (allowed, ""):
        return device_refusal()
    headers.update(
        {
            "Access-Control-Allow-Methods": f"{allowed}, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Allow-Private-Network": "true",
            "Access-Control-Max-Age": "60",
        }
    )
    return web.Response(status=204, headers=headers)


async def device_probe(request: web.Request) -> web.Response:
    headers = device_cors(request)
    if headers is None:
        return device_refusal()
    return web.json_response({"app": "Okta Verify (simulated)"}, headers=headers)


async def device_challenge(request: web.Request) -> web.Response:
    headers = device_cors(request)
    if headers is None:
        return device_refusal()
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    token = body.get("challengeRequest") if isinstance(body, dict) else None
    outcome = sim(request).engine.answer_loopback(token) if isinstance(token, str) else "invalid"
    status = {"answered": 200, "invalid": 400, "stale": 410, "no_account": 404}[outcome]
    return web.json_response({"status": outcome}, status=status, headers=headers)


CUSTOM_PUSH_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" rx="10" '
    'fill="#4b2bb5"/><path d="M16 10h16a3 3 0 0 1 3 3v22a3 3 0 0 1-3 3H16a3 3 0 0 1-3-3V13a3 3 0 0 1 3-3z" '
    'fill="#fff"/><circle cx="24" cy="33" r="2" fill="#4b2bb5"/><path d="M18 17h12v10H18z" fill="#c9bdf2"/></svg>'
)


async def custom_push_logo(request: web.Request) -> web.Response:
    """The custom push authenticator's logo (`logoUri`)."""
    return web.Response(
        text=CUSTOM_PUSH_LOGO,
        content_type="image/svg+xml",
        headers={"Cache-Control": "max-age=86400", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


async def index(request: web.Request) -> web.Response:
    return pages.html(pages.index(describe_org(sim(request).org), sim(request).issuer_for(request)))


# ------------------------------------------------------------------------ app
def build_app(
    org: Org | None = None,
    *,
    issuer: str | None = None,
    app_url: str | None = None,
    redirect_uris: Iterable[str] = (),
) -> web.Application:
    org = copy.deepcopy(org) if org is not None else demo_org()
    for uri in redirect_uris:
        org.allow_redirect_uri(uri)
    base = urlsplit(issuer).path.rstrip("/") if issuer else "/oauth2/default"
    # Outermost first: every call is logged, the controls guarded, CORS answered (preflights
    # before any fault), then faults and error bodies.
    app = web.Application(middlewares=[record, cors.guard_controls, cors.cors, faults_and_errors])
    app[SIMULATOR] = Simulator(org, issuer, app_url, base=base)
    app[direct.DIRECT] = direct.DirectAuth(app[SIMULATOR])
    app.router.add_get(f"{base}/.well-known/openid-configuration", oauth.discovery)
    app.router.add_get(f"{base}/v1/keys", oauth.keys)
    app.router.add_post(f"{base}/v1/interact", oauth.interact)
    hosted.add_routes(app, base)
    app.router.add_post(f"{base}/v1/token", oauth.token)
    app.router.add_post(f"{base}/v1/challenge", oauth.challenge)
    for path in ("primary-authenticate", "oob-authenticate"):  # the second: its old name
        app.router.add_post(f"{base}/v1/{path}", oauth.primary_authenticate)
    app.router.add_post(f"{base}/v1/revoke", oauth.revoke)
    app.router.add_route("*", f"{base}/v1/userinfo", oauth.userinfo)
    app.router.add_get(f"{base}/v1/logout", oauth.logout)
    app.router.add_post(f"{base}/v1/logout", oauth.logout)
    for endpoint in IDX_ENDPOINTS:
        app.router.add_post(f"/idp/idx/{endpoint}", idx_handler(endpoint))
    app.router.add_get("/sso/idps/{idp_id}", idp_page)
    app.router.add_post("/sso/idps/{idp_id}", idp_page)
    app.router.add_get("/outbox", outbox_page)
    app.router.add_get("/outbox.json", outbox_json)
    app.router.add_post("/outbox/push/{push_id}/{decision:approve|deny}", push_decision)
    app.router.add_post("/outbox/enrollment/{activation_id}/activate", activate_device)
    app.router.add_route("*", "/_sim/faults", sim_faults)
    app.router.add_post("/_sim/expire", sim_expire)
    app.router.add_route("*", "/_sim/calls", sim_calls)
    app.router.add_route("*", "/_sim/sessions", sim_sessions)
    app.router.add_post("/_sim/admin/{what:activation-email|reset-email}", admin_email)
    app.router.add_get("/img/custom-push-logo.svg", custom_push_logo)
    app.router.add_route("OPTIONS", "/probe", device_preflight)
    app.router.add_get("/probe", device_probe)
    app.router.add_route("OPTIONS", "/challenge", device_preflight)
    app.router.add_post("/challenge", device_challenge)
    app.router.add_get("/frame/web/v1/auth", duo_frame)
    app.router.add_post("/frame/web/v1/auth", duo_frame)
    app.router.add_get("/frame/duo-web-v2.js", duo_parent_script)
    app.router.add_get("/captcha/{provider:hcaptcha|recaptcha}/api.js", captcha_script)
    app.router.add_get("/captcha/frame", captcha_frame)
    app.router.add_post("/captcha/frame", captcha_frame)
    app.router.add_get("/", index)
    return app
