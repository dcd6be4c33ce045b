"""The package as a library, in headless Chromium: `examples/host_app.py` with sign-in mounted at
/auth, against the simulator. A person opens the host's protected page, signs in with a second
factor on the package's pages, and lands back on the page they asked for."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestServer
from conftest import demo_settings
from test_host_app import host_app

from browser.conftest import free_port
from embedded.simulator import create_simulator_app
from embedded.web.setup import RUNNER_OPTIONS

pytestmark = pytest.mark.browser


async def test_bob_opens_the_private_page_signs_in_with_his_email_code_and_comes_back(
    aiohttp_server, aiohttp_client, page, shots
):
    simulator = await aiohttp_server(create_simulator_app())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = TestServer(
        host_app.create_app(demo_settings(simulator.port, redirect_uri=f"{base}/auth/login/callback")),
        host="127.0.0.1",
        port=port,
    )
    await server.start_server(**RUNNER_OPTIONS)
    await aiohttp_client(server)
    await page.goto(base + "/")
    await page.get_by_role("link", name="Private page").click()
    await page.wait_for_url(re.compile(r"/auth/login/step$"))
    await shots.take(page, "identify-under-auth")
    await page.get_by_label("Username").fill("bob@example.com")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_label("Password").fill("Bob-Passw0rd!")
    await page.get_by_role("button", name="Verify").click()
    sent = await (
        await page.context.request.get(f"http://127.0.0.1:{simulator.port}/outbox.json?to=bob@example.com")
    ).json()
    code = next(m["code"] for m in sent if m["kind"] == "email")
    await shots.take(page, "email-code")
    await page.get_by_label(re.compile("code", re.I)).first.fill(code)
    await page.get_by_role("button", name="Verify").click()
    await page.wait_for_url(base + "/private")
    assert "Hello Bob" in await page.content()
    await shots.take(page, "private-page")
    await page.get_by_role("link", name="Sign out").click()
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(base + "/")
    assert "Not signed in." in await page.content()
    # The example's own pages name no icon, so Chromium asks for /favicon.ico: the host's 404.
    assert [e for e in page.console_errors if "404" not in e] == []
