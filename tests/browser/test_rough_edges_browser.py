"""Rough edges (issue 14) as a person sees them in headless Chromium against the simulator: a
password confirmation that does not match is the field's own visible error (not the browser's
bubble), the profile page breaks no claim name mid-word, the home page names sign-in methods in
words."""

from __future__ import annotations

import pytest

from .people import enter_code, latest, press, sign_in, visible_field

pytestmark = pytest.mark.browser

ALICE, ALICE_PASSWORD = "alice@example.com", "Alice-Passw0rd!"
NEW_PASSWORD = "Tulip-Garden-77"


async def test_a_confirmation_that_does_not_match_is_the_fields_own_error(demo, page, shots):
    base, sim = demo
    await page.goto(base + "/recover")
    await page.get_by_label("Username").fill(ALICE)
    await press(page, "Continue")
    await enter_code(page, (await latest(sim, ALICE, "email"))["code"], shots)
    password = visible_field(page, "New password")
    confirm = visible_field(page, "Type the password again")
    await password.fill(NEW_PASSWORD)
    await confirm.fill(NEW_PASSWORD + "x")
    await confirm.press("Enter")  # the form is not sent
    error = page.locator("#f-confirm-password-messages")
    await error.get_by_text("The two passwords don't match.").wait_for()
    await shots.take(page, "mismatch")
    assert page.url == base + "/login/step"
    assert await confirm.get_attribute("aria-invalid") == "true"
    assert "f-confirm-password-messages" in (await confirm.get_attribute("aria-describedby")).split()
    assert await confirm.evaluate("e => e === document.activeElement")
    assert await confirm.evaluate("e => e.validationMessage") == ""  # no bubble: the page says it
    assert await error.evaluate("e => getComputedStyle(e.firstElementChild).color") != await page.locator(
        ".rules__title"
    ).evaluate("e => getComputedStyle(e).color")

    await confirm.fill(NEW_PASSWORD)  # corrected: the error goes as the person types
    await error.get_by_text("The two passwords don't match.").wait_for(state="detached")
    assert await confirm.get_attribute("aria-invalid") == "false"
    await press(page, "Save password")
    await page.wait_for_url(base + "/")
    assert page.console_errors == []


async def test_the_profile_breaks_no_claim_name_and_the_home_page_names_methods(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, ALICE, ALICE_PASSWORD, shots)
    await page.wait_for_url(base + "/")
    assert await page.locator('[data-claim="amr"]').inner_text() == "Password"
    await page.set_viewport_size({"width": 360, "height": 740})  # a phone
    await page.goto(base + "/profile")
    names = page.get_by_role("main").locator("dt code")
    assert await names.count() >= 5
    broken = await names.evaluate_all("els => els.filter(e => e.getClientRects().length > 1).map(e => e.textContent)")
    assert broken == []
    await shots.take(page, "profile-phone")
    assert page.console_errors == []
