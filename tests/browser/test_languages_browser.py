"""The sign-in page in French, Japanese and Arabic in headless Chromium: the browser's language
picks the page's, the switch changes it and the choice stays, and Arabic lays out right to left."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

pytestmark = pytest.mark.browser


def texts(code: str) -> dict[str, str]:
    return json.loads((ROOT / "templates" / "messages" / f"{code}.json").read_text(encoding="utf-8"))


async def open_sign_in(page, base: str) -> None:
    await page.goto(base + "/login")
    await page.wait_for_url(base + "/login/step*")


async def test_a_french_browser_gets_french(demo, browser, shots):
    base, _ = demo
    context = await browser.new_context(locale="fr-CA")  # Accept-Language: fr-CA
    page = await context.new_page()
    await open_sign_in(page, base)
    fr = texts("fr")
    assert await page.locator("html").get_attribute("lang") == "fr"
    await page.get_by_role("heading", name=fr["title.identify"]).wait_for()
    await page.get_by_role("button", name=fr["submit.identify"], exact=True).wait_for()
    assert await page.locator("main.card").evaluate("e => getComputedStyle(e).direction") == "ltr"
    await shots.take(page, "fr-sign-in")
    await context.close()


async def test_the_switch_changes_the_language_and_arabic_is_right_to_left(demo, page, shots):
    base, _ = demo
    await open_sign_in(page, base)
    assert await page.locator("html").get_attribute("lang") == "en"
    switch = page.get_by_role("navigation", name="Language")

    await switch.get_by_role("link", name="日本語").click()
    await page.wait_for_url("**/login/step?lang=ja")
    ja = texts("ja")
    await page.get_by_role("heading", name=ja["title.identify"]).wait_for()
    assert await page.locator("html").get_attribute("lang") == "ja"
    await shots.take(page, "ja-sign-in")

    await page.get_by_role("navigation", name=ja["language.switch"]).get_by_role("link", name="العربية").click()
    await page.wait_for_url("**/login/step?lang=ar")
    ar = texts("ar")
    await page.get_by_role("heading", name=ar["title.identify"]).wait_for()
    assert await page.locator("html").evaluate("e => [e.lang, e.dir]") == ["ar", "rtl"]
    assert await page.locator("main.card").evaluate("e => getComputedStyle(e).direction") == "rtl"
    # Mirrored: the brand sits at the right edge, the language links to its left; labels and
    # fields start from the right.
    brand = await page.locator(".brand__home").bounding_box()
    languages = await page.locator("nav.languages").bounding_box()
    assert brand["x"] > languages["x"]
    field = await page.locator("main.card input:not([type=hidden])").first.bounding_box()
    label = await page.locator("main.card label").first.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); const b = r.getBoundingClientRect(); return {x: b.x, width: b.width}; }"
    )
    assert (
        abs((label["x"] + label["width"]) - (field["x"] + field["width"])) < 2
    )  # the label's text ends where the field does
    assert label["x"] > field["x"] + 20
    await shots.take(page, "ar-sign-in")

    # Remembered: the next page, without ?lang=, is still in Arabic.
    await page.goto(base + "/")
    assert await page.locator("html").evaluate("e => [e.lang, e.dir]") == ["ar", "rtl"]
    await page.get_by_role("link", name=ar["submit.identify"], exact=True).click()
    await page.wait_for_url(base + "/login/step")
    await page.get_by_role("heading", name=ar["title.identify"]).wait_for()
    await shots.take(page, "ar-sign-in-remembered")
    assert page.console_errors == []  # no CSP violations or script errors
