"""The README's ten-line host app, run as written against the simulator run alone, each in its
own process: a person opens the protected page, signs in and comes back to it."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys

import aiohttp
import pytest
from conftest import ROOT
from test_host_app import Person


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_host_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Add sign-in to your app") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


async def wait_for(url: str, process: subprocess.Popen) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(150):
            assert process.poll() is None, process.communicate()[0]
            try:
                async with http.get(url):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        p.terminate()
        p.communicate(timeout=30)


async def test_the_readme_host_app_signs_alice_in_from_its_protected_page(tmp_path, processes):
    snippet = readme_host_snippet()
    code = [line for line in snippet.splitlines() if line.strip()]  # ten lines of code, laid out as ruff lays them out
    assert len(code) <= 10 and "port=8000" in snippet
    app_port, sim_port = free_port(), free_port()
    (tmp_path / "host.py").write_text(snippet.replace("port=8000", f"host='127.0.0.1', port={app_port}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_"))}
    run = {"env": env, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    processes.append(
        subprocess.Popen([sys.executable, "-m", "embedded", "simulator", "--port", str(sim_port)], cwd=ROOT, **run)
    )
    await wait_for(f"http://127.0.0.1:{sim_port}/oauth2/default/.well-known/openid-configuration", processes[0])
    env.update(
        {
            "OKTA_IDX_ISSUER": f"http://127.0.0.1:{sim_port}/oauth2/default",
            "OKTA_IDX_CLIENTID": "demo-client",
            "OKTA_IDX_CLIENTSECRET": "demo-secret",
            "OKTA_IDX_REDIRECTURI": f"http://127.0.0.1:{app_port}/auth/login/callback",
        }
    )
    processes.append(subprocess.Popen([sys.executable, str(tmp_path / "host.py")], cwd=tmp_path, **run))
    base = f"http://127.0.0.1:{app_port}"
    await wait_for(base + "/auth/static/css/embedded.css", processes[1])
    async with aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        person = Person(http, "/auth", None)
        await person.get("/private")
        assert person.url.path == "/auth/login/step"
        await person.submit(identifier="alice@example.com")
        await person.submit(**{"credentials.passcode": "Alice-Passw0rd!"})
        assert person.url.path == "/private" and person.html == "Hello alice@example.com"
