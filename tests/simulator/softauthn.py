"""A software WebAuthn authenticator for tests: an ES256 key, "none" attestation (as Chromium's
virtual authenticator produces), and the base64url bodies an IDX client posts (idx-protocol 3.2)."""

from __future__ import annotations

import hashlib
import json
import secrets
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, verified, attested data


class SoftAuthenticator:
    def __init__(self, origin: str):
        self.origin = origin
        self.rp_id = origin.split("://", 1)[1].rsplit(":", 1)[0]
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(16)
        self.sign_count = 0

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        ).encode()

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        self.sign_count += 1
        return (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", self.sign_count)
            + attested
        )

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def create(self, activation: dict, origin: str | None = None) -> dict:
        """`credentials` for enroll-authenticator, from `contextualData.activationData`."""
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self.cose_key()
        auth_data = self._auth_data(UP | AT, attested)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "clientData": bytes_to_base64url(self._client_data("webauthn.create", activation["challenge"], origin)),
            "attestation": bytes_to_base64url(attestation),
            "transports": '["internal"]',
        }

    def get(self, challenge_data: dict, origin: str | None = None, key=None) -> dict:
        """`credentials` for challenge-authenticator, from `contextualData.challengeData`."""
        client_data = self._client_data("webauthn.get", challenge_data["challenge"], origin)
        auth_data = self._auth_data(UP)
        signature = (key or self.key).sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "clientData": bytes_to_base64url(client_data),
            "authenticatorData": bytes_to_base64url(auth_data),
            "signatureData": bytes_to_base64url(signature),
        }

    @property
    def credential_id_b64(self) -> str:
        return bytes_to_base64url(self.credential_id)
