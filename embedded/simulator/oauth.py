"""The authorization server's OAuth endpoints: discovery, keys, /v1/interact (which starts an IDX
transaction), /v1/token (interaction_code, authorization_code, refresh_token, and Direct
Authentication's grants: direct.py), /v1/challenge and /v1/primary-authenticate (direct.py),
/v1/revoke, /v1/userinfo and /v1/logout. /v1/authorize, whose sign-in pages the simulator serves itself, is in
hosted.py; it checks its request with `read_authorization` as /v1/interact does."""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from . import direct, pages
from .compare import same
from .context import oauth_error, sim, text_fields
from .org import ACR_VALUES, Client, Org
from .tokens import Grant, s256

CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


# ------------------------------------------------------------------------ client authentication
def client_credentials(request: web.Request, form: Mapping[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return cid, secret
        except (binascii.Error, UnicodeDecodeError):
            return None, None
    return form.get("client_id"), form.get("client_secret")


CLIENT_AUTH_FAILED = "Client authentication failed. Either the client or the client credentials are invalid."


def authenticate_client(request: web.Request, form: Mapping[str, str]) -> Client | web.Response:
    """The client the request authenticates as, or the error response. As at Okta, the way a
    request authenticates must be the client's own (token_endpoint_auth_method): a confidential
    client sends its secret (client_secret_post or _basic), a public one sends only its client_id;
    either way round the client authentication fails (Okta's log: invalid_token_endpoint_auth_method)."""
    cid, secret = client_credentials(request, form)
    client = sim(request).org.client(cid)
    if client is None:
        return oauth_error(401, "invalid_client", "Invalid value for 'client_id' parameter.")
    if client.public:
        if secret or request.headers.get("Authorization", "").lower().startswith("basic "):
            return oauth_error(401, "invalid_client", CLIENT_AUTH_FAILED)
        return client
    if not secret:
        return oauth_error(401, "invalid_client", CLIENT_AUTH_FAILED)
    if not same(secret, client.secret or ""):
        return oauth_error(401, "invalid_client", "The client secret supplied for a confidential client is invalid.")
    return client


async def read_form(request: web.Request) -> dict[str, str] | None:
    if request.content_type != "application/x-www-form-urlencoded":
        return None
    return text_fields(await request.post())


# ------------------------------------------------------------------------ authorization requests
@dataclass
class Authorization:
    """What /v1/interact and /v1/authorize both ask for and check the same way."""

    scopes: list[str]
    code_challenge: str
    acr: str | None
    max_age: int | None


def read_authorization(org: Org, client: Client, params: Mapping[str, str]) -> Authorization | tuple[str, str]:
    """The scopes, PKCE challenge, acr_values and max_age of an authorization request, or the OAuth
    error (error, error_description) for the first one that is wrong."""
    scopes = params.get("scope", "").split()
    if not scopes:
        return "invalid_scope", "The authorization request must include the 'scope' parameter."
    if any(sc not in org.scopes for sc in scopes):
        return "invalid_scope", "One or more scopes are not configured for the authorization server resource."
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if not challenge:
        return "invalid_request", (
            "PKCE code challenge is required when the token endpoint authentication method is 'NONE'."
            if client.public
            else "PKCE code challenge is required."
        )
    if method != "S256":
        return "invalid_request", "'code_challenge_method' is invalid. It must be 'S256'."
    if not CODE_CHALLENGE.fullmatch(challenge):
        return "invalid_request", "'code_challenge' is invalid."
    acr, max_age = None, None
    if params.get("acr_values") is not None:
        # Space-separated, in order of preference: the first one the server knows is used (and
        # reflected in the tokens). Okta ignores values it does not know, so none known at all
        # is a sign-in under the policies alone.
        acr = next((v for v in params["acr_values"].split() if v in ACR_VALUES), None)
    if params.get("max_age") is not None:
        if not re.fullmatch(r"\d{1,9}", params["max_age"]):
            return "invalid_request", "The 'max_age' parameter must be a non-negative integer."
        max_age = int(params["max_age"])
    return Authorization(scopes, challenge, acr, max_age)


def not_authorized_for(client: Client) -> tuple[str, str]:
    return "unauthorized_client", (
        f"The client is not authorized to use the provided grant type. Configured grant types: {client.grant_types}."
    )


# ------------------------------------------------------------------------ OAuth endpoints
async def discovery(request: web.Request) -> web.Response:
    iss = sim(request).issuer_for(request)
    return web.json_response(
        {
            "issuer": iss,
            "authorization_endpoint": f"{iss}/v1/authorize",
            "token_endpoint": f"{iss}/v1/token",
            "userinfo_endpoint": f"{iss}/v1/userinfo",
            "jwks_uri": f"{iss}/v1/keys",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token", "interaction_code", *direct.GRANTS],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": sim(request).org.scopes,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "acr_values_supported": list(ACR_VALUES),
            "claims_supported": [
                "iss",
                "ver",
                "sub",
                "aud",
                "iat",
                "exp",
                "jti",
                "auth_time",
                "amr",
                "acr",
                "idp",
                "nonce",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "email",
                "email_verified",
                "at_hash",
            ],
            "code_challenge_methods_supported": ["S256"],
            "revocation_endpoint": f"{iss}/v1/revoke",
            "end_session_endpoint": f"{iss}/v1/logout",
            "request_parameter_supported": False,
        }
    )


async def keys(request: web.Request) -> web.Response:
    return web.json_response(sim(request).tokens.jwks(), headers={"Cache-Control": "max-age=3600"})


async def allowed_client(request: web.Request, grants: tuple[str, ...]) -> tuple[Client, dict[str, str]] | web.Response:
    """The authenticated client and the form of a request it must be allowed one of `grants` for,
    or the OAuth error to answer."""
    form = await read_form(request)
    if form is None:
        return oauth_error(400, "invalid_request", "The request must be form-urlencoded.")
    client = authenticate_client(request, form)
    if isinstance(client, web.Response):
        return client
    if not set(grants) & set(client.grant_types):
        return oauth_error(400, *not_authorized_for(client))
    return client, form


async def interact(request: web.Request) -> web.Response:
    s = sim(request)
    asked_by = await allowed_client(request, ("interaction_code",))
    if isinstance(asked_by, web.Response):
        return asked_by
    client, form = asked_by
    redirect_uri = form.get("redirect_uri", "")
    if not client.redirect_allowed(redirect_uri):
        return oauth_error(
            400,
            "invalid_request",
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
        )
    request_or_error = read_authorization(s.org, client, form)
    if isinstance(request_or_error, tuple):
        return oauth_error(400, *request_or_error)
    asked = request_or_error
    user, flow = None, "login"
    for param, attr, flow_name, what in (
        ("activation_token", "activation_token", "register", "activation"),
        ("recovery_token", "recovery_token", "recover", "recovery"),
    ):
        token = form.get(param)
        if token is None:
            continue
        user = next((u for u in s.org.users if getattr(u, attr) and same(token, getattr(u, attr))), None)
        if user is None:
            return oauth_error(400, "invalid_request", f"The {what} token is invalid")
        flow = flow_name
        if (
            attr == "activation_token"
            and user.activation_expires_at is not None
            and time.time() >= user.activation_expires_at
        ):
            flow = "activation-expired"  # kept: the page it leads to offers a new email
        else:
            setattr(user, attr, None)  # tokens from emails work once
    tx = s.engine.begin(
        client,
        redirect_uri,
        asked.scopes,
        form.get("state"),
        form.get("nonce"),
        asked.code_challenge,
        user,
        flow,
        acr=asked.acr,
        max_age=asked.max_age,
    )
    return web.json_response({"interaction_handle": tx.interaction_handle})


async def token(request: web.Request) -> web.Response:
    """Every answer of the token endpoint, errors too, is not to be cached (RFC 6749 §5.1)."""
    response = await exchange(request)
    response.headers.update(direct.NO_STORE)
    return response


async def exchange(request: web.Request) -> web.Response:
    s = sim(request)
    form = await read_form(request)
    if form is None:
        return oauth_error(400, "invalid_request", "The request must be form-urlencoded.")
    grant_type = form.get("grant_type")
    if not grant_type:
        return oauth_error(400, "invalid_request", "The 'grant_type' parameter is required.")
    client = authenticate_client(request, form)
    if isinstance(client, web.Response):
        return client
    if grant_type not in ("interaction_code", "authorization_code", "refresh_token", *direct.GRANTS):
        return oauth_error(
            400, "unsupported_grant_type", f"The authorization grant type '{grant_type}' is not supported."
        )
    if grant_type not in client.grant_types:
        return oauth_error(400, *not_authorized_for(client))
    issuer = s.issuer_for(request)
    if grant_type in direct.GRANTS:
        twice = direct.repeated(await request.post())
        if twice is not None:
            return twice.response()
        return request.app[direct.DIRECT].token(client, grant_type, form, issuer)
    if grant_type == "refresh_token":
        rt = form.get("refresh_token", "")
        grant = s.tokens.refresh.get(rt)
        if grant is None or rt in s.revoked or grant.client.id != client.id:
            return oauth_error(400, "invalid_grant", "The refresh token is invalid or expired.")
        return web.json_response(s.tokens.issue(issuer, grant, with_refresh=rt), headers={"Cache-Control": "no-store"})
    # A code from the IDX flow (interaction_code) or from the simulator's sign-in pages
    # (authorization_code, /v1/authorize): single use, CODE_LIFETIME seconds, this client's only.
    code = form.get("interaction_code" if grant_type == "interaction_code" else "code", "")
    tx = s.engine.redeem(code)
    if tx is None or tx.client.id != client.id or tx.grant_type != grant_type:
        what = "interaction" if grant_type == "interaction_code" else "authorization"
        return oauth_error(400, "invalid_grant", f"The {what} code is invalid or has expired.")
    if grant_type == "authorization_code" and form.get("redirect_uri") != tx.redirect_uri:
        return oauth_error(
            400,
            "invalid_grant",
            "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
        )
    verifier = form.get("code_verifier", "")
    if not verifier:
        return oauth_error(
            400,
            "invalid_request",
            "PKCE code verifier is required when the parameter 'code_challenge' was sent in the authorize request.",
        )
    if not same(s256(verifier), tx.code_challenge):
        return oauth_error(400, "invalid_grant", "PKCE verification failed.")
    s.engine.spend(code)
    grant = Grant(
        tx.known_user,
        client,
        s.engine.granted_scopes(tx),
        s.engine.amr(tx),
        tx.auth_time,
        tx.nonce,
        acr=tx.acr,
        idp=tx.idp or s.org.id,
    )
    return web.json_response(s.tokens.issue(issuer, grant), headers={"Cache-Control": "no-store"})


async def direct_request(request: web.Request, grants: tuple[str, ...]) -> tuple[Client, dict[str, str]] | web.Response:
    """The client and form of a /v1/challenge or /v1/primary-authenticate request, or the error:
    the client must be allowed one of `grants`, and no parameter may come twice."""
    asked_by = await allowed_client(request, grants)
    if isinstance(asked_by, web.Response):
        return asked_by
    twice = direct.repeated(await request.post())
    return twice.response() if twice is not None else asked_by


async def challenge(request: web.Request) -> web.Response:
    asked = await direct_request(request, direct.MFA_GRANTS)
    response = asked if isinstance(asked, web.Response) else request.app[direct.DIRECT].challenge(*asked)
    response.headers.update(direct.NO_STORE)
    return response


async def primary_authenticate(request: web.Request) -> web.Response:
    asked = await direct_request(request, (direct.OOB,))
    response = asked if isinstance(asked, web.Response) else request.app[direct.DIRECT].primary_authenticate(*asked)
    response.headers.update(direct.NO_STORE)
    return response


async def revoke(request: web.Request) -> web.Response:
    s = sim(request)
    form = await read_form(request)
    if form is None:
        return oauth_error(400, "invalid_request", "The request must be form-urlencoded.")
    client = authenticate_client(request, form)
    if isinstance(client, web.Response):
        return client
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
    claims = (
        s.tokens.read_access_token(header[7:], s.issuer_for(request)) if header.lower().startswith("bearer ") else None
    )
    user = s.org.user(claims["sub"]) if claims else None
    if claims is None or user is None:
        return web.json_response(
            {"error": "invalid_token", "error_description": "The access token is invalid."},
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return web.json_response({"sub": user.id, **s.tokens.profile_claims(user, claims.get("scp", []))})


async def logout(request: web.Request) -> web.Response:
    s = sim(request)
    params = text_fields(request.query if request.method == "GET" else await request.post())
    hint = params.get("id_token_hint")
    claims = s.tokens.read_id_token(hint, s.issuer_for(request)) if hint else None
    if hint and claims is None:
        return oauth_error(400, "invalid_request", "The 'id_token_hint' parameter is invalid.")
    target = params.get("post_logout_redirect_uri")
    if target:
        client = s.org.client(claims["aud"]) if claims else None
        if client is None or not client.post_logout_allowed(target):
            return oauth_error(
                400,
                "invalid_request",
                "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client app settings.",
            )
        if params.get("state"):
            target += ("&" if "?" in target else "?") + urlencode({"state": params["state"]})
        raise web.HTTPFound(target)
    return pages.html(pages.signed_out())
