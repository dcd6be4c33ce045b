"""custom_app: a custom push authenticator, approved or denied through the outbox push controls."""

from .conftest import names, remediation

CORA = ("cora@example.com", "Cora-Passw0rd!")


async def pending_push(client) -> dict:
    push = (await (await client.get("/outbox.json", params={"to": CORA[0]})).json())[0]
    assert push["kind"] == "push" and push["status"] == "pending"
    assert push["correct_answer"] is None and push["choices"] == []  # no number challenge
    return push


async def test_cora_push_approved(idx, client):
    doc = await idx.password_signin(*CORA)
    assert names(doc)[0] == "challenge-poll"
    poll = remediation(doc, "challenge-poll")
    assert poll["href"].endswith("/idp/idx/challenge/poll") and poll["refresh"] == 4000
    assert poll["relatesTo"] == ["$.currentAuthenticator"]
    current = doc["currentAuthenticator"]["value"]
    assert (current["key"], current["type"], current["displayName"], current["methods"]) == (
        "custom_app",
        "app",
        "Custom Push",
        [{"type": "push"}],
    )
    assert current["logoUri"] == str(client.make_url("/img/custom-push-logo.svg"))
    assert "resend" not in current
    logo = await client.get("/img/custom-push-logo.svg")
    assert logo.status == 200 and logo.content_type == "image/svg+xml"
    # Only what this step is about: the push app, not her password nor the org's other authenticators.
    assert [a["key"] for a in doc["authenticators"]["value"]] == ["custom_app"]
    [enrollment] = doc["authenticatorEnrollments"]["value"]
    assert enrollment["key"] == "custom_app" and enrollment["profile"] == {"deviceName": "Cora's phone"}

    doc = await idx.submit("challenge-poll")
    assert names(doc)[0] == "challenge-poll"  # nobody answered yet
    push = await pending_push(client)
    r = await client.post(f"/outbox/push/{push['id']}/approve")
    assert (await r.json())["status"] == "approved"
    doc = await idx.submit("challenge-poll")
    assert "successWithInteractionCode" in doc
    assert (await idx.exchange()).status == 200


async def test_cora_push_denied_then_sent_again(idx, client):
    await idx.password_signin(*CORA)
    push = await pending_push(client)
    await client.post(f"/outbox/push/{push['id']}/deny", data={})
    doc = await idx.submit("challenge-poll")
    assert doc["messages"]["value"][0]["i18n"]["key"] == "api.authn.poll.error.push_rejected"
    again = remediation(doc, "resend")
    assert again["href"].endswith("/idp/idx/challenge")
    fixed = again["value"][0]["value"]["form"]["value"]
    doc = await idx.submit("resend", authenticator={f["name"]: f["value"] for f in fixed})
    assert names(doc)[0] == "challenge-poll"
    second = await pending_push(client)
    assert second["id"] != push["id"]
    await client.post(f"/outbox/push/{second['id']}/approve")
    doc = await idx.submit("challenge-poll")
    assert "successWithInteractionCode" in doc


async def test_outbox_page_names_the_custom_app(idx, client):
    await idx.password_signin(*CORA)
    page = await (await client.get("/outbox")).text()
    assert "Custom Push: did you just try to sign in?" in page and "/approve" in page


async def test_an_empty_answer_approves_a_push_without_a_number_challenge(idx, client):
    """The outbox form always posts its `answer` field; with no number to pick it is empty."""
    await idx.password_signin(*CORA)
    push = await pending_push(client)
    r = await client.post(f"/outbox/push/{push['id']}/approve", data={"answer": ""}, allow_redirects=False)
    assert r.status == 303
    assert "successWithInteractionCode" in await idx.submit("challenge-poll")
