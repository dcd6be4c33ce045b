"""The async IDX / OAuth protocol client: one per app, stateless between calls.

Ion bodies, including error statuses that carry one, come back as raw dicts for
`idx_models.parse`. OAuth errors and transport faults raise typed exceptions.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import aiohttp

from .config import Settings
from .policy import is_org_url

ION = "application/ion+json; okta-version=1.0.0"
USER_AGENT = "embedded-idx-python/0.1"
# What an Identity Engine answer may be: IDX documents are tens of kilobytes and 15 levels deep,
# so anything far bigger or deeper is refused (a 502 page) before it is parsed or stored.
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
FORM_TYPE = "application/x-www-form-urlencoded"
# What urlencode's quote_plus leaves as it is: client ids, codes, verifiers, grant types, tokens.
FORM_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")
# Called after every upstream call with (endpoint, status, seconds); see `endpoint_label`.
Observer = Callable[[str, str, float], None]
LABEL = re.compile(r"[a-z0-9/_.-]{1,48}")
# The language of the person the current request serves (one of `locales.CODES`), set by the web
# layer once it knows it: IDX calls send it as Accept-Language, so the Identity Engine's own
# messages and labels come back in that language. Each request runs in its own task, so its
# value is that request's alone.
LANGUAGE: ContextVar[str | None] = ContextVar("embedded.idx_language", default=None)


class UpstreamError(Exception):
    """The Identity Engine could not be reached or sent something unusable."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class OAuthError(Exception):
    """An OAuth error body: {"error": ..., "error_description": ...}."""

    def __init__(self, error: str, description: str = "", status: int | None = None):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class RequestContext:
    """Who is signing in, as Okta's risk engine wants to know on /interact: the person's address,
    browser and a per-browser device token. Okta honours these only from confidential clients."""

    client_ip: str | None
    user_agent: str | None
    device_token: str | None

    def headers(self, *, confidential: bool) -> dict[str, str]:
        out = {"User-Agent": self.user_agent} if self.user_agent else {}
        if confidential:
            if self.client_ip:
                out["X-Forwarded-For"] = self.client_ip
            if self.device_token:
                out["X-Device-Token"] = self.device_token
        return out


@dataclass(frozen=True)
class IonReply:
    status: int
    body: dict
    text: str | None = None  # the body as it came (kept as is when nothing in it had to change)


@functools.lru_cache(maxsize=64)  # a few endpoints, called again and again
def endpoint_label(url: str) -> str:
    """A short, bounded name for an upstream endpoint, for metrics: `idx/introspect`,
    `v1/token`, `discovery`; `other` for a path that does not look like Okta's."""
    path = urlsplit(url).path
    if path.endswith("/.well-known/openid-configuration"):
        return "discovery"
    for marker in ("/idp/idx/", "/v1/"):
        if (i := path.find(marker)) >= 0:
            label = path[i + 1 :].removeprefix("idp/")
            return label if LABEL.fullmatch(label) else "other"
    return "other"


# `text_depth` keeps a JSON text's quotes and brackets only, every bracket as "(" or ")".
BRACKETS = bytes.maketrans(b"[{]}", b"(())")
NOT_QUOTE_OR_BRACKET = bytes(c for c in range(256) if c not in b'"[]{}')


def text_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply a text json.loads accepts nests, as walking the parsed document would say, read
    from the text with C loops (a third of the time json.loads takes, where walking the parsed
    document took three times as long); it stops counting past `limit`. Brackets inside strings
    do not count: escaped backslashes then escaped quotes go first, so every quote left opens or
    closes a string."""
    structure = text.encode("utf-8", "surrogatepass")  # a lone surrogate some charsets decode to stays one
    if b"\\" in structure:
        structure = structure.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Two quotes with nothing between them are a string without brackets (or the close of one and
    # the open of the next): dropping them leaves every other quote opening or closing as before.
    structure = structure.translate(BRACKETS, NOT_QUOTE_OR_BRACKET).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])  # what lies outside strings
    depth = 0
    while structure and depth <= limit:  # each pass takes out the innermost level of brackets
        structure = structure.replace(b"()", b"")
        depth += 1
    return depth


def form_body(form: dict[str, str]) -> bytes:
    """`urlencode(form).encode()`, quoting only what needs it: urllib's layers of calls for each
    name and value cost more than the rest of an OAuth call's own work."""
    return "&".join(
        [
            f"{k if FORM_SAFE.fullmatch(k) else quote_plus(k)}={v if FORM_SAFE.fullmatch(v) else quote_plus(v)}"
            for k, v in form.items()
        ]
    ).encode()


def parse_json(raw: bytes, charset: str | None) -> Any:
    """A body as JSON (None when it is not JSON); UpstreamError when it nests too deeply."""
    if not raw:
        return None
    try:
        text = raw.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        raise UpstreamError("undecodable response") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise UpstreamError("response nested too deeply") from None
    except ValueError:
        return None
    if text_depth(text) > MAX_JSON_DEPTH:
        raise UpstreamError("response nested too deeply")
    return doc


class IdxClient:
    def __init__(self, http: aiohttp.ClientSession, settings: Settings, observe: Observer | None = None):
        self.http = http
        self.settings = settings
        self.observe = observe
        self._discovery: dict | None = None
        self._discovery_lock = asyncio.Lock()
        self._keys_fetched = False

    # --- transport ----------------------------------------------------------------------

    async def _request(self, method: str, url: str, **kwargs) -> tuple[int, Any, dict]:
        # Handles, secrets and passwords go only to the configured Identity Engine, and only to a
        # URL that is one (no CR/LF for aiohttp to refuse mid-request), whatever an href says.
        if not is_org_url(url, self.settings.org_origin):
            raise UpstreamError("URL outside the Identity Engine")
        headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
        started, outcome = time.monotonic(), "error"
        try:
            try:
                async with self.http.request(method, url, headers=headers, allow_redirects=False, **kwargs) as resp:
                    status, outcome = resp.status, "unusable"  # until the body is read and parsed
                    raw = await self._read(resp)
                    charset, retry_after = resp.charset, resp.headers.get("Retry-After")
            except TimeoutError:
                outcome = "timeout"
                raise UpstreamError("timeout") from None
            except (aiohttp.ClientError, OSError) as exc:
                raise UpstreamError(type(exc).__name__) from None
            try:
                body = parse_json(raw, charset)
            except UpstreamError as exc:
                exc.status = status
                raise
            outcome = str(status)
        finally:
            if self.observe is not None:
                self.observe(endpoint_label(url), outcome, time.monotonic() - started)
        return (
            status,
            body,
            {
                "retry_after": int(retry_after) if retry_after and retry_after.isdigit() else None,
                # The text parsed, decoded again (cheap beside encoding the body anew to keep it).
                "text": raw.decode(charset or "utf-8") if body is not None else None,
            },
        )

    @staticmethod
    async def _read(resp: aiohttp.ClientResponse) -> bytes:
        """The body, up to MAX_RESPONSE_BYTES; bigger is refused before it is all read."""
        if (resp.content_length or 0) > MAX_RESPONSE_BYTES:
            raise UpstreamError("response too large", status=resp.status)
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise UpstreamError("response too large", status=resp.status)
            chunks.append(chunk)
        return b"".join(chunks)  # a body that came in one chunk is not copied

    async def _ion(self, url: str, body: dict, content_type: str) -> IonReply:
        headers = {"Content-Type": content_type, "Accept": ION}
        if language := LANGUAGE.get():
            headers["Accept-Language"] = language
        status, doc, meta = await self._request("POST", url, json=body, headers=headers)
        if status >= 500:  # whatever its body says, the Identity Engine failed: the upstream-error page
            raise UpstreamError("server error", status=status, retry_after=meta["retry_after"])
        if isinstance(doc, dict) and "version" in doc:
            return IonReply(status, doc, meta["text"])
        raise UpstreamError("not an IDX response", status=status, retry_after=meta["retry_after"])

    async def _oauth(self, url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> dict:
        # Encoded here: aiohttp's FormData machinery costs more than the call's own work.
        status, doc, meta = await self._request(
            "POST",
            url,
            data=form_body(form),
            headers={"Accept": "application/json", "Content-Type": FORM_TYPE, **(headers or {})},
        )
        if status >= 500:  # an outage, not an answer about this request (a refresh token stays good)
            raise UpstreamError("server error", status=status, retry_after=meta["retry_after"])
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            raise OAuthError(doc["error"], str(doc.get("error_description") or ""), status)
        if status == 200 and doc is None:
            return {}  # revoke answers 200 with an empty body
        if status != 200 or not isinstance(doc, dict):
            raise UpstreamError("unexpected OAuth response", status=status, retry_after=meta["retry_after"])
        return doc

    def _client_auth(self) -> dict[str, str]:
        auth = {"client_id": self.settings.client_id}
        if self.settings.client_secret:
            auth["client_secret"] = self.settings.client_secret
        return auth

    # --- protocol -----------------------------------------------------------------------

    async def discovery(self) -> dict:
        """OpenID discovery, fetched once per client and then cached."""
        async with self._discovery_lock:
            if self._discovery is None:
                url = self.settings.issuer_url + "/.well-known/openid-configuration"
                status, doc, _ = await self._request("GET", url, headers={"Accept": "application/json"})
                if status != 200 or not isinstance(doc, dict):
                    raise UpstreamError("discovery failed", status=status)
                if doc.get("issuer") != self.settings.issuer_url:
                    raise UpstreamError("discovery names another issuer")
                if "S256" not in doc.get("code_challenge_methods_supported", ["S256"]):
                    raise UpstreamError("the issuer does not support PKCE S256")
                self._discovery = doc
            return self._discovery

    async def _endpoint(self, name: str, fallback: str) -> str:
        """An endpoint discovery names, or Okta's own path for it; some browsers are sent there
        (authorize, logout), so one that is not the Identity Engine's is refused here too."""
        url = (await self.discovery()).get(name)
        url = url if isinstance(url, str) else self.settings.oauth_base + fallback
        if not is_org_url(url, self.settings.org_origin):
            raise UpstreamError(f"discovery's {name} is outside the Identity Engine")
        return url

    async def interact(
        self,
        *,
        code_challenge: str,
        state: str,
        nonce: str,
        activation_token: str | None = None,
        recovery_token: str | None = None,
        context: RequestContext | None = None,
        acr_values: str | None = None,
        max_age: int | None = None,
    ) -> str:
        await self.discovery()
        form = {
            **self._client_auth(),
            "scope": " ".join(self.settings.scopes),
            "redirect_uri": self.settings.redirect_uri,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "state": state,
            "nonce": nonce,
        }
        if activation_token:
            form["activation_token"] = activation_token
        if recovery_token:
            form["recovery_token"] = recovery_token
        if acr_values:
            form["acr_values"] = acr_values
        if max_age is not None:
            form["max_age"] = str(max_age)
        doc = await self._oauth(
            self.settings.oauth_base + "/v1/interact",
            form,
            context.headers(confidential=bool(self.settings.client_secret)) if context else {},
        )
        handle = doc.get("interaction_handle")
        if not isinstance(handle, str) or not handle:
            raise UpstreamError("interact returned no interaction_handle")
        return handle

    async def introspect(self, interaction_handle: str) -> IonReply:
        return await self._ion(
            self.settings.org_origin + "/idp/idx/introspect", {"interactionHandle": interaction_handle}, ION
        )

    async def proceed(self, href: str, body: dict) -> IonReply:
        """Submit a remediation or action form to its own `href`."""
        return await self._ion(href, body, "application/json")

    async def exchange_code(self, interaction_code: str, code_verifier: str) -> dict:
        form = {
            **self._client_auth(),
            "grant_type": "interaction_code",
            "interaction_code": interaction_code,
            "code_verifier": code_verifier,
        }
        tokens = await self._oauth(await self._endpoint("token_endpoint", "/v1/token"), form)
        if not isinstance(tokens.get("id_token"), str):
            raise UpstreamError("token response without an id_token")
        return tokens

    async def authorize_url(
        self, *, code_challenge: str, state: str, nonce: str, acr_values: str | None = None, max_age: int | None = None
    ) -> str:
        """The org's own sign-in page (/v1/authorize) for the redirect model: authorization code
        with PKCE S256, state and nonce, back to the same redirect URI."""
        query = {
            "client_id": self.settings.client_id,
            "response_type": "code",
            "scope": " ".join(self.settings.scopes),
            "redirect_uri": self.settings.redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if acr_values:
            query["acr_values"] = acr_values
        if max_age is not None:
            query["max_age"] = str(max_age)
        return f"{await self._endpoint('authorization_endpoint', '/v1/authorize')}?{urlencode(query)}"

    async def exchange_authorization_code(self, code: str, code_verifier: str) -> dict[str, Any]:
        """The redirect model's code, for tokens (the same checks follow as for an interaction code)."""
        form = {
            **self._client_auth(),
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.redirect_uri,
            "code_verifier": code_verifier,
        }
        tokens = await self._oauth(await self._endpoint("token_endpoint", "/v1/token"), form)
        if not isinstance(tokens.get("id_token"), str):
            raise UpstreamError("token response without an id_token")
        return tokens

    async def refresh(self, refresh_token: str) -> dict:
        """New tokens for a refresh token (granted with `offline_access`); OAuthError when it is spent or revoked."""
        form = {
            **self._client_auth(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "scope": " ".join(self.settings.scopes),
        }
        tokens = await self._oauth(await self._endpoint("token_endpoint", "/v1/token"), form)
        if not isinstance(tokens.get("access_token"), str):
            raise UpstreamError("refresh response without an access_token")
        return tokens

    async def userinfo(self, access_token: str) -> dict:
        """The user's claims from the userinfo endpoint; OAuthError when the token is refused."""
        url = await self._endpoint("userinfo_endpoint", "/v1/userinfo")
        status, doc, meta = await self._request(
            "GET", url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        )
        if status == 401:
            raise OAuthError("invalid_token", "the access token was refused", status)
        if status != 200 or not isinstance(doc, dict):
            raise UpstreamError("unexpected userinfo response", status=status, retry_after=meta["retry_after"])
        return doc

    async def end_session_url(self) -> str:
        """Okta's /v1/logout, where a browser ends its Okta session."""
        return await self._endpoint("end_session_endpoint", "/v1/logout")

    async def revoke(self, token: str, hint: str) -> None:
        await self._oauth(
            await self._endpoint("revocation_endpoint", "/v1/revoke"),
            {**self._client_auth(), "token": token, "token_type_hint": hint},
        )

    async def jwks(self) -> dict:
        url = (await self.discovery()).get("jwks_uri")
        if not isinstance(url, str):
            raise UpstreamError("discovery has no jwks_uri")
        status, doc, _ = await self._request("GET", url, headers={"Accept": "application/json"})
        if status != 200 or not isinstance(doc, dict):
            raise UpstreamError("JWKS fetch failed", status=status)
        self._keys_fetched = True
        return doc

    async def ready(self) -> None:
        """For a readiness probe: discovery and the signing keys have been fetched once (and so
        the Identity Engine was reachable and sane). Costs upstream calls only until then;
        raises UpstreamError while it cannot be done."""
        await self.discovery()
        if not self._keys_fetched:
            await self.jwks()
