"""Administrator emails: activation and password-reset links carrying single-use tokens, minted by
/_sim/admin/*, and the /v1/interact entry points that consume them."""

from urllib.parse import parse_qs, urlsplit

import pytest

from embedded.simulator import SIMULATOR, create_simulator_app, parse_args

from .conftest import CLIENT, REDIRECT, Idx, names, option_id, remediation

ISSUER_PATH = "/oauth2/default"


async def interact_with(client, **token) -> tuple[int, dict, Idx]:
    flow = Idx(client)
    r = await client.post(
        f"{ISSUER_PATH}/v1/interact",
        data={
            **CLIENT,
            "scope": "openid profile email",
            "redirect_uri": REDIRECT,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
            "state": flow.state,
            "nonce": flow.nonce,
            **token,
        },
    )
    body = await r.json()
    if r.status == 200:
        flow.handle = body["interaction_handle"]
        await flow.introspect()
    return r.status, body, flow


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_activation_email_link_enrolls_sam_end_to_end(client, state):
    r = await client.post("/_sim/admin/activation-email", json={"login": "sam@example.com"})
    assert r.status == 200
    sent = await r.json()
    assert sent["link"] == f"http://127.0.0.1/activate?token={sent['token']}"  # the demo client's origin
    assert len(sent["token"]) >= 32
    mail = (await (await client.get("/outbox.json", params={"to": "sam@example.com"})).json())[0]
    assert mail["kind"] == "email" and mail["link"] == sent["link"] and mail["code"] is None
    assert "Activate" in mail["subject"]

    status, _, flow = await interact_with(client, activation_token=token_of(mail["link"]))
    assert status == 200
    doc = flow.doc
    assert names(doc) == ["select-authenticator-enroll"]  # password and email are both required
    assert doc["user"]["value"]["identifier"] == "sam@example.com"
    doc = await flow.select("okta_password", form="select-authenticator-enroll")
    assert names(doc)[0] == "enroll-authenticator"
    doc = await flow.submit("enroll-authenticator", credentials={"passcode": "short"})
    assert flow.status == 400  # the password policy applies
    doc = await flow.submit("enroll-authenticator", credentials={"passcode": "Brand-New-Pass1"})
    assert names(doc) == ["select-authenticator-enroll"]
    doc = await flow.select("okta_email", form="select-authenticator-enroll")
    doc = await flow.submit("enroll-authenticator", credentials={"passcode": await flow.outbox_code("sam@example.com")})
    assert "successWithInteractionCode" in doc
    assert (await flow.exchange()).status == 200
    sam = state.org.user("sam@example.com")
    assert sam.status == "active" and sam.password == "Brand-New-Pass1" and sam.activation_token is None
    assert sam.enrolled_keys() == ["okta_password", "okta_email"]

    # The link works once; afterwards sam signs in like anyone else.
    status, body, _ = await interact_with(client, activation_token=sent["token"])
    assert status == 400 and body == {
        "error": "invalid_request",
        "error_description": "The activation token is invalid",
    }
    again = Idx(client)
    doc = await again.password_signin("sam@example.com", "Brand-New-Pass1")
    assert "successWithInteractionCode" in doc


async def test_reset_email_link_sets_a_new_password(client, state):
    r = await client.post(
        "/_sim/admin/reset-email", json={"login": "rita@example.com", "app_url": "http://localhost:8080/"}
    )
    sent = await r.json()
    assert sent["link"] == f"http://localhost:8080/reset-password?token={sent['token']}"
    status, _, flow = await interact_with(client, recovery_token=sent["token"])
    assert status == 200 and names(flow.doc) == ["reset-authenticator"]
    assert flow.doc["user"]["value"]["identifier"] == "rita@example.com"
    doc = await flow.submit("reset-authenticator", credentials={"passcode": "Fresh-Start-2025"})
    assert "successWithInteractionCode" in doc
    assert state.org.user("rita@example.com").password == "Fresh-Start-2025"
    status, body, _ = await interact_with(client, recovery_token=sent["token"])
    assert status == 400 and body == {"error": "invalid_request", "error_description": "The recovery token is invalid"}


async def test_a_newer_email_replaces_the_older_token(client):
    first = await (await client.post("/_sim/admin/reset-email", json={"login": "rita@example.com"})).json()
    second = await (await client.post("/_sim/admin/reset-email", json={"login": "rita@example.com"})).json()
    assert first["token"] != second["token"]
    assert (await interact_with(client, recovery_token=first["token"]))[0] == 400
    assert (await interact_with(client, recovery_token=second["token"]))[0] == 200


@pytest.mark.parametrize(
    "param, text",
    [("activation_token", "The activation token is invalid"), ("recovery_token", "The recovery token is invalid")],
)
async def test_bad_tokens(client, param, text):
    status, body, _ = await interact_with(client, **{param: "not-a-token"})
    assert status == 400 and body == {"error": "invalid_request", "error_description": text}


async def test_admin_email_refusals(client):
    r = await client.post("/_sim/admin/activation-email", json={"login": "nobody@example.com"})
    assert r.status == 404
    r = await client.post("/_sim/admin/activation-email", json={"login": "alice@example.com"})
    assert r.status == 409  # only staged users are activated
    r = await client.post("/_sim/admin/reset-email", json={"login": "sam@example.com"})
    assert r.status == 409  # not activated yet
    r = await client.post(
        "/_sim/admin/reset-email", json={"login": "rita@example.com", "app_url": "javascript:alert(1)"}
    )
    assert r.status == 400
    outbox = await (await client.get("/outbox.json")).json()
    assert outbox == []


async def test_outbox_page_admin_form(client):
    page = await (await client.get("/outbox")).text()
    assert "Admin" in page and 'formaction="/_sim/admin/activation-email"' in page
    assert "<option value='sam@example.com'>sam@example.com (staged)</option>" in page
    r = await client.post(
        "/_sim/admin/activation-email",
        allow_redirects=False,
        data={"login": "sam@example.com", "app_url": "http://127.0.0.1:8080", "return": "outbox"},
    )
    assert r.status == 303 and r.headers["Location"] == "/outbox"
    page = await (await client.get("/outbox")).text()
    assert "http://127.0.0.1:8080/activate?token=" in page
    r = await client.post("/_sim/admin/reset-email", data={"login": "rita@example.com"})  # a form without return
    assert r.status == 200 and (await r.json())["link"].startswith("http://127.0.0.1/reset-password?token=")


async def test_app_url_setting(aiohttp_client):
    client = await aiohttp_client(create_simulator_app(app_url="http://127.0.0.1:9999/"))
    assert client.server.app[SIMULATOR].app_url == "http://127.0.0.1:9999"
    sent = await (await client.post("/_sim/admin/reset-email", json={"login": "rita@example.com"})).json()
    assert sent["link"].startswith("http://127.0.0.1:9999/reset-password?token=")
    assert parse_args(["--app-url", "http://localhost:8080"]).app_url == "http://localhost:8080"
    assert parse_args([]).app_url is None


async def test_activation_enrollment_is_not_skippable(client):
    sent = await (await client.post("/_sim/admin/activation-email", json={"login": "sam@example.com"})).json()
    _, _, flow = await interact_with(client, activation_token=sent["token"])
    assert "skip" not in names(flow.doc)
    form = remediation(flow.doc, "select-authenticator-enroll")
    assert len(form["value"][0]["options"]) == 2
    assert option_id(flow.doc, "select-authenticator-enroll", "okta_email")["id"].startswith("aut")
