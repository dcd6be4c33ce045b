"""Keep me signed in after authentication: a sign-on rule (or the org) with post_auth_kmsi asks
`keep-me-signed-in` (/idp/idx/keep-me-signed-in, boolean keepMeSignedIn); either answer continues
to success, and /_sim/sessions records the answer."""

import pytest

from embedded.simulator import create_simulator_app, demo_org

from .conftest import Idx, field_messages, names, remediation

KIM, KIM_PASSWORD = "kim@example.com", "Kim-Passw0rd!"


async def sessions(client) -> list[dict]:
    return await (await client.get("/_sim/sessions")).json()


@pytest.mark.parametrize("answer", [True, False])
async def test_kim_is_asked_and_either_answer_signs_her_in(client, state, answer):
    flow = Idx(client)
    doc = await flow.password_signin(KIM, KIM_PASSWORD)
    assert names(doc) == ["keep-me-signed-in"]
    form = remediation(doc, "keep-me-signed-in")
    assert form["href"].endswith("/idp/idx/keep-me-signed-in")
    assert form["value"][0] == {
        "name": "keepMeSignedIn",
        "type": "boolean",
        "label": "Stay signed in",
        "required": True,
        "value": False,
        "mutable": True,
    }
    assert "authenticators" not in doc and doc["user"]["value"]["identifier"] == KIM
    doc = await flow.submit("keep-me-signed-in", keepMeSignedIn=answer)
    assert "successWithInteractionCode" in doc
    assert (await flow.exchange()).status == 200
    session = (await sessions(client))[-1]
    assert session.pop("auth_time") > 0
    assert session == {
        "login": KIM,
        "client_id": "demo-client",
        "amr": ["pwd"],
        "acr": None,
        "idp": state.org.id,
        "max_age": None,
        "keep_me_signed_in": answer,
        "scopes": ["openid", "profile", "email"],
    }


async def test_the_answer_must_be_a_boolean(client):
    flow = Idx(client)
    await flow.password_signin(KIM, KIM_PASSWORD)
    doc = await flow.submit("keep-me-signed-in")
    assert flow.status == 400 and "model.validation.field.blank" in field_messages(doc)
    doc = await flow.submit("keep-me-signed-in", keepMeSignedIn="yes")
    assert flow.status == 400 and "model.validation.field.invalid" in field_messages(doc)


async def test_others_are_not_asked_and_their_session_says_so(client):
    flow = Idx(client)
    assert "successWithInteractionCode" in await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    assert (await sessions(client))[-1]["keep_me_signed_in"] is None


async def test_the_org_setting_asks_everyone_after_their_factors(aiohttp_client):
    org = demo_org()
    org.post_auth_kmsi = True
    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client)
    doc = await flow.password_signin("bob@example.com", "Bob-Passw0rd!")
    assert names(doc) == ["challenge-authenticator"]  # the second factor first
    doc = await flow.submit(
        "challenge-authenticator", credentials={"passcode": await flow.outbox_code("bob@example.com")}
    )
    assert names(doc) == ["keep-me-signed-in"]
    doc = await flow.submit("keep-me-signed-in", keepMeSignedIn=True)
    assert "successWithInteractionCode" in doc
    # Cancel starts over: asked again next time.
    again = Idx(client)
    await again.password_signin("alice@example.com", "Alice-Passw0rd!")
    await again.post_href(again.doc["cancel"]["href"], {})
    assert names(again.doc)[0] == "identify"


async def test_sessions_can_be_cleared(client):
    flow = Idx(client)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    assert len(await sessions(client)) == 1
    assert await (await client.delete("/_sim/sessions")).json() == []
