"""`IdxReplay`: a fake Identity Engine on a free loopback port that plays a script of IDX responses.

It answers the OAuth side itself (discovery, keys, `/v1/interact`, `/v1/token`, revoke, userinfo,
logout) and the IDX side from the script, one step per call in order, with hrefs rebased on
itself. It checks what Okta checks: PKCE S256 (the challenge at interact, the verifier at the
token exchange), a state and a nonce at interact, the interaction handle at introspect, the
current `stateHandle` in every form post, and the interaction code it handed out (once). Every
request is recorded; anything the script did not expect, or any check that fails, is a problem
that fails the test (see the pytest plugin) with a readable diff.

A recorded step also says what the app sent when it was recorded, and the replay checks what the
test typed against it (script.typed_mismatches): the identifier, the method chosen, the form,
profile fields, every value but two kinds. A secret (password, passcode, answer) must be given, but
a replay cannot check its value: `signed_in(password="anything")` passes a recorded password step.
A stand-in the recorder put in place of someone's value (`user-1@example.com`) must be who
`people` says it is (the recording's manifest, or `play_recorded(..., people=...)`), otherwise the
first value typed fixes it; the documents served and the ID token then name that value.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import CodeType, FrameType
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer

from ..config import Settings
from .oauth import ISSUER_PATH, Call, OAuthSide, ScriptMismatch, s256
from .script import (
    PLACEHOLDER_ORG,
    WIDGET_ORG,
    Recording,
    Step,
    StepLike,
    rebase,
    secret_fields,
    steps_of,
    typed_mismatches,
)

__all__ = ["Call", "IdxReplay", "ScriptMismatch", "s256"]

Json = Any
ION = "application/ion+json; okta-version=1.0.0"


class IdxReplay(OAuthSide):
    """Start it (`await replay.start()`), point the app at it (`replay.settings(...)`), give it a
    script (`replay.play(...)` or `replay.play_recorded(dir, name)`), close it (`await replay.close()`).
    The `idx_replay` pytest fixture does the starting and closing."""

    def __init__(
        self,
        *,
        client_id: str = "test-client",
        client_secret: str | None = "test-secret",
        claims: Mapping[str, Json] | None = None,
        origins: Iterable[str] = (PLACEHOLDER_ORG, WIDGET_ORG),
    ):
        super().__init__(client_id=client_id, client_secret=client_secret, claims=claims)
        self.origins = tuple(origins)  # script origins rebased on this server
        self.script: list[Step] = []
        self.served: list[Step] = []
        self.people: dict[str, str] = {}  # stand-in -> who it stands for (see the module)
        # Where the test was (its frame, instruction and line) when the first problem happened.
        self.first_problem_at: tuple[FrameType, int, int] | None = None
        self._test_code: CodeType | None = None
        self._last_document: Json = None
        self._server: TestServer | None = None

    # --- life ------------------------------------------------------------------------------

    async def start(self) -> IdxReplay:
        self._server = TestServer(self._app(), host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> IdxReplay:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.port is not None, "the replay is not started"
        return self._server.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.origin + ISSUER_PATH

    def settings(self, *, prefix: str = "/auth", app_origin: str = "http://127.0.0.1", **overrides: Any) -> Settings:
        """Settings for an app under test that signs in here, with sign-in mounted at `prefix`."""
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": f"{app_origin}{prefix.rstrip('/')}/login/callback",
            "scopes": ("openid", "profile", "email", "offline_access"),
        }
        return Settings(**{**values, **overrides})

    # --- the script ------------------------------------------------------------------------

    def reset(self) -> IdxReplay:
        """Forget the script, the calls, the problems and the transaction: a new test on the same
        server (the app's cached discovery and keys stay valid)."""
        self._forget_transaction()
        self.script, self.served, self.people = [], [], {}
        self.first_problem_at, self._last_document = None, None
        return self

    def locate_problems_in(self, test: Callable[..., Any] | None) -> None:
        """Remember where `test` (a test function, maybe async) was when the first problem
        happened, so the failure points at the test's line (the pytest plugin does this)."""
        self._test_code = getattr(test, "__code__", None)

    def play(self, steps: Iterable[StepLike]) -> IdxReplay:
        """Add steps to the script: `Step`s, dicts (`{"path": ..., "body": ..., "status": ...}`,
        `"response"` a file) or tuples `(path, document[, status])` for POSTs."""
        self.script.extend(steps_of(steps))
        return self

    def play_recorded(
        self, directory: str | Path | Recording, name: str, *, people: Mapping[str, str] | None = None
    ) -> IdxReplay:
        """Add one recorded sequence (a directory written by `python -m embedded record`).
        `people`: who the recording's stand-ins are, e.g. `{"user-1@example.com": "alice@example.com"}`;
        what the test types for them must then be exactly that."""
        recording = directory if isinstance(directory, Recording) else Recording(directory)
        self.origins = (*self.origins, recording.org)
        self.people.update(recording.people)
        self.people.update(people or {})
        self.script.extend(recording.steps(name))
        return self

    @property
    def remaining(self) -> list[Step]:
        """The steps of the script not called yet."""
        return self.script[len(self.served) :]

    def bodies(self, path: str) -> list[Json]:
        """The bodies the app posted to `path`, in order."""
        return [c.body for c in self.calls if c.path == path]

    def paths(self) -> list[str]:
        """The path of every request, in order."""
        return [c.path for c in self.calls]

    def magic_link(self, otp: str, callback: str = "/auth/login/callback") -> str:
        """The app-relative link an emailed magic link would open: the callback with this transaction's state."""
        return f"{callback}?{urlencode({'state': self.state or '', 'otp': otp})}"

    def check(self) -> None:
        """Raise ScriptMismatch (with a diff) when anything went wrong so far."""
        if self.problems:
            raise ScriptMismatch(self.report())

    def assert_done(self) -> None:
        """Every step of the script was called, and nothing went wrong."""
        self.check()
        if self.remaining:
            raise ScriptMismatch("idx_replay: the app stopped before the end of the script\n" + self._diff())

    def report(self) -> str:
        """Every problem so far, and the diff of the calls the script expected and the app made."""
        return "idx_replay: " + "\n\n".join(self.problems) + "\n\n" + self._diff()

    def _diff(self) -> str:
        expected = [s.call for s in self.script]
        actual = [c.call for c in self.calls if self._is_scripted(c.path)]
        lines = difflib.unified_diff(expected, actual, "script", "app", lineterm="", n=max(len(expected), len(actual)))
        text = "\n".join(lines)
        return text or "calls (as scripted):\n" + "\n".join("  " + c for c in expected)

    @staticmethod
    def _is_scripted(path: str) -> bool:
        return path.startswith(("/idp/idx/", "/sso/idps/"))

    # --- the server ------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        self._add_oauth_routes(app)
        app.router.add_route("*", "/{tail:.*}", self._scripted)
        return app

    async def _scripted(self, request: web.Request) -> web.StreamResponse:
        call = await self._record(request)
        index = len(self.served)
        step = self.script[index] if index < len(self.script) else None
        if step is None or step.call != call.call:
            expected = step.describe() if step else "nothing more (the script is finished)"
            sent = json.dumps(call.body, sort_keys=True)
            self._problem(f"unexpected call {index + 1}: {call.call}\n  expected: {expected}\n  body: {sent}")
            return web.json_response(
                {"errorCode": "E0000000", "errorSummary": f"idx_replay did not expect {call.call}"}, status=500
            )
        if not self._handles_ok(call):
            return web.json_response(self._expired(), status=401, content_type="application/ion+json")
        if step.request is not None and call.method == "POST":
            secrets = secret_fields(self._last_document, call.path)
            for mismatch in typed_mismatches(step.request, call.body, secrets=secrets, people=self.people):
                self._problem(f"{call.call} (step {index + 1}, {step.source}): {mismatch}")
        self.served.append(step)
        if step.redirect is not None:
            target = self.interact_form.get("redirect_uri", "")
            query = {**rebase(step.redirect, self.origins, self.origin), "state": self.state or ""}
            for key in ("interaction_code", "code"):
                if key in query:
                    self._codes[query[key]] = {}
            raise web.HTTPFound(f"{target}{'&' if '?' in target else '?'}{urlencode(query)}")
        body = self._serve(step.body)
        headers = dict(step.headers)
        if isinstance(body, (dict, list)):
            content_type = ION if isinstance(body, dict) and "version" in body else "application/json"
            return web.Response(
                status=step.status, body=json.dumps(body).encode(), headers={**headers, "Content-Type": content_type}
            )
        return web.Response(status=step.status, text="" if body is None else str(body), headers=headers)

    def _handles_ok(self, call: Call) -> bool:
        body = call.body if isinstance(call.body, dict) else {}
        if call.path == "/idp/idx/introspect":
            if body.get("interactionHandle") is not None:
                if self._handle is None or body["interactionHandle"] != self._handle:
                    handle = body["interactionHandle"]
                    self._problem(f"{call.call}: interactionHandle {handle!r} is not the one /v1/interact returned")
                    return False
                return True
            if body.get("stateToken") is not None and body["stateToken"] == self._state_handle:
                return True
            self._problem(f"{call.call}: neither the interaction handle nor the current state handle")
            return False
        if call.method == "POST" and self._state_handle is not None and body.get("stateHandle") != self._state_handle:
            sent = body.get("stateHandle")
            self._problem(f"{call.call}: stateHandle {sent!r}, but the last response's is {self._state_handle!r}")
            return False
        if (
            call.method == "GET"
            and self._state_handle is not None
            and call.query.get("stateToken") not in (None, self._state_handle)
        ):
            sent = call.query.get("stateToken")
            self._problem(
                f"{call.call}: stateToken {sent!r}, but the last response's state handle is {self._state_handle!r}"
            )
            return False
        return True

    def _problem(self, text: str) -> None:
        super()._problem(text)
        if self.first_problem_at is None and self._test_code is not None:
            self.first_problem_at = _suspended_in(self._test_code)

    def _named(self, body: Json) -> Json:
        """The document with each stand-in someone is known for replaced by them."""
        known = {k: v for k, v in self.people.items() if isinstance(v, str) and k != v}
        if not known:
            return body
        alternatives = "|".join(map(re.escape, sorted(known, key=len, reverse=True)))
        pattern = re.compile(rf"(?<![\w@.+-])(?:{alternatives})(?!\w)")

        def walk(n: Json) -> Json:
            if isinstance(n, str):
                return pattern.sub(lambda m: known[m.group(0)], n)
            if isinstance(n, dict):
                return {k: walk(v) for k, v in n.items()}
            if isinstance(n, list):
                return [walk(v) for v in n]
            return n

        return walk(body)

    def _serve(self, body: Json) -> Json:
        body = self._named(rebase(body, self.origins, self.origin))
        self._last_document = body
        if not isinstance(body, dict):
            return body
        if "expiresAt" in body:  # recorded documents expire; served ones are fresh
            body = {**body, "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 600))}
        if isinstance(body.get("stateHandle"), str):
            self._state_handle = body["stateHandle"]
        success = body.get("successWithInteractionCode")
        if isinstance(success, dict):
            for f in success.get("value", []):
                if isinstance(f, dict) and f.get("name") == "interaction_code" and isinstance(f.get("value"), str):
                    self._codes[f["value"]] = body
        return body

    def _expired(self) -> dict[str, Json]:
        return {
            "version": "1.0.0",
            "messages": {
                "type": "array",
                "value": [
                    {"message": "The session has expired.", "i18n": {"key": "idx.session.expired"}, "class": "ERROR"}
                ],
            },
        }


def _suspended_in(code: CodeType) -> tuple[FrameType, int, int] | None:
    """Where the coroutine running `code` waits (its frame, instruction and line), in whichever
    task awaits it: the test's line that made the call now being answered."""
    for task in asyncio.all_tasks():
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is None:
                break
            if frame.f_code is code:
                return frame, frame.f_lasti, frame.f_lineno
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return None
