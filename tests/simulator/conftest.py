"""Fixtures for the simulator tests: a running simulator and a tiny IDX client that follows the
hrefs the simulator offers (the way a real client must)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlsplit

import pytest

from embedded.simulator import SIMULATOR, create_simulator_app, demo_org

ION = "application/ion+json; okta-version=1.0.0"
REDIRECT = "http://127.0.0.1:5000/login/callback"
CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def remediation(doc: dict, name: str) -> dict:
    for r in doc.get("remediation", {}).get("value", []):
        if r["name"] == name:
            return r
    raise AssertionError(f"no {name} in {names(doc)}")


def names(doc: dict) -> list[str]:
    return [r["name"] for r in doc.get("remediation", {}).get("value", [])]


def option_id(doc: dict, form_name: str, key: str, field: str = "authenticator") -> dict:
    """The immutable values of the option of `form_name` whose relatesTo resolves to `key`."""
    form = remediation(doc, form_name)
    f = next(f for f in form["value"] if f["name"] == field)
    for o in f["options"]:
        target = resolve(doc, o["relatesTo"])
        if target["key"] == key:
            return {v["name"]: v["value"] for v in o["value"]["form"]["value"] if v.get("mutable") is False}
    raise AssertionError(f"no option for {key}")


def resolve(doc: dict, path: str):
    node = doc
    for part in path.lstrip("$.").replace("]", "").split("."):
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index)]
    return node


def field_messages(doc: dict) -> list[str]:
    """Every i18n key in the document, global and on fields."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "i18n" in node and "message" in node:
                found.append(node["i18n"]["key"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


class Idx:
    """One sign-in attempt against the simulator."""

    def __init__(self, client, scope="openid profile email", redirect_uri=REDIRECT):
        self.client, self.scope, self.redirect_uri = client, scope, redirect_uri
        self.verifier, self.challenge = pkce_pair()
        self.state, self.nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.doc: dict = {}
        self.status = 0
        self.handle = None
        self.client_fields = dict(CLIENT)  # how the client authenticates (demo-spa: client_id alone)

    async def start(self) -> dict:
        r = await self.client.post(
            "/oauth2/default/v1/interact",
            data={
                **self.client_fields,
                "scope": self.scope,
                "redirect_uri": self.redirect_uri,
                "code_challenge": self.challenge,
                "code_challenge_method": "S256",
                "state": self.state,
                "nonce": self.nonce,
            },
        )
        assert r.status == 200, await r.text()
        self.handle = (await r.json())["interaction_handle"]
        return await self.introspect()

    async def introspect(self) -> dict:
        r = await self.client.post(
            "/idp/idx/introspect", json={"interactionHandle": self.handle}, headers={"Content-Type": ION, "Accept": ION}
        )
        return await self._take(r)

    async def _take(self, r) -> dict:
        self.status = r.status
        assert r.headers["Content-Type"].startswith("application/ion+json"), r.headers["Content-Type"]
        self.doc = await r.json(content_type=None)
        return self.doc

    async def post_href(self, href: str, body: dict) -> dict:
        body = {**body, "stateHandle": self.doc["stateHandle"]}
        r = await self.client.post(urlsplit(href).path, json=body, headers={"Accept": ION})
        return await self._take(r)

    async def submit(self, name: str, **body) -> dict:
        return await self.post_href(remediation(self.doc, name)["href"], body)

    async def action(self, top: str, name: str) -> dict:
        return await self.post_href(self.doc[top]["value"][name]["href"], {})

    async def select(self, key: str, form="select-authenticator-authenticate", **extra) -> dict:
        values = option_id(self.doc, form, key)
        return await self.submit(form, authenticator={**values, **extra})

    async def outbox_code(self, to: str) -> str:
        r = await self.client.get("/outbox.json", params={"to": to})
        return (await r.json())[0]["code"]

    @property
    def interaction_code(self) -> str:
        fields = self.doc["successWithInteractionCode"]["value"]
        return next(f["value"] for f in fields if f["name"] == "interaction_code")

    async def exchange(self, **overrides):
        data = {
            **self.client_fields,
            "grant_type": "interaction_code",
            "interaction_code": self.interaction_code,
            "code_verifier": self.verifier,
            **overrides,
        }
        return await self.client.post("/oauth2/default/v1/token", data=data)

    async def password_signin(self, login: str, password: str) -> dict:
        await self.start()
        await self.submit("identify", identifier=login)
        return await self.submit("challenge-authenticator", credentials={"passcode": password})


@pytest.fixture
def org():
    return demo_org()


@pytest.fixture
async def client(aiohttp_client, org):
    return await aiohttp_client(create_simulator_app(org))


@pytest.fixture
def state(client):
    return client.server.app[SIMULATOR]


@pytest.fixture
def idx(client):
    return Idx(client)
