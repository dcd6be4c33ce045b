"""The protocol client against a mocked Identity Engine: URLs, headers, bodies and errors."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from conftest import CLIENT_ID, CLIENT_SECRET, ISSUER, ORG, doc, own, reply

from embedded.idx_client import ION, IdxClient, OAuthError, UpstreamError
from embedded.oidc import new_verifier, s256


@pytest.fixture
async def idx(settings, org):
    async with aiohttp.ClientSession() as http:
        yield IdxClient(http, settings)


def headers_of(org, path):
    return [kw["headers"] for _, p, kw in org.calls if p == path]


async def test_interact_sends_pkce_state_nonce_and_client_auth(idx, org):
    verifier = new_verifier()
    handle = await idx.interact(code_challenge=s256(verifier), state="st", nonce="no", recovery_token="rt")
    assert handle.startswith("ih-")
    form = org.interact_form
    assert form == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "openid profile email offline_access",
        "redirect_uri": "http://127.0.0.1/login/callback",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "state": "st",
        "nonce": "no",
        "recovery_token": "rt",
    }
    assert headers_of(org, "/oauth2/default/v1/interact")[0]["Accept"] == "application/json"
    assert org.paths()[:2] == ["/oauth2/default/.well-known/openid-configuration", "/oauth2/default/v1/interact"]


def test_pkce_challenge_is_the_rfc_7636_s256_of_the_verifier():
    # RFC 7636 appendix B.
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    verifiers = {new_verifier() for _ in range(100)}
    assert len(verifiers) == 100 and all(43 <= len(v) <= 128 for v in verifiers)


async def test_introspect_and_proceed_use_ion_headers(idx, org):
    org.idx("/idp/idx/introspect", doc("identify"))
    reply_ = await idx.introspect("ih-1")
    assert reply_.status == 200 and reply_.body["remediation"]
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    await idx.proceed(ORG + "/idp/idx/identify", {"identifier": "a", "stateHandle": "s"})
    (introspect_headers,) = headers_of(org, "/idp/idx/introspect")
    (proceed_headers,) = headers_of(org, "/idp/idx/identify")
    assert introspect_headers["Content-Type"] == ION and introspect_headers["Accept"] == ION
    assert proceed_headers["Content-Type"] == "application/json" and proceed_headers["Accept"] == ION
    assert org.bodies("/idp/idx/introspect") == [{"interactionHandle": "ih-1"}]


async def test_error_statuses_with_an_ion_body_are_states(idx, org):
    org.idx("/idp/idx/challenge/answer", own("error-challenge-password-incorrect.json"), status=401)
    result = await idx.proceed(ORG + "/idp/idx/challenge/answer", {"stateHandle": "s"})
    assert result.status == 401 and result.body["version"] == "1.0.0"


@pytest.mark.parametrize(
    "body, status",
    [
        ("<html>oops</html>", 500),
        ('{"errorCode":"E0000047","errorSummary":"rate limit"}', 429),
        ("", 200),
        ('{"message":"internal server error"}', 500),
    ],
)
async def test_non_ion_bodies_are_upstream_errors(idx, org, body, status):
    org.idx("/idp/idx/identify", body, status=status)
    with pytest.raises(UpstreamError) as caught:
        await idx.proceed(ORG + "/idp/idx/identify", {})
    assert caught.value.status == status


@pytest.mark.parametrize(
    "exc, reason", [(TimeoutError(), "timeout"), (aiohttp.ClientConnectionError(), "ClientConnectionError")]
)
async def test_transport_faults_are_typed(idx, org, exc, reason):
    org.fail("/idp/idx/identify", exc)
    with pytest.raises(UpstreamError, match=reason):
        await idx.proceed(ORG + "/idp/idx/identify", {})


async def test_forms_pointing_elsewhere_are_never_followed(idx, org):
    with pytest.raises(UpstreamError, match="outside"):
        await idx.proceed("https://evil.example.com/idp/idx/identify", {"stateHandle": "s"})
    assert org.calls == []


async def test_token_exchange_and_oauth_errors(idx, org):
    tokens = await idx.exchange_code("ic-1", "verifier-xyz")
    assert tokens["id_token"]
    assert org.bodies("/oauth2/default/v1/token")[0] == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "interaction_code",
        "interaction_code": "ic-1",
        "code_verifier": "verifier-xyz",
    }
    org.mock._matches.clear()
    org.mock.post(
        ISSUER + "/v1/token",
        callback=lambda url, **kw: reply(
            status=400, payload={"error": "invalid_grant", "error_description": "PKCE verification failed."}
        ),
    )
    with pytest.raises(OAuthError) as caught:
        await idx.exchange_code("ic-1", "wrong")
    assert caught.value.error == "invalid_grant" and caught.value.status == 400


async def test_revoke_sends_the_hint_and_accepts_an_empty_200(idx, org):
    await idx.revoke("rt-1", "refresh_token")
    assert org.bodies("/oauth2/default/v1/revoke") == [
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": "rt-1", "token_type_hint": "refresh_token"}
    ]


async def test_discovery_is_fetched_once_and_checked(idx, org, settings):
    await asyncio.gather(*(idx.discovery() for _ in range(5)))
    await idx.jwks()
    assert org.paths().count("/oauth2/default/.well-known/openid-configuration") == 1
    org.mock._matches.clear()
    org.mock.get(
        ISSUER + "/.well-known/openid-configuration",
        callback=lambda url, **kw: reply(payload={"issuer": "https://evil.example.com"}),
    )
    async with aiohttp.ClientSession() as http:
        with pytest.raises(UpstreamError, match="another issuer"):
            await IdxClient(http, settings).discovery()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_is_an_upstream_error_whatever_its_body(idx, org, status):
    """Checklist 46: an Ion body (or an OAuth error) on a 5xx is an outage, never a state to show."""
    org.idx("/idp/idx/identify", own("error-challenge-password-incorrect.json"), status=status)
    with pytest.raises(UpstreamError, match="server error") as caught:
        await idx.proceed(ORG + "/idp/idx/identify", {"stateHandle": "s"})
    assert caught.value.status == status
    await idx.discovery()  # fetched (and cached) before the token endpoint is replaced
    org.mock._matches.clear()
    org.mock.post(
        ISSUER + "/v1/token",
        callback=lambda url, **kw: reply(status=status, payload={"error": "server_error", "error_description": "x"}),
    )
    with pytest.raises(UpstreamError, match="server error"):  # not an OAuthError: a refresh token stays good
        await idx.refresh("rt-1")


async def test_a_429_with_an_ion_body_is_still_a_state(idx, org):
    org.idx("/idp/idx/identify", {"version": "1.0.0", "messages": {"value": []}}, status=429)
    assert (await idx.proceed(ORG + "/idp/idx/identify", {})).status == 429


@pytest.mark.parametrize(
    "href",
    [
        ORG + "/idp/idx/identify\r\nX-Injected: 1",
        ORG + "/idp/idx/identify\x85",
        ORG + "/idp/idx/ident ify",
        "http://[::1/idp/idx/identify",
        "https://localhost:3000/idp/idx/identify",  # the org is http on loopback: another origin
        "http://x@localhost:3000/idp/idx/identify",
    ],
)
async def test_no_request_is_made_to_an_href_that_is_not_a_clean_org_url(idx, org, href):
    with pytest.raises(UpstreamError, match="outside the Identity Engine"):
        await idx.proceed(href, {"stateHandle": "s"})
    assert org.calls == []


@pytest.mark.parametrize(
    "endpoint, url",
    [
        ("token_endpoint", "https://evil.example.com/oauth2/default/v1/token"),
        ("token_endpoint", ISSUER + "/v1/token\r\nX-Injected: 1"),
        ("end_session_endpoint", ISSUER + "/v1/logout\r\nSet-Cookie: x=1"),
        ("authorization_endpoint", "http://localhost:3000.evil.example/v1/authorize"),
    ],
)
async def test_endpoints_discovery_names_are_checked_before_use(org, settings, endpoint, url):
    """A browser is sent to the authorization and logout endpoints, codes and secrets go to the
    token endpoint: discovery naming one outside the Identity Engine is an UpstreamError."""
    org.mock._matches.clear()
    discovery = {"issuer": ISSUER, endpoint: url, "jwks_uri": ISSUER + "/v1/keys"}
    org.mock.get(ISSUER + "/.well-known/openid-configuration", callback=lambda u, **kw: reply(payload=discovery))
    async with aiohttp.ClientSession() as http:
        client = IdxClient(http, settings)
        use = {
            "token_endpoint": lambda: client.exchange_code("ic-1", "v"),
            "end_session_endpoint": client.end_session_url,
            "authorization_endpoint": lambda: client.authorize_url(code_challenge="c", state="s", nonce="n"),
        }[endpoint]
        with pytest.raises(UpstreamError, match=f"discovery's {endpoint} is outside the Identity Engine"):
            await use()
