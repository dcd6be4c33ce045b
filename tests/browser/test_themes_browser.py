"""The example theme (examples/themes/harbor) next to the default look, in headless Chromium: the
same pages served with and without it, screenshotted side by side (test-artifacts/screenshots/),
and the differences checked where a person sees them (computed colours, the logo, the overridden
control), with no CSP violation either way."""

from __future__ import annotations

import pytest
from conftest import ROOT

from .conftest import new_page, start_demo

pytestmark = pytest.mark.browser

HARBOR = ROOT / "examples" / "themes" / "harbor"

# What the page looks like, read in the browser: computed styles and what the logo really is.
LOOK = """async () => {
  const css = (selector, property) => {
    const e = document.querySelector(selector);
    return e ? getComputedStyle(e).getPropertyValue(property).trim() : null;
  };
  const logo = document.querySelector("img.brand__logo");
  return {
    title: document.title,
    brandProperty: getComputedStyle(document.documentElement).getPropertyValue("--brand").trim(),
    buttonBackground: css(".button--primary", "background-color"),
    headerBackground: css(".brand", "background-color"),
    font: css("body", "font-family"),
    logoLoaded: logo.complete && logo.naturalWidth > 0,
    logoSource: await (await fetch(logo.src)).text(),
    switches: document.querySelectorAll('input[type="checkbox"][role="switch"]').length,
    checkboxes: document.querySelectorAll('input[type="checkbox"]').length,
    textField: document.querySelector('input[name="identifier"]').closest(".field").className,
    focused: document.activeElement && document.activeElement.name,
  };
}"""


async def look_of_sign_in_page(browser, base: str, shots, label: str) -> tuple[dict, list[str]]:
    page = await new_page(browser)
    await page.goto(base + "/login")
    await page.get_by_role("button", name="Sign in", exact=True).wait_for()
    await page.wait_for_load_state("networkidle")
    await shots.take(page, f"{label}-sign-in")
    look = await page.evaluate(LOOK)
    await page.goto(base + "/")
    await shots.take(page, f"{label}-home")
    return look, page.console_errors


async def test_the_example_theme_changes_logo_colours_and_one_control(aiohttp_server, aiohttp_client, browser, shots):
    default_base, _ = await start_demo(aiohttp_server, aiohttp_client, "127.0.0.1")
    themed_base, _ = await start_demo(aiohttp_server, aiohttp_client, "127.0.0.1", theme_dirs=(str(HARBOR),))
    default, default_errors = await look_of_sign_in_page(browser, default_base, shots, "default")
    themed, themed_errors = await look_of_sign_in_page(browser, themed_base, shots, "harbor")

    assert default_errors == [] and themed_errors == []  # no CSP violation: the theme's CSS and logo are 'self'

    # Colours, through the custom properties the theme's CSS sets.
    assert default["brandProperty"] == "#1662dd" and themed["brandProperty"] == "#0b6466"
    assert default["buttonBackground"] == "rgb(22, 98, 221)" and themed["buttonBackground"] == "rgb(11, 100, 102)"
    assert (
        themed["headerBackground"] == "rgb(11, 100, 102)" != default["headerBackground"]
    )  # a layout tweak: the header band
    assert "Georgia" in themed["font"] and "Georgia" not in default["font"]

    # The logo: the theme's own file under the same URL, loaded.
    assert default["logoLoaded"] and themed["logoLoaded"]
    assert 'data-theme="harbor"' in themed["logoSource"] and 'data-theme="harbor"' not in default["logoSource"]

    # One control overridden (checkboxes as switches); the text field is still the built-in one.
    assert default["switches"] == 0 and themed["switches"] == themed["checkboxes"] == 1
    assert default["textField"] == themed["textField"] == "field field--text"
    assert themed["title"].endswith("Harbor Credit Union") and not default["title"].endswith("Harbor Credit Union")

    # Both focus the username on load.
    assert default["focused"] == themed["focused"] == "identifier"


async def test_the_signed_out_home_page_links_are_styled_and_apart(demo, page, shots):
    base, _ = demo
    await page.goto(base + "/")
    links = page.locator(".journeys a")
    assert await links.count() == 3
    colours = await links.evaluate_all("links => links.map(a => getComputedStyle(a).color)")
    assert colours == ["rgb(22, 98, 221)"] * 3  # the brand colour, not the browser's default blue
    boxes = [await links.nth(i).bounding_box() for i in range(3)]
    for left, right in zip(boxes, boxes[1:], strict=False):
        same_line = abs(left["y"] - right["y"]) < 2
        assert not same_line or right["x"] - (left["x"] + left["width"]) >= 12  # they do not run together
    await shots.take(page, "home")
    assert page.console_errors == []


async def test_other_ways_to_sign_in_come_after_an_or_and_are_lighter(demo, page, shots):
    base, _ = demo
    await page.goto(base + "/login")
    primary = page.get_by_role("button", name="Sign in", exact=True)
    way = page.get_by_role("button", name="Sign in with Fake Social")
    await way.wait_for()
    assert await page.locator(".ways .divider").inner_text() == "or"
    primary_box, way_box = await primary.bounding_box(), await way.bounding_box()
    assert way_box["y"] > primary_box["y"]
    backgrounds = [await b.evaluate("b => getComputedStyle(b).backgroundColor") for b in (primary, way)]
    assert backgrounds == ["rgb(22, 98, 221)", "rgb(255, 255, 255)"]
    assert await page.get_by_role("button", name="Cancel").count() == 0
    await shots.take(page, "sign-in")
    assert page.console_errors == []
