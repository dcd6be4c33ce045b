"""What a person does on the app's pages, as Playwright steps, plus reading the simulator's outbox.

Controls are found the way a person finds them: by label, by button name, by visible text."""

from __future__ import annotations

import re

import aiohttp


def email_of(page):
    return page.locator('[data-claim="email"]')


async def click_and_wait(page, locator) -> None:
    """Click something that submits a form or follows a link, and wait for the next page."""
    async with page.expect_navigation():
        await locator.click()


def visible_field(page, label: str):
    """The field a person sees labelled `label` (collapsed alternatives hold same-named fields)."""
    return page.get_by_label(label).filter(visible=True)


def button(page, name: str):
    """The button a person reads as `name` in the page's main content."""
    return page.get_by_role("main").get_by_role("button", name=name, exact=True)


async def press(page, name: str) -> None:
    await click_and_wait(page, button(page, name))


async def start(page, base: str, username: str, shots) -> None:
    await page.goto(base + "/")
    await shots.take(page, "home-signed-out")
    await click_and_wait(page, page.get_by_role("link", name="Sign in", exact=True))
    await page.get_by_label("Username").fill(username)
    await shots.take(page, "identify")
    await press(page, "Sign in")


async def sign_in(page, base: str, username: str, password: str, shots) -> None:
    """From the home page to the first step after the password."""
    await start(page, base, username, shots)
    await page.get_by_label("Password").fill(password)
    await shots.take(page, "password")
    await press(page, "Verify")


async def enter_code(page, code: str, shots, label: str = "Enter code", shot: str = "code") -> None:
    """Type a code in the field a person reads as `label` and submit it with Enter."""
    field = visible_field(page, label)
    await field.fill(code)
    await shots.take(page, shot)
    async with page.expect_navigation():
        await field.press("Enter")


async def choose(page, label: str, scope=None) -> None:
    """Pick the (first) radio option whose label starts with `label`."""
    radio = (
        (scope or page)
        .get_by_role("radio", name=re.compile(r"^" + re.escape(label) + r"\b"))
        .filter(visible=True)
        .first
    )
    await radio.check()


async def describe(page) -> str:
    return f"{page.url}\n" + await page.locator("body").aria_snapshot()


async def see(page, locator, shots, label: str, timeout: float | None = None) -> None:
    """Wait until a person can see `locator`; on failure keep a screenshot and say what the page shows."""
    try:
        await locator.wait_for(timeout=timeout)
    except Exception:
        await shots.take(page, "MISSING-" + label)
        raise AssertionError(f"{label}: not shown; the page shows:\n" + await describe(page)) from None
    await shots.take(page, label)


async def expect_home(page, base: str, email: str, shots, label: str = "signed-in") -> None:
    try:
        await page.wait_for_url(base + "/")
    except Exception:
        await shots.take(page, "NOT-HOME")
        raise AssertionError("did not reach the home page; the page shows:\n" + await describe(page)) from None
    assert await email_of(page).inner_text() == email
    await shots.take(page, label)


async def is_signed_out(page, base: str) -> bool:
    await page.goto(base + "/")
    await page.get_by_role("link", name="Sign in", exact=True).wait_for()
    return await email_of(page).count() == 0


def sim_url(simulator, path: str) -> str:
    return f"http://127.0.0.1:{simulator.port}{path}"


async def outbox(simulator, to: str, kind: str | None = None, count: int = 1) -> list[dict]:
    """Messages sent to `to` (newest first), of `kind`; asserts at least `count` of them."""
    async with aiohttp.ClientSession() as s, s.get(sim_url(simulator, "/outbox.json"), params={"to": to}) as r:
        sent = [m for m in await r.json() if kind is None or m["kind"] == kind]
    assert len(sent) >= count, f"expected {count} {kind or 'message'}(s) to {to}, outbox has {sent}"
    return sent


async def latest(simulator, to: str, kind: str | None = None) -> dict:
    return (await outbox(simulator, to, kind))[0]


async def post_sim(simulator, path: str, data: dict | None = None) -> int:
    async with (
        aiohttp.ClientSession() as s,
        s.post(sim_url(simulator, path), data=data or {}, allow_redirects=False) as r,
    ):
        return r.status


def on_base(link: str, base: str) -> str:
    """A link the simulator built for the configured redirect URI, on the app's real origin."""
    return base + "/" + link.split("/", 3)[3]


async def virtual_authenticator(page) -> str:
    """Chromium's virtual authenticator (DevTools WebAuthn domain) on `page`: a platform
    authenticator that holds passkeys, verifies the user and answers prompts by itself.
    Its CDP session stays on `page.cdp` for reading credentials back."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.cdp = cdp
    return added["authenticatorId"]
