"""Fault injection for tests and benchmarks: added latency, a share of 429 / 500 / 503 answers,
dropped connections and malformed bodies, on the protocol endpoints only (never on the outbox or
the /_sim controls, so a test can always read codes and switch faults off)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass, field

from aiohttp import web

KINDS = ("429", "500", "503", "drop", "malformed")
PROTOCOL_PREFIXES = ("/idp/", "/oauth2/", "/sso/")


@dataclass
class Faults:
    latency_ms: float = 0.0
    rates: dict[str, float] = field(default_factory=dict)  # kind -> share of requests, 0..1
    next: list[str] = field(default_factory=list)  # kinds forced on the next requests, in order
    paths: list[str] = field(default_factory=lambda: list(PROTOCOL_PREFIXES))
    seed: int | None = None

    def __post_init__(self):
        for k in [*self.rates, *self.next]:
            if k not in KINDS:
                raise ValueError(f"unknown fault {k!r}; known: {', '.join(KINDS)}")
        for k, v in self.rates.items():
            if not 0 <= float(v) <= 1:
                raise ValueError(f"rate for {k} must be between 0 and 1")
        self._random = random.Random(self.seed)

    @classmethod
    def from_json(cls, data: dict) -> Faults:
        allowed = {"latency_ms", "rates", "next", "paths", "seed"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def as_json(self) -> dict:
        return asdict(self)

    def applies(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.paths)

    def draw(self) -> str | None:
        """The fault for this request, if any."""
        if self.next:
            return self.next.pop(0)
        roll = self._random.random()
        for k in KINDS:
            share = float(self.rates.get(k, 0))
            if roll < share:
                return k
            roll -= share
        return None


API_ERRORS = {
    "429": (429, "E0000047", "API call exceeded rate limit due to too many requests."),
    "500": (500, "E0000009", "Internal Server Error"),
    "503": (503, "E0000010", "Service is temporarily unavailable. Please try again later."),
}


def api_error(status: int, code: str, summary: str) -> web.Response:
    return web.json_response(
        {"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "sim" + code, "errorCauses": []},
        status=status,
    )


async def apply(faults: Faults, request: web.Request) -> web.StreamResponse | None:
    """A response replacing the real one, or None to carry on (after any added latency)."""
    if not faults.applies(request.path):
        return None
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    fault = faults.draw()
    if fault in API_ERRORS:
        response = api_error(*API_ERRORS[fault])
        if fault == "429":
            response.headers["Retry-After"] = "1"
        return response
    if fault == "drop":
        # Close the socket without answering: the client sees a disconnect.
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError
    if fault == "malformed":
        return web.Response(
            status=200,
            body=b'{"version": "1.0.0", "remediation": {"type": "arr',
            headers={"Content-Type": "application/ion+json; okta-version=1.0.0"},
        )
    return None
