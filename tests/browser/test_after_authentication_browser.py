"""What the Identity Engine asks after authentication, and beyond it, through the real pages in
headless Chromium against the simulator: connie's consent (allow without one optional scope; don't
allow), petra's progressive profiling, kim's "Stay signed in?", an expired activation link that
asks for a new email, and the home page's step-up for bob and alice.

Every test gets a fresh simulator, so users changed here live only for that test."""

from __future__ import annotations

import re

import aiohttp
import pytest

from embedded.simulator import SIMULATOR

from .people import (
    button,
    choose,
    email_of,
    enter_code,
    expect_home,
    latest,
    outbox,
    press,
    see,
    sign_in,
    sim_url,
    visible_field,
)

pytestmark = pytest.mark.browser

CONNIE, CONNIE_PASSWORD = "connie@example.com", "Connie-Passw0rd!"
PETRA, PETRA_PASSWORD = "petra@example.com", "Petra-Passw0rd!"
KIM, KIM_PASSWORD = "kim@example.com", "Kim-Passw0rd!"
ALICE, ALICE_PASSWORD = "alice@example.com", "Alice-Passw0rd!"
BOB, BOB_PASSWORD = "bob@example.com", "Bob-Passw0rd!"
SAM = "sam@example.com"  # staged: an administrator sends him an activation email
NEW_PASSWORD = "Tulip-Garden-77"  # meets the demo rules and names nobody
TWO_FACTORS = "urn:okta:loa:2fa:any"


def main(page):
    return page.get_by_role("main")


def heading(page, pattern: str):
    return main(page).get_by_role("heading", name=re.compile(pattern, re.I)).first


async def sim_json(sim, method: str, path: str, data: dict | None = None):
    async with aiohttp.ClientSession() as s, s.request(method, sim_url(sim, path), data=data) as r:
        return r.status, await r.json()


async def last_session(sim) -> dict:
    _, sessions = await sim_json(sim, "GET", "/_sim/sessions")
    assert sessions, "no sign-in completed on the simulator"
    return sessions[-1]


async def email_code(page, sim, to: str, shots, shot: str = "email-code") -> None:
    await see(page, visible_field(page, "Enter code"), shots, shot + "-asked")
    await enter_code(page, (await latest(sim, to, "email"))["code"], shots, shot=shot)


# --- consent ----------------------------------------------------------------------------------------


async def test_connie_allows_access_without_staying_signed_in(demo, page, shots):
    """Connie has granted the demo app nothing yet: after her password she chooses what to share.
    Profile and email are fixed; she unticks the optional "Keep you signed in" and allows: she is
    signed in, and the tokens were issued without offline_access."""
    base, sim = demo
    await sign_in(page, base, CONNIE, CONNIE_PASSWORD, shots)
    await see(page, heading(page, "Choose what to share"), shots, "granular-consent")
    keep = main(page).get_by_role("checkbox", name=re.compile("Keep you signed in"))
    assert await keep.is_checked()
    assert await main(page).get_by_text("This allows the app to refresh your session").count()
    await keep.uncheck()
    await shots.take(page, "offline-access-unticked")
    await press(page, "Allow")
    await expect_home(page, base, CONNIE, shots)
    session = await last_session(sim)
    assert session["login"] == CONNIE and session["scopes"] == ["openid", "profile", "email"]
    assert sim.app[SIMULATOR].org.user(CONNIE).grants == {"demo-client": ["profile", "email"]}
    assert page.console_errors == []


async def test_connie_does_not_allow_access(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, CONNIE, CONNIE_PASSWORD, shots)
    await see(page, heading(page, "Choose what to share"), shots, "granular-consent")
    await press(page, "Don't allow")
    await see(page, heading(page, "You can.t continue"), shots, "denied")
    assert "permission" in await main(page).inner_text()
    assert await email_of(page).count() == 0
    _, sessions = await sim_json(sim, "GET", "/_sim/sessions")
    assert sessions == []
    assert [e for e in page.console_errors if "status of 403" not in e] == []


# --- progressive profiling ------------------------------------------------------------------------


async def test_petra_gives_her_department_after_signing_in(demo, page, shots):
    """The profile policy wants a department of petra's group; she has none, so after her
    password she is asked for it (no skip) and it is kept."""
    base, sim = demo
    await sign_in(page, base, PETRA, PETRA_PASSWORD, shots)
    await see(page, visible_field(page, "Department"), shots, "profile-update")
    assert await button(page, "Skip for now").count() == 0
    await visible_field(page, "Department").fill("Research")
    await shots.take(page, "department")
    await press(page, "Continue")
    await expect_home(page, base, PETRA, shots)
    assert sim.app[SIMULATOR].org.user(PETRA).profile["department"] == "Research"
    assert page.console_errors == []


# --- keep me signed in ----------------------------------------------------------------------------


async def test_kim_is_asked_to_stay_signed_in(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, KIM, KIM_PASSWORD, shots)
    await see(page, heading(page, "Stay signed in"), shots, "keep-me-signed-in")
    await press(page, "Stay signed in")
    await expect_home(page, base, KIM, shots)
    assert (await last_session(sim))["keep_me_signed_in"] is True
    assert page.console_errors == []


# --- an expired activation link --------------------------------------------------------------------


async def set_up_sam(page, sim, base: str, shots) -> None:
    """What the new-hires policy asks of an activating user: a password, chosen from a list, then
    the email, the one way left, which he is not asked to choose."""
    methods = main(page).get_by_role("group", name="Security method")
    await see(page, methods, shots, "choose-password")
    await choose(page, "Password", methods)
    await press(page, "Continue")
    await visible_field(page, re.compile(r"^(New password|Enter password)$")).fill(NEW_PASSWORD)
    await visible_field(page, "Type the password again").fill(NEW_PASSWORD)
    await shots.take(page, "new-password")
    await press(page, "Save password")
    await email_code(page, sim, SAM, shots)


async def test_an_expired_activation_link_asks_for_a_new_email(demo, page, shots):
    """The administrator's email to Sam expired before he opened it: the page says so and offers a
    new one; the new email's link activates his account."""
    base, sim = demo
    status, sent = await sim_json(
        sim, "POST", "/_sim/admin/activation-email", {"login": SAM, "app_url": base, "expires_in": "0"}
    )
    assert status == 200, sent
    await page.goto(sent["link"])
    await see(page, heading(page, "activation link has expired"), shots, "link-expired")
    assert "no longer valid" in await main(page).inner_text()
    await press(page, "Send me a new activation email")
    await see(page, heading(page, "Check your email"), shots, "new-email-requested")
    mails = await outbox(sim, SAM, "email", count=2)
    assert mails[0]["link"] != sent["link"] and mails[0]["link"].startswith(base + "/activate?token=")
    await page.goto(mails[0]["link"])
    await set_up_sam(page, sim, base, shots)
    await expect_home(page, base, SAM, shots)
    assert sim.app[SIMULATOR].org.user(SAM).status == "active"
    assert page.console_errors == []


# --- step-up ---------------------------------------------------------------------------------------


async def step_up_from_home(page, base: str, login: str, password: str, shots) -> None:
    """Signed in: the home page's step-up link starts a fresh sign-in asking for two factors."""
    async with page.expect_navigation():
        await page.get_by_role("link", name="Verify again with a second factor").click()
    await page.wait_for_load_state()
    assert "/login" in page.url or "/login/step" in page.url, page.url
    if await page.get_by_label("Username").count():
        await page.get_by_label("Username").fill(login)
        await shots.take(page, "step-up-identify")
        await press(page, "Sign in")
    await see(page, visible_field(page, "Password"), shots, "step-up-password")
    await visible_field(page, "Password").fill(password)
    await press(page, "Verify")


async def test_bob_steps_up_with_his_email_code(demo, page, shots):
    """Bob's policy already asks for his email code; the step-up asks for it again (no Okta session
    carries over) and the home page shows the two-factor acr."""
    base, sim = demo
    await sign_in(page, base, BOB, BOB_PASSWORD, shots)
    await email_code(page, sim, BOB, shots, "first-code")
    await expect_home(page, base, BOB, shots)
    assert await page.locator('[data-claim="acr"]').count() == 0
    await step_up_from_home(page, base, BOB, BOB_PASSWORD, shots)
    await email_code(page, sim, BOB, shots, "step-up-code")
    await expect_home(page, base, BOB, shots, "stepped-up")
    assert await page.locator('[data-claim="acr"]').inner_text() == TWO_FACTORS
    assert "Email" in await page.locator('[data-claim="amr"]').inner_text()  # the second factor, named
    assert page.console_errors == []


async def test_alice_password_only_is_asked_for_a_second_factor(demo, page, shots):
    """Alice's policy is password only; stepping up asks her for a second factor: her email code."""
    base, sim = demo
    await sign_in(page, base, ALICE, ALICE_PASSWORD, shots)
    await expect_home(page, base, ALICE, shots)
    assert await page.locator('[data-claim="amr"]').inner_text() == "Password"
    await step_up_from_home(page, base, ALICE, ALICE_PASSWORD, shots)
    await page.wait_for_load_state()
    if not await visible_field(page, "Enter code").count():  # a list of methods first, if the page offers one
        await shots.take(page, "step-up-choose")
        await choose(page, "Email", main(page).get_by_role("group", name="Security method"))
        await press(page, "Continue")
    await email_code(page, sim, ALICE, shots, "step-up-code")
    await expect_home(page, base, ALICE, shots, "stepped-up")
    assert await page.locator('[data-claim="acr"]').inner_text() == TWO_FACTORS
    assert await page.locator('[data-claim="amr"]').inner_text() == "Password, Email"  # "mfa" is no method of its own
    session = await last_session(sim)
    assert session["acr"] == TWO_FACTORS and session["max_age"] == 0
    assert page.console_errors == []
