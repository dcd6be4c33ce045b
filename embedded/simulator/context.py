"""What one running simulator holds (the org, engine and its IDX endpoints, outbox, tokens, faults,
call log), stored in its aiohttp app under SIMULATOR, and the two error shapes its endpoints answer
with."""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from urllib.parse import urlsplit

from aiohttp import web

from . import faults as faults_mod
from .engine import Engine
from .hosted_pages import HostedSignin
from .org import Org
from .outbox import Outbox
from .submissions import Submissions
from .tokens import TokenService

ION = "application/ion+json; okta-version=1.0.0"


class Simulator:
    """Everything one running simulator holds; stored in the app under SIMULATOR."""

    def __init__(
        self, org: Org, issuer: str | None = None, app_url: str | None = None, *, base: str = "/oauth2/default"
    ):
        self.org = org
        self.issuer = issuer
        self.base = base  # the authorization server's path: discovery and /v1/* live under it
        # Where the links of admin emails (activation, password reset) point: the app's origin.
        self.app_url = (app_url or default_app_url(org)).rstrip("/")
        self.outbox = Outbox()
        self.engine = Engine(org, self.outbox, issuer)
        self.submissions = Submissions(self.engine)  # what each IDX endpoint does
        self.tokens = TokenService()
        self.faults = faults_mod.Faults()
        self.calls: list[tuple[str, str]] = []
        self.signins: dict[str, HostedSignin] = {}  # sign-ins on the simulator's own pages, by cookie
        self._recent: dict[str, deque[float]] = defaultdict(deque)

    @property
    def revoked(self) -> set[str]:
        return self.tokens.revoked

    def expire_all(self) -> None:
        self.engine.expire_all()

    def issuer_for(self, request: web.Request) -> str:
        return self.issuer or f"{request.scheme}://{request.host}/oauth2/default"

    def origin_for(self, request: web.Request) -> str:
        return self.issuer_for(request).split("/oauth2")[0]

    def rate_limited(self, handle: str) -> bool:
        """Okta's per-stateHandle limit: N calls in a sliding window of S seconds."""
        now, window = time.monotonic(), self._recent[handle]
        while window and now - window[0] > self.org.rate_limit_seconds:
            window.popleft()
        if len(window) >= self.org.rate_limit_requests:
            return True
        window.append(now)
        return False


SIMULATOR = web.AppKey("SIMULATOR", Simulator)


def default_app_url(org: Org) -> str:
    """The origin of the first client's first redirect URI (the demo app), without a path."""
    for client in org.clients:
        for uri in client.redirect_uris:
            parts = urlsplit(uri)
            if parts.scheme and parts.netloc:
                return f"{parts.scheme}://{parts.netloc}"
    return "http://127.0.0.1:8080"


def sim(request: web.Request) -> Simulator:
    return request.app[SIMULATOR]


# ------------------------------------------------------------------------ responses
def ion_response(doc: dict, status: int = 200) -> web.Response:
    """An IDX answer, its Content-Type exactly Okta's (no charset parameter: JSON is UTF-8)."""
    return web.Response(status=status, body=json.dumps(doc).encode(), headers={"Content-Type": ION})


def oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def text_fields(fields: Mapping[str, object]) -> dict[str, str]:
    """The text values of a query or form (files dropped); a repeated name keeps its first value."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            out.setdefault(name, value)
    return out
