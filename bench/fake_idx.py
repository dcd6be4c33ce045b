"""A minimal fake Identity Engine for the speed benches: just the password sign-in, as cheap as
it can be, so the app, not its upstream, is what a bench measures.

    python bench/fake_idx.py --port N [--latency SECONDS]

It replays the project's recorded password sign-in (tests/fixtures/recorded/password: introspect,
identify, challenge answer) with its own origin in the links and a state handle per
transaction, and signs one ID token per sign-in (RS256, a key made at start) carrying the
nonce the app sent to /v1/interact. Plain asyncio HTTP/1.1 with keep-alive, no framework.
`--latency` holds every answer back that long (the upstream latency a bench adds).
GET /_calls answers the number of IDX and OAuth calls served so far, by endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "recorded" / "password"
RECORDED_ORIGIN = "https://org.example"
RECORDED_STATE = "state-handle-1"
RECORDED_CODE = "interaction-code-1"
CLIENT_ID = "bench-client"
USER = {
    "sub": "00u-alice",
    "email": "alice@example.com",
    "name": "Alice Example",
    "preferred_username": "alice@example.com",
}


def b64int(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class FakeIdentityEngine:
    def __init__(self, origin: str, latency: float):
        self.origin, self.issuer, self.latency = origin, origin + "/oauth2/default", latency
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        self.jwks = {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": "bench",
                    "n": b64int(numbers.n),
                    "e": b64int(numbers.e),
                }
            ]
        }
        # The three recorded answers, as text with our origin, a state handle and a code to fill.
        self.pages = {
            name: (RECORDED / f"{file}.json").read_text().replace(RECORDED_ORIGIN, origin)
            for name, file in (
                ("introspect", "01-introspect"),
                ("identify", "02-identify"),
                ("answer", "03-challenge-answer"),
            )
        }
        self.nonces: dict[str, str] = {}  # interaction handle -> the app's nonce
        self.calls: Counter[str] = Counter()

    def discovery(self) -> dict:
        v1 = self.issuer + "/v1"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": v1 + "/authorize",
            "token_endpoint": v1 + "/token",
            "userinfo_endpoint": v1 + "/userinfo",
            "jwks_uri": v1 + "/keys",
            "end_session_endpoint": v1 + "/logout",
            "revocation_endpoint": v1 + "/revoke",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def idx(self, page: str, handle: str) -> tuple[int, str, bytes]:
        # Every transaction's state handle names its interaction, so the token call finds its nonce.
        text = self.pages[page].replace(RECORDED_STATE, "sh-" + handle).replace(RECORDED_CODE, "ic-" + handle)
        return 200, "application/ion+json; okta-version=1.0.0", text.encode()

    def token(self, form: dict[str, str]) -> tuple[int, str, bytes]:
        handle = form.get("interaction_code", "")[3:]
        nonce = self.nonces.pop(handle, None)
        if nonce is None:
            return 400, "application/json", b'{"error":"invalid_grant"}'
        now = int(time.time())
        claims = {
            **USER,
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            "nonce": nonce,
            "amr": ["pwd"],
            "auth_time": now,
        }
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "bench"})
        body = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid profile email",
            "access_token": secrets.token_urlsafe(24),
            "id_token": id_token,
        }
        return 200, "application/json", json.dumps(body).encode()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        self.calls[path] += method == "POST"
        if path.endswith("/.well-known/openid-configuration"):
            return 200, "application/json", json.dumps(self.discovery()).encode()
        if path.endswith("/v1/keys"):
            return 200, "application/json", json.dumps(self.jwks).encode()
        if path == "/_calls":
            return 200, "application/json", json.dumps(self.calls).encode()
        if path.endswith("/v1/interact"):
            form = dict(parse_qsl(body.decode()))
            handle = secrets.token_urlsafe(12)
            self.nonces[handle] = form.get("nonce", "")
            return 200, "application/json", json.dumps({"interaction_handle": handle}).encode()
        if path.endswith("/v1/token"):
            return self.token(dict(parse_qsl(body.decode())))
        if path.startswith("/idp/idx/"):
            doc = json.loads(body or b"{}")
            step = path.rsplit("/", 1)[1]
            if step == "introspect":
                return self.idx("introspect", doc.get("interactionHandle", ""))
            handle = str(doc.get("stateHandle", ""))[3:]
            if step == "identify" and handle in self.nonces:
                return self.idx("identify", handle)
            if step == "answer" and handle in self.nonces:
                return self.idx("answer", handle)
        return 404, "application/json", b'{"errorSummary":"not found"}'


class Connection(asyncio.Protocol):
    def __init__(self, engine: FakeIdentityEngine):
        self.engine, self.buffer = engine, b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").split("\r\n")
            length = next(
                (int(line.split(":", 1)[1]) for line in head[1:] if line.lower().startswith("content-length:")), 0
            )
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            method, target, _ = head[0].split(" ", 2)
            reply = self.engine.answer(method, target.split("?", 1)[0], body)
            if self.engine.latency:
                asyncio.get_running_loop().call_later(self.engine.latency, self.send, *reply)
            else:
                self.send(*reply)

    def send(self, status: int, content_type: str, body: bytes) -> None:
        if self.transport.is_closing():
            return
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.transport.write(head.encode() + body)


async def serve(port: int, latency: float) -> None:
    engine = FakeIdentityEngine(f"http://127.0.0.1:{port}", latency)
    server = await asyncio.get_running_loop().create_server(lambda: Connection(engine), "127.0.0.1", port)
    print(f"fake Identity Engine on {engine.issuer}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.latency))
