"""CAPTCHA over Okta's Sign-In Widget fixtures (../shared, read in place): the six responses
carrying a `captcha` object (hCaptcha and reCAPTCHA v2 on identify, registration and recovery)
become pages with the provider's widget, the CSP widened for that provider on that page only, and
a submission posting `captchaVerify` {captchaId, captchaToken} to the form's own href."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from conftest import post_step, shared, start

from embedded import captcha
from embedded.devices import csp_additions
from embedded.idx_models import parse
from embedded.page import build_page

FIXTURES = {
    "identify-with-password-with-hcaptcha.json": ("HCAPTCHA", "identify"),
    "identify-with-password-with-recaptcha-v2.json": ("RECAPTCHA_V2", "identify"),
    "enroll-profile-new-with-hcaptcha.json": ("HCAPTCHA", "enroll-profile"),
    "enroll-profile-new-with-recaptcha-v2.json": ("RECAPTCHA_V2", "enroll-profile"),
    "identify-recovery-with-hcaptcha.json": ("HCAPTCHA", "identify-recovery"),
    "identify-recovery-with-recaptcha-v2.json": ("RECAPTCHA_V2", "identify-recovery"),
}
TOKEN_FIELD = "captchaVerify.captchaToken"


@pytest.mark.parametrize("name", FIXTURES)
def test_the_captcha_is_parsed_and_put_on_the_page(name):
    raw = shared(name)
    kind, form = FIXTURES[name]
    response = parse(raw)
    assert response.captcha is not None and response.captcha.type == kind
    assert (
        response.captcha.site_key == raw["captcha"]["value"]["siteKey"]
        and response.captcha.id == raw["captcha"]["value"]["id"]
    )
    page = build_page(response)
    assert page.primary.name == form
    provider = captcha.PROVIDERS[kind]
    assert page.captcha == captcha.CaptchaWidget(
        type=kind,
        field=TOKEN_FIELD,
        site_key=response.captcha.site_key,
        provider=provider.api,
        script=provider.script,
        origins=provider.origins,
    )
    token = next(c for c in page.primary.controls if c.name == TOKEN_FIELD)
    assert token.kind == "hidden" and token.filled_by == "captcha"
    assert csp_additions(None, None, page.captcha)["frame-src"] == provider.origins


@pytest.mark.parametrize("name", FIXTURES)
async def test_the_page_shows_the_widget_and_sends_the_token(client, org, name):
    raw = shared(name)
    kind, _ = FIXTURES[name]
    provider = captcha.PROVIDERS[kind]
    html = await start(client, org, raw)
    assert f'data-provider="{provider.api}"' in html and f'data-sitekey="{raw["captcha"]["value"]["siteKey"]}"' in html
    assert re.search(
        rf'<script src="{re.escape(provider.script)}\?onload=embeddedCaptchaReady&amp;render=explicit&amp;hl=en" '
        r'nonce="[^"]+" defer>',
        html,
    )
    page = await client.get("/login/step")
    csp = page.headers["Content-Security-Policy"]
    frame_src = re.search(r"frame-src ([^;]*)", csp).group(1).split()
    assert frame_src == list(provider.origins) and "unsafe" not in csp
    fields = {TOKEN_FIELD: "provider-token-1"}
    fields.update(
        {"identifier": "alice@example.com"}
        if 'name="identifier"' in html
        else {"userProfile.firstName": "Cleo", "userProfile.lastName": "Check", "userProfile.email": "cleo@example.com"}
    )
    href = raw["remediation"]["value"][0]["href"]
    org.idx(urlsplit(href).path, shared("terminal-registration.json"))
    resp = await post_step(client, html, fields)
    assert resp.status == 303
    captcha_id = next(f for f in raw["remediation"]["value"][0]["value"] if f["name"] == "captchaVerify")["form"][
        "value"
    ][0]["value"]
    assert org.bodies(urlsplit(href).path)[-1]["captchaVerify"] == {
        "captchaId": captcha_id,
        "captchaToken": "provider-token-1",
    }
    after = await client.get("/login/step")
    assert "frame-src" not in after.headers["Content-Security-Policy"]  # the next page is back to the strict policy
