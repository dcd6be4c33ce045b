"""Every typed key the package stores on the application or the request, in one place.

All are namespaced "embedded." so they never collide with a host application's own keys.
"""

from __future__ import annotations

import jinja2
from aiohttp import web
from aiohttp_session import Session

from .config import Settings
from .idx_client import IdxClient
from .oidc import KeySet
from .ratelimit import Limiter, Rate
from .sessions import SessionStore
from .urls import Urls

SETTINGS = web.AppKey("embedded.settings", Settings)
URLS = web.AppKey("embedded.urls", Urls)  # every URL the package emits, under its prefix
TEMPLATES = web.AppKey("embedded.templates", jinja2.Environment)
IDX_CLIENT = web.AppKey("embedded.idx_client", IdxClient)
KEY_SET = web.AppKey("embedded.key_set", KeySet)
SESSION_STORAGE = web.AppKey("embedded.session_storage", SessionStore)
# The limits the session store counts as it opens a session (web.session.hit): "ip" (step posts
# per client address), "tx" (Identity Engine calls per transaction), "login" (sign-ins started
# per client address).
LIMITS = web.AppKey("embedded.limits", dict[str, Rate])
REPORT_LIMITER = web.AppKey("embedded.report_limiter", Limiter)  # CSP violation reports per client address
AUDIT_KEY = web.AppKey("embedded.audit_key", bytes)  # keys the hash of user identifiers in sign-in event logs

SESSION = web.RequestKey("embedded.session", Session)  # this browser's session, loaded by the middleware
OURS = web.RequestKey("embedded.ours", bool)  # the request is for one of the package's own routes
CORRELATION = web.RequestKey("embedded.correlation", str)  # one id per request, on error pages and in logs
CSP_NONCE = web.RequestKey("embedded.csp_nonce", str)
CSP_EXTRA = web.RequestKey("embedded.csp_extra", dict[str, tuple[str, ...]])  # directive -> extra sources, for one page
NEW_DEVICE_TOKEN = web.RequestKey("embedded.new_device_token", str)  # set as a cookie on the way out
