"""A password sign-in through the app, replaying IDX responses from a fake Identity Engine."""

from __future__ import annotations

import re
import time

import pytest
from conftest import doc, identify_and_password, own, post_step, start


async def test_password_sign_in_reaches_home_with_the_user(client, org):
    html = await start(client, org)
    assert "<!-- template: steps/identify.html -->" in html
    html = await identify_and_password(client, org, html)
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    resp = await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    assert resp.status == 303 and resp.headers["Location"] == "/"
    home = await (await client.get("/")).text()
    assert "Alice Anders" in home and "alice@example.com" in home and "00u1alice" in home
    assert 'action="/logout"' in home
    # Exactly one IDX call per user step, plus discovery and keys once.
    assert org.paths() == [
        "/oauth2/default/.well-known/openid-configuration",
        "/oauth2/default/v1/interact",
        "/idp/idx/introspect",
        "/idp/idx/identify",
        "/idp/idx/challenge/answer",
        "/oauth2/default/v1/token",
        "/oauth2/default/v1/keys",
    ]
    assert org.bodies("/idp/idx/identify")[0] == {
        "identifier": "alice@example.com",
        "rememberMe": False,
        "stateHandle": doc("identify")["stateHandle"],
    }
    assert org.bodies("/idp/idx/challenge/answer")[0] == {
        "credentials": {"passcode": "Alice-Passw0rd!"},
        "stateHandle": "02stateHandleForTests",
    }
    token_form = org.bodies("/oauth2/default/v1/token")[0]
    assert token_form["grant_type"] == "interaction_code" and token_form["interaction_code"] == "ic-test-code-1"


async def test_wrong_password_shows_the_field_error_with_an_empty_password(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.idx("/idp/idx/challenge/answer", own("error-challenge-password-incorrect.json"), status=401)
    resp = await post_step(client, html, {"credentials.passcode": "wrong-password"})
    assert resp.status == 303
    html = await (await client.get("/login/step")).text()
    assert "Password is incorrect" in html
    assert re.search(r'type="password"[^>]*value=""', html)
    assert "wrong-password" not in html
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    resp = await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    assert resp.headers["Location"] == "/"


async def test_09_expired_session_restarts_cleanly(client, org):
    html = await start(client, org)
    org.idx("/idp/idx/identify", doc("session-expired"), status=401)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    # The restart begins a new transaction: a fresh /interact, never the old handle.
    org.idx("/idp/idx/introspect", doc("identify"))
    resp = await client.get("/login")
    html = await resp.text()
    assert "expired" in html
    assert org.paths().count("/oauth2/default/v1/interact") == 2
    handles = [b["interactionHandle"] for b in org.bodies("/idp/idx/introspect")]
    assert len(set(handles)) == 2


async def test_cancel_returns_to_the_first_step(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.idx("/idp/idx/cancel", doc("identify"))
    resp = await post_step(client, html, {}, action="cancel")
    assert resp.status == 303
    html = await (await client.get("/login/step")).text()
    assert "<!-- template: steps/identify.html -->" in html
    assert org.bodies("/idp/idx/cancel") == [{"stateHandle": "02stateHandleForTests"}]


async def test_logout_revokes_both_tokens_and_ends_the_session(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    home = await (await client.get("/")).text()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', home).group(1)
    resp = await client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    revokes = org.bodies("/oauth2/default/v1/revoke")
    assert [(r["token"], r["token_type_hint"]) for r in revokes] == [
        ("rt-sentinel-0001", "refresh_token"),
        ("at-sentinel-0001", "access_token"),
    ]
    home = await (await client.get("/")).text()
    assert "Alice Anders" not in home and 'href="/login"' in home


async def test_id_token_for_another_nonce_does_not_sign_in(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.id_token_claims = {"nonce": "someone-elses-nonce"}
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    resp = await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    assert resp.status == 400
    assert "could not verify" in await resp.text()
    assert "Alice Anders" not in await (await client.get("/")).text()


async def test_interaction_required_after_an_identity_provider_continues_the_transaction(client, org):
    await start(client, org)
    org.idx("/idp/idx/introspect", own("challenge-password.json"))
    resp = await client.get(
        "/login/callback",
        params={"error": "interaction_required", "state": org.interact_form["state"]},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"
    html = await (await client.get("/login/step")).text()
    assert "<!-- template: steps/challenge-authenticator--okta_password.html -->" in html
    # The same answer with another state is refused and asks nothing upstream.
    calls = len(org.calls)
    resp = await client.get("/login/callback", params={"error": "interaction_required", "state": "forged"})
    assert resp.status == 400 and len(org.calls) == calls


async def step_up_sign_in(client, org, **claims):
    org.idx("/idp/idx/introspect", doc("identify"))
    resp = await client.get(
        "/login", params={"acr_values": "urn:okta:loa:2fa:any", "max_age": "0"}, allow_redirects=False
    )
    assert resp.status == 303
    html = await identify_and_password(client, org, await (await client.get("/login/step")).text())
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    org.id_token_claims = claims
    return await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})


async def test_step_up_reaches_interact_and_a_token_that_did_it_signs_in(client, org):
    resp = await step_up_sign_in(client, org, acr="urn:okta:loa:2fa:any", auth_time=int(time.time()))
    assert org.interact_form["acr_values"] == "urn:okta:loa:2fa:any" and org.interact_form["max_age"] == "0"
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert "urn:okta:loa:2fa:any" in await (await client.get("/")).text()


@pytest.mark.parametrize(
    "claims",
    [
        {"acr": "urn:okta:loa:1fa:pwd", "auth_time": None},
        {"acr": "urn:okta:loa:2fa:any", "auth_time": 1},
        {"acr": "urn:okta:loa:2fa:any"},
    ],
)
async def test_step_up_refuses_a_token_that_did_less(client, org, claims):
    """OIDC Core §3.1.2.1: the acr asked for, and a sign-in no older than max_age."""
    claims = {k: (int(time.time()) if v is None else v) for k, v in claims.items()}
    resp = await step_up_sign_in(client, org, **claims)
    assert resp.status == 400 and "home" not in resp.headers.get("Location", "")
    assert 'data-claim="email"' not in await (await client.get("/")).text()


@pytest.mark.parametrize(
    "query", [{"acr_values": "<script>"}, {"max_age": "-1"}, {"max_age": "soon"}, {"acr_values": "a" * 200}]
)
async def test_malformed_step_up_requests_get_a_friendly_page(client, org, query):
    resp = await client.get("/login", params=query)
    assert resp.status == 400 and "can&#39;t be used" in await resp.text() and not org.paths()
