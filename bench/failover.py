"""The failover drill (issue 21): two app instances on a Sentinel-managed Redis, sign-ins in
flight, and the primary killed with SIGKILL halfway through.

    .venv/bin/python bench/failover.py [--flows 64] [--attackers 4] [--sitters 16] [--seconds 30]
                                       [--replicas 2] [--upstream-timeout 10] [--netem MS] [--json FILE]

A primary, `--replicas` replicas and three Sentinels run on loopback (tests/redis_server.py),
each in a temporary directory of its own; the Sentinels call a node down after 1000 ms without
an answer and retry a stalled failover after twice 3 s (`down-after-milliseconds`,
`failover-timeout`). Two app instances and the simulator run in this process. `--flows` people
sign in with a password over and over, stay signed in a moment and sign out, each request going
to either instance at random; `--attackers` more send wrong one-time codes for an account with
an emailed code, one at a time, until the app ends the transaction, and start again; `--sitters`
sign in before it all and then only wait. Halfway through, the primary gets SIGKILL (it is not
restarted: a replica takes its place, and the other replicas follow it, so writes are confirmed
again). With `--netem MS` (root, where `ip netns` works) every Redis process runs in a network
namespace of its own, joined to the app's by a veth pair that `tc netem` delays MS milliseconds
each way, so the figures include what each round trip costs on a real network; elsewhere the
flag says why it was skipped and the drill runs on loopback.

Printed: how long the Sentinels took to promote a replica; the seconds between the first and
the last 503 page (the store could not be reached, or could not confirm a write), the slowest
request and the responses second by second after the kill; sign-ins
completed and failed (started again after an error); HTTP 500s; tracebacks logged; the
signed-in sessions that existed when the primary was killed and still exist after; sign-outs
confirmed before the kill that came undone; and, per attacked transaction, the wrong codes
that reached the Identity Engine (the cap is 5: the issue's acceptance wants exactly 5 for every
transaction the app ended, before, across and after the failover, and at most 5 for the rest).
The exit status is 1 when a correctness check fails. `make test` runs a short version
(tests/test_failover.py) that asserts correctness and leaves timing to this bench.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from journeys import add_users  # noqa: E402
from pages import read  # noqa: E402
from redis_server import Netns, SentinelDeployment, free_port  # noqa: E402

from embedded.config import Settings  # noqa: E402
from embedded.demo import create_app  # noqa: E402
from embedded.simulator import SIMULATOR, create_simulator_app, submissions  # noqa: E402
from embedded.web.setup import RUNNER_OPTIONS  # noqa: E402

WRONG = "000000"
NO_LIMIT = (1_000_000, 60.0)  # one address signing everyone in: the app's limits are not under test


@dataclass
class Report:
    flows: int
    attackers: int
    seconds: float
    netem: str = "none: Redis on loopback"  # the network between the app and Redis
    before_ms: tuple[float, float] = (0.0, 0.0)  # p50 and p99 of a request (with its redirects) before the kill
    promoted_after: float = 0.0  # seconds from the kill until the Sentinels named a new primary
    first_503: float | None = None  # seconds after the kill
    last_503: float | None = None
    pages_503: int = 0
    not_ready: tuple[float, float] | None = None  # /readyz said 503: first and last time, after the kill
    slowest: float = 0.0  # the longest any request that ended after the kill took (its redirects included)
    timeline: dict[int, dict[str, int]] = field(default_factory=dict)  # second after the kill -> statuses
    http_500: int = 0
    tracebacks: int = 0
    completed: int = 0
    failed: int = 0
    sessions_before: int = 0  # signed-in sessions at the kill, not signed out since
    sessions_after: int = 0  # of those, still in Redis after the failover
    sitters: int = 16  # of those, browsers that signed in before the kill and then only waited
    sitters_after: float = 0  # of those, still signed in through either instance after the drill
    sign_outs_undone: int = 0
    wrong_codes: dict[str, int] = field(default_factory=dict)  # attacked transaction -> codes upstream
    ended_by_cap: list[str] = field(default_factory=list)  # transactions the app ended
    spanning: int = 0  # ended transactions that began before the kill and ended after it

    @property
    def outage(self) -> float:
        return 0.0 if self.first_503 is None or self.last_503 is None else self.last_503 - self.first_503

    def problems(self) -> list[str]:
        found = []
        if self.http_500 or self.tracebacks:
            found.append(f"{self.http_500} HTTP 500s and {self.tracebacks} tracebacks")
        if self.sessions_after != self.sessions_before or self.sitters_after != self.sitters:
            found.append(f"{self.sessions_before - self.sessions_after} confirmed sign-ins lost")
        if self.sign_outs_undone:
            found.append(f"{self.sign_outs_undone} confirmed sign-outs undone")
        if over := {tx: n for tx, n in self.wrong_codes.items() if n > 5}:
            found.append(f"transactions with more than 5 wrong codes upstream: {over}")
        if short := [tx for tx in self.ended_by_cap if self.wrong_codes.get(tx) != 5]:
            found.append(f"transactions ended with other than 5 wrong codes upstream: {short}")
        return found

    def text(self) -> str:
        codes = Counter(self.wrong_codes[tx] for tx in self.ended_by_cap)
        window = (
            "none"
            if self.first_503 is None
            else f"{self.outage:.1f} s ({self.first_503:+.1f} s to {self.last_503:+.1f} s)"
        )
        lines = [
            f"{self.flows} sign-ins in flight, {self.attackers} attackers, {self.seconds:.0f} s, "
            "primary killed halfway",
            f"network to Redis: {self.netem}; a request before the kill took"
            f" {self.before_ms[0]:.1f} ms (p50), {self.before_ms[1]:.1f} ms (p99), its redirects included",
            f"replica promoted by the Sentinels: {self.promoted_after:.1f} s after the kill",
            f"503 pages: {self.pages_503}, over {window}",
            f"sign-ins completed: {self.completed}, failed (started again after an error): {self.failed}",
            f"HTTP 500s: {self.http_500}, tracebacks: {self.tracebacks}",
            f"slowest request ending after the kill: {self.slowest:.2f} s",
            "/readyz not ready: "
            + (f"{self.not_ready[0]:+.1f} s to {self.not_ready[1]:+.1f} s" if self.not_ready else "never"),
            "responses by second after the kill: "
            + "; ".join(
                f"+{second}s " + " ".join(f"{n}×{code}" for code, n in sorted(counts.items()))
                for second, counts in sorted(self.timeline.items())
            ),
            f"signed-in sessions at the kill and not signed out since: {self.sessions_before},"
            f" still there after: {self.sessions_after}"
            f" ({self.sitters} of them idle since before the kill: {self.sitters_after:.0f} still signed in)",
            f"confirmed sign-outs undone: {self.sign_outs_undone}",
            f"transactions the cap ended: {len(self.ended_by_cap)} ({self.spanning} across the kill),"
            f" wrong codes upstream in each: {dict(sorted(codes.items()))};"
            f" most in any transaction: {max(self.wrong_codes.values(), default=0)}",
        ]
        return "\n".join(lines)


class Tracebacks(logging.Handler):
    """Counts log records that carry an exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.count += 1


class Drill:
    def __init__(
        self,
        flows: int,
        attackers: int,
        sitters: int,
        seconds: float,
        replicas: int,
        upstream_timeout: float,
        netem_ms: float | None = None,
    ):
        self.report = Report(flows, attackers, seconds, sitters=sitters)
        self.netem_ms = netem_ms
        self.durations: list[float] = []  # of requests before the kill
        self.replicas = replicas
        self.upstream_timeout = upstream_timeout
        self.stopping = asyncio.Event()
        self.killed_at: float | None = None
        self.signed_in: dict[int, str] = {}  # flow -> its signed-in session key
        self.at_kill: set[str] = set()
        self.left: set[str] = set()  # sessions their browser signed out of, or replaced, after the kill
        self.signed_out: set[str] = set()  # sign-outs confirmed before the kill
        self.capped: list[tuple[object, float, float]] = []  # transactions the app ended: (tx, first code, end)

    # --- the simulator, watched -------------------------------------------------------------

    def leave(self, number: int) -> None:
        """The browser is about to end or replace its signed-in session (sign-out, a new sign-in)."""
        if self.killed_at and number in self.signed_in:
            self.left.add(self.signed_in[number])

    def transactions(self, login: str) -> list:  # type: ignore[type-arg]
        """The simulator's transactions for `login`, oldest first."""
        engine = self.state.engine
        found = {id(tx): tx for tx in engine.transactions.values() if tx.user is not None and tx.user.login == login}
        return list(found.values())

    @staticmethod
    def wrong_codes(tx) -> int:  # type: ignore[no-untyped-def]
        """Wrong codes the simulator has had for a transaction's emailed code."""
        return tx.challenge.failures if tx.challenge is not None and tx.challenge.key == "okta_email" else 0

    # --- the people ---------------------------------------------------------------------

    def seen(self, status: int, took: float) -> None:
        now = time.monotonic()
        if self.killed_at is not None:
            self.report.slowest = max(self.report.slowest, took)
            second = int((now - self.killed_at) // 1)
            if second < 8:
                counts = self.report.timeline.setdefault(second, {})
                counts[str(status)] = counts.get(str(status), 0) + 1
        if status == 500:
            self.report.http_500 += 1
        if status == 503:
            self.report.pages_503 += 1
            if self.killed_at is not None:
                self.report.first_503 = (
                    self.report.first_503 if self.report.first_503 is not None else now - self.killed_at
                )
                self.report.last_503 = now - self.killed_at

    async def fetch(self, http: aiohttp.ClientSession, bases: list[str], method: str, path: str, data=None):  # type: ignore[no-untyped-def]
        base = bases[random.randrange(len(bases))]
        started = time.monotonic()
        async with http.request(method, base + path, data=data) as resp:
            html = await resp.text()
            took = time.monotonic() - started
            for hop in [*resp.history, resp]:
                self.seen(hop.status, took)
            if self.killed_at is None:
                self.durations.append(took)
            return resp.status, resp.url.path, html

    async def person(self, number: int, login: str, password: str, bases: list[str], attacker: bool) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            status, path, html = await self.fetch(http, bases, "GET", "/login")
            attempt, password_sent = False, False  # a sign-in under way; its password sent
            first_code = 0.0  # when this attempt's first wrong code went
            while not self.stopping.is_set():
                await asyncio.sleep(random.uniform(0.05, 0.15))  # a person's pace, roughly
                forms = [f for f in read(html).forms if f.hidden.get("_form") == "0"]
                cookie = next((c.value for c in http.cookie_jar if c.key == "embedded"), "")
                if attacker and "too many incorrect" in html.lower():
                    self.capped.append((self.transactions(login)[-1], first_code, time.monotonic()))
                if status == 503:
                    await asyncio.sleep(0.25)
                    status, path, html = await self.fetch(http, bases, "GET", "/login/step")
                elif path == "/" and 'data-claim="email"' in html:
                    if attempt:
                        self.report.completed += 1
                        self.signed_in[number], attempt = cookie, False
                    await asyncio.sleep(random.uniform(0.5, 1.5))
                    csrf = read(html).forms[-1].hidden["_csrf"]
                    self.leave(number)
                    status, path, html = await self.fetch(http, bases, "POST", "/logout", {"_csrf": csrf})
                    if status == 200 and 'data-claim="email"' not in html and not self.killed_at:
                        self.signed_out.add(self.signed_in.pop(number))
                elif forms and "identifier" in forms[0].inputs:
                    if attempt and not attacker:  # back at the start: that sign-in was lost
                        self.report.failed += 1
                    self.leave(number)  # a sign-in from this browser replaces its session
                    self.signed_in.pop(number, None)
                    attempt, password_sent, first_code = True, False, 0.0
                    data = {**forms[0].hidden, "identifier": login}
                    status, path, html = await self.fetch(http, bases, "POST", "/login/step", data)
                elif forms and "credentials.passcode" in forms[0].inputs:
                    answer = WRONG if attacker and password_sent else password
                    first_code = first_code if answer != WRONG or first_code else time.monotonic()
                    password_sent = True
                    data = {**forms[0].hidden, "credentials.passcode": answer}
                    status, path, html = await self.fetch(http, bases, "POST", "/login/step", data)
                else:  # signed out, or a page with nothing to do: start again
                    status, path, html = await self.fetch(http, bases, "GET", "/login")

    # --- the drill ------------------------------------------------------------------------

    async def run(self) -> Report:
        submissions.MAX_CODE_ATTEMPTS = 1000  # the simulator's own cap would hide the app's
        netns = None
        if self.netem_ms is not None:
            if (why := Netns(self.netem_ms).unavailable()) is not None:
                self.report.netem = f"loopback (netem skipped: {why})"
            else:
                netns = Netns(self.netem_ms).start()
                self.report.netem = f"a veth pair into a network namespace, netem {self.netem_ms:g} ms each way"
        sentinels = SentinelDeployment(replicas=self.replicas, netns=netns)
        tracebacks = Tracebacks()
        logging.getLogger().addHandler(tracebacks)
        runners: list[web.AppRunner] = []
        try:
            await asyncio.to_thread(sentinels.start)
            simulator = create_simulator_app()
            state = self.state = simulator[SIMULATOR]
            state.org.rate_limit_requests = 1_000_000
            people = add_users(state.org, "alice@example.com", self.report.flows, "f")
            attackers = add_users(state.org, "bob@example.com", self.report.attackers, "a")
            sim_port = free_port()
            runners.append(await self.serve(simulator, sim_port, {}))
            bases = []
            for _ in range(2):
                port = free_port()
                settings = Settings(
                    issuer=f"http://127.0.0.1:{sim_port}/oauth2/default",
                    client_id="demo-client",
                    client_secret="demo-secret",
                    redirect_uri=f"http://127.0.0.1:{port}/login/callback",
                    redis_url=sentinels.url,
                    upstream_timeout=self.upstream_timeout,
                    step_limit_per_ip=NO_LIMIT,
                    step_limit_per_transaction=NO_LIMIT,
                    login_limit_per_ip=NO_LIMIT,
                    max_sessions=1_000_000,
                )
                runners.append(await self.serve(create_app(settings), port, RUNNER_OPTIONS))
                bases.append(f"http://127.0.0.1:{port}")
            sitters = [
                await self.sit(login, bases)
                for login in add_users(state.org, "alice@example.com", self.report.sitters, "s")
            ]
            crowd = [
                asyncio.create_task(self.person(n, login, "Alice-Passw0rd!", bases, False))
                for n, login in enumerate(people)
            ] + [
                asyncio.create_task(self.person(len(people) + n, login, "Bob-Passw0rd!", bases, True))
                for n, login in enumerate(attackers)
            ]
            crowd.append(asyncio.create_task(self.probe(bases[0])))
            await asyncio.sleep(self.report.seconds / 2)
            self.at_kill = {*self.signed_in.values(), *(cookie for _, cookie in sitters)}
            ordered = sorted(self.durations)
            self.report.before_ms = (ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.99)] * 1000)
            old = sentinels.kill_primary()
            self.killed_at = time.monotonic()
            promoted = await asyncio.to_thread(sentinels.wait_for_failover, old, 60.0)
            self.report.promoted_after = time.monotonic() - self.killed_at
            await asyncio.sleep(max(0.0, self.killed_at + self.report.seconds / 2 - time.monotonic()))
            self.stopping.set()
            await asyncio.gather(*crowd, return_exceptions=True)
            for http, _ in sitters:  # still signed in, through either instance
                for _ in bases:
                    status, path, html = await self.fetch(http, bases, "GET", "/")
                    self.report.sitters_after += int(path == "/" and 'data-claim="email"' in html) / len(bases)
                await http.close()
            self.check(promoted, set(attackers))
        finally:
            for runner in reversed(runners):
                await runner.cleanup()
            logging.getLogger().removeHandler(tracebacks)
            await asyncio.to_thread(sentinels.stop)
            if netns is not None:
                netns.stop()
        self.report.tracebacks = tracebacks.count
        return self.report

    async def probe(self, base: str) -> None:
        """/readyz every 0.2 s, as a load balancer would: when it said "not ready" after the kill."""
        async with aiohttp.ClientSession() as http:
            while not self.stopping.is_set():
                async with http.get(base + "/readyz") as resp:
                    ready = resp.status == 200
                if not ready and self.killed_at is not None:
                    since = time.monotonic() - self.killed_at
                    self.report.not_ready = (self.report.not_ready[0] if self.report.not_ready else since, since)
                await asyncio.sleep(0.2)

    async def sit(self, login: str, bases: list[str]) -> tuple[aiohttp.ClientSession, str]:
        """A browser that signs in before the kill and then only waits: its session must outlive it."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        _, _, html = await self.fetch(http, bases, "GET", "/login")
        for name, value in (("identifier", login), ("credentials.passcode", "Alice-Passw0rd!")):
            form = next(f for f in read(html).forms if f.hidden.get("_form") == "0")
            _, _, html = await self.fetch(http, bases, "POST", "/login/step", {**form.hidden, name: value})
        assert 'data-claim="email"' in html, "a sitter could not sign in"
        return http, next(c.value for c in http.cookie_jar if c.key == "embedded")

    @staticmethod
    async def serve(app: web.Application, port: int, options: dict) -> web.AppRunner:
        runner = web.AppRunner(app, **options)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    def check(self, promoted, attackers: set[str]) -> None:  # type: ignore[no-untyped-def]
        with promoted.client() as client:
            exists = lambda cookie: client.exists(f"embedded:s:{{{cookie}}}") == 1  # noqa: E731
            kept = [c for c in self.at_kill if c not in self.left]
            self.report.sessions_before = len(kept)
            self.report.sessions_after = sum(1 for c in kept if exists(c))
            self.report.sign_outs_undone = sum(1 for c in self.signed_out if exists(c))
        attacked = [tx for login in attackers for tx in self.transactions(login) if self.wrong_codes(tx)]
        self.report.wrong_codes = {tx.state_handle[-8:]: self.wrong_codes(tx) for tx in attacked}
        self.report.ended_by_cap = sorted({tx.state_handle[-8:] for tx, _, _ in self.capped})  # type: ignore[attr-defined]
        killed = self.killed_at or 0.0
        self.report.spanning = len({id(tx) for tx, first, end in self.capped if first < killed < end})


async def drill(
    *,
    flows: int = 64,
    attackers: int = 4,
    sitters: int = 16,
    seconds: float = 30.0,
    replicas: int = 2,
    upstream_timeout: float = 10.0,
    netem_ms: float | None = None,
) -> Report:
    return await Drill(flows, attackers, sitters, seconds, replicas, upstream_timeout, netem_ms).run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=64)
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--sitters", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--upstream-timeout", type=float, default=10.0)
    parser.add_argument(
        "--netem", type=float, metavar="MS", help="Redis in a network namespace, MS milliseconds away each way (root)"
    )
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    report = asyncio.run(
        drill(
            flows=args.flows,
            attackers=args.attackers,
            sitters=args.sitters,
            seconds=args.seconds,
            replicas=args.replicas,
            upstream_timeout=args.upstream_timeout,
            netem_ms=args.netem,
        )
    )
    print(report.text())
    problems = report.problems()
    for problem in problems:
        print("FAILED:", problem)
    if args.json:
        Path(args.json).write_text(json.dumps({**asdict(report), "outage": report.outage}, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
