"""Every typed key the app stores on the application or the request, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .config import Settings
    from .idx_client import IdxClient
    from .middlewares import RateLimiter
    from .oidc import KeySet
    from .sessions import MemoryStorage

SETTINGS = web.AppKey("settings", "Settings")
IDX_CLIENT = web.AppKey("idx_client", "IdxClient")
KEY_SET = web.AppKey("key_set", "KeySet")
SESSION_STORAGE = web.AppKey("session_storage", "MemoryStorage")
IP_LIMITER = web.AppKey("ip_limiter", "RateLimiter")  # step posts per client address
TX_LIMITER = web.AppKey("tx_limiter", "RateLimiter")  # step posts per transaction
IN_FLIGHT = web.AppKey("in_flight", set)  # transactions with a remediation being submitted right now
AUDIT_KEY = web.AppKey("audit_key", bytes)  # keys the hash of user identifiers in sign-in event logs

CORRELATION = web.RequestKey("correlation", str)  # one id per request, on error pages and in logs
CSP_NONCE = web.RequestKey("csp_nonce", str)
CSP_EXTRA = web.RequestKey("csp_extra", dict)  # directive -> extra sources, for one page
NEW_DEVICE_TOKEN = web.RequestKey("new_device_token", str)  # set as a cookie on the way out
