"""Journeys beside sign-in, through the real pages in headless Chromium against the simulator:
self-service registration, password recovery (code, magic link), self-service unlock, social
sign-in (with and without MFA afterwards), admin activation and reset links, and sign-out.

Every test gets a fresh simulator, so users created or changed here live only for that test."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from embedded.simulator import SIMULATOR

from .conftest import new_page
from .people import (
    button,
    choose,
    click_and_wait,
    describe,
    email_of,
    enter_code,
    expect_home,
    is_signed_out,
    latest,
    outbox,
    press,
    see,
    sign_in,
    sim_url,
    visible_field,
)

pytestmark = pytest.mark.browser

ALICE, ALICE_PASSWORD = "alice@example.com", "Alice-Passw0rd!"
HENRY, HENRY_PASSWORD = "henry@example.com", "Henry-Passw0rd!"
BOB = "bob@example.com"
SAM = "sam@example.com"  # staged: an administrator sends him an activation email
RITA = "rita@example.com"  # active: an administrator sends her a password-reset email
NEW_PASSWORD = "Tulip-Garden-77"  # meets the demo rules and names nobody


# --- what a person does on these pages ------------------------------------------------------


def main(page):
    return page.get_by_role("main")


def heading(page, pattern: str):
    return main(page).get_by_role("heading", name=re.compile(pattern, re.I)).first


async def fill_profile(
    page,
    first: str,
    last: str,
    email: str,
    *,
    colour: str | None = None,
    newsletter: bool = False,
    password: str | None = None,
) -> None:
    await page.get_by_label("First name").fill(first)
    await page.get_by_label("Last name").fill(last)
    await page.get_by_label("Email", exact=True).fill(email)
    if colour:
        await (
            main(page)
            .get_by_role("group", name="Favourite colour")
            .get_by_role("radio", name=colour, exact=True)
            .check()
        )
    if newsletter:
        await page.get_by_label("Send me the newsletter").check()
    if password is not None:
        await visible_field(page, "Password").fill(password)


async def open_registration_from_home(page, base: str, shots) -> None:
    await page.goto(base + "/")
    await shots.take(page, "home-signed-out")
    await click_and_wait(page, page.get_by_role("link", name="Create an account"))
    await see(page, page.get_by_label("First name"), shots, "registration-form")


def new_password_field(page):
    """The first of the two password fields on a set/choose/reset password page."""
    return visible_field(page, re.compile(r"^(New password|Enter password)$"))


async def set_new_password(page, password: str, shots, shot: str = "new-password") -> None:
    await new_password_field(page).fill(password)
    await visible_field(page, "Type the password again").fill(password)
    await shots.take(page, shot)
    await press(page, "Save password")


async def checklist_is_shown(page, shots, label: str) -> None:
    """The password rules as a live checklist: each rule turns done as the person types."""
    rules = main(page).get_by_role("listitem").filter(has_text="at least 8 characters")
    await see(page, rules, shots, label)
    await new_password_field(page).fill(NEW_PASSWORD)
    await main(page).get_by_role("listitem").filter(has_text="at least 8 characters").filter(has_text="done").wait_for()
    await shots.take(page, label + "-ticked")


async def code_from_outbox(page, sim, to: str, shots, shot: str = "code") -> None:
    await see(page, visible_field(page, "Enter code"), shots, shot + "-asked")
    await enter_code(page, (await latest(sim, to, "email"))["code"], shots, shot=shot)


async def finish_setup(page, sim, base: str, email: str, password: str, shots, max_steps: int = 8) -> list[str]:
    """Answer whatever the Identity Engine asks after registration or activation, until home:
    a password to set, an email code, a list of methods to set up (password, then email; a
    skippable list is skipped). Returns what was done, in order."""
    done: list[str] = []
    for _ in range(max_steps):
        await page.wait_for_load_state()
        if page.url == base + "/":
            return done
        if await new_password_field(page).count():
            await set_new_password(page, password, shots, f"{len(done) + 1:02d}-password")
            done.append("password")
        elif await visible_field(page, "Enter code").count():
            await code_from_outbox(page, sim, email, shots, f"{len(done) + 1:02d}-email-code")
            done.append("email-code")
        elif await main(page).get_by_role("group", name="Security method").count():
            if await button(page, "Set up later").count():
                await press(page, "Set up later")
                done.append("skip")
                continue
            methods = main(page).get_by_role("group", name="Security method")
            pick = (
                "Password" if await methods.get_by_role("radio", name=re.compile(r"^Password\b")).count() else "Email"
            )
            await choose(page, pick, methods)
            await shots.take(page, f"{len(done) + 1:02d}-choose-{pick.lower()}")
            await press(page, "Continue")
            done.append("choose-" + pick.lower())
        else:
            await shots.take(page, "UNEXPECTED")
            raise AssertionError(f"after {done}, a step this person does not know:\n" + await describe(page))
    raise AssertionError(f"not home after {done}:\n" + await describe(page))


async def sign_out(page, base: str, shots) -> None:
    await click_and_wait(page, main(page).get_by_role("button", name="Sign out"))
    await page.wait_for_url(base + "/")
    await see(page, page.get_by_role("link", name="Sign in", exact=True), shots, "signed-out")
    assert await email_of(page).count() == 0


async def sim_post_json(sim, path: str, data: dict) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.post(sim_url(sim, path), data=data) as r:
        return r.status, await r.json()


def watch_app(page, base: str) -> list[str]:
    """Console errors (CSP violations, failed loads, script errors) raised by the app's own pages,
    and uncaught exceptions; the simulator's bare pages (its missing favicon) are not the app."""
    errors: list[str] = []

    def console(m):
        url = (m.location or {}).get("url", "")
        if m.type == "error" and (not url or url.startswith(base)):
            errors.append(f"{url}: {m.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors


def main_frame_navigations(page) -> list[str]:
    """Every URL the tab itself asks for (redirects included), in order."""
    seen: list[str] = []
    page.on(
        "request", lambda r: seen.append(r.url) if r.is_navigation_request() and r.frame == page.main_frame else None
    )
    return seen


async def through_fake_social(page, base: str, email: str, shots) -> None:
    """On the app's sign-in page: the social button, the simulator's stand-in IdP page, back."""
    await page.goto(base + "/login")
    await see(page, button(page, "Sign in with Fake Social"), shots, "identify-with-social")
    await click_and_wait(page, button(page, "Sign in with Fake Social"))
    await see(page, page.get_by_role("heading", name="Sign in with Fake Social"), shots, "fake-idp")
    assert not page.url.startswith(base), "the IdP page is the simulator's, not the app's"
    await page.get_by_label("Email").fill(email)
    await shots.take(page, "fake-idp-email")
    await click_and_wait(page, page.get_by_role("button", name="Continue"))
    await page.wait_for_url(re.compile(re.escape(base) + r"/(login/step)?$"))


async def identify_as(page, base: str, login: str, shots) -> None:
    await page.goto(base + "/login")
    await page.get_by_label("Username").fill(login)
    await shots.take(page, "identify")
    await press(page, "Sign in")


# --- registration ---------------------------------------------------------------------------


async def test_registration_from_home_with_custom_attributes_then_email_code(demo, page, shots):
    """The home page's "Create an account" link opens the registration form with the org's own
    attributes (Favourite colour as a choice, the newsletter as a checkbox); with a password
    given, the policy then asks only to confirm the email (code from the outbox) and Nora is
    signed in. The custom attribute values reach the Identity Engine's profile."""
    base, sim = demo
    errors = watch_app(page, base)
    await open_registration_from_home(page, base, shots)
    await fill_profile(
        page, "Nora", "Novak", "nora@example.com", colour="green", newsletter=True, password=NEW_PASSWORD
    )
    await shots.take(page, "profile-filled")
    await press(page, "Create account")
    done = await finish_setup(page, sim, base, "nora@example.com", NEW_PASSWORD, shots)
    assert done[-1] == "email-code" and "password" not in done, done
    await expect_home(page, base, "nora@example.com", shots)
    assert await page.locator('[data-claim="name"]').inner_text() == "Nora Novak"
    user = sim.app[SIMULATOR].org.user("nora@example.com")
    assert user.profile["favoriteColor"] == "green" and user.profile["newsletter"] is True
    assert page.console_errors == [] and errors == []


async def test_registration_without_password_sets_one_up_after(demo, page, shots):
    """With the org's registration password optional, the form has none: the Identity Engine
    then asks for the required enrollments (a password, with its checklist, and the email code)
    and the person ends signed in; the password chosen then signs her in again."""
    base, sim = demo
    sim.app[SIMULATOR].org.profile_enrollment.password = "optional"
    await open_registration_from_home(page, base, shots)
    await fill_profile(page, "Olga", "Olsen", "olga@example.com")
    await shots.take(page, "profile-no-password")
    await press(page, "Create account")
    done = await finish_setup(page, sim, base, "olga@example.com", NEW_PASSWORD, shots)
    assert "password" in done and "email-code" in done, done
    await expect_home(page, base, "olga@example.com", shots)
    await sign_out(page, base, shots)
    await sign_in(page, base, "olga@example.com", NEW_PASSWORD, shots)
    await expect_home(page, base, "olga@example.com", shots, "signed-in-again")
    assert page.console_errors == []


async def test_registration_with_an_existing_email_shows_the_field_error(demo, page, shots):
    """Registering alice@example.com again: the form comes back with an error on the Email field
    and everything else still filled in; another email then goes through to sign-in."""
    base, sim = demo
    await open_registration_from_home(page, base, shots)
    await fill_profile(page, "Paul", "Park", ALICE, colour="blue", password=NEW_PASSWORD)
    await press(page, "Create account")
    email = page.get_by_label("Email", exact=True)
    await see(page, main(page).get_by_text(re.compile("already exists", re.I)).first, shots, "email-taken")
    assert await email.get_attribute("aria-invalid") == "true"
    assert await email.input_value() == ALICE
    assert await page.get_by_label("First name").input_value() == "Paul"
    assert await page.get_by_label("Last name").input_value() == "Park"
    assert await main(page).get_by_role("radio", name="blue", exact=True).is_checked()
    await email.fill("paul@example.com")
    await visible_field(page, "Password").fill(NEW_PASSWORD)
    await shots.take(page, "other-email")
    await press(page, "Create account")
    await finish_setup(page, sim, base, "paul@example.com", NEW_PASSWORD, shots)
    await expect_home(page, base, "paul@example.com", shots)
    assert sim.app[SIMULATOR].org.user(ALICE).first_name == "Alice"  # alice untouched
    assert page.console_errors == []


async def test_sign_in_page_offers_sign_up_unlock_and_forgot_password(demo, page, shots):
    """Inside a sign-in transaction the identify page offers "Sign up" and "Unlock account", and
    the password page "Forgot password?"; each leads to its journey's first page."""
    base, sim = demo
    await page.goto(base + "/login")
    await press(page, "Sign up")
    await see(page, page.get_by_label("First name"), shots, "sign-up-from-identify")
    await page.goto(base + "/login")
    await press(page, "Unlock account")
    await see(page, heading(page, "unlock"), shots, "unlock-from-identify")
    await page.goto(base + "/login")
    await page.get_by_label("Username").fill(ALICE)
    await press(page, "Sign in")
    await see(page, page.get_by_label("Password"), shots, "password-page")
    await press(page, "Forgot password?")
    await see(page, visible_field(page, "Enter code"), shots, "recovery-code-asked")
    assert len(await outbox(sim, ALICE, "email")) == 1
    assert page.console_errors == []


# --- password recovery ------------------------------------------------------------------------


async def start_recovery(page, base: str, login: str, shots) -> None:
    """From the home page's link to the emailed code."""
    await page.goto(base + "/")
    await click_and_wait(page, page.get_by_role("link", name="Forgot your password?"))
    await see(page, heading(page, "reset your password"), shots, "recover")
    await page.get_by_label("Username").fill(login)
    await shots.take(page, "recover-identify")
    await press(page, "Continue")
    if await main(page).get_by_role("group", name="Security method").count():  # more than one way offered
        await choose(page, "Email", main(page).get_by_role("group", name="Security method"))
        await press(page, "Continue")
    await see(page, visible_field(page, "Enter code"), shots, "recovery-code-asked")


async def test_recovery_by_email_code_then_sign_in_with_the_new_password(demo, page, shots):
    """/recover: alice identifies, gets a code by email, types it, chooses a new password on a
    page showing the rules as a checklist; the old password no longer works, the new one does."""
    base, sim = demo
    await start_recovery(page, base, ALICE, shots)
    await enter_code(page, (await latest(sim, ALICE, "email"))["code"], shots)
    await see(page, heading(page, "new password"), shots, "reset-form")
    await checklist_is_shown(page, shots, "checklist")
    await set_new_password(page, NEW_PASSWORD, shots)
    await page.wait_for_load_state()
    if page.url == base + "/":
        await expect_home(page, base, ALICE, shots, "signed-in-after-reset")
        await sign_out(page, base, shots)
    await sign_in(page, base, ALICE, ALICE_PASSWORD, shots)
    await see(page, main(page).locator(".message--error").first, shots, "old-password-refused")
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await press(page, "Verify")
    await expect_home(page, base, ALICE, shots)
    assert page.console_errors == []


async def test_recovery_magic_link_in_the_same_browser_continues_to_the_reset_form(demo, page, shots):
    """The emailed link opened in the browser that asked for it (another tab, same cookies)
    continues the recovery: the reset form, then signed in. The first tab, waiting on the code
    page, follows on its own."""
    base, sim = demo
    await start_recovery(page, base, ALICE, shots)
    link = (await latest(sim, ALICE, "email"))["link"]
    assert urlsplit(link).path == "/login/callback" and {"state", "otp"} <= parse_qs(urlsplit(link).query).keys()
    tab = await page.context.new_page()
    await tab.goto(link)
    await see(tab, heading(tab, "new password"), shots, "link-tab-reset-form")
    await see(page, heading(page, "new password"), shots, "first-tab-followed", timeout=15_000)
    await set_new_password(tab, NEW_PASSWORD, shots)
    await expect_home(tab, base, ALICE, shots)
    assert page.console_errors == []


async def test_recovery_magic_link_in_another_browser_shows_the_code(demo, browser, page, shots):
    """The emailed link opened in another browser (no cookies of the recovery) only shows the
    code to type in the original tab and signs nobody in there; typed in the original tab, the
    code continues the recovery."""
    base, sim = demo
    await start_recovery(page, base, ALICE, shots)
    sent = await latest(sim, ALICE, "email")
    elsewhere = await new_page(browser)
    await elsewhere.goto(sent["link"])
    shown = elsewhere.locator("[data-otp]")
    await see(elsewhere, shown, shots, "other-browser-shows-code")
    assert (await shown.inner_text()).strip() == sent["code"]
    assert "original tab" in await main(elsewhere).inner_text()
    assert await is_signed_out(elsewhere, base), "nobody is signed in where the link was opened"
    await shots.take(elsewhere, "other-browser-home")
    await enter_code(page, sent["code"], shots, shot="code-typed-in-original-tab")
    await see(page, heading(page, "new password"), shots, "reset-form")
    await set_new_password(page, NEW_PASSWORD, shots)
    await expect_home(page, base, ALICE, shots)
    assert await is_signed_out(elsewhere, base), "still nobody in the other browser"
    assert page.console_errors == [] and elsewhere.console_errors == []


# --- unlock -------------------------------------------------------------------------------------


async def test_henry_unlocks_by_email_then_signs_in(demo, page, shots):
    """Henry is locked out: signing in fails, in the same words as for anyone (no enumeration).
    /unlock with his username and Email sends a code; once typed, the page says he is unlocked
    and asks for his password, which signs him in."""
    base, sim = demo
    await identify_as(page, base, HENRY, shots)
    await see(
        page, main(page).get_by_text("Sign-in failed. Check your details and try again.").first, shots, "locked-out"
    )
    await page.goto(base + "/")
    await click_and_wait(page, page.get_by_role("link", name="Unlock your account"))
    await see(page, heading(page, "unlock"), shots, "unlock-form")
    await page.get_by_label("Username").fill(HENRY)
    await choose(page, "Email", main(page).get_by_role("group", name="Security method"))
    await shots.take(page, "unlock-filled")
    await press(page, "Continue")
    await code_from_outbox(page, sim, HENRY, shots)
    # Unlocked, the sign-in goes straight on to his password, saying so.
    await see(
        page, main(page).get_by_role("status").filter(has_text="Account successfully unlocked"), shots, "unlocked"
    )
    await page.get_by_label("Password").fill(HENRY_PASSWORD)
    await press(page, "Verify")
    await expect_home(page, base, HENRY, shots)
    assert sim.app[SIMULATOR].org.user(HENRY).status == "active"
    assert page.console_errors == []


# --- social sign-in -----------------------------------------------------------------------------


async def test_social_sign_in_with_the_fake_idp(demo, page, shots):
    """ "Sign in with Fake Social" on the identify page goes to the simulator's IdP page; an email
    entered there comes back to the app's callback with an interaction code: signed in."""
    base, _ = demo
    errors = watch_app(page, base)
    visited = main_frame_navigations(page)
    await through_fake_social(page, base, ALICE, shots)
    await expect_home(page, base, ALICE, shots)
    callbacks = [u for u in visited if u.startswith(base + "/login/callback")]
    assert len(callbacks) == 1 and "interaction_code=" in callbacks[0], visited
    assert errors == []


async def test_social_sign_in_then_mfa(demo, page, shots):
    """Bob is in the `mfa` group: the IdP counts as one factor, so the callback carries
    error=interaction_required and the app continues the same transaction with the second
    factor (email code from the outbox), then signs him in."""
    base, sim = demo
    errors = watch_app(page, base)
    visited = main_frame_navigations(page)
    await through_fake_social(page, base, BOB, shots)
    callbacks = [u for u in visited if u.startswith(base + "/login/callback")]
    assert callbacks and parse_qs(urlsplit(callbacks[-1]).query).get("error") == ["interaction_required"], visited
    await see(page, main(page).get_by_role("group", name="Security method"), shots, "second-factor-asked")
    assert page.url == base + "/login/step"
    await choose(page, "Email", main(page).get_by_role("group", name="Security method"))
    await press(page, "Continue")
    await code_from_outbox(page, sim, BOB, shots)
    await expect_home(page, base, BOB, shots)
    assert errors == []


# --- links an administrator sends ---------------------------------------------------------------


async def test_activation_link_sets_up_sam_and_works_once(demo, browser, page, shots):
    """An administrator sends Sam (staged) an activation email; its link opens /activate?token=…:
    Sam sets up what the policy asks (password, email) and is signed in. The same link opened
    again shows the friendly "This link can't be used" page, not an error trace."""
    base, sim = demo
    status, sent = await sim_post_json(sim, "/_sim/admin/activation-email", {"login": SAM, "app_url": base})
    assert status == 200, sent
    email = await latest(sim, SAM, "email")
    assert email["link"] == sent["link"] and email["link"].startswith(base + "/activate?token=")
    await page.goto(email["link"])
    await shots.take(page, "activation-link-opened")
    done = await finish_setup(page, sim, base, SAM, NEW_PASSWORD, shots)
    assert "password" in done, done
    await expect_home(page, base, SAM, shots)
    assert sim.app[SIMULATOR].org.user(SAM).status == "active"
    assert page.console_errors == []
    again = await new_page(browser)
    response = await again.goto(email["link"])
    await see(again, heading(again, "link can.t be used"), shots, "link-used-again")
    assert response.status == 400
    assert await again.get_by_role("link", name="Start again").count() == 1
    assert [e for e in again.console_errors if "status of 400" not in e] == []  # the page's own 400 only


async def test_recovery_token_link_resets_the_password(demo, page, shots):
    """An administrator sends Rita a password-reset email; its link opens /reset-password?token=…
    straight on the reset form; the new password is saved and Rita is signed in (or asked to
    sign in, and her new password works)."""
    base, sim = demo
    status, sent = await sim_post_json(sim, "/_sim/admin/reset-email", {"login": RITA, "app_url": base})
    assert status == 200, sent
    link = (await latest(sim, RITA, "email"))["link"]
    assert link.startswith(base + "/reset-password?token=")
    await page.goto(link)
    await see(page, heading(page, "new password"), shots, "reset-form")
    await checklist_is_shown(page, shots, "checklist")
    await set_new_password(page, NEW_PASSWORD, shots)
    await page.wait_for_load_state()
    if page.url == base + "/":
        await expect_home(page, base, RITA, shots, "signed-in-after-reset")
        await sign_out(page, base, shots)
    await sign_in(page, base, RITA, NEW_PASSWORD, shots)
    await expect_home(page, base, RITA, shots)
    assert sim.app[SIMULATOR].org.user(RITA).password == NEW_PASSWORD
    assert page.console_errors == []


# --- sign-out -------------------------------------------------------------------------------------


async def test_sign_out_after_a_password_sign_in_stays_in_the_app(demo, page, shots):
    """Signed in with a password (no Okta session in the browser): "Sign out" revokes the tokens
    and lands on the signed-out home page without visiting the Identity Engine."""
    base, sim = demo
    await sign_in(page, base, ALICE, ALICE_PASSWORD, shots)
    await expect_home(page, base, ALICE, shots)
    visited = main_frame_navigations(page)
    await sign_out(page, base, shots)
    assert not [u for u in visited if "/v1/logout" in u], visited
    assert await is_signed_out(page, base)
    assert page.console_errors == []


async def test_sign_out_after_social_sign_in_ends_the_okta_session(demo, page, shots):
    """After a social sign-in the browser also holds an Okta session: "Sign out" goes through the
    simulator's /v1/logout (a form posting the ID token as hint and the app's home as the way back) and
    returns to the app's home page, signed out."""
    base, sim = demo
    errors = watch_app(page, base)
    await through_fake_social(page, base, ALICE, shots)
    await expect_home(page, base, ALICE, shots)
    visited = main_frame_navigations(page)
    await sign_out(page, base, shots)
    logout = [u for u in visited if urlsplit(u).path == "/oauth2/default/v1/logout"]
    assert len(logout) == 1 and logout[0].startswith(sim_url(sim, "/")), visited
    assert not any("id_token_hint" in u for u in visited), visited  # posted in a form body, never in a URL
    assert visited.index(logout[0]) < len(visited) - 1 and visited[-1] == base + "/", visited
    assert await is_signed_out(page, base)
    assert errors == []
