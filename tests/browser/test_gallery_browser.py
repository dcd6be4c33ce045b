"""The page gallery in Chromium: the demo's /_gallery against the simulator, followed link by
link, and the static site `python -m embedded gallery` writes, opened from disk. No CSP
violation, no console error, and the stylesheet and images load."""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest
from conftest import RECORDED

from embedded.__main__ import main

from .conftest import start_demo

pytestmark = pytest.mark.browser


@pytest.fixture
async def gallery_demo(aiohttp_server, aiohttp_client) -> str:
    """The demo as `python -m embedded` serves it against the simulator (with the gallery)."""
    base, _ = await start_demo(aiohttp_server, aiohttp_client, "127.0.0.1", gallery=True)
    return base


async def styled(page) -> bool:
    """The package's stylesheet applies: the card is the narrow, centred one it draws."""
    return await page.eval_on_selector("main.card", "m => getComputedStyle(m).maxWidth !== 'none'")


async def follow(page, selector: str) -> None:
    """Click a link and wait until the page it opens has loaded: a click returns once the next page
    is on its way, before its stylesheet and images have arrived (checking them then was flaky)."""
    async with page.expect_navigation(wait_until="load"):
        await page.click(selector)


async def switch_language(page, code: str) -> None:
    """The page's own language chooser: open it, follow the language's link."""
    await page.click("summary.languages__current")
    await follow(page, f"a.languages__option[hreflang={code}]")


async def images_loaded(page) -> bool:
    """Every image from the app's static files loads (data: ones come from the fixture: the
    recorder redacts QR codes to a stub)."""
    return await page.evaluate(
        "[...document.images].filter(i => !i.src.startsWith('data:')).every(i => i.complete && i.naturalWidth > 0)"
    )


async def test_the_gallery_in_the_demo(gallery_demo, page, shots):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = await page.goto(f"{gallery_demo}/_gallery")
    assert page.url == f"{gallery_demo}/_gallery/" and "'nonce-" in response.headers["content-security-policy"]
    assert await page.text_content("h1") == "Page gallery" and await styled(page)
    assert await page.locator("a[data-page]").count() > 700
    await shots.take(page, "index")

    await follow(page, 'a[data-page="recorded--password--01-introspect"][hreflang="en"]')
    assert page.url == f"{gallery_demo}/_gallery/en/recorded--password--01-introspect.html"
    assert await page.get_attribute("html", "lang") == "en" and await styled(page) and await images_loaded(page)
    assert await page.locator("input[name=identifier]").is_visible()
    await shots.take(page, "identify-en")

    await switch_language(page, "ar")  # the page's own language chooser: the same fixture in Arabic
    assert page.url.endswith("/_gallery/ar/recorded--password--01-introspect.html")
    assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    await shots.take(page, "identify-ar")

    await page.goto(f"{gallery_demo}/_gallery/")
    await follow(page, 'a[data-page="recorded--okta-verify-push--04-challenge"][hreflang="ja"]')
    push = page.url
    assert await page.get_attribute("html", "lang") == "ja" and await images_loaded(page)
    await shots.take(page, "push-ja")
    await asyncio.sleep(5)  # longer than the step's poll interval: a still never moves on by itself
    assert page.url == push

    await page.goto(f"{gallery_demo}/_gallery/")
    await follow(page, 'a[data-page="recorded--enroll-phone--01-introspect"][hreflang="de"]')
    await page.go_back()
    await follow(page, 'a[data-page="recorded--registration--03-enroll-new"][hreflang="fr"]')
    assert await page.get_attribute("html", "lang") == "fr" and await styled(page)
    await shots.take(page, "registration-fr")
    assert violations == [] and page.console_errors == []


async def test_the_static_gallery_opened_from_disk(tmp_path, page, shots):
    fixtures = tmp_path / "fixtures"
    for journey in ("password", "okta-verify-push"):
        target = fixtures / journey
        target.mkdir(parents=True)
        for source in (RECORDED.directory / journey).glob("*.json"):
            (target / source.name).write_bytes(source.read_bytes())
    out = tmp_path / "site"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["gallery", str(out), "--fixtures", str(fixtures), "--lang", "en", "--lang", "ar"]) == 0
    await page.goto((out / "index.html").as_uri())
    assert await page.text_content("h1") == "Page gallery" and await styled(page)
    await follow(page, 'a[data-page="okta-verify-push--02-identify"][hreflang="en"]')
    assert (
        page.url.endswith("/en/okta-verify-push--02-identify.html") and await styled(page) and await images_loaded(page)
    )
    await shots.take(page, "password-from-disk")
    await switch_language(page, "ar")
    assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl" and await styled(page)
    await follow(page, "a.brand__home")  # the header's home link leads back to the index
    assert page.url == (out / "index.html").as_uri()
    assert page.console_errors == []


async def test_every_page_kind_loads_with_no_csp_violation(gallery_demo, page):
    """One page for each template the corpus reaches, in turns of language: a still has no
    script, loads only the app's own static files, and so breaks no rule of the app's policy."""
    await page.goto(f"{gallery_demo}/_gallery/")
    kinds = await page.eval_on_selector_all(
        "dd:has([data-template])",
        """entries => {
        const first = {};
        entries.forEach((dd, i) => {
            const template = dd.querySelector("[data-template]").textContent.trim();
            const links = dd.querySelectorAll("a[data-page]");
            first[template] ??= links[i % links.length].href;
        });
        return first;
    }""",
    )
    assert len(kinds) > 20 and "steps/identify.html" in kinds
    for template, href in kinds.items():
        await page.goto(href)
        assert await images_loaded(page) and await styled(page), (template, href)
    assert page.console_errors == []
