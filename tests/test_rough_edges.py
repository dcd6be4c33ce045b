"""The pages' rough edges a new user met (issue 14), each made right, through the app against the
simulator: the footer says only what is true, the 404 page leads home, the email code page shows
the address once, the password page says "password" twice (heading, label), the new-password form
keeps its two fields together after the rules, a new account is not told about past passwords,
sign-in methods read as words, the profile lists names above values, no "authenticator" jargon."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
from conftest import ROOT, demo_settings, serve

from embedded.locales import CODES
from embedded.simulator import SIMULATOR
from embedded.testing import Tab

FOOTER = "Sign-in through Okta Identity Engine."


@pytest.fixture
async def tab(aiohttp_client, simulator) -> Tab:
    return Tab(await serve(aiohttp_client, demo_settings(simulator.port)), prefix="")


def main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def footer(html: str) -> str:
    return re.search(r"<footer[^>]*>(.*?)</footer>", html, re.S).group(1).strip()


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def password_page(tab: Tab, login: str = "alice@example.com") -> Tab:
    await tab.get("/login")
    return await tab.submit(identifier=login)


async def test_the_footer_claims_no_sign_in_when_there_is_none(tab):
    for path in ("/", "/no-such-page"):
        await tab.get(path)
        assert footer(tab.html) == FOOTER, path
    await password_page(tab)
    await tab.submit(credentials__passcode="Alice-Passw0rd!")
    assert tab.path == "/" and footer(tab.html) == FOOTER


async def test_the_404_page_leads_home(tab):
    await tab.get("/no-such-page")
    assert tab.status == 404
    primary = re.findall(r'<a class="button button--primary" href="([^"]*)">([^<]*)</a>', tab.html)
    assert primary == [("/", "Home")]
    assert "Start again" not in tab.text


async def test_other_errors_still_offer_to_start_again(tab):
    await tab.get("/login/callback?state=nope&code=nope")
    assert tab.status >= 400
    assert re.search(r'<a class="button button--primary" href="/login">Start again</a>', tab.html)


async def test_the_email_code_page_shows_the_address_once(tab, simulator):
    await password_page(tab, "bob@example.com")
    await tab.submit(credentials__passcode="Bob-Passw0rd!")
    assert tab.template == "steps/challenge-authenticator--okta_email.html"
    text = words(main(tab.html))
    assert text.count("bob@example.com") == 1
    assert "b***b@example.com" not in text


async def test_the_password_page_says_password_in_its_heading_and_label_only(tab):
    await password_page(tab)
    page = main(tab.html)
    assert 'class="step__authenticator"' not in page and 'class="step__intro"' not in page
    before_form = words(page[: page.index("<form")])
    assert before_form.lower().count("password") == 1, before_form  # the heading
    assert re.search(r"<h1>\s*Enter your password</h1>", page)
    assert re.search(r'<label for="f-0-credentials-passcode"[^>]*>Password</label>', page)


async def reset_form(tab: Tab, simulator) -> Tab:
    await tab.get("/recover")
    await tab.submit(identifier="alice@example.com")
    return await tab.submit(credentials__passcode=await simulator_code(simulator, "alice@example.com"))


async def simulator_code(simulator, to: str) -> str:
    """The newest code the simulator emailed to `to`."""
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"http://127.0.0.1:{simulator.port}/outbox.json", params={"to": to}) as r,
    ):
        return (await r.json())[0]["code"]


async def test_a_wrong_password_is_shown_on_the_password_field(tab):
    """Okta says "Password is incorrect" for the whole response; the page says it on the field:
    the field is marked invalid, described by the message and focused, and the message is said
    once (no summary for a single field, nothing at the top)."""
    await password_page(tab)
    await tab.submit(credentials__passcode="not-her-password")
    field = re.search(r"<input[^>]*name=\"credentials.passcode\"[^>]*>", tab.html).group(0)
    field_id = re.search(r'id="([^"]+)"', field).group(1)
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1)
    assert 'aria-invalid="true"' in field and "autofocus" in field
    assert "error-summary" not in main(tab.html) and f'href="#{field_id}"' not in tab.html
    assert "Password is incorrect" in tab.html.split(f'id="{described.split()[0]}"', 1)[1].split("</ul>", 1)[0]
    assert main(tab.html).count("Password is incorrect") == 1  # on the field, not also at the top


async def test_the_new_password_form_keeps_the_two_fields_together(tab, simulator):
    """Rules first, then the new password and its confirmation, then "Sign me out of all other
    devices", then the button; also after a refused password."""
    await reset_form(tab, simulator)
    for _ in range(2):
        assert tab.template == "steps/reset-authenticator--okta_password.html"
        form = tab.html[tab.html.index('data-form="reset-authenticator"') :]
        order = [
            form.index(marker)
            for marker in (
                'id="password-rules"',
                'name="credentials.passcode"',
                'name="confirmPassword"',
                'name="credentials.revokeSessions"',
                'type="submit"',
            )
        ]
        assert order == sorted(order), order
        await tab.submit(
            credentials__passcode="short", confirmPassword="short"
        )  # refused: the same form, with the error
        assert 'aria-invalid="true"' in tab.html
        # Said once, with the org's own rule list after it (no rule it states is lost), and
        # the rules this password broke named
        said = re.findall(r"Password requirements were not met\. [^<]*", main(tab.html))
        assert len(said) == 1 and "Password requirements: at least 8 characters" in said[0]
        assert "Not met: Be at least 8 characters long" in main(tab.html)


async def test_two_different_new_passwords_are_refused_here_and_said_so(tab, simulator):
    """The mismatch is checked on the server too (a browser without JavaScript, or a crafted
    post): nothing goes to the Identity Engine, and the same form says why."""
    await reset_form(tab, simulator)
    calls = len(simulator.app[SIMULATOR].calls)
    version = tab.html.count("Sign me out")
    await tab.submit(credentials__passcode="Another-Passw0rd!", confirmPassword="Another-Passw0rd?")
    assert tab.template == "steps/reset-authenticator--okta_password.html" and tab.html.count("Sign me out") == version
    assert "The two passwords don't match." in main(tab.html).replace("&#39;", "'")
    assert len(simulator.app[SIMULATOR].calls) == calls  # no IDX call for it


async def test_a_new_account_is_not_told_about_past_passwords(tab, simulator):
    await tab.get("/register")
    assert tab.template == "steps/enroll-profile.html"
    assert 'id="password-rules"' in tab.html and "Be at least 8 characters long" in tab.text
    assert "last 4 passwords" not in tab.text
    await reset_form(tab, simulator)  # an existing account is
    assert "Be different from your last 4 passwords" in tab.text


async def test_the_home_page_names_the_sign_in_methods_in_words(tab):
    await password_page(tab)
    await tab.submit(credentials__passcode="Alice-Passw0rd!")
    amr = re.search(r'<dd data-claim="amr">([^<]*)</dd>', tab.html).group(1)
    assert amr == "Password"
    await tab.get("/?lang=fr")
    assert re.search(r'<dd data-claim="amr">([^<]*)</dd>', tab.html).group(1) == "Mot de passe"


async def test_the_profile_lists_each_claim_name_above_its_value(tab):
    await password_page(tab)
    await tab.submit(credentials__passcode="Alice-Passw0rd!")
    await tab.get("/profile")
    assert tab.status == 200 and "<table" not in tab.html
    assert re.search(r'<dt><code>email_verified</code></dt><dd data-claim="email_verified">', tab.html)


def catalogue(code: str) -> dict[str, str]:
    return json.loads((ROOT / "templates" / "messages" / f"{code}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("code", CODES)
def test_our_texts_say_security_method_not_authenticator(code):
    """Products keep their names (Google Authenticator) and Okta's own labels their words; our
    own texts never call a sign-in method an authenticator."""
    jargon = re.compile(r"authenti(?:c|fic)at(?:or|eur)|authentifizierung|autenticador|مصادق|認証アプリ", re.I)
    ours = {
        k: v for k, v in catalogue(code).items() if not k.startswith("field.security_key_or_biometric_authenticator")
    }
    found = {k: v for k, v in ours.items() if jargon.search(v.replace("Google Authenticator", ""))}
    assert found == {}


@pytest.mark.parametrize("code", CODES)
async def test_the_method_list_is_not_called_authenticator(tab, code):
    """frank chooses a method to set up: the list's legend (Okta's label "Authenticator") reads
    in the page's language, in English too ("Security method")."""
    await password_page(tab, "frank@example.com")
    await tab.submit(credentials__passcode="Frank-Passw0rd!")
    await tab.get("/login/step", lang=code)
    legend = re.search(r"<legend>([^<]*)</legend>", tab.html).group(1).strip()
    assert legend == catalogue(code)["field.authenticator"] and legend != "Authenticator"
