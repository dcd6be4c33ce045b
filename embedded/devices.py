"""Authenticators that live on the person's device or in a frame: Okta Verify reached on a
loopback port (FastPass), Duo's iframe, and the Content-Security-Policy sources their pages need
(with a CAPTCHA provider's, see captcha.py).

Pure: every value read from an IDX response is checked before it can reach a header or a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import captcha
from .idx_models import Authenticator, IdxResponse


@dataclass(frozen=True)
class DuoFrame:
    """Duo Web v2: the frame at `origin` answers with a signed response; the app half of the
    request (`app_sig`) is appended before it goes back to the Identity Engine."""

    origin: str
    tx: str
    app_sig: str


def mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def device_challenge(response: IdxResponse) -> Mapping[str, Any] | None:
    """What Okta asks of an authenticator app on this device: `challengeMethod` LOOPBACK (with
    domain, ports, challengeRequest), CUSTOM_URI / UNIVERSAL_LINK / APP_LINK (an href to open),
    or APPLE_SSO_EXTENSION. In the current authenticator's contextualData, or top level."""
    for a in (response.current_authenticator, response.current_enrollment):
        found = mapping(mapping(a.contextual_data.get("challenge") if a else None).get("value"))
        if found.get("challengeMethod"):
            return found
    found = mapping(mapping(response.raw.get("authenticatorChallenge")).get("value"))
    return found if found.get("challengeMethod") else None


_LOOPBACK_DOMAIN = re.compile(r"https?://(localhost|127\.0\.0\.1|\[::1\])")
_PORT = re.compile(r"[0-9]{1,5}")


def loopback_origins(challenge: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The loopback addresses the browser may probe for Okta Verify; nothing unless every part
    is a plain loopback origin (the values end up in a Content-Security-Policy header)."""
    if not challenge or challenge.get("challengeMethod") != "LOOPBACK":
        return ()
    domain, ports = challenge.get("domain"), challenge.get("ports")
    if not isinstance(domain, str) or not _LOOPBACK_DOMAIN.fullmatch(domain) or not isinstance(ports, (list, tuple)):
        return ()
    if not all(_PORT.fullmatch(str(p)) for p in ports):
        return ()
    return tuple(f"{domain}:{p}" for p in ports)


_DUO_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_DUO_SIG = re.compile(r"(TX\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+):(APP\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+)")


def duo_frame(authenticator: Authenticator | None) -> DuoFrame | None:
    """Duo's iframe for `contextualData` {host, signedToken}; None when either is malformed."""
    if authenticator is None or authenticator.key != "duo":
        return None
    host, token = authenticator.contextual_data.get("host"), authenticator.contextual_data.get("signedToken")
    if not isinstance(host, str) or not _DUO_HOST.fullmatch(host) or not isinstance(token, str):
        return None
    m = _DUO_SIG.fullmatch(token)
    if m is None:
        return None
    scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
    return DuoFrame(origin=f"{scheme}://{host}", tx=m.group(1), app_sig=m.group(2))


def csp_additions(
    challenge: Mapping[str, Any] | None, duo: DuoFrame | None, widget: captcha.CaptchaWidget | None = None
) -> dict[str, tuple[str, ...]]:
    """Origins a step page's scripts must reach beyond our own: Okta Verify's loopback server,
    Duo's frame, a CAPTCHA provider. Only that page's: every other keeps the strict policy."""
    extra: dict[str, tuple[str, ...]] = dict(captcha.csp_additions(widget))
    if origins := loopback_origins(challenge):
        extra["connect-src"] = extra.get("connect-src", ()) + origins
    if duo is not None:
        extra["frame-src"] = extra.get("frame-src", ()) + (duo.origin,)
    return extra
