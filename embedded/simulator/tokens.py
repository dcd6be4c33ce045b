"""The authorization server's signing key, JWKS, and the tokens it mints (RS256 JWTs)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .compare import as_bytes
from .org import Client, User


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(as_bytes(verifier)).digest())


@dataclass
class Grant:
    """What a refresh token stands for."""

    user: User
    client: Client
    scopes: list[str]
    amr: list[str]
    auth_time: float
    nonce: str | None = None
    acr: str | None = None  # the acr_values value the sign-in met (kept on refresh)
    idp: str | None = None  # the org's id, or the identity provider's after a social sign-in


class TokenService:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_urlsafe(12)
        self.refresh: dict[str, Grant] = {}
        self.revoked: set[str] = set()

    def jwks(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "alg": "RS256", "kid": self.kid, "use": "sig"}]}

    def _sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def issue(self, issuer: str, grant: Grant, *, with_refresh: str | None = None) -> dict:
        """Token response for a grant; a refresh token when offline_access was granted."""
        now = int(time.time())
        user, client = grant.user, grant.client
        access = self._sign(
            {
                "ver": 1,
                "jti": "AT." + secrets.token_urlsafe(16),
                "iss": issuer,
                "aud": "api://default",
                "iat": now,
                "exp": now + client.access_token_lifetime,
                "cid": client.id,
                "uid": user.id,
                "scp": grant.scopes,
                "auth_time": int(grant.auth_time),
                "sub": user.login,
                **({"acr": grant.acr} if grant.acr else {}),
            }
        )
        body = {
            "token_type": "Bearer",
            "expires_in": client.access_token_lifetime,
            "access_token": access,
            "scope": " ".join(grant.scopes),
        }
        if "openid" in grant.scopes:
            claims = {
                "ver": 1,
                "jti": "ID." + secrets.token_urlsafe(16),
                "iss": issuer,
                "aud": client.id,
                "sub": user.id,
                "iat": now,
                "exp": now + client.id_token_lifetime,
                "auth_time": int(grant.auth_time),
                "amr": grant.amr,
                "idp": grant.idp or "00o" + user.id[3:],
                "at_hash": b64url(hashlib.sha256(access.encode()).digest()[:16]),
            }
            if grant.acr:
                claims["acr"] = grant.acr
            if grant.nonce:
                claims["nonce"] = grant.nonce
            claims.update(self.profile_claims(user, grant.scopes))
            body["id_token"] = self._sign(claims)
        if "offline_access" in grant.scopes:
            token = with_refresh or secrets.token_urlsafe(32)
            self.refresh[token] = grant
            body["refresh_token"] = token
        return body

    @staticmethod
    def profile_claims(user: User, scopes: list[str]) -> dict[str, Any]:
        claims: dict[str, Any] = {}
        if "profile" in scopes:
            claims.update(
                name=user.name, preferred_username=user.login, given_name=user.first_name, family_name=user.last_name
            )
        if "email" in scopes:
            claims.update(email=user.email, email_verified=True)
        return claims

    def read_access_token(self, token: str, issuer: str) -> dict | None:
        if token in self.revoked:
            return None
        try:
            return jwt.decode(
                token, self.key.public_key(), algorithms=["RS256"], audience="api://default", issuer=issuer
            )
        except jwt.PyJWTError:
            return None

    def read_id_token(self, token: str, issuer: str) -> dict | None:
        """Claims of an ID token we signed (expiry not checked: logout hints may be old)."""
        try:
            return jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                issuer=issuer,
                options={"verify_aud": False, "verify_exp": False},
            )
        except jwt.PyJWTError:
            return None
