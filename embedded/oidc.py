"""PKCE, state and nonce; the JWKS cache; ID-token validation.

RS256 only, the algorithm fixed here and never read from the token. Keys come from the
issuer's JWKS; an unknown `kid` triggers at most one refetch per minute.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 120
JWKS_REFETCH_SECONDS = 60


COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MAX_TOKEN_CHARS = 64 * 1024
KEY_SOURCE_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat")


class InvalidIdToken(Exception):
    """The ID token failed a check; the message names which, never the token itself."""


def new_verifier() -> str:
    """A PKCE code verifier: 64 characters of [A-Za-z0-9_-], 384 bits (RFC 7636 §4.1, §7.1)."""
    return secrets.token_urlsafe(48)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def random_value() -> str:
    """For `state` and `nonce`: 256 random bits."""
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality for secrets such as `state` and `nonce`."""
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a.encode(), b.encode())


class KeySet:
    """The issuer's signing keys, fetched lazily and cached by `kid`."""

    def __init__(self, fetch: Callable[[], Awaitable[Any]], clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._fetched_at: float | None = None
        # Sign-ins that arrive together while the keys are being fetched wait for that one fetch
        # instead of finding no keys (and, the fetch being "recent", no refetch either).
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> rsa.RSAPublicKey | None:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and (
                self._fetched_at is None or self._clock() - self._fetched_at >= JWKS_REFETCH_SECONDS
            ):
                self._fetched_at = self._clock()
                # A failed fetch raises before touching the cache, so known keys keep working.
                self._keys.update(self._parse(await self._fetch()))
        return self._keys.get(kid)

    @staticmethod
    def _parse(jwks: Any) -> dict[str, rsa.RSAPublicKey]:
        keys: dict[str, rsa.RSAPublicKey] = {}
        for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
                continue
            try:
                key = jwt.PyJWK(jwk, algorithm="RS256").key
            except jwt.PyJWTError:
                continue
            # A JWK that carries the private half too is used for its public half only.
            keys[jwk["kid"]] = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        return keys


def _unpadded(part: str) -> bytes:
    """A base64url part of a compact JWS: no padding, and canonical (the unused bits of its last
    character zero), so no second spelling of the same bytes passes for the signed one."""
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != part.encode("ascii"):
        raise ValueError("not canonical base64url")
    return raw


def _is_number(v: object) -> TypeGuard[float]:
    """A JSON number: int or float, but not a bool (which is an int to Python)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


async def validate_id_token(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: float | None = None,
    acr_values: str | None = None,
    max_age: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims after every check of OIDC Core §3.1.3.7 that applies here."""
    # Compact serialization only: three unpadded base64url parts, within a sane size. Anything
    # else (padding, standard base64, whitespace, a JWE) is refused before any parsing.
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not COMPACT_JWS.fullmatch(token):
        raise InvalidIdToken("malformed token")
    try:
        header = json.loads(_unpadded(token.partition(".")[0]))
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidIdToken("malformed token") from exc
    if not isinstance(header, dict):
        raise InvalidIdToken("malformed token")
    if header.get("alg") not in ALGORITHMS:
        raise InvalidIdToken(f"algorithm {header.get('alg')!r} is not allowed")
    if KEY_SOURCE_HEADERS & header.keys():
        # Keys come from the issuer's JWKS only; a token naming its own key is never trusted.
        raise InvalidIdToken("the token names its own key")
    if "crit" in header:
        raise InvalidIdToken("critical header extensions are not supported")
    kid = header.get("kid")
    key = await keys.key(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidIdToken("unknown signing key")
    signing_input, _, signature = token.rpartition(".")
    try:
        # RS256 (RFC 7518 §3.3) with the issuer's key, checked here directly: the algorithm is
        # ours, never the token's, and the claims are read only once the signature holds.
        key.verify(_unpadded(signature), signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        claims = json.loads(_unpadded(signing_input.partition(".")[2]))
    except InvalidSignature:
        raise InvalidIdToken("bad signature") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidIdToken("malformed token") from exc
    if not isinstance(claims, dict):
        raise InvalidIdToken("malformed token")
    if missing := [name for name in REQUIRED_CLAIMS if claims.get(name) is None]:
        raise InvalidIdToken(f"missing claims: {', '.join(missing)}")
    if claims["iss"] != issuer:  # exactly: no trailing slash, no other case
        raise InvalidIdToken("another issuer")
    aud = claims["aud"]
    if not (aud == client_id or (isinstance(aud, list) and all(isinstance(a, str) for a in aud) and client_id in aud)):
        raise InvalidIdToken("another audience")
    now = time.time() if now is None else now
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
    if not (_is_number(exp) and _is_number(iat) and _is_number(nbf)):
        raise InvalidIdToken("exp, iat and nbf must be numbers")
    if exp <= now - LEEWAY_SECONDS:
        raise InvalidIdToken("expired")
    if iat > now + LEEWAY_SECONDS or nbf > now + LEEWAY_SECONDS:
        raise InvalidIdToken("not valid yet")
    if iat > exp:
        raise InvalidIdToken("issued after it expires")
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise InvalidIdToken("several audiences and no matching azp")
    if nonce is None:
        # Direct Authentication's grants send no nonce, so a token carrying one was minted for
        # another request; the caller binds the token to this sign-in by other claims.
        if "nonce" in claims:
            raise InvalidIdToken("a nonce nobody asked for")
    elif not same(claims.get("nonce"), nonce):
        raise InvalidIdToken("nonce mismatch")
    # Step-up (OIDC Core §3.1.2.1): what was asked for must be what was done.
    if acr_values is not None and claims.get("acr") not in acr_values.split():
        raise InvalidIdToken("acr does not match acr_values")
    if max_age is not None:
        auth_time = claims.get("auth_time")
        if (
            not isinstance(auth_time, (int, float))
            or isinstance(auth_time, bool)
            or auth_time + max_age + LEEWAY_SECONDS < now
        ):
            raise InvalidIdToken("authentication older than max_age")
    return claims
