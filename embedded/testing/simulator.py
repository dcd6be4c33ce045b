"""`SimulatorHandle`: the built-in Identity Engine simulator on a free loopback port, with helpers
for what a test needs from it: codes and links from the outbox, push answers, faults, expiry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from ..config import Settings

DEMO_CLIENT = ("demo-client", "demo-secret")


class SimulatorHandle:
    """Start it (`await sim.start()`), point the app at it (`sim.settings(...)`), close it.
    The `embedded_simulator` pytest fixture does the starting and closing."""

    def __init__(self, org: Any = None, *, client: tuple[str, str] = DEMO_CLIENT):
        """`org`: None for the demo org, a path to an org TOML file, or an `embedded.simulator.Org`."""
        from ..simulator import load_org

        self.org = load_org(str(org)) if isinstance(org, (str, Path)) else org
        self.client_id, self.client_secret = client
        self._server: TestServer | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> SimulatorHandle:
        from ..simulator import create_simulator_app

        self._server = TestServer(create_simulator_app(self.org), host="127.0.0.1")
        await self._server.start_server()
        self._http = aiohttp.ClientSession(base_url=self.origin)
        return self

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> SimulatorHandle:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.port is not None, "the simulator is not started"
        return self._server.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.origin + "/oauth2/default"

    @property
    def state(self) -> Any:
        """The simulator's live state (`embedded.simulator.Simulator`: org, outbox, engine, faults)."""
        from ..simulator import SIMULATOR

        assert self._server is not None, "the simulator is not started"
        return self._server.app[SIMULATOR]

    def settings(self, *, prefix: str = "/auth", app_origin: str = "http://127.0.0.1", **overrides: Any) -> Settings:
        """Settings for an app under test that signs in here, under any `prefix` and `app_origin`:
        the redirect URI they name (or the one in `overrides`) is one this simulator's client
        accepts. The demo org's clients accept any loopback URI ending in /login/callback as it
        is; any other (another host, an org file of your own) is registered with the client."""
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": f"{app_origin.rstrip('/')}{prefix.rstrip('/')}/login/callback",
            "scopes": ("openid", "profile", "email", "offline_access"),
        }
        settings = Settings(**{**values, **overrides})
        client = self.state.org.client(self.client_id)
        if client is not None and not client.redirect_allowed(settings.redirect_uri):
            client.allow_redirect_uri(settings.redirect_uri)
        return settings

    # --- the outbox --------------------------------------------------------------------------

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None, "the simulator is not started"
        return self._http

    async def outbox(self, to: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """What the org "sent", newest first: codes, magic links, pushes, activations."""
        async with self.http.get("/outbox.json", params={"to": to} if to else {}) as resp:
            sent: list[dict[str, Any]] = await resp.json()
        return [m for m in sent if kind is None or m["kind"] == kind]

    async def last(self, to: str, kind: str | None = None) -> dict[str, Any]:
        sent = await self.outbox(to, kind)
        assert sent, f"the simulator sent nothing{' of kind ' + kind if kind else ''} to {to}"
        return sent[0]

    async def code(self, to: str, kind: str = "email") -> str:
        """The newest one-time code sent to an address (`kind`: email, sms, voice)."""
        return str((await self.last(to, kind))["code"])

    def code_for(self, to: str, kind: str = "email") -> Any:
        """A function for `signed_in(..., code=...)` that reads the code when the page asks."""
        return lambda: self.code(to, kind)

    async def magic_link(self, to: str) -> str:
        """The newest emailed link (magic link, activation or reset link) sent to an address."""
        for m in await self.outbox(to, "email"):
            if m.get("link"):
                return str(m["link"])
        raise AssertionError(f"no emailed link to {to}")

    async def _answer_push(self, to: str, decision: str, answer: str | None) -> dict[str, Any]:
        push = await self.last(to, "push")
        data = {"answer": answer if answer is not None else push.get("correct_answer") or ""}
        async with self.http.post(f"/outbox/push/{push['id']}/{decision}", data=data, allow_redirects=False) as resp:
            assert resp.status in (200, 303), await resp.text()
        return push

    async def approve_push(self, to: str, answer: str | None = None) -> dict[str, Any]:
        """Approve the newest push to `to` (the number challenge answered right unless `answer`)."""
        return await self._answer_push(to, "approve", answer)

    async def deny_push(self, to: str) -> dict[str, Any]:
        return await self._answer_push(to, "deny", None)

    # --- controls ----------------------------------------------------------------------------

    async def faults(self, **faults: Any) -> dict[str, Any]:
        """Set faults: `latency_ms`, `rates` ({"429": 0.5}), `next` (["429"]), `paths`; none clears them."""
        request = self.http.post("/_sim/faults", json=faults) if faults else self.http.delete("/_sim/faults")
        async with request as resp:
            assert resp.status == 200, await resp.text()
            result: dict[str, Any] = await resp.json()
        return result

    async def expire(self, state_handle: str | None = None) -> None:
        """Expire one transaction (by state handle) or every one."""
        async with self.http.post("/_sim/expire", json={"stateHandle": state_handle} if state_handle else {}) as resp:
            assert resp.status == 200, await resp.text()

    async def admin_email(self, what: str, login: str, app_url: str) -> str:
        """An administrator's `activation-email` or `reset-email` to `login`; returns the link."""
        async with self.http.post(f"/_sim/admin/{what}", json={"login": login, "app_url": app_url}) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["link"])
