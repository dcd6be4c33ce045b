"""CAPTCHA through the app against the simulator with `[captcha]` on: the identify, registration
and recovery pages carry the token field and widen the CSP for the provider on that page only; a
solved check signs in and registers, a missing or forged token comes back as the Identity Engine's
error on the same page, never a 500; a type this package cannot show gets an honest page. Also the
widget's own template, and page building on the project's recorded captcha fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest
from conftest import demo_settings, post_step, serve

from embedded import captcha
from embedded.devices import csp_additions
from embedded.idx_models import parse
from embedded.page import CAPTCHA_UNSUPPORTED_TEMPLATE, build_page
from embedded.rendering import create_env, render
from embedded.simulator import SIMULATOR, create_simulator_app, demo_org
from embedded.simulator.org import org_from_toml

RECORDED = Path(__file__).resolve().parent / "fixtures" / "recorded-captcha"
TOKEN_FIELD = "captchaVerify.captchaToken"


def org_with(setting: str):
    org = demo_org()
    org.captcha = org_from_toml(setting).captcha
    return org


@pytest.fixture
async def hcaptcha_simulator(aiohttp_server):
    return await aiohttp_server(create_simulator_app(org_with('[captcha]\ntype = "HCAPTCHA"\n')))


@pytest.fixture
async def app(aiohttp_client, hcaptcha_simulator):
    return await serve(aiohttp_client, demo_settings(hcaptcha_simulator.port))


def origin(server) -> str:
    return f"http://127.0.0.1:{server.port}"


def sources(response, directive: str) -> str:
    m = re.search(rf"{directive} ([^;]*)", response.headers["Content-Security-Policy"])
    return m.group(1) if m else ""


def frame_sources(response) -> str:
    return sources(response, "frame-src")


async def solve(server, site_key: str) -> str:
    """The person ticks the provider's "I am human": the token its frame hands the page."""
    url = f"{origin(server)}/captcha/frame?sitekey={site_key}&parent=http://127.0.0.1:8080&widget=0"
    async with aiohttp.ClientSession() as http, http.post(url, data={"human": "yes"}) as r:
        page = await r.text()
    return json.loads(re.search(r"postMessage\((\{.*?\}), ", page).group(1))["token"]


def site_key(server) -> str:
    return server.app[SIMULATOR].org.captcha.site_key


async def test_the_identify_page_asks_and_only_it_allows_the_provider(app, hcaptcha_simulator):
    first = await app.get("/login")
    html = await first.text()
    assert first.status == 200
    assert re.search(
        rf'<input type="hidden" [^>]*name="{re.escape(TOKEN_FIELD)}" value="" data-filled-by="captcha">', html
    )
    assert origin(hcaptcha_simulator) in frame_sources(first)  # the provider's frame, on this page
    # ... and its scripts and styles (a real provider loads more than the one script we name)
    assert origin(hcaptcha_simulator) in sources(first, "script-src") and origin(hcaptcha_simulator) in sources(
        first, "style-src"
    )
    assert origin(hcaptcha_simulator) in sources(first, "connect-src")
    token = await solve(hcaptcha_simulator, site_key(hcaptcha_simulator))
    resp = await post_step(app, html, {"identifier": "alice@example.com", TOKEN_FIELD: token})
    password = await app.get(resp.headers["Location"])
    assert 'name="credentials.passcode"' in await password.text()
    assert origin(hcaptcha_simulator) not in "".join(
        sources(password, d) for d in ("frame-src", "connect-src", "script-src", "style-src")
    )  # nowhere else
    resp = await post_step(app, await password.text(), {"credentials.passcode": "Alice-Passw0rd!"})
    home = await app.get(resp.headers["Location"])
    assert "alice@example.com" in await home.text()


@pytest.mark.parametrize("token", ["", "P1_not-one-it-issued"])
async def test_a_missing_or_forged_token_is_refused_on_the_same_page(app, token):
    html = await (await app.get("/login")).text()
    resp = await post_step(app, html, {"identifier": "alice@example.com", TOKEN_FIELD: token})
    assert resp.status == 303
    again = await app.get(resp.headers["Location"])
    text = await again.text()
    assert again.status == 200 and "The CAPTCHA check failed. Try again." in text and 'role="alert"' in text
    assert f'name="{TOKEN_FIELD}"' in text and 'value="alice@example.com"' in text  # the same form, what she typed kept


async def test_the_refusal_reads_in_the_persons_language(app):
    app.session.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
    html = await (await app.get("/login")).text()
    resp = await post_step(app, html, {"identifier": "alice@example.com", TOKEN_FIELD: ""})
    text = await (await app.get(resp.headers["Location"])).text()
    assert "La vérification de sécurité a échoué. Réessayez." in text and "Vérification de sécurité" in text


async def test_a_token_is_good_once(app, hcaptcha_simulator):
    token = await solve(hcaptcha_simulator, site_key(hcaptcha_simulator))
    html = await (await app.get("/login")).text()
    await post_step(app, html, {"identifier": "alice@example.com", TOKEN_FIELD: token})
    app.session.cookie_jar.clear()
    html = await (await app.get("/login")).text()
    resp = await post_step(app, html, {"identifier": "alice@example.com", TOKEN_FIELD: token})
    assert "The CAPTCHA check failed." in await (await app.get(resp.headers["Location"])).text()


async def test_registration_with_the_check(app, hcaptcha_simulator):
    page = await app.get("/register")
    html = await page.text()
    assert 'name="userProfile.email"' in html and f'name="{TOKEN_FIELD}"' in html
    assert origin(hcaptcha_simulator) in frame_sources(page)
    profile = {
        "userProfile.firstName": "Cara",
        "userProfile.lastName": "Check",
        "userProfile.email": "cara.check@example.com",
        "credentials.passcode": "Green-Meadow-42x",
    }
    refused = await app.get((await post_step(app, html, profile)).headers["Location"])
    assert "The CAPTCHA check failed." in await refused.text()
    html = await refused.text()
    resp = await post_step(
        app, html, {**profile, TOKEN_FIELD: await solve(hcaptcha_simulator, site_key(hcaptcha_simulator))}
    )
    after = await app.get(resp.headers["Location"])
    assert after.status == 200 and 'name="userProfile.email"' not in await after.text()


async def test_recovery_from_the_password_page_asks_on_identify_recovery(aiohttp_client, aiohttp_server):
    org = org_with('[captcha]\ntype = "RECAPTCHA_V2"\nsteps = ["identify-recovery"]\n')
    org.first_form = "identifier_password"
    simulator = await aiohttp_server(create_simulator_app(org))
    app = await serve(aiohttp_client, demo_settings(simulator.port))
    first = await app.get("/login")
    assert origin(simulator) not in frame_sources(first)
    resp = await post_step(app, await first.text(), {}, action="currentAuthenticator-recover")
    page = await app.get(resp.headers["Location"])
    html = await page.text()
    assert f'name="{TOKEN_FIELD}"' in html and origin(simulator) in frame_sources(page)
    resp = await post_step(
        app, html, {"identifier": "alice@example.com", TOKEN_FIELD: await solve(simulator, site_key(simulator))}
    )
    chosen = await app.get(resp.headers["Location"])
    assert chosen.status == 200 and f'name="{TOKEN_FIELD}"' not in await chosen.text()


async def test_an_unknown_type_gets_an_honest_page_with_ways_on(aiohttp_client, aiohttp_server):
    simulator = await aiohttp_server(create_simulator_app(org_with('[captcha]\ntype = "ALTCHA"\n')))
    app = await serve(aiohttp_client, demo_settings(simulator.port))
    page = await app.get("/login")
    html = await page.text()
    assert page.status == 200 and "template: steps/captcha-unsupported.html" in html
    assert "Security check unavailable" in html and "(ALTCHA)" in html
    assert 'href="/login/hosted"' in html and 'href="/login"' in html and 'href="/"' in html  # never a dead end
    assert 'name="identifier"' not in html and "frame-src" not in page.headers["Content-Security-Policy"]
    french = await app.get("/login?lang=fr")
    assert "Vérification de sécurité indisponible" in await french.text()


async def test_without_the_setting_no_page_asks(aiohttp_client, simulator):
    app = await serve(aiohttp_client, demo_settings(simulator.port))
    page = await app.get("/login")
    assert TOKEN_FIELD not in await page.text() and "frame-src" not in page.headers["Content-Security-Policy"]


# --- the widget's template and the page model ----------------------------------------------------


def captcha_doc(kind: str, script_source: str | None = None, site_key: str = "site-key_1") -> dict:
    value = {"id": "cap1", "name": kind.title(), "siteKey": site_key, "type": kind}
    if script_source:
        value["scriptSource"] = script_source
    field = {
        "name": "captchaVerify",
        "form": {
            "value": [
                {"name": "captchaId", "required": True, "value": "cap1", "visible": False, "mutable": False},
                {"name": "captchaToken", "required": True, "visible": False, "hint": "captcha"},
            ]
        },
        "relatesTo": "$.captcha",
    }
    return {
        "version": "1.0.0",
        "stateHandle": "02x",
        "captcha": {"type": "object", "value": value},
        "remediation": {
            "type": "array",
            "value": [
                {
                    "rel": ["create-form"],
                    "name": "identify",
                    "href": "https://org/idp/idx/identify",
                    "value": [{"name": "identifier", "label": "Username"}, field],
                }
            ],
        },
    }


def widget_html(page, lang: str = "en", **context) -> str:
    return (
        create_env()
        .from_string('{% include "controls/captcha.html" %}')
        .render(page=page, csp_nonce="n0nce", lang=lang, **context)
    )


def test_the_widget_template_loads_the_providers_script_with_the_nonce():
    page = build_page(parse(captcha_doc("HCAPTCHA")))
    html = widget_html(page, "de")
    assert 'data-js="captcha"' in html and 'data-provider="hcaptcha"' in html and 'data-sitekey="site-key_1"' in html
    assert f'data-field="{TOKEN_FIELD}"' in html
    assert (
        '<script src="https://js.hcaptcha.com/1/api.js?onload=embeddedCaptchaReady&amp;render=explicit&amp;hl=de" '
        'nonce="n0nce" defer>'
    ) in html
    assert '<script src="/static/js/captcha.js" nonce="n0nce" defer>' in html
    assert "<script>" not in html and "onclick" not in html  # nothing inline


def test_the_widget_shows_only_in_the_form_holding_the_field():
    page = build_page(parse(captcha_doc("RECAPTCHA_V2")))
    assert 'data-js="captcha"' in widget_html(page, view=page.primary)
    other = type(page.primary)(id="1", name="select-enroll-profile", label="Sign up", method="POST", controls=())
    assert widget_html(page, view=other).strip() == ""


def test_the_page_model_reads_the_check():
    widget = build_page(parse(captcha_doc("RECAPTCHA_V2"))).captcha
    assert widget == captcha.CaptchaWidget(
        type="RECAPTCHA_V2",
        field=TOKEN_FIELD,
        site_key="site-key_1",
        provider="grecaptcha",
        script="https://www.google.com/recaptcha/api.js",
        origins=captcha.PROVIDERS["RECAPTCHA_V2"].origins,
    )
    extra = csp_additions(None, None, widget)
    assert extra["frame-src"] == extra["script-src"] == captcha.PROVIDERS["RECAPTCHA_V2"].origins


@pytest.mark.parametrize(
    ("script", "used"),
    [
        ("http://127.0.0.1:8081/captcha/hcaptcha/api.js", "http://127.0.0.1:8081"),  # a provider on this computer
        ("https://evil.example/api.js", None),  # anywhere else: the real provider's
        ("http://127.0.0.1:8081/x.js?onload=steal", None),
        ("javascript:alert(1)", None),
    ],
)
def test_a_script_source_is_taken_only_from_this_computer(script, used):
    widget = build_page(parse(captcha_doc("HCAPTCHA", script))).captcha
    if used:
        assert widget.script == script and widget.origins == (used,)
    else:
        assert (
            widget.script == captcha.PROVIDERS["HCAPTCHA"].script
            and widget.origins == captcha.PROVIDERS["HCAPTCHA"].origins
        )


@pytest.mark.parametrize(
    ("kind", "key"),
    [("ALTCHA", "k"), ("HCAPTCHA", "bad key with spaces"), ("hcaptcha'><script>", "k"), ("HCAPTCHA", "")],
)
def test_what_cannot_be_shown_is_said_so(kind, key):
    page = build_page(parse(captcha_doc(kind, site_key=key)))
    assert page.captcha is not None and not page.captcha.supported and page.captcha.field == TOKEN_FIELD
    assert page.templates[0] == CAPTCHA_UNSUPPORTED_TEMPLATE
    assert csp_additions(None, None, page.captcha) == {}
    assert "<script>" not in page.captcha.type


def test_a_form_without_the_field_asks_nothing():
    doc = captcha_doc("HCAPTCHA")
    doc["remediation"]["value"][0]["value"].pop()
    page = build_page(parse(doc))
    assert page.captcha is None and page.templates[0] != CAPTCHA_UNSUPPORTED_TEMPLATE


# --- the project's own recorded fixtures ----------------------------------------------------------


def recorded(journey: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RECORDED / journey).glob("*.json"))]


@pytest.mark.parametrize(
    ("journey", "kind", "form"),
    [
        ("identify-hcaptcha", "HCAPTCHA", "identify"),
        ("registration-recaptcha", "RECAPTCHA_V2", "enroll-profile"),
        ("recovery-hcaptcha", "HCAPTCHA", "identify-recovery"),
    ],
)
def test_pages_from_the_recorded_fixtures(journey, kind, form):
    docs = recorded(journey)
    asking = [d for d in docs if build_page(parse(d)).captcha is not None]
    assert asking, journey
    pages = [build_page(parse(d)) for d in asking]
    assert form in [p.primary.name for p in pages]
    for page in pages:
        assert page.primary.name in ("identify", "enroll-profile", "identify-recovery")
        assert page.captcha.type == kind and page.captcha.supported and page.captcha.field == TOKEN_FIELD
        # Recorded on the placeholder org, not this computer: the provider's own script.
        assert page.captcha.script == captcha.PROVIDERS[kind].script
    assert any(build_page(parse(d)).captcha is None for d in docs)  # past the check, no page asks


def test_the_recorded_unknown_type_gets_its_page():
    (doc,) = recorded("unknown-type-altcha")
    page = build_page(parse(doc))
    assert page.templates[0] == CAPTCHA_UNSUPPORTED_TEMPLATE
    html = render(create_env(), page.templates, {"page": page, "csp_nonce": "n"}, locale="de")
    assert "Sicherheitsprüfung nicht verfügbar" in html and "(ALTCHA)" in html and 'href="/login/hosted"' in html


def test_the_recorded_refusal_shows_the_error():
    docs = recorded("identify-hcaptcha")
    refused = [d for d in docs if any(m.key == "captcha.verification.failed" for m in parse(d).all_messages())]
    assert refused
    env = create_env()
    page = build_page(parse(refused[0]))
    html = render(env, page.templates, {"page": page, "csp_nonce": "n", "step_version": 1, "csrf_token": "t"})
    assert "The CAPTCHA check failed. Try again." in html and f'name="{TOKEN_FIELD}"' in html
