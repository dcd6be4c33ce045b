"""Issue 22, route-level step-up in headless Chromium: `examples/host_app.py`'s security page asks
for two factors within five minutes (`login_required(acr_values=..., max_age=...)`). Alice, whose
sign-in is a password alone, opens it from the private page, signs in again with her email code
on the package's pages, and lands back on it; the ID token's acr says the step-up happened
(checklist 3)."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestServer
from conftest import demo_settings
from test_host_app import host_app

from browser.conftest import free_port
from browser.people import click_and_wait, press, visible_field
from embedded.simulator import create_simulator_app
from embedded.web.setup import RUNNER_OPTIONS

pytestmark = pytest.mark.browser
ALICE, PASSWORD = "alice@example.com", "Alice-Passw0rd!"


async def email_code(page, simulator_port: int) -> str:
    sent = await (await page.context.request.get(f"http://127.0.0.1:{simulator_port}/outbox.json?to={ALICE}")).json()
    return next(m["code"] for m in sent if m["kind"] == "email")


async def test_alice_steps_up_to_two_factors_for_the_security_page_and_comes_back_to_it(
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

    # Signed in with a password alone, from the private page.
    await page.goto(base + "/private")
    await page.wait_for_url(re.compile(r"/auth/login/step$"))
    await page.get_by_label("Username").fill(ALICE)
    await press(page, "Sign in")
    await visible_field(page, "Password").fill(PASSWORD)
    await press(page, "Verify")
    await page.wait_for_url(base + "/private")
    await shots.take(page, "private-one-factor")

    # The security page wants more: a fresh sign-in asking for two factors, then back to it.
    await click_and_wait(page, page.get_by_role("link", name="Security settings"))
    assert re.search(r"/auth/login/step$", page.url), page.url
    await shots.take(page, "step-up-identify")
    await page.get_by_label("Username").fill(ALICE)
    await press(page, "Sign in")
    await visible_field(page, "Password").fill(PASSWORD)
    await press(page, "Verify")
    await shots.take(page, "step-up-email-code")
    await page.get_by_label(re.compile("code", re.I)).first.fill(await email_code(page, simulator.port))
    await press(page, "Verify")
    await page.wait_for_url(base + "/security")
    text = await page.locator("body").inner_text()
    assert "Security settings" in text and "pwd, email, mfa (urn:okta:loa:2fa:any)" in text, text
    await shots.take(page, "security-page")

    # Met now: the next visit goes straight to the page.
    await page.goto(base + "/private")
    await click_and_wait(page, page.get_by_role("link", name="Security settings"))
    assert page.url == base + "/security"
    assert [e for e in page.console_errors if "404" not in e] == []  # the host's pages have no favicon
