"""Step-up: acr_values on /v1/interact raises what the sign-in needs beyond the sign-on policy
(never lowers it), and the tokens carry `acr` = the value asked for; max_age is always met since no
Okta session carries over, and auth_time is this sign-in's."""

import time

import jwt
import pytest

from embedded.simulator import create_simulator_app, demo_org

from .conftest import CLIENT, REDIRECT, Idx, names, resolve

TWO = "urn:okta:loa:2fa:any"
IFPOSSIBLE = "urn:okta:loa:2fa:any:ifpossible"


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def begin(flow: Idx, **extra) -> tuple[int, dict]:
    """/v1/interact with extra parameters (acr_values, max_age), then introspect."""
    r = await flow.client.post(
        "/oauth2/default/v1/interact",
        data={
            **CLIENT,
            "scope": flow.scope,
            "redirect_uri": REDIRECT,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
            "state": flow.state,
            "nonce": flow.nonce,
            **extra,
        },
    )
    body = await r.json()
    if r.status == 200:
        flow.handle = body["interaction_handle"]
        await flow.introspect()
    return r.status, body


async def password_first(flow: Idx, login: str, password: str, **extra) -> dict:
    status, body = await begin(flow, **extra)
    assert status == 200, body
    await flow.submit("identify", identifier=login)
    return await flow.submit("challenge-authenticator", credentials={"passcode": password})


async def tokens_of(flow: Idx) -> dict:
    r = await flow.exchange()
    assert r.status == 200, await r.text()
    return await r.json()


def current_key(doc: dict) -> str:
    form = doc["remediation"]["value"][0]
    return resolve(doc, form["relatesTo"][0])["value"]["key"]


async def test_alice_password_only_is_asked_for_her_email_code(client):
    flow = Idx(client)
    doc = await password_first(flow, "alice@example.com", "Alice-Passw0rd!", acr_values=TWO, max_age="0")
    assert names(doc)[0] == "challenge-authenticator" and current_key(doc) == "okta_email"
    before = time.time()
    doc = await flow.submit(
        "challenge-authenticator", credentials={"passcode": await flow.outbox_code("alice@example.com")}
    )
    assert "successWithInteractionCode" in doc
    tokens = await tokens_of(flow)
    id_token = claims(tokens["id_token"])
    assert id_token["acr"] == TWO and id_token["amr"] == ["pwd", "email", "mfa"]
    assert before - 1 <= id_token["auth_time"] <= time.time()  # this sign-in, so max_age=0 holds
    assert claims(tokens["access_token"])["acr"] == TWO
    session = (await (await client.get("/_sim/sessions")).json())[-1]
    assert session["acr"] == TWO and session["max_age"] == 0


async def test_bob_verifies_his_email_code_as_his_policy_already_asks(client):
    flow = Idx(client)
    doc = await password_first(flow, "bob@example.com", "Bob-Passw0rd!", acr_values=TWO, max_age="0")
    assert current_key(doc) == "okta_email"
    doc = await flow.submit(
        "challenge-authenticator", credentials={"passcode": await flow.outbox_code("bob@example.com")}
    )
    assert claims((await tokens_of(flow))["id_token"])["acr"] == TWO


async def test_without_acr_values_there_is_no_acr_claim(client):
    flow = Idx(client)
    await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    tokens = await tokens_of(flow)
    assert "acr" not in claims(tokens["id_token"]) and "acr" not in claims(tokens["access_token"])


async def test_one_factor_asked_never_lowers_the_policy(client):
    flow = Idx(client)
    doc = await password_first(flow, "bob@example.com", "Bob-Passw0rd!", acr_values="urn:okta:loa:1fa:any")
    assert current_key(doc) == "okta_email"  # his rule still wants two
    doc = await flow.submit(
        "challenge-authenticator", credentials={"passcode": await flow.outbox_code("bob@example.com")}
    )
    assert claims((await tokens_of(flow))["id_token"])["acr"] == "urn:okta:loa:1fa:any"


@pytest.fixture
async def lone_password(aiohttp_client):
    """The demo org where alice has nothing but her password."""
    org = demo_org()
    alice = org.user("alice@example.com")
    alice.enrollments = [e for e in alice.enrollments if e.key == "okta_password"]
    return await aiohttp_client(create_simulator_app(org))


async def test_if_possible_asks_for_two_only_of_users_with_two(client, lone_password):
    flow = Idx(client)
    doc = await password_first(flow, "alice@example.com", "Alice-Passw0rd!", acr_values=IFPOSSIBLE)
    assert current_key(doc) == "okta_email"
    lone = Idx(lone_password)
    doc = await password_first(lone, "alice@example.com", "Alice-Passw0rd!", acr_values=IFPOSSIBLE)
    assert "successWithInteractionCode" in doc
    assert claims((await tokens_of(lone))["id_token"])["acr"] == IFPOSSIBLE


async def test_two_factors_asked_of_someone_with_one_enrolls_a_second(lone_password):
    flow = Idx(lone_password)
    doc = await password_first(flow, "alice@example.com", "Alice-Passw0rd!", acr_values=TWO)
    assert names(doc) == ["select-authenticator-enroll"]  # the enrollment policy lets her add one
    doc = await flow.select("okta_email", form="select-authenticator-enroll")
    doc = await flow.submit(
        "enroll-authenticator", credentials={"passcode": await flow.outbox_code("alice@example.com")}
    )
    assert "successWithInteractionCode" in doc
    assert claims((await tokens_of(flow))["id_token"])["acr"] == TWO


async def test_password_asked_of_a_passwordless_rule(client):
    """fiona's rule lets any factor go first; 1fa:pwd makes it her password."""
    flow = Idx(client)
    await begin(flow, acr_values="urn:okta:loa:1fa:pwd")
    doc = await flow.submit("identify", identifier="fiona@example.com")
    assert names(doc)[0] == "challenge-authenticator" and current_key(doc) == "okta_password"
    doc = await flow.submit("challenge-authenticator", credentials={"passcode": "Fiona-Passw0rd!"})
    assert claims((await tokens_of(flow))["id_token"])["acr"] == "urn:okta:loa:1fa:pwd"


async def test_password_asked_of_someone_without_one_is_denied(client):
    flow = Idx(client)
    await begin(flow, acr_values="urn:okta:loa:1fa:pwd")
    doc = await flow.submit("identify", identifier="gina@example.com")
    assert "remediation" not in doc and doc["messages"]["value"][0]["i18n"]["key"] == "security.access_denied"


async def test_phishing_resistant_means_the_smart_card_for_piper_and_nothing_for_alice(client):
    flow = Idx(client)
    await begin(flow, acr_values="phr")
    doc = await flow.submit("identify", identifier="piper@example.com")
    assert names(doc) == ["redirect-idp"] and doc["remediation"]["value"][0]["type"] == "X509"
    alice = Idx(client)
    doc = await password_first(alice, "alice@example.com", "Alice-Passw0rd!", acr_values="phr")
    assert "remediation" not in doc and doc["messages"]["value"][0]["i18n"]["key"] == "security.access_denied"


async def test_hardware_protected_goes_straight_to_fiona_s_fastpass(client):
    flow = Idx(client)
    await begin(flow, acr_values="phrh")
    doc = await flow.submit("identify", identifier="fiona@example.com")
    assert names(doc) == ["challenge-poll"]  # her password is no alternative here
    current = doc["currentAuthenticator"]["value"]
    assert current["key"] == "okta_verify" and current["methods"] == [{"type": "signed_nonce"}]


async def test_the_first_known_value_is_used(client):
    flow = Idx(client)
    await password_first(
        flow, "alice@example.com", "Alice-Passw0rd!", acr_values="urn:example:gold " + TWO + " urn:okta:loa:1fa:any"
    )
    await flow.submit("challenge-authenticator", credentials={"passcode": await flow.outbox_code("alice@example.com")})
    assert claims((await tokens_of(flow))["id_token"])["acr"] == TWO


@pytest.mark.parametrize("acr_values", ["urn:example:gold", "", "urn:example:gold urn:example:silver"])
async def test_unknown_values_are_ignored_as_okta_documents(client, acr_values):
    """Okta ignores acr_values it does not support: the sign-in is the policy's, with no acr claim."""
    flow = Idx(client)
    doc = await password_first(flow, "alice@example.com", "Alice-Passw0rd!", acr_values=acr_values)
    assert "successWithInteractionCode" in doc  # password only, as her policy asks
    assert "acr" not in claims((await tokens_of(flow))["id_token"])


@pytest.mark.parametrize(
    "params, text",
    [
        ({"max_age": "-1"}, "'max_age'"),
        ({"max_age": "soon"}, "'max_age'"),
    ],
)
async def test_unusable_values_are_refused(client, params, text):
    status, body = await begin(Idx(client), **params)
    assert status == 400 and body["error"] == "invalid_request" and text in body["error_description"]


async def test_a_refresh_keeps_the_acr(client):
    flow = Idx(client, scope="openid profile offline_access")
    await password_first(flow, "alice@example.com", "Alice-Passw0rd!", acr_values=TWO)
    await flow.submit("challenge-authenticator", credentials={"passcode": await flow.outbox_code("alice@example.com")})
    tokens = await tokens_of(flow)
    r = await client.post(
        "/oauth2/default/v1/token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    fresh = await r.json()
    assert claims(fresh["id_token"])["acr"] == TWO
    assert claims(fresh["id_token"])["auth_time"] == claims(tokens["id_token"])["auth_time"]


async def test_discovery_lists_the_acr_values(client):
    config = await (await client.get("/oauth2/default/.well-known/openid-configuration")).json()
    assert TWO in config["acr_values_supported"] and "phr" in config["acr_values_supported"]
    assert "acr" in config["claims_supported"]


async def test_max_age_alone_re_authenticates_as_always(client):
    flow = Idx(client)
    doc = await password_first(flow, "alice@example.com", "Alice-Passw0rd!", max_age="0")
    assert "successWithInteractionCode" in doc
    id_token = claims((await tokens_of(flow))["id_token"])
    assert "acr" not in id_token and time.time() - id_token["auth_time"] < 5
