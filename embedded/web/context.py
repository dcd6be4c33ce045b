"""Who is asking: the client's address and browser for /interact, and sign-in event lines."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from json.encoder import encode_basestring_ascii
from typing import Any

from aiohttp import web

from ..idx_client import RequestContext
from ..keys import AUDIT_KEY, CORRELATION, NEW_DEVICE_TOKEN, SETTINGS, config
from ..metrics import METRICS
from ..sessions import device_cookie_name

audit_log = logging.getLogger("embedded.audit")

DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")


REMEMBERED_IP_LENGTH = 64  # longer than any address but one with a long IPv6 zone (fe80::1%eth0)


def client_ip(request: web.Request) -> str | None:
    """The first address, from the right, that is not one of our trusted proxies."""
    trusted = config(request)[SETTINGS].trusted_proxies
    address = request.remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    while address in trusted and hops:
        address = hops.pop()
    if not address:
        return None
    return remembered_ip(address) if len(address) <= REMEMBERED_IP_LENGTH else canonical_ip(address)


def canonical_ip(address: str) -> str | None:
    """`address` as `ipaddress` writes it, or None when it is no address."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


# The same few addresses (clients, their proxies) come back request after request, and parsing
# one costs more than the rest of an event line. Entries are short whatever a header holds.
remembered_ip = functools.lru_cache(maxsize=1024)(canonical_ip)


def request_context(request: web.Request) -> RequestContext:
    """The person's address (through trusted proxies only), browser, and this browser's device
    token; a browser without one gets a new token, remembered in a long-lived cookie."""
    settings = config(request)[SETTINGS]
    token = request.cookies.get(device_cookie_name(settings.secure_cookies), "")
    if not DEVICE_TOKEN.fullmatch(token):
        token = secrets.token_urlsafe(32)
        request[NEW_DEVICE_TOKEN] = token
    return RequestContext(
        client_ip=client_ip(request),
        # Printable ASCII only: a browser's own string never needs more, and a line or paragraph
        # separator (NEL, U+2028) must not reach the Identity Engine's logs in our request.
        user_agent=NOT_PRINTABLE.sub("?", request.headers.get("User-Agent", "")[:512]) or None,
        device_token=token,
    )


def user_ref(request: web.Request, identifier: str | None) -> str | None:
    """A user identifier as the event log shows it: keyed-hashed, never the address itself."""
    if not identifier:
        return None
    digest = hmac.new(
        config(request)[AUDIT_KEY], identifier.strip().lower().encode("utf-8", "surrogatepass"), hashlib.sha256
    )
    return digest.hexdigest()[:20]


def audit(request: web.Request, event: str, *, user: str | None = None, **fields: Any) -> None:
    """One sign-in event, one log line: `event=… correlation=… ip=… user=…` plus details. Values
    are JSON strings (ASCII, quoted), so a CR, LF or any control character arrives escaped and
    nobody can forge a second line. `user` is already hashed (`user_ref`). The same values go in
    the record's `audit` attribute for structured handlers. Events are what the sign-in
    metrics count (started, completed, failed by reason, sign-outs)."""
    ip = client_ip(request)
    record = {"event": event, "correlation": request.get(CORRELATION), "ip": ip, "user": user, **fields}
    record = {k: v for k, v in record.items() if v is not None}
    if (metrics := config(request).get(METRICS)) is not None:
        metrics.event(event, record)
    # encode_basestring_ascii is what json.dumps does with a string, without its layers around it.
    line = " ".join([f"{k}={encode_basestring_ascii(str(v))}" for k, v in record.items()])
    audit_log.info("%s", line, extra={"audit": record})
