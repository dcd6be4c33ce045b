"""Attacks on the simulator's own controls (/_sim/*) and outbox from web pages: a page on another
site posting to them (text/plain and form posts need no preflight), a DNS-rebinding page reading
them under its own host name, and malformed control bodies. Each is refused, and nothing changes."""

import pytest

from embedded.simulator import create_simulator_app

from .conftest import Idx

EVIL = "https://evil.example"
CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": EVIL},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},
]  # another origin on this machine is still another site's page
CROSS_IDS = ["sec-fetch-cross-site", "sec-fetch-same-site", "origin-evil", "origin-null", "origin-other-port"]


async def faults(client) -> dict:
    return await (await client.get("/_sim/faults")).json()


@pytest.mark.parametrize("headers", CROSS_SITE, ids=CROSS_IDS)
async def test_a_cross_site_text_plain_post_cannot_change_faults(client, headers):
    before = await faults(client)
    r = await client.post(
        "/_sim/faults", data='{"rates": {"500": 1}}', headers={"Content-Type": "text/plain", **headers}
    )
    assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    assert await faults(client) == before
    assert (await client.delete("/_sim/faults", headers=headers)).status == 403


async def test_a_text_plain_body_is_not_json_even_without_browser_headers(client):
    before = await faults(client)
    r = await client.post("/_sim/faults", data='{"rates": {"500": 1}}', headers={"Content-Type": "text/plain"})
    assert r.status == 415 and await faults(client) == before
    r = await client.post("/_sim/expire", data="{}", headers={"Content-Type": "text/plain"})
    assert r.status == 415


@pytest.mark.parametrize("headers", CROSS_SITE, ids=CROSS_IDS)
async def test_a_cross_site_form_cannot_email_a_reset_link_to_an_attacker(client, state, headers):
    r = await client.post(
        "/_sim/admin/reset-email", data={"login": "rita@example.com", "app_url": EVIL}, headers=headers
    )
    assert r.status == 403
    assert state.outbox == [] and state.org.user("rita@example.com").recovery_token is None
    r = await client.post(
        "/_sim/admin/activation-email", data={"login": "sam@example.com", "app_url": EVIL}, headers=headers
    )
    assert r.status == 403 and state.outbox == []


@pytest.mark.parametrize("headers", CROSS_SITE, ids=CROSS_IDS)
async def test_a_cross_site_page_cannot_answer_a_push_or_activate_a_device(client, state, headers):
    flow = Idx(client)
    await flow.password_signin("cora@example.com", "Cora-Passw0rd!")
    push = state.outbox[-1]
    r = await client.post(f"/outbox/push/{push.id}/approve", data={"answer": ""}, headers=headers)
    assert r.status == 403 and push.status == "pending"
    assert (await client.post("/_sim/expire", json={}, headers=headers)).status == 403
    assert not state.engine.find(flow.doc["stateHandle"]).expired


async def test_the_outbox_own_forms_still_work(client, state):
    """Same-origin form posts (the outbox page's buttons, the Admin form) and plain clients pass."""
    origin = str(client.make_url("")).rstrip("/")
    same = {"Origin": origin, "Sec-Fetch-Site": "same-origin"}
    r = await client.post(
        "/_sim/admin/reset-email",
        data={"login": "rita@example.com", "return": "outbox"},
        headers=same,
        allow_redirects=False,
    )
    assert r.status == 303 and len(state.outbox) == 1
    r = await client.post(
        "/_sim/admin/reset-email", json={"login": "rita@example.com"}, headers={"Sec-Fetch-Site": "none"}
    )
    assert r.status == 200 and len(state.outbox) == 2


@pytest.mark.parametrize("path", ["/outbox", "/outbox.json", "/_sim/calls", "/_sim/sessions", "/_sim/faults"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8081", "127.0.0.1.nip.io", "192.168.1.20:8081"])
async def test_dns_rebinding_reads_nothing(client, state, path, host):
    """A page at http://evil.example:8081 whose name now resolves to 127.0.0.1 sends its own name
    in Host: nothing under the controls answers it."""
    state.outbox.send("alice@example.com", "email", code="123456")
    r = await client.get(path, headers={"Host": host})
    assert r.status == 403
    assert "123456" not in await r.text()


@pytest.mark.parametrize("host", ["localhost", "localhost:8081", "127.0.0.1:8081", "127.0.0.2", "[::1]:8081"])
async def test_loopback_host_names_are_served(client, host):
    assert (await client.get("/outbox.json", headers={"Host": host})).status == 200


async def test_a_fixed_issuer_host_is_served(aiohttp_client):
    client = await aiohttp_client(create_simulator_app(issuer="http://sim.test:8081/oauth2/default"))
    assert (await client.get("/outbox.json", headers={"Host": "sim.test:8081"})).status == 200
    assert (await client.get("/outbox.json", headers={"Host": "evil.example:8081"})).status == 403


async def test_protocol_endpoints_are_not_host_bound(client):
    """Only the controls are: the org's own endpoints answer under any name, as a real org does."""
    r = await client.get("/oauth2/default/.well-known/openid-configuration", headers={"Host": "id.example.test"})
    assert r.status == 200 and (await r.json())["issuer"] == "http://id.example.test/oauth2/default"


@pytest.mark.parametrize(
    "body",
    [
        {"stateHandle": ["a", "b"]},
        {"stateHandle": {"x": 1}},
        {"interactionHandle": [1]},
        {"stateHandle": 7},
        {"activation_login": ["sam@example.com"]},
    ],
)
async def test_expire_refuses_handles_that_are_not_strings(client, body):
    r = await client.post("/_sim/expire", json=body)
    assert r.status == 400 and "must be a string" in (await r.json())["error"]


async def test_faults_must_be_a_json_object(client):
    for body in ([1, 2], "next", 3):
        r = await client.post("/_sim/faults", json=body)
        assert r.status == 400, body
