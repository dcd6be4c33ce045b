"""The demo org's public client `demo-spa` (a single-page app: no secret, PKCE alone, loopback
redirect URIs on any port), and Okta's rules for public vs confidential clients at /v1/interact
and /v1/token: a public client that sends a secret, or a confidential one that omits it, fails
client authentication (401 invalid_client)."""

import base64

import jwt
import pytest

from .conftest import CLIENT, Idx, pkce_pair

SPA = {"client_id": "demo-spa"}
AUTH_FAILED = {
    "error": "invalid_client",
    "error_description": "Client authentication failed. Either the client or the client credentials are invalid.",
}


class SpaIdx(Idx):
    """The Idx flow as a single-page app drives it: client_id only."""

    async def start(self, **extra) -> dict:
        r = await self.client.post(
            "/oauth2/default/v1/interact",
            data={
                **SPA,
                "scope": self.scope,
                "redirect_uri": self.redirect_uri,
                "code_challenge": self.challenge,
                "code_challenge_method": "S256",
                "state": self.state,
                "nonce": self.nonce,
                **extra,
            },
        )
        assert r.status == 200, await r.text()
        self.handle = (await r.json())["interaction_handle"]
        return await self.introspect()

    async def exchange(self, **overrides):
        data = {
            **SPA,
            "grant_type": "interaction_code",
            "interaction_code": self.interaction_code,
            "code_verifier": self.verifier,
            **overrides,
        }
        return await self.client.post("/oauth2/default/v1/token", data=data)


def interact_form(client_fields: dict, redirect_uri="http://localhost:5173/login/callback", **extra) -> dict:
    _, challenge = pkce_pair()
    return {
        **client_fields,
        "scope": "openid",
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
        **extra,
    }


async def test_a_spa_signs_in_with_pkce_alone(client):
    flow = SpaIdx(
        client, redirect_uri="http://127.0.0.1:5173/login/callback", scope="openid profile email offline_access"
    )
    doc = await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    success = doc["successWithInteractionCode"]
    assert success["rel"] == ["create-form"]
    assert [f["name"] for f in success["value"]] == ["grant_type", "interaction_code", "client_id", "code_verifier"]
    assert next(f["value"] for f in success["value"] if f["name"] == "client_id") == "demo-spa"
    r = await flow.exchange()
    assert r.status == 200, await r.text()
    tokens = await r.json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["aud"] == "demo-spa" and claims["nonce"] == flow.nonce
    # Refresh and revoke with the client_id alone, too.
    r = await client.post(
        "/oauth2/default/v1/token",
        data={**SPA, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status == 200
    r = await client.post("/oauth2/default/v1/revoke", data={**SPA, "token": tokens["refresh_token"]})
    assert r.status == 200


async def test_a_confidential_client_is_told_to_send_its_secret_in_the_success_form(idx):
    doc = await idx.password_signin("alice@example.com", "Alice-Passw0rd!")
    names = [f["name"] for f in doc["successWithInteractionCode"]["value"]]
    assert names == ["grant_type", "interaction_code", "client_id", "client_secret", "code_verifier"]


@pytest.mark.parametrize("credentials", [{"client_secret": "demo-secret"}, {"client_secret": "anything"}])
async def test_a_public_client_sending_a_secret_fails_client_authentication(client, credentials):
    r = await client.post("/oauth2/default/v1/interact", data=interact_form({**SPA, **credentials}))
    assert r.status == 401 and await r.json() == AUTH_FAILED
    flow = SpaIdx(client, redirect_uri="http://localhost:5173/login/callback")
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    r = await flow.exchange(**credentials)
    assert r.status == 401 and await r.json() == AUTH_FAILED
    r = await flow.exchange()
    assert r.status == 200  # the refusal spent nothing


async def test_a_public_client_authenticating_with_basic_fails(client):
    basic = "Basic " + base64.b64encode(b"demo-spa:").decode()
    form = interact_form({})
    r = await client.post("/oauth2/default/v1/interact", data=form, headers={"Authorization": basic})
    assert r.status == 401 and await r.json() == AUTH_FAILED


async def test_a_confidential_client_omitting_its_secret_fails_client_authentication(client):
    r = await client.post(
        "/oauth2/default/v1/interact",
        data=interact_form({"client_id": "demo-client"}, redirect_uri="http://127.0.0.1:5000/login/callback"),
    )
    assert r.status == 401 and await r.json() == AUTH_FAILED
    flow = Idx(client)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    r = await client.post(
        "/oauth2/default/v1/token",
        data={
            "client_id": "demo-client",
            "grant_type": "interaction_code",
            "interaction_code": flow.interaction_code,
            "code_verifier": flow.verifier,
        },
    )
    assert r.status == 401 and await r.json() == AUTH_FAILED
    r = await flow.exchange(client_secret="wrong")
    assert r.status == 401 and (await r.json())["error"] == "invalid_client"
    assert (await flow.exchange()).status == 200


async def test_a_public_client_must_use_pkce(client):
    form = interact_form(SPA)
    del form["code_challenge"]
    r = await client.post("/oauth2/default/v1/interact", data=form)
    assert r.status == 400 and await r.json() == {
        "error": "invalid_request",
        "error_description": "PKCE code challenge is required when the token endpoint authentication method is 'NONE'.",
    }


@pytest.mark.parametrize(
    "uri, ok",
    [
        ("http://localhost:5173/login/callback", True),
        ("http://127.0.0.1:4200/login/callback", True),
        ("http://[::1]:8080/login/callback", True),
        ("http://localhost:3000/", True),
        ("http://localhost:3000/other/callback", False),
        ("https://spa.example.com/login/callback", False),
    ],
)
async def test_the_spa_takes_loopback_redirect_uris_on_any_port(client, uri, ok):
    r = await client.post("/oauth2/default/v1/interact", data=interact_form(SPA, redirect_uri=uri))
    assert (r.status == 200) is ok, await r.text()


async def test_a_code_minted_for_one_client_is_not_the_others(client):
    flow = SpaIdx(client)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    r = await client.post(
        "/oauth2/default/v1/token",
        data={
            **CLIENT,
            "grant_type": "interaction_code",
            "interaction_code": flow.interaction_code,
            "code_verifier": flow.verifier,
        },
    )
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
