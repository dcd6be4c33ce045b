"""The redirect model in headless Chromium: the demo with EMBEDDED_MODE=redirect sends the person
to the simulator's hosted sign-in page and back; in the embedded mode, Okta Verify's device page
offers "Continue on the sign-in page" when no Okta Verify answers on this computer."""

from __future__ import annotations

import re

import pytest

from browser.conftest import start_demo

pytestmark = pytest.mark.browser


async def start(aiohttp_server, aiohttp_client, mode: str) -> tuple[str, int]:
    base, simulator = await start_demo(aiohttp_server, aiohttp_client, "127.0.0.1", mode=mode)
    return base, simulator.port


async def sign_in_on_the_hosted_page(page, sim_port: int, shots) -> None:
    await page.wait_for_url(re.compile(rf"http://127\.0\.0\.1:{sim_port}/signin"))
    await page.locator('input[name="identifier"]').fill("alice@example.com")
    await shots.take(page, "hosted-identify")
    await page.locator('input[name="identifier"]').press("Enter")
    await page.locator('input[name="credentials.passcode"]').fill("Alice-Passw0rd!")
    await shots.take(page, "hosted-password")
    await page.locator('input[name="credentials.passcode"]').press("Enter")


async def test_redirect_mode_signs_alice_in_on_the_hosted_page(aiohttp_server, aiohttp_client, page, shots):
    base, sim_port = await start(aiohttp_server, aiohttp_client, "redirect")
    await page.goto(base + "/")
    await page.get_by_role("link", name="Sign in", exact=True).click()
    await sign_in_on_the_hosted_page(page, sim_port, shots)
    await page.wait_for_url(base + "/")
    assert await page.locator('[data-claim="email"]').inner_text() == "alice@example.com"
    await shots.take(page, "signed-in")
    assert page.console_errors == []


async def test_fiona_without_okta_verify_continues_on_the_sign_in_page(aiohttp_server, aiohttp_client, page, shots):
    base, sim_port = await start(aiohttp_server, aiohttp_client, "embedded")
    # No Okta Verify on this computer: every loopback probe fails, as with nothing listening.
    await page.route(re.compile(r"http://(localhost|127\.0\.0\.1):\d+/probe"), lambda route: route.abort())
    await page.goto(base + "/login?return_to=/profile")
    await page.get_by_label("Username").fill("fiona@example.com")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_text("Okta Verify", exact=True).click()
    await page.get_by_role("button", name="Continue").click()
    link = page.get_by_role("link", name="Continue on the sign-in page")
    await link.wait_for()
    await shots.take(page, "fastpass-with-hosted-link")
    await link.click()
    await sign_in_on_the_hosted_page(page, sim_port, shots)
    await page.wait_for_url(base + "/profile")
    assert "alice@example.com" in await page.content()
    await shots.take(page, "profile")
