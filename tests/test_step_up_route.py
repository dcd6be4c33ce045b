"""Issue 22, route-level step-up: `login_required(acr_values=..., max_age=...)` and
`protect(..., step_up={...})` send a person whose sign-in is too weak or too old through step-up
and back to the page, and tell a JSON caller what is required (a 401 as RFC 9470 describes).
End to end through the app against the simulator; the ID token checks behind it are checklist 3
(`acr` and `auth_time` checked when asked for), the way back is checklist 29."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

import embedded
from embedded import policy
from embedded.testing import Tab, signed_in

TWO_FACTORS = "urn:okta:loa:2fa:any"
JSON = {"Accept": "application/json"}
ALICE, ALICE_PASSWORD = "alice@example.com", "Alice-Passw0rd!"  # her policy: a password alone
BOB, BOB_PASSWORD = "bob@example.com", "Bob-Passw0rd!"  # his: a password and an email code


def host(settings: embedded.Settings) -> web.Application:
    app = web.Application()
    embedded.setup(app, settings, prefix="/auth")
    embedded.protect(
        app,
        require="none",
        step_up={"/admin/*": {"acr_values": TWO_FACTORS, "max_age": 300}, "/admin/audit": {"max_age": 600}},
    )

    def page(name: str):
        async def show(request: web.Request) -> web.Response:
            user = embedded.current_user(request)
            assert user is not None
            return web.json_response({"page": name, "acr": user.acr, "amr": list(user.amr), "at": user.auth_time})

        return show

    async def home(request: web.Request) -> web.Response:
        return web.Response(text="home")

    app.router.add_get("/", home)
    app.router.add_get("/account", embedded.login_required(page("account")))
    app.router.add_get("/payments", embedded.login_required(acr_values=TWO_FACTORS)(page("payments")))
    app.router.add_get("/keys", embedded.login_required(max_age=300)(page("keys")))
    app.router.add_get("/admin", page("admin"))
    app.router.add_get("/admin/users", page("admin users"))
    app.router.add_get("/admin/audit", page("admin audit"))
    return app


@pytest.fixture
async def client(aiohttp_client, embedded_simulator):
    return await aiohttp_client(host(embedded_simulator.settings(prefix="/auth")))


async def step_up(tab: Tab, simulator, user: str, password: str) -> Tab:
    """Through the sign-in pages the app sent the tab to, to wherever it sends it back."""
    for _ in range(8):
        if not tab.signing_in:
            return tab
        form = tab.form()
        if "identifier" in form.inputs:
            await tab.submit(identifier=user)
        elif "credentials.passcode" in form.inputs and "okta_password" in (tab.template or ""):
            await tab.submit(credentials__passcode=password)
        elif "credentials.passcode" in form.inputs:
            await tab.submit(credentials__passcode=await simulator.code(user))
        else:
            await tab.choose("Email")
    raise AssertionError(f"still signing in: {tab.template} {tab.text[:300]}")


def login_query(location: str) -> dict[str, list[str]]:
    parts = urlsplit(location)
    assert parts.path == "/auth/login", location
    return parse_qs(parts.query)


async def test_a_one_factor_sign_in_steps_up_to_two_factors_and_comes_back_to_the_page(client, embedded_simulator):
    tab = await signed_in(client, user=ALICE, password=ALICE_PASSWORD, return_to="/account")
    assert tab.path == "/account" and "mfa" not in (await (await client.get("/account")).json())["amr"]
    resp = await client.get("/payments?from=menu", allow_redirects=False)
    assert resp.status == 303
    assert login_query(resp.headers["Location"]) == {"acr_values": [TWO_FACTORS], "return_to": ["/payments?from=menu"]}
    await tab.get("/payments?from=menu")
    assert tab.signing_in  # the step-up starts a sign-in that asks for two factors
    # It says why, and who is signing in again is filled in (their password is not).
    assert tab.shows("confirm it's you") and re.search(r'name="identifier" value="alice@example.com"', tab.html)
    await step_up(tab, embedded_simulator, ALICE, ALICE_PASSWORD)
    assert tab.path == "/payments" and urlsplit(tab.url).query == "from=menu" and tab.status == 200
    resp = await client.get("/payments", allow_redirects=False)  # met now: no second trip
    assert resp.status == 200
    page = await resp.json()
    assert page["page"] == "payments" and page["acr"] == TWO_FACTORS and "mfa" in page["amr"]
    # The Identity Engine was asked for the step-up (checklist 3: the ID token's acr was checked).
    assert embedded_simulator.state.engine.sessions[-1]["acr"] == TWO_FACTORS


async def test_a_json_caller_gets_401_with_what_is_required(client):
    resp = await client.get("/payments", headers=JSON)
    assert resp.status == 401 and (await resp.json()) == {
        "error": "unauthenticated",
        "login": "/auth/login?acr_values=urn%3Aokta%3Aloa%3A2fa%3Aany",
    }
    await signed_in(client, user=ALICE, password=ALICE_PASSWORD)
    resp = await client.get("/payments", headers=JSON)
    assert resp.status == 401 and (await resp.json()) == {
        "error": "step_up_required",
        "acr_values": TWO_FACTORS,
        "max_age": None,
        "login": "/auth/login?acr_values=urn%3Aokta%3Aloa%3A2fa%3Aany",
    }
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'error="insufficient_user_authentication"' in challenge
    assert f'acr_values="{TWO_FACTORS}"' in challenge
    resp = await client.get("/admin/users", headers={"X-Requested-With": "fetch"})
    assert (
        resp.status == 401
        and (await resp.json())["max_age"] == 300
        and 'max_age="300"' in resp.headers["WWW-Authenticate"]
    )
    assert (await client.get("/account", headers=JSON)).status == 200  # a plain guard is met


async def test_two_factors_already_meet_the_route_and_an_old_sign_in_steps_up_again(
    client, embedded_simulator, monkeypatch
):
    tab = await signed_in(client, user=BOB, password=BOB_PASSWORD, code=embedded_simulator.code_for(BOB))
    first = await (await client.get("/payments", allow_redirects=False)).json()  # his policy asks two factors
    assert first["page"] == "payments" and "mfa" in first["amr"] and first["acr"] is None
    assert (await client.get("/keys", allow_redirects=False)).status == 200
    # Six minutes later (the whole process's clock, the simulator's too), the key page wants a fresh sign-in.
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 360)
    resp = await client.get("/keys", allow_redirects=False)
    assert resp.status == 303 and login_query(resp.headers["Location"]) == {"max_age": ["300"], "return_to": ["/keys"]}
    assert (await client.get("/payments", allow_redirects=False)).status == 200  # no max_age there
    await tab.get("/keys")
    await step_up(tab, embedded_simulator, BOB, BOB_PASSWORD)
    assert tab.path == "/keys"
    again = await (await client.get("/keys", allow_redirects=False)).json()
    assert again["at"] >= first["at"] + 360 - 5
    assert embedded_simulator.state.engine.sessions[-1]["max_age"] == 300


async def test_protect_asks_the_most_specific_pattern_and_guards_the_paths_it_names(client, embedded_simulator):
    assert await (await client.get("/")).text() == "home"  # require="none": only step_up's paths are guarded
    resp = await client.get("/admin", allow_redirects=False)  # "/admin/*" covers /admin itself
    assert login_query(resp.headers["Location"]) == {
        "acr_values": [TWO_FACTORS],
        "max_age": ["300"],
        "return_to": ["/admin"],
    }
    resp = await client.get("/admin/audit", allow_redirects=False)  # its own, more specific pattern
    assert login_query(resp.headers["Location"]) == {"max_age": ["600"], "return_to": ["/admin/audit"]}
    tab = await signed_in(client, user=ALICE, password=ALICE_PASSWORD)
    assert (await client.get("/admin/audit", allow_redirects=False)).status == 200  # fresh is enough there
    await tab.get("/admin/users")
    await step_up(tab, embedded_simulator, ALICE, ALICE_PASSWORD)
    assert tab.path == "/admin/users" and (await (await client.get("/admin/users")).json())["acr"] == TWO_FACTORS


@pytest.mark.parametrize(
    "asked",
    [
        {"max_age": 0},
        {"max_age": 59},
        {"max_age": "300"},
        {"max_age": True},
        {"acr_values": "<script>"},
        {"acr_values": ""},
        {"acr_values": "a b c d e f"},
    ],
)
def test_a_requirement_that_cannot_be_met_or_sent_is_a_settings_error(embedded_simulator, asked):
    with pytest.raises(embedded.SettingsError, match="max_age|acr_values"):
        embedded.login_required(**asked)
    app = web.Application()
    embedded.setup(app, embedded_simulator.settings(prefix="/auth"))
    with pytest.raises(embedded.SettingsError, match="max_age|acr_values"):
        embedded.protect(app, step_up={"/admin/*": asked})


def test_a_step_up_rule_names_only_what_it_can_ask(embedded_simulator):
    app = web.Application()
    embedded.setup(app, embedded_simulator.settings(prefix="/auth"))
    for step_up in ({"/admin/*": {"acr": TWO_FACTORS}}, {"/admin/*": TWO_FACTORS}, {"/admin*": {"max_age": 300}}):
        with pytest.raises(embedded.SettingsError):
            embedded.protect(app, step_up=step_up)


NOW = 1_800_000_000


@pytest.mark.parametrize(
    "acr_values, max_age, acr, amr, auth_time, met",
    [
        (None, None, None, ["pwd"], NOW - 10_000, True),
        (TWO_FACTORS, None, None, ["pwd"], NOW, False),
        (TWO_FACTORS, None, None, ["pwd", "email", "mfa"], NOW, True),  # two factors by the amr
        (TWO_FACTORS, None, TWO_FACTORS, ["pwd"], NOW, True),  # the acr asked for
        (TWO_FACTORS, None, "urn:okta:loa:2fa:any:ifpossible", ["pwd"], NOW, False),  # "if possible" is weaker
        ("urn:okta:loa:2fa:any:ifpossible", None, TWO_FACTORS, ["pwd"], NOW, True),
        ("urn:okta:loa:1fa:any", None, None, ["pwd"], NOW, True),
        ("urn:okta:loa:1fa:pwd", None, None, ["otp"], NOW, False),
        ("phr", None, "phrh", ["pop"], NOW, True),
        ("phrh", None, "phr", ["hwk", "mfa"], NOW, False),
        ("custom:gold custom:silver", None, "custom:silver", [], NOW, True),  # one of the values
        ("custom:gold", None, "custom:silver", ["mfa"], NOW, False),
        (None, 300, None, ["pwd"], NOW - 300, True),
        (None, 300, None, ["pwd"], NOW - 301, False),
        (None, 300, None, ["pwd"], None, False),  # no auth_time: nothing says it is fresh
        (None, 300, None, ["pwd"], True, False),
        (TWO_FACTORS, 300, TWO_FACTORS, ["pwd"], NOW - 400, False),
    ],
)
def test_what_meets_a_step_up(acr_values, max_age, acr, amr, auth_time, met):
    assert policy.sign_in_meets(acr_values, max_age, acr=acr, amr=amr, auth_time=auth_time, now=NOW) is met
