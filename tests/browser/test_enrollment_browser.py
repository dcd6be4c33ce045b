"""Frank must set up a second factor at sign-in, then is offered the others with skip (issue 4).

The simulator keeps frank's enrollments for its own life; every test gets a fresh simulator."""

from __future__ import annotations

import re

import pytest
from pages import totp

from .people import button, choose, enter_code, expect_home, latest, post_sim, press, see, sign_in, visible_field

pytestmark = pytest.mark.browser

FRANK, FRANK_PASSWORD = "frank@example.com", "Frank-Passw0rd!"
FRANK_PHONE = "+15550100199"


def methods(page):
    """The list of security methods on the set-up page."""
    return page.get_by_role("main").get_by_role("group", name="Security method")


async def on_the_setup_list(page, shots, label: str) -> None:
    await see(page, page.get_by_role("heading", name=re.compile("set up", re.I)).first, shots, label)
    await methods(page).wait_for()


async def reads_the_list(page) -> None:
    """A person takes a moment before the next method. Without it this test answers faster than
    anyone could and meets the Identity Engine's per-transaction limit (10 calls in 5 s in the demo org)."""
    await page.wait_for_timeout(1500)


async def pick(page, shots, method: str) -> None:
    """On the list of security methods, choose one and go on."""
    await choose(page, method, methods(page))
    await shots.take(page, "choose-" + method.split()[0].lower())
    await press(page, "Continue")


async def skip(page, shots) -> None:
    await press(page, "Set up later")


async def enroll_email(page, sim, shots) -> None:
    await pick(page, shots, "Email")
    await see(page, visible_field(page, "Enter code"), shots, "email-code-asked")
    await enter_code(page, (await latest(sim, FRANK, "email"))["code"], shots, shot="email-code")


async def enroll_phone_by_sms(page, sim, shots) -> None:
    await pick(page, shots, "Phone")
    await see(page, visible_field(page, "Phone number"), shots, "phone-asked")
    await page.get_by_role("main").get_by_role("radio", name="SMS", exact=True).filter(visible=True).check()
    await visible_field(page, "Phone number").fill(FRANK_PHONE)
    await shots.take(page, "phone-number")
    await press(page, "Send me a code")
    await see(page, visible_field(page, "Enter code"), shots, "sms-code-asked")
    await enter_code(page, (await latest(sim, FRANK_PHONE, "sms"))["code"], shots, shot="sms-code")


async def enroll_google_authenticator(page, shots) -> None:
    await pick(page, shots, "Google Authenticator")
    key = page.get_by_role("main").get_by_role("code")
    await see(page, key, shots, "shared-secret")
    secret = re.sub(r"\s+", "", await key.inner_text())
    await enter_code(page, totp(secret), shots, shot="totp")


async def enroll_security_question(page, shots) -> None:
    await pick(page, shots, "Security Question")
    own = page.get_by_role("radio", name="Create my own security question")
    await see(page, own, shots, "question-asked")
    await own.check()
    await page.get_by_label("Create a security question").fill("What was my first dog called?")
    # two fields read "Answer" (one per choice): the second belongs to "Create my own"
    await page.get_by_label("Answer").nth(1).fill("Rex the dog")
    await shots.take(page, "own-question")
    await press(page, "Save")


async def enroll_okta_verify(page, sim, shots) -> None:
    await pick(page, shots, "Okta Verify")
    await shots.take(page, "okta-verify-how")  # its details next: how to set it up (a QR code first)
    await press(page, "Continue")
    await shots.take(page, "okta-verify-setup")
    activation = await latest(sim, FRANK, "activation")
    assert (
        await post_sim(sim, f"/outbox/enrollment/{activation['id']}/activate", {"device_name": "Frank's phone"}) < 400
    )
    await methods(page).wait_for(timeout=15_000)  # the waiting page moves on by itself: poll.js


async def test_frank_enrolls_email_and_skips_the_rest(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, FRANK, FRANK_PASSWORD, shots)
    await on_the_setup_list(page, shots, "required-setup")
    assert await button(page, "Set up later").count() == 0, "the first method is required: no skip"
    await enroll_email(page, sim, shots)
    await on_the_setup_list(page, shots, "optional-setup")
    await skip(page, shots)
    await expect_home(page, base, FRANK, shots)
    assert page.console_errors == []


async def test_frank_sets_up_every_method_in_turn(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, FRANK, FRANK_PASSWORD, shots)
    await on_the_setup_list(page, shots, "required-setup")
    await enroll_phone_by_sms(page, sim, shots)
    await on_the_setup_list(page, shots, "after-phone")
    await reads_the_list(page)
    await enroll_google_authenticator(page, shots)
    await on_the_setup_list(page, shots, "after-google-authenticator")
    await reads_the_list(page)
    await enroll_security_question(page, shots)
    await on_the_setup_list(page, shots, "after-security-question")
    await reads_the_list(page)
    await enroll_email(page, sim, shots)
    await on_the_setup_list(page, shots, "after-email")
    await skip(page, shots)
    await expect_home(page, base, FRANK, shots)
    assert page.console_errors == []


async def test_frank_sets_up_okta_verify_while_the_page_waits(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, FRANK, FRANK_PASSWORD, shots)
    await on_the_setup_list(page, shots, "required-setup")
    await enroll_okta_verify(page, sim, shots)
    await on_the_setup_list(page, shots, "after-okta-verify")
    await skip(page, shots)
    await expect_home(page, base, FRANK, shots)
    assert page.console_errors == []
