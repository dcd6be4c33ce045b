"""Headless Chromium (Debian's) driven by Playwright against the app and the simulator on loopback.

Screenshots of every page a test visits are kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, serve
from embedded import Settings
from embedded.simulator import create_simulator_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
async def demo(aiohttp_server, aiohttp_client):
    """The simulator and the app, each on its own loopback port; returns the app's base URL."""
    simulator = await aiohttp_server(create_simulator_app())
    app_port = simulator.port + 1 if simulator.port < 65535 else simulator.port - 1
    settings = Settings(
        issuer=f"http://127.0.0.1:{simulator.port}/oauth2/default",
        client_id="demo-client",
        client_secret="demo-secret",
        scopes=("openid", "profile", "email", "offline_access"),
        redirect_uri=f"http://127.0.0.1:{app_port}/login/callback",
    )
    client = await serve(aiohttp_client, settings)
    return str(client.make_url("")).rstrip("/"), simulator


@pytest.fixture
async def page(request):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = await browser.new_context()
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.console_errors = errors
        yield page
        await browser.close()


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
