"""Duo through the simulator's fake Duo (Duo Web v2 iframe protocol): the signed request, the
framed prompt, Approve's postMessage answer, and the signature checks on challenge/answer."""

import re
import time
from urllib.parse import urlencode

import pytest

from embedded.simulator import demo_org, duo

from .conftest import field_messages, names, remediation

DUANE = ("duane@example.com", "Duane-Passw0rd!")
PARENT = "http://127.0.0.1:5000/login/step"


@pytest.fixture
def org():
    org = demo_org()
    org.rate_limit_requests = 1000  # many refused answers in a row; the per-handle limit has its own test
    return org


async def duane_at_duo(idx) -> dict:
    doc = await idx.password_signin(*DUANE)
    assert names(doc) == ["challenge-authenticator"]
    return doc["currentAuthenticatorEnrollment"]["value"]["contextualData"]


def frame_path(tx: str, parent: str = PARENT) -> str:
    return "/frame/web/v1/auth?" + urlencode({"tx": tx, "parent": parent, "v": "2.6"})


async def approve_in_frame(client, signed_token: str) -> str:
    """What the framed prompt posts to the parent window after Approve."""
    tx = signed_token.split(":")[0]
    page = await client.get(frame_path(tx))
    assert page.status == 200
    html = await page.text()
    action = re.search(r'<form method=post action="([^"]+)"', html).group(1).replace("&amp;", "&")
    r = await client.post(action, data={"decision": "approve"})
    assert r.status == 200
    found = re.search(r'window\.parent\.postMessage\("([^"]+)", "([^"]+)"\)', await r.text())
    assert found and found.group(2) == "http://127.0.0.1:5000"  # only the parent's origin may read it
    return found.group(1)


async def test_duane_approves_in_the_frame(idx, client):
    data = await duane_at_duo(idx)
    doc = idx.doc
    current = doc["currentAuthenticatorEnrollment"]["value"]
    assert (current["key"], current["type"], current["methods"]) == ("duo", "app", [{"type": "duo"}])
    assert data["integrationType"] == "IFRAME"
    assert data["host"] == f"{client.host}:{client.port}"  # the simulator hosts the fake Duo
    assert data["script"] == str(client.make_url("/frame/duo-web-v2.js"))
    assert re.fullmatch(r"TX\|[A-Za-z0-9+/=]+\|[0-9a-f]{40}:APP\|[A-Za-z0-9+/=]+\|[0-9a-f]{40}", data["signedToken"])
    creds = remediation(doc, "challenge-authenticator")["value"][0]["form"]["value"]
    assert creds == [{"name": "signatureData", "label": "Assertion From Duo", "required": True, "visible": False}]

    auth = await approve_in_frame(client, data["signedToken"])
    assert auth.startswith("AUTH|")
    app_half = data["signedToken"].split(":")[1]
    doc = await idx.submit("challenge-authenticator", credentials={"signatureData": f"{auth}:{app_half}"})
    assert "successWithInteractionCode" in doc
    assert (await idx.exchange()).status == 200


async def test_frame_page_headers_and_prompt(idx, client):
    data = await duane_at_duo(idx)
    r = await client.get(frame_path(data["signedToken"].split(":")[0]))
    html = await r.text()
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors http://127.0.0.1:* http://localhost:*" in csp and "default-src 'none'" in csp
    assert "X-Frame-Options" not in r.headers
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f"<style nonce='{nonce}'>" in html and "http" not in html.split("<body>")[1].split("<form")[0]
    assert "Duo (simulated)" in html and "duane@example.com" in html
    assert ">Approve</button>" in html and ">Deny</button>" in html
    script = await client.get("/frame/duo-web-v2.js")
    assert script.status == 200 and "postMessage" not in await script.text()  # the parent side only listens


async def test_deny_posts_nothing(idx, client):
    data = await duane_at_duo(idx)
    r = await client.post(frame_path(data["signedToken"].split(":")[0]), data={"decision": "deny"})
    html = await r.text()
    assert r.status == 200 and "Request denied" in html and "postMessage" not in html and "<script" not in html


@pytest.mark.parametrize(
    "query",
    [
        {"tx": "TX|bm9ib2R5fDk5OTk5OTk5OTk=|0000000000000000000000000000000000000000", "parent": PARENT},
        {"tx": "junk", "parent": PARENT},
    ],
)
async def test_frame_refuses_unsigned_requests(client, query):
    r = await client.get("/frame/web/v1/auth?" + urlencode(query))
    assert r.status == 400 and "not a valid Duo request" in await r.text()


async def test_frame_needs_a_parent(idx, client):
    data = await duane_at_duo(idx)
    r = await client.get("/frame/web/v1/auth?" + urlencode({"tx": data["signedToken"].split(":")[0]}))
    assert r.status == 400


async def test_bad_signatures_are_refused(idx, client, state):
    data = await duane_at_duo(idx)
    tx_half, app_half = data["signedToken"].split(":")
    auth = await approve_in_frame(client, data["signedToken"])
    keys = state.engine.duo
    tampered = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    bad = [
        f"{tampered}:{app_half}",  # AUTH hmac altered
        f"{auth}:{tx_half}",  # the TX half is not the APP half
        f"{auth}",  # APP half missing
        f"{duo.sign(keys.skey, 'AUTH', 'alice@example.com', 300)}:{app_half}",  # Duo approved someone else
        f"{auth}:{duo.sign(keys.skey, 'APP', 'duane@example.com', 300)}",  # APP signed with Duo's key
        f"{duo.sign(b'other key', 'AUTH', 'duane@example.com', 300)}:{app_half}",
        "",
    ]
    for signature in bad:
        doc = await idx.submit("challenge-authenticator", credentials={"signatureData": signature})
        assert idx.status == 400, signature
        assert doc["messages"]["value"] == [
            {
                "message": "Duo web signature verification failed.",
                "i18n": {"key": "oie.authenticator.duo.method.duo.verification_failed"},
                "class": "ERROR",
            }
        ], signature
        assert names(doc) == ["challenge-authenticator"]
    expired = duo.sign(keys.skey, "AUTH", "duane@example.com", 300, now=time.time() - 600)
    doc = await idx.submit("challenge-authenticator", credentials={"signatureData": f"{expired}:{app_half}"})
    assert idx.status == 400 and "oie.authenticator.duo.method.duo.verification_timeout" in field_messages(doc)
    doc = await idx.submit("challenge-authenticator", credentials={"signatureData": f"{auth}:{app_half}"})
    assert "successWithInteractionCode" in doc


def test_signatures_round_trip():
    keys = duo.DuoKeys()
    request = duo.sign_request(keys, "someone@example.com")
    auth = duo.approve(keys, request.split(":")[0])
    duo.verify_response(keys, f"{auth}:{request.split(':')[1]}", "someone@example.com")
    with pytest.raises(duo.DuoError):
        duo.verify_response(keys, f"{auth}:{request.split(':')[1]}", "other@example.com")
