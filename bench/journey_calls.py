"""Upstream calls and latency of each step of the journeys around sign-in, against the simulator.

    python bench/journey_calls.py [--runs N] [--latency-ms MS]

Registration (profile with a password, then the email code), password recovery (identifier,
email, code, new password), account unlock (identifier and email, code), setting up a phone
(frank: the method chosen on the list, then its SMS and number) and account unlock by phone
(identifier and phone chosen, then SMS). Calls are counted inside the app's IDX client. Every
user action should cost one IDX round trip, and a second only for what the person would
otherwise have been asked to click for nothing: the journey they asked for once it is on offer
(recovery after the identifier), or the one way on offer to verify or set up (registration's
email). Choosing a method that asks for details costs none (our own page asks for them next);
sending the details costs one. A journey's entry route costs three (interact, introspect, and the
journey's first step); the last action also exchanges the code at /token.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from signin_calls import BENCH_LIMITS, CALLS, PER_PROCESS, count_calls, field, free_port, serve  # noqa: E402

from embedded import Settings  # noqa: E402
from embedded.demo import create_app  # noqa: E402

Steps = list[tuple[str, float, list[str]]]


class Person:
    """One browser walking a journey; records the IDX calls and time of each action."""

    def __init__(self, http: aiohttp.ClientSession, base: str, sim_base: str):
        self.http, self.base, self.sim_base = http, base, sim_base
        self.html = ""
        self.steps: Steps = []

    async def _timed(self, name: str, request) -> None:
        before, start = len(CALLS), time.perf_counter()
        async with request as resp:
            self.html = await resp.text()
            self.path = resp.url.path
        self.steps.append(
            (name, time.perf_counter() - start, [c for c in CALLS[before:] if not c.endswith(PER_PROCESS)])
        )

    async def open(self, name: str, path: str) -> None:
        await self._timed(name, self.http.get(self.base + path))

    async def submit(self, name: str, **fields: str) -> None:
        data = {"_csrf": field(self.html, "_csrf"), "_step": field(self.html, "_step"), "_form": "0", **fields}
        await self._timed(name, self.http.post(self.base + "/login/step", data=data))

    async def send_details(self, name: str, **details: str) -> None:
        """The chosen method's details view: its own fields, with the method it was chosen for."""
        chosen = re.search(
            r'name="_details" value="1">\s*<input type="hidden" name="([^"]+)" value="([^"]*)"', self.html
        )
        if chosen is None:
            raise SystemExit(f"no details view on {self.path}")
        await self.submit(name, _details="1", **{chosen.group(1): chosen.group(2)}, **details)

    def form_id(self, name: str) -> str:
        """The `_form` of the remediation `name` on the page (an alternative such as skip)."""
        m = re.search(
            rf'data-form="{name}">\s*(?:<input [^>]*>\s*)*?<input type="hidden" name="_form" value="(\d+)"', self.html
        )
        if m is None:
            raise SystemExit(f"no {name} form on {self.path}")
        return m.group(1)

    def option(self, label: str) -> str:
        """The value of the authenticator radio whose label starts with `label`."""
        radios = list(re.finditer(r'<input type="radio" id="[^"]+" name="authenticator" value="([^"]*)"', self.html))
        for i, radio in enumerate(radios):
            end = radios[i + 1].start() if i + 1 < len(radios) else len(self.html)
            if re.search(rf'class="choice__label">\s*{label}', self.html[radio.end() : end]):
                return radio.group(1)
        raise SystemExit(f"no {label!r} option on {self.path}")

    async def code(self, to: str) -> str:
        async with self.http.get(self.sim_base + "/outbox.json", params={"to": to}) as resp:
            return next(m["code"] for m in await resp.json() if m.get("code"))

    def form_name(self) -> str:
        m = re.search(r'data-form="([^"]+)"', self.html)
        return m.group(1) if m else ""


async def register(p: Person, n: int) -> None:
    email = f"bench{n}-{time.time_ns()}@example.com"
    await p.open("open /register", "/register")
    await p.submit(
        "submit profile",
        **{
            "userProfile.firstName": "Bench",
            "userProfile.lastName": "Runner",
            "userProfile.email": email,
            "credentials.passcode": "Quiet-Harbor-91",
        },
    )
    while p.form_name() and p.path == "/login/step":
        if p.form_name().startswith("select-authenticator-enroll"):
            await p.submit("choose email", authenticator=p.option("Email"))
        elif 'name="credentials.passcode"' in p.html:
            await p.submit("submit email code", **{"credentials.passcode": await p.code(email)})
        else:
            raise SystemExit(f"registration stopped at {p.form_name()}")
    if p.path != "/":
        raise SystemExit(f"registration ended at {p.path}")


async def recover(p: Person, n: int) -> None:
    await p.open("open /recover", "/recover")
    await p.submit("submit identifier", identifier="alice@example.com")
    if p.form_name().startswith("select-authenticator"):
        await p.submit("choose email", authenticator=p.option("Email"))
    await p.submit("submit email code", **{"credentials.passcode": await p.code("alice@example.com")})
    await p.submit("submit new password", **{"credentials.passcode": f"Quiet-Harbor-{n:04d}"})
    if p.form_name():
        raise SystemExit(f"recovery stopped at {p.form_name()}")


async def unlock(p: Person, n: int, sim_state) -> None:
    sim_state.org.user("henry@example.com").status = "locked_out"
    await p.open("open /unlock", "/unlock")
    await p.submit("submit identifier, email", identifier="henry@example.com", authenticator=p.option("Email"))
    await p.submit("submit email code", **{"credentials.passcode": await p.code("henry@example.com")})
    if sim_state.org.user("henry@example.com").status != "active":
        raise SystemExit("henry is still locked")


async def phone_setup(p: Person, n: int, sim_state) -> None:
    """frank (asked for a second method) sets up a phone by SMS, then leaves the rest for later."""
    frank = sim_state.org.user("frank@example.com")
    frank.enrollments = [e for e in frank.enrollments if e.key == "okta_password"]  # as new, each run
    phone = f"+1555020{n % 10_000:04d}"
    await p.open("open /login", "/login")
    await p.submit("submit identifier", identifier="frank@example.com")
    await p.submit("submit password", **{"credentials.passcode": "Frank-Passw0rd!"})
    await p.submit("choose phone", authenticator=p.option("Phone"))
    await p.send_details(
        "send phone details", **{"authenticator.methodType": "sms", "authenticator.phoneNumber": phone}
    )
    await p.submit("submit sms code", **{"credentials.passcode": await p.code(phone)})
    while p.path == "/login/step" and p.form_name() == "select-authenticator-enroll":
        await p.submit("set up the rest later", _form=p.form_id("skip"))
    if p.path != "/":
        raise SystemExit(f"phone set-up ended at {p.path} ({p.form_name()}): {p.html[-1500:]}")


async def unlock_by_phone(p: Person, n: int, sim_state) -> None:
    """dave, locked out, unlocks with a code by SMS: the identifier typed on the list goes with the details."""
    sim_state.org.user("dave@example.com").status = "locked_out"
    await p.open("open /unlock", "/unlock")
    await p.submit("identifier, choose phone", identifier="dave@example.com", authenticator=p.option("Phone"))
    await p.send_details("send sms details", **{"authenticator.methodType": "sms"})
    await p.submit("submit sms code", **{"credentials.passcode": await p.code("+15550100100")})
    if sim_state.org.user("dave@example.com").status != "active":
        raise SystemExit("dave is still locked")


async def main(runs: int, latency_ms: float) -> None:
    from embedded.simulator import SIMULATOR, create_simulator_app

    count_calls()
    sim_port, app_port = free_port(), free_port()
    simulator = create_simulator_app()
    state = simulator[SIMULATOR]
    state.faults.latency_ms = latency_ms
    state.org.rate_limit_requests = 10_000  # a bench walks faster than a person
    runners = [await serve(simulator, sim_port)]
    settings = Settings(
        issuer=f"http://127.0.0.1:{sim_port}/oauth2/default",
        client_id="demo-client",
        client_secret="demo-secret",
        redirect_uri=f"http://127.0.0.1:{app_port}/login/callback",
        **BENCH_LIMITS,
        step_limit_per_transaction=(1_000, 5.0),  # a bench answers faster than a person (frank's seven steps)
    )
    runners.append(await serve(create_app(settings), app_port))
    base, sim_base = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{sim_port}"
    journeys = {
        "registration": register,
        "password recovery": recover,
        "account unlock": lambda p, n: unlock(p, n, state),
        "phone set-up": lambda p, n: phone_setup(p, n, state),
        "account unlock by phone": lambda p, n: unlock_by_phone(p, n, state),
    }
    results: dict[str, list[Steps]] = {name: [] for name in journeys}
    try:
        for n in range(runs):
            for name, walk in journeys.items():
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    person = Person(http, base, sim_base)
                    await walk(person, n)
                    results[name].append(person.steps)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()

    print(f"journeys against the simulator: {runs} runs each, added upstream latency {latency_ms:g} ms")
    for name, runs_steps in results.items():
        print(f"\n{name}")
        print(f"  {'step':<28} {'IDX calls':<52} {'p50 ms':>8} {'p95 ms':>8}")
        for i, (step, _, calls) in enumerate(runs_steps[0]):
            times = sorted(r[i][1] * 1000 for r in runs_steps if len(r) > i)
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(
                f"  {step:<28} {', '.join(c.rsplit('/', 1)[-1] for c in calls) or '-':<52} "
                f"{statistics.median(times):>8.1f} {p95:>8.1f}"
            )
        totals = sorted(sum(s[1] for s in r) * 1000 for r in runs_steps)
        idx = [(s[0], len([c for c in s[2] if not c.endswith("/token")])) for r in runs_steps for s in r[1:]]
        per_action = [count for step, count in idx if "choose" not in step]
        print(
            f"  calls per later action: {min(per_action)}..{max(per_action)} "
            "(plus /token when the journey ends signed in); "
            f"whole journey p50 {statistics.median(totals):.1f} ms"
        )
        chosen = [count for step, count in idx if "choose" in step]
        sent = [count for step, count in idx if step.startswith("send ")]
        if chosen:
            print(
                f"  choosing a method on the list: {min(chosen)}..{max(chosen)} calls; "
                f"its details: {min(sent)}..{max(sent)}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per upstream call")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latency_ms))
