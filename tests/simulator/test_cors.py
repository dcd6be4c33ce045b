"""Trusted origins and CORS, as Okta does them: every endpoint a browser client of the org uses
answers a trusted origin's preflight and responses with that exact origin and credentials allowed;
any other origin gets no CORS header at all. The demo org trusts any loopback origin."""

import pytest

from embedded.simulator import create_simulator_app, demo_org
from embedded.simulator.org import OrgError, org_from_dict
from embedded.simulator.server import IDX_ENDPOINTS

from .conftest import ION, Idx, pkce_pair

PAGE = "http://localhost:5173"  # a single-page app in development
SPA = {"client_id": "demo-spa"}
# What okta-auth-js and the Sign-In Widget send besides the safelisted headers.
SDK_HEADERS = "x-okta-user-agent-extended, content-type, accept, authorization, x-device-token, x-device-fingerprint"
BROWSER_ENDPOINTS = [
    ("GET", "/oauth2/default/.well-known/openid-configuration"),
    ("GET", "/oauth2/default/v1/keys"),
    ("POST", "/oauth2/default/v1/interact"),
    ("POST", "/oauth2/default/v1/token"),
    ("POST", "/oauth2/default/v1/revoke"),
    ("GET", "/oauth2/default/v1/userinfo"),
    ("GET", "/oauth2/default/v1/logout"),
    *[("POST", f"/idp/idx/{e}") for e in IDX_ENDPOINTS],
]


def preflight(client, path, method, origin=PAGE, headers=SDK_HEADERS):
    return client.options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


def allows(r, origin=PAGE) -> bool:
    return (
        r.headers.get("Access-Control-Allow-Origin") == origin
        and r.headers.get("Access-Control-Allow-Credentials") == "true"
    )


@pytest.mark.parametrize("method, path", BROWSER_ENDPOINTS, ids=[p for _, p in BROWSER_ENDPOINTS])
async def test_a_trusted_origin_preflight_is_answered_on_every_browser_endpoint(client, method, path):
    r = await preflight(client, path, method)
    assert r.status == 204 and allows(r)
    assert method in r.headers["Access-Control-Allow-Methods"].split(", ")
    allowed = {h.lower() for h in r.headers["Access-Control-Allow-Headers"].split(", ")}
    assert {h.strip() for h in SDK_HEADERS.split(",")} <= allowed
    assert "Origin" in r.headers["Vary"] and int(r.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:8080",
        "http://localhost:3000",
        "http://[::1]:4200",
        "https://localhost:8443",
        "http://localhost",
    ],
)
async def test_the_demo_org_trusts_any_loopback_origin(client, origin):
    r = await preflight(client, "/oauth2/default/v1/interact", "POST", origin)
    assert r.status == 204 and allows(r, origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://127.0.0.1.evil.example:8080",
        "null",
        "http://localhost.evil.example",
        "file://",
        "http://10.0.0.7:8080",
    ],
)
async def test_an_untrusted_origin_gets_no_cors_header(client, origin):
    r = await preflight(client, "/oauth2/default/.well-known/openid-configuration", "GET", origin)
    assert r.status == 403 and not any(h.startswith("Access-Control-") for h in r.headers)
    r = await client.get("/oauth2/default/.well-known/openid-configuration", headers={"Origin": origin})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers  # the browser keeps it from the page
    assert r.headers["Vary"] == "Origin"


async def test_a_public_client_signs_in_with_cors_headers_on_every_answer(client):
    """What a single-page app sees: discovery, interact, IDX, token, keys, userinfo, each with the
    page's origin and credentials allowed; the IDX answers with Okta's exact media type."""
    origin = {"Origin": PAGE}
    r = await client.get("/oauth2/default/.well-known/openid-configuration", headers=origin)
    assert r.status == 200 and allows(r)
    verifier, challenge = pkce_pair()
    r = await client.post(
        "/oauth2/default/v1/interact",
        headers=origin,
        data={
            **SPA,
            "scope": "openid profile email",
            "redirect_uri": f"{PAGE}/login/callback",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s1",
            "nonce": "n1",
        },
    )
    assert r.status == 200 and allows(r)
    handle = (await r.json())["interaction_handle"]
    r = await client.post("/idp/idx/introspect", json={"interactionHandle": handle}, headers={**origin, "Accept": ION})
    assert r.status == 200 and allows(r) and r.headers["Content-Type"] == ION
    doc = await r.json(content_type=None)
    r = await client.post(
        "/idp/idx/identify", json={"identifier": "alice@example.com", "stateHandle": doc["stateHandle"]}, headers=origin
    )
    assert allows(r)
    r = await client.post(
        "/idp/idx/challenge/answer",
        headers=origin,
        json={"credentials": {"passcode": "nope"}, "stateHandle": doc["stateHandle"]},
    )
    assert r.status == 401 and allows(r)  # errors are readable too
    r = await client.post(
        "/idp/idx/challenge/answer",
        headers=origin,
        json={"credentials": {"passcode": "Alice-Passw0rd!"}, "stateHandle": doc["stateHandle"]},
    )
    success = (await r.json(content_type=None))["successWithInteractionCode"]
    code = next(f["value"] for f in success["value"] if f["name"] == "interaction_code")
    r = await client.post(
        "/oauth2/default/v1/token",
        headers=origin,
        data={**SPA, "grant_type": "interaction_code", "interaction_code": code, "code_verifier": verifier},
    )
    assert r.status == 200 and allows(r)
    access = (await r.json())["access_token"]
    r = await client.get("/oauth2/default/v1/keys", headers=origin)
    assert r.status == 200 and allows(r)
    r = await client.get("/oauth2/default/v1/userinfo", headers={**origin, "Authorization": f"Bearer {access}"})
    assert r.status == 200 and allows(r)
    r = await client.get("/oauth2/default/v1/userinfo", headers={**origin, "Authorization": "Bearer nope"})
    assert r.status == 401 and allows(r) and "WWW-Authenticate" in r.headers["Access-Control-Expose-Headers"]


async def test_faults_and_rate_limits_stay_readable_by_a_trusted_page(client, state):
    await client.post("/_sim/faults", json={"next": ["429"]})
    r = await client.get("/oauth2/default/v1/keys", headers={"Origin": PAGE})
    assert r.status == 429 and allows(r)
    # A preflight never draws a fault: the browser would report a CORS failure instead of the 429.
    await client.post("/_sim/faults", json={"next": ["500"]})
    assert (await preflight(client, "/oauth2/default/v1/keys", "GET")).status == 204
    assert (await client.get("/oauth2/default/v1/keys", headers={"Origin": PAGE})).status == 500  # drawn here
    flow = Idx(client)
    await flow.start()
    state.org.rate_limit_requests = 1
    r = await client.post("/idp/idx/introspect", json={"interactionHandle": flow.handle}, headers={"Origin": PAGE})
    assert r.status == 429 and allows(r) and "Retry-After" in r.headers["Access-Control-Expose-Headers"]


async def test_the_simulator_pages_and_controls_speak_no_cors(client):
    for path in ("/outbox.json", "/_sim/calls", "/outbox", "/"):
        r = await client.get(path, headers={"Origin": PAGE})
        assert "Access-Control-Allow-Origin" not in r.headers, path
    r = await preflight(client, "/_sim/faults", "POST")
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_trusted_origins_are_exact_unless_the_port_is_a_wildcard(aiohttp_client):
    org = demo_org()
    org.trusted_origins = ["https://app.example.com", "http://localhost:*"]
    client = await aiohttp_client(create_simulator_app(org))
    for origin, trusted in [
        ("https://app.example.com", True),
        ("https://app.example.com:443", True),
        ("https://app.example.com:8443", False),
        ("http://app.example.com", False),
        ("https://evil.app.example.com", False),
        ("https://app.example.com.evil.example", False),
        ("http://localhost:5173", True),
        ("http://localhost", True),
        ("https://localhost:5173", False),
        ("http://127.0.0.1:5173", False),
    ]:
        r = await preflight(client, "/oauth2/default/v1/token", "POST", origin)
        assert (r.status == 204 and allows(r, origin)) is trusted, origin
        assert allows(r, origin) is trusted, origin


@pytest.mark.parametrize(
    "entry",
    [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "ftp://app.example.com",
        "https://*.example.com",
        "https://app.example.com:99999x",
    ],
)
def test_a_malformed_trusted_origin_is_refused_when_the_org_loads(entry):
    with pytest.raises(OrgError, match="trusted origin"):
        org_from_dict({"org": {"trusted_origins": [entry]}})
