"""The rest of ../shared/security-checklist.md: each test names the property number it proves."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re

import pytest
from conftest import (
    ISSUER,
    ORG,
    doc,
    hidden,
    identify_and_password,
    own,
    post_step,
    serve,
    sign_in,
    start,
    too_many_requests,
)
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st

from embedded.keys import SESSION_STORAGE
from embedded.ratelimit import Rate, RateLimiter


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
    wrong = doc("email-code-incorrect")
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
    org.idx("/idp/idx/introspect", doc("identify"))
    page = await (await client.get("/login")).text()
    assert "Too many incorrect codes" in page and 'name="identifier"' in page


async def test_10_right_code_after_four_wrong_ones_still_signs_in(client, org):
    wrong = doc("email-code-incorrect")
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
    org.idx("/idp/idx/identify", too_many_requests(), status=429)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    again = await post_step(client, html, {"identifier": "alice@example.com"})  # the old page
    assert again.headers["Location"] == "/login" and upstream_count(org, "/idp/idx/identify") == 1
    org.idx("/idp/idx/introspect", doc("identify"))
    page = await (await client.get("/login")).text()
    assert "too many requests" in page.lower()


async def test_10_too_many_requests_with_forms_left_shows_the_step_again(client, org):
    """The other half, unchanged: a rate-limit answer that still offers the step keeps it."""
    html = await start(client, org, doc("email-code-incorrect"))
    org.idx(ANSWER, too_many_requests(doc("challenge-email")), status=429)
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
    return [json.loads(record["user"]) for record in storage.records() if "user" in record]


async def test_19_same_email_with_another_subject_is_another_account(client, org):
    await sign_in(client, org)
    client.session.cookie_jar.clear()
    org.id_token_claims = {"sub": "00u2mallory", "email": "alice@example.com", "name": "Mallory"}
    await sign_in(client, org)
    users = session_users(client)
    assert len(users) == 2 and {u["email"] for u in users} == {"alice@example.com"}
    assert sorted(u["account"] for u in users) == sorted([f'["{ISSUER}", "00u1alice"]', f'["{ISSUER}", "00u2mallory"]'])
    assert "Mallory" in await (await client.get("/")).text()


async def test_19_userinfo_about_another_subject_is_never_shown(client, org):
    await sign_in(client, org)
    org.mock.get(
        ISSUER + "/v1/userinfo", payload={"sub": "00u2mallory", "email": "alice@example.com", "secret": "mallory-data"}
    )
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
        return reply(
            payload={
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": "a" * 1536,
                "refresh_token": "r" * 1536,
                "id_token": id_token,
            }
        )

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
    responses += [
        home,
        await client.post("/logout", data={"_csrf": hidden(await home.text(), "_csrf")}, allow_redirects=False),
    ]
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
    for headers in (
        {"Sec-Fetch-Site": "same-origin", "Origin": "null"},
        {"Origin": "http://127.0.0.1"},
        {"Sec-Fetch-Site": "none"},
    ):
        org.idx("/idp/idx/identify", own("challenge-password.json"))
        html = await (await client.get("/login/step")).text()
        data = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0", "identifier": "a@b.c"}
        resp = await client.post("/login/step", data=data, headers=headers, allow_redirects=False)
        assert resp.status == 303, headers
        org.idx("/idp/idx/cancel", doc("identify"))
        html = await (await client.get("/login/step")).text()
        await post_step(client, html, {}, action="cancel")


async def test_27_a_cross_site_logout_is_refused(client, org):
    await sign_in(client, org)
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    resp = await client.post("/logout", data={"_csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403
    assert signed_in(await (await client.get("/")).text())


# --- 29: return_to stays on this site and is fixed when the sign-in starts ----------------------

EVIL_RETURN_TO = [
    "https://evil",
    "//evil",
    "/\\evil",
    "\\/evil",
    "/%2F%2Fevil",
    "javascript:x",
    "http:evil",
    "/%0d%0aSet-Cookie:x",
    "///evil",
    "/\tevil",
]


async def sign_in_from(client, org, url) -> str:
    org.idx("/idp/idx/introspect", doc("identify"))
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
    from embedded.policy import safe_return_to

    for evil in [*EVIL_RETURN_TO, None, "", "evil", "/" + "a" * 3000, "/a b", '/"x', "/%5Cevil", "/%2f/evil", "/\x7f"]:
        assert safe_return_to(evil) == "/", evil
    for good in ("/", "/profile", "/a/b?c=d&e=%20f#g", "/login/step"):
        assert safe_return_to(good) == good


# --- 37: identity-provider links lead only to the Identity Engine ----------------------------


async def test_37_foreign_identity_provider_links_are_not_rendered_and_are_logged(client, org, caplog):
    document = doc("identify")
    social = next(f for f in document["remediation"]["value"] if (f.get("idp") or {}).get("name") == "Fake Social")
    hrefs = {
        "Google": "javascript:alert(1)",
        "Facebook": "data:text/html,<script>alert(1)</script>",
        "Linkedin": "https://evil.example/sso/idps/x",
        "Apple": "http://localhost:3000.evil.example/sso/idps/apple",
    }
    for idp, href in hrefs.items():
        document["remediation"]["value"].append({**social, "href": href, "idp": {"id": idp.lower(), "name": idp}})
    caplog.set_level("WARNING", logger="embedded")
    html = await start(client, org, document)
    for idp, href in hrefs.items():
        assert f"Sign in with {idp}" not in html
        assert href not in html
    assert "Sign in with Fake Social" in html
    dropped = [r for r in caplog.records if "outside the Identity Engine" in r.getMessage()]
    assert len(dropped) == 4
    # The buttons that are left still lead where they say.
    form = re.search(r'name="_form" value="(\d+)">\s*(?:<[^>]+>\s*)*<button[^>]*>Sign in with Fake Social', html)
    resp = await post_step(client, html, {}, form=form.group(1))
    assert (
        resp.status == 303
        and resp.headers["Location"] == social["href"]
        and social["href"].startswith(ORG + "/sso/idps/")
    )


# --- 40: no account enumeration ---------------------------------------------------------------


def identify_error(kind: str) -> dict:
    """What the Identity Engine answers on the username-and-password page."""
    return doc("identify-with-password-unknown-user" if kind == "unknown user" else "identify-with-password-incorrect")


def masked(html: str) -> str:
    """The page without what differs on every response anyway (tokens, nonces, WebAuthn challenges)."""
    html = re.sub(r'name="_csrf" value="[^"]*"', 'name="_csrf" value="…"', html)
    html = re.sub(r'"challenge": "[^"]*"', '"challenge": "…"', html)
    return re.sub(r"nonce(=\"|-)[A-Za-z0-9_-]+", "nonce…", html)


async def test_40_unknown_user_and_wrong_password_look_the_same(client, org):
    seen = []
    for kind, status in (("unknown user", 400), ("wrong password", 401)):
        client.session.cookie_jar.clear()
        html = await start(client, org, doc("identify-with-password"))
        org.idx("/idp/idx/identify", identify_error(kind), status=status)
        resp = await post_step(
            client, html, {"identifier": "someone@example.com", "credentials.passcode": "Guess-1234"}
        )
        page = await client.get("/login/step")
        seen.append((resp.status, resp.headers["Location"], page.status, masked(await page.text())))
    assert seen[0] == seen[1]
    page = seen[0][3]
    assert "Sign-in failed. Check your details and try again." in page
    assert "no account" not in page and "Password is incorrect" not in page


async def test_40_okta_generic_failure_reads_the_same(client, org):
    html = await start(client, org)
    org.idx(
        "/idp/idx/identify", doc("identify-with-password-incorrect"), status=401
    )  # errors.E0000004 "Authentication failed"
    await post_step(client, html, {"identifier": "someone@example.com"})
    page = await (await client.get("/login/step")).text()
    assert "Sign-in failed. Check your details and try again." in page and "Authentication failed" not in page


async def test_40_after_identification_messages_are_left_alone(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.idx(ANSWER, own("error-challenge-password-incorrect.json"), status=401)
    await post_step(client, html, {"credentials.passcode": "wrong"})
    assert "Password is incorrect" in await (await client.get("/login/step")).text()


# --- 41: our own rate limits on step submissions ----------------------------------------------


def stale_post(html: str) -> dict:
    return {"_csrf": hidden(html, "_csrf"), "_step": "999", "_form": "0", "identifier": "a@b.c"}


async def test_41_per_address_limit_with_retry_after_and_forged_forwarding_ignored(aiohttp_client, settings, org):
    client = await serve(aiohttp_client, dataclasses.replace(settings, step_limit_per_ip=(10, 60.0)))
    html = await start(client, org)
    calls = len(org.calls)
    for _i in range(Rate(10, 60.0).burst):
        resp = await client.post("/login/step", data=stale_post(html), allow_redirects=False)
        assert resp.status == 303
    for spoof in (None, "203.0.113.9", "198.51.100.1, 203.0.113.10"):
        resp = await client.post(
            "/login/step",
            data=stale_post(html),
            headers={"X-Forwarded-For": spoof} if spoof else {},
            allow_redirects=False,
        )
        text = await resp.text()
        assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
        assert "Too many attempts" in text and resp.headers["X-Frame-Options"] == "DENY"
    assert len(org.calls) == calls  # the limit answers before anything goes upstream


async def test_41_addresses_behind_a_trusted_proxy_have_their_own_buckets(aiohttp_client, settings, org):
    client = await serve(
        aiohttp_client, dataclasses.replace(settings, step_limit_per_ip=(3, 60.0), trusted_proxies=("127.0.0.1",))
    )
    html = await start(client, org)
    for address, expected in (("203.0.113.1", 303), ("203.0.113.1", 303), ("203.0.113.1", 429), ("203.0.113.2", 303)):
        resp = await client.post(
            "/login/step", data=stale_post(html), headers={"X-Forwarded-For": address}, allow_redirects=False
        )
        assert resp.status == expected, address


async def test_41_per_transaction_limit(aiohttp_client, settings, org):
    client = await serve(aiohttp_client, dataclasses.replace(settings, step_limit_per_transaction=(6, 10.0)))
    html = await start(client, org)
    for _ in range(Rate(6, 10.0).burst):
        org.idx("/idp/idx/identify", doc("identify"))
        resp = await post_step(client, html, {"identifier": "alice@example.com"})
        assert resp.status == 303
        html = await (await client.get("/login/step")).text()
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert upstream_count(org, "/idp/idx/identify") == 3
    client.session.cookie_jar.clear()  # another person, another transaction
    html = await start(client, org)
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    assert (await post_step(client, html, {"identifier": "bob@example.com"})).status == 303


def test_41_the_limiter_is_bounded_and_never_lets_more_than_the_limit_through_in_any_window():
    clock = [0.0]
    limiter = RateLimiter(4, 10.0, max_keys=100, clock=lambda: clock[0])
    # A burst of half the limit, then one every window / (limit - burst + 1) seconds.
    assert [limiter.hit("a") for _ in range(3)] == [0, 0, pytest.approx(10 / 3)]
    clock[0] = 10 / 3
    assert limiter.hit("a") == 0 and limiter.hit("a") == pytest.approx(10 / 3)
    for i in range(1000):
        limiter.hit(f"k{i}")
    assert len(limiter) == 100


@settings_profile(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 12),
    window=st.sampled_from([1.0, 5.0, 60.0]),
    gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=60),
)
def test_41_gcra_never_lets_more_than_the_limit_through_in_any_window(limit, window, gaps):
    """The limiter's promise (checklist 41): at most `limit` hits in any `window` seconds, for
    any pattern of arrivals, with constant state per key."""
    clock = [0.0]
    limiter = RateLimiter(limit, window, clock=lambda: clock[0])
    allowed = []
    for gap in gaps:
        clock[0] += gap * window / 3
        if limiter.hit("k") == 0:
            allowed.append(clock[0])
    for i, first in enumerate(allowed):
        assert sum(1 for t in allowed[i:] if t < first + window - 1e-9) <= limit


# --- 43: one remediation in flight per transaction ----------------------------------------------


async def test_43_a_double_submit_reaches_upstream_once(client, org):
    from conftest import ORG, reply

    html = await start(client, org, doc("email-code-incorrect"))

    async def slow_success(url, **kwargs):
        org.calls.append(("POST", ANSWER, kwargs))
        await asyncio.sleep(0.3)
        return reply(payload=own("success-with-interaction-code.json"))

    org.mock.post(ORG + ANSWER, callback=slow_success, repeat=True)
    first, second = await asyncio.gather(
        post_step(client, html, {"credentials.passcode": "123456"}),
        post_step(client, html, {"credentials.passcode": "123456"}),
    )
    assert sorted([first.headers["Location"], second.headers["Location"]]) == ["/", "/login/step"]
    assert first.status == second.status == 303
    assert upstream_count(org, ANSWER) == 1 and upstream_count(org, "/oauth2/default/v1/token") == 1
    assert signed_in(await (await client.get("/")).text())


# --- 45: sign-in events --------------------------------------------------------------------------


def audit_records(caplog) -> list:
    return [r for r in caplog.records if r.name == "embedded.audit"]


async def test_45_sign_in_events_carry_correlation_hashed_user_and_address(client, org, caplog):
    caplog.set_level("INFO", logger="embedded.audit")
    await sign_in(client, org)
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    await client.post("/logout", data={"_csrf": csrf})
    html = await identify_and_password(client, org, await start(client, org))
    org.idx(ANSWER, own("error-challenge-password-incorrect.json"), status=401)
    await post_step(client, html, {"credentials.passcode": "wrong"})
    records = audit_records(caplog)
    events = [r.audit["event"] for r in records]
    assert {"signin.started", "signin.step", "signin.succeeded", "signout", "signin.failed"} <= set(events)
    for r in records:
        assert re.fullmatch(r"[0-9a-f]{16}", r.audit["correlation"]) and r.audit["ip"] == "127.0.0.1"
        line = r.getMessage()
        assert line.startswith(f'event="{r.audit["event"]}" ') and f'correlation="{r.audit["correlation"]}"' in line
        assert "alice" not in line.lower()  # the identifier is hashed
    users = {
        r.audit.get("user") for r in records if r.audit["event"] in ("signin.step", "signin.succeeded", "signin.failed")
    }
    assert len(users) == 1 and re.fullmatch(r"[0-9a-f]{20}", users.pop())
    failed = [r for r in records if r.audit["event"] == "signin.failed"]
    assert failed[-1].audit["reason"] == "incorrectPassword"
    # The failure and the step that caused it are one request, so they share a correlation id.
    step = [r for r in records if r.audit["event"] == "signin.step"][-1]
    assert step.audit["correlation"] == failed[-1].audit["correlation"]
    assert len({r.audit["correlation"] for r in records}) >= 6


async def test_45_line_breaks_never_split_an_event(client, org, caplog):
    caplog.set_level("INFO", logger="embedded.audit")
    html = await start(client, org)
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    await post_step(client, html, {"identifier": "mallory@example.com\nevent=signin.succeeded user=alice"})
    await client.get("/login/callback", params={"error": 'access_denied\r\nevent="signin.succeeded"', "state": "x"})
    records = audit_records(caplog)
    assert records
    for r in records:
        line = r.getMessage()
        assert "\n" not in line and "\r" not in line
        pairs = re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"(?: |$)', line)
        assert " ".join(f'{k}="{v}"' for k, v in pairs) == line  # nothing outside quoted values
        assert [k for k, _ in pairs].count("event") == 1
    # An `error` we do not know is logged as one of our own words, never as the link's text.
    assert any(r.audit.get("reason") == "callback_other" for r in records)


# --- 46: upstream faults give a friendly page and the right transaction outcome ------------------

UPSTREAM_FAULTS = {
    "500 html": {"status": 500, "body": "<html>upstream-marker internal</html>"},
    "502 html": {"status": 502, "body": "<html>upstream-marker bad gateway</html>"},
    "503 html": {"status": 503, "body": "<html>upstream-marker unavailable</html>"},
    "504 html": {"status": 504, "body": "<html>upstream-marker timeout</html>"},
    "truncated json": {"status": 200, "body": '{"version": "1.0.0", "upstream-marker": {"type": "arr'},
    "wrong schema": {"status": 200, "body": '{"upstream-marker": true}'},
    "wrong content type": {"status": 200, "body": "upstream-marker plain text", "content_type": "text/plain"},
    "big body": {"status": 200, "body": "upstream-marker" + "x" * 50_000},
    "timeout": {"exception": TimeoutError()},
    "reset": {"exception": ConnectionResetError("upstream-marker")},
    "refused": {"exception": ConnectionRefusedError("upstream-marker")},
}


@pytest.mark.parametrize("fault", UPSTREAM_FAULTS)
async def test_46_upstream_faults_are_friendly_and_keep_the_transaction(client, org, caplog, fault):
    import aiohttp

    spec = dict(UPSTREAM_FAULTS[fault])
    html = await start(client, org)
    if "exception" in spec:
        exc = spec["exception"]
        org.fail(
            "/idp/idx/identify",
            exc if isinstance(exc, asyncio.TimeoutError) else aiohttp.ClientOSError(exc.errno, str(exc)),
        )
    else:
        org.idx("/idp/idx/identify", spec.pop("body"), **spec)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    text = await resp.text()
    assert resp.status in (502, 503)
    assert "Traceback" not in text and "aiohttp" not in text and "upstream-marker" not in text
    assert (
        resp.headers["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    )
    assert resp.headers["Cache-Control"] == "no-store"
    reference = re.search(r"Reference: <code>([0-9a-f]{16})</code>", text).group(1)
    assert any(reference in r.getMessage() for r in caplog.records)
    await identify_and_password(client, org, html)  # retryable: the same page can be sent again


async def test_46_an_expired_transaction_is_cleared(client, org):
    html = await start(client, org)
    org.idx("/idp/idx/identify", doc("session-expired"), status=401)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    again = await post_step(client, html, {"identifier": "alice@example.com"})
    assert again.headers["Location"] == "/login" and upstream_count(org, "/idp/idx/identify") == 1


# --- 47: the last-resort handler -------------------------------------------------------------------


async def test_47_an_unexpected_exception_is_a_generic_500_and_the_server_carries_on(
    aiohttp_client, settings, org, caplog, monkeypatch
):
    from embedded.demo import create_app
    from embedded.idx_client import IdxClient

    async def broken(*args, **kwargs):
        raise RuntimeError("internal-detail-marker")

    monkeypatch.setattr(IdxClient, "interact", broken)  # a bug deep inside the package
    client = await aiohttp_client(create_app(settings))
    resp = await client.post("/logout")  # no CSRF token: refused before any handler runs
    assert resp.status == 403
    resp = await client.get("/login")
    text = await resp.text()
    assert resp.status == 500 and "internal-detail-marker" not in text and "Traceback" not in text
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Cache-Control"] == "no-store"
    reference = re.search(r"Reference: <code>([0-9a-f]{16})</code>", text).group(1)
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info  # the details are in the log, not the page
    assert (await client.get("/")).status == 200
    assert (await client.get("/login")).status == 500


# --- 48: logout ---------------------------------------------------------------------------------


async def test_48_logout_revokes_both_tokens_ends_the_session_and_clears_the_cookie(client, org):
    await sign_in(client, org)
    cookie = session_cookie(client)
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    resp = await client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert resp.headers["Clear-Site-Data"] == '"cookies"'
    expiring = [h for h in resp.headers.getall("Set-Cookie", []) if h.startswith("embedded=")]
    assert expiring and all("max-age=0" in h.lower() for h in expiring)
    revoked = org.bodies("/oauth2/default/v1/revoke")
    assert [(b["token"], b["token_type_hint"]) for b in revoked] == [
        ("rt-sentinel-0001", "refresh_token"),
        ("at-sentinel-0001", "access_token"),
    ]
    assert all(b["client_id"] == "test-client" for b in revoked)
    client.session.cookie_jar.clear()
    assert not signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())
    assert not any(cookie in str(e) for e in client.server.app[SESSION_STORAGE]._data)


@pytest.mark.parametrize("failure", ["500", "exception"])
async def test_48_a_failed_revoke_still_signs_out_locally(client, org, failure):
    import aiohttp
    from conftest import reply

    await sign_in(client, org)
    cookie = session_cookie(client)

    def broken(url, **kwargs):
        org.calls.append(("POST", "/oauth2/default/v1/revoke", kwargs))
        if failure == "exception":
            raise aiohttp.ClientConnectionError("down")
        return reply(status=500, body="<html>down</html>")

    replace_endpoint(org, "/v1/revoke", broken)
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    resp = await client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert upstream_count(org, "/oauth2/default/v1/revoke") == 2
    client.session.cookie_jar.clear()
    assert not signed_in(await (await client.get("/", cookies={"embedded": cookie})).text())


# --- 49: dependencies ----------------------------------------------------------------------------

MINIMUM_VERSIONS = {
    "aiohttp": (3, 14, 4),
    "aiohttp-session": (2, 12, 1),
    "PyJWT": (2, 15, 0),
    "cryptography": (50, 0, 0),
    "Jinja2": (3, 1, 6),
}


def test_49_dependencies_meet_the_minimums_and_the_c_parser_serves():
    import importlib.metadata
    import os

    import aiohttp.http_parser
    import aiohttp.web_protocol

    for name, minimum in MINIMUM_VERSIONS.items():
        version = importlib.metadata.version(name)
        assert tuple(int(n) for n in re.findall(r"\d+", version)[:3]) >= minimum, (
            f"{name} {version} is older than {minimum}"
        )
    assert "AIOHTTP_NO_EXTENSIONS" not in os.environ
    assert hasattr(aiohttp.http_parser, "HttpRequestParserC")
    assert aiohttp.http_parser.HttpRequestParser is aiohttp.http_parser.HttpRequestParserC
    assert aiohttp.web_protocol.HttpRequestParser is aiohttp.http_parser.HttpRequestParserC


# --- 50: generated URLs and cookie flags come from the settings ----------------------------------


async def raw_request(client, request: bytes) -> tuple[int, dict[str, list[str]]]:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
    return int(lines[0].split()[1]), headers


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1/login/callback", "https://app.example.com/login/callback"])
async def test_50_request_host_and_scheme_never_shape_urls_or_cookies(aiohttp_client, settings, org, redirect_uri):
    configured = dataclasses.replace(settings, redirect_uri=redirect_uri)
    client = await serve(aiohttp_client, configured)
    secure = redirect_uri.startswith("https")
    for request in (
        b"GET http://evil.example/login HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        (
            b"GET https://evil.example:8443/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n"
        ),
        b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    ):
        org.idx("/idp/idx/introspect", doc("identify"))
        before = upstream_count(org, "/oauth2/default/v1/interact")
        status, headers = await raw_request(client, request)
        if status == 400:  # aiohttp refuses a duplicate Host outright: nothing to generate
            assert upstream_count(org, "/oauth2/default/v1/interact") == before
            continue
        assert status == 303 and headers["location"] == ["/login/step"]
        assert org.interact_form["redirect_uri"] == redirect_uri
        for cookie in headers["set-cookie"]:
            attrs = [a.strip().lower() for a in cookie.split(";")]
            assert ("secure" in attrs) is secure and not any(a.startswith("domain") for a in attrs)
            assert cookie.startswith("__Host-") is secure


async def test_50_the_okta_sign_out_comes_back_to_the_configured_origin(client, org, settings):
    html = await start(client, org, doc("identify"))
    form = re.search(r'name="_form" value="(\d+)">\s*(?:<[^>]+>\s*)*<button[^>]*>Sign in with Fake Social', html).group(
        1
    )
    await post_step(client, html, {}, form=form)
    state = org.interact_form["state"]
    resp = await client.get(
        "/login/callback", params={"interaction_code": "idp-code", "state": state}, allow_redirects=False
    )
    assert resp.headers["Location"] == "/"
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    resp = await client.post(
        "/logout",
        data={"_csrf": csrf},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        allow_redirects=False,
    )
    page = await resp.text()
    assert resp.status == 200 and "Location" not in resp.headers  # the ID token travels in a POST body, never a URL
    assert (
        f'action="{ISSUER}/v1/logout"' in page and 'name="post_logout_redirect_uri" value="http://127.0.0.1/"' in page
    )


def test_50_no_url_is_built_from_the_request():
    from conftest import ROOT

    for path in (ROOT / "embedded").glob("*.py"):
        text = path.read_text()
        for needle in (
            "request.host",
            "request.url",
            "request.scheme",
            "request.secure",
            "request.forwarded",
            "X-Forwarded-Host",
            "X-Forwarded-Proto",
            "url_for(",
        ):
            assert needle not in text, f"{needle} in {path.name}"
