"""The pages in every language in headless Chromium: the browser's language picks the page's, the
compact chooser (a <details> disclosure of links, no script needed) changes it and the choice stays,
it keeps to one header row at 390 px in every language, and Arabic lays out right to left."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from embedded import locales

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def texts(code: str) -> dict[str, str]:
    return json.loads((ROOT / "templates" / "messages" / f"{code}.json").read_text(encoding="utf-8"))


async def open_sign_in(page, base: str, query: str = "") -> None:
    await page.goto(base + "/login" + query)
    await page.wait_for_url(base + "/login/step*")


def chooser(page, code: str = "en"):
    """The language navigation, found by its label in the page's language."""
    return page.get_by_role("navigation", name=texts(code)["language.switch"])


async def shown(summary) -> str:
    """The summary's visible words (its label for screen readers is visually hidden)."""
    return await summary.evaluate(
        "e => [...e.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join('').trim()"
    )


async def choose_language(page, shown: str, name: str) -> None:
    """Open the chooser of a page in `shown` and follow the link named `name`."""
    nav = chooser(page, shown)
    await nav.locator("summary").click()
    async with page.expect_navigation():
        await nav.get_by_role("link", name=name, exact=True).click()


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


@pytest.mark.parametrize(("locale", "expected"), [("zh-HK", "zh-TW"), ("zh-SG", "zh-CN"), ("ko-KR", "ko")])
async def test_a_chinese_or_korean_browser_gets_its_script(demo, browser, locale, expected):
    """Chromium's own Accept-Language for a Hong Kong, Singapore or Korean locale."""
    base, _ = demo
    context = await browser.new_context(locale=locale)
    page = await context.new_page()
    await open_sign_in(page, base)
    assert await page.locator("html").get_attribute("lang") == expected
    await page.get_by_role("heading", name=texts(expected)["title.identify"]).wait_for()
    await context.close()


async def test_the_chooser_changes_the_language_and_arabic_is_right_to_left(demo, page, shots):
    base, _ = demo
    await page.set_viewport_size(DESKTOP)
    await open_sign_in(page, base)
    assert await page.locator("html").get_attribute("lang") == "en"
    nav = chooser(page)
    summary = nav.locator("summary")
    assert await shown(summary) == "English"
    assert (await summary.inner_text()).startswith("Language:")  # named for screen readers too
    # Closed, the chooser shows only the current language: no link of the menu is visible.
    assert await nav.get_by_role("link").first.is_hidden()

    await choose_language(page, "en", "日本語")
    assert page.url.endswith("/login/step?lang=ja")
    ja = texts("ja")
    await page.get_by_role("heading", name=ja["title.identify"]).wait_for()
    assert await page.locator("html").get_attribute("lang") == "ja"
    assert await shown(chooser(page, "ja").locator("summary")) == "日本語"
    await shots.take(page, "ja-sign-in")

    await choose_language(page, "ja", "العربية")
    ar = texts("ar")
    await page.get_by_role("heading", name=ar["title.identify"]).wait_for()
    assert await page.locator("html").evaluate("e => [e.lang, e.dir]") == ["ar", "rtl"]
    assert await page.locator("main.card").evaluate("e => getComputedStyle(e).direction") == "rtl"
    # Mirrored: the brand sits at the right edge, the chooser to its left, its menu opening
    # rightwards from the chooser's left edge; labels and fields start from the right.
    brand = await page.locator(".brand__home").bounding_box()
    nav = chooser(page, "ar")
    switch = await nav.bounding_box()
    assert brand["x"] > switch["x"]
    await nav.locator("summary").click()
    menu = await nav.locator("ul").bounding_box()
    assert abs(menu["x"] - switch["x"]) < 2
    await shots.take(page, "ar-chooser-open")
    await nav.locator("summary").click()
    field = await page.locator("main.card input:not([type=hidden])").first.bounding_box()
    label = await page.locator("main.card label").first.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); const b = r.getBoundingClientRect(); "
        "return {x: b.x, width: b.width}; }"
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


async def header_rows(page) -> dict:
    """Where the header's two parts sit: on one row when each one's vertical middle lies within
    the other's box; and whether anything sticks out of the viewport sideways."""
    return await page.evaluate("""() => {
        const box = s => document.querySelector(s).getBoundingClientRect();
        const brand = box('.brand__home'), summary = box('.languages summary');
        const within = (a, b) => a.top + a.height / 2 > b.top && a.top + a.height / 2 < b.bottom;
        return {oneRow: within(brand, summary) && within(summary, brand),
                header: box('header.brand').height, summaryHeight: summary.height,
                overflow: document.documentElement.scrollWidth - window.innerWidth,
                apart: summary.left >= brand.right || brand.left >= summary.right};
    }""")


async def test_the_chooser_keeps_one_header_row_at_390px_in_every_language(demo, page, shots):
    base, _ = demo
    await page.set_viewport_size(PHONE)
    await open_sign_in(page, base)
    measured = {}
    for code in locales.CODES:
        await page.goto(f"{base}/login/step?lang={code}")
        assert await page.locator("html").get_attribute("lang") == code
        rows = await header_rows(page)
        measured[code] = rows
        assert rows["oneRow"] and rows["apart"] and rows["overflow"] == 0, (code, rows)
        assert rows["header"] < rows["summaryHeight"] * 2 + 32, (code, rows)  # one row and the header's padding
        # Open, the menu lists all 17 inside the viewport, and the current one is marked.
        nav = chooser(page, code)
        await nav.locator("summary").click()
        links = nav.get_by_role("link")
        assert await links.count() == len(locales.CODES)
        menu = await nav.locator("ul").bounding_box()
        assert menu["x"] >= 0 and menu["x"] + menu["width"] <= PHONE["width"], (code, menu)
        assert await nav.locator("a[aria-current=true]").get_attribute("hreflang") == code
        if code in ("en", "ar", "ja", "pt-BR", "zh-TW"):
            await shots.take(page, f"{code}-390px-open")
    assert page.console_errors == []


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "390px"])
async def test_choosing_with_the_keyboard_and_no_script(demo, browser, shots, size):
    """With JavaScript off: Tab to the chooser, open it with Enter, Tab to Korean and follow it with
    Enter; the page is in Korean and stays so on the next page without ?lang=."""
    base, _ = demo
    context = await browser.new_context(java_script_enabled=False, viewport=size)
    page = await context.new_page()
    await open_sign_in(page, base)
    summary = chooser(page).locator("summary")
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await summary.evaluate("e => e === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reached the language chooser")
    await page.keyboard.press("Enter")
    assert await chooser(page).locator("details").get_attribute("open") is not None
    for _ in range(len(locales.CODES)):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.hreflang") == "ko":
            break
    else:
        raise AssertionError("Tab never reached 한국어")
    await shots.take(page, "ko-focused")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    ko = texts("ko")
    await page.get_by_role("heading", name=ko["title.identify"]).wait_for()
    assert await page.locator("html").get_attribute("lang") == "ko"
    await page.goto(base + "/")
    assert await page.locator("html").get_attribute("lang") == "ko"
    assert await shown(chooser(page, "ko").locator("summary")) == "한국어"
    await shots.take(page, "ko-remembered")
    await context.close()
