"""The direct mode (EMBEDDED_MODE=direct) in headless Chromium against the simulator: alice with her
password, carol with a code from her authenticator app, oscar approving an Okta Verify push by the
number the page shows (the page moves on by itself: poll.js), and axe-core on each kind of direct
page in every language (0 serious or critical violations, as for the other pages)."""

from __future__ import annotations

import re

import aiohttp
import pytest
from pages import totp

from browser.conftest import start_demo

from .people import choose, click_and_wait, email_of, enter_code, press
from .test_accessibility_browser import Audit, axe_source

pytestmark = pytest.mark.browser


async def outbox(sim_port: int, to: str) -> dict:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{sim_port}/outbox.json", params={"to": to}) as r,
    ):
        return (await r.json())[0]


async def first_page(page, base: str, username: str, password: str) -> None:
    await page.goto(base + "/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await press(page, "Sign in")


async def sign_out(page) -> None:
    await click_and_wait(page, page.get_by_role("button", name="Sign out"))


async def test_alice_carol_and_oscar_sign_in_directly(aiohttp_server, aiohttp_client, page, shots):
    base, simulator = await start_demo(aiohttp_server, aiohttp_client, "127.0.0.1", mode="direct")
    await first_page(page, base, "alice@example.com", "Alice-Passw0rd!")
    await page.wait_for_url(base + "/")
    assert await email_of(page).inner_text() == "alice@example.com"
    await shots.take(page, "alice-signed-in")
    await sign_out(page)

    await first_page(page, base, "carol@example.com", "Carol-Passw0rd!")
    await shots.take(page, "carol-methods")
    await choose(page, "Enter a code")
    await press(page, "Continue")
    await enter_code(page, totp("CAROLCAROLCAROL2"), shots)
    await page.wait_for_url(base + "/")
    assert await email_of(page).inner_text() == "carol@example.com"
    await sign_out(page)

    await first_page(page, base, "oscar@example.com", "Oscar-Passw0rd!")
    await choose(page, "Get a push notification")
    await press(page, "Continue")
    number = await page.locator(".push__number").inner_text()
    await shots.take(page, "oscar-push-number")
    push = await outbox(simulator.port, "oscar@example.com")
    assert push["correct_answer"] == number
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{simulator.port}/outbox/push/{push['id']}/approve"
        async with http.post(url, data={"answer": number}) as resp:
            assert resp.status < 400
    await page.wait_for_url(base + "/", timeout=15_000)  # the page polled and moved on by itself
    assert await email_of(page).inner_text() == "oscar@example.com"
    await shots.take(page, "oscar-signed-in")
    assert page.console_errors == []


async def test_direct_pages_pass_axe_in_every_language(aiohttp_server, aiohttp_client, page, shots):
    audit = Audit(await axe_source())
    base, _ = await start_demo(aiohttp_server, aiohttp_client, "127.0.0.1", mode="direct")
    await page.goto(base + "/login")
    await audit.check(page, "direct-identify")
    await page.get_by_label("Username").fill("oscar@example.com")
    await page.get_by_label("Password").fill("Oscar-Passw0rd!")
    await press(page, "Sign in")
    await audit.check(page, "direct-methods")
    await choose(page, "Enter a code")
    await press(page, "Continue")
    await enter_code(page, "000000", shots, shot="wrong-code")
    assert re.search("not right", await page.content())
    await audit.check(page, "direct-wrong-code")
    await click_and_wait(page, page.get_by_role("button", name="Verify with something else"))
    await choose(page, "Email")
    await press(page, "Continue")
    await audit.check(page, "direct-unavailable")
    await page.goto(base + "/register")
    await audit.check(page, "direct-register")
    audit.assert_clean()
