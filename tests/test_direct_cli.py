"""`EMBEDDED_MODE=direct make run`: `python -m embedded` in the direct mode serves the demo and the
simulator in one process, and alice (password), carol (password and a code from her app) and oscar
(password and an Okta Verify push) sign in over plain HTTP, as a browser would, with no IDX call.

The Chromium test (tests/browser/test_direct_browser.py) builds the same app in-process; this one
starts the very command `make run` starts, on free ports, as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest
from conftest import ROOT
from pages import read, totp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo(tmp_path) -> Iterator[tuple[str, str, list[str]]]:
    """(the app's URL, the simulator's URL, the banner lines) of `EMBEDDED_MODE=direct python -m embedded`."""
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_"))}
    log = open(tmp_path / "demo.log", "w+")  # noqa: SIM115 - the demo writes it while the test runs
    process = subprocess.Popen(
        [sys.executable, "-m", "embedded", "--port", str(port), "--sim-port", str(sim_port)],
        cwd=ROOT,
        env={**env, "EMBEDDED_MODE": "direct", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        banner: list[str] = []
        while not (banner and banner[-1].startswith("Signing in against")):
            line = process.stdout.readline()
            assert line, f"the demo stopped: {banner}"
            banner.append(line.rstrip("\n"))
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}", banner
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.seek(0)
        output = log.read()
        assert "Traceback" not in output and " ERROR " not in output, output[-3000:]


class Browser:
    """Cookies and forms, no script: the pages as `make run` serves them."""

    def __init__(self, http: aiohttp.ClientSession, base: str, simulator: str):
        self.http, self.base, self.simulator = http, base, simulator
        self.html = ""

    async def get(self, path: str) -> str:
        async with self.http.get(self.base + path) as resp:
            self.html = await resp.text()
            assert resp.status == 200, (path, resp.status, self.html[:500])
        return self.html

    async def submit(self, form_id: str, **fields: str) -> str:
        form = next(f for f in read(self.html).forms if f.hidden.get("_form") == form_id)
        data = {**form.hidden, **{k.replace("__", "."): v for k, v in fields.items()}}
        async with self.http.post(self.base + "/login/step", data=data) as resp:
            self.html = await resp.text()
            assert resp.status == 200, (form_id, resp.status, self.html[:500])
        return self.html

    async def sign_in(self, username: str, password: str) -> None:
        await self.get("/login")
        await self.submit("identify", identifier=username, credentials__passcode=password)

    def signed_in_as(self, username: str) -> bool:
        return f'data-claim="email">{username}<' in self.html

    async def sign_out(self) -> None:
        await self.get("/")
        token = read(self.html).forms[-1].hidden["_csrf"]
        async with self.http.post(self.base + "/logout", data={"_csrf": token}) as resp:
            assert resp.status == 200
            self.html = await resp.text()
        assert 'data-claim="email"' not in self.html  # signed out

    async def sim(self, path: str, **kwargs) -> list:
        async with self.http.get(self.simulator + path, **kwargs) as resp:
            return await resp.json()


async def test_make_run_in_direct_mode_signs_alice_carol_and_oscar_in(demo):
    base, simulator, banner = demo
    assert banner[0] == f"Open {base}/ and sign in as alice@example.com / Alice-Passw0rd!"
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=30)) as http:
        browser = Browser(http, base, simulator)
        async with http.get(base + "/readyz") as ready:
            assert ready.status == 200

        await browser.sign_in("alice@example.com", "Alice-Passw0rd!")
        assert browser.signed_in_as("alice@example.com")
        await browser.sign_out()

        await browser.sign_in("carol@example.com", "Carol-Passw0rd!")
        await browser.submit("method", method="otp")
        await browser.submit("otp", credentials__passcode=totp("CAROLCAROLCAROL2"))
        assert browser.signed_in_as("carol@example.com")
        await browser.sign_out()

        await browser.sign_in("oscar@example.com", "Oscar-Passw0rd!")
        await browser.submit("method", method="push")
        push = next(m for m in await browser.sim("/outbox.json", params={"to": "oscar@example.com"}))
        assert f">{push['correct_answer']}<" in browser.html  # the number to pick, on the page
        approve = f"{simulator}/outbox/push/{push['id']}/approve"
        async with http.post(approve, data={"answer": push["correct_answer"]}) as approved:
            assert approved.status < 400
        deadline = time.monotonic() + 15
        while True:  # what poll.js does
            async with http.get(base + "/login/poll", headers={"Accept": "application/json"}) as resp:
                answer = await resp.json()
            if answer["changed"]:
                break
            assert time.monotonic() < deadline, answer
            await asyncio.sleep(answer["next_ms"] / 1000)
        assert answer["location"] == "/"
        await browser.get("/")
        assert browser.signed_in_as("oscar@example.com")

    sessions = read_json(simulator + "/_sim/sessions")  # what the simulator's token endpoint issued, in order
    assert [(s["login"], s["amr"]) for s in sessions] == [
        ("alice@example.com", ["pwd"]),
        ("carol@example.com", ["pwd", "otp", "mfa"]),
        ("oscar@example.com", ["pwd", "mca", "mfa"]),  # mca: Okta Verify's push
    ]
    paths = [path for _, path in read_json(simulator + "/_sim/calls")]
    assert paths and not [p for p in paths if "/idp/idx/" in p or p.endswith("/v1/interact")]  # direct grants only


def read_json(url: str) -> list:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)
