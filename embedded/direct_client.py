"""The Direct Authentication endpoints: /v1/token's direct grants, /v1/challenge and
/v1/primary-authenticate, through the IDX client's own transport (its timeouts, size limits,
org-URL check and upstream-call metrics). An OAuth error answer is returned as a
`direct.Refusal` (mfa_required carries the mfa_token the next calls need); an outage, a 429 or
an answer that is not JSON raises `UpstreamError` (the upstream-error page)."""

from __future__ import annotations

from typing import Any

from .direct import MFA_OOB, MFA_OTP, OOB, Refusal
from .idx_client import FORM_TYPE, IdxClient, RequestContext, UpstreamError, form_body

Answer = dict[str, Any] | Refusal


class DirectClient:
    def __init__(self, idx: IdxClient, context: RequestContext | None = None):
        self.idx = idx
        self.settings = idx.settings
        self.context = context

    async def _token_endpoint(self) -> str:
        return await self.idx._endpoint("token_endpoint", "/v1/token")

    async def _beside_token(self, name: str) -> str:
        """/v1/challenge and /v1/primary-authenticate sit beside the token endpoint."""
        token = await self._token_endpoint()
        return token.removesuffix("/token") + "/" + name

    async def _post(self, url: str, form: dict[str, str]) -> Answer:
        headers = {"Accept": "application/json", "Content-Type": FORM_TYPE}
        if self.context is not None:  # who is signing in, for the org's risk checks (confidential clients)
            headers.update(self.context.headers(confidential=bool(self.settings.client_secret)))
        auth = {"client_id": self.settings.client_id}
        if self.settings.client_secret:
            auth["client_secret"] = self.settings.client_secret
        status, doc, meta = await self.idx._request("POST", url, data=form_body({**auth, **form}), headers=headers)
        if status >= 500 or status == 429:  # an outage or Okta's rate limit: not an answer about this step
            reason = "server error" if status >= 500 else "rate limited"
            raise UpstreamError(reason, status=status, retry_after=meta["retry_after"])
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            token = doc.get("mfa_token")
            return Refusal(
                doc["error"], str(doc.get("error_description") or ""), token if isinstance(token, str) else None
            )
        if status != 200 or not isinstance(doc, dict):
            raise UpstreamError(
                "unexpected Direct Authentication response", status=status, retry_after=meta["retry_after"]
            )
        return doc

    async def token(self, grant_type: str, **params: str) -> Answer:
        """A direct grant; the primary ones (password, otp, oob) ask for the app's scopes."""
        form = {"grant_type": grant_type, **params}
        if grant_type not in (MFA_OTP, MFA_OOB):
            form["scope"] = " ".join(self.settings.scopes)
        return await self._post(await self._token_endpoint(), form)

    async def challenge(self, mfa_token: str, channel: str | None) -> Answer:
        """A second factor: a TOTP code (no channel) or an out-of-band one on `channel`."""
        form = {"mfa_token": mfa_token, "challenge_types_supported": MFA_OTP if channel is None else MFA_OOB}
        if channel is not None:
            form["channel_hint"] = channel
        return await self._post(await self._beside_token("challenge"), form)

    async def primary_authenticate(self, login_hint: str, channel: str) -> Answer:
        """Passwordless: send a push, SMS or voice call to the user named, for the oob grant."""
        form = {"login_hint": login_hint, "channel_hint": channel, "challenge_hint": OOB}
        return await self._post(await self._beside_token("primary-authenticate"), form)
