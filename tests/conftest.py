"""Shared test helpers: fixture loading, a fake Identity Engine on aioresponses, token minting.

Documents come from the project's own corpus (`doc(name)`: tests/fixtures/recorded, every demo
journey recorded from the simulator by tests/corpus.py, and a few hand-written ones in
tests/fixtures/idx). Okta's Sign-In Widget fixtures in ../shared/idx-fixtures are read in place
by the conformance suite only (`CONFORMANCE`), which is skipped, module by module with one
reason line, where that folder is missing (a clone without ../shared beside it)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestServer
from aioresponses import CallbackResult, aioresponses
from cryptography.hazmat.primitives.asymmetric import rsa

from embedded import Settings, flow
from embedded.demo import create_app
from embedded.idx_models import parse
from embedded.testing import Recording, rebase
from embedded.web.setup import RUNNER_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "idx-fixtures" / "okta-signin-widget"
OWN_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "idx"
RECORDED = Recording(Path(__file__).resolve().parent / "fixtures" / "recorded")

ORG = "http://localhost:3000"  # where the documents' hrefs point in tests (the widget fixtures' own origin)
ISSUER = ORG + "/oauth2/default"
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"

# --- the conformance suite over ../shared/idx-fixtures ------------------------------------

# Modules that read Okta's Sign-In Widget fixtures in place (paths under tests/).
CONFORMANCE = ("conformance/", "simulator/test_shapes.py")
NO_SHARED = (
    "conformance suite over Okta's Sign-In Widget fixtures: ../shared/idx-fixtures/okta-signin-widget/ "
    "is not beside this clone (CI has it); the project's own corpus in tests/fixtures/ runs instead"
)


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector):
    """Where ../shared is missing, a conformance module is one skip with the reason, never imported."""
    if isinstance(collector, pytest.Module) and not SHARED_FIXTURES.is_dir():
        where = collector.path.relative_to(Path(__file__).resolve().parent).as_posix()
        if where.startswith(CONFORMANCE):
            return pytest.CollectReport(collector.nodeid, "skipped", (str(collector.path), None, NO_SHARED), [])
    return None


def shared_fixture_paths() -> list[Path]:
    return sorted(SHARED_FIXTURES.glob("*.json"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def shared(name: str) -> dict:
    return load_json(SHARED_FIXTURES / name)


def own(name: str) -> dict:
    return load_json(OWN_FIXTURES / name)


# --- the project's own corpus --------------------------------------------------------------

# Documents by what they show: (journey, step) in tests/fixtures/recorded/manifest.json.
DOCS = {
    "identify": ("password", 0),  # identify (identifier only), two identity providers
    "challenge-password": ("password", 1),
    "identify-with-password": ("identify-with-password", 0),  # identifier and password on one page
    "identify-with-password-incorrect": (
        "identify-with-password-wrong",
        1,
    ),  # 401, errors.E0000004 "Authentication failed"
    "identify-with-password-unknown-user": ("identify-with-password-unknown-user", 1),  # 400, idx.unknown.user
    "session-expired": ("session-expired", 2),  # 401, idx.session.expired
    "challenge-email": ("email-code", 2),
    "email-code-incorrect": ("email-code-wrong-then-resend", 3),  # 401
    "enroll-security-question": ("enroll-security-question", 3),
    "enroll-webauthn": ("enroll-webauthn-page", 3),
    "unlock-done": ("unlock", 3),  # terminal, INFO
    "granular-consent": ("consent", 2),
    "profile-update": ("progressive-profiling", 2),
    "keep-me-signed-in": ("keep-me-signed-in", 2),
    "fastpass-loopback": ("fastpass-page", 2),  # challenge-poll, Okta Verify signed_nonce on loopback
}


def doc(name: str) -> Any:
    """A document of the own corpus, its hrefs on the test org (ORG)."""
    journey, index = DOCS[name]
    return rebase(RECORDED.document(journey, index), [RECORDED.org], ORG)


def with_messages(document: Any, *messages: tuple[str, str]) -> Any:
    """The document with these top-level ERROR messages, (i18n key, text), instead of its own."""
    value = [{"message": text, "i18n": {"key": key}, "class": "ERROR"} for key, text in messages]
    return {**document, "messages": {"type": "array", "value": value}}


def too_many_requests(document: Any = None) -> Any:
    """Okta's 429 Ion answer: the step again with `tooManyRequests`, or only the message."""
    return with_messages(
        document if document is not None else {"version": "1.0.0"}, ("tooManyRequests", "Too many requests")
    )


def own_corpus() -> list[tuple[str, Any]]:
    """Every recorded response, (journey/NN-endpoint, document), for tests over the whole corpus."""
    out = []
    for journey in RECORDED.names:
        for step in RECORDED.steps(journey):
            if step.redirect is None:
                out.append((step.source.removesuffix(".json"), rebase(step.body, [RECORDED.org], ORG)))
    return out


# --- aioresponses vs aiohttp >= 3.14 -----------------------------------------------------


class _FinishedUpload:
    output_size = 0


class MockedResponse(ClientResponse):
    """aioresponses 0.7.9 builds responses without the `stream_writer` aiohttp 3.14 requires."""

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("stream_writer", _FinishedUpload())
        super().__init__(method, url, **kwargs)


class IdxMock(aioresponses):
    """aioresponses that lets the test client reach the app on 127.0.0.1."""

    def __init__(self):
        super().__init__(passthrough=["http://127.0.0.1"])

    def add(self, *args, **kwargs):
        kwargs.setdefault("response_class", MockedResponse)
        return super().add(*args, **kwargs)


def reply(**kwargs) -> CallbackResult:
    """A callback's answer, built with the same response class."""
    return CallbackResult(response_class=MockedResponse, **kwargs)


# --- keys and tokens ---------------------------------------------------------------------


class Signer:
    def __init__(self, kid: str = "test-key"):
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def jwks(self) -> dict:
        return {"keys": [self.jwk()]}

    def mint(self, *, headers: dict | None = None, **claims) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "00u1alice",
            "iat": now,
            "exp": now + 3600,
            "name": "Alice Anders",
            "email": "alice@example.com",
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.private, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()


# --- a fake Identity Engine ----------------------------------------------------------------


class FakeOrg:
    """Discovery, keys, interact, token and revoke, plus IDX replies queued per path; records every call."""

    def __init__(self, mock: IdxMock, signer: Signer):
        self.mock = mock
        self.signer = signer
        self.calls: list[tuple[str, str, dict]] = []
        self.interact_form: dict[str, str] = {}
        self.id_token_claims: dict[str, Any] = {}
        discovery = {
            "issuer": ISSUER,
            "authorization_endpoint": ISSUER + "/v1/authorize",
            "token_endpoint": ISSUER + "/v1/token",
            "revocation_endpoint": ISSUER + "/v1/revoke",
            "jwks_uri": ISSUER + "/v1/keys",
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        mock.get(
            ISSUER + "/.well-known/openid-configuration", payload=discovery, repeat=True, callback=self._record("GET")
        )
        mock.get(
            ISSUER + "/v1/keys",
            repeat=True,
            callback=lambda url, **kw: self._record("GET")(url, **kw) or reply(payload=self.signer.jwks()),
        )
        mock.post(ISSUER + "/v1/interact", repeat=True, callback=self._interact)
        mock.post(ISSUER + "/v1/token", repeat=True, callback=self._token)
        mock.post(ISSUER + "/v1/revoke", repeat=True, callback=self._record("POST"), body="")

    def _record(self, method: str):
        def record(url, **kwargs):
            if isinstance(kwargs.get("data"), bytes):  # OAuth forms go out encoded: record the fields
                kwargs = {**kwargs, "data": dict(parse_qsl(kwargs["data"].decode()))}
            self.calls.append((method, urlsplit(str(url)).path, kwargs))

        return record

    def _interact(self, url, **kwargs):
        self._record("POST")(url, **kwargs)
        self.interact_form = dict(parse_qsl(kwargs["data"].decode()))
        return reply(payload={"interaction_handle": f"ih-{len(self.calls)}"})

    def _token(self, url, **kwargs):
        self._record("POST")(url, **kwargs)
        claims = {"nonce": self.interact_form.get("nonce"), **self.id_token_claims}
        return reply(
            payload={
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": "at-sentinel-0001",
                "refresh_token": "rt-sentinel-0001",
                "id_token": self.signer.mint(**claims),
                "scope": "openid profile email",
            }
        )

    def idx(self, path: str, body: Any, status: int = 200, **kwargs) -> None:
        """Queue one reply for an IDX endpoint (path relative to the org).

        The shared fixtures expired in 2020; replies get a fresh `expiresAt` so the app's
        own expiry check lets them through.
        """
        if isinstance(body, dict) and "expiresAt" in body:
            body = {**body, "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 600))}
        self.mock.post(
            ORG + path,
            status=status,
            payload=body if not isinstance(body, str) else None,
            body=body if isinstance(body, str) else "",
            callback=self._record("POST"),
            **kwargs,
        )

    def fail(self, path: str, exc: Exception) -> None:
        """Make the next call to an IDX endpoint fail at the transport level."""
        self.mock.post(ORG + path, exception=exc, callback=self._record("POST"))

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.calls]

    def bodies(self, path: str) -> list[Any]:
        return [
            kw.get("json") if kw.get("json") is not None else kw.get("data") for _, p, kw in self.calls if p == path
        ]


@pytest.fixture
def idx_mock():
    with IdxMock() as mock:
        yield mock


@pytest.fixture
def org(idx_mock, signer) -> FakeOrg:
    return FakeOrg(idx_mock, signer)


# Tests walk a transaction at machine speed, faster than the default per-transaction limit lets
# anyone (a burst of 5, then one every 5/6 s); the limits have tests of their own, which set them.
MACHINE_SPEED = (1000, 5.0)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        issuer=ISSUER,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="http://127.0.0.1/login/callback",
        scopes=("openid", "profile", "email", "offline_access"),
        step_limit_per_transaction=MACHINE_SPEED,
    )


async def serve(aiohttp_client, settings: Settings):
    """A test client for the app, served the way the command line serves it."""
    server = TestServer(create_app(settings))
    await server.start_server(**RUNNER_OPTIONS)
    return await aiohttp_client(server)


def demo_settings(simulator_port: int, redirect_uri: str = "http://127.0.0.1:8080/login/callback") -> Settings:
    """The app configured for the simulator's demo org and client."""
    return Settings(
        issuer=f"http://127.0.0.1:{simulator_port}/oauth2/default",
        client_id="demo-client",
        client_secret="demo-secret",
        scopes=("openid", "profile", "email", "offline_access"),
        redirect_uri=redirect_uri,
        step_limit_per_transaction=MACHINE_SPEED,
    )


@pytest.fixture
async def simulator(aiohttp_server):
    """The local Identity Engine with the demo org, on a loopback port."""
    from embedded.simulator import create_simulator_app

    return await aiohttp_server(create_simulator_app())


@pytest.fixture
async def listened(aiohttp_server):
    """The simulator, with each IDX call it answers noted: (path, Accept-Language, reply)."""
    from aiohttp import web

    from embedded.simulator import create_simulator_app

    heard: list[tuple[str, str | None, dict]] = []

    @web.middleware
    async def note(request: web.Request, handler):
        response = await handler(request)
        if request.path.startswith("/idp/idx/"):
            heard.append((request.path, request.headers.get("Accept-Language"), json.loads(response.body)))
        return response

    app = create_simulator_app()
    app.middlewares.append(note)
    server = await aiohttp_server(app)
    server.heard = heard
    return server


@pytest.fixture
async def client(aiohttp_client, settings, org):
    return await serve(aiohttp_client, settings)


# --- page scraping -----------------------------------------------------------------------


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert m, f"no hidden field {name}"
    return m.group(1)


async def post_step(client, html: str, fields: dict[str, str], *, form: str = "0", action: str | None = None):
    """Submit the page's form the way a browser would (csrf and step from the page)."""
    data = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), **fields}
    data["_action" if action else "_form"] = action or form
    return await client.post("/login/step", data=data, allow_redirects=False)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def start(client, org, first=None) -> str:
    """GET /login (interact + introspect) and return the first step's page."""
    first = first or doc("identify")
    org.idx("/idp/idx/introspect", first)
    if (sole := flow.sole_choice(parse(first))) is not None:
        # A choice of one way the app makes itself: answered with the same document, which it then shows.
        org.idx(urlsplit(sole[0].href).path, first)
    resp = await client.get("/login", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"
    page = await client.get("/login/step")
    assert page.status == 200
    return await page.text()


async def identify_and_password(client, org, html) -> str:
    """Submit the identifier and return the password page."""
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    resp = await post_step(client, html, {"identifier": " alice@example.com "})
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"
    html = await (await client.get("/login/step")).text()
    assert "<!-- template: steps/challenge-authenticator--okta_password.html -->" in html
    return html


async def sign_in(client, org, password="Alice-Passw0rd!"):
    """A whole password sign-in; returns the final response (303 to /)."""
    html = await identify_and_password(client, org, await start(client, org))
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    return await post_step(client, html, {"credentials.passcode": password})
