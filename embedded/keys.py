"""Every typed key the package stores on the application or the request, in one place, and
`config`, which reads the application's.

All are namespaced "embedded." so they never collide with a host application's own keys.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

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


# id(application) -> its keys and its parents', for as long as the application lives.
_SERVING: dict[int, dict[Any, Any]] = {}


def config(request: web.Request) -> Mapping[Any, Any]:
    """What `request.config_dict` reads (the request's application's keys and its parents'), as
    one dict per application, made at the first request it serves. aiohttp chains the mappings
    anew at each read, a dozen times a request here (3% of a sign-in's instructions); what they
    hold is settled once the application serves (changing a started one is deprecated)."""
    app = request.match_info.current_app
    found = _SERVING.get(id(app))
    if found is None:
        if not app.frozen:  # not serving yet (a test's mocked request): read it as it is now
            return request.config_dict
        chain = request.match_info.apps
        found = _SERVING[id(app)] = {k: v for each in chain[: chain.index(app) + 1] for k, v in each.items()}
        weakref.finalize(app, _SERVING.pop, id(app), None)  # before its id can be another's
    return found
