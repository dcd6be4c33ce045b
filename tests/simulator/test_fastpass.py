"""Okta FastPass by loopback: the signed_nonce challenge, the simulator playing Okta Verify on this
computer (/probe and /challenge with loopback-only CORS), polling, and cancel-polling."""

import socket

import jwt
import pytest

from embedded.simulator import demo_org

from .conftest import Idx, names, option_id, remediation

LOOPBACK_PAGE = "http://127.0.0.1:5000"


@pytest.fixture
def org():
    org = demo_org()
    org.rate_limit_requests = 1000
    return org


async def fiona_fastpass(flow: Idx) -> dict:
    await flow.start()
    doc = await flow.submit("identify", identifier="fiona@example.com")
    assert names(doc) == ["select-authenticator-authenticate"]  # FastPass or her password
    assert option_id(doc, "select-authenticator-authenticate", "okta_verify")["methodType"] == "signed_nonce"
    return await flow.select("okta_verify")


def challenge_of(doc: dict) -> dict:
    return doc["currentAuthenticator"]["value"]["contextualData"]["challenge"]["value"]


async def probe_and_answer(client, challenge: dict, origin: str = LOOPBACK_PAGE):
    headers = {"Origin": origin}
    pre = await client.options(
        "/probe",
        headers={**headers, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "content-type"},
    )
    assert pre.status == 204
    probe = await client.get("/probe", headers={**headers, "Content-Type": "application/json"})
    assert probe.status == 200
    pre = await client.options(
        "/challenge",
        headers={**headers, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert pre.status == 204
    return await client.post("/challenge", json={"challengeRequest": challenge["challengeRequest"]}, headers=headers)


async def test_fiona_signs_in_with_fastpass(idx, client, state):
    doc = await fiona_fastpass(idx)
    assert names(doc) == ["challenge-poll", "select-authenticator-authenticate"]
    poll = remediation(doc, "challenge-poll")
    assert poll["href"].endswith("/idp/idx/authenticators/poll") and poll["refresh"] == 4000
    current = doc["currentAuthenticator"]["value"]
    assert (current["key"], current["type"], current["methods"]) == ("okta_verify", "app", [{"type": "signed_nonce"}])
    assert current["cancel"]["name"] == "cancel-polling"
    assert current["cancel"]["href"].endswith("/idp/idx/authenticators/poll/cancel")
    challenge = challenge_of(doc)
    assert challenge["challengeMethod"] == "LOOPBACK" and challenge["domain"] == "http://localhost"
    dead, own = challenge["ports"]
    assert own == str(client.port)
    with socket.socket() as s:  # nobody listens on the first port
        assert s.connect_ex(("127.0.0.1", int(dead))) != 0
    claims = jwt.decode(challenge["challengeRequest"], options={"verify_signature": False})
    assert claims["aud"] == "okta-verify-loopback" and claims["sub"] == state.org.user("fiona@example.com").id

    doc = await idx.submit("challenge-poll")
    assert names(doc)[0] == "challenge-poll"  # nothing answered yet
    r = await probe_and_answer(client, challenge)
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == LOOPBACK_PAGE
    doc = await idx.submit("challenge-poll")
    assert "successWithInteractionCode" in doc
    tokens = await (await idx.exchange()).json()
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["amr"] == ["pop"]

    r = await client.post(
        "/challenge", json={"challengeRequest": challenge["challengeRequest"]}, headers={"Origin": LOOPBACK_PAGE}
    )
    assert r.status == 410  # that sign-in is over


async def test_preflight_and_probe_cors(client):
    pre = await client.options(
        "/probe",
        headers={
            "Origin": "http://localhost:8080",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert "content-type" in pre.headers["Access-Control-Allow-Headers"].lower()
    assert pre.headers["Access-Control-Allow-Private-Network"] == "true"
    pre = await client.options(
        "/challenge", headers={"Origin": "http://[::1]:8080", "Access-Control-Request-Method": "POST"}
    )
    assert pre.status == 204 and "POST" in pre.headers["Access-Control-Allow-Methods"]
    calls = await (await client.get("/_sim/calls")).json()
    assert ["OPTIONS", "/probe"] in calls and ["OPTIONS", "/challenge"] in calls


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://127.0.0.1.evil.example:8080", "null", "http://192.168.1.5:8080"]
)
async def test_non_loopback_origins_are_refused(client, origin):
    pre = await client.options("/probe", headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
    assert pre.status == 403 and "Access-Control-Allow-Origin" not in pre.headers
    probe = await client.get("/probe", headers={"Origin": origin})
    assert probe.status == 403 and "Access-Control-Allow-Origin" not in probe.headers
    r = await client.post("/challenge", json={"challengeRequest": "x"}, headers={"Origin": origin})
    assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers


async def test_preflight_for_the_wrong_method_is_refused(client):
    pre = await client.options("/probe", headers={"Origin": LOOPBACK_PAGE, "Access-Control-Request-Method": "DELETE"})
    assert pre.status == 403


async def test_challenge_requests_we_did_not_sign_are_refused(idx, client):
    doc = await fiona_fastpass(idx)
    token = challenge_of(doc)["challengeRequest"]
    forged = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False})},
        "another key of at least thirty-two bytes",
        algorithm="HS256",
    )
    for body in ({"challengeRequest": forged}, {"challengeRequest": token + "x"}, {"nope": 1}, ["x"]):
        r = await client.post("/challenge", json=body, headers={"Origin": LOOPBACK_PAGE})
        assert r.status == 400 and (await r.json())["status"] == "invalid"
    doc = await idx.submit("challenge-poll")
    assert names(doc)[0] == "challenge-poll"


async def test_no_fastpass_on_this_computer(idx, client, state):
    doc = await fiona_fastpass(idx)
    state.org.user("fiona@example.com").enrollment("okta_verify").data["fastpass"] = False
    r = await client.post(
        "/challenge",
        json={"challengeRequest": challenge_of(doc)["challengeRequest"]},
        headers={"Origin": LOOPBACK_PAGE},
    )
    assert r.status == 404 and (await r.json())["status"] == "no_account"


async def test_cancel_polling_returns_to_the_choice(idx, client):
    doc = await fiona_fastpass(idx)
    token = challenge_of(doc)["challengeRequest"]
    doc = await idx.action("currentAuthenticator", "cancel")
    assert idx.status == 200 and names(doc) == ["select-authenticator-authenticate"]
    assert "currentAuthenticator" not in doc
    r = await client.post("/challenge", json={"challengeRequest": token}, headers={"Origin": LOOPBACK_PAGE})
    assert r.status == 410  # the cancelled challenge is forgotten
    doc = await idx.select("okta_password")
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "Fiona-Passw0rd!"})
    assert "successWithInteractionCode" in doc


async def test_cancel_polling_only_while_polling(idx):
    await idx.start()
    doc = await idx.post_href("/idp/idx/authenticators/poll/cancel", {})
    assert idx.status == 400 and names(doc)[0] == "identify"


async def test_poll_after_the_state_moved_on(idx):
    await fiona_fastpass(idx)
    await idx.action("currentAuthenticator", "cancel")
    doc = await idx.post_href("/idp/idx/authenticators/poll", {})
    assert idx.status == 200 and names(doc) == ["select-authenticator-authenticate"]
