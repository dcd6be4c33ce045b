"""The direct mode (EMBEDDED_MODE=direct): the app's own pages signing people in with Okta's Direct
Authentication grants, end to end through the aiohttp app against the simulator, and the pure
core's decisions and ID-token binding checks on their own.

Security-checklist items (../shared/security-checklist.md) cited where they apply."""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
import sys
import time

import pytest
from conftest import demo_settings, serve
from pages import read, totp

from embedded import direct
from embedded.config import Settings, SettingsError
from embedded.keys import SESSION_STORAGE
from embedded.sessions import CODES
from embedded.simulator import SIMULATOR
from embedded.simulator.direct import DIRECT

CAROL_SECRET, OTTO_SECRET = "CAROLCAROLCAROL2", "OTTOOTTOOTTOOTT2"


class Tab:
    """One browser tab on the app, minus the browser: it posts forms as they are on the page."""

    def __init__(self, client, simulator):
        self.client, self.simulator = client, simulator
        self.html, self.path, self.status = "", "", 0
        self.responses = []  # every response the app sent this tab: (status, headers, body)

    async def load(self, resp) -> str:
        self.html, self.path, self.status = await resp.text(), resp.url.path, resp.status
        for hop in (*resp.history, resp):
            self.responses.append((hop.status, dict(hop.headers), await hop.text() if hop is resp else ""))
        assert resp.status < 500 and "Traceback" not in self.html, self.html
        return self.html

    async def get(self, path: str, **kwargs) -> str:
        return await self.load(await self.client.get(path, **kwargs))

    def form(self, form_id: str) -> dict[str, str]:
        found = [f for f in read(self.html).forms if f.hidden.get("_form") == form_id]
        assert found, f"no form {form_id!r} on {self.path}: {[f.hidden for f in read(self.html).forms]}"
        return found[0].hidden

    def options(self, form_id: str, control: str) -> dict[str, str]:
        form = next(f for f in read(self.html).forms if f.hidden.get("_form") == form_id)
        return form.options[control]

    async def submit(self, form_id: str, **fields: str) -> str:
        data = {**self.form(form_id), **{k.replace("__", "."): v for k, v in fields.items()}}
        return await self.load(await self.client.post("/login/step", data=data))

    async def action(self, action_id: str) -> str:
        form = next(f for f in read(self.html).forms if f.hidden.get("_action") == action_id)
        return await self.load(await self.client.post("/login/step", data=form.hidden))

    async def sign_in(self, username: str, password: str = "") -> str:
        await self.get("/login")
        return await self.submit("identify", identifier=username, credentials__passcode=password)

    async def choose(self, method: str) -> str:
        return await self.submit("method", method=method)

    async def outbox(self, to: str, kind: str) -> dict:
        url = f"http://127.0.0.1:{self.simulator.port}/outbox.json"
        resp = await self.client.session.get(url, params={"to": to})
        sent = [m for m in await resp.json() if m["kind"] == kind]
        assert sent, f"nothing sent to {to}"
        return sent[0]

    async def answer_push(self, push: dict, decision: str, number: str | None = None) -> None:
        url = f"http://127.0.0.1:{self.simulator.port}/outbox/push/{push['id']}/{decision}"
        resp = await self.client.session.post(url, data={"answer": number} if number else {})
        assert resp.status < 400, await resp.text()

    @property
    def signed_in(self) -> bool:
        return self.path == "/" and 'data-claim="email"' in self.html

    def says(self, text: str) -> bool:
        return text.lower() in " ".join(" ".join(read(self.html).text).split()).lower()

    def calls(self) -> list[str]:
        return [path for _, path in self.simulator.app[SIMULATOR].calls]


def direct_settings(simulator_port: int, **changes) -> Settings:
    return dataclasses.replace(demo_settings(simulator_port), mode="direct", **changes)


@pytest.fixture
async def tab(aiohttp_client, simulator):
    return Tab(await serve(aiohttp_client, direct_settings(simulator.port)), simulator)


# --- settings and layering --------------------------------------------------------------------


def test_direct_is_a_mode_of_its_own():
    env = {
        "OKTA_IDX_ISSUER": "https://example.okta.com",
        "OKTA_IDX_CLIENTID": "c",
        "OKTA_IDX_REDIRECTURI": "https://a/cb",
    }
    assert Settings.from_env({**env, "EMBEDDED_MODE": "direct"}).mode == "direct"
    with pytest.raises(SettingsError, match="embedded, redirect, direct"):
        Settings.from_env({**env, "EMBEDDED_MODE": "ropc"})


def test_the_direct_core_imports_no_web_framework():
    code = (
        "import sys, embedded.direct; print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'jinja2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- password, and the second factors ------------------------------------------------------------


async def test_alice_signs_in_with_her_password_alone(tab):
    await tab.get("/login")
    assert tab.path == "/login/step" and "<!-- template: steps/identify.html -->" in tab.html
    await tab.submit("identify", identifier="alice@example.com", credentials__passcode="Alice-Passw0rd!")
    assert tab.signed_in and "alice@example.com" in tab.html
    # No IDX at all: one grant, then the keys to check its ID token.
    calls = tab.calls()
    assert not [c for c in calls if "/idp/idx/" in c or c.endswith("/v1/interact")]
    assert calls[-2:] == ["/oauth2/default/v1/token", "/oauth2/default/v1/keys"]
    amr = tab.simulator.app[SIMULATOR].engine.sessions[-1]["amr"]
    assert amr == ["pwd"]


async def test_carol_adds_a_code_from_her_authenticator_app(tab):
    await tab.sign_in("carol@example.com", "Carol-Passw0rd!")
    assert tab.form("method") and set(tab.options("method", "method").values()) == set(direct.METHODS)
    await tab.choose("otp")
    assert "<!-- template: steps/challenge-authenticator.html -->" in tab.html and 'inputmode="numeric"' in tab.html
    await tab.submit("otp", credentials__passcode=totp(CAROL_SECRET))
    assert tab.signed_in and "carol@example.com" in tab.html
    assert tab.simulator.app[SIMULATOR].engine.sessions[-1]["amr"][:2] == ["pwd", "otp"]
    assert [c.rsplit("/", 1)[-1] for c in tab.calls() if "/v1/" in c][-4:] == ["token", "challenge", "token", "keys"]


async def test_oscar_approves_a_push_by_picking_the_number_shown(tab):
    await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
    await tab.choose("push")
    assert "<!-- template: steps/challenge-poll--okta_verify.html -->" in tab.html
    push = await tab.outbox("oscar@example.com", "push")
    number = re.search(r'class="push__number"[^>]*>(\d+)<', tab.html).group(1)
    assert number == push["correct_answer"]  # "pick NN on your phone"
    assert 'data-poll-url="/login/poll"' in tab.html and 'http-equiv="refresh"' in tab.html  # script, or meta refresh
    pending = await (await tab.client.get("/login/poll", headers={"Accept": "application/json"})).json()
    assert pending["changed"] is False and pending["next_ms"] >= 1000
    await tab.answer_push(push, "approve", number)
    time.sleep(1.05)  # the org's poll interval (direct_poll_seconds) has passed
    moved = await (await tab.client.get("/login/poll", headers={"Accept": "application/json"})).json()
    assert moved == {"changed": True, "location": "/", "next_ms": 0}
    assert (await tab.get("/")) and tab.signed_in and "oscar@example.com" in tab.html


async def test_dave_types_the_code_his_phone_got_by_sms_or_voice(tab):
    for channel in ("sms", "voice"):
        await tab.sign_in("dave@example.com", "Dave-Passw0rd!")
        await tab.choose(channel)
        assert "<!-- template: steps/challenge-authenticator--phone_number.html -->" in tab.html
        sent = await tab.outbox("+15550100100", channel)
        await tab.submit("code", credentials__passcode=sent["code"])
        assert tab.signed_in and "dave@example.com" in tab.html
        assert tab.simulator.app[SIMULATOR].engine.sessions[-1]["amr"][1] == {"sms": "sms", "voice": "tel"}[channel]
        await tab.load(await tab.client.post("/logout", data={"_csrf": read(tab.html).forms[-1].hidden["_csrf"]}))


async def test_otto_signs_in_with_a_code_and_no_password(tab):
    await tab.sign_in("otto@example.com")  # the username alone: a code or a push instead
    assert tab.form("method")
    await tab.choose("otp")
    await tab.submit("otp", credentials__passcode=totp(OTTO_SECRET))
    assert tab.signed_in and "otto@example.com" in tab.html
    grants = [c for c in tab.calls() if c.endswith(("/v1/token", "/v1/challenge", "/v1/primary-authenticate"))]
    assert grants == ["/oauth2/default/v1/token"]  # the otp grant with login_hint, nothing before it


async def test_the_first_page_offers_a_code_or_a_push_instead(tab):
    await tab.get("/login")
    await tab.submit("passwordless")
    assert "credentials.passcode" not in tab.html and tab.form("identify")
    await tab.submit("identify", identifier="otto@example.com")
    await tab.choose("otp")
    await tab.submit("otp", credentials__passcode=totp(OTTO_SECRET))
    assert tab.signed_in


# --- what Direct Authentication cannot do --------------------------------------------------------


async def test_email_is_not_offered_by_the_api_and_the_hosted_page_is(tab):
    await tab.sign_in("bob@example.com", "Bob-Passw0rd!")  # bob's second factor is his email
    await tab.choose("email")
    assert "<!-- template: steps/direct-unavailable.html -->" in tab.html and tab.says("codes by email cannot")
    assert 'href="/login/hosted"' in tab.html
    assert not [c for c in tab.calls() if c.endswith("/v1/challenge")]  # nothing asked of the API
    await tab.submit("methods")
    await tab.choose("push")  # the server: unsupported_challenge_type
    assert tab.says("that method is not set up for your account") and 'href="/login/hosted"' in tab.html
    hosted = await tab.client.get("/login/hosted", allow_redirects=False)
    assert hosted.status == 303 and "/oauth2/default/v1/authorize?" in hosted.headers["Location"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/register", "signing up is not possible"),
        ("/recover", "resetting a password is not possible"),
        ("/unlock", "unlocking an account is not possible"),
        ("/activate?token=abc", "links from activation"),
        ("/reset-password?token=abc", "links from activation"),
    ],
)
async def test_registration_recovery_unlock_and_links_offer_the_hosted_page(tab, path, words):
    await tab.get(path)
    assert tab.status == 200 and tab.says(words) and 'href="/login/hosted"' in tab.html
    assert not [c for c in tab.calls() if "/idp/idx/" in c or "/v1/" in c]


async def test_the_first_page_links_to_recovery_and_registration(tab):
    await tab.get("/login")
    await tab.submit("recover")
    assert tab.path == "/recover" and tab.says("resetting a password is not possible")


async def test_a_client_without_the_direct_grants_is_sent_to_the_hosted_page(aiohttp_client, simulator):
    settings = direct_settings(simulator.port, client_id="demo-spa", client_secret=None)
    tab = Tab(await serve(aiohttp_client, settings), simulator)
    await tab.sign_in("alice@example.com", "Alice-Passw0rd!")
    assert tab.says("not allowed to sign you in that way") and 'href="/login/hosted"' in tab.html


async def test_a_step_up_naming_acr_values_goes_through_the_hosted_page(tab):
    resp = await tab.client.get("/login?acr_values=urn:okta:loa:2fa:any", allow_redirects=False)
    assert resp.status == 303 and "/v1/authorize?" in resp.headers["Location"]
    assert "acr_values=urn%3Aokta%3Aloa%3A2fa%3Aany" in resp.headers["Location"]
    resp = await tab.client.get("/login?max_age=300", allow_redirects=False)  # a fresh sign-in: direct grants give one
    assert resp.status == 303 and resp.headers["Location"] == "/login/step"


# --- codes, limits and expiry ---------------------------------------------------------------------


async def test_a_wrong_code_is_said_and_the_right_one_still_works(tab):
    await tab.sign_in("carol@example.com", "Carol-Passw0rd!")
    await tab.choose("otp")
    await tab.submit("otp", credentials__passcode="000000")
    assert tab.says("that code is not right") and 'aria-invalid="true"' in tab.html
    await tab.submit("otp", credentials__passcode="not a code!")  # never sent, never counted
    assert tab.says("does not look like a code")
    await tab.submit("otp", credentials__passcode=totp(CAROL_SECRET))
    assert tab.signed_in


async def test_five_wrong_codes_end_the_transaction(tab):
    """Checklist 10 (ASVS 6.5.1/6.6.3): the cap of five wrong codes per transaction, as in IDX."""
    await tab.sign_in("carol@example.com", "Carol-Passw0rd!")
    await tab.choose("otp")
    for _ in range(4):
        await tab.submit("otp", credentials__passcode="000000")
        assert tab.says("that code is not right")
    await tab.submit("otp", credentials__passcode="000000")
    assert tab.path == "/login/step" and tab.form("identify") and tab.says("too many incorrect codes")
    otp_grants = [c for c in tab.simulator.app[SIMULATOR].calls if c[-1].endswith("/v1/token")]
    assert len(otp_grants) == 6  # the password, then exactly five codes


async def test_the_orgs_lockout_after_wrong_passwords_reads_like_a_wrong_password(tab):
    """Checklist 40 (ASVS 6.3.8): a locked account, an unknown user and a wrong password read the same."""
    for _ in range(5):
        await tab.sign_in("alice@example.com", "wrong")
        assert tab.says("sign-in failed") and tab.form("identify")
    wrong_password = errors(tab.html)
    assert tab.simulator.app[SIMULATOR].org.user("alice@example.com").status == "locked_out"
    await tab.sign_in("alice@example.com", "Alice-Passw0rd!")
    assert not tab.signed_in and errors(tab.html) == wrong_password
    await tab.sign_in("nobody@example.com", "whatever")
    assert errors(tab.html) == wrong_password


def errors(html: str) -> list[str]:
    """The error messages a page says, in order."""
    found = re.findall(r'message--error"[^>]*>([^<]*)<', html)
    assert found, "no error on the page"
    return found


async def test_an_expired_mfa_token_starts_the_sign_in_again(tab):
    await tab.sign_in("carol@example.com", "Carol-Passw0rd!")
    tokens = tab.simulator.app[DIRECT].mfa_tokens
    for token in tokens.values():
        token.expires_at = time.time() - 1
    await tab.choose("otp")  # /v1/challenge: invalid_grant
    assert tab.form("identify") and tab.says("took too long and expired")
    await tab.sign_in("carol@example.com", "Carol-Passw0rd!")
    await tab.choose("otp")
    for token in tokens.values():
        token.expires_at = time.time() - 1
    await tab.submit("otp", credentials__passcode=totp(CAROL_SECRET))  # the grant: invalid_grant, not a wrong code
    assert tab.form("identify") and tab.says("took too long and expired")
    assert tab.simulator.app[SIMULATOR].org.user("carol@example.com").failed_codes == 0


async def test_the_mfa_token_never_reaches_the_browser(tab):
    """Checklist 25 (tokens stay server-side): no body, header or cookie carries the mfa_token
    or the oob_code, at any step, the poll included."""
    await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
    await tab.choose("push")
    poll = await tab.client.get("/login/poll", headers={"Accept": "application/json"})
    tab.responses.append((poll.status, dict(poll.headers), await poll.text()))
    await tab.submit("methods")
    await tab.choose("otp")
    await tab.submit("otp", credentials__passcode="000000")
    secrets_seen = [*tab.simulator.app[DIRECT].mfa_tokens, *tab.simulator.app[DIRECT].oob_codes]
    assert secrets_seen
    for _status, headers, body in tab.responses:
        for secret in secrets_seen:
            assert secret not in body and all(secret not in v for v in headers.values())
    cookies = " ".join(f"{c.key}={c.value}" for c in tab.client.session.cookie_jar)
    assert not any(secret in cookies for secret in secrets_seen)


async def test_polls_are_bounded_by_the_interval_and_the_transaction_limit(aiohttp_client, simulator):
    settings = direct_settings(simulator.port, step_limit_per_transaction=(6, 60.0))
    tab = Tab(await serve(aiohttp_client, settings), simulator)
    await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
    await tab.choose("push")
    before = len(tab.calls())
    answers = []
    for _ in range(10):
        resp = await tab.client.get("/login/poll", headers={"Accept": "application/json"})
        answers.append(await resp.json())
    assert all(a["changed"] is False and a["next_ms"] >= 1 for a in answers)
    assert len(tab.calls()) - before <= 1  # at most one grant inside the org's interval
    for _ in range(8):
        time.sleep(1.05)
        await tab.client.get("/login/poll", headers={"Accept": "application/json"})
    polled = len(tab.calls()) - before
    assert 1 <= polled <= 6  # the transaction's limit (two steps already spent) stops the rest


async def test_a_denied_push_ends_the_sign_in_and_an_expired_one_asks_again(tab):
    await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
    await tab.choose("push")
    for oob in tab.simulator.app[DIRECT].oob_codes.values():
        oob.expires_at = time.time() - 1
    await tab.submit("poll")  # "Check again": expired_token
    assert tab.form("method") and tab.says("expired before it was used")
    await tab.choose("push")
    await tab.answer_push(await tab.outbox("oscar@example.com", "push"), "deny")
    await tab.submit("poll")
    assert tab.form("identify") and tab.says("push notification was denied")


# --- upstream failures --------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["malformed", "drop", "500"])
async def test_a_broken_answer_from_okta_is_the_friendly_upstream_page(tab, fault):
    await tab.get("/login")
    url = f"http://127.0.0.1:{tab.simulator.port}/_sim/faults"
    await tab.client.session.post(url, json={"next": [fault], "paths": ["/oauth2/default/v1/token"]})
    resp = await tab.client.post(
        "/login/step",
        data={**tab.form("identify"), "identifier": "alice@example.com", "credentials.passcode": "Alice-Passw0rd!"},
    )
    assert resp.status in (502, 503) and "template: error.html" in await resp.text()
    await tab.get("/login")  # and the next try goes through
    await tab.submit("identify", identifier="alice@example.com", credentials__passcode="Alice-Passw0rd!")
    assert tab.signed_in


# --- tokens, refresh and sign-out -----------------------------------------------------------------


async def test_tokens_refresh_and_sign_out_as_in_the_embedded_mode(tab, monkeypatch):
    from embedded.web import account

    await tab.sign_in("alice@example.com", "Alice-Passw0rd!")
    assert tab.signed_in
    monkeypatch.setattr(account, "REFRESH_MARGIN_SECONDS", 10**9)  # the access token counts as about to expire
    await tab.get("/profile")
    assert tab.path == "/profile" and "alice@example.com" in tab.html
    assert tab.calls()[-2:] == ["/oauth2/default/v1/token", "/oauth2/default/v1/userinfo"]  # the refresh grant
    state = tab.simulator.app[SIMULATOR]
    await tab.get("/")
    await tab.load(await tab.client.post("/logout", data={"_csrf": read(tab.html).forms[-1].hidden["_csrf"]}))
    assert tab.path == "/" and not tab.signed_in and len(state.revoked) == 2
    assert tab.calls()[-2:] == ["/oauth2/default/v1/revoke", "/oauth2/default/v1/revoke"]
    assert "/oauth2/default/v1/logout" not in tab.calls()  # a direct sign-in leaves no Okta browser session


# --- the pure core ---------------------------------------------------------------------------------


CLIENT = "demo-client"


def claims(**changes):
    now = time.time()
    return {"iat": now, "auth_time": now, "aud": CLIENT, "sub": "00u1", "preferred_username": "Carol@Example.com"} | {
        k: v for k, v in changes.items()
    }


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"preferred_username": "other@example.com", "sub": "carol@example.com"}, None),  # sub names the user
        ({"iat": time.time() - 3600}, "iat is not from this grant"),
        ({"auth_time": time.time() - 3600}, "auth_time is not from this grant"),
        ({"auth_time": None}, "auth_time is not from this grant"),
        ({"aud": [CLIENT, "another"]}, "aud is not this client alone"),
        ({"azp": "another"}, "azp is another client"),
        ({"preferred_username": "mallory@example.com"}, "the token is for another user"),
    ],
)
def test_the_binding_checks_tie_a_token_without_a_nonce_to_this_sign_in(changes, problem):
    granted_at = time.time()
    found = direct.binding_problem(
        claims(**changes), username=" carol@example.com ", client_id=CLIENT, granted_at=granted_at, now=time.time()
    )
    assert found == problem


def test_slow_down_adds_five_seconds_to_the_interval():
    waiting = direct.State(stage="push", interval=5, oob_code="x", method="push")
    outcome = direct.after_grant(waiting, direct.MFA_OOB, direct.Refusal("slow_down"), typed_code=False)
    assert isinstance(outcome, direct.Wait) and outcome.state.interval == 10
    outcome = direct.after_grant(waiting, direct.MFA_OOB, direct.Refusal("authorization_pending"), typed_code=False)
    assert isinstance(outcome, direct.Wait) and outcome.state.interval == 5


def test_an_answer_of_the_wrong_shape_is_malformed():
    state = direct.State(stage="methods", username="oscar@example.com", mfa_token="t")
    with pytest.raises(direct.Malformed):
        direct.after_challenge(state, "push", {"challenge_type": direct.MFA_OOB}, time.time())  # no oob_code
    with pytest.raises(direct.Malformed):
        direct.after_grant(state, direct.PASSWORD, {"access_token": "a"}, typed_code=False)  # no id_token
    with pytest.raises(direct.Malformed):
        direct.after_grant(state, direct.PASSWORD, direct.Refusal("mfa_required"), typed_code=False)  # no mfa_token


def test_the_state_holds_only_what_it_knows():
    state = direct.State(stage="otp", username="u", mfa_token="t")
    assert direct.State.from_json(state.to_json()) == state
    assert direct.State.from_json({"direct": {"stage": "otp", "injected": 1}}) is None
    assert direct.State.from_json({"version": "1.0.0"}) is None  # an IDX response is not a direct state


async def test_a_passwordless_push_goes_through_primary_authenticate(tab):
    await tab.sign_in("otto@example.com")
    await tab.choose("push")  # otto has no Okta Verify: the server answers unsupported_challenge_type
    assert tab.says("that method is not set up for your account") and 'href="/login/hosted"' in tab.html
    assert tab.calls()[-1] == "/oauth2/default/v1/primary-authenticate"
    await tab.submit("methods")
    await tab.choose("otp")
    await tab.submit("otp", credentials__passcode=totp(OTTO_SECRET))
    assert tab.signed_in


# --- sending again, and Okta's send limit -----------------------------------------------------


def code_count(tab: Tab) -> int:
    """The wrong codes the app's session store counts for this transaction (none: no field)."""
    records = tab.client.server.app[SESSION_STORAGE].records()
    return sum(int(fields.get(CODES, "0")) for fields in records)


async def sent(tab: Tab, to: str, kind: str) -> list[dict]:
    """Everything the simulator's outbox sent `to` by `kind`, newest first."""
    url = f"http://127.0.0.1:{tab.simulator.port}/outbox.json"
    resp = await tab.client.session.get(url, params={"to": to})
    return [m for m in await resp.json() if m["kind"] == kind]


async def test_send_again_texts_a_new_code_and_only_the_newest_works_on_the_page(tab):
    """The simulator keeps every oob_code until it expires (a second /v1/challenge revokes none),
    but the page holds only the newest: an older code typed there is checked against the newest
    oob_code, refused and counted as the wrong code it is (ASVS 6.5.1/6.6.2: a code is bound to
    its own request)."""
    for channel in ("sms", "voice"):
        await tab.sign_in("dave@example.com", "Dave-Passw0rd!")
        await tab.choose(channel)
        first = (await sent(tab, "+15550100100", channel))[0]
        await tab.action("resend")
        assert "<!-- template: steps/challenge-authenticator--phone_number.html -->" in tab.html
        newest = await sent(tab, "+15550100100", channel)
        assert newest[1] == first and newest[0]["code"] != first["code"]  # a new message went
        await tab.submit("code", credentials__passcode=first["code"])
        assert tab.says("that code is not right") and code_count(tab) == 1
        await tab.submit("code", credentials__passcode=newest[0]["code"])
        assert tab.signed_in and "dave@example.com" in tab.html
        await tab.load(await tab.client.post("/logout", data={"_csrf": read(tab.html).forms[-1].hidden["_csrf"]}))


async def test_send_again_pushes_a_new_number_and_the_old_push_no_longer_counts(tab):
    await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
    await tab.choose("push")
    first = (await sent(tab, "oscar@example.com", "push"))[0]
    await tab.action("resend")
    newest = (await sent(tab, "oscar@example.com", "push"))[0]
    assert newest["id"] != first["id"]
    assert re.search(r'class="push__number"[^>]*>(\d+)<', tab.html).group(1) == newest["correct_answer"]
    await tab.answer_push(first, "approve", first["correct_answer"])  # the page no longer waits for it
    time.sleep(1.05)
    await tab.submit("poll")
    assert not tab.signed_in and "challenge-poll--okta_verify.html" in tab.html
    await tab.answer_push(newest, "approve", newest["correct_answer"])
    time.sleep(1.05)
    await tab.submit("poll")
    assert tab.signed_in and "oscar@example.com" in tab.html


@pytest.mark.parametrize(
    ("who", "password", "method", "to", "template"),
    [
        ("dave@example.com", "Dave-Passw0rd!", "sms", "+15550100100", "challenge-authenticator--phone_number.html"),
        ("oscar@example.com", "Oscar-Passw0rd!", "push", "oscar@example.com", "challenge-poll--okta_verify.html"),
    ],
)
async def test_past_the_send_limit_okta_says_wait_and_the_step_stays(tab, who, password, method, to, template):
    """The simulator sends at most five pushes / SMS to one user in its window, then answers as Okta
    answers a rate limit (429, E0000047, Retry-After). Checklist 41/46 (ASVS 16.5.2): a clear
    message, no 500, the transaction and its newest message kept, nothing counted as a wrong code."""
    await tab.sign_in(who, password)
    await tab.choose(method)
    for _ in range(4):
        await tab.action("resend")
    assert len(await sent(tab, to, method)) == 5
    challenges = len([c for c in tab.calls() if c.endswith("/v1/challenge")])
    await tab.action("resend")  # the sixth: 429
    assert [c for c in tab.calls() if c.endswith("/v1/challenge")][challenges:] == ["/oauth2/default/v1/challenge"]
    assert tab.status == 200 and f"<!-- template: steps/{template} -->" in tab.html
    assert tab.says("too many codes or notifications") and tab.says("wait a few minutes")
    assert len(await sent(tab, to, method)) == 5 and code_count(tab) == 0
    newest = (await sent(tab, to, method))[0]
    if method == "push":  # the fifth push still signs in
        await tab.answer_push(newest, "approve", newest["correct_answer"])
        time.sleep(1.05)
        await tab.submit("poll")
    else:
        await tab.submit("code", credentials__passcode=newest["code"])
    assert tab.signed_in and who in tab.html


# --- hostile form input -------------------------------------------------------------------------

STAGES = {
    "identify": ("", "", None),
    "methods": ("carol@example.com", "Carol-Passw0rd!", None),
    "otp": ("carol@example.com", "Carol-Passw0rd!", "otp"),
    "code": ("dave@example.com", "Dave-Passw0rd!", "sms"),
    "push": ("oscar@example.com", "Oscar-Passw0rd!", "push"),
}


def hostile_bodies(hidden: dict[str, str]) -> list[bytes | list[tuple[str, str]]]:
    """Each direct form's fields left out, repeated, oversized, or not UTF-8 at all, keeping the
    page's own token and version so each gets past the CSRF check to the direct handler."""
    token, step = hidden["_csrf"], hidden["_step"]
    base = [("_csrf", token), ("_step", step)]
    # Each stage's own form before "methods", which goes back to the list of methods.
    forms = ("otp", "code", "poll", "identify", "passwordless", "method", "recover", "nonsense", "methods")
    bodies: list[bytes | list[tuple[str, str]]] = [base, [*base, ("_action", "resend\n" * 50)]]
    for form in forms:
        bodies += [
            [*base, ("_form", form)],  # every other field missing
            [*base, ("_form", form), ("_form", "identify"), ("method", "sms"), ("method", "email")],
            [*base, ("_form", form), ("identifier", ""), ("identifier", "carol@example.com")],
            [*base, ("_form", form), ("identifier", "x" * 12_000), ("credentials.passcode", "")],
            [*base, ("_form", form), ("credentials.passcode", "9" * 12_000), ("method", "m" * 2_000)],
            [*base, ("_form", form), ("credentials.passcode", "12\x0034"), ("identifier", "a\r\nb@example.com\x00")],
        ]
        raw = f"_csrf={token}&_step={step}&_form={form}".encode()
        bodies += [raw + b"&identifier=%FF%FE%C0&credentials.passcode=%ED%A0%80", raw + b"&identifier=\xff\xfe\x80"]
    bodies += [[("_csrf", token), ("_step", "1" * 5_000), ("_form", "identify")], [*base[:1], ("_step", "")]]
    return bodies


def accounts(tab: Tab) -> list[tuple[str, int, str]]:
    return [(u.login, u.failed_codes, u.status) for u in tab.simulator.app[SIMULATOR].org.users]


@pytest.mark.parametrize("stage", STAGES)
async def test_hostile_form_input_gets_a_page_never_a_500(aiohttp_client, simulator, stage):
    """Checklist 42 and §3 fuzzing (ASVS 16.5.1): missing, repeated, oversized and non-UTF-8 fields,
    starting at each direct stage (each body posted with the version then on the page, so it reaches
    the handler): a page or a redirect, never a 5xx or a traceback, and nothing that is not a code
    sent or counted as one."""
    settings = direct_settings(simulator.port, step_limit_per_ip=(10_000, 60.0))  # each body reaches the handler
    tab = Tab(await serve(aiohttp_client, settings), simulator)
    who, password, method = STAGES[stage]
    await (tab.sign_in(who, password) if who else tab.get("/login"))
    if method:
        await tab.choose(method)
    before = accounts(tab)
    count = len(hostile_bodies({"_csrf": "", "_step": ""}))
    for index in range(count):
        hidden = next(f for f in read(tab.html).forms if f.hidden.get("_step")).hidden
        body = hostile_bodies(hidden)[index]
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if isinstance(body, bytes) else None
        resp = await tab.client.post("/login/step", data=body, headers=headers, allow_redirects=False)
        text = await resp.text()
        assert resp.status in (303, 400) and "Traceback" not in text, (stage, body, resp.status, text[:300])
        await tab.get("/login/step")
    assert code_count(tab) == 0
    assert accounts(tab) == before  # no wrong code reached the org, nobody was locked out


async def test_check_again_sooner_than_the_interval_asks_okta_nothing(tab):
    """RFC 8628 §3.5: a client polls no faster than the interval. "Check again" pressed twice in a
    row polls once (a second grant would earn slow_down and push the page's interval out by 5 s)."""
    await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
    await tab.choose("push")
    before = len(tab.calls())
    await tab.submit("poll")  # authorization_pending: not before the interval again
    await tab.submit("poll")
    assert tab.calls()[before:] == ["/oauth2/default/v1/token"] and "challenge-poll--okta_verify.html" in tab.html
    push = (await sent(tab, "oscar@example.com", "push"))[0]
    await tab.answer_push(push, "approve", push["correct_answer"])
    time.sleep(1.05)
    await tab.submit("poll")
    assert tab.signed_in


async def test_the_event_log_names_only_the_direct_forms(tab, caplog):
    """Checklist 45 (ASVS 16.4.1): a posted form name is logged only when it is one of the direct
    pages' own; anything else an outsider posts is "other", never its text."""
    await tab.get("/login")
    hidden = tab.form("identify")
    with caplog.at_level("INFO", logger="embedded.audit"):
        await tab.load(await tab.client.post("/login/step", data={**hidden, "_form": "x\ninjected=1 " + "y" * 500}))
        await tab.submit("passwordless")
    steps = [r.audit for r in caplog.records if getattr(r, "audit", {}).get("event") == "signin.step"]
    assert [s["form"] for s in steps] == ["other", "passwordless"]
    assert not any("injected" in r.getMessage() for r in caplog.records)


async def test_no_secret_reaches_a_log_line(tab, caplog):
    """Checklist 44 (ASVS 16.2.5): passwords, codes, the mfa_token and the oob_code appear in no
    log record, formatted with any exception, the access log included, on the way in and on the
    failure paths (a wrong password, a wrong code, a code sent again, a push polled)."""
    direct_auth = tab.simulator.app[DIRECT]
    issued: set[str] = set()  # every mfa_token and oob_code, gathered before a grant spends them

    def gather() -> None:
        issued.update(direct_auth.mfa_tokens, direct_auth.oob_codes)

    with caplog.at_level("DEBUG"):
        await tab.sign_in("oscar@example.com", "wrong-Passw0rd!")
        await tab.sign_in("dave@example.com", "Dave-Passw0rd!")
        await tab.choose("sms")
        gather()
        await tab.submit("code", credentials__passcode="13579")
        await tab.action("resend")
        gather()
        await tab.submit("code", credentials__passcode=(await sent(tab, "+15550100100", "sms"))[0]["code"])
        assert tab.signed_in
        await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
        await tab.choose("push")
        await tab.client.get("/login/poll", headers={"Accept": "application/json"})
        gather()
    codes = [m["code"] for m in await sent(tab, "+15550100100", "sms")]
    secrets_seen = [*issued, *codes, "Dave-Passw0rd!", "Oscar-Passw0rd!", "wrong-Passw0rd!", "13579"]
    assert len(issued) == 5 and len(codes) == 2  # dave's and oscar's mfa_tokens, two SMS and a push
    formatter = logging.Formatter("%(name)s %(message)s %(audit)s")
    assert {"aiohttp.access", "embedded.audit"} <= {r.name for r in caplog.records}
    for record in caplog.records:
        record.__dict__.setdefault("audit", "")
        line = formatter.format(record)
        assert not [s for s in secrets_seen if s in line], line


async def test_an_expired_password_reads_as_a_failed_sign_in(tab):
    """The simulator answers irene's right but expired password with invalid_grant, the error a wrong
    password gets; only its error_description (free text, not part of Okta's documented contract)
    says why. The app does not guess from that text: the page is the one a wrong password gets
    (checklist 40, ASVS 6.3.8); its "Forgot your password?" still leads to the hosted page."""
    await tab.sign_in("irene@example.com", "Irene-Passw0rd!")
    expired = errors(tab.html)
    assert tab.form("identify") and tab.form("recover") and tab.says("sign-in failed")
    await tab.sign_in("irene@example.com", "not-her-password")
    assert errors(tab.html) == expired


async def test_a_poll_okta_throttles_waits_its_retry_after(tab):
    """Checklist §3 faults (Retry-After honoured): a push poll answered 429 with Retry-After: 1 is
    tried again a second later, not a minute, and the next one goes through."""
    await tab.sign_in("oscar@example.com", "Oscar-Passw0rd!")
    await tab.choose("push")
    url = f"http://127.0.0.1:{tab.simulator.port}/_sim/faults"
    await tab.client.session.post(url, json={"next": ["429"], "paths": ["/oauth2/default/v1/token"]})
    throttled = await (await tab.client.get("/login/poll", headers={"Accept": "application/json"})).json()
    assert throttled["changed"] is False and 0 < throttled["next_ms"] <= 1100  # not a minute
    push = (await sent(tab, "oscar@example.com", "push"))[0]
    await tab.answer_push(push, "approve", push["correct_answer"])
    time.sleep(1.05)
    moved = await (await tab.client.get("/login/poll", headers={"Accept": "application/json"})).json()
    assert moved == {"changed": True, "location": "/", "next_ms": 0}
