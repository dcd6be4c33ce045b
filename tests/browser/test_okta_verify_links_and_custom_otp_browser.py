"""Okta Verify set up through a link sent by SMS
or email instead of the QR code, a predefined security question chosen at enrollment, and
victor's generic passcode authenticator (custom_otp)."""

from __future__ import annotations

import re

import pytest
from pages import totp

from .people import choose, enter_code, expect_home, latest, post_sim, press, see, sign_in, start, visible_field

pytestmark = pytest.mark.browser

FRANK, FRANK_PASSWORD = "frank@example.com", "Frank-Passw0rd!"


def main(page):
    return page.get_by_role("main")


async def to_the_okta_verify_qr_page(page, base, shots) -> None:
    await sign_in(page, base, FRANK, FRANK_PASSWORD, shots)
    await choose(page, "Okta Verify", main(page).get_by_role("group", name="Security method"))
    await press(page, "Continue")
    # Its details next, as the Sign-In Widget asks them: a QR code is the way already chosen.
    await see(page, main(page).get_by_role("radio", name="QR code"), shots, "okta-verify-how")
    await press(page, "Continue")
    await see(page, main(page).get_by_text(re.compile("another way to set up", re.I)).first, shots, "qr-code")


async def switch_channel(page, shots, channel: str) -> None:
    """ "Use another way to set up" → the channel → the address form."""
    another = main(page).locator("details.alternative").filter(has_text=re.compile("another way to set up", re.I))
    await another.locator("summary").click()
    await another.get_by_role("radio", name=re.compile(channel, re.I)).check()
    await shots.take(page, "channel-" + channel.lower())
    async with page.expect_navigation():
        await another.get_by_role("button").click()


@pytest.mark.parametrize(
    ("channel", "label", "address", "kind"),
    [("SMS", "Phone number", "+15550100177", "sms"), ("Email", "Email", "frank.phone@example.com", "email")],
)
async def test_frank_sets_up_okta_verify_from_a_link(demo, page, shots, channel, label, address, kind):
    base, sim = demo
    await to_the_okta_verify_qr_page(page, base, shots)
    await switch_channel(page, shots, channel)
    field = visible_field(page, label)
    await see(page, field, shots, "address-asked")
    await field.fill(address)
    await press(page, "Send me a setup link")
    await see(
        page,
        main(page).get_by_text(re.compile(re.escape(address) + "|link", re.I)).first,
        shots,
        "waiting-for-the-phone",
    )
    sent = await latest(sim, address)  # the setup link, to the phone number or address typed
    assert sent["channel"] == kind and sent["link"].startswith("oktaverify://")
    assert await post_sim(sim, f"/outbox/enrollment/{sent['id']}/activate", {"device_name": "Frank's phone"}) < 400
    # the waiting page notices by itself (poll.js) and moves on to the list of methods
    await main(page).get_by_role("group", name="Security method").wait_for(timeout=15_000)
    await shots.take(page, "after-okta-verify")
    await press(page, "Set up later")
    await expect_home(page, base, FRANK, shots)
    assert page.console_errors == []


async def test_victor_signs_in_with_a_generic_passcode_authenticator(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "victor@example.com", "Victor-Passw0rd!", shots)
    code = visible_field(page, "Enter code")
    await see(page, code, shots, "passcode-asked")
    await enter_code(page, totp("VICTORVICTORVIC2"), shots)
    await expect_home(page, base, "victor@example.com", shots)
    assert page.console_errors == []


async def test_frank_chooses_a_predefined_security_question(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, FRANK, FRANK_PASSWORD, shots)
    await choose(page, "Security Question", main(page).get_by_role("group", name="Security method"))
    await press(page, "Continue")
    question = main(page).get_by_role("combobox", name="Choose a security question")
    await see(page, question, shots, "questions")
    await question.select_option("favorite_vacation_location")
    # two fields read "Answer" (one per choice): the first belongs to the predefined questions
    await main(page).get_by_label("Answer").first.fill("Porto in spring")
    await shots.take(page, "predefined-question")
    await press(page, "Save")
    await main(page).get_by_role("group", name="Security method").wait_for()
    await press(page, "Set up later")
    await expect_home(page, base, FRANK, shots)
    assert page.console_errors == []


async def test_gina_signs_in_with_only_an_email_code(demo, page, shots):
    """Passwordless: the identifier, then the code the simulator emailed; no password anywhere."""
    base, sim = demo
    await start(page, base, "gina@example.com", shots)
    if await main(page).get_by_role("group", name="Security method").count():
        await choose(page, "Email", main(page).get_by_role("group", name="Security method"))
        await press(page, "Continue")
    await see(page, visible_field(page, "Enter code"), shots, "email-code-asked")
    assert await page.locator('input[type="password"]').count() == 0
    await enter_code(page, (await latest(sim, "gina@example.com", "email"))["code"], shots)
    await expect_home(page, base, "gina@example.com", shots)
    assert page.console_errors == []
