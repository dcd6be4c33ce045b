"""Sign-in flows driven by the demo org's policies, end to end through the IDX endpoints."""

import time

import jwt
import pytest

from embedded.simulator import totp

from .conftest import Idx, field_messages, names, remediation


async def test_alice_password_only_reaches_tokens(idx, client):
    doc = await idx.start()
    assert names(doc)[:1] == ["identify"]
    doc = await idx.submit("identify", identifier="alice@example.com")
    assert names(doc)[0] == "challenge-authenticator"
    assert doc["currentAuthenticatorEnrollment"]["value"]["key"] == "okta_password"
    assert "recover" in doc["currentAuthenticatorEnrollment"]["value"]
    doc = await idx.submit("challenge-authenticator", credentials={"passcode": "Alice-Passw0rd!"})
    assert "successWithInteractionCode" in doc and "remediation" not in doc
    r = await idx.exchange()
    assert r.status == 200
    tokens = await r.json()
    assert tokens["token_type"] == "Bearer" and "refresh_token" not in tokens
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "alice@example.com" and claims["amr"] == ["pwd"]
    assert claims["nonce"] == idx.nonce
