"""`IdxReplay`: a fake Identity Engine on a free loopback port that plays a script of IDX responses.

It answers the OAuth side itself (discovery, keys, `/v1/interact`, `/v1/token`, revoke, userinfo,
logout) and the IDX side from the script, one step per call in order, with hrefs rebased on
itself. It checks what Okta checks: PKCE S256 (the challenge at interact, the verifier at the
token exchange), a state and a nonce at interact, the interaction handle at introspect, the
current `stateHandle` in every form post, and the interaction code it handed out (once). Every
request is recorded; anything the script did not expect, or any check that fails, is a problem
that fails the test (see the pytest plugin) with a readable diff.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from ..config import Settings
from .script import PLACEHOLDER_ORG, WIDGET_ORG, Recording, Step, StepLike, rebase, steps_of

Json = Any
ISSUER_PATH = "/oauth2/default"
ION = "application/ion+json; okta-version=1.0.0"
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


class IdxReplay:
    """Start it (`await replay.start()`), point the app at it (`replay.settings(...)`), give it a
    script (`replay.play(...)` or `replay.play_recorded(dir, name)`), close it (`await replay.close()`).
    The `idx_replay` pytest fixture does the starting and closing."""

    def __init__(
        self,
        *,
        client_id: str = "test-client",
        client_secret: str | None = "test-secret",
        claims: Mapping[str, Json] | None = None,
        origins: Iterable[str] = (PLACEHOLDER_ORG, WIDGET_ORG),
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.claims: dict[str, Json] = dict(claims or {})  # extra or overriding ID-token claims
        self.origins = tuple(origins)  # script origins rebased on this server
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.script: list[Step] = []
        self.served: list[Step] = []
        self.state: str | None = None  # what the app sent to /v1/interact
        self.nonce: str | None = None
        self.scope: str = ""
        self.interact_form: dict[str, str] = {}
        self._challenge: str | None = None
        self._handle: str | None = None
        self._state_handle: str | None = None  # of the last document served
        self._codes: dict[str, Json] = {}  # interaction code -> the success document it came in
        self._tokens: dict[str, dict[str, Json]] = {}  # access and refresh tokens -> their claims
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = "idx-replay-" + secrets.token_hex(4)
        self._server: TestServer | None = None

    # --- life ------------------------------------------------------------------------------

    async def start(self) -> IdxReplay:
        self._server = TestServer(self._app(), host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> IdxReplay:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.port is not None, "the replay is not started"
        return self._server.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.origin + ISSUER_PATH

    def settings(self, *, prefix: str = "/auth", app_origin: str = "http://127.0.0.1", **overrides: Any) -> Settings:
        """Settings for an app under test that signs in here, with sign-in mounted at `prefix`."""
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": f"{app_origin}{prefix.rstrip('/')}/login/callback",
            "scopes": ("openid", "profile", "email", "offline_access"),
        }
        return Settings(**{**values, **overrides})

    # --- the script ------------------------------------------------------------------------

    def reset(self) -> IdxReplay:
        """Forget the script, the calls, the problems and the transaction: a new test on the same
        server (the app's cached discovery and keys stay valid)."""
        self.calls, self.problems, self.script, self.served = [], [], [], []
        self.state = self.nonce = self._challenge = self._handle = self._state_handle = None
        self.scope, self.interact_form = "", {}
        self._codes.clear()
        self._tokens.clear()
        return self

    def play(self, steps: Iterable[StepLike]) -> IdxReplay:
        """Add steps to the script: `Step`s, dicts (`{"path": ..., "body": ..., "status": ...}`,
        `"response"` a file) or tuples `(path, document[, status])` for POSTs."""
        self.script.extend(steps_of(steps))
        return self

    def play_recorded(self, directory: str | Path | Recording, name: str) -> IdxReplay:
        """Add one recorded sequence (a directory written by `python -m embedded record`)."""
        recording = directory if isinstance(directory, Recording) else Recording(directory)
        self.origins = (*self.origins, recording.org)
        self.script.extend(recording.steps(name))
        return self

    @property
    def remaining(self) -> list[Step]:
        return self.script[len(self.served) :]

    def bodies(self, path: str) -> list[Json]:
        """The bodies the app posted to `path`, in order."""
        return [c.body for c in self.calls if c.path == path]

    def paths(self) -> list[str]:
        return [c.path for c in self.calls]

    def magic_link(self, otp: str, callback: str = "/auth/login/callback") -> str:
        """The app-relative link an emailed magic link would open: the callback with this transaction's state."""
        return f"{callback}?{urlencode({'state': self.state or '', 'otp': otp})}"

    def check(self) -> None:
        """Raise ScriptMismatch (with a diff) when anything went wrong so far."""
        if self.problems:
            raise ScriptMismatch(self.report())

    def assert_done(self) -> None:
        """Every step of the script was called, and nothing went wrong."""
        self.check()
        if self.remaining:
            raise ScriptMismatch("idx_replay: the app stopped before the end of the script\n" + self._diff())

    def report(self) -> str:
        return "idx_replay: " + "\n\n".join(self.problems) + "\n\n" + self._diff()

    def _diff(self) -> str:
        expected = [s.call for s in self.script]
        actual = [c.call for c in self.calls if self._is_scripted(c.path)]
        lines = difflib.unified_diff(expected, actual, "script", "app", lineterm="", n=max(len(expected), len(actual)))
        text = "\n".join(lines)
        return text or "calls (as scripted):\n" + "\n".join("  " + c for c in expected)

    @staticmethod
    def _is_scripted(path: str) -> bool:
        return path.startswith(("/idp/idx/", "/sso/idps/"))

    def _problem(self, text: str) -> None:
        self.problems.append(text)

    # --- the server ------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        for base in (ISSUER_PATH, "/oauth2"):
            app.router.add_get(base + "/.well-known/openid-configuration", self._discovery)
            app.router.add_get(base + "/v1/keys", self._keys)
            app.router.add_post(base + "/v1/interact", self._interact)
            app.router.add_post(base + "/v1/token", self._token)
            app.router.add_post(base + "/v1/revoke", self._revoke)
            app.router.add_route("*", base + "/v1/userinfo", self._userinfo)
            app.router.add_get(base + "/v1/logout", self._logout)
        app.router.add_route("*", "/{tail:.*}", self._scripted)
        return app

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
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return web.json_response({"keys": [{**jwk, "kid": self._kid, "alg": "RS256", "use": "sig"}]})

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
            self._problem(f"/v1/interact: PKCE must be S256 with a 43-character challenge, got method {form.get('code_challenge_method')!r} and challenge {challenge!r}")
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
                self._problem("/v1/token: the code_verifier does not match the S256 code_challenge sent to /v1/interact")
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
        claims: dict[str, Json] = {"sub": str(user.get("id") or "00u-replayed-user"), "preferred_username": identifier, "name": name, "amr": ["pwd"]}
        if "@" in identifier:
            claims["email"] = identifier
        return claims

    def _tokens_for(self, success: Json) -> dict[str, Json]:
        return self._issue({**self._user_claims(success), "auth_time": int(time.time()), **self.claims})

    def _issue(self, claims: dict[str, Json]) -> dict[str, Json]:
        now = int(time.time())
        id_claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 3600, "nonce": self.nonce, **claims}
        id_token = jwt.encode({k: v for k, v in id_claims.items() if v is not None}, self._key, algorithm="RS256", headers={"kid": self._kid})
        access = "at-" + secrets.token_urlsafe(24)
        self._tokens[access] = claims
        out: dict[str, Json] = {"token_type": "Bearer", "expires_in": 3600, "access_token": access, "id_token": id_token, "scope": self.scope}
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
        return web.json_response({k: v for k, v in claims.items() if k in ("sub", "name", "email", "preferred_username")})

    async def _logout(self, request: web.Request) -> web.Response:
        await self._record(request)
        target = request.query.get("post_logout_redirect_uri")
        if target:
            raise web.HTTPFound(target + ("?" + urlencode({"state": request.query["state"]}) if request.query.get("state") else ""))
        return web.Response(text="signed out")

    async def _scripted(self, request: web.Request) -> web.StreamResponse:
        call = await self._record(request)
        index = len(self.served)
        step = self.script[index] if index < len(self.script) else None
        if step is None or step.call != call.call:
            expected = step.describe() if step else "nothing more (the script is finished)"
            self._problem(f"unexpected call {index + 1}: {call.call}\n  expected: {expected}\n  body: {json.dumps(call.body, sort_keys=True)}")
            return web.json_response({"errorCode": "E0000000", "errorSummary": f"idx_replay did not expect {call.call}"}, status=500)
        if not self._handles_ok(call):
            return web.json_response(self._expired(), status=401, content_type="application/ion+json")
        self.served.append(step)
        if step.redirect is not None:
            target = self.interact_form.get("redirect_uri", "")
            query = {**rebase(step.redirect, self.origins, self.origin), "state": self.state or ""}
            for key in ("interaction_code", "code"):
                if key in query:
                    self._codes[query[key]] = {}
            raise web.HTTPFound(f"{target}{'&' if '?' in target else '?'}{urlencode(query)}")
        body = self._serve(step.body)
        headers = dict(step.headers)
        if isinstance(body, (dict, list)):
            content_type = ION if isinstance(body, dict) and "version" in body else "application/json"
            return web.Response(status=step.status, body=json.dumps(body).encode(), headers={**headers, "Content-Type": content_type})
        return web.Response(status=step.status, text="" if body is None else str(body), headers=headers)

    def _handles_ok(self, call: Call) -> bool:
        body = call.body if isinstance(call.body, dict) else {}
        if call.path == "/idp/idx/introspect":
            if body.get("interactionHandle") is not None:
                if self._handle is None or body["interactionHandle"] != self._handle:
                    self._problem(f"{call.call}: interactionHandle {body['interactionHandle']!r} is not the one /v1/interact returned")
                    return False
                return True
            if body.get("stateToken") is not None and body["stateToken"] == self._state_handle:
                return True
            self._problem(f"{call.call}: neither the interaction handle nor the current state handle")
            return False
        if call.method == "POST" and self._state_handle is not None and body.get("stateHandle") != self._state_handle:
            self._problem(f"{call.call}: stateHandle {body.get('stateHandle')!r}, but the last response's is {self._state_handle!r}")
            return False
        if call.method == "GET" and self._state_handle is not None and call.query.get("stateToken") not in (None, self._state_handle):
            self._problem(f"{call.call}: stateToken {call.query.get('stateToken')!r}, but the last response's state handle is {self._state_handle!r}")
            return False
        return True

    def _serve(self, body: Json) -> Json:
        body = rebase(body, self.origins, self.origin)
        if not isinstance(body, dict):
            return body
        if "expiresAt" in body:  # recorded documents expire; served ones are fresh
            body = {**body, "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 600))}
        if isinstance(body.get("stateHandle"), str):
            self._state_handle = body["stateHandle"]
        success = body.get("successWithInteractionCode")
        if isinstance(success, dict):
            for f in success.get("value", []):
                if isinstance(f, dict) and f.get("name") == "interaction_code" and isinstance(f.get("value"), str):
                    self._codes[f["value"]] = body
        return body

    def _expired(self) -> dict[str, Json]:
        return {
            "version": "1.0.0",
            "messages": {"type": "array", "value": [{"message": "The session has expired.", "i18n": {"key": "idx.session.expired"}, "class": "ERROR"}]},
        }
