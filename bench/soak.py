"""Soak: two app instances on one Redis against the simulator, many people at once, for a
bounded time; then the memory an in-flight sign-in transaction costs in each store.

    .venv/bin/python bench/soak.py [--minutes 5] [--concurrency 64] [--hold 10000]

Every process is real: a redis-server (no persistence), the simulator (the demo org plus a
copy of alice and of bob for each virtual person), and two `python -m embedded` instances on
that Redis. Each virtual person takes journeys in turn: a sign-in with a password, one with an
emailed code, a registration, a recovery, each signed in ending with a sign-out; requests
alternate between the two instances, and each journey comes from an address of its own
(X-Forwarded-For, the instances trusting 127.0.0.1 as their proxy).

It prints sign-ins a second, p50/p99 of every step, errors, each instance's RSS at the start,
after warm-up and at the end, and Redis memory per in-flight transaction (MEMORY USAGE of the
sessions holding one). With --hold N (default 10,000; 0 skips it), a fresh instance per store
then holds N transactions started and not finished, and the memory each costs is reported:
the instance's RSS growth for the in-memory store, Redis' used_memory growth for Redis, with
the size of the stored transaction and of the IDX response inside it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402
import redis.asyncio as redis  # noqa: E402
from journeys import Browser, Journey, JourneyError, add_users, sign_out  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
JOURNEY_ORDER = ("password", "email-mfa", "register", "recover")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- processes ---------------------------------------------------------------------------


def serve_simulator(port: int, people: int) -> None:
    """The simulator with a copy of alice and of bob for each virtual person (a subprocess)."""
    from aiohttp import web

    from embedded.simulator import create_simulator_app, demo_org

    org = demo_org()
    add_users(org, "alice@example.com", people, "soak")
    add_users(org, "bob@example.com", people, "soak")
    web.run_app(
        create_simulator_app(org, issuer=f"http://127.0.0.1:{port}/oauth2/default"),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
    )


@dataclass
class Processes:
    people: int
    log_dir: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    redis_port: int = 0
    sim_port: int = 0

    def spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - the child writes it until the end
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.children.append(child)
        return child

    def start_shared(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is missing (Debian: apt-get install redis-server)")
        self.redis_port = free_port()
        self.spawn(
            "redis",
            # Its working directory is the soak's own log folder: nothing it might write lands in the checkout.
            [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(self.log_dir.resolve())]
            + ["--save", "", "--appendonly", "no"],
        )
        self.new_simulator("simulator")

    def new_simulator(self, name: str) -> subprocess.Popen[bytes]:
        """A simulator of its own (it keeps every transaction it began, and slows as they pile up)."""
        self.sim_port = free_port()
        return self.spawn(
            name, [sys.executable, __file__, "--serve-simulator", str(self.sim_port), "--people", str(self.people)]
        )

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def app(self, name: str, *, redis_url: str | None, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_"))}
        env.update(
            {
                "OKTA_IDX_ISSUER": f"http://127.0.0.1:{self.sim_port}/oauth2/default",
                "OKTA_IDX_CLIENTID": "demo-client",
                "OKTA_IDX_CLIENTSECRET": "demo-secret",
                "OKTA_IDX_SCOPES": "openid profile email offline_access",
                # Any instance serves the callback: the redirect URI names one, the cookie is the same host's.
                "OKTA_IDX_REDIRECTURI": f"http://127.0.0.1:{port}/login/callback",
                "EMBEDDED_TRUSTED_PROXIES": "127.0.0.1",
                "EMBEDDED_AUDIT_KEY": "soak",
                "EMBEDDED_LOG_FORMAT": "json",
                **({"EMBEDDED_REDIS_URL": redis_url} if redis_url else {}),
                **extra,
            }
        )
        child = self.spawn(name, [sys.executable, "-m", "embedded", "--port", str(port)], env)
        return child, f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


async def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not answer 200 in {seconds:.0f} s")


# --- load --------------------------------------------------------------------------------


@dataclass
class Tally:
    steps: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    journeys: Counter[str] = field(default_factory=Counter)
    sign_ins: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Person:
    """One virtual person: their own alice and bob copies, journeys in turn, one after another."""

    def __init__(self, n: int, bases: list[str], sim: str, tally: Tally):
        self.n, self.bases, self.sim, self.tally = n, bases, sim, tally
        self.alice, self.bob = f"alice+soak{n}@example.com", f"bob+soak{n}@example.com"
        self.alice_password = "Alice-Passw0rd!"
        self.registered = 0
        self.kinds = itertools.cycle(JOURNEY_ORDER[n % 4 :] + JOURNEY_ORDER[: n % 4])

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            kind = next(self.kinds)
            try:
                await self.journey(kind)
            except (JourneyError, aiohttp.ClientError, TimeoutError, AssertionError) as exc:
                self.tally.errors[f"{kind}: {type(exc).__name__}: {str(exc)[:80]}"] += 1

    async def journey(self, kind: str) -> None:
        address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=60)) as http:
            browser = Browser(http, self.bases, self.sim + "/outbox.json", headers={"X-Forwarded-For": address})
            if kind == "password":
                journey = Journey(kind, browser, self.alice, password=self.alice_password)
            elif kind == "email-mfa":
                journey = Journey(kind, browser, self.bob, password="Bob-Passw0rd!")
            elif kind == "register":
                self.registered += 1
                journey = Journey(
                    kind, browser, f"sol+{self.n}x{self.registered}@example.com", password="Green-Meadow-42x"
                )
            else:
                new = f"Blue-Harbour-{self.n}x{random.randrange(10**6)}"
                journey = Journey(kind, browser, self.alice, new_password=new)
            for label, seconds in await journey.finish():
                self.tally.steps[f"start ({kind})" if label == "start" else label].append(seconds)
            if kind == "recover":
                self.alice_password = journey.new_password
            self.tally.journeys[kind] += 1
            if journey.page is not None and journey.page.signed_in:
                self.tally.sign_ins += 1
                page = await sign_out(browser)
                if page.status != 200 or page.signed_in:
                    raise JourneyError(f"sign-out: HTTP {page.status} at {page.path}")
                self.tally.steps["sign-out"].append(page.seconds)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def redis_per_transaction(url: str, sample: int = 500) -> tuple[int, float, float, float]:
    """(sessions holding a transaction, mean MEMORY USAGE of one, mean stored transaction bytes,
    mean IDX response bytes inside it), over up to `sample` of them."""
    import json

    client = redis.Redis.from_url(url)
    usage, tx_bytes, response_bytes, count = [], [], [], 0
    try:
        async for key in client.scan_iter(match="embedded:s:*", count=1000):
            raw = await client.hget(key, "tx")
            if raw is None:
                continue
            count += 1
            if len(usage) < sample:
                usage.append(await client.memory_usage(key) or 0)
                tx_bytes.append(len(raw))
                response_bytes.append(len(json.dumps(json.loads(raw).get("response"), separators=(",", ":"))))
    finally:
        await client.aclose()
    mean = lambda xs: statistics.fmean(xs) if xs else 0.0  # noqa: E731
    return count, mean(usage), mean(tx_bytes), mean(response_bytes)


async def soak(args: argparse.Namespace, procs: Processes) -> bool:
    instances = [procs.app(f"app{i}", redis_url=procs.redis_url) for i in (1, 2)]
    for _, base in instances:
        await wait_for(base + "/readyz")
    sim = f"http://127.0.0.1:{procs.sim_port}"
    # Every instance is reached at its own port; the cookie jar is per host, so the session follows.
    bases = [base for _, base in instances]
    pids = [child.pid for child, _ in instances]
    rss_start = [rss_kb(pid) for pid in pids]
    seconds = args.minutes * 60
    warm_up = min(60.0, max(5.0, seconds * 0.2))
    tally = Tally()
    started = time.monotonic()
    people = [Person(n, bases, sim, tally) for n in range(args.concurrency)]
    load = asyncio.gather(*(p.run(started + seconds) for p in people))
    await asyncio.sleep(warm_up)
    rss_warm = [rss_kb(pid) for pid in pids]
    in_flight = await redis_per_transaction(procs.redis_url)
    await load
    elapsed = time.monotonic() - started
    rss_end = [rss_kb(pid) for pid in pids]

    print(f"soak: {elapsed:.0f} s, {args.concurrency} people, 2 instances on one Redis")
    print(f"  journeys: {dict(tally.journeys)}; sign-ins {tally.sign_ins} ({tally.sign_ins / elapsed:.1f}/s)")
    print(f"  errors: {sum(tally.errors.values())}")
    for line, n in tally.errors.most_common(10):
        print(f"    {n} × {line}")
    print("  step                                          count   p50 ms   p99 ms")
    for label, values in sorted(tally.steps.items()):
        print(
            f"  {label:<45} {len(values):>6} {percentile(values, 0.5) * 1000:>8.1f} "
            f"{percentile(values, 0.99) * 1000:>8.1f}"
        )
    for i in range(len(pids)):
        growth = (rss_end[i] - rss_warm[i]) / rss_warm[i] * 100 if rss_warm[i] else 0.0
        print(
            f"  instance {i + 1} RSS: start {rss_start[i] / 1024:.1f} MB, "
            f"after warm-up ({warm_up:.0f} s) {rss_warm[i] / 1024:.1f} MB, "
            f"end {rss_end[i] / 1024:.1f} MB ({growth:+.1f}% since warm-up)"
        )
    count, usage, tx_bytes, response_bytes = in_flight
    print(
        f"  Redis, {count} transactions in flight after warm-up: {usage / 1024:.1f} KB each "
        "(MEMORY USAGE of the session), "
        f"the transaction {tx_bytes / 1024:.1f} KB of it, the IDX response {response_bytes / 1024:.1f} KB of that"
    )
    flat = all(end <= warm * 1.10 for end, warm in zip(rss_end, rss_warm, strict=True))
    return not tally.errors and flat


async def hold(args: argparse.Namespace, procs: Processes, store: str) -> None:
    """N transactions started and left in flight on a fresh instance: the memory each costs."""
    simulator = procs.new_simulator(f"simulator-hold-{store}")
    await wait_for(f"http://127.0.0.1:{procs.sim_port}/oauth2/default/.well-known/openid-configuration")
    client = redis.Redis.from_url(procs.redis_url)
    await client.flushall()
    used_before = (await client.info("memory"))["used_memory"]
    child, base = procs.app(
        f"hold-{store}",
        redis_url=procs.redis_url if store == "redis" else None,
        EMBEDDED_MAX_SESSIONS=str(args.hold * 2),
        EMBEDDED_LOG_FORMAT="json",
    )
    await wait_for(base + "/readyz")
    # Warm the instance (templates compiled, connections made) before the baseline.
    async with aiohttp.ClientSession() as http:
        for n in range(50):
            async with http.get(
                base + "/login", headers={"X-Forwarded-For": f"192.0.2.{n}"}, allow_redirects=False
            ) as resp:
                await resp.read()
    rss_before = rss_kb(child.pid)
    used_before = (await client.info("memory"))["used_memory"]
    gate = asyncio.Semaphore(64)
    failures = Counter[int]()

    async def start(n: int, http: aiohttp.ClientSession) -> None:
        async with (
            gate,
            http.get(
                base + "/login",
                headers={"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"},
                allow_redirects=False,
            ) as resp,
        ):
            if resp.status != 303:
                failures[resp.status] += 1

    started = time.monotonic()
    # No cookie jar: each request is a new browser whose transaction is left in flight.
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), connector=aiohttp.TCPConnector(limit=64)
    ) as http:
        await asyncio.gather(*(start(n + 1000, http) for n in range(args.hold)))
    took = time.monotonic() - started
    await asyncio.sleep(1)
    rss_after = rss_kb(child.pid)
    used_after = (await client.info("memory"))["used_memory"]
    held = args.hold - sum(failures.values())
    print(
        f"hold, {store} store: {held} transactions in flight "
        f"({took:.0f} s to start them{', refused: ' + str(dict(failures)) if failures else ''})"
    )
    if store == "memory":
        print(
            f"  instance RSS {rss_before / 1024:.1f} MB -> {rss_after / 1024:.1f} MB: "
            f"{(rss_after - rss_before) / max(held, 1):.1f} KB per transaction"
        )
    else:
        count, usage, tx_bytes, response_bytes = await redis_per_transaction(procs.redis_url)
        print(
            f"  Redis used_memory {used_before / 2**20:.1f} MB -> {used_after / 2**20:.1f} MB: "
            f"{(used_after - used_before) / max(held, 1) / 1024:.1f} KB "
            f"per transaction (MEMORY USAGE of one session: {usage / 1024:.1f} KB; {count} sessions hold one)"
        )
        print(
            f"  stored transaction {tx_bytes / 1024:.1f} KB, of which the IDX response {response_bytes / 1024:.1f} KB"
        )
    await client.aclose()
    for process in (child, simulator):
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 70)


async def main_async(args: argparse.Namespace) -> int:
    log_dir = Path(args.log_dir or ROOT / "test-artifacts" / "soak")
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = Processes(people=args.concurrency, log_dir=log_dir)
    ok = True
    try:
        procs.start_shared()
        await wait_for(f"http://127.0.0.1:{procs.sim_port}/oauth2/default/.well-known/openid-configuration")
        if args.minutes > 0:
            ok = await soak(args, procs)
        if args.hold:
            for store in ("memory", "redis"):
                await hold(args, procs, store)
    finally:
        procs.stop()
    print(f"(process logs in {log_dir})")
    return 0 if ok else 1


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--hold", type=int, default=10_000, help="transactions to hold in flight per store afterwards (0: skip)"
    )
    parser.add_argument("--log-dir", help="where the processes' logs go (default: test-artifacts/soak)")
    parser.add_argument("--serve-simulator", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--people", type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.serve_simulator, args.people)
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
