"""Activation links expire (the org's activation_token_days, or `expires_in` when sent). An expired
one still starts a transaction at /v1/interact, whose first state is `request-activation-email`
(ERROR idx.expired.activation.token); submitting it emails a fresh link and ends with the INFO
idx.request.activation.email. An org that does not let people ask says to contact the administrator."""

import time

from embedded.simulator import create_simulator_app, demo_org

from .conftest import Idx, names, remediation
from .test_admin_emails import interact_with, token_of

SAM = "sam@example.com"


async def send_activation(client, **extra) -> dict:
    r = await client.post("/_sim/admin/activation-email", json={"login": SAM, **extra})
    assert r.status == 200, await r.text()
    return await r.json()


async def mails_to(client, to: str) -> list[dict]:
    return await (await client.get("/outbox.json", params={"to": to})).json()


def keys(doc: dict) -> list[tuple[str, str]]:
    return [(m["i18n"]["key"], m["class"]) for m in doc.get("messages", {}).get("value", [])]


async def test_an_expired_link_offers_a_new_email_whose_link_activates(client, state):
    sent = await send_activation(client, expires_in=0)
    status, _, flow = await interact_with(client, activation_token=sent["token"])
    assert status == 200
    doc = flow.doc
    assert names(doc) == ["request-activation-email"]
    form = remediation(doc, "request-activation-email")
    assert form["href"].endswith("/idp/idx/request-activation")
    assert [f["name"] for f in form["value"]] == ["stateHandle"]
    assert keys(doc) == [("idx.expired.activation.token", "ERROR")]
    assert doc["messages"]["value"][0]["message"].endswith("Request a new activation email below.")
    assert doc["user"]["value"]["identifier"] == SAM and "authenticators" not in doc

    doc = await flow.submit("request-activation-email")
    assert flow.status == 200 and "remediation" not in doc and "user" not in doc
    assert keys(doc) == [("idx.request.activation.email", "INFO")]
    mails = await mails_to(client, SAM)
    assert len(mails) == 2 and mails[0]["link"] != sent["link"]
    assert mails[0]["link"].startswith("http://127.0.0.1:5000/activate?token=")  # the app this sign-in came from

    status, body, _ = await interact_with(client, activation_token=sent["token"])  # replaced by the new one
    assert status == 400 and body["error_description"] == "The activation token is invalid"
    status, _, fresh = await interact_with(client, activation_token=token_of(mails[0]["link"]))
    assert status == 200 and names(fresh.doc) == ["select-authenticator-enroll"]
    doc = await fresh.select("okta_password", form="select-authenticator-enroll")
    doc = await fresh.submit("enroll-authenticator", credentials={"passcode": "Brand-New-Pass1"})
    doc = await fresh.select("okta_email", form="select-authenticator-enroll")
    doc = await fresh.submit("enroll-authenticator", credentials={"passcode": await fresh.outbox_code(SAM)})
    assert "successWithInteractionCode" in doc
    assert state.org.user(SAM).status == "active"


async def test_links_expire_after_the_org_setting_or_expires_in(client, state):
    sent = await send_activation(client)
    sam = state.org.user(SAM)
    assert 6.9 * 86400 < sam.activation_expires_at - time.time() <= 7 * 86400
    await send_activation(client, expires_in=300)
    assert 290 < sam.activation_expires_at - time.time() <= 300
    assert sent["token"] != sam.activation_token
    r = await client.post("/_sim/admin/activation-email", json={"login": SAM, "expires_in": "soon"})
    assert r.status == 400


async def test_sim_expire_ends_a_sent_link(client):
    sent = await send_activation(client)
    r = await client.post("/_sim/expire", json={"activation_login": SAM})
    assert await r.json() == {"expired": "activation", "login": SAM}
    status, _, flow = await interact_with(client, activation_token=sent["token"])
    assert status == 200 and names(flow.doc) == ["request-activation-email"]
    r = await client.post("/_sim/expire", json={"activation_login": "alice@example.com"})
    assert r.status == 404


async def test_the_outbox_form_can_send_an_expired_link(client, state):
    page = await (await client.get("/outbox")).text()
    assert "name=expires_in" in page and "already expired" in page
    r = await client.post(
        "/_sim/admin/activation-email",
        data={"login": SAM, "expires_in": "0", "return": "outbox"},
        allow_redirects=False,
    )
    assert r.status == 303
    assert state.org.user(SAM).activation_expires_at <= time.time()


async def test_an_unexpired_link_still_works_once(client):
    sent = await send_activation(client, expires_in=300)
    status, _, flow = await interact_with(client, activation_token=sent["token"])
    assert status == 200 and names(flow.doc) == ["select-authenticator-enroll"]
    status, _, _ = await interact_with(client, activation_token=sent["token"])
    assert status == 400


async def test_an_org_without_self_service_says_to_contact_the_administrator(aiohttp_client):
    org = demo_org()
    org.request_activation_email = False
    client = await aiohttp_client(create_simulator_app(org))
    sent = await send_activation(client, expires_in=0)
    status, _, flow = await interact_with(client, activation_token=sent["token"])
    assert status == 200 and "remediation" not in flow.doc
    assert keys(flow.doc) == [("idx.expired.activation.token", "ERROR")]
    assert "Contact your administrator" in flow.doc["messages"]["value"][0]["message"]


async def test_a_request_for_someone_activated_meanwhile_sends_nothing(client, state):
    sent = await send_activation(client, expires_in=0)
    _, _, flow = await interact_with(client, activation_token=sent["token"])
    state.org.user(SAM).status = "active"  # an administrator activated him another way
    doc = await flow.submit("request-activation-email")
    assert keys(doc) == [("idx.request.activation.email", "INFO")]  # the same words either way
    assert len(await mails_to(client, SAM)) == 1


async def test_the_expired_page_is_a_transaction_like_any_other(client):
    sent = await send_activation(client, expires_in=0)
    _, _, flow = await interact_with(client, activation_token=sent["token"])
    doc = await flow.post_href(flow.doc["cancel"]["href"], {})
    assert names(doc)[0] == "identify"
    again = Idx(client)
    assert names(await again.start())[0] == "identify"
