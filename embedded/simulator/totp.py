"""RFC 6238 time-based one-time passwords (30 s step, 6 digits, SHA-1), as Google Authenticator
and Okta Verify compute them."""

import base64
import hashlib
import hmac
import struct
import time

STEP = 30
DIGITS = 6


def _key(secret: str) -> bytes:
    clean = secret.replace(" ", "").upper()
    return base64.b32decode(clean + "=" * (-len(clean) % 8))


def hotp(secret: str, counter: int) -> str:
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def totp(secret: str, at: float | None = None) -> str:
    return hotp(secret, int((time.time() if at is None else at) // STEP))


def verify(secret: str, code: str, at: float | None = None, window: int = 1) -> bool:
    """True when `code` matches the current step or one of `window` steps either side (clock skew)."""
    code = (code or "").strip()
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):  # no digits of other scripts
        return False
    counter = int((time.time() if at is None else at) // STEP)
    return any(hmac.compare_digest(hotp(secret, counter + delta), code) for delta in range(-window, window + 1))


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """otpauth:// URI that authenticator apps read from a QR code."""
    from urllib.parse import quote

    return (
        f"otpauth://totp/{quote(issuer)}:{quote(account)}"
        f"?secret={secret}&issuer={quote(issuer)}&algorithm=SHA1&digits={DIGITS}&period={STEP}"
    )
