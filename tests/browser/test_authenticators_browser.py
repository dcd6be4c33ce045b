"""Every demo user's second factor through the real pages in headless Chromium (issue 4).

Each test screenshots every page it visits (test-artifacts/screenshots/<test>/), ends on the
page the scenario ends on, and checks that no console error (CSP violation, script error) happened."""

from __future__ import annotations

import pytest

from pages import totp

from .conftest import new_page
from .people import (click_and_wait, choose, email_of, enter_code, expect_home, is_signed_out, latest, on_base,
                     outbox, press, sign_in)

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
    await page.get_by_text("Invalid code").first.wait_for()
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
