"""The redirect model: /v1/authorize, the simulator's own sign-in pages, and the authorization code
exchanged at /v1/token with the PKCE verifier."""

from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import jwt
import pytest

import embedded.simulator.engine as engine_module
from embedded.simulator import create_simulator_app, demo_org, totp
from embedded.simulator.hosted import COOKIE

from .conftest import CLIENT, REDIRECT, pkce_pair

AUTHORIZE = "/oauth2/default/v1/authorize"
TOKEN = "/oauth2/default/v1/token"


class Forms(HTMLParser):
    """The parts of a page a test uses: the h1, the text of messages, each form's inputs and buttons."""

    def __init__(self, html: str):
        super().__init__()
        self.h1, self.text, self.forms = "", [], []
        self._in_h1 = self._in_button = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h1":
            self._in_h1 = True
        elif tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "inputs": {}, "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"][a.get("name")] = a
        elif tag == "select" and self.forms:
            self.forms[-1]["inputs"][a.get("name")] = {"type": "select", **a}
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append({"name": a.get("name"), "value": a.get("value"), "text": ""})
            self._in_button = True

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False
        elif tag == "button":
            self._in_button = False

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data.strip()
        elif self._in_button:
            self.forms[-1]["buttons"][-1]["text"] += data.strip()
        elif data.strip():
            self.text.append(data.strip())

    def button(self, text: str) -> tuple[dict, dict]:
        for form in self.forms:
            for b in form["buttons"]:
                if b["text"] == text:
                    return form, b
        raise AssertionError(
            f"no button {text!r} on {self.h1!r}: {[b['text'] for f in self.forms for b in f['buttons']]}"
        )


class Browser:
    """Follows the simulator's redirects and pages like a browser with cookies; stops at the app."""

    def __init__(self, client):
        self.client = client
        self.page: Forms | None = None
        self.status = 0
        self.landed: str | None = None  # the URL outside the simulator a redirect went to

    async def go(self, response) -> Forms | None:
        while response.status in (302, 303):
            location = response.headers["Location"]
            own = str(self.client.make_url("/"))
            if location.startswith(own):
                location = "/" + location[len(own) :]
            if location.startswith("http"):  # off the simulator: the app's callback
                self.landed, self.page = location, None
                return None
            response = await self.client.get(location, allow_redirects=False)
        self.status = response.status
        self.page = Forms(await response.text())
        return self.page

    async def open(self, path: str) -> Forms | None:
        return await self.go(await self.client.get(path, allow_redirects=False))

    async def press(self, text: str, **fields: str) -> Forms | None:
        assert self.page is not None
        form, button = self.page.button(text)
        data = {name: a.get("value", "") for name, a in form["inputs"].items() if a.get("type") == "hidden"}
        data.update(fields)
        if button["name"]:
            data[button["name"]] = button["value"]
        return await self.go(await self.client.post(form["action"], data=data, allow_redirects=False))

    @property
    def callback(self) -> dict[str, str]:
        assert self.landed, "no redirect to the app"
        return {k: v[0] for k, v in parse_qs(urlsplit(self.landed).query).items()}


def authorize_url(**overrides) -> tuple[str, dict]:
    verifier, challenge = pkce_pair()
    params = {
        "client_id": "demo-client",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile email",
        "state": "st-" + secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return f"{AUTHORIZE}?{urlencode(params)}", {**params, "verifier": verifier}


async def exchange(client, code: str, verifier: str, **overrides):
    data = {
        **CLIENT,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **overrides,
    }
    return await client.post(TOKEN, data={k: v for k, v in data.items() if v is not None})


def id_claims(body: dict) -> dict:
    return jwt.decode(body["id_token"], options={"verify_signature": False})


async def sign_in_alice(client) -> tuple[Browser, dict]:
    browser = Browser(client)
    url, params = authorize_url()
    page = await browser.open(url)
    assert page.h1 == "Sign In"
    page = await browser.press("Next", identifier="alice@example.com")
    assert page.h1 == "Verify with Password"
    await browser.press("Verify", **{"credentials.passcode": "Alice-Passw0rd!"})
    return browser, params


async def test_alice_signs_in_with_her_password_and_the_code_buys_tokens(client):
    browser, params = await sign_in_alice(client)
    assert browser.landed.startswith(REDIRECT + "?")
    back = browser.callback
    assert back["state"] == params["state"] and set(back) == {"code", "state"}
    r = await exchange(client, back["code"], params["verifier"])
    assert r.status == 200, await r.text()
    body = await r.json()
    assert r.headers["Cache-Control"] == "no-store"
    claims = id_claims(body)
    assert claims["nonce"] == params["nonce"] and claims["amr"] == ["pwd"]
    assert claims["aud"] == "demo-client" and claims["email"] == "alice@example.com" and "auth_time" in claims
    assert body["scope"] == "openid profile email" and "refresh_token" not in body


async def test_bob_signs_in_with_password_and_the_emailed_code(client):
    browser = Browser(client)
    url, params = authorize_url(scope="openid profile email offline_access", acr_values="urn:okta:loa:2fa:any")
    await browser.open(url)
    page = await browser.press("Next", identifier="bob@example.com")
    page = await browser.press("Verify", **{"credentials.passcode": "Bob-Passw0rd!"})
    assert page.h1 == "Verify with Email"
    assert any("A verification code was sent to" in t for t in page.text)
    r = await client.get("/outbox.json", params={"to": "bob@example.com"})
    code = (await r.json())[0]["code"]
    await browser.press("Verify", **{"credentials.passcode": code})
    back = browser.callback
    assert back["state"] == params["state"]
    r = await exchange(client, back["code"], params["verifier"])
    assert r.status == 200, await r.text()
    body = await r.json()
    claims = id_claims(body)
    assert claims["amr"] == ["pwd", "email", "mfa"] and claims["acr"] == "urn:okta:loa:2fa:any"
    assert claims["nonce"] == params["nonce"] and "refresh_token" in body


async def test_a_wrong_code_is_said_on_the_page_and_resend_sends_another(client):
    browser = Browser(client)
    url, _ = authorize_url()
    await browser.open(url)
    await browser.press("Next", identifier="bob@example.com")
    await browser.press("Verify", **{"credentials.passcode": "Bob-Passw0rd!"})
    page = await browser.press("Verify", **{"credentials.passcode": "000000"})
    assert browser.status == 401 and page.h1 == "Verify with Email"
    assert "Invalid code. Try again." in page.text
    await browser.press("Resend")
    r = await client.get("/outbox.json", params={"to": "bob@example.com"})
    sent = await r.json()
    assert len(sent) == 2
    await browser.press("Verify", **{"credentials.passcode": sent[0]["code"]})
    assert "code" in browser.callback


async def test_the_emailed_link_signs_in_in_the_same_browser(client):
    browser = Browser(client)
    url, params = authorize_url()
    await browser.open(url)
    await browser.press("Next", identifier="bob@example.com")
    await browser.press("Verify", **{"credentials.passcode": "Bob-Passw0rd!"})
    link = (await (await client.get("/outbox.json", params={"to": "bob@example.com"})).json())[0]["link"]
    assert urlsplit(link).path == "/signin/email"
    path = urlsplit(link).path + "?" + urlsplit(link).query
    code = parse_qs(urlsplit(link).query)["otp"][0]
    async with aiohttp.ClientSession() as other:  # another browser: no cookie, only the code to type
        r = await other.get(client.make_url(path), allow_redirects=False)
        page = Forms(await r.text())
        assert r.status == 200 and page.h1 == "Your verification code" and any(code in t for t in page.text)
    await browser.open(path)
    assert browser.callback["state"] == params["state"]


async def test_carol_signs_in_with_google_authenticator(client):
    browser = Browser(client)
    url, params = authorize_url()
    await browser.open(url)
    await browser.press("Next", identifier="carol@example.com")
    page = await browser.press("Verify", **{"credentials.passcode": "Carol-Passw0rd!"})
    assert page.h1 == "Verify with Google Authenticator"
    await browser.press("Verify", **{"credentials.passcode": totp.totp("CAROLCAROLCAROL2")})
    r = await exchange(client, browser.callback["code"], params["verifier"])
    assert id_claims(await r.json())["amr"] == ["pwd", "otp", "mfa"]


async def test_quinn_picks_one_of_her_passcode_authenticators(client):
    browser = Browser(client)
    url, params = authorize_url()
    await browser.open(url)
    await browser.press("Next", identifier="quinn@example.com")
    page = await browser.press("Verify", **{"credentials.passcode": "Quinn-Passw0rd!"})
    assert page.h1 == "Verify it's you with a security method"
    page = await browser.press("NFC")
    assert page.h1 == "Verify with NFC"
    await browser.press("Verify", **{"credentials.passcode": "2468"})
    r = await exchange(client, browser.callback["code"], params["verifier"])
    assert r.status == 200


async def test_forgot_password_resets_it_and_signs_in(client, state):
    browser = Browser(client)
    url, params = authorize_url()
    page = await browser.open(url)
    assert page is not None and "Forgot password?" not in [
        b["text"] for f in page.forms for b in f["buttons"]
    ]  # identifier
    # first: offered beside the password, once she is known
    await browser.press("Next", identifier="alice@example.com")
    page = await browser.press("Forgot password?")
    assert page.h1 == "Verify with Email"  # her one recovery authenticator, challenged at once
    code = (await (await client.get("/outbox.json", params={"to": "alice@example.com"})).json())[0]["code"]
    page = await browser.press("Verify", **{"credentials.passcode": code})
    assert page.h1 == "Reset your password"
    await browser.press("Reset password", **{"credentials.passcode": "Brand-New-Passw0rd!"})
    assert "code" in browser.callback
    assert state.org.user("alice@example.com").password == "Brand-New-Passw0rd!"


async def test_pkce_mismatch_code_reuse_and_wrong_redirect_uri_are_refused(client):
    browser, params = await sign_in_alice(client)
    code = browser.callback["code"]
    r = await exchange(client, code, pkce_pair()[0])
    assert r.status == 400 and await r.json() == {
        "error": "invalid_grant",
        "error_description": "PKCE verification failed.",
    }
    r = await exchange(client, code, params["verifier"], redirect_uri="http://127.0.0.1:5000/other/callback")
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
    assert "redirect_uri" in (await r.json())["error_description"]
    r = await exchange(client, code, params["verifier"], redirect_uri=None)
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
    r = await exchange(client, code, None)
    assert r.status == 400 and (await r.json())["error"] == "invalid_request"
    r = await exchange(client, code, params["verifier"])
    assert r.status == 200
    r = await exchange(client, code, params["verifier"])
    assert r.status == 400 and await r.json() == {
        "error": "invalid_grant",
        "error_description": "The authorization code is invalid or has expired.",
    }


async def test_codes_do_not_cross_grants_and_expire(client, state, monkeypatch):
    browser, params = await sign_in_alice(client)
    code = browser.callback["code"]
    r = await client.post(
        TOKEN,
        data={
            **CLIENT,
            "grant_type": "interaction_code",
            "interaction_code": code,
            "code_verifier": params["verifier"],
        },
    )
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
    r = await exchange(client, code, params["verifier"], client_secret="wrong")
    assert r.status == 401 and (await r.json())["error"] == "invalid_client"
    real = engine_module.time.time
    monkeypatch.setattr(engine_module.time, "time", lambda: real() + 61)
    r = await exchange(client, code, params["verifier"])
    assert r.status == 400 and (await r.json())["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides, text",
    [
        ({"client_id": "nobody"}, "client_id"),
        ({"client_id": None}, "client_id"),
        ({"redirect_uri": "https://evil.example/login/callback"}, "redirect_uri"),
        ({"redirect_uri": "http://127.0.0.1:5000/elsewhere"}, "redirect_uri"),
        ({"redirect_uri": None}, "redirect_uri"),
    ],
)
async def test_bad_client_or_redirect_uri_is_an_error_page_not_a_redirect(client, overrides, text):
    url, _ = authorize_url(**overrides)
    r = await client.get(url, allow_redirects=False)
    assert r.status == 400 and "Location" not in r.headers
    assert r.headers["Content-Type"].startswith("text/html")
    page = Forms(await r.text())
    assert page.h1 == "Sign-in error" and any(text in t for t in page.text)
    assert COOKIE not in r.cookies


@pytest.mark.parametrize(
    "overrides, error, text",
    [
        ({"response_type": "token"}, "unsupported_response_type", "response type"),
        ({"response_type": None}, "invalid_request", "response_type"),
        ({"scope": None}, "invalid_scope", "scope"),
        ({"scope": "openid nonsense"}, "invalid_scope", "scopes"),
        ({"code_challenge": None}, "invalid_request", "PKCE"),
        ({"code_challenge_method": "plain"}, "invalid_request", "code_challenge_method"),
        ({"max_age": "-1"}, "invalid_request", "max_age"),
        ({"prompt": "sometimes"}, "invalid_request", "prompt"),
        ({"prompt": "none"}, "login_required", "not logged in"),
    ],
)
async def test_other_errors_go_back_to_the_redirect_uri_with_the_state(client, overrides, error, text):
    url, params = authorize_url(**overrides)
    r = await client.get(url, allow_redirects=False)
    assert r.status == 302
    location = r.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    back = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert back["error"] == error and text in back["error_description"]
    assert back["state"] == params["state"]


async def test_state_comes_back_exactly_as_given_or_not_at_all(client):
    odd = "Weird,state.with_chars-and.1234"
    browser = Browser(client)
    url, params = authorize_url(state=odd)
    await browser.open(url)
    await browser.press("Next", identifier="alice@example.com")
    await browser.press("Verify", **{"credentials.passcode": "Alice-Passw0rd!"})
    assert browser.callback["state"] == odd
    r = await client.get(authorize_url(state=None)[0], allow_redirects=False)
    back = parse_qs(urlsplit(r.headers["Location"]).query)
    assert r.status == 302 and back["error"] == ["invalid_request"] and "state" not in back
    for bad in ("no spaces <here>", "tilde~", "a" * 1025):  # Okta takes alphanumerics and , . _ -
        r = await client.get(authorize_url(state=bad)[0], allow_redirects=False)
        back = parse_qs(urlsplit(r.headers["Location"]).query)
        assert back["error"] == ["invalid_request"] and back["state"] == [bad]


async def test_a_client_without_the_authorization_code_grant_is_refused(aiohttp_client):
    org = demo_org()
    org.client("demo-client").grant_types = ["interaction_code", "refresh_token"]
    client = await aiohttp_client(create_simulator_app(org))
    url, params = authorize_url()
    r = await client.get(url, allow_redirects=False)
    back = parse_qs(urlsplit(r.headers["Location"]).query)
    assert back["error"] == ["unauthorized_client"] and back["state"] == [params["state"]]


@pytest.mark.parametrize("mode", ["fragment", "form_post"])
async def test_response_modes(client, mode):
    browser = Browser(client)
    url, params = authorize_url(response_mode=mode)
    await browser.open(url)
    await browser.press("Next", identifier="alice@example.com")
    form, button = browser.page.button("Verify")
    data = {n: a.get("value", "") for n, a in form["inputs"].items() if a.get("type") == "hidden"}
    r = await client.post("/signin", data={**data, "credentials.passcode": "Alice-Passw0rd!"}, allow_redirects=False)
    if mode == "fragment":
        assert r.status == 302
        back = parse_qs(urlsplit(r.headers["Location"]).fragment)
    else:
        assert r.status == 200
        page = Forms(await r.text())
        assert page.forms[0]["action"] == REDIRECT
        back = {n: [a["value"]] for n, a in page.forms[0]["inputs"].items()}
    assert back["state"] == [params["state"]] and back["code"]


async def test_login_hint_fills_the_username(client):
    browser = Browser(client)
    page = await browser.open(authorize_url(login_hint="bob@example.com", prompt="login")[0])
    form, _ = page.button("Next")
    assert form["inputs"]["identifier"]["value"] == "bob@example.com"


async def test_the_cookie_is_httponly_and_lax_and_forms_need_the_csrf_token(client):
    url, _ = authorize_url()
    r = await client.get(url, allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/signin"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    browser = Browser(client)
    page = await browser.go(r)
    form, _ = page.button("Next")
    token = form["inputs"]["_csrf"]["value"]
    for forged in ({}, {"_csrf": "forged"}, {"_csrf": token[:-1]}):
        r = await client.post(
            "/signin", data={"_form": "identify", "identifier": "alice@example.com", **forged}, allow_redirects=False
        )
        assert r.status == 403 and Forms(await r.text()).h1 == "Request refused"
    page = await browser.open("/signin")
    assert page.h1 == "Sign In"  # nothing was submitted


async def test_pages_without_a_sign_in_say_so(client):
    r = await client.get("/signin", allow_redirects=False)
    assert r.status == 401 and Forms(await r.text()).h1 == "Sign-in expired"
    r = await client.post("/signin", data={"_csrf": "x", "_form": "identify"}, allow_redirects=False)
    assert r.status == 401


async def test_an_expired_transaction_ends_the_pages(client, state):
    browser = Browser(client)
    await browser.open(authorize_url()[0])
    state.expire_all()
    page = await browser.press("Next", identifier="alice@example.com")
    assert browser.status == 401 and page.h1 == "Sign-in expired"


async def test_unknown_user_and_back_to_sign_in(client):
    browser = Browser(client)
    await browser.open(authorize_url()[0])
    page = await browser.press("Next", identifier="nobody@example.com")
    assert browser.status == 400 and page.h1 == "Sign In"
    assert any("There is no account with the Username nobody@example.com." in t for t in page.text)
    page = await browser.press("Next", identifier="bob@example.com")
    assert page.h1 == "Verify with Password"
    page = await browser.press("Back to sign in")
    assert page.h1 == "Sign In"


async def test_the_code_is_single_use_after_the_page_is_reloaded(client):
    browser, params = await sign_in_alice(client)
    page = await browser.open("/signin")  # the sign-in is over: the cookie is gone
    assert page.h1 == "Sign-in expired"


async def test_frank_sets_up_google_authenticator_on_the_pages(client):
    browser = Browser(client)
    url, params = authorize_url()
    await browser.open(url)
    await browser.press("Next", identifier="frank@example.com")
    page = await browser.press("Verify", **{"credentials.passcode": "Frank-Passw0rd!"})
    assert page.h1 == "Set up security methods"
    page = await browser.press("Google Authenticator")
    assert page.h1 == "Set up Google Authenticator"
    secret = next(t for t in page.text if t.startswith("Or enter this key in the app: ")).rsplit(" ", 1)[1]
    page = await browser.press("Verify", **{"credentials.passcode": totp.totp(secret)})
    assert page.h1 == "Set up security methods"  # the optional ones, with Skip
    await browser.press("Skip")
    r = await exchange(client, browser.callback["code"], params["verifier"])
    assert id_claims(await r.json())["amr"] == ["pwd", "otp", "mfa"]


@pytest.mark.parametrize("answer", ["Allow Access", "Don't Allow"])
async def test_connie_answers_the_consent_page(client, answer):
    browser = Browser(client)
    url, params = authorize_url()
    await browser.open(url)
    await browser.press("Next", identifier="connie@example.com")
    page = await browser.press("Verify", **{"credentials.passcode": "Connie-Passw0rd!"})
    if page.h1 == "Verify with Email":  # her second factor, when the policy asks for one
        code = (await (await client.get("/outbox.json", params={"to": "connie@example.com"})).json())[0]["code"]
        page = await browser.press("Verify", **{"credentials.passcode": code})
    assert page.h1 == "Allow access?"
    await browser.press(answer)
    back = browser.callback
    assert back["state"] == params["state"]
    if answer == "Allow Access":
        assert (await exchange(client, back["code"], params["verifier"])).status == 200
    else:
        assert back["error"] == "access_denied" and "code" not in back


async def test_piper_signs_in_with_her_smart_card_from_the_first_page(client):
    browser = Browser(client)
    url, params = authorize_url()
    await browser.open(url)
    href = re_href(await (await client.get("/signin")).text(), "Sign in with PIV / CAC card")
    card_page = urlsplit(href).path + "?" + urlsplit(href).query
    form, _ = Forms(await (await client.get(card_page)).text()).button("Continue")
    r = await client.post(
        card_page,
        data={"action": "continue", "certificate": form["inputs"]["certificate"]["value"]},
        allow_redirects=False,
    )
    assert r.status == 302 and r.headers["Location"].endswith("/signin")  # back to the pages, then to the app
    await browser.go(r)
    assert browser.callback["state"] == params["state"], browser.landed
    r = await exchange(client, browser.callback["code"], params["verifier"])
    assert id_claims(await r.json())["amr"] == ["sc"]


def re_href(html: str, text: str) -> str:
    return (
        re.search(r'<a class="button" href="([^"]+)">' + re.escape(text) + "</a>", html).group(1).replace("&amp;", "&")
    )
