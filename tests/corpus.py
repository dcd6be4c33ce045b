"""The project's own IDX corpus: every demo journey, recorded from the simulator with the kit's
recording proxy into tests/fixtures/recorded/ and replayed by the tests.

Each journey is what a person does in the app (a `Tab`), with whatever comes from elsewhere (a
code from the outbox, a push approved on the phone) asked of `Elsewhere`: the simulator answers
for real while recording, the replay needs nothing (it does not check codes). So the same
journey records against the simulator and replays against the recording.

    .venv/bin/python tests/corpus.py                   re-record them all into tests/fixtures/recorded/
    .venv/bin/python tests/corpus.py --out DIR NAME     record some into another directory, to look at
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from embedded import Settings
from embedded.demo import create_app
from embedded.simulator import Org, demo_org
from embedded.testing import IdxReplay, Recorder, SimulatorHandle, Tab
from embedded.web.setup import RUNNER_OPTIONS

RECORDED = Path(__file__).resolve().parent / "fixtures" / "recorded"
APP_ORIGIN = "http://127.0.0.1"


class Elsewhere:
    """What happens outside the tab. The replay's version: nothing to read, anything to type."""

    async def code(self, to: str, kind: str = "email") -> str:
        return "123456"

    def totp(self, secret: str) -> str:
        return "123456"

    async def approve_push(self, to: str) -> None:
        pass

    async def deny_push(self, to: str) -> None:
        pass

    async def expire(self) -> None:
        pass

    async def fail_next(self, fault: str) -> None:
        pass

    async def admin_link(self, what: str, login: str) -> str:
        return f"/{'activate' if what == 'activation-email' else 'reset-password'}?token=token-1"


class SimulatorElsewhere(Elsewhere):
    def __init__(self, simulator: SimulatorHandle):
        self.simulator = simulator

    async def code(self, to: str, kind: str = "email") -> str:
        return await self.simulator.code(to, kind)

    def totp(self, secret: str) -> str:
        from pages import totp

        return totp(secret)

    async def approve_push(self, to: str) -> None:
        await self.simulator.approve_push(to)

    async def deny_push(self, to: str) -> None:
        await self.simulator.deny_push(to)

    async def expire(self) -> None:
        await self.simulator.expire()

    async def fail_next(self, fault: str) -> None:
        await self.simulator.faults(next=[fault])

    async def admin_link(self, what: str, login: str) -> str:
        link = await self.simulator.admin_email(what, login, APP_ORIGIN)
        return link.removeprefix(APP_ORIGIN)


Run = Callable[[Tab, Elsewhere], Awaitable[None]]


@dataclass(frozen=True)
class Journey:
    name: str
    run: Run
    about: str
    org: Callable[[Org], None] | None = None  # a change to the demo org for this journey


JOURNEYS: dict[str, Journey] = {}


def journey(about: str, org: Callable[[Org], None] | None = None) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        name = run.__name__.replace("_", "-")
        JOURNEYS[name] = Journey(name, run, about, org)
        return run

    return register


def password_on_the_first_page(org: Org) -> None:
    org.first_form = "identifier_password"


def simulator_for(journey: Journey) -> SimulatorHandle:
    org = demo_org()
    if journey.org is not None:
        journey.org(org)
    return SimulatorHandle(org)


async def begin(tab: Tab, user: str, password: str | None = None) -> None:
    await tab.get("/login")
    await begin_here(tab, user, password)


async def begin_here(tab: Tab, user: str, password: str | None = None) -> None:
    """Sign in from the identify page the tab is on."""
    await tab.submit(identifier=user)
    if password is not None:
        await tab.submit(credentials__passcode=password)


# --- sign-in and each factor ----------------------------------------------------------------


@journey("alice: identifier, then password")
async def password(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "alice@example.com", "Alice-Passw0rd!")


@journey("alice: a wrong password, then the right one")
async def password_wrong_then_right(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "alice@example.com", "not-her-password")
    await tab.submit(credentials__passcode="Alice-Passw0rd!")


@journey("alice: username and password on the first page", org=password_on_the_first_page)
async def identify_with_password(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/login")
    await tab.submit(identifier="alice@example.com", credentials__passcode="Alice-Passw0rd!")


@journey("alice: a wrong password on the first page", org=password_on_the_first_page)
async def identify_with_password_wrong(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/login")
    await tab.submit(identifier="alice@example.com", credentials__passcode="Guess-1234")


@journey("nobody@example.com with a password on the first page", org=password_on_the_first_page)
async def identify_with_password_unknown_user(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/login")
    await tab.submit(identifier="nobody@example.com", credentials__passcode="Guess-1234")


@journey("nobody@example.com: the identify page answers an unknown user")
async def unknown_user(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "nobody@example.com")


@journey("alice: cancel at the password page, back at identify")
async def cancel(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "alice@example.com")
    await tab.action("cancel")


@journey("alice: the transaction expires at the password page")
async def session_expired(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "alice@example.com")
    await elsewhere.expire()
    await tab.submit(credentials__passcode="Alice-Passw0rd!")


@journey("alice: the Identity Engine answers 429 to the password, then lets her in")
async def rate_limited(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "alice@example.com")
    await elsewhere.fail_next("429")
    await tab.submit(credentials__passcode="Alice-Passw0rd!")
    await tab.submit(credentials__passcode="Alice-Passw0rd!")


@journey("bob: password, then the emailed code")
async def email_code(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "bob@example.com", "Bob-Passw0rd!")
    await tab.submit(credentials__passcode=await elsewhere.code("bob@example.com"))


@journey("bob: a wrong email code, a resend, then the right code")
async def email_code_wrong_then_resend(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "bob@example.com", "Bob-Passw0rd!")
    await tab.submit(credentials__passcode="000000")
    await tab.action("resend")
    await tab.submit(credentials__passcode=await elsewhere.code("bob@example.com"))


@journey("carol: Google Authenticator")
async def google_authenticator(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "carol@example.com", "Carol-Passw0rd!")
    await tab.submit(credentials__passcode=elsewhere.totp("CAROLCAROLCAROL2"))


@journey("dave: a code by SMS")
async def phone_sms(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "dave@example.com", "Dave-Passw0rd!")
    await tab.submit(authenticator__methodType="sms")
    await tab.submit(credentials__passcode=await elsewhere.code("+15550100100", "sms"))


@journey("dave: a code by voice call")
async def phone_voice(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "dave@example.com", "Dave-Passw0rd!")
    await tab.submit(authenticator__methodType="voice")
    await tab.submit(credentials__passcode=await elsewhere.code("+15550100100", "voice"))


@journey("erin: a security question")
async def security_question(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "erin@example.com", "Erin-Passw0rd!")
    await tab.submit(credentials__answer="Lisbon")


@journey("oscar: Okta Verify push with the number challenge, approved")
async def okta_verify_push(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "oscar@example.com", "Oscar-Passw0rd!")
    await tab.submit(authenticator__methodType="push")
    await elsewhere.approve_push("oscar@example.com")
    await tab.get(tab.prefix + "/login/poll")


@journey("oscar: Okta Verify push denied")
async def okta_verify_push_denied(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "oscar@example.com", "Oscar-Passw0rd!")
    await tab.submit(authenticator__methodType="push")
    await elsewhere.deny_push("oscar@example.com")
    await tab.get(tab.prefix + "/login/poll")


@journey("oscar: an Okta Verify code")
async def okta_verify_totp(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "oscar@example.com", "Oscar-Passw0rd!")
    await tab.submit(authenticator__methodType="totp")
    field = next(n for n in tab.form().inputs if n.startswith("credentials."))
    await tab.submit(**{field: elsewhere.totp("OSCAROSCAROSCAR2")})


@journey("victor: a generic passcode authenticator")
async def custom_otp(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "victor@example.com", "Victor-Passw0rd!")
    await tab.submit(credentials__passcode=elsewhere.totp("VICTORVICTORVIC2"))


@journey("gina: passwordless, the email code only")
async def passwordless_email(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "gina@example.com")
    if "credentials.passcode" not in tab.form().inputs:
        await tab.choose("Email")
    await tab.submit(credentials__passcode=await elsewhere.code("gina@example.com"))


# --- enrollment, expiry ---------------------------------------------------------------------


@journey("frank: enrolls a security question of his own, skips the rest")
async def enroll_security_question(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "frank@example.com", "Frank-Passw0rd!")
    await tab.choose("Security Question")
    own = tab.option("own", "credentials")
    await tab.submit(credentials=own, credentials__question="First pet?", credentials__answer=["", "Rex the dog"])
    await tab.submit("skip")


@journey("frank: enrolls email with a code, skips the rest")
async def enroll_email(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "frank@example.com", "Frank-Passw0rd!")
    await tab.choose("Email")
    await tab.submit(credentials__passcode=await elsewhere.code("frank@example.com"))
    await tab.submit("skip")


@journey("frank: enrolls Google Authenticator, skips the rest")
async def enroll_google_authenticator(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "frank@example.com", "Frank-Passw0rd!")
    await tab.choose("Google Authenticator")
    secret = _shared_secret(tab)
    await tab.submit(credentials__passcode=elsewhere.totp(secret))
    await tab.submit("skip")


@journey("frank: enrolls a phone by SMS, skips the rest")
async def enroll_phone(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "frank@example.com", "Frank-Passw0rd!")
    await tab.choose("Phone")
    await tab.submit(authenticator__methodType="sms", authenticator__phoneNumber="+15550199999")
    await tab.submit(credentials__passcode=await elsewhere.code("+15550199999", "sms"))
    await tab.submit("skip")


@journey("wendy: asked to enroll a security key (the page, not the ceremony)")
async def enroll_webauthn_page(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "wendy@example.com", "Wendy-Passw0rd!")
    if tab.form().name == "select-authenticator-enroll":
        await tab.choose("Security Key")


@journey("paula: the password expiry warning, skipped")
async def password_expiry_warning(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "paula@example.com", "Paula-Passw0rd!")
    await tab.submit("skip")


@journey("irene: an expired password, a new one too short, then one that meets the rules")
async def password_expired(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "irene@example.com", "Irene-Passw0rd!")
    await tab.submit(credentials__passcode="short")
    await tab.submit(credentials__passcode="Brand-New-Passw0rd-2026")


# --- registration, recovery, unlock, links --------------------------------------------------


@journey("a new person signs up, then enrolls the email the policy asks for")
async def registration(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/register")
    await tab.submit(
        userProfile__firstName="Nora",
        userProfile__lastName="North",
        userProfile__email="nora@example.com",
        userProfile__favoriteColor="green",
        credentials__passcode="Green-Meadow-42x",
    )
    for _ in range(4):
        if not tab.signing_in:
            break
        form = tab.form()
        if "credentials.passcode" in form.inputs:
            await tab.submit(credentials__passcode=await elsewhere.code("nora@example.com"))
        elif any(f.name == "skip" for f in tab.forms):
            await tab.submit("skip")
        else:
            await tab.choose("Email")


@journey("from the sign-up page, 'Already have an account? Sign in', then alice signs in")
async def registration_sign_in_link(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/register")
    await tab.submit("select-identify")
    await begin_here(tab, "alice@example.com", "Alice-Passw0rd!")


@journey("sign-up with an email that is taken")
async def registration_email_taken(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/register")
    await tab.submit(userProfile__firstName="Al", userProfile__lastName="Again", userProfile__email="alice@example.com")


@journey("alice forgets her password: the emailed code, then a new password")
async def recovery(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/recover")
    await tab.submit(identifier="alice@example.com")
    if (tab.form().name or "").startswith("select-authenticator"):
        await tab.choose("Email")
    await tab.submit(credentials__passcode=await elsewhere.code("alice@example.com"))
    await tab.submit(credentials__passcode="Blue-Harbour-77", confirmPassword="Blue-Harbour-77")


def unlock_then_a_page(org: Org) -> None:
    org.after_unlock = "message"


@journey("henry unlocks his account with an emailed code; the org's older page says so", org=unlock_then_a_page)
async def unlock(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/unlock")
    await tab.choose("Email", identifier="henry@example.com")
    await tab.submit(credentials__passcode=await elsewhere.code("henry@example.com"))


@journey("henry unlocks his account with an emailed code and signs straight on with his password")
async def unlock_then_sign_in(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/unlock")
    await tab.choose("Email", identifier="henry@example.com")
    await tab.submit(credentials__passcode=await elsewhere.code("henry@example.com"))
    await tab.submit(credentials__passcode="Henry-Passw0rd!")


@journey("sam opens his activation link, sets a password and enrolls his email")
async def activation(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get(await elsewhere.admin_link("activation-email", "sam@example.com"))
    for _ in range(5):
        if not tab.signing_in:
            break
        form = tab.form()
        if form.name == "select-authenticator-enroll":
            await tab.choose("Password" if "Password" in " ".join(form.options.get("authenticator", {})) else "Email")
        elif "confirmPassword" in form.inputs or (tab.template or "").endswith("okta_password.html"):
            await tab.submit(credentials__passcode="Harbour-Lights-42x", confirmPassword="Harbour-Lights-42x")
        elif "credentials.passcode" in form.inputs:
            await tab.submit(credentials__passcode=await elsewhere.code("sam@example.com"))
        elif any(f.name == "skip" for f in tab.forms):
            await tab.submit("skip")
        else:
            break


@journey("rita opens a password-reset link and sets a new password")
async def reset_link(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get(await elsewhere.admin_link("reset-email", "rita@example.com"))
    await tab.submit(credentials__passcode="Quiet-Meadow-93x", confirmPassword="Quiet-Meadow-93x")


# --- identity providers, after sign-in ------------------------------------------------------


@journey("social sign-in: a new person continues at the identity provider, then enrolls email")
async def social_idp(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/login")
    await tab.submit("redirect-idp")
    if not tab.signing_in and "email" in tab.form().inputs:  # the simulator's provider page
        await tab.submit(email="sky@example.com", _button="Continue")
    await tab.choose("Email")
    await tab.submit(credentials__passcode=await elsewhere.code("sky@example.com"))
    if tab.signing_in and any(f.name == "skip" for f in tab.forms):
        await tab.submit("skip")


@journey("social sign-in as bob: back for his email code (interaction_required)")
async def social_idp_then_mfa(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/login")
    await tab.submit("redirect-idp")
    if not tab.signing_in and "email" in tab.form().inputs:
        await tab.submit(email="bob@example.com", _button="Continue")
    await tab.choose("Email")
    await tab.submit(credentials__passcode=await elsewhere.code("bob@example.com"))


@journey("connie: consent to the app's scopes, the optional one unticked")
async def consent(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "connie@example.com", "Connie-Passw0rd!")
    await tab.submit(_button="Allow", optedScopes__offline_access=False)


@journey("petra: progressive profiling asks her department")
async def progressive_profiling(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "petra@example.com", "Petra-Passw0rd!")
    field = next(n for n in tab.form().inputs if n.startswith("userProfile."))
    await tab.submit(**{field: "Research"})


@journey("kim: 'Stay signed in?' answered yes")
async def keep_me_signed_in(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "kim@example.com", "Kim-Passw0rd!")
    await tab.submit(_button="Stay signed in")


@journey("kim ticks 'Keep me signed in' on the first page: 'Stay signed in?' is not asked")
async def remember_me(tab: Tab, elsewhere: Elsewhere) -> None:
    await tab.get("/login")
    await tab.submit(identifier="kim@example.com", rememberMe="on")
    await tab.submit(credentials__passcode="Kim-Passw0rd!")


@journey("henry is locked out: the sign-in says so")
async def locked_out(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "henry@example.com", "Henry-Passw0rd!")


@journey("fiona: the FastPass page (Okta Verify on this computer), not the loopback call")
async def fastpass_page(tab: Tab, elsewhere: Elsewhere) -> None:
    await begin(tab, "fiona@example.com")
    await tab.choose("Okta Verify")


def _shared_secret(tab: Tab) -> str:
    m = re.search(r'data-copy-text="([^"]+)"', tab.html)
    assert m, "no shared secret on the page"
    return m.group(1)


# --- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Where a journey ends: the page the person sees."""

    path: str
    template: str | None
    status: int
    signed_in: bool


def outcome_of(tab: Tab) -> Outcome:
    return Outcome(tab.path, tab.template, tab.status, 'data-claim="email"' in tab.html)


async def app_client(settings: Settings) -> TestClient:
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server(**RUNNER_OPTIONS)
    client = TestClient(server)
    await client.start_server()
    return client


def app_settings(issuer: str, client_id: str = "demo-client", client_secret: str | None = "demo-secret") -> Settings:
    # One app plays every journey from one address: no per-address limit in the way.
    return Settings(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=APP_ORIGIN + "/login/callback",
        scopes=("openid", "profile", "email", "offline_access"),
        step_limit_per_ip=(100_000, 60.0),
        step_limit_per_transaction=(100_000, 60.0),  # recording walks at machine speed
        login_limit_per_ip=(100_000, 60.0),
    )


async def walk(client: TestClient, name: str, elsewhere: Elsewhere) -> Tab:
    """One journey in a fresh browser (no cookies) on the app."""
    client.session.cookie_jar.clear()
    tab = Tab(client, prefix="")
    try:
        await JOURNEYS[name].run(tab, elsewhere)
    except Exception as exc:
        raise RuntimeError(f"journey {name} failed on {tab.url} ({tab.template}): {exc}\n{tab.text[:600]}") from exc
    return tab


async def record(names: list[str], out: Path) -> tuple[dict[str, Outcome], Recorder]:
    """Each journey against a fresh demo simulator, through one recording proxy into `out`, by
    one app (its templates compiled once)."""
    outcomes = {}
    recorder = Recorder("http://127.0.0.1:9/oauth2/default", out)  # retargeted at each journey's simulator
    await recorder.start()
    client = await app_client(app_settings(recorder.issuer))
    try:
        for name in names:
            async with simulator_for(JOURNEYS[name]) as simulator:
                recorder.retarget(simulator.issuer)
                recorder.begin(name)
                outcomes[name] = outcome_of(await walk(client, name, SimulatorElsewhere(simulator)))
    finally:
        await client.close()
        await recorder.close()
    return outcomes, recorder


@dataclass(frozen=True)
class Replayed:
    outcome: Outcome
    problems: list[str]
    remaining: list[str]  # steps of the script never called


async def replay(names: list[str], directory: Path) -> dict[str, Replayed]:
    """Each journey against its recorded sequence, on one replay and one app."""
    results = {}
    async with IdxReplay(client_id="demo-client", client_secret="demo-secret") as server:
        client = await app_client(app_settings(server.issuer))
        try:
            for name in names:
                server.reset().play_recorded(directory, name)
                tab = await walk(client, name, Elsewhere())
                results[name] = Replayed(outcome_of(tab), list(server.problems), [s.call for s in server.remaining])
        finally:
            await client.close()
    return results


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    out = RECORDED
    if argv[:1] == ["--out"]:
        out, argv = Path(argv[1]), argv[2:]
    elif argv:
        print("name journeys only with --out DIR: tests/fixtures/recorded/ holds them all", file=sys.stderr)
        return 2
    names = argv or list(JOURNEYS)
    unknown = [n for n in names if n not in JOURNEYS]
    if unknown:
        print(f"unknown journeys: {', '.join(unknown)}; known: {', '.join(JOURNEYS)}", file=sys.stderr)
        return 2
    if out == RECORDED:
        for old in sorted(RECORDED.glob("**/*"), reverse=True):
            old.rmdir() if old.is_dir() else old.unlink()
    outcomes, _ = asyncio.run(record(names, out))
    for name, outcome in outcomes.items():
        print(
            f"{name:32} {outcome.status} {outcome.path} "
            f"{outcome.template or ''}{' signed in' if outcome.signed_in else ''}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
