"""Issue 23, the pages: the two-step method chooser, the complete password rules, and the smaller
things, each through the app against the simulator (or the recorded corpus and Okta's fixtures)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import aiohttp
import pytest
from conftest import NO_SHARED, RECORDED, SHARED_FIXTURES, demo_settings, serve, shared_fixture_paths

from embedded import Settings, flow, forms, rendering
from embedded.idx_models import parse
from embedded.locales import CODES
from embedded.page import Chosen, breaks, build_page, known_names, password_rules
from embedded.simulator import SIMULATOR
from embedded.simulator.authenticators import password_problem
from embedded.simulator.org import demo_org
from embedded.testing import Tab

FRANK, DAVE, IRENE = "frank@example.com", "dave@example.com", "irene@example.com"


@pytest.fixture
async def tab(aiohttp_client, simulator) -> Tab:
    return Tab(await serve(aiohttp_client, demo_settings(simulator.port)), prefix="")


def main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def idx_calls(simulator) -> list[str]:
    return [path for _, path in simulator.app[SIMULATOR].calls if path.startswith("/idp/idx/")]


async def outbox(simulator, to: str) -> list[dict]:
    url = f"http://127.0.0.1:{simulator.port}/outbox.json"
    async with aiohttp.ClientSession() as s, s.get(url, params={"to": to}) as r:
        return await r.json()


async def frank_on_the_list(tab: Tab) -> Tab:
    await tab.get("/login")
    await tab.submit(identifier=FRANK)
    await tab.submit(credentials__passcode="Frank-Passw0rd!")
    assert tab.form().name == "select-authenticator-enroll"
    return tab


# --- the two-step method chooser ------------------------------------------------------------


async def test_the_list_shows_the_methods_only(tab):
    await frank_on_the_list(tab)
    form = tab.form()
    methods = list(form.options["authenticator"])  # each method's label: its name, then what it does
    assert [m.split()[0] for m in methods][:2] == ["Email", "Phone"] and any(
        m.startswith("Okta Verify") for m in methods
    )
    assert not [n for n in form.inputs if n.startswith("authenticator.")]  # no phone number on the list
    assert set(form.options) == {"authenticator"}  # no SMS/voice or QR/email/SMS radios either


async def test_choosing_a_method_costs_no_call_and_its_details_one(tab, simulator):
    """Phone: chosen on our page (no IDX call), then SMS or voice and the number, sent with the
    method in one call (the voice call to the typed number proves both arrived together)."""
    await frank_on_the_list(tab)
    before = len(idx_calls(simulator))
    await tab.submit(authenticator=tab.option("Phone"))
    assert len(idx_calls(simulator)) == before
    assert tab.template == "steps/method-details.html" and tab.url.endswith("/login/step?method")
    form = tab.form()
    assert set(form.options["authenticator.methodType"]) == {"SMS", "Voice call"}
    assert re.search(r'<input type="radio" [^>]*value="sms" checked', tab.html)  # the first way comes chosen
    assert re.search(r'<input type="tel" [^>]*name="authenticator.phoneNumber"[^>]*autocomplete="tel"', tab.html)
    assert 'href="/login/step?list"' in tab.html  # back to the list
    await tab.submit(authenticator__methodType="voice", authenticator__phoneNumber="+15550100177")
    assert idx_calls(simulator)[before:] == ["/idp/idx/credential/enroll"]
    assert tab.form().name == "enroll-authenticator" and "credentials.passcode" in tab.form().inputs
    assert (await outbox(simulator, "+15550100177"))[0]["kind"] == "voice"


async def test_the_back_link_returns_to_the_list_and_another_method_is_sent_at_once(tab, simulator):
    await frank_on_the_list(tab)
    await tab.submit(authenticator=tab.option("Okta Verify"))
    assert tab.template == "steps/method-details.html"
    assert set(tab.form().options["authenticator.channel"]) == {"QR code", "Email", "SMS"}
    before = len(idx_calls(simulator))
    await tab.get("/login/step?list")
    assert tab.template != "steps/method-details.html" and "authenticator" in tab.form().options
    await tab.submit(authenticator=tab.option("Email"))  # nothing more to ask: one call
    assert idx_calls(simulator)[before:] == ["/idp/idx/credential/enroll"]
    assert tab.form().name == "enroll-authenticator"


async def test_okta_verify_by_email_link_in_one_call(tab, simulator):
    await frank_on_the_list(tab)
    await tab.submit(authenticator=tab.option("Okta Verify"))
    before = len(idx_calls(simulator))
    await tab.submit(authenticator__channel="email")
    assert idx_calls(simulator)[before:] == ["/idp/idx/credential/enroll"]
    assert tab.form().name == "enrollment-channel-data" and "email" in tab.form().inputs


async def test_unlock_by_phone_carries_the_identifier_typed_on_the_list(tab, simulator):
    """Checklist 7: only the chooser form's own fields are kept with the choice, and sent with the
    details; the identifier typed on the list is one of them."""
    simulator.app[SIMULATOR].org.user(DAVE).status = "locked_out"
    await tab.get("/unlock")
    before = len(idx_calls(simulator))
    await tab.submit(identifier=DAVE, authenticator=tab.option("Phone"))
    assert len(idx_calls(simulator)) == before and tab.template == "steps/method-details.html"
    await tab.submit(authenticator__methodType="sms")
    assert len(idx_calls(simulator)) == before + 1
    code = (await outbox(simulator, "+15550100100"))[0]["code"]
    await tab.submit(credentials__passcode=code)
    assert simulator.app[SIMULATOR].org.user(DAVE).status == "active"


async def test_a_choice_made_before_the_step_moved_on_is_not_asked(tab, simulator):
    """Checklist 8: a held choice belongs to the step it was made on; ?method for another step,
    or with nothing held, shows the step as it is."""
    await tab.get("/login/step?method")
    assert tab.template != "steps/method-details.html"  # no transaction yet: the first page
    await frank_on_the_list(tab)
    await tab.get("/login/step?method")
    assert tab.template != "steps/method-details.html"
    await tab.submit(authenticator=tab.option("Phone"))
    await tab.get("/login/step?list")
    await tab.submit(authenticator=tab.option("Email"))  # the step moves on
    await tab.get("/login/step?method")
    assert tab.template != "steps/method-details.html"


async def test_a_method_the_form_never_offered_is_refused_without_a_call(tab, simulator):
    await frank_on_the_list(tab)
    before = len(idx_calls(simulator))
    await tab.submit(authenticator="99")
    assert len(idx_calls(simulator)) == before and tab.status == 200
    assert "Choose one of the options." in tab.text


def recorded(name: str):
    return parse(json.loads((RECORDED.directory / name).read_text()))


def test_one_method_with_details_and_nothing_else_shows_its_details_at_once():
    raw = json.loads((RECORDED.directory / "enroll-email" / "03-challenge-answer.json").read_text())
    chooser = raw["remediation"]["value"][0]["value"][0]
    chooser["options"] = [o for o in chooser["options"] if o["label"] == "Phone"]
    raw["remediation"]["value"] = raw["remediation"]["value"][:1]
    page = build_page(parse(raw))
    assert page.details is not None and page.details.back is False and page.details.choice.label == "Phone"
    assert [c.name for c in page.details.view.controls] == ["authenticator.methodType", "authenticator.phoneNumber"]
    assert flow.sole_choice(parse(raw)) is None  # not chosen for them: the number is theirs to give
    listing = build_page(parse(raw), listing=True)
    assert listing.details is None and listing.primary.controls[0].choices[0].controls == ()


def test_a_method_the_identity_engine_found_fault_with_shows_its_details_and_the_message():
    raw = json.loads((RECORDED.directory / "enroll-email" / "03-challenge-answer.json").read_text())
    phone = next(o for o in raw["remediation"]["value"][0]["value"][0]["options"] if o["label"] == "Phone")
    number = next(f for f in phone["value"]["form"]["value"] if f["name"] == "phoneNumber")
    number["messages"] = {"type": "array", "value": [{"message": "Invalid Phone Number.", "class": "ERROR"}]}
    page = build_page(parse(raw))
    assert page.details is not None and page.details.choice.label == "Phone" and page.details.back
    field = next(c for c in page.details.view.controls if c.name == "authenticator.phoneNumber")
    assert [m.text for m in field.messages] == ["Invalid Phone Number."]
    assert build_page(parse(raw), listing=True).details is None  # the back link's list


def test_a_submission_carrying_the_details_goes_at_once():
    form = recorded("enroll-email/03-challenge-answer.json").remediations[0]
    assert flow.method_to_hold(form, {"authenticator": ["1"]}) == 1
    assert flow.method_to_hold(form, {"authenticator": ["1"], "authenticator.phoneNumber": ["+15550100177"]}) is None
    assert flow.method_to_hold(form, {"authenticator": ["0"]}) is None  # email: nothing to ask
    body = forms.to_body(form, {"authenticator": ["1"], "authenticator.phoneNumber": ["+15550100177"]})
    assert body["authenticator"]["phoneNumber"] == "+15550100177" and body["authenticator"]["id"]


def chooser_details(document) -> list[tuple[str, object]]:
    """(what, page) for every method of every chooser in `document` that asks for details."""
    response = parse(document)
    out = []
    for index, form in enumerate(response.remediations):
        for f in (f for f in form.fields if forms.is_chooser(f)):
            for option_index, option in enumerate(f.options):
                if forms.details_asked(option):
                    page = build_page(response, chosen=Chosen(str(index), option_index))
                    out.append((f"{form.name} #{index} option {option.label!r}", page, option))
    return out


def details_sources() -> list[Path]:
    own = sorted(RECORDED.directory.glob("*/*.json"))
    return own + (shared_fixture_paths() if SHARED_FIXTURES.is_dir() else [])


def test_every_method_s_details_view_shows_every_field_and_option():
    """The complement of the render tests' "every visible control": a method's own fields are on
    its details view, every one with its options, for the corpus and Okta's fixtures."""
    env, seen = rendering.create_env(), 0
    for path in details_sources():
        document = json.loads(path.read_text())
        if not isinstance(document, dict) or "remediation" not in document:
            continue
        for what, page, option in chooser_details(document):
            names, context = rendering.step_context(parse(document), flow.ShowForm(page), version=1)
            html = rendering.render(env, names, {**context, "csrf_token": "t", "csp_nonce": "n", "notices": []})
            assert "<!-- template: steps/method-details.html -->" in html, (path.name, what)
            for g in forms.details_asked(option):
                assert f'name="authenticator.{g.name}"' in html, (path.name, what, g.name)
                for o in g.options:
                    assert o.label in html, (path.name, what, o.label)
            seen += 1
    assert seen >= 6


@pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason=NO_SHARED)
def test_okta_s_fixtures_have_methods_with_details():
    assert any(
        chooser_details(json.loads(p.read_text()))
        for p in shared_fixture_paths()
        if p.name.startswith("authenticator-enroll")
    )


# --- the password rules ---------------------------------------------------------------------


async def irene_on_the_new_password(tab: Tab, password: str = "Irene-Passw0rd!") -> Tab:
    await tab.get("/login")
    await tab.submit(identifier=IRENE)
    await tab.submit(credentials__passcode=password)
    assert tab.form().name == "reenroll-authenticator"
    return tab


def rules(html: str) -> str:
    return re.search(r'<div class="rules" id="password-rules">.*?</ul>', html, re.S).group(0)


async def test_the_checklist_has_history_minimum_age_and_the_names(tab, simulator):
    simulator.app[SIMULATOR].org.password.min_age_minutes = 90
    await irene_on_the_new_password(tab)
    checklist = rules(tab.html)
    assert "Be different from your last 4 passwords" in checklist
    assert "Not be changed more often than every 1.5 hours" in checklist
    assert re.search(r'data-rule="excludeAttribute" data-value="firstName" data-known="Irene"', checklist)
    assert re.search(r'data-rule="excludeAttribute" data-value="lastName" data-known="Ito"', checklist)
    await tab.get("/logout")
    await tab.get("/register")  # a new account: no history, no minimum age; names read from its own fields
    checklist = rules(tab.html)
    assert "last 4 passwords" not in checklist and "more often" not in checklist
    assert re.search(r'data-rule="excludeAttribute" data-value="firstName" data-known=""', checklist)


async def test_a_refused_password_keeps_the_server_s_rules_and_says_which_it_broke(tab):
    await irene_on_the_new_password(tab)
    await tab.submit(credentials__passcode="irene1234", confirmPassword="irene1234")
    page = main(tab.html)
    assert "Your password cannot be any of your last 4 passwords." in page  # the server's list, whole
    assert "at least 8 characters" in page and "does not include your first name" in page
    assert "Not met: Include an uppercase letter; Not include your username; Not include your first name." in page
    broken = re.findall(r'<li class="rule rule--broken" data-rule="(\w+)" data-value="(\w+)"', page)
    assert broken == [("minUpperCase", "1"), ("excludeUsername", "1"), ("excludeAttribute", "firstName")]
    assert "irene1234" not in tab.html  # checklist 39: never refilled
    await tab.get("/login/step?lang=de")  # said again in another language, until the next answer
    assert main(tab.html).count("rule--broken") == 3 and "Your password cannot be any of your last 4" in tab.html
    await tab.get("/login/step?lang=en")
    await tab.submit(credentials__passcode="x", confirmPassword="y")  # refused here: mismatch, nothing sent
    assert "rule--broken" not in tab.html


async def test_a_password_refused_for_a_rule_only_the_org_checks_says_so(tab, simulator):
    """Checklist 44: the server compares the typed password with the rules, and keeps only their names."""
    simulator.app[SIMULATOR].org.user(IRENE).password = "Quiet-Harbor-91"
    await irene_on_the_new_password(tab, "Quiet-Harbor-91")
    await tab.submit(credentials__passcode="Quiet-Harbor-91", confirmPassword="Quiet-Harbor-91")
    assert (
        "It meets the rules this page can check, so it breaks one only your organization checks: "
        "Be different from your last 4 passwords." in main(tab.html)
    )
    assert "rule--broken" not in tab.html


def messages_with(node, key: str) -> list[dict]:
    if isinstance(node, dict):
        own = [node] if isinstance(node.get("i18n"), dict) and node["i18n"].get("key") == key else []
        return own + [m for v in node.values() for m in messages_with(v, key)]
    if isinstance(node, list):
        return [m for v in node for m in messages_with(v, key)]
    return []


def render_page(document, lang: str) -> str:
    response = parse(document)
    names, context = rendering.step_context(response, flow.decide(response), version=1)
    html = rendering.render(
        rendering.create_env(), names, {**context, "csrf_token": "t", "csp_nonce": "n", "notices": []}, locale=lang
    )
    return " ".join(re.sub(r"<[^>]+>", " ", main(html)).split())


@pytest.mark.parametrize("lang", CODES)
def test_no_rule_number_the_server_states_is_lost_in_any_language(lang):
    """Every fixture whose "Password requirements were not met" we word ourselves: each number in
    the server's rule list (8 characters, last 4 passwords) is still on the page."""
    found = 0
    for path in details_sources():
        document = json.loads(path.read_text())
        refused = messages_with(document, "password.passwordRequirementsNotMet")
        for m in refused:
            stated = " ".join(str(p) for p in m["i18n"].get("params") or []) or m["message"]
            shown = render_page(document, lang)
            for number in re.findall(r"\d+", stated):
                assert re.search(rf"\b{number}\b", shown), (path.name, lang, number)
            assert stated.strip() in shown, (path.name, lang)  # the rule list as the server stated it
            found += 1
    assert found >= (2 if SHARED_FIXTURES.is_dir() else 1)


@pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason=NO_SHARED)
def test_okta_s_own_refusal_is_among_them():
    assert messages_with(
        json.loads((SHARED_FIXTURES / "error-authenticator-reset-password-requirement.json").read_text()),
        "password.passwordRequirementsNotMet",
    )


@pytest.mark.parametrize(
    "password",
    [
        "short",
        "alllowercase1",
        "ALLUPPER1",
        "NoDigits-here",
        "Quiet-Harbor-91",
        "Alice-Passw0rd!",
        "has-example-9A",
        "Anders-Passw0rd",
        "Éclair-Quiet-91",
        "x" * 64 + "A1",
    ],
)
def test_the_server_check_agrees_with_the_simulator_s_policy(password):
    """page.breaks (which password.js mirrors) against the simulator's own check of the demo
    policy for alice: refused by one exactly when refused by the other (history apart)."""
    org = demo_org()
    alice = org.user("alice@example.com")
    response = recorded("password-expired/04-challenge-answer.json")
    rules = password_rules(response.current_authenticator or response.current_enrollment, None, "reset-authenticator")
    names = {"username": alice.login, "firstName": alice.first_name, "lastName": alice.last_name}
    ours = any(breaks(r, password, names) for r in rules if r.checkable)
    theirs = password_problem(org, alice, password)
    assert ours == (theirs is not None and theirs[0] == "requirements")


def test_rules_from_odd_settings_are_left_out_never_a_failure():
    response = recorded("password-expired/04-challenge-answer.json")
    a = response.current_authenticator or response.current_enrollment
    odd = a.__class__(
        **{
            **a.__dict__,
            "settings": {
                "complexity": {"minLength": "8", "minNumber": True, "excludeAttributes": "firstName"},
                "age": [],
            },
        }
    )
    assert password_rules(odd, None, "reset-authenticator") == ()
    names = known_names(
        {"identifier": 7, "profile": []}, {"userProfile.email": ["a@b.example"], "userProfile.firstName": ["Zed"]}
    )
    assert names == {"username": "a@b.example", "firstName": "Zed", "lastName": ""}


# --- the smaller things ---------------------------------------------------------------------


def reveal_buttons(html: str) -> list[str]:
    return re.findall(r'<button type="button" class="reveal"[^>]*>', html)


async def test_password_fields_have_a_show_hide_button_that_needs_script(tab):
    """Checklist 32: the button is shown by a static script carrying the page's nonce; without it
    the field is an ordinary password field (the button is hidden). One name, its state pressed or not."""
    await tab.get("/login")
    await tab.submit(identifier="alice@example.com")
    resp = await tab.client.get("/login/step")
    html, csp = await resp.text(), resp.headers["Content-Security-Policy"]
    buttons = reveal_buttons(html)
    assert len(buttons) == 1 and 'aria-pressed="false"' in buttons[0] and " hidden" in buttons[0]
    field_id = re.search(r'<input type="password" id="([^"]+)"', html).group(1)
    assert f'data-reveal="{field_id}"' in buttons[0] and f'aria-controls="{field_id}"' in buttons[0]
    assert re.search(r'<span class="visually-hidden">Show password</span>\s*</button>', html)
    nonce = re.search(r'<script src="/static/js/reveal.js" nonce="([^"]+)"></script>', html).group(1)
    assert f"'nonce-{nonce}'" in csp and "unsafe-inline" not in csp
    assert (await tab.client.get("/static/js/reveal.js")).status == 200
    await tab.get("/")
    assert "reveal.js" not in tab.html  # no password field, no script


async def test_the_new_password_and_its_confirmation_both_have_the_button(tab):
    await irene_on_the_new_password(tab)
    targets = [re.search(r'data-reveal="([^"]+)"', b).group(1) for b in reveal_buttons(tab.html)]
    assert targets == ["f-0-credentials-passcode", "f-confirm-password"]


async def test_the_registration_email_is_an_email_field(tab):
    await tab.get("/register")
    email = re.search(r'<input [^>]*name="userProfile.email"[^>]*>', tab.html).group(0)
    assert 'type="email"' in email and 'inputmode="email"' in email and 'autocomplete="email"' in email


def test_tel_and_email_inputs_are_styled_like_text():
    css = (rendering.STATIC_DIR / "css" / "embedded.css").read_text()
    rule = re.search(r"([^{}]*)\{\s*width: 100%; padding: \.6rem \.7rem;", css).group(1)
    assert "input[type=tel]" in rule and "input[type=email]" in rule and "input[type=text]" in rule


async def test_an_empty_registration_flags_every_required_field(tab):
    await tab.get("/register")
    required = re.findall(r'<label for="[^"]+" class="label--required">', tab.html)
    await tab.submit()  # as a browser that runs no checks
    invalid = re.findall(r'<input [^>]*name="([^"]+)"[^>]*aria-invalid="true"', tab.html)
    assert len(invalid) == len(required) >= 4, invalid
    summary = re.search(r'<div class="error-summary" role="alert">.*?</div>', tab.html, re.S).group(0)
    assert summary.count("<li>") == len(invalid)
    # The Identity Engine named the first; the page the others, in the same words.
    assert main(tab.html).count("This field is required.") == 2 * len(invalid)  # on each field and in the summary


async def test_the_reset_page_does_not_offer_keep_me_signed_in(tab):
    await tab.get("/login")
    assert "Keep me signed in" in tab.text and "rememberMe" in tab.form().checkboxes
    await tab.get("/recover")
    assert tab.form().name == "identify" and "Keep me signed in" not in tab.text
    assert "rememberMe" not in tab.form().checkboxes


async def test_a_single_field_error_is_said_once(tab):
    await tab.get("/login")
    await tab.submit(identifier="alice@example.com")
    await tab.submit(credentials__passcode="not-her-password")
    page = main(tab.html)
    assert page.count("Password is incorrect") == 1 and "error-summary" not in page
    field = re.search(r'<input type="password"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field and "autofocus" in field and "-messages" in field


async def test_the_method_and_the_address_share_one_line(tab):
    await tab.get("/login")
    await tab.submit(identifier="bob@example.com")
    await tab.submit(credentials__passcode="Bob-Passw0rd!")
    assert re.search(
        r'<p class="step__who"><span class="step__authenticator">Email</span>'
        r'<span class="step__user">bob@example.com</span></p>',
        tab.html,
    )


async def test_the_demo_home_lists_methods_not_how_many(tab, simulator):
    await tab.get("/login")
    await tab.submit(identifier="bob@example.com")
    await tab.submit(credentials__passcode="Bob-Passw0rd!")
    code = (await outbox(simulator, "bob@example.com"))[0]["code"]
    await tab.submit(credentials__passcode=code)
    methods = re.search(r'<dd data-claim="amr">([^<]*)</dd>', tab.html).group(1)
    assert methods == "Password, Email" and "More than one method" not in tab.html


async def test_the_app_names_itself_in_every_language(aiohttp_client, simulator):
    settings = demo_settings(simulator.port)
    named = Tab(await serve(aiohttp_client, dataclasses.replace(settings, app_name="Harbor Bank")), prefix="")
    for lang in ("en", "fr", "ja"):
        await named.get("/login", lang=lang)
        assert re.search(r"<title>[^<]* · Harbor Bank</title>", named.html) and "My App" not in named.html
        assert re.search(r'class="brand__home"[^>]*>.*?Harbor Bank</a>', named.html, re.S)
    plain = Tab(await serve(aiohttp_client, settings), prefix="")
    await plain.get("/login")
    assert "My App" in plain.html
    assert Settings.from_env({**ENV, "EMBEDDED_APP_NAME": " Harbor Bank "}).app_name == "Harbor Bank"
    assert Settings.from_env(ENV).app_name is None


ENV = {
    "OKTA_IDX_ISSUER": "https://org.example/oauth2/default",
    "OKTA_IDX_CLIENTID": "c",
    "OKTA_IDX_REDIRECTURI": "https://app.example/login/callback",
}
