"""Federated authenticators: an identity provider as a second factor (external_idp, ivan) and smart
cards (smart_card_idp, piper), as a factor and from the first page ("Sign in with PIV / CAC card")."""

from urllib.parse import parse_qs, urlsplit

import jwt

from embedded.simulator import SIMULATOR, create_simulator_app
from embedded.simulator.org import Enrollment

from .conftest import REDIRECT, Idx, names, remediation

IVAN = ("ivan@example.com", "Ivan-Passw0rd!")


def local(client, href: str) -> str:
    return href.split(str(client.make_url("")).rstrip("/"))[1]


def redirect_idps(doc: dict) -> list[dict]:
    return [r for r in doc["remediation"]["value"] if r["name"] == "redirect-idp"]


def landing(r, flow: Idx) -> dict:
    assert r.status == 302, r.status
    location = r.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query.pop("state") == flow.state
    return query


async def test_ivan_verifies_with_the_partner_idp(idx, client):
    doc = await idx.password_signin(*IVAN)
    assert names(doc) == ["redirect-idp"]  # the only way on
    idp = remediation(doc, "redirect-idp")
    org = client.server.app[SIMULATOR].org
    partner = org.idp_for("external_idp")
    assert idp == {
        "name": "redirect-idp",
        "type": "OIDC",
        "idp": {"id": partner.id, "name": "Partner IdP"},
        "href": str(client.make_url(f"/sso/idps/{partner.id}")) + f"?stateToken={doc['stateHandle']}",
        "method": "GET",
        "relatesTo": ["$.currentAuthenticatorEnrollment"],
    }
    for top in ("currentAuthenticator", "currentAuthenticatorEnrollment"):
        current = doc[top]["value"]
        assert (current["key"], current["type"], current["displayName"], current["methods"]) == (
            "external_idp",
            "federated",
            "Partner IdP",
            [{"type": "idp"}],
        )

    page = await (await client.get(local(client, idp["href"]))).text()
    assert "Continue as ivan@example.com" in page and "type=email" not in page  # nobody to pick
    r = await client.post(local(client, idp["href"]), data={"action": "continue"}, allow_redirects=False)
    query = landing(r, idx)
    idx.doc = {
        "successWithInteractionCode": {"value": [{"name": "interaction_code", "value": query["interaction_code"]}]}
    }
    tokens = await (await idx.exchange()).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "ivan@example.com" and {"pwd", "fed", "mfa"} <= set(claims["amr"])


async def test_ivan_cancels_at_the_partner_idp(idx, client):
    doc = await idx.password_signin(*IVAN)
    href = local(client, remediation(doc, "redirect-idp")["href"])
    r = await client.post(href, data={"action": "cancel"}, allow_redirects=False)
    assert landing(r, idx)["error"] == "access_denied"
    doc = await idx.introspect()
    assert names(doc) == ["redirect-idp"]  # still waiting for the factor


async def test_factor_idp_page_refuses_a_transaction_not_waiting_for_it(idx, client):
    doc = await idx.start()
    partner = client.server.app[SIMULATOR].org.idp_for("external_idp")
    path = f"/sso/idps/{partner.id}?stateToken={doc['stateHandle']}"
    assert (await client.get(path)).status == 400
    r = await client.post(path, data={"action": "continue"}, allow_redirects=False)
    assert r.status == 400
    assert all(r["idp"]["id"] != partner.id for r in redirect_idps(doc))  # a factor, never on the first page


async def test_piper_verifies_with_her_smart_card(idx, client):
    await idx.start()
    doc = await idx.submit("identify", identifier="piper@example.com")
    assert names(doc) == ["redirect-idp"]
    idp = remediation(doc, "redirect-idp")
    assert idp["type"] == "X509" and idp["idp"]["name"] == "PIV / CAC card"
    assert idp["relatesTo"] == ["$.currentAuthenticatorEnrollment"]
    current = doc["currentAuthenticatorEnrollment"]["value"]
    assert (current["key"], current["type"], current["methods"]) == ("smart_card_idp", "federated", [{"type": "cert"}])
    page = await (await client.get(local(client, idp["href"]))).text()
    assert "Insert your smart card" in page and "CN=Piper Park, OU=Engineering, O=Example Corp" in page
    piper = client.server.app[SIMULATOR].org.user("piper@example.com")
    card = piper.enrollment("smart_card_idp").id
    r = await client.post(
        local(client, idp["href"]), data={"action": "continue", "certificate": "nope"}, allow_redirects=False
    )
    assert r.status == 400 and "Choose a certificate" in await r.text()
    r = await client.post(
        local(client, idp["href"]), data={"action": "continue", "certificate": card}, allow_redirects=False
    )
    assert "interaction_code" in landing(r, idx)


async def test_piv_button_on_the_first_page_identifies_the_card_holder(idx, client):
    doc = await idx.start()
    idps = redirect_idps(doc)
    assert [r["type"] for r in idps] == ["GOOGLE", "X509"]  # Fake Social first, then the card reader
    piv = idps[1]
    assert "relatesTo" not in piv and piv["idp"]["name"] == "PIV / CAC card"
    page = await (await client.get(local(client, piv["href"]))).text()
    assert "CN=Piper Park" in page
    card = client.server.app[SIMULATOR].org.user("piper@example.com").enrollment("smart_card_idp").id
    r = await client.post(
        local(client, piv["href"]), data={"action": "continue", "certificate": card}, allow_redirects=False
    )
    code = landing(r, idx)["interaction_code"]
    idx.doc = {"successWithInteractionCode": {"value": [{"name": "interaction_code", "value": code}]}}
    tokens = await (await idx.exchange()).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "piper@example.com" and claims["amr"] == ["sc"]


async def test_piv_from_the_first_page_then_more_factors(aiohttp_client, org):
    bob = org.user("bob@example.com")  # in the mfa group: a card alone is not enough
    bob.enrollments.append(Enrollment("smart_card_idp", "enrbobcard", {"subject": "CN=Bob Baker"}))
    client = await aiohttp_client(create_simulator_app(org))
    flow = Idx(client)
    doc = await flow.start()
    piv = redirect_idps(doc)[1]
    page = await (await client.get(local(client, piv["href"]))).text()
    assert "CN=Bob Baker" in page and "CN=Piper Park" in page
    r = await client.post(
        local(client, piv["href"]), data={"action": "continue", "certificate": "enrbobcard"}, allow_redirects=False
    )
    assert landing(r, flow) == {"error": "interaction_required"}
    doc = await flow.introspect()
    assert (
        names(doc)[0] == "select-authenticator-authenticate" and doc["user"]["value"]["identifier"] == "bob@example.com"
    )


async def test_piv_page_only_while_identifying(idx, client):
    doc = await idx.password_signin("bob@example.com", "Bob-Passw0rd!")
    card_reader = client.server.app[SIMULATOR].org.idp_for("smart_card_idp")
    r = await client.get(f"/sso/idps/{card_reader.id}?stateToken={doc['stateHandle']}")
    assert r.status == 400


async def test_smart_card_cancel(idx, client):
    doc = await idx.start()
    piv = redirect_idps(doc)[1]
    r = await client.post(local(client, piv["href"]), data={"action": "cancel"}, allow_redirects=False)
    assert landing(r, idx)["error"] == "access_denied"
