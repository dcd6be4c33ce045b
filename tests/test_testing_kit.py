"""embedded.testing, the kit host apps test with: `idx_replay` plays a script in order and checks
what Okta checks (PKCE S256, state, the interaction and state handles, the interaction code) and
what the test typed against what was recorded (a secret only for being given), fails a test that
strays from its script with a readable diff at the test's own line, issues ID tokens the app
accepts; `embedded_simulator` and its helpers; `signed_in`; nothing left running afterwards; the
README documents every helper."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap

import aiohttp
import jwt
import pytest
from aiohttp import web
from conftest import RECORDED, ROOT

import embedded
import embedded.testing
from embedded.oidc import new_verifier, s256
from embedded.testing import DEMO_RECORDINGS, IdxReplay, SimulatorHandle, Tab, settings_for, signed_in
from embedded.testing.script import secret_fields, typed_mismatches

IDENTIFY = RECORDED.document("password", 0)
PASSWORD = RECORDED.document("password", 1)
SUCCESS = RECORDED.document("password", 2)


def host(settings: embedded.Settings) -> web.Application:
    """The smallest host: sign-in at /auth and one protected page."""

    @embedded.login_required
    async def private(request: web.Request) -> web.Response:
        user = embedded.current_user(request)
        assert user is not None
        return web.Response(text=f"Hello {user.email}")

    app = web.Application()
    embedded.setup(app, settings, prefix="/auth")
    app.router.add_get("/private", private)
    return app


async def test_a_recorded_sequence_signs_a_person_in_through_the_host(aiohttp_client, idx_replay):
    idx_replay.play_recorded(RECORDED.directory, "password")
    client = await aiohttp_client(host(idx_replay.settings(prefix="/auth")))
    tab = await signed_in(client, user="alice@example.com", password="Alice-Passw0rd!", return_to="/private")
    # The recording names a stand-in (user-1@example.com); the first value typed for it fixes it,
    # and the documents served and the ID token then name that value.
    assert SUCCESS["user"]["value"]["identifier"] == "user-1@example.com"
    assert tab.path == "/private" and tab.html == "Hello alice@example.com"
    assert idx_replay.people["user-1@example.com"] == "alice@example.com"
    idx_replay.assert_done()
    assert [c.call for c in idx_replay.calls] == [
        "GET /oauth2/default/.well-known/openid-configuration",
        "POST /oauth2/default/v1/interact",
        "POST /idp/idx/introspect",
        "POST /idp/idx/identify",
        "POST /idp/idx/challenge/answer",
        "POST /oauth2/default/v1/token",
        "GET /oauth2/default/v1/keys",
    ]
    assert idx_replay.bodies("/idp/idx/identify") == [
        {"identifier": "alice@example.com", "rememberMe": False, "stateHandle": IDENTIFY["stateHandle"]}
    ]
    assert idx_replay.bodies("/idp/idx/challenge/answer")[0]["credentials"] == {"passcode": "Alice-Passw0rd!"}


async def test_a_script_of_documents_with_statuses_and_widget_hrefs(aiohttp_client, idx_replay):
    wrong = RECORDED.document("password-wrong-then-right", 2)
    idx_replay.play(
        [
            ("/idp/idx/introspect", IDENTIFY),
            ("/idp/idx/identify", PASSWORD),
            {"call": "POST /idp/idx/challenge/answer", "body": wrong, "status": 401},
        ]
    )
    client = await aiohttp_client(host(settings_for(idx_replay)))
    tab = Tab(client)
    await tab.get("/auth/login")
    await tab.submit(identifier="alice@example.com")
    await tab.submit(credentials__passcode="not-it")
    assert tab.path == "/auth/login/step" and tab.form().name == "challenge-authenticator" and tab.status == 200
    idx_replay.assert_done()
    served = [s.source for s in idx_replay.served]
    assert served == ["step 1", "step 2", "step 3"]


# --- what Okta checks --------------------------------------------------------------------------


async def interact(http: aiohttp.ClientSession, replay: IdxReplay, **overrides: str) -> tuple[int, dict]:
    verifier = new_verifier()
    form = {
        "client_id": replay.client_id,
        "client_secret": replay.client_secret or "",
        "scope": "openid email",
        "redirect_uri": "http://127.0.0.1/auth/login/callback",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "state": "s" * 43,
        "nonce": "n" * 43,
        **overrides,
    }
    async with http.post(replay.issuer + "/v1/interact", data=form) as resp:
        return resp.status, {**await resp.json(), "verifier": verifier}


async def post(http: aiohttp.ClientSession, url: str, body: dict) -> tuple[int, dict]:
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.json()


async def test_pkce_state_and_handles_are_checked_as_okta_checks_them():
    async with IdxReplay() as replay, aiohttp.ClientSession() as http:
        status, answer = await interact(http, replay, code_challenge_method="plain")
        assert status == 400 and answer["error"] == "invalid_request"
        status, _ = await interact(http, replay, state="")
        assert status == 400
        status, _ = await interact(http, replay, client_secret="wrong")
        assert status == 401
        assert (
            len(replay.problems) == 3
            and "S256" in replay.problems[0]
            and "no state" in replay.problems[1]
            and "secret" in replay.problems[2]
        )
        replay.problems.clear()

        replay.play(
            [("/idp/idx/introspect", IDENTIFY), ("/idp/idx/identify", PASSWORD), ("/idp/idx/challenge/answer", SUCCESS)]
        )
        status, started = await interact(http, replay)
        assert status == 200
        status, _ = await post(http, replay.origin + "/idp/idx/introspect", {"interactionHandle": "someone-elses"})
        assert status == 401 and "interactionHandle" in replay.problems.pop()
        status, doc = await post(
            http, replay.origin + "/idp/idx/introspect", {"interactionHandle": started["interaction_handle"]}
        )
        assert status == 200 and doc["remediation"]["value"][0]["href"] == replay.origin + "/idp/idx/identify"
        status, _ = await post(http, replay.origin + "/idp/idx/identify", {"identifier": "a", "stateHandle": "forged"})
        assert status == 401 and "stateHandle 'forged'" in replay.problems.pop()
        await post(http, replay.origin + "/idp/idx/identify", {"identifier": "a", "stateHandle": doc["stateHandle"]})
        status, success = await post(
            http,
            replay.origin + "/idp/idx/challenge/answer",
            {"credentials": {"passcode": "x"}, "stateHandle": doc["stateHandle"]},
        )
        code = next(
            f["value"] for f in success["successWithInteractionCode"]["value"] if f["name"] == "interaction_code"
        )
        token = {
            "grant_type": "interaction_code",
            "client_id": replay.client_id,
            "client_secret": replay.client_secret or "",
        }
        async with http.post(
            replay.issuer + "/v1/token", data={**token, "interaction_code": code, "code_verifier": new_verifier()}
        ) as resp:
            assert resp.status == 400 and (await resp.json())["error_description"] == "PKCE verification failed."
        assert "code_verifier" in replay.problems.pop()
        replay.claims["amr"] = ["pwd", "mfa"]
        async with http.post(
            replay.issuer + "/v1/token", data={**token, "interaction_code": code, "code_verifier": started["verifier"]}
        ) as resp:
            assert resp.status == 200
            tokens = await resp.json()
        keys = await (await http.get(replay.issuer + "/v1/keys")).json()
        claims = jwt.decode(
            tokens["id_token"],
            jwt.PyJWK(keys["keys"][0]).key,
            algorithms=["RS256"],
            audience=replay.client_id,
            issuer=replay.issuer,
        )
        assert (
            claims["nonce"] == "n" * 43 and claims["amr"] == ["pwd", "mfa"] and "refresh_token" not in tokens
        )  # no offline_access asked
        assert (
            claims["sub"] == SUCCESS["user"]["value"]["id"]
            and claims["email"] == SUCCESS["user"]["value"]["identifier"]
        )
        async with http.post(
            replay.issuer + "/v1/token", data={**token, "interaction_code": code, "code_verifier": started["verifier"]}
        ) as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_grant"  # once only
        assert "already used" in replay.problems.pop() and replay.problems == []
        replay.assert_done()


async def test_a_call_beyond_the_script_is_answered_500_and_reported_with_a_diff():
    async with IdxReplay() as replay, aiohttp.ClientSession() as http:
        replay.play([("/idp/idx/introspect", IDENTIFY), ("/idp/idx/identify", PASSWORD)])
        _, started = await interact(http, replay)
        _, doc = await post(
            http, replay.origin + "/idp/idx/introspect", {"interactionHandle": started["interaction_handle"]}
        )
        status, _ = await post(http, replay.origin + "/idp/idx/challenge", {"stateHandle": doc["stateHandle"]})
        assert status == 500
        with pytest.raises(AssertionError) as failure:
            replay.check()
        report = str(failure.value)
        assert (
            "unexpected call 2: POST /idp/idx/challenge" in report
            and "expected: POST /idp/idx/identify  (step 2)" in report
        )
        assert "--- script\n+++ app" in report and "\n-POST /idp/idx/identify\n+POST /idp/idx/challenge" in report


HOST_TEST = """
import pytest
from aiohttp import web

import embedded
from embedded.testing import DEMO_RECORDINGS, Tab, signed_in


def host(settings):
    app = web.Application()
    embedded.setup(app, settings, prefix="/auth")
    return app


@pytest.mark.asyncio
async def test_follows_the_script(aiohttp_client, idx_replay):
    idx_replay.play_recorded(DEMO_RECORDINGS, "password")
    client = await aiohttp_client(host(idx_replay.settings()))
    await signed_in(client, user="alice@example.com", password="any: a replay cannot check a secret")


@pytest.mark.asyncio
async def test_strays_from_the_script(aiohttp_client, idx_replay):
    idx_replay.play_recorded(DEMO_RECORDINGS, "email-code")
    client = await aiohttp_client(host(idx_replay.settings()))
    tab = Tab(client)
    await tab.get("/auth/login")
    await tab.submit(identifier="bob@example.com")
    await tab.action("cancel")  # not what was recorded: the plugin fails the test


@pytest.mark.asyncio
async def test_types_someone_else(aiohttp_client, idx_replay):
    idx_replay.play_recorded(DEMO_RECORDINGS, "password")
    client = await aiohttp_client(host(idx_replay.settings()))
    tab = await signed_in(client, user="mallory@example.com", password="Alice-Passw0rd!")
    assert tab.path == "/"  # the test goes on and passes its own checks; the plugin fails it above
"""


def failure_of(test: str, out: str) -> str:
    """One test's section of pytest's failure report."""
    return re.search(rf"_+ {test} _+\n(.*?)(?=\n_{{5,}} |\n=+ short test summary)", out, re.S).group(1)


def test_a_host_test_that_strays_fails_at_its_own_line_and_one_that_follows_passes(tmp_path):
    """In a host project of its own (strict asyncio mode, the plugin loaded by its entry point,
    the package's own demo recordings): a mismatch's traceback starts at the test's line that
    made the call, not inside the plugin."""
    (tmp_path / "test_host.py").write_text(textwrap.dedent(HOST_TEST))
    lines = HOST_TEST.splitlines()  # the file starts with the same blank line
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=strict",
            "-W",
            "ignore::DeprecationWarning",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = re.sub(r"(?m)^E {7}", "", done.stdout)  # the failure's own lines, without pytest's margin (a test body's)
    assert done.returncode == 1 and "2 failed, 1 passed" in out, out
    assert "FAILED test_host.py::test_strays_from_the_script" in out
    assert "ScriptMismatch: idx_replay: unexpected call 3: POST /idp/idx/cancel" in out
    for test, statement in [
        ("test_strays_from_the_script", 'await tab.action("cancel")'),
        ("test_types_someone_else", 'tab = await signed_in(client, user="mallory@example.com"'),
    ]:
        failure = failure_of(test, out)
        line = next(i for i, text in enumerate(lines, 1) if statement in text)
        assert f">       {statement}" in failure and f"test_host.py:{line}: ScriptMismatch" in failure, failure
        assert "plugin.py" not in failure and "replay.py" not in failure
    assert (
        "POST /idp/idx/identify (step 2, password/02-identify.json): identifier: the test typed "
        "'mallory@example.com', but the recording's 'user-1@example.com' is 'alice@example.com'"
    ) in failure_of("test_types_someone_else", out)
    assert "expected: POST /idp/idx/challenge/answer  (email-code/03-challenge-answer.json)" in out
    diff = " POST /idp/idx/identify\n-POST /idp/idx/challenge/answer\n-POST /idp/idx/challenge/answer\n"
    assert diff + "+POST /idp/idx/cancel" in out


# --- what the test typed ----------------------------------------------------------------------


async def test_a_password_is_checked_for_being_given_never_for_its_value(aiohttp_client):
    """signed_in(password="x") against a recorded success passes: a replay cannot know the
    password (the recording keeps none), only that one was given."""
    async with IdxReplay() as replay:
        replay.play_recorded(DEMO_RECORDINGS, "password")
        client = await aiohttp_client(host(replay.settings()))
        tab = await signed_in(client, user="alice@example.com", password="x", return_to="/private")
        assert tab.html == "Hello alice@example.com" and replay.problems == []
        replay.assert_done()

        replay.reset().play_recorded(DEMO_RECORDINGS, "password")
        with pytest.raises(AssertionError, match="alice@example.com is asked for a password; pass password="):
            await signed_in(await aiohttp_client(host(replay.settings())), user="alice@example.com")

        replay.reset().play_recorded(DEMO_RECORDINGS, "password")
        tab = Tab(await aiohttp_client(host(replay.settings())))
        await tab.get("/auth/login")
        await tab.submit(identifier="alice@example.com")
        await tab.submit(credentials__passcode="")  # the form posted with the password left empty
        assert replay.problems == [
            "POST /idp/idx/challenge/answer (step 3, password/03-challenge-answer.json): "
            "credentials.passcode: a secret the recording has, but the test gave none"
        ]


async def test_the_identifier_and_the_method_chosen_must_be_the_recorded_ones(aiohttp_client):
    async with IdxReplay() as replay:
        replay.play_recorded(DEMO_RECORDINGS, "okta-verify-push")
        tab = Tab(await aiohttp_client(host(replay.settings())))
        await tab.get("/auth/login")
        await tab.submit(identifier="oscar@example.com")
        assert tab.shows("oscar@example.com") and not tab.shows("user-5@example.com")  # pages name the person
        await tab.submit(credentials__passcode="whatever")
        await tab.submit(authenticator__methodType="totp")  # the recording chose push
        assert replay.problems == [
            "POST /idp/idx/challenge (step 4, okta-verify-push/04-challenge.json): "
            "authenticator.methodType: the test sent 'totp', the recording has 'push'"
        ]


def test_each_kind_of_value_is_compared_as_the_recording_allows():
    recorded = {
        "identifier": "user-1@example.com",
        "rememberMe": False,
        "credentials": {"passcode": "[redacted]"},
        "userProfile": {"firstName": "Given1", "favoriteColor": "green"},
        "pin": "1234",  # a field the form flags secret that the recorder did not know to redact
        "stateHandle": "state-handle-1",
    }
    form = {
        "remediation": {
            "value": [{"href": "https://org.example/idp/idx/enroll/new", "value": [{"name": "pin", "secret": True}]}]
        }
    }
    secrets = secret_fields(form, "/idp/idx/enroll/new")
    assert secrets == {"pin"}
    typed = {
        "identifier": "nora@example.com",
        "rememberMe": False,
        "credentials": {"passcode": "anything"},
        "userProfile": {"firstName": "Nora", "favoriteColor": "green"},
        "pin": "9999",
        "stateHandle": "someone-elses",  # the replay checks handles as Okta does, not as typed
    }
    people: dict[str, str] = {}
    assert typed_mismatches(recorded, typed, secrets=secrets, people=people) == []
    assert people == {"user-1@example.com": "nora@example.com", "Given1": "Nora"}  # fixed by the first values
    wrong = {**typed, "identifier": "mallory@example.com", "rememberMe": True, "credentials": {}, "extra": 1}
    wrong["userProfile"] = {"firstName": "Nora", "favoriteColor": "red"}
    assert typed_mismatches(recorded, wrong, secrets=secrets, people=people) == [
        "identifier: the test typed 'mallory@example.com', but the recording's 'user-1@example.com' is "
        "'nora@example.com'",
        "rememberMe: the test sent True, the recording has False",
        "credentials.passcode: a secret the recording has, but the test gave none",
        "userProfile.favoriteColor: the test sent 'red', the recording has 'green'",
        "extra: the test sent 1; the recording has no such value",
    ]
    assert typed_mismatches(
        {"credentials": {"passcode": ""}}, {"credentials": {"passcode": "x"}}, secrets=(), people={}
    )
    assert typed_mismatches({"pin": "1234"}, {"pin": ""}, secrets={"pin"}, people={}) == [
        "pin: a secret the recording has, but the test gave none"
    ]


# --- the simulator, signed_in ---------------------------------------------------------------


async def test_the_simulator_reads_codes_answers_pushes_and_injects_faults(aiohttp_client, embedded_simulator):
    client = await aiohttp_client(host(embedded_simulator.settings()))
    tab = await signed_in(
        client,
        user="bob@example.com",
        password="Bob-Passw0rd!",
        code=embedded_simulator.code_for("bob@example.com"),
        return_to="/private",
    )
    assert tab.html == "Hello bob@example.com"

    other = await aiohttp_client(host(embedded_simulator.settings()))
    tab = Tab(other)
    await tab.get("/auth/login")
    await tab.submit(identifier="oscar@example.com")
    await tab.submit(credentials__passcode="Oscar-Passw0rd!")
    await tab.submit(authenticator__methodType="push")
    push = await embedded_simulator.approve_push("oscar@example.com")
    assert (
        push["status"] == "pending"
        and (await embedded_simulator.last("oscar@example.com", "push"))["status"] == "approved"
    )
    assert (await tab.poll())["changed"] is True

    faults = await embedded_simulator.faults(next=["429"])
    assert faults["next"] == ["429"]
    assert (await embedded_simulator.faults())["next"] == []


async def test_an_emailed_link_opened_in_the_same_browser_signs_in(aiohttp_client, embedded_simulator, idx_replay):
    client = await aiohttp_client(host(embedded_simulator.settings()))
    tab = Tab(client)
    await tab.get("/auth/login", return_to="/private")
    await tab.submit(identifier="bob@example.com")
    await tab.submit(credentials__passcode="Bob-Passw0rd!")
    await tab.get(await embedded_simulator.magic_link("bob@example.com"))
    assert tab.path == "/private" and tab.html == "Hello bob@example.com"

    idx_replay.play_recorded(RECORDED.directory, "email-code")
    tab = Tab(await aiohttp_client(host(idx_replay.settings())))
    await tab.get("/auth/login", return_to="/private")
    await tab.submit(identifier="bob@example.com")
    await tab.submit(credentials__passcode="Bob-Passw0rd!")
    await tab.get(idx_replay.magic_link("123456"))
    assert tab.path == "/private" and idx_replay.bodies("/idp/idx/challenge/answer")[-1]["credentials"] == {
        "passcode": "123456"
    }
    idx_replay.assert_done()


class TestAnOrgOfItsOwn:
    @pytest.fixture
    def embedded_org(self):
        from embedded.simulator import demo_org

        org = demo_org()
        org.first_form = "identifier_password"
        return org

    async def test_the_simulator_serves_the_org_the_test_asks_for(self, aiohttp_client, embedded_simulator):
        client = await aiohttp_client(host(embedded_simulator.settings()))
        tab = Tab(client)
        await tab.get("/auth/login")
        assert {"identifier", "credentials.passcode"} <= set(tab.form().inputs)
        await tab.submit(identifier="alice@example.com", credentials__passcode="Alice-Passw0rd!")
        assert not tab.signing_in and tab.path == "/"


class TestSettingsMatchTheirSimulator:
    """`embedded_simulator.settings(prefix=…)` always names a redirect URI its simulator accepts:
    under any prefix and origin, with the demo org or an org of one's own that lists none of them."""

    @pytest.fixture
    def embedded_org(self):
        from embedded.simulator import demo_org

        org = demo_org()
        for client in org.clients:  # an org file of one's own: only its exact redirect URIs
            client.loopback_redirect_suffix = None
            client.loopback_any_port = False
        return org

    @staticmethod
    def under(prefix: str, settings: embedded.Settings) -> web.Application:
        @embedded.login_required
        async def private(request: web.Request) -> web.Response:
            user = embedded.current_user(request)
            assert user is not None
            return web.Response(text=f"Hello {user.email}")

        app = web.Application()
        embedded.setup(app, settings, prefix=prefix)
        app.router.add_get("/private", private)
        return app

    async def test_an_app_under_any_prefix_signs_in(self, aiohttp_client, embedded_simulator):
        for prefix in ("/account", "/a/b", "/auth"):
            settings = embedded_simulator.settings(prefix=prefix)
            client = await aiohttp_client(self.under(prefix, settings))
            tab = await signed_in(client, user="alice@example.com", password="Alice-Passw0rd!", return_to="/private")
            assert tab.html == "Hello alice@example.com", prefix

    async def test_any_origin_is_accepted(self, embedded_simulator):
        for _ in range(2):  # asked twice, registered once
            remote = embedded_simulator.settings(prefix="/account", app_origin="http://app.example:8080")
        root = embedded_simulator.settings(prefix="/", app_origin="http://localhost:9000/")
        assert root.redirect_uri == "http://localhost:9000/login/callback"
        client = embedded_simulator.state.org.client("demo-client")
        assert client.redirect_uris.count(remote.redirect_uri) == 1
        for settings in (remote, root):
            form = {
                "client_id": "demo-client",
                "client_secret": "demo-secret",
                "scope": "openid",
                "redirect_uri": settings.redirect_uri,
                "code_challenge": s256(new_verifier()),
                "code_challenge_method": "S256",
                "state": "st",
            }
            async with embedded_simulator.http.post("/oauth2/default/v1/interact", data=form) as resp:
                assert resp.status == 200, await resp.text()
        assert not client.redirect_allowed("http://app.example:8080/other/login/callback")  # still exact


async def test_signed_in_says_where_it_got_stuck(aiohttp_client, embedded_simulator):
    client = await aiohttp_client(host(embedded_simulator.settings()))
    with pytest.raises(AssertionError, match="bob@example.com is asked for a password"):
        await signed_in(client, user="bob@example.com")
    with pytest.raises(AssertionError, match="asks for a code; pass code="):
        await signed_in(client, user="bob@example.com", password="Bob-Passw0rd!")


# --- nothing left behind -------------------------------------------------------------------


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def test_closing_leaves_no_open_port_and_no_task():
    before = asyncio.all_tasks()
    async with IdxReplay() as replay, SimulatorHandle() as simulator:
        ports = (replay.port, simulator.port)
        assert not await refused(ports[0]) and not await refused(ports[1])
        async with aiohttp.ClientSession() as http:
            assert (await http.get(replay.issuer + "/.well-known/openid-configuration")).status == 200
        await simulator.outbox()
    await asyncio.sleep(0)
    assert await refused(ports[0]) and await refused(ports[1])
    assert asyncio.all_tasks() == before


def test_the_kit_imports_nothing_from_the_tests():
    sources = "\n".join(p.read_text() for p in (ROOT / "embedded" / "testing").glob("*.py"))
    imports = re.findall(r"(?m)^\s*(?:from|import) +([\w.]+)", sources)
    assert imports and not [m for m in imports if m.split(".")[0] in ("conftest", "tests", "pages", "corpus")]
    metadata = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import importlib.metadata as m, json; d = m.distribution('embedded-idx-signin');"
                "print(json.dumps([[e.group, e.name, e.value] for e in d.entry_points]))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert ["pytest11", "embedded", "embedded.testing.plugin"] in metadata


def test_the_readme_documents_every_helper_of_the_kit():
    """Every public name of embedded.testing, every fixture, and every public method and attribute
    of what the fixtures hand a test (IdxReplay, SimulatorHandle) and of Tab, named in the README's
    "Testing your app"; the helpers' own docstrings say the rest."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Testing your app") : readme.index("## Running in production")]
    life = {"start", "close", "locate_problems_in"}  # the fixtures and the plugin call these
    names = set(embedded.testing.__all__) | {"idx_replay", "embedded_simulator", "embedded_org"}
    for cls in (IdxReplay, SimulatorHandle, Tab):
        names |= {n for n in dir(cls) if not n.startswith("_") and n not in life}
    names |= {"calls", "claims", "people", "problems", "served", "script"}  # IdxReplay's attributes
    assert sorted(n for n in names if not re.search(rf"\b{re.escape(n)}\b", section)) == []


def test_the_readme_shows_the_example_test_module_as_it_is():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Testing your app") : readme.index("## Tests and benchmarks")]
    shown = re.findall(r"```python\n(.*?)```", section, re.S)
    assert shown == [(ROOT / "examples" / "test_example_host.py").read_text()]
    first = shown[0][shown[0].index("async def test_a_recorded_sign_in") :].split("\n\n\n")[0]
    assert len(first.splitlines()) < 20  # a host's sign-in test with a recording, in under 20 lines
