"""Every demo user's second factor through the real pages in headless Chromium (issue 4).

Each test screenshots every page it visits (test-artifacts/screenshots/<test>/), ends on the
page the scenario ends on, and checks that no console error (CSP violation, script error) happened."""

from __future__ import annotations

import re

import pytest
from pages import totp

from .conftest import new_page
from .people import (
    choose,
    click_and_wait,
    email_of,
    enter_code,
    expect_home,
    is_signed_out,
    latest,
    on_base,
    outbox,
    press,
    see,
    sign_in,
    sim_url,
    visible_field,
)

pytestmark = pytest.mark.browser

BOB, BOB_PASSWORD = "bob@example.com", "Bob-Passw0rd!"


async def test_bob_email_code_from_the_outbox(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, BOB, BOB_PASSWORD, shots)
    await page.get_by_label("Enter code").wait_for()
    await shots.take(page, "email-challenge")
    code = (await latest(sim, BOB, "email"))["code"]
    await enter_code(page, code, shots)
    await expect_home(page, base, BOB, shots)
    assert page.console_errors == []


async def test_bob_magic_link_in_the_same_browser(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, BOB, BOB_PASSWORD, shots)
    await shots.take(page, "email-challenge")
    link = on_base((await latest(sim, BOB, "email"))["link"], base)
    tab = await page.context.new_page()
    await tab.goto(link)
    await expect_home(tab, base, BOB, shots, "link-tab-signed-in")
    await expect_home(page, base, BOB, shots, "first-tab-moved-on-by-itself")  # poll.js
    assert page.console_errors == []


async def test_bob_magic_link_in_another_browser_only_shows_the_code(demo, browser, page, shots):
    base, sim = demo
    await sign_in(page, base, BOB, BOB_PASSWORD, shots)
    await shots.take(page, "email-challenge")
    sent = await latest(sim, BOB, "email")
    other = await new_page(browser)
    await other.goto(on_base(sent["link"], base))
    await other.get_by_text(sent["code"]).first.wait_for()
    await shots.take(other, "other-browser-shows-code")
    assert await email_of(other).count() == 0
    assert await is_signed_out(other, base)
    await shots.take(other, "other-browser-home-signed-out")
    await enter_code(page, sent["code"], shots, shot="first-tab-types-code")
    await expect_home(page, base, BOB, shots)
    assert page.console_errors == [] and other.console_errors == []


async def test_bob_wrong_code_then_the_right_one(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, BOB, BOB_PASSWORD, shots)
    await enter_code(page, "000000", shots, shot="wrong-code")
    field = page.get_by_label("Enter code")
    await page.get_by_text("Invalid code").first.wait_for()
    assert await field.get_attribute("aria-invalid") == "true", "the code field is not marked invalid"
    await shots.take(page, "wrong-code-error")
    await enter_code(page, (await latest(sim, BOB, "email"))["code"], shots, shot="right-code")
    await expect_home(page, base, BOB, shots)
    assert page.console_errors == []


async def test_bob_send_again_sends_a_second_email_whose_code_works(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, BOB, BOB_PASSWORD, shots)
    await shots.take(page, "email-challenge")
    first = await latest(sim, BOB, "email")
    await press(page, "Send again")
    await shots.take(page, "sent-again")
    sent = await outbox(sim, BOB, "email", count=2)
    assert sent[0]["code"] != first["code"] or sent[0]["link"] != first["link"]
    await enter_code(page, sent[0]["code"], shots, shot="second-code")
    await expect_home(page, base, BOB, shots)
    assert page.console_errors == []


async def test_carol_google_authenticator(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "carol@example.com", "Carol-Passw0rd!", shots)
    await page.get_by_text("Google Authenticator").first.wait_for()
    await shots.take(page, "google-authenticator")
    await enter_code(page, totp("CAROLCAROLCAROL2"), shots)
    await expect_home(page, base, "carol@example.com", shots)
    assert page.console_errors == []


async def test_carol_wrong_code_then_the_right_one(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "carol@example.com", "Carol-Passw0rd!", shots)
    good = totp("CAROLCAROLCAROL2")
    await enter_code(page, "111111" if good != "111111" else "222222", shots, shot="wrong-code")
    await page.get_by_text("doesn't match").first.wait_for()  # a soft token's own words, as Okta's
    await shots.take(page, "wrong-code-error")
    await enter_code(page, totp("CAROLCAROLCAROL2"), shots, shot="right-code")
    await expect_home(page, base, "carol@example.com", shots)
    assert page.console_errors == []


@pytest.mark.parametrize("method, kind", [("SMS", "sms"), ("Voice call", "voice")])
async def test_dave_phone(demo, page, shots, method, kind):
    base, sim = demo
    await sign_in(page, base, "dave@example.com", "Dave-Passw0rd!", shots)
    await page.get_by_role("radio", name=method, exact=True).check()
    await shots.take(page, "choose-method")
    await press(page, "Send me a code")
    await shots.take(page, "code-sent")
    code = (await latest(sim, "+15550100100", kind))["code"]
    await enter_code(page, code, shots)
    await expect_home(page, base, "dave@example.com", shots)
    assert page.console_errors == []


async def test_erin_security_question(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "erin@example.com", "Erin-Passw0rd!", shots)
    await page.get_by_text("Where did you go for your favorite vacation?").wait_for()
    await shots.take(page, "question")
    await enter_code(page, "Lisbon", shots, label="Answer", shot="answer")
    await expect_home(page, base, "erin@example.com", shots)
    assert page.console_errors == []


OSCAR, OSCAR_PASSWORD = "oscar@example.com", "Oscar-Passw0rd!"


async def oscar_sends_a_push(page, base, sim, shots) -> dict:
    await sign_in(page, base, OSCAR, OSCAR_PASSWORD, shots)
    await choose(page, "Get a push notification")
    await shots.take(page, "choose-push")
    await press(page, "Send me a code")
    push = await latest(sim, OSCAR, "push")
    assert push["status"] == "pending"
    await shots.take(page, "push-sent")
    return push


async def test_oscar_push_page_shows_the_number_challenge(demo, page, shots):
    base, sim = demo
    push = await oscar_sends_a_push(page, base, sim, shots)
    assert push["correct_answer"], "the demo org has number challenge on"
    # the person must see the number to pick on the phone
    await see(
        page, page.get_by_role("main").get_by_text(push["correct_answer"], exact=True), shots, "number-challenge", 2000
    )
    assert page.console_errors == []


async def test_oscar_push_approved_on_the_outbox_page(demo, page, shots):
    base, sim = demo
    push = await oscar_sends_a_push(page, base, sim, shots)
    shown = page.get_by_role("main").get_by_text(re.compile(r"^\s*\d{2}\s*$"))
    if await shown.count():  # a number challenge on the app's page: it must be the push's
        assert (await shown.first.inner_text()).strip() == push["correct_answer"]
    phone = await page.context.new_page()
    await phone.goto(sim_url(sim, "/outbox"))
    await shots.take(phone, "outbox")
    row = phone.get_by_role("row").filter(has_text="Did you just try to sign in?").first
    if push["correct_answer"]:
        await row.get_by_text("Pick the number the app shows").wait_for()
        approve = row.get_by_role("button", name=push["correct_answer"], exact=True)
    else:
        approve = row.get_by_role("button", name="Approve", exact=True)
    await click_and_wait(phone, approve)
    await shots.take(phone, "outbox-approved")
    assert (await latest(sim, OSCAR, "push"))["status"] == "approved"
    await expect_home(page, base, OSCAR, shots)  # moved on by itself: poll.js
    assert page.console_errors == []


async def test_oscar_push_denied_shows_the_rejection_and_offers_to_send_again(demo, page, shots):
    base, sim = demo
    await oscar_sends_a_push(page, base, sim, shots)
    phone = await page.context.new_page()
    await phone.goto(sim_url(sim, "/outbox"))
    row = phone.get_by_role("row").filter(has_text="Did you just try to sign in?").first
    await click_and_wait(phone, row.get_by_role("button", name="Deny", exact=True))
    await shots.take(phone, "outbox-denied")
    # poll.js brings the news
    main = page.get_by_role("main")
    await see(
        page, main.get_by_role("alert").filter(has_text=re.compile("reject", re.I)), shots, "push-rejected", 15_000
    )
    again = main.get_by_role("button", name=re.compile(r"send|try again", re.I))
    if not await again.count():  # the offer may be the page itself: heading "Resend", button "Continue"
        await main.get_by_role("heading", name=re.compile(r"resend|send again", re.I)).wait_for(timeout=1000)
        again = main.get_by_role("button", name="Continue", exact=True)
    await click_and_wait(page, again.first)
    await shots.take(page, "push-sent-again")
    assert len(await outbox(sim, OSCAR, "push", count=2)) == 2
    assert page.console_errors == []


async def test_oscar_okta_verify_code(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, OSCAR, OSCAR_PASSWORD, shots)
    await choose(page, "Enter a code")
    await shots.take(page, "choose-code")
    await press(page, "Send me a code")
    await enter_code(page, totp("OSCAROSCAROSCAR2"), shots)
    await expect_home(page, base, OSCAR, shots)
    assert page.console_errors == []


async def new_password(page, password: str, shots, shot: str) -> None:
    await visible_field(page, "New password").fill(password)
    await visible_field(page, "Type the password again").fill(password)
    await shots.take(page, shot)
    await press(page, "Save password")


async def test_irene_sets_a_new_password_that_meets_the_rules(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "irene@example.com", "Irene-Passw0rd!", shots)
    await page.get_by_role("heading", name="Your password has expired").wait_for()
    await shots.take(page, "expired")
    await new_password(page, "short", shots, "too-short")
    main = page.get_by_role("main")
    await see(
        page, main.get_by_text(re.compile(r"password requirements were not met", re.I)).first, shots, "rules-error"
    )
    assert await visible_field(page, "New password").get_attribute("aria-invalid") == "true"
    await new_password(page, "Brand-New-Passw0rd-2026", shots, "good-password")
    await expect_home(page, base, "irene@example.com", shots)
    assert page.console_errors == []


async def test_paula_skips_the_expiry_warning(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "paula@example.com", "Paula-Passw0rd!", shots)
    await page.get_by_role("heading", name="Your password will expire soon").wait_for()
    await shots.take(page, "expiry-warning")
    await press(page, "Remind me later")
    await expect_home(page, base, "paula@example.com", shots)
    assert page.console_errors == []
