"""Baseline security properties; each test names its number in ../shared/security-checklist.md."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import jwt
import pytest
from conftest import (
    CLIENT_ID,
    ISSUER,
    ROOT,
    Signer,
    doc,
    hidden,
    identify_and_password,
    own,
    post_step,
    serve,
    sign_in,
    start,
)
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from embedded import Settings, oidc
from embedded.demo import create_app

SENTINELS = ("at-sentinel-0001", "rt-sentinel-0001", "Alice-Passw0rd!", "ic-test-code-1")


def cookie_headers(resp) -> list[str]:
    return resp.headers.getall("Set-Cookie", [])


# --- 1, 2: PKCE, state and nonce ---------------------------------------------------------


async def test_01_fresh_pkce_per_transaction_and_verifier_only_to_token(client, org):
    pages, challenges = [], []
    for _ in range(5):
        resp = await sign_in(client, org)
        assert resp.headers["Location"] == "/"
        challenges.append(org.interact_form["code_challenge"])
        assert org.interact_form["code_challenge_method"] == "S256"
        pages.append(await (await client.get("/")).text())
        client.session.cookie_jar.clear()
    verifiers = [form["code_verifier"] for form in org.bodies("/oauth2/default/v1/token")]
    assert len(set(verifiers)) == 5
    for verifier, challenge in zip(verifiers, challenges, strict=False):
        assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier)
        assert base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode() == challenge
        for _method, path, kw in org.calls:
            if not path.endswith("/v1/token"):
                assert verifier not in repr(kw)
        assert not any(verifier in p for p in pages)


async def test_02_state_and_nonce_are_random_and_never_in_a_page(aiohttp_client, settings, org):
    # A thousand sign-ins from one address: past the per-address limit on starting them.
    client = await serve(aiohttp_client, dataclasses.replace(settings, login_limit_per_ip=(10_000, 60.0)))
    org.idx("/idp/idx/introspect", doc("identify"), repeat=True)
    seen_state, seen_nonce = set(), set()
    for _ in range(1000):
        html = await (await client.get("/login")).text()
        state, nonce = org.interact_form["state"], org.interact_form["nonce"]
        assert state not in html and nonce not in html
        seen_state.add(state)
        seen_nonce.add(nonce)
    assert len(seen_state) == 1000 and len(seen_nonce) == 1000


# --- 3, 4, 5: the callback ---------------------------------------------------------------


async def test_03_callback_with_a_wrong_or_missing_state_exchanges_nothing(client, org):
    await start(client, org)
    for query in ({"interaction_code": "c", "state": "forged"}, {"interaction_code": "c"}):
        resp = await client.get("/login/callback", params=query)
        assert resp.status == 400
    assert "/oauth2/default/v1/token" not in org.paths()


async def test_04_callback_without_a_transaction_is_rejected(client, org):
    resp = await client.get("/login/callback", params={"interaction_code": "c", "state": "s"})
    assert resp.status == 400
    assert "/oauth2/default/v1/token" not in org.paths()


async def test_05_35_replayed_callback_exchanges_once_and_lands_on_a_query_less_path(client, org):
    await start(client, org)
    state = org.interact_form["state"]
    first = await client.get(
        "/login/callback", params={"interaction_code": "idp-code", "state": state}, allow_redirects=False
    )
    assert first.status == 303 and first.headers["Location"] == "/"
    again = await client.get(
        "/login/callback", params={"interaction_code": "idp-code", "state": state}, allow_redirects=False
    )
    assert again.status == 400
    assert org.paths().count("/oauth2/default/v1/token") == 1


# --- 6, 7: what reaches the Identity Engine -----------------------------------------------


async def test_06_state_handle_comes_only_from_server_state(client, org):
    html = await start(client, org)
    assert doc("identify")["stateHandle"] not in html
    assert 'name="stateHandle"' not in html
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    await post_step(client, html, {"identifier": "alice@example.com", "stateHandle": "evil"})
    assert org.bodies("/idp/idx/identify")[0]["stateHandle"] == doc("identify")["stateHandle"]


async def test_07_only_declared_fields_are_forwarded(client, org):
    html = await start(client, org)
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    await post_step(
        client,
        html,
        {"identifier": "a@b.c", "isAdmin": "true", "credentials.passcode": "x", "userProfile.role": "admin"},
    )
    assert org.bodies("/idp/idx/identify")[0] == {
        "identifier": "a@b.c",
        "rememberMe": False,
        "stateHandle": doc("identify")["stateHandle"],
    }


# --- 12-16: ID token checks --------------------------------------------------------------


@pytest.fixture
def keys(signer):
    async def fetch():
        return signer.jwks()

    return oidc.KeySet(fetch)


async def check(token, keys, nonce="n-1"):
    return await oidc.validate_id_token(token, keys, issuer=ISSUER, client_id=CLIENT_ID, nonce=nonce)


async def test_12_only_rs256_is_accepted(signer, keys):
    assert (await check(signer.mint(nonce="n-1"), keys))["sub"] == "00u1alice"
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "x", "nonce": "n-1", "iat": 1, "exp": 2**31}
    public_pem = signer.private.public_key().public_bytes(
        encoding=Encoding.PEM, format=PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = (
        base64.urlsafe_b64encode(b'{"alg":"none","kid":"test-key"}').rstrip(b"=").decode()
        + "."
        + jwt.encode(claims, "k", algorithm="HS256").split(".")[1]
        + "."
    )
    hs256 = jwt.encode(claims, hashlib.sha256(public_pem).digest(), algorithm="HS256", headers={"kid": "test-key"})
    es256 = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "test-key"})
    for token in (unsigned, hs256, es256, "not.a.token", ""):
        with pytest.raises(oidc.InvalidIdToken):
            await check(token, keys)


async def test_12_the_signature_covers_header_and_claims(signer, keys):
    """Claims changed after signing (another subject), a signature moved from another token, a
    private JWK served by mistake (its public half is what checks), claims that are not an object."""
    header, payload, signature = signer.mint(nonce="n-1").split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["sub"] = "00u2mallory"
    forged_part = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    other = signer.mint(nonce="n-1", sub="00u2mallory").split(".")[2]
    for token in (f"{header}.{forged_part}.{signature}", f"{header}.{payload}.{other}"):
        with pytest.raises(oidc.InvalidIdToken, match="bad signature"):
            await check(token, keys)
    not_an_object = jwt.api_jws.encode(b"[1]", signer.private, algorithm="RS256", headers={"kid": "test-key"})
    with pytest.raises(oidc.InvalidIdToken, match="malformed"):
        await check(not_an_object, keys)
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signer.private))

    async def fetch_private():
        return {"keys": [{**private, "kid": "test-key", "alg": "RS256", "use": "sig"}]}

    assert (await check(signer.mint(nonce="n-1"), oidc.KeySet(fetch_private)))["sub"] == "00u1alice"


async def test_14_every_required_claim_is_there(signer, keys):
    for name in ("iss", "aud", "sub", "exp", "iat"):
        with pytest.raises(oidc.InvalidIdToken, match=f"missing claims: {name}"):
            await check(signer.mint(nonce="n-1", **{name: None}), keys)


async def test_13_issuer_must_match_exactly(signer, keys):
    for iss in ("https://org.okta.co", ISSUER + ".evil", ISSUER + "/", "http://localhost:3000"):
        with pytest.raises(oidc.InvalidIdToken):
            await check(signer.mint(nonce="n-1", iss=iss), keys)


async def test_14_audience_must_contain_the_client(signer, keys):
    for aud in ("other", [CLIENT_ID, "other"], [CLIENT_ID, 1], {"aud": CLIENT_ID}, None):
        with pytest.raises(oidc.InvalidIdToken):
            await check(signer.mint(nonce="n-1", aud=aud), keys)
    assert await check(signer.mint(nonce="n-1", aud=[CLIENT_ID, "other"], azp=CLIENT_ID), keys)


async def test_15_times_are_enforced_with_at_most_120_seconds_leeway(signer, keys):
    now = 1_900_000_000

    async def at(offset, **claims):
        token = signer.mint(nonce="n-1", **claims)
        return await oidc.validate_id_token(
            token, keys, issuer=ISSUER, client_id=CLIENT_ID, nonce="n-1", now=now + offset
        )

    assert await at(-1, iat=now - 100, exp=now)  # exp - 1 s: fine
    for offset, claims in (
        (121, {"exp": now, "iat": now - 100}),
        (0, {"nbf": now + 300, "iat": now, "exp": now + 900}),
        (0, {"iat": now + 600, "exp": now + 900}),
    ):
        with pytest.raises(oidc.InvalidIdToken):
            await at(offset, **claims)


async def test_16_nonce_is_required_and_compared_in_constant_time(signer, keys):
    for nonce in (None, "n-2", ""):
        with pytest.raises(oidc.InvalidIdToken):
            await check(signer.mint(nonce=nonce), keys)
    assert "hmac.compare_digest" in (ROOT / "embedded" / "oidc.py").read_text()


async def test_18_unknown_kid_refetches_at_most_once_a_minute(signer):
    fetches = []

    async def fetch():
        fetches.append(1)
        return signer.jwks()

    keys = oidc.KeySet(fetch)
    for i in range(50):
        with pytest.raises(oidc.InvalidIdToken):
            await check(signer.mint(nonce="n-1", headers={"kid": f"random-{i}"}), keys)
    assert len(fetches) == 1
    assert await check(signer.mint(nonce="n-1"), keys)
    assert len(fetches) == 1


async def test_18_sign_ins_arriving_together_on_a_cold_start_wait_for_the_one_fetch(signer):
    """Sixteen ID tokens checked at once before any key is known: one fetch, and every one
    finds the key (they once found none, the fetch being under way and so "recent")."""
    fetches = []

    async def fetch():
        fetches.append(1)
        await asyncio.sleep(0.05)
        return signer.jwks()

    keys = oidc.KeySet(fetch)
    assert all(await asyncio.gather(*(check(signer.mint(nonce="n-1"), keys) for _ in range(16))))
    assert len(fetches) == 1


async def test_18_a_rotated_key_is_picked_up_with_one_refetch():
    old, new = Signer("old"), Signer("new")
    served = [old]
    clock = [0.0]

    async def fetch():
        return served[0].jwks()

    keys = oidc.KeySet(fetch, clock=lambda: clock[0])
    assert await check(old.mint(nonce="n-1"), keys)
    served[0] = new
    clock[0] = 61
    assert await check(new.mint(nonce="n-1"), keys)


# --- 20, 21, 22: the session cookie -------------------------------------------------------


async def test_20_session_id_rotates_at_sign_in_and_the_old_one_is_worthless(client, org):
    await start(client, org)
    before = client.session.cookie_jar.filter_cookies(client.make_url("/"))["embedded"].value
    html = await identify_and_password(client, org, await (await client.get("/login/step")).text())
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    resp = await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    after = client.session.cookie_jar.filter_cookies(client.make_url("/"))["embedded"].value
    assert resp.headers["Location"] == "/" and after != before
    old = await client.get("/", cookies={"embedded": before})
    assert "Alice Anders" not in await old.text()


@pytest.mark.parametrize("cookie", ["flipped", "x" * 5000, "%00%01", "ünïcode", "a;b"])
async def test_21_tampered_or_foreign_cookie_gets_a_new_anonymous_session(client, org, cookie):
    await sign_in(client, org)
    good = client.session.cookie_jar.filter_cookies(client.make_url("/"))["embedded"].value
    value = good[:-1] + ("A" if good[-1] != "A" else "B") if cookie == "flipped" else cookie
    client.session.cookie_jar.clear()
    resp = await client.get("/", headers={"Cookie": f"embedded={value}"})
    assert resp.status == 200 and "Alice Anders" not in await resp.text()
    org.idx("/idp/idx/introspect", doc("identify"))
    resp = await client.get("/login", headers={"Cookie": f"embedded={value}"}, allow_redirects=False)
    assert resp.status == 303 and any("embedded=" in c for c in cookie_headers(resp))


async def test_22_cookie_flags(aiohttp_client, org):
    """The session cookie and the device-token cookie alike: HttpOnly, SameSite, host-only, Secure on https."""
    for redirect, names, secure in (
        ("https://app.example.com/login/callback", {"__Host-embedded", "__Host-embedded-device"}, True),
        ("http://127.0.0.1/login/callback", {"embedded", "embedded-device"}, False),
    ):
        client = await aiohttp_client(create_app(Settings(issuer=ISSUER, client_id=CLIENT_ID, redirect_uri=redirect)))
        org.idx("/idp/idx/introspect", doc("identify"))
        resp = await client.get("/login", allow_redirects=False)
        headers = cookie_headers(resp)
        assert {h.split("=", 1)[0] for h in headers} == names
        for header in headers:
            attrs = [a.strip().lower() for a in header.split(";")]
            assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
            assert not any(a.startswith("domain") for a in attrs)
            assert ("secure" in attrs) is secure
            assert len(header.split(";")[0].split("=", 1)[1]) >= 43  # ≥ 256 bits, base64url


# --- 25, 26, 28, 30, 34 ------------------------------------------------------------------


async def test_25_tokens_never_reach_the_browser(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    final = await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    home = await client.get("/")
    for resp in (final, home):
        blob = (await resp.text()) + repr(dict(resp.headers)) + repr(cookie_headers(resp))
        for sentinel in ("at-sentinel-0001", "rt-sentinel-0001", "ic-test-code-1"):
            assert sentinel not in blob
        assert ".ey" not in blob  # no JWT of any kind


async def test_26_every_post_needs_the_session_csrf_token(client, org, aiohttp_client, settings):
    html = await start(client, org)
    calls = len(org.calls)
    other = await aiohttp_client(create_app(settings))
    org.idx("/idp/idx/introspect", doc("identify"))
    other_html = await (await other.get("/login")).text()
    calls = len(org.calls)
    for token in (None, "wrong", hidden(other_html, "_csrf")):
        data = {"_step": hidden(html, "_step"), "_form": "0", "identifier": "a@b.c"}
        if token is not None:
            data["_csrf"] = token
        resp = await client.post("/login/step", data=data)
        assert resp.status == 403
        assert "Traceback" not in await resp.text()
    resp = await client.post("/logout", data={})
    assert resp.status == 403
    assert len(org.calls) == calls


async def test_28_no_state_change_through_get(client, org):
    await sign_in(client, org)
    resp = await client.get("/logout")  # only a page with the sign-out button
    assert resp.status == 200 and 'action="/logout"' in await resp.text()
    assert "Alice Anders" in await (await client.get("/")).text()
    assert "/oauth2/default/v1/revoke" not in org.paths()


async def test_30_and_34_posts_answer_303_and_pages_are_not_stored(client, org):
    statuses, cache = [], []
    html = await start(client, org)
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    responses = [await post_step(client, html, {"identifier": "alice@example.com"})]
    html = await (await client.get("/login/step")).text()
    org.idx("/idp/idx/challenge/answer", own("success-with-interaction-code.json"))
    responses.append(await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"}))
    csrf = hidden(await (await client.get("/")).text(), "_csrf")
    responses.append(await client.post("/logout", data={"_csrf": csrf}, allow_redirects=False))
    for resp in responses:
        statuses.append(resp.status)
    assert set(statuses) == {303}
    for path in ("/", "/login/step", "/nowhere", "/login/callback?error=access_denied"):
        resp = await client.get(path)
        cache.append(resp.headers.get("Cache-Control"))
    assert cache == ["no-store"] * 4


# --- 36, 38, 39: what pages show ----------------------------------------------------------

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}")


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, tuple]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(sorted(k for k, _ in attrs))))


def tag_shapes(html: str) -> list:
    p = Elements()
    p.feed(html)
    return p.tags


async def test_36_idx_text_is_rendered_escaped(client, org):
    def error_page(text: str) -> dict:
        doc = own("error-challenge-password-incorrect.json")
        passcode = doc["remediation"]["value"][0]["value"][0]["form"]["value"][0]
        passcode["messages"]["value"][0]["message"] = text
        passcode["label"] = text
        doc["user"]["value"]["identifier"] = text
        doc["messages"] = {"type": "array", "value": [{"message": text, "class": "ERROR"}]}
        return doc

    async def shown(doc: dict) -> str:
        client.session.cookie_jar.clear()
        html = await identify_and_password(client, org, await start(client, org))
        org.idx("/idp/idx/challenge/answer", doc, status=401)
        await post_step(client, html, {"credentials.passcode": "x"})
        return await (await client.get("/login/step")).text()

    reference = tag_shapes(await shown(error_page("plain")))
    for payload in PAYLOADS:
        page = await shown(error_page(payload))
        assert (payload not in page) if "<" in payload else (payload in page and ">49<" not in page)
        assert tag_shapes(page) == reference  # no new elements or attributes
        resp = await client.get("/login/callback", params={"error": "access_denied", "error_description": payload})
        text = await resp.text()
        assert (payload not in text) if "<" in payload else ">49<" not in text


def test_38_templates_never_bypass_escaping():
    for path in Path(ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "|safe" not in text.replace(" ", "") and "Markup(" not in text and "autoescape false" not in text, path
        for tag in re.findall(r"<[^>]*{{[^>]*>", text):
            assert not re.search(r"\s[\w:-]+\s*=\s*{{", tag), (
                f"unquoted attribute in {path}: {tag}"
            )  # name={{ ... }} without quotes
    assert "Markup(" not in "".join(p.read_text() for p in (ROOT / "embedded").rglob("*.py"))


async def test_39_password_never_prefilled_and_otp_autocomplete(client, org):
    html = await identify_and_password(client, org, await start(client, org))
    org.idx("/idp/idx/challenge/answer", own("error-challenge-password-incorrect.json"), status=401)
    await post_step(client, html, {"credentials.passcode": "Sup3r-secret"})
    page = await (await client.get("/login/step")).text()
    assert re.search(r'<input type="password"[^>]*value=""', page) and "Sup3r-secret" not in page
    assert "onpaste" not in page
    from embedded import forms
    from embedded.idx_models import parse

    email = parse(doc("challenge-email"))
    controls = forms.form_view(email.remediations[0], "0").controls
    assert any(c.autocomplete == "one-time-code" for c in controls)


async def test_39_identifier_is_kept_after_an_error(client, org):
    html = await start(client, org, doc("identify-with-password"))
    org.idx("/idp/idx/identify", doc("identify-with-password-unknown-user"), status=400)
    await post_step(client, html, {"identifier": "someone@example.com", "credentials.passcode": "pw"})
    page = await (await client.get("/login/step")).text()
    assert 'value="someone@example.com"' in page and 'value="pw"' not in page


# --- 44: nothing secret in the logs --------------------------------------------------------


async def test_44_secrets_never_logged(client, org, caplog):
    caplog.set_level(logging.DEBUG)
    await sign_in(client, org)
    html = await identify_and_password(client, org, await start(client, org))
    org.fail("/idp/idx/challenge/answer", TimeoutError())
    await post_step(client, html, {"credentials.passcode": "Alice-Passw0rd!"})
    await client.get("/login/callback", params={"interaction_code": "ic-test-code-1", "state": "x"})
    text = "\n".join(r.getMessage() + repr(r.args) + (repr(r.exc_info) if r.exc_info else "") for r in caplog.records)
    handle = doc("identify")["stateHandle"]
    for secret in (*SENTINELS, handle, org.interact_form["state"], org.interact_form["nonce"]):
        assert secret not in text
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert all("?" not in line for line in access)


async def test_access_log_has_no_query_string(client, caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    await client.get("/login/callback", params={"interaction_code": "ic-test-code-1", "state": "s"})
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert lines and all("ic-test-code-1" not in line and "/login/callback" in line for line in lines)


# --- bad input never gives a 500 -----------------------------------------------------------


async def test_missing_cookie_on_a_step_post_is_a_friendly_403(client, org):
    html = await start(client, org)
    client.session.cookie_jar.clear()
    resp = await post_step(client, html, {"identifier": "a@b.c"})
    assert resp.status == 403 and "Start again" in await resp.text()


async def test_08_stale_form_re_renders_the_current_step_without_an_upstream_call(client, org):
    first = await start(client, org)
    await identify_and_password(client, org, first)
    calls = len(org.calls)
    resp = await post_step(client, first, {"identifier": "alice@example.com"})
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"
    page = await (await client.get("/login/step")).text()
    assert "out of date" in page and "okta_password" in page
    assert len(org.calls) == calls


@pytest.mark.parametrize("fields", [{}, {"_form": "9"}, {"_form": "x"}, {"_action": "nope"}, {"credentials": "flat"}])
async def test_missing_extra_or_unknown_fields(client, org, fields):
    html = await start(client, org)
    data = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), **fields}
    org.idx("/idp/idx/identify", own("challenge-password.json"))
    resp = await client.post("/login/step", data=data, allow_redirects=False)
    assert resp.status == 303


@pytest.mark.parametrize(
    "failure",
    [
        {"exception": TimeoutError()},
        {"exception": aiohttp.ClientConnectionError("refused")},
        {"body": "<html>bad gateway</html>", "status": 502},
    ],
)
async def test_upstream_faults_give_a_friendly_page_and_keep_the_transaction(client, org, failure):
    html = await start(client, org)
    if "exception" in failure:
        org.fail("/idp/idx/identify", failure["exception"])
    else:
        org.idx("/idp/idx/identify", failure["body"], status=failure["status"])
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    text = await resp.text()
    assert resp.status in (502, 503) and "Traceback" not in text and "aiohttp" not in text and "bad gateway" not in text
    assert "not answering" in text and resp.headers["X-Frame-Options"] == "DENY"
    # The transaction survives: the same page can be submitted again.
    await identify_and_password(client, org, html)


async def test_rate_limited_step_is_shown_again_with_nothing_lost(client, org):
    html = await start(client, org)
    org.idx("/idp/idx/identify", '{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit"}', status=429)
    resp = await post_step(client, html, {"identifier": "alice@example.com"})
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"
    page = await (await client.get("/login/step")).text()
    assert "nothing you did is lost" in page and 'name="identifier"' in page
    await identify_and_password(client, org, page)


async def test_interact_refused_gives_a_friendly_page(client, org):
    org.mock._matches.clear()  # nothing answers: discovery itself fails
    resp = await client.get("/login")
    assert resp.status in (502, 503) and "Traceback" not in await resp.text()


async def test_callback_with_an_error_is_a_friendly_page(client, org):
    resp = await client.get(
        "/login/callback",
        params={"error": "access_denied", "error_description": "User is not assigned to the client application."},
    )
    text = await resp.text()
    assert resp.status == 400 and "<code>access_denied</code>" in text and "The sign-in was declined." in text
    assert "User is not assigned" not in text  # anyone can write a description into a link


async def test_unknown_routes_and_methods_get_pages_with_headers(client, org):
    for method, path, status in (("GET", "/nowhere", 404), ("DELETE", "/login", 405), ("PUT", "/login/step", 405)):
        resp = await client.request(method, path)
        assert resp.status == status
        assert (
            resp.headers["X-Frame-Options"] == "DENY"
            and "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        )
        assert "Traceback" not in await resp.text()


# --- 31, 32, 33, 42: headers on every answer, body limits ----------------------------------


async def test_31_32_33_security_headers_on_every_status(client, org):
    html = await start(client, org)
    responses = [
        await client.get("/"),
        await client.get("/login/step"),
        await client.get("/login/callback", params={"error": "access_denied"}),
        await client.get("/nowhere"),
        await client.delete("/login"),
        await post_step(client, html, {"identifier": "a@b.c"}, form="7"),
        await client.post("/login/step", data={"_csrf": "wrong"}),
    ]
    nonces = set()
    for resp in responses:
        h = resp.headers
        csp = h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and h["X-Frame-Options"] == "DENY", resp.url
        assert (
            "default-src 'none'" in csp
            and "base-uri 'none'" in csp
            and "object-src 'none'" in csp
            and "form-action 'self'" in csp
        )
        assert "unsafe" not in csp
        nonces.add(re.search(r"'nonce-([^']+)'", csp).group(1))
        assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "no-referrer"
        assert h["Cross-Origin-Opener-Policy"] == "same-origin"
        assert (
            not re.search(r"aiohttp/\d", h.get("Server", "")) and "Strict-Transport-Security" not in h
        )  # plain http here
        if h.get("Content-Type", "").startswith("text/html"):
            assert "charset=utf-8" in h["Content-Type"]
    assert len(nonces) == len(responses)  # a fresh nonce every time


async def test_33_hsts_when_served_over_https(aiohttp_client, org):
    client = await aiohttp_client(
        create_app(Settings(issuer=ISSUER, client_id=CLIENT_ID, redirect_uri="https://app.example.com/login/callback"))
    )
    resp = await client.get("/")
    assert resp.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


async def test_42_oversized_or_wrongly_typed_bodies_never_reach_upstream(client, org):
    html = await start(client, org)
    calls = len(org.calls)
    big = await post_step(client, html, {"identifier": "x" * (17 * 1024)})  # 17 KiB: over the 16 KiB a form may be
    assert big.status == 413 and "Traceback" not in await big.text()
    fields = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0", "identifier": "a"}
    as_json = await client.post("/login/step", json=fields)
    assert as_json.status == 415
    import aiohttp

    multipart = aiohttp.FormData(fields)
    multipart.add_field("file", b"x", filename="x.bin")  # a file part makes it multipart
    assert (await client.post("/login/step", data=multipart)).status == 415
    long_header = await client.get("/login/step", headers={"X-Long": "x" * 9000})
    assert long_header.status == 400
    assert len(org.calls) == calls
