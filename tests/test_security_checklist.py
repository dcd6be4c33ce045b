"""The rest of ../shared/security-checklist.md: each test names the property number it proves."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from conftest import ISSUER, hidden, identify_and_password, own, post_step, serve, shared, sign_in, start
from embedded.keys import SESSION_STORAGE


def session_cookie(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))["embedded"].value


def signed_in(html: str) -> bool:
    return "Alice Anders" in html


# --- 24: idle and absolute session lifetimes ----------------------------------------------


async def test_24_idle_and_absolute_timeouts_are_enforced_server_side(client, org):
    storage = client.server.app[SESSION_STORAGE]
    clock = [1000.0]
    storage._clock = lambda: clock[0]

    # Idle: an hour without a request ends the session.
    await sign_in(client, org)
    clock[0] += 59 * 60
    assert signed_in(await (await client.get("/")).text())
    clock[0] += 61 * 60
    stale = session_cookie(client)
    assert not signed_in(await (await client.get("/")).text())
    # Replaying the expired cookie later finds nothing either.
    resp = await client.get("/", cookies={"embedded": stale})
    assert not signed_in(await resp.text())

    # Absolute: a request every 50 minutes does not keep a session alive past 12 hours.
    client.session.cookie_jar.clear()
    await sign_in(client, org)
    cookie = session_cookie(client)
    for _ in range(14):  # 11 h 40 min
        clock[0] += 50 * 60
        assert signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())
    clock[0] += 50 * 60  # 12 h 30 min after sign-in
    assert not signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())
    assert not signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())


async def test_24_the_absolute_lifetime_is_a_setting(aiohttp_client, settings, org):
    client = await serve(aiohttp_client, dataclasses.replace(settings, session_max_hours=1))
    storage = client.server.app[SESSION_STORAGE]
    assert storage.absolute_seconds == 3600
    clock = [0.0]
    storage._clock = lambda: clock[0]
    await sign_in(client, org)
    clock[0] += 30 * 60
    assert signed_in(await (await client.get("/")).text())
    clock[0] += 31 * 60
    assert not signed_in(await (await client.get("/")).text())


# --- 10: one-time code attempts and `tooManyRequests` ------------------------------------

ANSWER = "/idp/idx/challenge/answer"


def upstream_count(org, path: str) -> int:
    return org.paths().count(path)


async def test_10_five_wrong_codes_end_the_transaction_and_a_sixth_never_goes_upstream(client, org):
    wrong = shared("error-401-invalid-email-otp-passcode.json")
    html = await start(client, org, wrong)
    for attempt in range(5):
        org.idx(ANSWER, wrong, status=401)
        resp = await post_step(client, html, {"credentials.passcode": f"00000{attempt}"})
        assert resp.status == 303
        if attempt < 4:
            assert resp.headers["Location"] == "/login/step"
            html = await (await client.get("/login/step")).text()
    assert resp.headers["Location"] == "/login"  # the transaction is over
    assert upstream_count(org, ANSWER) == 5
    sixth = await post_step(client, html, {"credentials.passcode": "000005"})
    assert sixth.status == 303 and sixth.headers["Location"] == "/login"
    assert upstream_count(org, ANSWER) == 5
    org.idx("/idp/idx/introspect", shared("identify.json"))
    page = await (await client.get("/login")).text()
    assert "Too many incorrect codes" in page and 'name="identifier"' in page


async def test_10_right_code_after_four_wrong_ones_still_signs_in(client, org):
    wrong = shared("error-401-invalid-email-otp-passcode.json")
    html = await start(client, org, wrong)
    for attempt in range(4):
        org.idx(ANSWER, wrong, status=401)
        await post_step(client, html, {"credentials.passcode": f"00000{attempt}"})
        html = await (await client.get("/login/step")).text()
    org.idx(ANSWER, own("success-with-interaction-code.json"))
    resp = await post_step(client, html, {"credentials.passcode": "123456"})
    assert resp.headers["Location"] == "/"


async def test_10_too_many_requests_with_nothing_left_to_do_clears_the_transaction(client, org):
    html = await start(client, org)
    org.idx("/idp/idx/identify", shared("error-429-too-many-request.json"), status=429)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    again = await post_step(client, html, {"identifier": "alice@example.com"})  # the old page
    assert again.headers["Location"] == "/login" and upstream_count(org, "/idp/idx/identify") == 1
    org.idx("/idp/idx/introspect", shared("identify.json"))
    page = await (await client.get("/login")).text()
    assert "too many requests" in page.lower()


async def test_10_too_many_requests_with_forms_left_shows_the_step_again(client, org):
    """The other half, unchanged: a rate-limit answer that still offers the step keeps it."""
    html = await start(client, org, shared("error-401-invalid-email-otp-passcode.json"))
    org.idx(ANSWER, shared("error-429-authenticator-verification-email-polling.json"), status=429)
    resp = await post_step(client, html, {"credentials.passcode": "123456"})
    assert resp.headers["Location"] == "/login/step"
    page = await (await client.get("/login/step")).text()
    assert "Too many requests" in page and 'name="credentials.passcode"' in page


# --- 11: the password exactly as typed, the identifier trimmed -----------------------------


async def test_11_password_is_forwarded_byte_for_byte_and_the_identifier_trimmed(client, org):
    html = await start(client, org)
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    await post_step(client, html, {"identifier": " a@b.c\t"})
    assert org.bodies("/idp/idx/identify")[0]["identifier"] == "a@b.c"
    html = await (await client.get("/login/step")).text()
    password = "  pä$$ 🙂 " * 10  # 100 characters, spaces at both ends
    org.idx(ANSWER, own("success-with-interaction-code.json"))
    await post_step(client, html, {"credentials.passcode": password})
    sent = org.bodies(ANSWER)[0]["credentials"]["passcode"]
    assert sent.encode("utf-8") == password.encode("utf-8")


# --- 17: ID-token header abuse is a 4xx page, never a 500 ----------------------------------


def b64url(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class CraftedTokens:
    """Stands in for the fake's signer: the same keys, but /token hands out `craft(signer, claims)`."""

    def __init__(self, signer, craft):
        self.signer, self.craft = signer, craft

    def jwks(self):
        return self.signer.jwks()

    def mint(self, **claims):
        return self.craft(self.signer, claims)


def nested_header(signer, claims):
    _, payload, signature = signer.mint(**claims).split(".")
    deep = b'{"alg":"RS256","kid":"test-key","x":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    return f"{b64url(deep)}.{payload}.{signature}"


def other_trailing_bits(signer, claims):
    head, payload, signature = signer.mint(**claims).split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(signature[-1]) ^ 1]  # same bytes, non-canonical text
    return f"{head}.{payload}.{signature[:-1]}{last}"


HEADER_ABUSE = {
    "unknown crit": lambda s, c: s.mint(headers={"crit": ["urn:example:x"], "urn:example:x": True}, **c),
    "jku": lambda s, c: s.mint(headers={"jku": "https://evil.example/keys"}, **c),
    "x5u": lambda s, c: s.mint(headers={"x5u": "https://evil.example/cert.pem"}, **c),
    "jwk": lambda s, c: s.mint(headers={"jwk": s.jwk()}, **c),
    "deeply nested header": nested_header,
    "non-canonical base64": other_trailing_bits,
    "padded base64": lambda s, c: s.mint(**c) + "==",
}


@pytest.mark.parametrize("abuse", HEADER_ABUSE)
async def test_17_id_token_header_abuse_gives_an_error_page_and_no_session(client, org, signer, abuse):
    org.signer = CraftedTokens(signer, HEADER_ABUSE[abuse])
    html = await identify_and_password(client, org, await start(client, org))
    org.idx(ANSWER, own("success-with-interaction-code.json"))
    resp = await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    text = await resp.text()
    assert resp.status == 400 and "could not verify your sign-in" in text and "Traceback" not in text
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert not signed_in(await (await client.get("/")).text())
    assert not any("evil.example" in str(url) for _, url in org.mock.requests)  # nothing fetched


# --- 19: the account is (iss, sub), never the email ----------------------------------------


def session_users(client) -> list[dict]:
    storage = client.server.app[SESSION_STORAGE]
    return [u for u in (storage._decoder(entry[2])["session"].get("user") for entry in storage._data.values()) if u]


async def test_19_same_email_with_another_subject_is_another_account(client, org):
    await sign_in(client, org)
    client.session.cookie_jar.clear()
    org.id_token_claims = {"sub": "00u2mallory", "email": "alice@example.com", "name": "Mallory"}
    await sign_in(client, org)
    users = session_users(client)
    assert len(users) == 2 and {u["email"] for u in users} == {"alice@example.com"}
    assert sorted(u["account"] for u in users) == sorted(
        [f'["{ISSUER}", "00u1alice"]', f'["{ISSUER}", "00u2mallory"]']
    )
    assert "Mallory" in await (await client.get("/")).text()


async def test_19_userinfo_about_another_subject_is_never_shown(client, org):
    await sign_in(client, org)
    org.mock.get(ISSUER + "/v1/userinfo", payload={"sub": "00u2mallory", "email": "alice@example.com", "secret": "mallory-data"})
    resp = await client.get("/profile")
    text = await resp.text()
    assert resp.status == 502 and "mallory-data" not in text


async def test_17_oversized_or_non_compact_tokens_are_refused_before_parsing(signer):
    from embedded import oidc

    async def fetch():
        return signer.jwks()

    keys = oidc.KeySet(fetch)
    good = signer.mint(nonce="n")
    for token in (good + "." + "A" * 70_000, " " + good, good.replace(".", "..", 1), "a.b", 42):
        with pytest.raises(oidc.InvalidIdToken):
            await oidc.validate_id_token(token, keys, issuer=ISSUER, client_id="test-client", nonce="n")
    assert await oidc.validate_id_token(good, keys, issuer=ISSUER, client_id="test-client", nonce="n")


# --- 23: every cookie stays small -----------------------------------------------------------


def replace_endpoint(org, path: str, callback) -> None:
    """Point one of the fake's fixed endpoints (/v1/token, /v1/revoke, ...) at another answer."""
    for matcher in org.mock._matches.values():
        if str(matcher.url_or_pattern).endswith(path):
            matcher.callback = callback


async def test_23_cookies_stay_under_4096_bytes_with_big_tokens(client, org, signer):
    from conftest import reply

    def big_tokens(url, **kwargs):
        org.calls.append(("POST", "/oauth2/default/v1/token", kwargs))
        id_token = signer.mint(nonce=org.interact_form.get("nonce"), padding="p" * 1100)
        assert len(id_token) > 1500
        return reply(payload={"token_type": "Bearer", "expires_in": 3600, "access_token": "a" * 1536, "refresh_token": "r" * 1536, "id_token": id_token})

    replace_endpoint(org, "/v1/token", big_tokens)
    responses = []
    html = await start(client, org)
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    responses.append(await post_step(client, html, {"identifier": "alice@example.com"}))
    html = await (await client.get("/login/step")).text()
    org.idx(ANSWER, own("success-with-interaction-code.json"))
    responses.append(await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"}))
    assert responses[-1].headers["Location"] == "/"
    home = await client.get("/")
    assert signed_in(await home.text())
    responses += [home, await client.post("/logout", data={"_csrf": hidden(await home.text(), "_csrf")}, allow_redirects=False)]
    set_cookies = [h for r in responses for h in r.headers.getall("Set-Cookie", [])]
    assert set_cookies
    for header in set_cookies:
        assert len(header.split(";")[0].encode()) <= 4096
    for cookie in client.session.cookie_jar:
        assert len(cookie.key.encode() + cookie.value.encode()) <= 4096


# --- 27: cross-site POSTs are refused on their headers ---------------------------------------


async def test_27_cross_site_posts_are_refused_whatever_the_token(client, org):
    html = await start(client, org)
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"},
    ):
        data = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0", "identifier": "a@b.c"}
        resp = await client.post("/login/step", data=data, headers=headers, allow_redirects=False)
        text = await resp.text()
        assert resp.status == 403, headers
        assert "came from another site" in text and resp.headers["X-Frame-Options"] == "DENY"
    assert upstream_count(org, "/idp/idx/identify") == 0


async def test_27_same_origin_posts_are_decided_by_the_token(client, org):
    html = await start(client, org)
    data = {"_csrf": "wrong", "_step": hidden(html, "_step"), "_form": "0", "identifier": "a@b.c"}
    for headers in ({}, {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1"}):
        resp = await client.post("/login/step", data=data, headers=headers)
        assert resp.status == 403 and "This form has expired" in await resp.text()
    # Our own pages post with `Origin: null` (Referrer-Policy: no-referrer) and same-origin.
    for headers in ({"Sec-Fetch-Site": "same-origin", "Origin": "null"}, {"Origin": "http://127.0.0.1"}, {"Sec-Fetch-Site": "none"}):
        org.idx("/idp/idx/identify", own("challenge-password.json"))
        html = await (await client.get("/login/step")).text()
        data = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0", "identifier": "a@b.c"}
        resp = await client.post("/login/step", data=data, headers=headers, allow_redirects=False)
        assert resp.status == 303, headers
        org.idx("/idp/idx/cancel", shared("identify.json"))
        html = await (await client.get("/login/step")).text()
        await post_step(client, html, {}, action="cancel")


async def test_27_a_cross_site_logout_is_refused(client, org):
    await sign_in(client, org)
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    resp = await client.post("/logout", data={"_csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403
    assert signed_in(await (await client.get("/")).text())


# --- 29: return_to stays on this site and is fixed when the sign-in starts ----------------------

EVIL_RETURN_TO = ["https://evil", "//evil", "/\\evil", "\\/evil", "/%2F%2Fevil", "javascript:x", "http:evil", "/%0d%0aSet-Cookie:x", "///evil", "/\tevil"]


async def sign_in_from(client, org, url) -> str:
    org.idx("/idp/idx/introspect", shared("identify.json"))
    resp = await client.get(url, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"
    html = await identify_and_password(client, org, await (await client.get("/login/step")).text())
    org.idx(ANSWER, own("success-with-interaction-code.json"))
    resp = await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!", "return_to": "https://evil"})
    assert resp.status == 303
    location = resp.headers["Location"]
    assert "\r" not in location and "\n" not in location
    client.session.cookie_jar.clear()
    return location


@pytest.mark.parametrize("evil", EVIL_RETURN_TO)
async def test_29_return_to_never_leaves_the_site(client, org, evil):
    from urllib.parse import quote

    from yarl import URL

    # As the value itself, and as the same characters written straight into the link.
    assert await sign_in_from(client, org, URL.build(path="/login", query={"return_to": evil})) == "/"
    assert await sign_in_from(client, org, URL(f"/login?return_to={quote(evil, safe='/%:')}", encoded=True)) == "/"


async def test_29_a_same_site_return_to_is_followed_and_step_up_still_works(client, org):
    assert await sign_in_from(client, org, "/login?return_to=/profile%3Ftab%3D1") == "/profile?tab=1"
    assert await sign_in_from(client, org, "/login?return_to=/") == "/"
    org.id_token_claims = {"acr": "urn:okta:loa:2fa:any", "auth_time": int(__import__("time").time())}
    location = await sign_in_from(client, org, "/login?acr_values=urn:okta:loa:2fa:any&max_age=0&return_to=/profile")
    assert location == "/profile"
    assert org.interact_form["acr_values"] == "urn:okta:loa:2fa:any" and org.interact_form["max_age"] == "0"


def test_29_the_validator_alone():
    from embedded.views import safe_return_to

    for evil in [*EVIL_RETURN_TO, None, "", "evil", "/" + "a" * 3000, "/a b", '/"x', "/%5Cevil", "/%2f/evil", "/\x7f"]:
        assert safe_return_to(evil) == "/", evil
    for good in ("/", "/profile", "/a/b?c=d&e=%20f#g", "/login/step"):
        assert safe_return_to(good) == good


# --- 37: identity-provider links lead only to the Identity Engine ----------------------------


async def test_37_foreign_identity_provider_links_are_not_rendered_and_are_logged(client, org, caplog):
    doc = shared("identify-with-third-party-idps.json")
    forms_ = doc["remediation"]["value"]
    hrefs = {"Google": "javascript:alert(1)", "Facebook": "data:text/html,<script>alert(1)</script>", "Linkedin": "https://evil.example/sso/idps/x", "Apple": "http://localhost:3000.evil.example/sso/idps/apple"}
    for form in forms_:
        name = (form.get("idp") or {}).get("name", "")
        for idp, href in hrefs.items():
            if name.startswith(idp):
                form["href"] = href
    caplog.set_level("WARNING", logger="embedded")
    html = await start(client, org, doc)
    for idp, href in hrefs.items():
        assert f"Sign in with {idp}" not in html
        assert href not in html
    assert "Sign in with Microsoft" in html
    assert "mtls" not in html.lower()  # on another host than the Identity Engine too
    dropped = [r for r in caplog.records if "outside the Identity Engine" in r.getMessage()]
    assert len(dropped) == 5
    # The buttons that are left still lead where they say.
    form = re.search(r'name="_form" value="(\d+)">\s*(?:<[^>]+>\s*)*<button[^>]*>Sign in with Microsoft', html)
    resp = await post_step(client, html, {}, form=form.group(1))
    assert resp.status == 303 and resp.headers["Location"].startswith("http://localhost:3000/sso/idps/microsoft-123?")


# --- 40: no account enumeration ---------------------------------------------------------------


def identify_error(kind: str) -> dict:
    doc = shared("identify-with-password.json")
    if kind == "unknown user":
        doc["messages"] = {"type": "array", "value": [{"message": "There is no account with the Username someone@example.com.", "i18n": {"key": "idx.unknown.user", "params": ["someone@example.com"]}, "class": "ERROR"}]}
    else:
        credentials = doc["remediation"]["value"][0]["value"][1]
        credentials["form"]["value"][0]["messages"] = {"type": "array", "value": [{"message": "Password is incorrect", "i18n": {"key": "incorrectPassword"}, "class": "ERROR"}]}
    return doc


def masked(html: str) -> str:
    html = re.sub(r'name="_csrf" value="[^"]*"', 'name="_csrf" value="…"', html)
    return re.sub(r"nonce(=\"|-)[A-Za-z0-9_-]+", "nonce…", html)


async def test_40_unknown_user_and_wrong_password_look_the_same(client, org):
    seen = []
    for kind, status in (("unknown user", 400), ("wrong password", 401)):
        client.session.cookie_jar.clear()
        html = await start(client, org, shared("identify-with-password.json"))
        org.idx("/idp/idx/identify", identify_error(kind), status=status)
        resp = await post_step(client, html, {"identifier": "someone@example.com", "credentials.passcode": "Guess-1234"})
        page = await client.get("/login/step")
        seen.append((resp.status, resp.headers["Location"], page.status, masked(await page.text())))
    assert seen[0] == seen[1]
    page = seen[0][3]
    assert "Sign-in failed. Check your details and try again." in page
    assert "no account" not in page and "Password is incorrect" not in page


async def test_40_okta_generic_failure_reads_the_same(client, org):
    html = await start(client, org)
    org.idx("/idp/idx/identify", shared("identify-unknown-user.json"), status=401)
    await post_step(client, html, {"identifier": "someone@example.com"})
    page = await (await client.get("/login/step")).text()
    assert "Sign-in failed. Check your details and try again." in page and "Authentication failed" not in page


async def test_40_after_identification_messages_are_left_alone(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.idx(ANSWER, own("error-challenge-password-incorrect.json"), status=401)
    await post_step(client, html, {"credentials.passcode": "wrong"})
    assert "Password is incorrect" in await (await client.get("/login/step")).text()
