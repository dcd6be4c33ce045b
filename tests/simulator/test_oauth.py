"""OAuth side: discovery, JWKS, /interact checks, token exchange, refresh, revoke, userinfo, logout,
the IdP redirect, and malformed requests."""

import base64
import hashlib
import json

import jwt
import pytest

from .conftest import CLIENT, REDIRECT, Idx, pkce_pair

ISSUER_PATH = "/oauth2/default"


async def signed_in(client, scope="openid profile email") -> tuple[Idx, dict]:
    flow = Idx(client, scope=scope)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    r = await flow.exchange()
    assert r.status == 200
    return flow, await r.json()


async def test_discovery_and_jwks_verify_id_token(client):
    config = await (await client.get(f"{ISSUER_PATH}/.well-known/openid-configuration")).json()
    origin = str(client.make_url("")).rstrip("/")
    assert config["issuer"] == origin + ISSUER_PATH
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "interaction_code" in config["grant_types_supported"]
    jwks = await (await client.get(config["jwks_uri"].replace(origin, ""))).json()
    flow, tokens = await signed_in(client)
    header = jwt.get_unverified_header(tokens["id_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert header["alg"] == "RS256" and key["alg"] == "RS256"
    claims = jwt.decode(
        tokens["id_token"], jwt.PyJWK(key).key, algorithms=["RS256"], audience="demo-client", issuer=config["issuer"]
    )
    for claim in ("sub", "exp", "iat", "nonce", "auth_time", "amr", "name", "email", "preferred_username", "at_hash"):
        assert claim in claims
    assert claims["nonce"] == flow.nonce and claims["preferred_username"] == "alice@example.com"
    digest = jwt.utils.base64url_encode(hashlib.sha256(tokens["access_token"].encode()).digest()[:16])
    assert claims["at_hash"] == digest.decode()


async def test_code_is_single_use(client):
    flow, _ = await signed_in(client)
    r = await flow.exchange()
    assert r.status == 400
    assert await r.json() == {
        "error": "invalid_grant",
        "error_description": "The interaction code is invalid or has expired.",
    }


async def test_wrong_verifier_then_right(client):
    flow = Idx(client)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    r = await flow.exchange(code_verifier=pkce_pair()[0])
    assert r.status == 400 and await r.json() == {
        "error": "invalid_grant",
        "error_description": "PKCE verification failed.",
    }
    assert (await flow.exchange()).status == 200


async def test_wrong_secret_and_unknown_client(client):
    flow = Idx(client)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    r = await flow.exchange(client_secret="nope")
    assert r.status == 401 and (await r.json())["error"] == "invalid_client"
    r = await flow.exchange(client_id="other")
    assert r.status == 401 and (await r.json())["error"] == "invalid_client"


async def test_basic_client_authentication(client):
    flow = Idx(client)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    basic = base64.b64encode(b"demo-client:demo-secret").decode()
    r = await client.post(
        f"{ISSUER_PATH}/v1/token",
        headers={"Authorization": f"Basic {basic}"},
        data={
            "grant_type": "interaction_code",
            "interaction_code": flow.interaction_code,
            "code_verifier": flow.verifier,
        },
    )
    assert r.status == 200


async def test_refresh_token_grant_with_offline_access(client):
    _, tokens = await signed_in(client, scope="openid profile email offline_access")
    assert tokens["refresh_token"]
    r = await client.post(
        f"{ISSUER_PATH}/v1/token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status == 200
    fresh = await r.json()
    assert fresh["access_token"] != tokens["access_token"] and fresh["refresh_token"] == tokens["refresh_token"]


async def test_revoke_then_refresh_and_userinfo_fail(client, state):
    _, tokens = await signed_in(client, scope="openid profile email offline_access")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = await (await client.get(f"{ISSUER_PATH}/v1/userinfo", headers=bearer)).json()
    assert info["email"] == "alice@example.com" and info["name"] == "Alice Anders"
    for value, hint in ((tokens["refresh_token"], "refresh_token"), (tokens["access_token"], "access_token")):
        r = await client.post(f"{ISSUER_PATH}/v1/revoke", data={**CLIENT, "token": value, "token_type_hint": hint})
        assert r.status == 200 and await r.read() == b""
    assert {tokens["refresh_token"], tokens["access_token"]} <= state.revoked
    r = await client.post(
        f"{ISSUER_PATH}/v1/token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
    r = await client.get(f"{ISSUER_PATH}/v1/userinfo", headers=bearer)
    assert r.status == 401 and "invalid_token" in r.headers["WWW-Authenticate"]


async def test_revoke_needs_client_auth(client):
    r = await client.post(f"{ISSUER_PATH}/v1/revoke", data={"client_id": "demo-client", "token": "x"})
    assert r.status == 401


async def test_logout_redirects_to_loopback(client):
    _, tokens = await signed_in(client)
    r = await client.get(
        f"{ISSUER_PATH}/v1/logout",
        allow_redirects=False,
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "http://localhost:7000/",
            "state": "s1",
        },
    )
    assert r.status == 302 and r.headers["Location"] == "http://localhost:7000/?state=s1"
    r = await client.get(
        f"{ISSUER_PATH}/v1/logout",
        allow_redirects=False,
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert r.status == 400


def interact_form(**overrides):
    verifier, challenge = pkce_pair()
    form = {
        **CLIENT,
        "scope": "openid email",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st",
        "nonce": "n",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


@pytest.mark.parametrize(
    "overrides, status, error",
    [
        ({"code_challenge": None}, 400, "invalid_request"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request"),
        ({"redirect_uri": "https://evil.example/login/callback"}, 400, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:9/other/path"}, 400, "invalid_request"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "unknown"}, 401, "invalid_client"),
        ({"scope": "openid admin"}, 400, "invalid_scope"),
        ({"activation_token": "bogus"}, 400, "invalid_request"),
        ({"recovery_token": "bogus"}, 400, "invalid_request"),
    ],
)
async def test_interact_rejections(client, overrides, status, error):
    r = await client.post(f"{ISSUER_PATH}/v1/interact", data=interact_form(**overrides))
    assert r.status == status and (await r.json())["error"] == error


@pytest.mark.parametrize("uri", ["http://localhost:1234/login/callback", "http://[::1]:8000/login/callback"])
async def test_interact_accepts_any_loopback_port(client, uri):
    r = await client.post(f"{ISSUER_PATH}/v1/interact", data=interact_form(redirect_uri=uri))
    assert r.status == 200 and set(await r.json()) == {"interaction_handle"}


async def test_recovery_token_starts_at_reset(aiohttp_client, org):
    from embedded.simulator import create_simulator_app

    org.user("bob@example.com").recovery_token = "rt-123"
    client = await aiohttp_client(create_simulator_app(org))
    r = await client.post(f"{ISSUER_PATH}/v1/interact", data=interact_form(recovery_token="rt-123"))
    flow = Idx(client)
    flow.handle = (await r.json())["interaction_handle"]
    doc = await flow.introspect()
    assert doc["remediation"]["value"][0]["name"] == "reset-authenticator"
    r = await client.post(f"{ISSUER_PATH}/v1/interact", data=interact_form(recovery_token="rt-123"))
    assert r.status == 400  # used once


async def test_activation_token_enrolls_staged_user(aiohttp_client, org):
    from embedded.simulator import create_simulator_app

    org.user("sam@example.com").activation_token = "at-1"  # the demo org's staged user
    client = await aiohttp_client(create_simulator_app(org))
    r = await client.post(f"{ISSUER_PATH}/v1/interact", data=interact_form(activation_token="at-1"))
    flow = Idx(client)
    flow.handle = (await r.json())["interaction_handle"]
    doc = await flow.introspect()
    assert doc["remediation"]["value"][0]["name"] == "select-authenticator-enroll"


async def test_idp_redirect_success_and_interaction_required(client):
    flow = Idx(client)
    doc = await flow.start()
    idp = next(r for r in doc["remediation"]["value"] if r["name"] == "redirect-idp")
    assert idp["method"] == "GET" and idp["href"].endswith(f"?stateToken={doc['stateHandle']}")
    path = idp["href"].split(str(client.make_url("")).rstrip("/"))[1]
    page = await (await client.get(path)).text()
    assert "not an identity provider" in page
    r = await client.post(path, data={"email": "alice@example.com", "action": "continue"}, allow_redirects=False)
    location = r.headers["Location"]
    assert (
        r.status == 302
        and location.startswith(REDIRECT + "?interaction_code=")
        and location.endswith(f"state={flow.state}")
    )
    # bob's policy wants a second factor: back to the app with interaction_required, then continue.
    flow = Idx(client)
    doc = await flow.start()
    idp = next(r for r in doc["remediation"]["value"] if r["name"] == "redirect-idp")
    path = idp["href"].split(str(client.make_url("")).rstrip("/"))[1]
    r = await client.post(path, data={"email": "bob@example.com", "action": "continue"}, allow_redirects=False)
    assert r.headers["Location"] == f"{REDIRECT}?error=interaction_required&state={flow.state}"
    doc = await flow.introspect()
    assert doc["remediation"]["value"][0]["name"] == "select-authenticator-authenticate"


async def test_idx_rejects_wrong_content_type_and_bad_json(client, idx):
    await idx.start()
    r = await client.post(
        "/idp/idx/identify", data="identifier=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status == 415 and (await r.json())["errorCode"] == "E0000021"
    r = await client.post("/idp/idx/identify", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await r.json(content_type=None))["messages"]["value"][0]["i18n"]["key"] == "E0000003"
    r = await client.post("/idp/idx/identify", json={"identifier": "x"})
    assert r.status == 400 and "version" in await r.json(content_type=None)
    r = await client.post(
        "/idp/idx/identify",
        json={"stateHandle": idx.doc["stateHandle"], "authenticator": "junk", "credentials": [1, 2]},
    )
    assert r.status == 400


async def test_token_rejects_json_body(client):
    r = await client.post(f"{ISSUER_PATH}/v1/token", json={"grant_type": "interaction_code"})
    assert r.status == 400 and (await r.json())["error"] == "invalid_request"


async def test_fixed_issuer(aiohttp_client):
    from embedded.simulator import create_simulator_app

    client = await aiohttp_client(create_simulator_app(issuer="http://127.0.0.1:8081/oauth2/default"))
    config = await (await client.get(f"{ISSUER_PATH}/.well-known/openid-configuration")).json()
    assert config["issuer"] == "http://127.0.0.1:8081/oauth2/default"
    flow = Idx(client)
    doc = await flow.start()
    assert doc["remediation"]["value"][0]["href"] == "http://127.0.0.1:8081/idp/idx/identify"
    assert json.dumps(doc).count("http://127.0.0.1:8081") >= 3
