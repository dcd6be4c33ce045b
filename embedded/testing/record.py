"""`python -m embedded record --issuer URL --out DIR`: a recording proxy between an app and an
Identity Engine (a real org or the simulator).

Point the app's issuer at the proxy; it forwards every request to the real issuer's origin,
rebases the answers' URLs on itself so the app keeps coming through it, and writes each IDX
response as a fixture file plus `manifest.json` (the sequences, see `script.py`), redacted (see
`redact.py`): what `idx_replay` plays. The app checks ID tokens against the issuer it is given,
so the proxy verifies each upstream ID token with the upstream keys and signs it again with its
own key for its own issuer; nothing else is changed.

Each `/v1/interact` starts a new sequence (in-process, `Recorder.begin(name)` groups them). An
identity provider's round trip is recorded when it comes back through the proxy (as the simulator's
does); a real org's social sign-in returns to the app from the org's own domain, out of the proxy's
sight.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer

from ..config import origin_of
from .oauth import Signer
from .redact import Redactor
from .script import FORMAT, MANIFEST, PLACEHOLDER_ORG, STAND_IN

Json = Any
HOP_BY_HOP = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "accept-encoding",
    "content-encoding",
    "upgrade",
}


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    request: Json
    response: Json
    headers: dict[str, str] = field(default_factory=dict)
    redirect: dict[str, str] | None = None


@dataclass
class Sequence:
    name: str
    redirect_uri: str
    exchanges: list[Exchange] = field(default_factory=list)


class Recorder:
    """The proxy and what it has seen. `await start()` serves it on a loopback port (0: a free one)."""

    def __init__(
        self, issuer: str, out: str | Path, *, name: str = "recording", placeholder_org: str = PLACEHOLDER_ORG
    ):
        self.upstreams: list[str] = []  # every upstream origin recorded from, for redaction
        self.retarget(issuer)
        self.out = Path(out)
        self.name = name
        self.placeholder_org = placeholder_org
        self.origin = ""  # the proxy's, once started
        self.sequences: list[Sequence] = []
        self._begun: Sequence | None = None
        self._redactor = Redactor(self.upstreams, placeholder_org)
        self._entries: dict[str, list[dict[str, Any]]] = {}
        self._by_handle: dict[str, Sequence] = {}
        self._idp_path: str | None = None
        self._signer = Signer("recorder")
        self._http: aiohttp.ClientSession | None = None
        self._server: TestServer | None = None

    def retarget(self, issuer: str) -> None:
        """Record from another Identity Engine from now on (same recording, same placeholders)."""
        self.upstream_issuer = issuer.rstrip("/")
        self.upstream_origin = origin_of(self.upstream_issuer)
        self.issuer_path = urlsplit(self.upstream_issuer).path
        self.upstreams.append(self.upstream_origin)
        self._upstream_keys: dict[str, Any] | None = None

    @property
    def issuer(self) -> str:
        """The issuer the app should use: the proxy, with the upstream issuer's path."""
        return self.origin + self.issuer_path

    # --- life ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024**2)
        app.router.add_route("*", "/{tail:.*}", self._proxy)
        app.on_cleanup.append(self._close_http)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Recorder:
        self._server = TestServer(self.app(), host=host, port=port or None)
        # Stopping never waits on an app's idle keep-alive connections for long: nothing here
        # needs a graceful minute.
        await self._server.start_server(shutdown_timeout=2.0)
        self.origin = f"http://{host}:{self._server.port}"
        return self

    async def close(self) -> None:
        """Stop the proxy and write the whole recording once more (see `flush`)."""
        if self.sequences:
            self.flush()
        if self._server is not None:
            await self._server.close()
            self._server = None
        await self._close_http()

    async def _close_http(self, _: web.Application | None = None) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def stand_ins(self) -> dict[str, str]:
        """Each stand-in the recording put in place of someone's value (`user-1@example.com`), and
        that value: what a recording of made-up people (the demo org's) may publish as its
        manifest's `people`, and a real org's must not."""
        return {p: value for value, p in self._redactor.placeholders.items() if STAND_IN.fullmatch(p)}

    def begin(self, name: str) -> None:
        """Start the sequence `name`: every transaction from here to the next `begin` goes in it,
        one after the other (a sign-in that starts again after its session expired is one
        journey). Without `begin` (the command line), each `/v1/interact` starts a sequence."""
        self._begun = Sequence(name, "")
        self.sequences.append(self._begun)

    # --- the proxy -------------------------------------------------------------------------

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        if self._http is None:
            self._http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        path = request.path
        if path.endswith("/v1/keys"):
            return web.json_response(self._signer.jwks())
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = self.upstream_origin + request.path_qs
        async with self._http.request(
            request.method, url, data=body or None, headers=headers, allow_redirects=False
        ) as upstream:
            raw = await upstream.read()
            status = upstream.status
            out_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "set-cookie"
            }
            cookies = [
                re.sub(r";\s*Domain=[^;]*", "", c, flags=re.I) for c in upstream.headers.getall("Set-Cookie", [])
            ]
        content_type = out_headers.get("Content-Type", "")
        text = raw.decode("utf-8", "replace")
        document: Json = None
        if "json" in content_type:
            try:
                document = json.loads(text)
            except ValueError:
                document = None
        if document is not None and path.endswith("/v1/token") and isinstance(document, dict) and status == 200:
            document = await self._resign(document)
        self._observe(request, body, status, document if document is not None else text, out_headers)
        if "Location" in out_headers:
            out_headers["Location"] = self._to_proxy(out_headers["Location"])
        if document is not None:
            payload = json.dumps(self._to_proxy(document)).encode()
        elif content_type.startswith("text/"):
            payload = text.replace(self.upstream_origin, self.origin).encode()
        else:
            payload = raw
        response = web.Response(status=status, body=payload, headers=out_headers)
        for cookie in cookies:
            response.headers.add("Set-Cookie", cookie)
        return response

    def _to_proxy(self, node: Json) -> Json:
        if isinstance(node, str):
            return self.origin + node[len(self.upstream_origin) :] if node.startswith(self.upstream_origin) else node
        if isinstance(node, dict):
            return {k: self._to_proxy(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._to_proxy(v) for v in node]
        return node

    # --- ID tokens -------------------------------------------------------------------------

    async def _upstream_jwks(self) -> dict[str, Any]:
        if self._upstream_keys is None:
            assert self._http is not None
            async with self._http.get(self.upstream_issuer + "/.well-known/openid-configuration") as resp:
                jwks_uri = (await resp.json())["jwks_uri"]
            async with self._http.get(jwks_uri) as resp:
                self._upstream_keys = await resp.json()
        return self._upstream_keys

    async def _resign(self, tokens: dict[str, Any]) -> dict[str, Any]:
        """The upstream ID token, verified with the upstream keys, signed again for the proxy's issuer."""
        if not isinstance(tokens.get("id_token"), str):
            return tokens
        header = jwt.get_unverified_header(tokens["id_token"])
        keys = {k.get("kid"): k for k in (await self._upstream_jwks()).get("keys", [])}
        if header.get("alg") != "RS256" or header.get("kid") not in keys:
            raise web.HTTPBadGateway(
                text="recorder: the upstream ID token is not signed with a key of the upstream issuer"
            )
        claims = jwt.decode(
            tokens["id_token"],
            jwt.PyJWK(keys[header["kid"]]).key,
            algorithms=["RS256"],
            options={"verify_aud": False},
            issuer=self.upstream_issuer,
        )
        claims["iss"] = self.issuer
        return {**tokens, "id_token": self._signer.sign(claims)}

    # --- recording -------------------------------------------------------------------------

    def _observe(self, request: web.Request, body: bytes, status: int, response: Json, headers: dict[str, str]) -> None:
        path = request.path
        try:
            sent: Json = (
                json.loads(body)
                if body and "json" in request.content_type
                else dict(parse_qsl(body.decode()))
                if body
                else None
            )
        except ValueError:
            sent = body.decode("utf-8", "replace")
        if path.endswith("/v1/interact") and status == 200 and isinstance(response, dict):
            form = sent if isinstance(sent, dict) else {}
            started = self._begun
            if started is None:
                started = Sequence(self.name if not self.sequences else f"{self.name}-{len(self.sequences) + 1}", "")
                self.sequences.append(started)
            started.redirect_uri = str(form.get("redirect_uri", ""))
            self._by_handle[str(response.get("interaction_handle"))] = started
            return
        if path.startswith("/sso/idps/") and request.method == "GET":
            self._idp_path = path
        location = headers.get("Location", "")
        sequence = self._sequence_of(sent)
        if (
            self._idp_path
            and sequence is not None
            and location.startswith(sequence.redirect_uri)
            and sequence.redirect_uri
        ):
            query = {k: v for k, v in parse_qsl(urlsplit(location).query) if k != "state"}
            sequence.exchanges.append(Exchange("GET", self._idp_path, 302, None, None, redirect=query))
            self._learn(sequence.exchanges[-1])
            self._idp_path = None
            self.flush(sequence)
            return
        if not path.startswith("/idp/idx/") or sequence is None:
            return
        retry = {k: v for k, v in headers.items() if k.lower() == "retry-after"}
        sequence.exchanges.append(Exchange(request.method, path, status, sent, response, retry))
        self._learn(sequence.exchanges[-1])
        if isinstance(response, dict) and isinstance(response.get("stateHandle"), str):
            self._by_handle[response["stateHandle"]] = sequence
        self.flush(sequence)

    def _sequence_of(self, sent: Json) -> Sequence | None:
        if isinstance(sent, dict):
            for key in ("stateHandle", "interactionHandle", "stateToken"):
                if isinstance(sent.get(key), str) and sent[key] in self._by_handle:
                    return self._by_handle[sent[key]]
        return self.sequences[-1] if self.sequences else None

    def _learn(self, exchange: Exchange) -> None:
        self._redactor.upstream_origins = tuple(self.upstreams)
        self._redactor.learn(exchange.request, request=True)
        self._redactor.learn(exchange.response)
        self._redactor.learn(exchange.redirect)
        # A value a form offers everyone (a colour to pick, a security question) names no one:
        # kept, so a replayed test picks the option it picked when recorded.
        for offered in _offered_values(exchange.response):
            self._redactor.placeholders.pop(offered, None)

    def flush(self, sequence: Sequence | None = None) -> None:
        """Write one sequence (as it grows: what the recording has taught the redactor so far) or,
        with none named, every sequence again with everything the recording taught it, and the
        manifest. `close()` does the latter: a secret first seen late is gone from earlier files too."""
        if sequence is None:
            self._redactor = Redactor(self.upstreams, self.placeholder_org)
            for seq in self.sequences:
                for ex in seq.exchanges:
                    self._learn(ex)
        for seq in self.sequences if sequence is None else [sequence]:
            if seq.exchanges:
                self._entries[seq.name] = self._write(seq)
        manifest = {
            "format": FORMAT,
            "org": self.placeholder_org,
            "issuer": self.placeholder_org + self.issuer_path,
            "sequences": {s.name: self._entries[s.name] for s in self.sequences if s.name in self._entries},
        }
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    def _write(self, seq: Sequence) -> list[dict[str, Any]]:
        redactor = self._redactor
        folder = self.out / seq.name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*"):
            old.unlink()
        entries = []
        for i, ex in enumerate(seq.exchanges, 1):
            entry: dict[str, Any] = {"call": f"{ex.method} {redactor.text(ex.path)}"}
            if ex.redirect is not None:
                entry["redirect"] = redactor.rewrite(ex.redirect)
            else:
                stem = ex.path.removeprefix("/idp/idx/").replace("/", "-")
                is_json = not isinstance(ex.response, str)
                file = f"{seq.name}/{i:02d}-{stem}.{'json' if is_json else 'txt'}"
                doc = redactor.rewrite(ex.response)
                (self.out / file).write_text(json.dumps(doc, indent=2) + "\n" if is_json else doc, encoding="utf-8")
                entry.update(status=ex.status, response=file)
                if ex.headers:
                    entry["headers"] = ex.headers
                if ex.request is not None:
                    entry["request"] = redactor.rewrite(ex.request, request=True)
            entries.append(entry)
        return entries


def _offered_values(node: Json) -> set[str]:
    """The plain string values of every option a document's forms offer."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "options" and isinstance(value, list):
                found.update(o["value"] for o in value if isinstance(o, dict) and isinstance(o.get("value"), str))
            found |= _offered_values(value)
    elif isinstance(node, list):
        for item in node:
            found |= _offered_values(item)
    return found


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="embedded record",
        description="Record IDX traffic between an app and an Identity Engine as replayable, redacted fixtures.",
    )
    parser.add_argument(
        "--issuer", required=True, help="the Identity Engine's issuer, e.g. https://example.okta.com/oauth2/default"
    )
    parser.add_argument("--out", required=True, help="directory for the fixture files and manifest.json")
    parser.add_argument("--host", default="127.0.0.1", help="the interface the proxy listens on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="the proxy's port (default 8090)")
    parser.add_argument("--name", default="recording", help="name of the first sequence; later ones get -2, -3, ...")
    return parser


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if urlsplit(args.issuer).scheme not in ("http", "https") or not urlsplit(args.issuer).hostname:
        print(f"embedded record: --issuer must be an absolute URL, got {args.issuer!r}", file=sys.stderr)
        return 2
    recorder = Recorder(args.issuer, args.out, name=args.name)

    async def serve() -> None:
        # Ctrl-C or SIGTERM ends the recording, also where SIGINT came in ignored (a process
        # started in the background by a non-interactive shell).
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await recorder.start(args.host, args.port)  # before the banner: a port in use says so alone
        print(f"Recording {recorder.upstream_issuer} into {recorder.out}/{MANIFEST}")
        print(f"Point the app at the proxy: OKTA_IDX_ISSUER={recorder.issuer}")
        print("Each sign-in (each /v1/interact) becomes a sequence. Stop with Ctrl-C.", flush=True)
        try:
            await stop.wait()
        finally:
            await recorder.close()

    try:
        asyncio.run(serve())
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"embedded record: --port {args.port}: the port is in use on {args.host}", file=sys.stderr)
        else:
            print(f"embedded record: {exc}", file=sys.stderr)
        return 2
    print(f"{sum(1 for s in recorder.sequences if s.exchanges)} sequence(s) in {recorder.out}/{MANIFEST}")
    return 0
