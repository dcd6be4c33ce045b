"""The OAuth half of `IdxReplay`: discovery, keys, `/v1/interact`, `/v1/token`, revoke, userinfo
and logout, checking what Okta checks there (the client, PKCE S256, a state and a nonce, each
interaction code once) and minting RS256 ID tokens. Also `Signer`, the key the recorder signs with."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

Json = Any
ISSUER_PATH = "/oauth2/default"
PKCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class ScriptMismatch(AssertionError):
    """The app did something the script did not expect, or failed a check Okta makes."""


@dataclass
class Call:
    """One request the replay received."""

    method: str
    path: str
    body: Json
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def call(self) -> str:
        return f"{self.method} {self.path}"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


class Signer:
    """An RS256 key of its own, published as a JWKS."""

    def __init__(self, name: str):
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"{name}-{secrets.token_hex(4)}"

    def jwks(self) -> dict[str, Json]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def sign(self, claims: Mapping[str, Json]) -> str:
        return jwt.encode(dict(claims), self._key, algorithm="RS256", headers={"kid": self.kid})


class OAuthSide:
    """What `/v1/*` answers, and the transaction it learns at `/v1/interact`."""

    def __init__(self, *, client_id: str, client_secret: str | None, claims: Mapping[str, Json] | None):
        self.client_id = client_id
        self.client_secret = client_secret
        self.claims: dict[str, Json] = dict(claims or {})  # extra or overriding ID-token claims
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.state: str | None = None  # what the app sent to /v1/interact
        self.nonce: str | None = None
        self.scope: str = ""
        self.interact_form: dict[str, str] = {}
        self._challenge: str | None = None
        self._handle: str | None = None
        self._state_handle: str | None = None  # of the last document served
        self._codes: dict[str, Json] = {}  # interaction code -> the success document it came in
        self._tokens: dict[str, dict[str, Json]] = {}  # access and refresh tokens -> their claims
        self._signer = Signer("idx-replay")

    @property
    def issuer(self) -> str:
        raise NotImplementedError

    def _forget_transaction(self) -> None:
        self.calls, self.problems = [], []
        self.state = self.nonce = self._challenge = self._handle = self._state_handle = None
        self.scope, self.interact_form = "", {}
        self._codes.clear()
        self._tokens.clear()

    def _add_oauth_routes(self, app: web.Application) -> None:
        for base in (ISSUER_PATH, "/oauth2"):
            app.router.add_get(base + "/.well-known/openid-configuration", self._discovery)
            app.router.add_get(base + "/v1/keys", self._keys)
            app.router.add_post(base + "/v1/interact", self._interact)
            app.router.add_post(base + "/v1/token", self._token)
            app.router.add_post(base + "/v1/revoke", self._revoke)
            app.router.add_route("*", base + "/v1/userinfo", self._userinfo)
            app.router.add_get(base + "/v1/logout", self._logout)

    def _problem(self, text: str) -> None:
        self.problems.append(text)

    async def _record(self, request: web.Request) -> Call:
        body: Json = None
        if request.can_read_body:
            if request.content_type == "application/x-www-form-urlencoded":
                body = dict(await request.post())
            else:
                text = await request.text()
                try:
                    body = json.loads(text)
                except ValueError:
                    body = text
        call = Call(request.method, request.path, body, dict(request.query), dict(request.headers))
        self.calls.append(call)
        return call

    def _oauth_error(self, error: str, description: str, status: int = 400) -> web.Response:
        return web.json_response({"error": error, "error_description": description}, status=status)

    async def _discovery(self, request: web.Request) -> web.Response:
        await self._record(request)
        base = self.issuer
        return web.json_response(
            {
                "issuer": base,
                "authorization_endpoint": base + "/v1/authorize",
                "token_endpoint": base + "/v1/token",
                "userinfo_endpoint": base + "/v1/userinfo",
                "revocation_endpoint": base + "/v1/revoke",
                "end_session_endpoint": base + "/v1/logout",
                "jwks_uri": base + "/v1/keys",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "interaction_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(self._signer.jwks())

    def _client_ok(self, form: Mapping[str, str], call: str) -> bool:
        if form.get("client_id") != self.client_id:
            self._problem(f"{call}: client_id {form.get('client_id')!r}, expected {self.client_id!r}")
            return False
        if self.client_secret is not None and form.get("client_secret") != self.client_secret:
            self._problem(f"{call}: the client secret is missing or wrong")
            return False
        return True

    async def _interact(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        form: dict[str, str] = call.body if isinstance(call.body, dict) else {}
        if not self._client_ok(form, "/v1/interact"):
            return self._oauth_error("invalid_client", "Client authentication failed.", 401)
        challenge = form.get("code_challenge", "")
        if form.get("code_challenge_method") != "S256" or len(challenge) != 43 or not set(challenge) <= PKCE_CHARS:
            self._problem(
                "/v1/interact: PKCE must be S256 with a 43-character challenge, "
                f"got method {form.get('code_challenge_method')!r} and challenge {challenge!r}"
            )
            return self._oauth_error("invalid_request", "PKCE code challenge is required.")
        for name in ("state", "nonce", "redirect_uri", "scope"):
            if not form.get(name):
                self._problem(f"/v1/interact: no {name}")
                return self._oauth_error("invalid_request", f"The {name} parameter is required.")
        if len(form["state"]) < 16:
            self._problem(f"/v1/interact: a state of {len(form['state'])} characters is guessable")
        self.interact_form = form
        self.state, self.nonce, self.scope, self._challenge = form["state"], form["nonce"], form["scope"], challenge
        self._handle = "ih-" + secrets.token_urlsafe(16)
        self._state_handle = None
        return web.json_response({"interaction_handle": self._handle})

    async def _token(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        form: dict[str, str] = call.body if isinstance(call.body, dict) else {}
        if not self._client_ok(form, "/v1/token"):
            return self._oauth_error("invalid_client", "Client authentication failed.", 401)
        grant = form.get("grant_type")
        if grant == "interaction_code":
            code = form.get("interaction_code", "")
            if code not in self._codes:
                self._problem(f"/v1/token: interaction code {code!r} was not handed out, or was already used")
                return self._oauth_error("invalid_grant", "The interaction code is invalid or has expired.")
            verifier = form.get("code_verifier", "")
            if not 43 <= len(verifier) <= 128 or not set(verifier) <= PKCE_CHARS or s256(verifier) != self._challenge:
                self._problem(
                    "/v1/token: the code_verifier does not match the S256 code_challenge sent to /v1/interact"
                )
                return self._oauth_error("invalid_grant", "PKCE verification failed.")
            return web.json_response(self._tokens_for(self._codes.pop(code)))
        if grant == "refresh_token":
            claims = self._tokens.pop(form.get("refresh_token", ""), None)
            if claims is None:
                return self._oauth_error("invalid_grant", "The refresh token is invalid or expired.")
            return web.json_response(self._issue(claims))
        self._problem(f"/v1/token: grant_type {grant!r} is not something this replay hands out")
        return self._oauth_error("unsupported_grant_type", f"{grant} is not supported.")

    def _user_claims(self, success: Json) -> dict[str, Json]:
        user = success.get("user", {}).get("value", {}) if isinstance(success, dict) else {}
        identifier = str(user.get("identifier") or "user@example.com")
        profile = user.get("profile") or {}
        name = " ".join(str(profile[k]) for k in ("firstName", "lastName") if profile.get(k)) or identifier
        claims: dict[str, Json] = {
            "sub": str(user.get("id") or "00u-replayed-user"),
            "preferred_username": identifier,
            "name": name,
            "amr": ["pwd"],
        }
        if "@" in identifier:
            claims["email"] = identifier
        return claims

    def _tokens_for(self, success: Json) -> dict[str, Json]:
        return self._issue({**self._user_claims(success), "auth_time": int(time.time()), **self.claims})

    def _issue(self, claims: dict[str, Json]) -> dict[str, Json]:
        now = int(time.time())
        id_claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 3600,
            "nonce": self.nonce,
            **claims,
        }
        id_token = self._signer.sign({k: v for k, v in id_claims.items() if v is not None})
        access = "at-" + secrets.token_urlsafe(24)
        self._tokens[access] = claims
        out: dict[str, Json] = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": access,
            "id_token": id_token,
            "scope": self.scope,
        }
        if "offline_access" in self.scope.split():
            refresh = "rt-" + secrets.token_urlsafe(24)
            self._tokens[refresh] = claims
            out["refresh_token"] = refresh
        return out

    async def _revoke(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if isinstance(call.body, dict):
            self._tokens.pop(str(call.body.get("token", "")), None)
        return web.Response(status=200)

    async def _userinfo(self, request: web.Request) -> web.Response:
        await self._record(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = self._tokens.get(token)
        if claims is None:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response(
            {k: v for k, v in claims.items() if k in ("sub", "name", "email", "preferred_username")}
        )

    async def _logout(self, request: web.Request) -> web.Response:
        await self._record(request)
        target = request.query.get("post_logout_redirect_uri")
        if target:
            raise web.HTTPFound(
                target + ("?" + urlencode({"state": request.query["state"]}) if request.query.get("state") else "")
            )
        return web.Response(text="signed out")
