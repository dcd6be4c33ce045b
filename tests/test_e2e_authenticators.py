"""Every demo user's second factor through the app against the simulator, without a browser.

Pages are read the way a person reads them: forms by their purpose, options by their label.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from conftest import demo_settings, serve
from pages import read, totp

from embedded.simulator import SIMULATOR
from embedded.simulator.faults import Faults
from embedded.web import steps


@pytest.fixture
async def walker(aiohttp_client, simulator):
    return Walker(await serve(aiohttp_client, demo_settings(simulator.port)), simulator)


class Walker:
    """One person's browser tab, minus the browser."""

    def __init__(self, client, simulator):
        self.client = client
        self.simulator = simulator
        self.html = ""
        self.path = ""

    @property
    def state(self):
        return self.simulator.app[SIMULATOR]

    async def _load(self, resp) -> str:
        self.html, self.path = await resp.text(), resp.url.path
        assert resp.status < 500, self.html
        return self.html

    async def begin(self, username: str, password: str | None = None) -> str:
        await self._load(await self.client.get("/login"))
        await self.submit(identifier=username)
        if password is not None:
            await self.submit(**{"credentials.passcode": password})
        return self.html

    def form(self, name: str | None = None):
        forms = [f for f in read(self.html).forms if "_form" in f.hidden]
        if name is None:
            return next(f for f in forms if f.hidden["_form"] == "0")
        return next(f for f in forms if f.name == name)

    async def submit(self, _form: str | None = None, **fields) -> str:
        """Post a form as a browser does: every text input, in order, empty unless filled.

        A list value fills same-named inputs in document order."""
        form = self.form(_form)
        data = list(form.hidden.items())
        pending = {k: list(v) if isinstance(v, list) else [v] for k, v in fields.items()}
        for name in form.inputs:
            data.append((name, pending[name].pop(0) if pending.get(name) else ""))
        data += [(k, v) for k, values in pending.items() if k not in form.inputs for v in values]
        return await self._load(await self.client.post("/login/step", data=data))

    async def action(self, action_id: str) -> str:
        form = next(f for f in read(self.html).forms if f.hidden.get("_action") == action_id)
        return await self._load(await self.client.post("/login/step", data=form.hidden))

    def option(self, control: str, label: str, form: str | None = None) -> str:
        options = self.form(form).options[control]
        return next(v for text, v in options.items() if label.lower() in text.lower())

    async def choose(self, label: str, control: str = "authenticator", form: str | None = None, **fields) -> str:
        return await self.submit(form, **{control: self.option(control, label, form)}, **fields)

    async def poll(self) -> dict:
        resp = await self.client.get("/login/poll", headers={"Accept": "application/json"})
        assert resp.status == 200
        return await resp.json()

    async def outbox(self, to: str, kind: str | None = None) -> dict:
        resp = await self.client.session.get(f"http://127.0.0.1:{self.simulator.port}/outbox.json", params={"to": to})
        sent = [m for m in await resp.json() if kind is None or m["kind"] == kind]
        assert sent, f"nothing sent to {to}"
        return sent[0]

    @property
    def signed_in(self) -> bool:
        return self.path == "/" and 'data-claim="email"' in self.html

    def shows(self, text: str) -> bool:
        return text.lower() in " ".join(" ".join(read(self.html).text).split()).lower()


async def test_bob_email_code_with_a_wrong_code_first(walker):
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    assert "credentials.passcode" in walker.form().inputs
    await walker.submit(**{"credentials.passcode": "000000"})
    assert walker.shows("Invalid code") and not walker.signed_in
    code = (await walker.outbox("bob@example.com", "email"))["code"]
    await walker.submit(**{"credentials.passcode": code})
    assert walker.signed_in and walker.shows("bob@example.com")


async def test_bob_resend_sends_a_new_code(walker):
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    first = await walker.outbox("bob@example.com", "email")
    action = next(
        f.hidden["_action"] for f in read(walker.html).forms if f.hidden.get("_action", "").endswith("-resend")
    )
    await walker.action(action)
    second = await walker.outbox("bob@example.com", "email")
    assert second["sent_at"] >= first["sent_at"] and second is not first
    await walker.submit(**{"credentials.passcode": second["code"]})
    assert walker.signed_in


async def test_bob_email_page_polls_and_moves_on_when_the_code_is_used_elsewhere(walker):
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    assert 'data-poll-url="/login/poll"' in walker.html
    assert (await walker.poll())["changed"] is False


async def test_carol_google_authenticator(walker):
    await walker.begin("carol@example.com", "Carol-Passw0rd!")
    await walker.submit(**{"credentials.passcode": totp("CAROLCAROLCAROL2")})
    assert walker.signed_in


@pytest.mark.parametrize("method, kind", [("sms", "sms"), ("voice", "voice")])
async def test_dave_phone_by_sms_or_voice(walker, method, kind):
    await walker.begin("dave@example.com", "Dave-Passw0rd!")
    await walker.submit(**{"authenticator.methodType": method})
    code = (await walker.outbox("+15550100100", kind))["code"]
    await walker.submit(**{"credentials.passcode": code})
    assert walker.signed_in


async def test_erin_security_question(walker):
    await walker.begin("erin@example.com", "Erin-Passw0rd!")
    assert walker.shows("vacation")
    await walker.submit(**{"credentials.answer": "Lisbon"})
    assert walker.signed_in


async def test_oscar_push_approved_with_the_number_challenge(walker, monkeypatch):
    clock = [time.time()]
    monkeypatch.setattr(steps, "time", SimpleNamespace(time=lambda: clock[0]))
    await walker.begin("oscar@example.com", "Oscar-Passw0rd!")
    await walker.submit(**{"authenticator.methodType": "push"})
    push = await walker.outbox("oscar@example.com", "push")
    assert 'data-poll-url="/login/poll"' in walker.html and 'http-equiv="refresh"' in walker.html
    if push.get("correct_answer") is not None:
        assert walker.shows(str(push["correct_answer"]))
    assert (await walker.poll())["changed"] is False
    approve = await walker.client.session.post(
        f"http://127.0.0.1:{walker.simulator.port}/outbox/push/{push['id']}/approve",
        data={"answer": str(push.get("correct_answer") or "")},
    )
    assert approve.status < 400
    clock[0] += 5  # past the step's refresh interval
    await walker._load(await walker.client.get("/login/poll"))  # the no-JavaScript path
    assert walker.signed_in


async def test_oscar_push_denied_then_totp(walker):
    await walker.begin("oscar@example.com", "Oscar-Passw0rd!")
    await walker.submit(**{"authenticator.methodType": "push"})
    push = await walker.outbox("oscar@example.com", "push")
    await walker.client.session.post(f"http://127.0.0.1:{walker.simulator.port}/outbox/push/{push['id']}/deny")
    answer = await walker.poll()
    assert answer["changed"] is True
    await walker._load(await walker.client.get(answer["location"]))
    assert 'class="message message--error"' in walker.html


async def test_oscar_okta_verify_code(walker):
    await walker.begin("oscar@example.com", "Oscar-Passw0rd!")
    await walker.submit(**{"authenticator.methodType": "totp"})
    field = next(n for n in walker.form().inputs if n.startswith("credentials."))
    await walker.submit(**{field: totp("OSCAROSCAROSCAR2")})
    assert walker.signed_in


async def test_victor_generic_passcode_authenticator(walker):
    await walker.begin("victor@example.com", "Victor-Passw0rd!")
    await walker.submit(**{"credentials.passcode": totp("VICTORVICTORVIC2")})
    assert walker.signed_in


async def test_paula_skips_the_expiry_warning(walker):
    await walker.begin("paula@example.com", "Paula-Passw0rd!")
    assert walker.form().name == "reenroll-authenticator-warning"
    await walker.submit("skip")
    assert walker.signed_in


async def test_irene_sets_a_new_password_that_meets_the_rules(walker):
    await walker.begin("irene@example.com", "Irene-Passw0rd!")
    assert walker.form().name == "reenroll-authenticator"
    await walker.submit(**{"credentials.passcode": "short"})
    assert 'class="message message--error"' in walker.html and not walker.signed_in
    await walker.submit(**{"credentials.passcode": "Brand-New-Passw0rd-2026"})
    assert walker.signed_in


async def test_frank_enrolls_a_security_question_and_skips_the_rest(walker):
    await walker.begin("frank@example.com", "Frank-Passw0rd!")
    assert walker.form().name == "select-authenticator-enroll"
    await walker.choose("Security Question")
    custom = walker.option("credentials", "own")
    await walker.submit(
        **{"credentials": custom, "credentials.question": "First pet?", "credentials.answer": ["", "Rex the dog"]}
    )
    assert walker.form().name == "select-authenticator-enroll"
    await walker.submit("skip")
    assert walker.signed_in


async def test_frank_enrolls_email_with_a_code(walker):
    await walker.begin("frank@example.com", "Frank-Passw0rd!")
    await walker.choose("Email")
    code = (await walker.outbox("frank@example.com", "email"))["code"]
    await walker.submit(**{"credentials.passcode": code})
    assert walker.form().name == "select-authenticator-enroll"


async def test_polling_honours_the_interval_and_backs_off_after_429(walker, monkeypatch):
    clock = [time.time()]
    monkeypatch.setattr(steps, "time", SimpleNamespace(time=lambda: clock[0]))
    await walker.begin("oscar@example.com", "Oscar-Passw0rd!")
    await walker.submit(**{"authenticator.methodType": "push"})

    def upstream_polls() -> int:
        return sum(1 for _, p in walker.state.calls if p.endswith("/poll"))

    first = await walker.poll()
    again = await walker.poll()  # straight away: answered without asking upstream
    assert upstream_polls() == 1 and first["changed"] is False and 1000 <= again["next_ms"] <= first["next_ms"]
    clock[0] += first["next_ms"] / 1000
    walker.state.faults = Faults(next=["429"])
    limited = await walker.poll()
    assert upstream_polls() == 2 and limited == {"changed": False, "location": None, "next_ms": 60_000}
    clock[0] += 30
    assert (await walker.poll())["changed"] is False and upstream_polls() == 2  # still backing off
    clock[0] += 31
    assert (await walker.poll())["changed"] is False and upstream_polls() == 3


async def test_poll_without_anything_to_wait_for_sends_the_page_back(walker):
    assert await walker.poll() == {"changed": True, "location": "/login", "next_ms": 0}
    await walker.begin("alice@example.com")
    assert (await walker.poll())["location"] == "/login/step"


async def test_bob_magic_link_in_the_same_browser_signs_in(walker):
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    link = (await walker.outbox("bob@example.com", "email"))["link"]
    await walker._load(await walker.client.get("/login/callback?" + link.split("?", 1)[1]))
    assert walker.signed_in


async def test_bob_magic_link_in_another_browser_shows_the_code_only(walker, aiohttp_client):
    await walker.begin("bob@example.com", "Bob-Passw0rd!")
    sent = await walker.outbox("bob@example.com", "email")
    elsewhere = await aiohttp_client(walker.client.server)
    resp = await elsewhere.get("/login/callback?" + sent["link"].split("?", 1)[1])
    html = await resp.text()
    assert resp.status == 200 and sent["code"] in html and "data-claim" not in html
    assert "data-claim" not in await (await elsewhere.get("/")).text()
    token_calls = [p for _, p in walker.state.calls if p.endswith("/v1/token")]
    assert token_calls == []
    await walker.submit(**{"credentials.passcode": sent["code"]})  # typed into the original tab
    assert walker.signed_in


async def test_polling_stops_when_the_transaction_expires(walker):
    await walker.begin("oscar@example.com", "Oscar-Passw0rd!")
    await walker.submit(**{"authenticator.methodType": "push"})
    walker.state.expire_all()
    answer = await walker.poll()
    assert answer["changed"] is True and answer["location"] == "/login"
    await walker._load(await walker.client.get(answer["location"]))
    assert walker.shows("expired") and "identifier" in walker.form().inputs


@pytest.mark.parametrize("fault", ["429"])
async def test_too_many_requests_keeps_the_step(walker, fault):
    await walker.begin("carol@example.com", "Carol-Passw0rd!")
    walker.state.faults = Faults(next=[fault])
    await walker.submit(**{"credentials.passcode": totp("CAROLCAROLCAROL2")})
    assert walker.path == "/login/step" and walker.shows("nothing you did is lost")
    assert "credentials.passcode" in walker.form().inputs
    await walker.submit(**{"credentials.passcode": totp("CAROLCAROLCAROL2")})
    assert walker.signed_in
