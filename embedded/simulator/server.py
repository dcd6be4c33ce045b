"""HTTP face of the simulator: OAuth endpoints, IDX endpoints, the IdP consent page, the outbox,
fault injection and test controls."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import re
import secrets
import time
from collections import defaultdict, deque
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from . import duo
from . import faults as faults_mod
from . import pages
from .engine import Engine
from .org import ACR_VALUES, Org, User, demo_org, describe_org
from .outbox import Outbox
from .tokens import Grant, TokenService, s256

log = logging.getLogger("embedded.simulator")

ION = "application/ion+json; okta-version=1.0.0"
IDX_ENDPOINTS = [
    "introspect", "identify", "identify/select", "challenge", "challenge/answer", "challenge/poll",
    "challenge/resend", "challenge/send", "credential/enroll", "enroll", "enroll/new", "enroll/update", "recover", "skip",
    "cancel", "unlock-account", "authenticators/poll", "authenticators/poll/cancel",
    "challenge/answer/webauthn-autofillui", "consent", "keep-me-signed-in", "request-activation",
]
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")

SIMULATOR = web.AppKey("SIMULATOR", "Simulator")


class Simulator:
    """Everything one running simulator holds; stored in the app under SIMULATOR."""

    def __init__(self, org: Org, issuer: str | None = None, app_url: str | None = None):
        self.org = org
        self.issuer = issuer
        # Where the links of admin emails (activation, password reset) point: the app's origin.
        self.app_url = (app_url or default_app_url(org)).rstrip("/")
        self.outbox = Outbox()
        self.engine = Engine(org, self.outbox, issuer)
        self.tokens = TokenService()
        self.faults = faults_mod.Faults()
        self.calls: list[tuple[str, str]] = []
        self._recent: dict[str, deque] = defaultdict(deque)

    @property
    def revoked(self) -> set[str]:
        return self.tokens.revoked

    def expire_all(self) -> None:
        self.engine.expire_all()

    def issuer_for(self, request: web.Request) -> str:
        return self.issuer or f"{request.scheme}://{request.host}/oauth2/default"

    def origin_for(self, request: web.Request) -> str:
        return self.issuer_for(request).split("/oauth2")[0]

    def rate_limited(self, handle: str) -> bool:
        """Okta's per-stateHandle limit: N calls in a sliding window of S seconds."""
        now, window = time.monotonic(), self._recent[handle]
        while window and now - window[0] > self.org.rate_limit_seconds:
            window.popleft()
        if len(window) >= self.org.rate_limit_requests:
            return True
        window.append(now)
        return False


def default_app_url(org: Org) -> str:
    """The origin of the first client's first redirect URI (the demo app), without a path."""
    for client in org.clients:
        for uri in client.redirect_uris:
            parts = urlsplit(uri)
            if parts.scheme and parts.netloc:
                return f"{parts.scheme}://{parts.netloc}"
    return "http://127.0.0.1:8080"


def sim(request: web.Request) -> Simulator:
    return request.app[SIMULATOR]


# ------------------------------------------------------------------------ responses
def ion_response(doc: dict, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(doc), headers={"Content-Type": ION})


def oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def is_idx(path: str) -> bool:
    return path.startswith("/idp/idx/")


@web.middleware
async def record_and_guard(request: web.Request, handler):
    """Record the call, apply injected faults, and turn unexpected exceptions into proper error
    bodies (Ion on IDX endpoints, OAuth JSON elsewhere) instead of a bare 500."""
    s = sim(request)
    s.calls.append((request.method, request.path))
    injected = await faults_mod.apply(s.faults, request)
    if injected is not None:
        return injected
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("simulator error on %s %s", request.method, request.path)
        if is_idx(request.path):
            return ion_response(s.engine.error_document("server_error"), 500)
        return oauth_error(500, "server_error", "The server encountered an internal error.")


# ------------------------------------------------------------------------ client authentication
def client_credentials(request: web.Request, form) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return cid, secret
        except (binascii.Error, UnicodeDecodeError):
            return None, None
    return form.get("client_id"), form.get("client_secret")


def authenticate_client(request: web.Request, form):
    """(client, None) or (None, error response)."""
    cid, secret = client_credentials(request, form)
    client = sim(request).org.client(cid)
    if client is None:
        return None, oauth_error(401, "invalid_client", "Invalid value for 'client_id' parameter.")
    if client.secret is not None:
        if not secret:
            return None, oauth_error(401, "invalid_client", "Client authentication failed. Either the client or the client credentials are invalid.")
        if not secrets.compare_digest(secret.encode(), client.secret.encode()):
            return None, oauth_error(401, "invalid_client", "The client secret supplied for a confidential client is invalid.")
    return client, None


async def read_form(request: web.Request):
    if request.content_type != "application/x-www-form-urlencoded":
        return None
    return await request.post()


# ------------------------------------------------------------------------ OAuth endpoints
async def discovery(request: web.Request) -> web.Response:
    iss = sim(request).issuer_for(request)
    return web.json_response({
        "issuer": iss,
        "authorization_endpoint": f"{iss}/v1/authorize",
        "token_endpoint": f"{iss}/v1/token",
        "userinfo_endpoint": f"{iss}/v1/userinfo",
        "jwks_uri": f"{iss}/v1/keys",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "interaction_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": sim(request).org.scopes,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "acr_values_supported": list(ACR_VALUES),
        "claims_supported": ["iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "acr", "idp", "nonce",
                             "name", "given_name", "family_name", "preferred_username", "email",
                             "email_verified", "at_hash"],
        "code_challenge_methods_supported": ["S256"],
        "revocation_endpoint": f"{iss}/v1/revoke",
        "end_session_endpoint": f"{iss}/v1/logout",
        "request_parameter_supported": False,
    })


async def keys(request: web.Request) -> web.Response:
    return web.json_response(sim(request).tokens.jwks(), headers={"Cache-Control": "max-age=3600"})


async def interact(request: web.Request) -> web.Response:
    s = sim(request)
    form = await read_form(request)
    if form is None:
        return oauth_error(400, "invalid_request", "The request must be form-urlencoded.")
    client, error = authenticate_client(request, form)
    if error:
        return error
    if "interaction_code" not in client.grant_types:
        return oauth_error(400, "unauthorized_client", "The client is not authorized to use the provided grant type. "
                           f"Configured grant types: {client.grant_types}.")
    redirect_uri = form.get("redirect_uri", "")
    if not client.redirect_allowed(redirect_uri):
        return oauth_error(400, "invalid_request", "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.")
    scopes = form.get("scope", "").split()
    if not scopes:
        return oauth_error(400, "invalid_scope", "The authorization request must include the 'scope' parameter.")
    if any(sc not in s.org.scopes for sc in scopes):
        return oauth_error(400, "invalid_scope", "One or more scopes are not configured for the authorization server resource.")
    challenge, method = form.get("code_challenge"), form.get("code_challenge_method")
    if not challenge:
        text = ("PKCE code challenge is required when the token endpoint authentication method is 'NONE'."
                if client.secret is None else "PKCE code challenge is required.")
        return oauth_error(400, "invalid_request", text)
    if method != "S256":
        return oauth_error(400, "invalid_request", "'code_challenge_method' is invalid. It must be 'S256'.")
    if not CODE_CHALLENGE.fullmatch(challenge):
        return oauth_error(400, "invalid_request", "'code_challenge' is invalid.")
    acr, max_age = None, None
    if form.get("acr_values") is not None:
        # Several values: the first one we know is used (and reflected in the tokens); unknown
        # ones beside it are ignored. None known at all is refused.
        acr = next((v for v in form["acr_values"].split() if v in ACR_VALUES), None)
        if acr is None:
            return oauth_error(400, "invalid_request", "The 'acr_values' parameter must contain a supported value: "
                               + ", ".join(ACR_VALUES) + ".")
    if form.get("max_age") is not None:
        if not re.fullmatch(r"\d{1,9}", form["max_age"]):
            return oauth_error(400, "invalid_request", "The 'max_age' parameter must be a non-negative integer.")
        max_age = int(form["max_age"])
    user, flow = None, "login"
    for param, attr, flow_name, what in (("activation_token", "activation_token", "register", "activation"),
                                         ("recovery_token", "recovery_token", "recover", "recovery")):
        token = form.get(param)
        if token is None:
            continue
        user = next((u for u in s.org.users if getattr(u, attr) and secrets.compare_digest(getattr(u, attr), token)), None)
        if user is None:
            return oauth_error(400, "invalid_request", f"The {what} token is invalid")
        flow = flow_name
        if attr == "activation_token" and user.activation_expires_at is not None and time.time() >= user.activation_expires_at:
            flow = "activation-expired"  # kept: the page it leads to offers a new email
        else:
            setattr(user, attr, None)  # tokens from emails work once
    tx = s.engine.begin(client, redirect_uri, scopes, form.get("state"), form.get("nonce"), challenge, user, flow,
                        acr=acr, max_age=max_age)
    return web.json_response({"interaction_handle": tx.interaction_handle})


async def token(request: web.Request) -> web.Response:
    s = sim(request)
    form = await read_form(request)
    if form is None:
        return oauth_error(400, "invalid_request", "The request must be form-urlencoded.")
    grant_type = form.get("grant_type")
    if not grant_type:
        return oauth_error(400, "invalid_request", "The 'grant_type' parameter is required.")
    client, error = authenticate_client(request, form)
    if error:
        return error
    if grant_type not in ("interaction_code", "refresh_token"):
        return oauth_error(400, "unsupported_grant_type", f"The authorization grant type '{grant_type}' is not supported.")
    if grant_type not in client.grant_types:
        return oauth_error(400, "unauthorized_client", "The client is not authorized to use the provided grant type. "
                           f"Configured grant types: {client.grant_types}.")
    issuer = s.issuer_for(request)
    if grant_type == "refresh_token":
        rt = form.get("refresh_token", "")
        grant = s.tokens.refresh.get(rt)
        if grant is None or rt in s.revoked or grant.client.id != client.id:
            return oauth_error(400, "invalid_grant", "The refresh token is invalid or expired.")
        return web.json_response(s.tokens.issue(issuer, grant, with_refresh=rt), headers={"Cache-Control": "no-store"})
    code = form.get("interaction_code", "")
    tx = s.engine.redeem(code)
    if tx is None or tx.client.id != client.id:
        return oauth_error(400, "invalid_grant", "The interaction code is invalid or has expired.")
    verifier = form.get("code_verifier", "")
    if not verifier:
        return oauth_error(400, "invalid_request", "PKCE code verifier is required when the parameter 'code_challenge' was sent in the authorize request.")
    if not secrets.compare_digest(s256(verifier), tx.code_challenge):
        return oauth_error(400, "invalid_grant", "PKCE verification failed.")
    s.engine.spend(code)
    grant = Grant(tx.user, client, s.engine.granted_scopes(tx), s.engine.amr(tx), tx.auth_time, tx.nonce,
                  acr=tx.acr, idp=tx.idp or s.org.id)
    return web.json_response(s.tokens.issue(issuer, grant), headers={"Cache-Control": "no-store"})


async def revoke(request: web.Request) -> web.Response:
    s = sim(request)
    form = await read_form(request)
    if form is None:
        return oauth_error(400, "invalid_request", "The request must be form-urlencoded.")
    client, error = authenticate_client(request, form)
    if error:
        return error
    value = form.get("token")
    if not value:
        return oauth_error(400, "invalid_request", "The 'token' parameter is required.")
    grant = s.tokens.refresh.get(value)
    if grant is None or grant.client.id == client.id:
        s.revoked.add(value)
        s.tokens.refresh.pop(value, None)
    return web.Response(status=200)


async def userinfo(request: web.Request) -> web.Response:
    s = sim(request)
    header = request.headers.get("Authorization", "")
    claims = s.tokens.read_access_token(header[7:], s.issuer_for(request)) if header.lower().startswith("bearer ") else None
    user = s.org.user(claims["sub"]) if claims else None
    if user is None:
        return web.json_response({"error": "invalid_token", "error_description": "The access token is invalid."},
                                 status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return web.json_response({"sub": user.id, **s.tokens.profile_claims(user, claims.get("scp", []))})


async def logout(request: web.Request) -> web.Response:
    s = sim(request)
    params = request.query if request.method == "GET" else await request.post()
    hint = params.get("id_token_hint")
    claims = s.tokens.read_id_token(hint, s.issuer_for(request)) if hint else None
    if hint and claims is None:
        return oauth_error(400, "invalid_request", "The 'id_token_hint' parameter is invalid.")
    target = params.get("post_logout_redirect_uri")
    if target:
        client = s.org.client(claims["aud"]) if claims else None
        if client is None or not client.post_logout_allowed(target):
            return oauth_error(400, "invalid_request", "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client app settings.")
        if params.get("state"):
            target += ("&" if "?" in target else "?") + urlencode({"state": params["state"]})
        raise web.HTTPFound(target)
    return pages.html(pages.signed_out())


# ------------------------------------------------------------------------ IDX endpoints
def idx_handler(endpoint: str):
    engine_endpoint = "identify" if endpoint == "identify/select" else endpoint

    async def handle(request: web.Request) -> web.Response:
        s = sim(request)
        if "json" not in request.content_type:
            return faults_mod.api_error(415, "E0000021", "Bad request. Accept and/or Content-Type headers likely do not match supported values.")
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
            return ion_response(s.engine.error_document("session_expired", tx.state_handle if tx else None), 401)
        if s.rate_limited(tx.state_handle):
            return web.Response(status=429, text=json.dumps(s.engine.error_document("too_many")),
                                headers={"Content-Type": ION, "Retry-After": str(int(s.org.rate_limit_seconds)),
                                         "X-Rate-Limit-Limit": str(s.org.rate_limit_requests),
                                         "X-Rate-Limit-Remaining": "0"})
        status, doc = s.engine.submit(engine_endpoint, tx, body, s.origin_for(request))
        return ion_response(doc, status)

    return handle


# ------------------------------------------------------------------------ identity provider (browser)
def back_to_app(tx, **params) -> web.HTTPFound:
    """The redirect to the transaction's redirect URI with `params` and its state."""
    sep = "&" if "?" in tx.redirect_uri else "?"
    return web.HTTPFound(tx.redirect_uri + sep + urlencode({**params, "state": tx.state or ""}))


def finished(tx) -> web.HTTPFound:
    """Back to the app after an identity provider: the code when policy is met, else more to do."""
    if tx.step == "success":
        return back_to_app(tx, interaction_code=tx.interaction_code)
    return back_to_app(tx, error="interaction_required")


async def idp_page(request: web.Request) -> web.Response:
    s = sim(request)
    idp = s.org.idp(request.match_info["idp_id"])
    tx = s.engine.find(request.query.get("stateToken"))
    if idp is None:
        return pages.html(pages.message_page("Unknown identity provider", "No such identity provider in this org."), 404)
    if tx is None or tx.expired:
        return pages.html(pages.message_page("Session expired", "You have been logged out due to inactivity. Return to the app and start again."), 401)
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
    user = s.org.user(email) or s.org.add_user(User(login=email, first_name=email.split("@")[0].title(), profile={"email": email}))
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
        return pages.html(pages.message_page(f"Sign in with {idp.name}",
                                             "This sign-in is not waiting for this identity provider. Return to the app."), 400)
    if request.method == "GET":
        return pages.html(pages.idp_factor(idp, tx.state_handle, tx.user))
    form = await request.post()
    if form.get("action") != "continue":
        raise back_to_app(tx, error="access_denied", error_description="User canceled the sign-in request at the identity provider.")
    s.engine.federated_verified(tx)
    tx.touch()
    raise finished(tx)


async def smart_card_page(request: web.Request, s: Simulator, idp, tx) -> web.Response:
    """A smart card reader (type X509): verifying the identified user's card as a factor, or, from
    the first page, identifying whoever's card is picked."""
    as_factor = factor_in_play(tx, "smart_card_idp") and idp.authenticator == "smart_card_idp"
    from_identify = tx.step == "identify" and idp.on_identify and tx.flow == "login"
    if not (as_factor or from_identify):
        return pages.html(pages.message_page("Insert your smart card",
                                             "This sign-in is not waiting for a smart card. Return to the app."), 400)
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
    form = await request.post() if request.content_type == "application/x-www-form-urlencoded" else {}
    answer = form.get("answer")
    approve = request.match_info["decision"] == "approve"
    # Picking the wrong number in a number challenge is a denial, as in Okta Verify.
    # An empty answer is no answer when there is no number to pick (the outbox form always sends the field).
    picked_right = push.correct_answer is None and not answer or answer is None or answer == push.correct_answer
    push.status = "approved" if approve and picked_right else "denied"
    if request.content_type == "application/x-www-form-urlencoded":
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
    body = {}
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
    return web.json_response({"id": activation.id, "status": activation.status,
                              "device_name": activation.device_name, "secret": activation.secret})


# ------------------------------------------------------------------------ test controls
async def sim_faults(request: web.Request) -> web.Response:
    s = sim(request)
    if request.method == "DELETE":
        s.faults = faults_mod.Faults()
    elif request.method == "POST":
        try:
            s.faults = faults_mod.Faults.from_json(await request.json())
        except (ValueError, TypeError) as e:
            return web.json_response({"error": str(e)}, status=400)
    return web.json_response(s.faults.as_json())


async def sim_expire(request: web.Request) -> web.Response:
    """Expire every transaction, one (`stateHandle` / `interactionHandle`), or a user's
    activation link (`activation_login`: the activation email sent to that user)."""
    s = sim(request)
    body, _ = await read_fields(request)
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


async def read_fields(request: web.Request) -> tuple[dict, bool]:
    """Body fields of a control request, form-urlencoded or JSON; True when it was a form."""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(await request.post()), True
    if request.can_read_body:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        return (body if isinstance(body, dict) else {}), False
    return {}, False


async def admin_email(request: web.Request) -> web.Response:
    """An administrator sends an activation or a password-reset email: a fresh single-use token is
    stored on the user and the email (in the outbox) links to `{app_url}/activate?token=…` or
    `{app_url}/reset-password?token=…`; the app then calls /v1/interact with activation_token /
    recovery_token. Fields `login`, optional `app_url`, and for activation `expires_in` (seconds the
    link works; default the org's activation_token_days, 0 = already expired). Answers {"link",
    "token"} (a form posted from the outbox page with return=outbox goes back there)."""
    s = sim(request)
    what = request.match_info["what"]
    body, is_form = await read_fields(request)
    login = str(body.get("login") or "").strip()
    user = s.org.user(login)
    if user is None:
        return web.json_response({"error": "not_found", "error_description": f"No user {login!r} in this org."}, status=404)
    app_url = str(body.get("app_url") or "").strip().rstrip("/") or s.app_url
    parts = urlsplit(app_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        return web.json_response({"error": "invalid_request", "error_description": "app_url must be an http(s) origin."}, status=400)
    if what == "activation-email" and user.status != "staged":
        return web.json_response({"error": "invalid_request", "error_description":
                                  f"{user.login} is {user.status}; only staged users are activated."}, status=409)
    if what == "reset-email" and user.status == "staged":
        return web.json_response({"error": "invalid_request", "error_description":
                                  f"{user.login} is not activated yet; send an activation email."}, status=409)
    expires_in = None
    if what == "activation-email" and body.get("expires_in") is not None and str(body["expires_in"]).strip():
        try:
            expires_in = float(body["expires_in"])
        except (TypeError, ValueError):
            expires_in = -1
        if not 0 <= expires_in <= 10 * 365 * 86400:
            return web.json_response({"error": "invalid_request", "error_description": "expires_in must be seconds, 0 or more."}, status=400)
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
        return web.Response(text=html, status=status, content_type="text/html", headers=duo.frame_headers(nonce))

    tx = request.query.get("tx", "")
    try:
        username = duo.read(keys.skey, "TX", tx)
    except duo.DuoError as e:
        text = "This sign-in request has expired. Start again." if str(e) == "timeout" else "This is not a valid Duo request."
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
    return web.Response(text=duo.PARENT_SCRIPT, content_type="application/javascript",
                        headers={"Cache-Control": "max-age=3600", "Cross-Origin-Resource-Policy": "cross-origin"})


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
    headers.update({"Access-Control-Allow-Methods": f"{allowed}, OPTIONS", "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Allow-Private-Network": "true", "Access-Control-Max-Age": "60"})
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


CUSTOM_PUSH_LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" rx="10" '
                    'fill="#4b2bb5"/><path d="M16 10h16a3 3 0 0 1 3 3v22a3 3 0 0 1-3 3H16a3 3 0 0 1-3-3V13a3 3 0 0 1 3-3z" '
                    'fill="#fff"/><circle cx="24" cy="33" r="2" fill="#4b2bb5"/><path d="M18 17h12v10H18z" fill="#c9bdf2"/></svg>')


async def custom_push_logo(request: web.Request) -> web.Response:
    """The custom push authenticator's logo (`logoUri`)."""
    return web.Response(text=CUSTOM_PUSH_LOGO, content_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400", "Cross-Origin-Resource-Policy": "cross-origin"})


async def index(request: web.Request) -> web.Response:
    return pages.html(pages.index(describe_org(sim(request).org), sim(request).issuer_for(request)))


# ------------------------------------------------------------------------ app
def build_app(org: Org | None = None, *, issuer: str | None = None, app_url: str | None = None) -> web.Application:
    org = copy.deepcopy(org) if org is not None else demo_org()
    app = web.Application(middlewares=[record_and_guard])
    app[SIMULATOR] = Simulator(org, issuer, app_url)
    base = urlsplit(issuer).path.rstrip("/") if issuer else "/oauth2/default"
    app.router.add_get(f"{base}/.well-known/openid-configuration", discovery)
    app.router.add_get(f"{base}/v1/keys", keys)
    app.router.add_post(f"{base}/v1/interact", interact)
    app.router.add_post(f"{base}/v1/token", token)
    app.router.add_post(f"{base}/v1/revoke", revoke)
    app.router.add_route("*", f"{base}/v1/userinfo", userinfo)
    app.router.add_get(f"{base}/v1/logout", logout)
    app.router.add_post(f"{base}/v1/logout", logout)
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
    app.router.add_get("/", index)
    return app
