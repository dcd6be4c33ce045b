"""Passcode, push and device-bound authenticators through the real pages in headless Chromium, against the
simulator: the passcode family (quinn), Symantec VIP and YubiKey enrollment (yuri), a custom push app (cora),
Duo's frame (duane), an identity provider as a factor (ivan), smart cards (piper), Okta FastPass by
loopback (fiona) and passkeys (pam: invitation, then autofill).

Each test screenshots every page it visits (test-artifacts/screenshots/<test>/) and checks that no
console error (CSP violation, script error) happened."""

from __future__ import annotations

import re
import secrets
import time

import pytest
from pages import totp

from embedded.simulator import SIMULATOR
from embedded.simulator.authenticators import MODHEX

from .people import (
    choose,
    click_and_wait,
    describe,
    enter_code,
    expect_home,
    latest,
    press,
    see,
    sign_in,
    sim_url,
    start,
    virtual_authenticator,
    visible_field,
)

pytestmark = pytest.mark.browser

QUINN, QUINN_PASSWORD = "quinn@example.com", "Quinn-Passw0rd!"


def yubikey_otp(public_id: str) -> str:
    """What a YubiKey types when touched: its public id, then 32 modhex letters new each time."""
    return public_id + "".join(secrets.choice(MODHEX) for _ in range(32))


def main(page):
    return page.get_by_role("main")


async def pick(page, label: str, shots, shot: str = "choose") -> None:
    """Choose the method labelled `label` on a 'choose a method' page and go on."""
    await see(page, main(page).get_by_role("radio", name=re.compile(r"^" + re.escape(label))), shots, shot)
    await choose(page, label, main(page))
    await press(page, "Continue")


# key -> (the option's label, the code field's label, a working code)
PASSCODES = {
    "rsa_token": ("RSA SecurID", "Enter code", lambda: totp("QUINNRSAQUINNRS2")),
    "onprem_mfa": ("On-Prem MFA", "Enter code", lambda: totp("QUINNONPREMQUIN2")),
    "symantec_vip": ("Symantec VIP", "Enter security code", lambda: totp("QUINNVIPQUINNVI2")),
    "yubikey_token": ("YubiKey Authenticator", "Insert then tap your YubiKey", lambda: yubikey_otp("ccccccbuilde")),
    "tac": ("Temporary Access Code", "Enter code", lambda: "QTAC-8128-4096"),
    "nfc_pin": ("NFC", "PIN", lambda: "2468"),
}


@pytest.mark.parametrize("key", list(PASSCODES))
async def test_quinn_signs_in_with_each_passcode_authenticator(demo, page, shots, key):
    base, _ = demo
    option, field, code = PASSCODES[key]
    await sign_in(page, base, QUINN, QUINN_PASSWORD, shots)
    await pick(page, option, shots)
    await see(page, visible_field(page, field), shots, "challenge")
    await enter_code(page, code(), shots, label=field)
    await expect_home(page, base, QUINN, shots)
    assert page.console_errors == []


async def test_quinn_wrong_passcode_then_the_right_one(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, QUINN, QUINN_PASSWORD, shots)
    await pick(page, "RSA SecurID", shots)
    good = totp("QUINNRSAQUINNRS2")
    await enter_code(page, "111111" if good != "111111" else "222222", shots, shot="wrong-code")
    await see(page, main(page).get_by_text("Invalid code").first, shots, "wrong-code-error")
    await enter_code(page, totp("QUINNRSAQUINNRS2"), shots, shot="right-code")
    await expect_home(page, base, QUINN, shots)
    assert page.console_errors == []


# ---------------------------------------------------------------- yuri enrolls VIP and a YubiKey
async def test_yuri_sets_up_symantec_vip_and_a_yubikey(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, "yuri@example.com", "Yuri-Passw0rd!", shots)
    await pick(page, "Symantec VIP", shots, "required-setup")
    await see(page, visible_field(page, "Enter credential ID"), shots, "vip-setup")
    step = int(time.time() // 30)
    await visible_field(page, "Enter credential ID").fill("VSMT52417963")
    await visible_field(page, "Security Code 1").fill(totp("YURIVIPYURIVIPY2", (step - 1) * 30))
    await visible_field(page, "Security Code 2").fill(totp("YURIVIPYURIVIPY2", step * 30))
    await shots.take(page, "vip-filled")
    await press(page, "Verify")
    # The YubiKey is the one method left to set up: nobody asks yuri to choose it.
    await enter_code(page, yubikey_otp("ccccccturbid"), shots, label="Insert then tap your YubiKey", shot="yubikey")
    await expect_home(page, base, "yuri@example.com", shots)
    yuri = sim.app[SIMULATOR].org.user("yuri@example.com")
    assert {"symantec_vip", "yubikey_token"} <= set(yuri.enrolled_keys())
    assert page.console_errors == []


# ---------------------------------------------------------------- cora's custom push app
async def test_cora_approves_the_custom_push_on_the_outbox_page(demo, page, shots):
    base, sim = demo
    await sign_in(page, base, "cora@example.com", "Cora-Passw0rd!", shots)
    await see(page, main(page).get_by_text(re.compile("Custom Push")).first, shots, "push-sent")
    push = await latest(sim, "cora@example.com", "push")
    assert push["status"] == "pending"
    phone = await page.context.new_page()
    await phone.goto(sim_url(sim, "/outbox"))
    row = phone.get_by_role("row").filter(has_text="Custom Push: did you just try to sign in?").first
    await see(phone, row, shots, "outbox")
    await click_and_wait(phone, row.get_by_role("button", name="Approve", exact=True))
    await shots.take(phone, "outbox-approved")
    await expect_home(page, base, "cora@example.com", shots)  # poll.js notices
    assert page.console_errors == []


# ---------------------------------------------------------------- duane's Duo frame
async def test_duane_approves_in_the_duo_frame(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "duane@example.com", "Duane-Passw0rd!", shots)
    frame = page.frame_locator("iframe.duo__frame")
    approve = frame.get_by_role("button", name="Approve", exact=True)
    try:
        await approve.wait_for()
    except Exception:
        await shots.take(page, "MISSING-duo-frame")
        raise AssertionError("Duo's frame shows no Approve button; the page shows:\n" + await describe(page)) from None
    await frame.get_by_text("duane@example.com").wait_for()
    await shots.take(page, "duo-frame")
    async with page.expect_navigation():
        await approve.click()
    await expect_home(page, base, "duane@example.com", shots)
    assert page.console_errors == []


async def test_duane_denies_in_the_duo_frame(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "duane@example.com", "Duane-Passw0rd!", shots)
    frame = page.frame_locator("iframe.duo__frame")
    await frame.get_by_role("button", name="Deny", exact=True).click()
    await frame.get_by_text("Request denied").wait_for()
    await shots.take(page, "duo-denied")
    assert page.url.endswith("/login/step")  # nothing was submitted
    assert page.console_errors == []


# ---------------------------------------------------------------- ivan: an identity provider as a factor
async def test_ivan_verifies_with_the_partner_idp(demo, page, shots):
    base, _ = demo
    await sign_in(page, base, "ivan@example.com", "Ivan-Passw0rd!", shots)
    # the only way on is the identity provider: the app sends the browser there
    cont = page.get_by_role("button", name="Continue as ivan@example.com", exact=True)
    await see(page, cont, shots, "partner-idp-page")
    await click_and_wait(page, cont)
    await expect_home(page, base, "ivan@example.com", shots)
    assert page.console_errors == []


# ---------------------------------------------------------------- piper's smart card
async def present_card(page, shots) -> None:
    await see(page, page.get_by_role("heading", name="Insert your smart card"), shots, "card-reader")
    await page.get_by_label(re.compile("CN=Piper Park")).check()
    await click_and_wait(page, page.get_by_role("button", name="Continue", exact=True))


async def test_piper_verifies_with_her_smart_card(demo, page, shots):
    base, _ = demo
    await start(page, base, "piper@example.com", shots)  # the card is her only factor: on to the reader
    await present_card(page, shots)
    await expect_home(page, base, "piper@example.com", shots)
    assert page.console_errors == []


async def test_piper_signs_in_with_the_piv_button(demo, page, shots):
    base, _ = demo
    await page.goto(base + "/")
    await click_and_wait(page, page.get_by_role("link", name="Sign in", exact=True))
    piv = main(page).get_by_role("button", name="Sign in with PIV / CAC card", exact=True)
    await see(page, piv, shots, "identify-with-piv")
    await click_and_wait(page, piv)
    await present_card(page, shots)
    await expect_home(page, base, "piper@example.com", shots)
    assert page.console_errors == []


# ---------------------------------------------------------------- fiona: FastPass by loopback
async def test_fiona_signs_in_with_fastpass_by_loopback(demo, page, shots):
    base, sim = demo
    requests: list[tuple[str, str]] = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    errors: list[tuple[str, str]] = []
    page.on("console", lambda m: errors.append((m.text, m.location.get("url", ""))) if m.type == "error" else None)
    async with __import__("aiohttp").ClientSession() as s:
        await s.delete(sim_url(sim, "/_sim/calls"))
    await start(page, base, "fiona@example.com", shots)
    await pick(page, "Okta Verify", shots)
    await expect_home(page, base, "fiona@example.com", shots)
    simulator = sim.app[SIMULATOR]
    dead = simulator.engine.dead_port
    own = sim.port
    assert ("GET", f"http://localhost:{dead}/probe") in requests, requests
    assert ("GET", f"http://localhost:{own}/probe") in requests, requests
    assert ("POST", f"http://localhost:{own}/challenge") in requests, requests
    calls = [tuple(c) for c in simulator.calls]
    assert ("OPTIONS", "/probe") in calls and ("OPTIONS", "/challenge") in calls, "no CORS preflight reached the device"
    assert ("GET", "/probe") in calls and ("POST", "/challenge") in calls
    # the one console error allowed: the refused connection to the dead port, which the probe skips
    assert all(url.startswith(f"http://localhost:{dead}/") for _, url in errors), errors


# ---------------------------------------------------------------- pam: passkeys
async def to_the_passkey_invitation(page, base, shots):
    await sign_in(page, base, "pam@example.com", "Pam-Passw0rd!", shots)
    skip = main(page).get_by_role("button", name=re.compile(r"skip|not now|later", re.I))
    await see(page, skip.first, shots, "passkey-invitation")
    return skip.first


async def test_pam_creates_a_passkey_then_signs_in_from_autofill(demo_localhost, page, shots):
    base, sim = demo_localhost
    authenticator = await virtual_authenticator(page)
    await to_the_passkey_invitation(page, base, shots)
    create = main(page).get_by_role("button", name=re.compile(r"passkey|security key|biometric", re.I))
    await create.first.click()
    await expect_home(page, base, "pam@example.com", shots, "signed-in-after-creating")
    credentials = (await page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"], "a discoverable credential (passkey)"
    pam = sim.app[SIMULATOR].org.user("pam@example.com")
    assert pam.enrollment("webauthn") is not None

    await click_and_wait(page, page.get_by_role("button", name="Sign out", exact=True))
    await shots.take(page, "signed-out")
    await page.goto(base + "/")
    await click_and_wait(page, page.get_by_role("link", name="Sign in", exact=True))
    # The first page asks the browser for a passkey in the username field's autofill; the virtual
    # authenticator answers for pam at once, without a username typed.
    await expect_home(page, base, "pam@example.com", shots, "signed-in-from-autofill")
    credentials = (await page.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator}))["credentials"]
    assert credentials[0]["signCount"] >= 1
    calls = [tuple(c) for c in sim.app[SIMULATOR].calls]
    assert ("POST", "/idp/idx/challenge/answer/webauthn-autofillui") in calls
    assert page.console_errors == []


async def test_pam_skips_the_passkey_invitation(demo_localhost, page, shots):
    base, sim = demo_localhost
    skip = await to_the_passkey_invitation(page, base, shots)
    await click_and_wait(page, skip)
    await expect_home(page, base, "pam@example.com", shots)
    assert sim.app[SIMULATOR].org.user("pam@example.com").enrollment("webauthn") is None
    assert page.console_errors == []
