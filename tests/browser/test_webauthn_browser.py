"""Wendy sets up a security key or biometric (WebAuthn) at first sign-in, then signs in with it,
using Chromium's virtual authenticator. Browsers refuse IP addresses as relying-party ids, so the
app is browsed at http://localhost:<port> (fixture `demo_localhost`)."""

from __future__ import annotations

import re

import pytest

from embedded.simulator import SIMULATOR

from .people import click_and_wait, describe, expect_home, press, see, sign_in, virtual_authenticator

pytestmark = pytest.mark.browser

WENDY, WENDY_PASSWORD = "wendy@example.com", "Wendy-Passw0rd!"
USE_KEY = "Use security key or biometrics"


async def to_the_webauthn_setup(page, base, shots) -> None:
    """A security key is the one method wendy must set up: no page asks her to choose it."""
    await sign_in(page, base, WENDY, WENDY_PASSWORD, shots)
    main = page.get_by_role("main")
    await see(page, main.get_by_role("button", name=USE_KEY, exact=True), shots, "webauthn-setup")
    assert await main.get_by_role("radio").count() == 0


async def test_wendy_sets_up_a_security_key_then_signs_in_with_it(demo_localhost, page, shots):
    """The security-key challenge page itself: with passkey autofill off, the sign-in reaches it
    (autofill, which answers before a username is typed, has its own test)."""
    base, sim = demo_localhost
    sim.app[SIMULATOR].org.passkey_autofill = False
    authenticator = await virtual_authenticator(page)
    await to_the_webauthn_setup(page, base, shots)
    await page.get_by_role("main").get_by_role("button", name=USE_KEY, exact=True).click()
    await expect_home(page, base, WENDY, shots, "signed-in-after-setup")
    credentials = (await page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert len(credentials) == 1, "the virtual authenticator holds the new credential"

    await click_and_wait(page, page.get_by_role("button", name="Sign out", exact=True))
    await shots.take(page, "signed-out")
    await sign_in(page, base, WENDY, WENDY_PASSWORD, shots)
    use = page.get_by_role("main").get_by_role("button", name=USE_KEY, exact=True)
    await see(page, use, shots, "webauthn-challenge")
    # the page names her enrolled keys in allowCredentials, so the browser picks the right one
    allow = await page.locator('form[data-js="webauthn"]').get_attribute("data-webauthn-allow")
    await use.click()
    try:
        await expect_home(page, base, WENDY, shots, "signed-in-with-the-key")
    except AssertionError as failed:
        raise AssertionError(
            f"{failed}\nthe page's data-webauthn-allow was {allow!r}; the authenticator holds "
            f"{[c['credentialId'] for c in credentials]}"
        ) from None
    credentials = (await page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert credentials[0]["signCount"] >= 1, "the key signed the sign-in"
    assert page.console_errors == []


async def test_without_a_security_key_the_page_says_what_to_do(demo_localhost, page, shots):
    base, _ = demo_localhost
    await to_the_webauthn_setup(page, base, shots)
    main = page.get_by_role("main")
    await main.get_by_role("button", name=USE_KEY, exact=True).click()
    # The browser's prompt never answers (no authenticator): the person can stop waiting...
    stop = main.get_by_role("button", name="Stop waiting", exact=True)
    await see(page, stop, shots, "webauthn-waiting")
    # Headless Chromium holds back real input while its (invisible) WebAuthn prompt is open;
    # a desktop browser shows its own dialog instead. Deliver the click as an event.
    await stop.dispatch_event("click")
    # ...and gets a clear message and a way on.
    message = main.get_by_role("status").filter(has_text=re.compile(r"didn't work|cancel|can't|try again", re.I))
    await see(page, message, shots, "webauthn-message")
    assert await main.get_by_role("button", name="Try again", exact=True).count(), await describe(page)
    assert page.url.endswith("/login/step")
    assert page.console_errors == []


async def test_frank_sets_up_a_security_key_among_his_methods(demo_localhost, page, shots):
    base, _ = demo_localhost
    authenticator = await virtual_authenticator(page)
    await sign_in(page, base, "frank@example.com", "Frank-Passw0rd!", shots)
    main = page.get_by_role("main")
    methods = main.get_by_role("group", name="Security method")
    await see(page, methods, shots, "required-setup")
    await methods.get_by_role("radio", name=re.compile(r"^Security Key or Biometric")).check()
    await press(page, "Continue")
    use = main.get_by_role("button", name=USE_KEY, exact=True)
    await see(page, use, shots, "webauthn-setup")
    async with page.expect_navigation():
        await use.click()
    await see(page, methods, shots, "optional-setup")
    credentials = (await page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert len(credentials) == 1
    await press(page, "Set up later")
    await expect_home(page, base, "frank@example.com", shots)
    assert page.console_errors == []
