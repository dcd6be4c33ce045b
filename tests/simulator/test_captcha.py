"""The simulator's CAPTCHA: the `[captcha]` setting, the `captcha` object and `captchaVerify` field
on identify, registration and recovery, the fake provider's script and frame, and tokens checked
once each when the form is answered."""

from __future__ import annotations

import json
import re

import pytest

from embedded.simulator import SIMULATOR, create_simulator_app
from embedded.simulator.org import OrgError, demo_org, describe_org, org_from_toml

from .conftest import Idx, remediation

PARENT = "http://127.0.0.1:5000"


@pytest.fixture
def org():
    org = demo_org()
    org.captcha = org_from_toml('[captcha]\ntype = "HCAPTCHA"\n').captcha
    return org


def captcha_verify(doc: dict, form: str) -> dict:
    return next(f for f in remediation(doc, form)["value"] if f["name"] == "captchaVerify")


async def solve(client, doc: dict) -> str:
    """What the person does in the provider's frame: tick "I am human"; the token the frame posts
    to the page."""
    site_key = doc["captcha"]["value"]["siteKey"]
    url = f"/captcha/frame?sitekey={site_key}&parent={PARENT}&widget=0"
    shown = await client.get(url)
    assert shown.status == 200 and "I am human" in await shown.text()
    assert "frame-ancestors" in shown.headers["Content-Security-Policy"]
    answered = await client.post(url, data={"human": "yes"})
    page = await answered.text()
    message = json.loads(re.search(r"postMessage\((\{.*?\}), ", page).group(1))
    assert re.search(r'postMessage\(\{.*\}, "http://127.0.0.1:5000"\)', page)  # to the page's origin only
    return message["token"]


def answer(doc: dict, token: str | None) -> dict:
    captcha_id = doc["captcha"]["value"]["id"]
    return {"captchaVerify": {"captchaId": captcha_id, **({"captchaToken": token} if token is not None else {})}}


async def test_the_first_page_carries_the_captcha_as_okta_sends_it(idx):
    doc = await idx.start()
    captcha = doc["captcha"]["value"]
    assert captcha["type"] == "HCAPTCHA" and captcha["name"] == "hCaptcha" and captcha["siteKey"] and captcha["id"]
    assert captcha["scriptSource"].endswith("/captcha/hcaptcha/api.js")
    field = captcha_verify(doc, "identify")
    assert field["relatesTo"] == "$.captcha"
    inner = {f["name"]: f for f in field["form"]["value"]}
    assert inner["captchaId"] == {
        "name": "captchaId",
        "required": True,
        "value": captcha["id"],
        "mutable": False,
        "visible": False,
    }
    assert (
        inner["captchaToken"]["hint"] == "captcha"
        and inner["captchaToken"]["visible"] is False
        and "value" not in inner["captchaToken"]
    )


async def test_a_solved_check_lets_identify_through_once(client, idx):
    doc = await idx.start()
    token = await solve(client, doc)
    await idx.submit("identify", identifier="alice@example.com", **answer(doc, token))
    assert idx.status == 200 and "challenge-authenticator" in [r["name"] for r in idx.doc["remediation"]["value"]]
    assert "captcha" not in idx.doc  # only the forms that ask for it carry it

    again = Idx(client)
    second = await again.start()
    await again.submit("identify", identifier="alice@example.com", **answer(second, token))  # a used token
    assert again.status == 400
    assert [m["i18n"]["key"] for m in again.doc["messages"]["value"]] == ["captcha.verification.failed"]


@pytest.mark.parametrize("token", [None, "", "P1_forged", 42])
async def test_a_missing_or_forged_token_gets_the_error_and_the_same_form(idx, token):
    doc = await idx.start()
    body = answer(doc, None)
    if token is not None:
        body["captchaVerify"]["captchaToken"] = token
    await idx.submit("identify", identifier="alice@example.com", **body)
    assert idx.status == 400
    assert idx.doc["messages"]["value"][0]["message"] == "The CAPTCHA check failed. Try again."
    assert captcha_verify(idx.doc, "identify")  # asked again, nothing else happened


async def test_a_token_names_its_check(client, idx):
    doc = await idx.start()
    token = await solve(client, doc)
    body = answer(doc, token)
    body["captchaVerify"]["captchaId"] = "cap-someone-else"
    await idx.submit("identify", identifier="alice@example.com", **body)
    assert idx.status == 400


async def test_registration_asks_too(client, idx):
    doc = await idx.start()
    doc = await idx.submit("select-enroll-profile")
    assert captcha_verify(doc, "enroll-profile") and doc["captcha"]["value"]["type"] == "HCAPTCHA"
    assert all(f["name"] != "captchaVerify" for f in remediation(doc, "select-identify")["value"])
    profile = {
        "userProfile": {"firstName": "Cap", "lastName": "Tcha", "email": "cap.tcha@example.com"},
        "credentials": {"passcode": "Quiet-Harbor-77"},
    }
    await idx.submit("enroll-profile", **profile)
    assert idx.status == 400 and idx.doc["messages"]["value"][0]["i18n"]["key"] == "captcha.verification.failed"
    await idx.submit("enroll-profile", **profile, **answer(doc, await solve(client, doc)))
    assert idx.status == 200 and "enroll-profile" not in [r["name"] for r in idx.doc["remediation"]["value"]]


async def test_recovery_from_the_first_page_asks_on_identify_recovery(org, aiohttp_client):
    org.first_form = "identifier_password"
    other = Idx(await aiohttp_client(create_simulator_app(org)))
    doc = await other.start()
    doc = await other.post_href(doc["currentAuthenticator"]["value"]["recover"]["href"], {})
    assert captcha_verify(doc, "identify-recovery")
    await other.submit("identify-recovery", identifier="bob@example.com")
    assert other.status == 400
    await other.submit("identify-recovery", identifier="bob@example.com", **answer(doc, await solve(other.client, doc)))
    assert other.status == 200 and "identify-recovery" not in [r["name"] for r in other.doc["remediation"]["value"]]


@pytest.mark.parametrize(("provider", "global_name"), [("hcaptcha", "hcaptcha"), ("recaptcha", "grecaptcha")])
async def test_the_fake_providers_scripts_have_the_real_api_shape(client, provider, global_name):
    r = await client.get(f"/captcha/{provider}/api.js", params={"onload": "pageReady"})
    text = await r.text()
    assert r.status == 200 and r.content_type == "application/javascript"
    assert f"window.{global_name} = {{render: render, reset: reset, getResponse: getResponse}}" in text
    assert 'var ready = "pageReady";' in text


async def test_the_frame_refuses_a_foreign_site_key_and_a_page_that_does_not_say_who_it_is(client):
    assert (await client.get(f"/captcha/frame?sitekey=nope&parent={PARENT}")).status == 400
    r = await client.get(
        "/captcha/frame",
        params={"sitekey": client.server.app[SIMULATOR].org.captcha.site_key, "parent": "javascript:alert(1)"},
    )
    assert r.status == 400


def test_the_setting_is_off_by_default_and_checked():
    assert demo_org().captcha is None and "CAPTCHA" not in describe_org(demo_org())
    org = org_from_toml('[captcha]\ntype = "RECAPTCHA_V2"\nsteps = ["enroll-profile"]\n')
    assert org.captcha.type == "RECAPTCHA_V2" and org.captcha.steps == ["enroll-profile"]
    assert "CAPTCHA (RECAPTCHA_V2, the simulator's fake provider) on: enroll-profile" in describe_org(org)
    with pytest.raises(OrgError, match="steps"):
        org_from_toml('[captcha]\nsteps = ["challenge-authenticator"]\n')
    with pytest.raises(OrgError, match=r"\[captcha\]"):
        org_from_toml('[captcha]\nsite = "x"\n')


async def test_only_the_steps_named_ask(aiohttp_client):
    org = demo_org()
    org.captcha = org_from_toml('[captcha]\ntype = "RECAPTCHA_V2"\nsteps = ["enroll-profile"]\n').captcha
    idx = Idx(await aiohttp_client(create_simulator_app(org)))
    doc = await idx.start()
    assert "captcha" not in doc and all(f["name"] != "captchaVerify" for f in remediation(doc, "identify")["value"])
    doc = await idx.submit("select-enroll-profile")
    assert doc["captcha"]["value"]["type"] == "RECAPTCHA_V2" and doc["captcha"]["value"]["scriptSource"].endswith(
        "/captcha/recaptcha/api.js"
    )


async def test_a_type_the_fake_provider_does_not_play_is_announced_without_a_script(aiohttp_client):
    org = demo_org()
    org.captcha = org_from_toml('[captcha]\ntype = "ALTCHA"\n').captcha
    idx = Idx(await aiohttp_client(create_simulator_app(org)))
    doc = await idx.start()
    assert doc["captcha"]["value"]["type"] == "ALTCHA" and "scriptSource" not in doc["captcha"]["value"]
