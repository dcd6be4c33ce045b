"""The keyboard alone, in headless Chromium against the simulator: signing in with Tab, Space and
Enter (typing only into the field that has the focus), and errors announced: a refused password
comes back with an error summary linking to the field, the field marked invalid and described by
its error, and the focus on it."""

from __future__ import annotations

import re

import pytest
from conftest import doc, own, serve

pytestmark = pytest.mark.browser

ALICE, ALICE_PASSWORD = "alice@example.com", "Alice-Passw0rd!"


async def focused(page) -> dict:
    """What has the keyboard focus: its tag, type, name, id and accessible text."""
    return await page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '', id: e.id || '',
                text: (e.innerText || e.value || '').trim()}; }""")


async def tab_to(page, wanted, limit: int = 30) -> dict:
    """Press Tab until the focused element is the one `wanted(focused)` accepts."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        now = await focused(page)
        if wanted(now):
            return now
    raise AssertionError(f"Tab never reached it; focus ends on {await focused(page)}")


async def test_sign_in_with_the_keyboard_alone(demo, page, shots):
    base, _ = demo
    await page.goto(base + "/")
    await tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "Sign in")
    await shots.take(page, "home-sign-in-focused")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_url(base + "/login/step")

    # The username field has the focus on load: type, then Tab to the button and press Space.
    assert (await focused(page))["name"] == "identifier"
    await page.keyboard.type(ALICE)
    await tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Sign in")
    await shots.take(page, "identify-button-focused")
    async with page.expect_navigation():
        await page.keyboard.press("Space")

    # The password field has the focus on load: type, Enter.
    await page.get_by_role("textbox", name="Password").wait_for()
    assert (await focused(page))["name"] == "credentials.passcode"
    await page.keyboard.type(ALICE_PASSWORD)
    await shots.take(page, "password-typed")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_url(base + "/")
    assert await page.locator('[data-claim="email"]').inner_text() == ALICE
    await shots.take(page, "home-signed-in")
    assert page.console_errors == []


async def test_a_refused_password_is_announced_and_focused(aiohttp_client, settings, org, page, shots):
    """Okta's answer to a wrong password (replayed: "Password is incorrect" on the password field)
    through the app: the field is invalid, described by its error (said once, no summary for one
    field) and focused on load."""
    base = str((await serve(aiohttp_client, settings)).make_url("")).rstrip("/")
    org.idx("/idp/idx/introspect", doc("identify"))
    await page.goto(base + "/login")
    await page.wait_for_url(base + "/login/step")
    assert (await focused(page))["name"] == "identifier"  # the first field, focused on load
    await page.keyboard.type(ALICE)
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.get_by_role("textbox", name="Password").wait_for()
    await page.keyboard.type("not-her-password")
    org.idx("/idp/idx/challenge/answer", own("error-challenge-password-incorrect.json"), status=401)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")

    field = page.locator('input[name="credentials.passcode"]')
    await field.and_(page.locator('[aria-invalid="true"]')).wait_for()
    await shots.take(page, "password-refused")
    # One field in error: its own message says it, once (a summary would only repeat it).
    assert await page.get_by_role("main").locator(".error-summary").count() == 0
    assert await field.get_attribute("aria-invalid") == "true"
    described = (await field.get_attribute("aria-describedby") or "").split()
    texts = [await page.locator(f"#{d}").inner_text() for d in described]
    assert any(re.search("incorrect", t, re.I) for t in texts), texts
    assert (await focused(page))["name"] == "credentials.passcode"  # the field in error, focused on load
    assert page.console_errors == []
