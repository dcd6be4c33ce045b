"""The ID token's `idp`: the org's own id (`00o…`) when Okta signed the user in, the identity
provider's id after a social sign-in, whose `amr` then includes `fed`."""

from urllib.parse import parse_qs, urlsplit

import jwt

from .conftest import CLIENT, Idx, option_id

SOCIAL = "0oafakesocial0001"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def social(flow: Idx, email: str):
    """Through the fake social IdP's page; the redirect back to the app."""
    doc = await flow.start()
    href = next(
        r["href"] for r in doc["remediation"]["value"] if r["name"] == "redirect-idp" and r["idp"]["id"] == SOCIAL
    )
    parts = urlsplit(href)
    return await flow.client.post(
        f"{parts.path}?{parts.query}", data={"email": email, "action": "continue"}, allow_redirects=False
    )


async def exchange(flow: Idx, code: str) -> dict:
    r = await flow.client.post(
        "/oauth2/default/v1/token",
        data={**CLIENT, "grant_type": "interaction_code", "interaction_code": code, "code_verifier": flow.verifier},
    )
    assert r.status == 200, await r.text()
    return claims((await r.json())["id_token"])


async def test_an_okta_sign_in_names_the_org(client, state):
    ids = set()
    for login, password in (("alice@example.com", "Alice-Passw0rd!"), ("kim@example.com", "Kim-Passw0rd!")):
        flow = Idx(client)
        doc = await flow.password_signin(login, password)
        if "successWithInteractionCode" not in doc:
            doc = await flow.submit("keep-me-signed-in", keepMeSignedIn=False)
        ids.add(claims((await (await flow.exchange()).json())["id_token"])["idp"])
    assert ids == {state.org.id}  # the same for everyone: the org, not the user
    assert state.org.id.startswith("00o") and len(state.org.id) == 20


async def test_a_social_sign_in_names_the_identity_provider(client):
    flow = Idx(client)
    r = await social(flow, "alice@example.com")
    code = parse_qs(urlsplit(r.headers["Location"]).query)["interaction_code"][0]
    id_token = await exchange(flow, code)
    assert id_token["idp"] == SOCIAL and id_token["amr"] == ["fed"]


async def test_a_social_sign_in_then_a_second_factor_keeps_the_identity_provider(client):
    flow = Idx(client)
    r = await social(flow, "bob@example.com")
    assert "error=interaction_required" in r.headers["Location"]
    doc = await flow.introspect()
    await flow.submit(
        "select-authenticator-authenticate",
        authenticator=option_id(doc, "select-authenticator-authenticate", "okta_email"),
    )
    doc = await flow.submit(
        "challenge-authenticator", credentials={"passcode": await flow.outbox_code("bob@example.com")}
    )
    id_token = claims((await (await flow.exchange()).json())["id_token"])
    assert id_token["idp"] == SOCIAL and id_token["amr"] == ["fed", "email", "mfa"]
    sessions = await (await client.get("/_sim/sessions")).json()
    assert sessions[-1]["idp"] == SOCIAL


async def test_cancel_after_a_social_sign_in_forgets_the_identity_provider(client, state):
    flow = Idx(client)
    await social(flow, "bob@example.com")
    await flow.introspect()
    await flow.post_href(flow.doc["cancel"]["href"], {})
    await flow.submit("identify", identifier="alice@example.com")
    await flow.submit("challenge-authenticator", credentials={"passcode": "Alice-Passw0rd!"})
    id_token = claims((await (await flow.exchange()).json())["id_token"])
    assert id_token["idp"] == state.org.id and id_token["amr"] == ["pwd"]
