"""Headless Chromium (Debian's) driven by Playwright against the app and the simulator on loopback.

Screenshots of every page a test visits are kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from conftest import ROOT

from embedded import Settings
from embedded.demo import create_app
from embedded.simulator import create_simulator_app
from embedded.web.setup import RUNNER_OPTIONS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_demo(aiohttp_server, aiohttp_client, host: str, *, gallery: bool = False, **changes):
    """The simulator and the app, each on its own loopback port. The app's redirect URI names the
    port the app really listens on, on `host` (an IP address, or `localhost` for WebAuthn, whose
    relying party the simulator takes from the redirect URI); `gallery`: the demo serves /_gallery
    as `python -m embedded` does; `changes` are other settings."""
    simulator = await aiohttp_server(create_simulator_app())
    port = free_port()
    base = f"http://{host}:{port}"
    settings = Settings(
        issuer=f"http://127.0.0.1:{simulator.port}/oauth2/default",
        client_id="demo-client",
        client_secret="demo-secret",
        scopes=("openid", "profile", "email", "offline_access"),
        redirect_uri=f"{base}/login/callback",
        **changes,
    )
    server = TestServer(create_app(settings, simulator=gallery), host="127.0.0.1", port=port)
    await server.start_server(**RUNNER_OPTIONS)
    await aiohttp_client(server)  # closed with the test
    return base, simulator


@pytest.fixture
async def demo(aiohttp_server, aiohttp_client):
    """(the app's base URL on 127.0.0.1, the simulator's test server)."""
    return await start_demo(aiohttp_server, aiohttp_client, "127.0.0.1")


@pytest.fixture
async def demo_localhost(aiohttp_server, aiohttp_client):
    """Like `demo`, but the app is browsed (and redirects) at http://localhost:<port>, which
    browsers accept as a WebAuthn relying party."""
    return await start_demo(aiohttp_server, aiohttp_client, "localhost")


def watch(page) -> None:
    """Collect console errors (CSP violations, script errors) and uncaught exceptions on page.console_errors."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.console_errors = errors


@pytest.fixture
async def browser():
    """One headless Chromium per test; tests open extra contexts on it (a second person, a phone)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def new_page(browser):
    """A page in a fresh browser context (its own cookies), watched for console errors."""
    context = await browser.new_context()
    context.set_default_timeout(10_000)
    page = await context.new_page()
    watch(page)
    return page


@pytest.fixture
async def page(browser):
    return await new_page(browser)


class Shots:
    """Numbered screenshots for one test."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.count = 0

    async def take(self, page, label: str) -> Path:
        self.count += 1
        path = self.dir / f"{self.count:02d}-{label}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request) -> Shots:
    return Shots(request.node.name)
