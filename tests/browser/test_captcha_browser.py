"""CAPTCHA in Chromium: the simulator asks for a check on identify and registration and hosts the
fake provider; the app's page loads the provider's script (from the simulator's origin, allowed
by the CSP on that page only), draws its frame, and the token its callback gives goes with the
form. No CSP violation, no script error."""

from __future__ import annotations

import re

from embedded.simulator import SIMULATOR
from embedded.simulator.org import org_from_toml

from .people import button, click_and_wait, email_of, press


def ask_for(simulator, setting: str) -> None:
    """The org's CAPTCHA setting, changed on the running simulator."""
    simulator.app[SIMULATOR].org.captcha = org_from_toml(setting).captcha


async def solve(page) -> None:
    """What a person does: tick the provider's "I am human"; its callback fills the token."""
    frame = page.frame_locator("iframe.captcha-frame")
    await frame.get_by_role("button", name="I am human").click()
    await frame.get_by_text("Verified").wait_for()
    await page.wait_for_function("document.querySelector('[name=\"captchaVerify.captchaToken\"]').value.length > 0")


async def test_signing_in_with_the_check_on_identify(demo, page, shots):
    base, simulator = demo
    ask_for(simulator, '[captcha]\ntype = "HCAPTCHA"\n')
    response = await page.goto(base + "/login")
    assert f"frame-src http://127.0.0.1:{simulator.port}" in response.headers["content-security-policy"]
    await page.frame_locator("iframe.captcha-frame").get_by_role("button", name="I am human").wait_for()
    await page.get_by_label("Username").fill("alice@example.com")
    await shots.take(page, "identify-with-check")

    await button(page, "Sign in").click()  # the check is not done yet: the page stays and says why
    await page.get_by_text("Complete the security check first.").wait_for()
    assert page.url.endswith("/login/step")
    await shots.take(page, "check-not-done")

    await solve(page)
    await shots.take(page, "check-done")
    await press(page, "Sign in")
    await page.get_by_label("Password").fill("Alice-Passw0rd!")
    await press(page, "Verify")
    await email_of(page).wait_for()
    assert await email_of(page).inner_text() == "alice@example.com"
    await shots.take(page, "signed-in")
    assert page.console_errors == []


async def test_registering_with_the_check(demo, page, shots):
    base, simulator = demo
    ask_for(simulator, '[captcha]\ntype = "RECAPTCHA_V2"\nsteps = ["enroll-profile"]\n')
    first = await page.goto(base + "/login")
    assert "frame-src" not in first.headers["content-security-policy"]  # identify does not ask here
    assert await page.locator("iframe.captcha-frame").count() == 0
    await page.goto(base + "/register")
    await page.get_by_label("First name").fill("Rhea")
    await page.get_by_label("Last name").fill("Check")
    await page.get_by_label("Email", exact=True).fill("rhea.check@example.com")
    await page.get_by_label("Password", exact=True).fill(
        "Bright-Lantern-42!"
    )  # the demo org requires one, without her names
    await solve(page)
    await shots.take(page, "registration-with-check")
    form = page.locator('form[data-form="enroll-profile"]')
    await click_and_wait(page, form.get_by_role("button", name="Create account"))
    await shots.take(page, "after-registration")
    assert await page.locator('[name="userProfile.email"]').count() == 0
    assert re.search(r"/login/step$", page.url)
    assert "rhea.check@example.com" in [u.login for u in simulator.app[SIMULATOR].org.users]
    assert page.console_errors == []
