"""axe-core (the npm package, pinned) on every kind of page, in every language (all 17), in headless
Chromium against the simulator: 0 serious or critical violations, the language chooser's menu open too.

People walk the journeys once, in English, as in the other browser tests; on each page reached the
audit shows the same page again in each language (`?lang=`, which re-renders the stored step with
no call upstream) and runs axe on it, then goes back to English to walk on. A failure lists the
violations per rule; AXE_REPORT=FILE writes that list to FILE even when there are none."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from embedded.locales import CODES

from .conftest import new_page
from .people import choose, enter_code, latest, press, visible_field

pytestmark = pytest.mark.browser

AXE_CORE = "axe-core@4.14.1"  # the same pin as the Makefile's
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedded" / "axe-core"
OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH", "network")
FAILING = ("serious", "critical")
# axe-core takes the joined letters of Arabic script for an icon font's ligatures (its
# isIconLigature; after three in one font, every text in that font), so on an Arabic page its
# contrast check may find no text to measure. The colours are the same in every language, and the
# other sixteen measure them.
JOINED_SCRIPT = {"ar"}
NEW_PASSWORD = "Tulip-Garden-77"


async def axe_source() -> str:
    """axe.min.js of the pinned version, installed into the cache on first use (`make test` installs it first)."""
    package = CACHE / "node_modules" / "axe-core"
    version = AXE_CORE.split("@")[1]
    if (
        not (package / "package.json").exists()
        or json.loads((package / "package.json").read_text())["version"] != version
    ):
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm not installed (make test installs it)")
        CACHE.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            npm,
            "install",
            "--prefix",
            str(CACHE),
            "--no-audit",
            "--no-fund",
            "--no-save",
            AXE_CORE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = (b.decode() for b in await asyncio.wait_for(proc.communicate(), 300))
        if proc.returncode != 0:
            if any(word in out + err for word in OFFLINE):
                pytest.skip(f"npm registry unreachable: {err.strip().splitlines()[-1:]}")
            raise AssertionError(f"npm install {AXE_CORE} failed:\n{out}\n{err}")
    return (package / "axe.min.js").read_text(encoding="utf-8")


def with_lang(url: str, code: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("lang="))
    return urlunsplit(parts._replace(query=(query + "&" if query else "") + f"lang={code}"))


@dataclass
class Audit:
    """Every violation axe finds, by page kind and language."""

    source: str
    violations: list[dict] = field(default_factory=list)

    async def check(self, page, kind: str, *, open_chooser: bool = False) -> None:
        """Run axe on this page in every language (with the language chooser's menu open when
        `open_chooser`: closed, its links are hidden and axe skips them), then come back to it in English."""
        url = page.url
        for code in CODES:
            await page.goto(with_lang(url, code))
            await page.wait_for_load_state()
            assert await page.locator("html").get_attribute("lang") == code, f"{kind}: ?lang={code} not shown"
            if open_chooser:
                await page.locator("summary.languages__current").click()
                assert await page.locator("a.languages__option").nth(len(CODES) - 1).is_visible(), kind
            await page.evaluate(self.source)  # page.evaluate is not subject to the page's CSP
            found = await page.evaluate("""async () => { const r = await axe.run(document);
                return {passed: r.passes.map(p => p.id),
                        violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))}; }""")
            # Proof the audit read the page itself: its text's contrast and its language were checked.
            checked = {"html-has-lang", "document-title"} | ({"color-contrast"} if code not in JOINED_SCRIPT else set())
            assert checked <= {*found["passed"], *(v["id"] for v in found["violations"])}, (kind, code)
            self.violations += [{**v, "page": kind, "lang": code} for v in found["violations"]]
        await page.goto(with_lang(url, "en"))
        await page.wait_for_load_state()

    def failing(self) -> list[dict]:
        return [v for v in self.violations if v["impact"] in FAILING]

    def summary(self) -> str:
        by_rule = Counter((v["id"], v["impact"]) for v in self.violations)
        lines = [f"{n:4d}  {rule} ({impact})" for (rule, impact), n in by_rule.most_common()]
        examples = {}
        for v in self.failing():
            examples.setdefault(
                v["id"], f"{v['id']} on {v['page']} [{v['lang']}]: {v['help']}\n    " + "\n    ".join(v["nodes"][:3])
            )
        return (
            "violations per rule (page kinds x languages):\n" + "\n".join(lines) + "\n\n" + "\n".join(examples.values())
        )

    def assert_clean(self) -> None:
        if report := os.environ.get("AXE_REPORT"):
            Path(report).write_text(self.summary())
        assert not self.failing(), self.summary()


@pytest.fixture
async def audit() -> Audit:
    return Audit(await axe_source())


def main(page):
    return page.get_by_role("main")


async def identify(page, base: str, username: str) -> None:
    await page.goto(base + "/login")
    await page.get_by_label("Username").fill(username)
    await press(page, "Sign in")


async def password(page, secret: str) -> None:
    await visible_field(page, "Password").fill(secret)
    await press(page, "Verify")


async def test_sign_in_pages_in_every_language(demo, browser, audit):
    """Home (signed out and in), 404, an error page, identify, password (and its error), the
    profile page, the email code, choosing a method, enrolling methods, consent, a terminal page."""
    base, sim = demo
    page = await new_page(browser)
    await page.goto(base + "/")
    await audit.check(page, "home signed out")
    await page.goto(base + "/no-such-page")
    await audit.check(page, "404")
    await page.goto(base + "/login/callback?state=nope&code=nope")
    await audit.check(page, "error page")

    await page.goto(base + "/login")
    await page.get_by_label("Username").wait_for()
    await audit.check(page, "identify")
    await page.get_by_label("Username").fill("alice@example.com")
    await press(page, "Sign in")
    await visible_field(page, "Password").wait_for()
    await audit.check(page, "password")
    await password(page, "not-her-password")
    await main(page).locator(".message--error").first.wait_for()
    await audit.check(page, "password, wrong")
    await password(page, "Alice-Passw0rd!")
    await page.wait_for_url(base + "/")
    await audit.check(page, "home signed in")
    await page.goto(base + "/profile")
    await audit.check(page, "profile")

    # bob: an email code after his password.
    page = await new_page(browser)
    await identify(page, base, "bob@example.com")
    await password(page, "Bob-Passw0rd!")
    await visible_field(page, "Enter code").wait_for()
    await audit.check(page, "email code")

    # quinn: six methods set up, one to choose.
    page = await new_page(browser)
    await identify(page, base, "quinn@example.com")
    await password(page, "Quinn-Passw0rd!")
    await main(page).get_by_role("radio").first.wait_for()
    await audit.check(page, "select authenticator (verify)")

    # frank: a method to choose and set up (security question, Google Authenticator, phone).
    page = await new_page(browser)
    await identify(page, base, "frank@example.com")
    await password(page, "Frank-Passw0rd!")
    methods = main(page).get_by_role("radio")
    await methods.first.wait_for()
    await audit.check(page, "select authenticator (enroll)")
    for name, kind in (
        ("Security Question", "enroll security question"),
        ("Google Authenticator", "enroll Google Authenticator"),
        ("Phone", "enroll phone"),
    ):
        await choose(page, name)
        await press(page, "Continue")
        await main(page).locator("form").first.wait_for()
        await audit.check(page, kind)
        await page.goto(base + "/login")  # start again at the choice
        await identify(page, base, "frank@example.com")
        await password(page, "Frank-Passw0rd!")
        await methods.first.wait_for()

    # connie: consent, then "Don't Allow" ends on a terminal page.
    page = await new_page(browser)
    await identify(page, base, "connie@example.com")
    await password(page, "Connie-Passw0rd!")
    await main(page).get_by_role("checkbox").first.wait_for()
    await audit.check(page, "consent")
    await press(page, "Don't allow")
    await main(page).get_by_role("heading", name=re.compile("continue", re.I)).wait_for()
    await audit.check(page, "terminal")
    audit.assert_clean()


async def test_the_open_language_chooser_in_every_language(demo, browser, audit):
    """The chooser's menu, open over the sign-in page at 390 px and at desktop size: its 17 links
    (each in its own language and direction) and the page under it pass axe in every language."""
    base, _ = demo
    for size in ({"width": 390, "height": 844}, {"width": 1280, "height": 800}):
        page = await new_page(browser)
        await page.set_viewport_size(size)
        await page.goto(base + "/login")
        await page.get_by_label("Username").wait_for()
        await audit.check(page, f"identify, language menu open ({size['width']} px)", open_chooser=True)
    audit.assert_clean()


async def test_journey_pages_in_every_language(demo, browser, audit, shots):
    """Registration, recovery (identify, email code, the reset form) and unlock."""
    base, sim = demo
    page = await new_page(browser)
    await page.goto(base + "/register")
    await page.get_by_label("First name").wait_for()
    await audit.check(page, "registration")

    await page.goto(base + "/recover")
    await page.get_by_label("Username").wait_for()
    await audit.check(page, "recovery")
    await page.get_by_label("Username").fill("alice@example.com")
    await press(page, "Continue")
    if await main(page).get_by_role("radio").count():
        await audit.check(page, "select authenticator (recovery)")
        await choose(page, "Email")
        await press(page, "Continue")
    await enter_code(page, (await latest(sim, "alice@example.com", "email"))["code"], shots)
    await main(page).get_by_role("heading", name=re.compile("new password", re.I)).wait_for()
    await audit.check(page, "reset password")

    page = await new_page(browser)
    await page.goto(base + "/unlock")
    await page.get_by_label("Username").wait_for()
    await audit.check(page, "unlock")
    audit.assert_clean()
