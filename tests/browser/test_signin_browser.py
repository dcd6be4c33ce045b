"""A person signing in through the real pages, in headless Chromium."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


async def test_alice_signs_in_and_out(demo, page, shots):
    base, _ = demo
    await page.goto(base + "/")
    await shots.take(page, "home-signed-out")
    await page.get_by_role("link", name="Sign in", exact=True).click()
    await page.get_by_label("Username").fill("alice@example.com")
    await shots.take(page, "identify")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_label("Password").fill("wrong-password")
    await shots.take(page, "password")
    await page.get_by_role("button", name="Verify").click()
    await page.locator(".message--error").first.wait_for()
    assert await page.get_by_label("Password").input_value() == ""
    await shots.take(page, "wrong-password")
    await page.get_by_label("Password").fill("Alice-Passw0rd!")
    await page.get_by_role("button", name="Verify").click()
    await page.wait_for_url(base + "/")
    assert await page.locator('[data-claim="email"]').inner_text() == "alice@example.com"
    await shots.take(page, "signed-in")
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("link", name="Sign in", exact=True).wait_for()
    await shots.take(page, "signed-out")
    assert page.console_errors == []  # no CSP violations or script errors
