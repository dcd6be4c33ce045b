"""Consent after authentication: clients that require it ask for the requested scopes the user has
not granted yet, as `granular-consent` (optional scopes may be unticked) or all-or-nothing
`consent`; Allow issues tokens with the scopes kept, Don't Allow ends the transaction."""

import jwt
import pytest

from embedded.simulator import create_simulator_app, demo_org

from .conftest import Idx, field_messages, names, remediation

CONNIE, CONNIE_PASSWORD = "connie@example.com", "Connie-Passw0rd!"
APP_SCOPES = "openid profile email offline_access"  # what the demo app asks for


def opted(doc: dict, form="granular-consent") -> dict:
    box = next(f for f in remediation(doc, form)["value"] if f["name"] == "optedScopes")
    return {f["name"]: f for f in box["form"]["value"]}


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def connie_at_consent(client, scope=APP_SCOPES) -> tuple[Idx, dict]:
    flow = Idx(client, scope=scope)
    doc = await flow.password_signin(CONNIE, CONNIE_PASSWORD)
    return flow, doc


async def test_connie_is_asked_which_scopes_to_share(client):
    _, doc = await connie_at_consent(client)
    assert names(doc) == ["granular-consent"]
    form = remediation(doc, "granular-consent")
    assert form["href"].endswith("/idp/idx/consent")
    consent = form["value"][0]
    assert consent == {"name": "consent", "type": "boolean", "visible": False, "required": True}
    boxes = opted(doc)
    assert list(boxes) == ["openid", "profile", "email", "offline_access"]
    assert "label" not in boxes["openid"] and boxes["openid"]["mutable"] is False  # shown first, fixed
    assert boxes["profile"]["mutable"] is False and boxes["email"]["mutable"] is False  # required ones
    assert boxes["offline_access"]["mutable"] is True and boxes["offline_access"]["value"] is True
    assert boxes["email"]["label"] == "View your email address." and boxes["email"]["desc"]
    assert all(b["type"] == "boolean" and b["required"] is True for b in boxes.values())
    # Authenticated already: no authenticator lists; the app object carries its terms and policy.
    assert "authenticators" not in doc and "authenticatorEnrollments" not in doc
    app = doc["app"]["value"]
    assert app["termsOfService"]["href"].startswith("https://") and app["privacyPolicy"]["rel"] == ["privacy-policy"]


async def test_allow_with_an_optional_scope_unticked_leaves_it_out_of_the_tokens(client, state):
    flow, _ = await connie_at_consent(client)
    # Immutable scopes are granted whatever the body says about them.
    doc = await flow.submit("granular-consent", consent=True, optedScopes={"openid": False, "offline_access": False})
    assert "successWithInteractionCode" in doc
    tokens = await (await flow.exchange()).json()
    assert tokens["scope"] == "openid profile email" and "refresh_token" not in tokens
    assert claims(tokens["access_token"])["scp"] == ["openid", "profile", "email"]
    assert claims(tokens["id_token"])["email"] == CONNIE
    assert state.org.user(CONNIE).grants == {"demo-client": ["profile", "email"]}
    sessions = await (await flow.client.get("/_sim/sessions")).json()
    assert sessions[-1]["login"] == CONNIE and sessions[-1]["scopes"] == ["openid", "profile", "email"]

    # What she allowed is not asked again; what she declined is, alone.
    again, doc = await connie_at_consent(client)
    assert list(opted(doc)) == ["openid", "offline_access"]
    doc = await again.submit("granular-consent", consent=True, optedScopes={"offline_access": True})
    tokens = await (await again.exchange()).json()
    assert "refresh_token" in tokens and tokens["scope"] == APP_SCOPES
    third = Idx(client, scope=APP_SCOPES)
    assert "successWithInteractionCode" in await third.password_signin(CONNIE, CONNIE_PASSWORD)


async def test_dont_allow_ends_the_transaction_with_access_denied(client):
    flow, _ = await connie_at_consent(client)
    doc = await flow.submit("granular-consent", consent=False, optedScopes={"offline_access": True})
    assert flow.status == 403
    assert "remediation" not in doc and "successWithInteractionCode" not in doc
    assert [m["i18n"]["key"] for m in doc["messages"]["value"]] == ["security.access_denied"]
    assert doc["messages"]["value"][0]["class"] == "ERROR"
    await flow.introspect()
    assert flow.doc["messages"]["value"][0]["i18n"]["key"] == "security.access_denied"


@pytest.mark.parametrize(
    "body, key",
    [
        ({"optedScopes": {"offline_access": True}}, "model.validation.field.blank"),
        ({"consent": "yes", "optedScopes": {"offline_access": True}}, "model.validation.field.invalid"),
        ({"consent": True}, "model.validation.field.blank"),
        ({"consent": True, "optedScopes": {"offline_access": "no"}}, "model.validation.field.invalid"),
    ],
)
async def test_consent_answers_are_checked(client, body, key):
    flow, _ = await connie_at_consent(client)
    doc = await flow.submit("granular-consent", **body)
    assert flow.status == 400 and names(doc) == ["granular-consent"]
    assert key in field_messages(doc)


async def test_all_or_nothing_consent_when_no_scope_is_optional(aiohttp_client):
    org = demo_org()
    org.scope_defs["offline_access"].consent = "required"
    client = await aiohttp_client(create_simulator_app(org))
    flow, doc = await connie_at_consent(client)
    assert names(doc) == ["consent"]
    form = remediation(doc, "consent")
    assert form["href"].endswith("/idp/idx/consent")
    assert [s["name"] for s in form["scopes"]] == ["profile", "email", "offline_access"]
    assert all(s["value"] == s["name"] and s["label"] and s["desc"] for s in form["scopes"])
    answer = form["value"][0]
    assert answer["name"] == "consent" and answer["type"] == "boolean" and answer["required"] is True
    assert answer["options"] == [{"label": "Allow Access", "value": True}, {"label": "Don't Allow", "value": False}]
    doc = await flow.submit("consent", consent=True)
    tokens = await (await flow.exchange()).json()
    assert tokens["scope"] == APP_SCOPES and "refresh_token" in tokens

    other = Idx(client, scope=APP_SCOPES)  # her grant now covers every scope asked for
    assert "successWithInteractionCode" in await other.password_signin(CONNIE, CONNIE_PASSWORD)


async def test_a_custom_scope_is_asked_of_anyone_the_first_time(client):
    """alice granted the standard scopes long ago; orders:read is new to her."""
    flow = Idx(client, scope="openid profile orders:read")
    doc = await flow.password_signin("alice@example.com", "Alice-Passw0rd!")
    boxes = opted(doc)
    assert list(boxes) == ["openid", "orders:read"]
    assert boxes["orders:read"]["label"] == "View your orders." and boxes["orders:read"]["mutable"] is True
    await flow.submit("granular-consent", consent=True, optedScopes={"orders:read": True})
    tokens = await (await flow.exchange()).json()
    assert claims(tokens["access_token"])["scp"] == ["openid", "profile", "orders:read"]
    again = Idx(client, scope="openid profile orders:read")
    assert "successWithInteractionCode" in await again.password_signin("alice@example.com", "Alice-Passw0rd!")


async def test_the_standard_scopes_need_no_consent_from_everyone_else(client):
    flow = Idx(client, scope=APP_SCOPES)
    assert "successWithInteractionCode" in await flow.password_signin("alice@example.com", "Alice-Passw0rd!")


async def test_a_client_without_consent_required_never_asks(aiohttp_client):
    org = demo_org()
    org.client("demo-client").consent_required = False
    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client, scope=APP_SCOPES + " orders:read")
    assert "successWithInteractionCode" in await flow.password_signin(CONNIE, CONNIE_PASSWORD)


async def test_discovery_lists_the_custom_scope(client):
    config = await (await client.get("/oauth2/default/.well-known/openid-configuration")).json()
    assert "orders:read" in config["scopes_supported"]
