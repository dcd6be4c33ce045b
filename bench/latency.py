"""What the app adds to each step when many people sign in at once and the Identity Engine is slow.

    python bench/latency.py [--mode burst|steady] [--flows 500] [--rate 150] [--duration 60]
                            [--latency 0.1] [--think 5] [--stores floor,memory,redis]

The fake Identity Engine (bench/fake_idx.py) holds every answer back `--latency` seconds. `--flows`
people sign in at the same time through the real pages, each pausing about `--think` seconds on
a page (uniformly between half and one and a half times that) as a person reads and types:
`burst` starts them all within the first `--think` seconds; `steady` starts sign-ins at random
(Poisson arrivals) for `--duration` seconds at the pace that offers `--rate` HTTP requests a
second, so the load neither ramps up nor drains while it is measured (the generator's own
garbage collector is off meanwhile, so its pauses are not counted as the app's). For
every step the time the app adds is its response time minus the upstream calls it waits for
(each `--latency`): opening /login waits for two (interact, introspect), the username one
(identify), the password two (the answer, then the code exchanged for tokens), and showing a
page none. Printed per step and over all steps: p50 and p99 of the added time, with the offered
request rate and the app's CPU use, since the added time is queueing once the app is busy.

`floor` (a store name, first by default) runs the same load against `bench/aiohttp_floor.py`'s
bare app: the same six requests with the same upstream calls and pauses, no session, page or
log. What it "adds" is what this machine, the load generator and the fake Identity Engine add
around any aiohttp app; each of our rows is printed beside the floor's, and their difference.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aiohttp_floor import SHAPE  # noqa: E402
from signin_cpu import HIDDEN, cpu_seconds, launch, start, start_fake_idx, upstream_calls, wait_for  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import RedisServer, free_port  # noqa: E402

# (step, the upstream calls it waits for)
STEPS = (
    ("open /login", 2),
    ("show username page", 0),
    ("send username", 1),
    ("show password page", 0),
    ("send password", 2),
    ("show home", 0),
)


async def one_flow(base: str, latency: float, think: float, added: dict[str, list[float]]) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:

        async def timed(
            step: int, method: str, path: str, data: dict[str, str] | None = None
        ) -> aiohttp.ClientResponse:
            name, calls = STEPS[step]
            started = time.perf_counter()
            async with http.request(method, base + path, data=data, allow_redirects=False) as resp:
                await resp.read()
            added[name].append((time.perf_counter() - started - calls * latency) * 1000)
            return resp

        async def pause() -> None:
            await asyncio.sleep(random.uniform(think / 2, think * 1.5))

        await timed(0, "GET", "/login")
        page = await timed(1, "GET", "/login/step")
        html = await page.text()
        for step, fields in (
            (2, {"identifier": "alice@example.com"}),
            (4, {"credentials.passcode": "Alice-Passw0rd!"}),
        ):
            await pause()
            form = dict(HIDDEN.findall(html))
            sent = await timed(step, "POST", "/login/step", {**form, "_form": "0", **fields})
            if sent.status != 303:
                raise SystemExit(f"{STEPS[step][0]}: HTTP {sent.status}")
            page = await timed(step + 1, "GET", sent.headers["Location"])
            html = await page.text()
        if 'data-claim="email">alice@example.com<' not in html:
            raise SystemExit("a sign-in did not reach the home page")


async def one_floor_flow(base: str, latency: float, think: float, added: dict[str, list[float]]) -> None:
    """A sign-in's shape against the bare app: the same requests, upstream calls and pauses."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for step, calls in enumerate(SHAPE):
            if step in (2, 4):  # before sending the username, and the password
                await asyncio.sleep(random.uniform(think / 2, think * 1.5))
            started = time.perf_counter()
            async with http.get(base, params={"calls": str(calls)}) as resp:
                await resp.read()
            added[STEPS[step][0]].append((time.perf_counter() - started - calls * latency) * 1000)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def burst(run_flow: Callable[[], Awaitable[None]], args: argparse.Namespace) -> int:
    async def staggered() -> None:
        await asyncio.sleep(random.uniform(0, args.think))  # people arrive over a while, not in one instant
        await run_flow()

    await asyncio.gather(*(staggered() for _ in range(args.flows)))
    return args.flows


async def steady(run_flow: Callable[[], Awaitable[None]], args: argparse.Namespace) -> int:
    """Sign-ins arriving as a Poisson process for `args.duration` seconds, each making
    len(STEPS) requests, at `args.rate` requests a second on average."""
    deadline = time.perf_counter() + args.duration
    flows: list[asyncio.Future[None]] = []
    while (wait := random.expovariate(args.rate / len(STEPS))) < deadline - time.perf_counter():
        await asyncio.sleep(wait)
        flows.append(asyncio.ensure_future(run_flow()))
    await asyncio.gather(*flows)
    return len(flows)


async def measure(store: str, args: argparse.Namespace, redis_url: str | None) -> dict[str, list[float]]:
    latency, think = args.latency, args.think
    idp_port = free_port()
    fake = start_fake_idx(idp_port, latency)
    how = launch(store, free_port(), idp_port, redis_url)
    app, base, ready = start(how), how.base, how.ready
    flow = one_floor_flow if store == "floor" else one_flow
    try:
        await wait_for(f"http://127.0.0.1:{idp_port}/oauth2/default/.well-known/openid-configuration")
        await wait_for(ready)
        warm: dict[str, list[float]] = {name: [] for name, _ in STEPS}
        await asyncio.gather(*(flow(base, latency, 0, warm) for _ in range(8)))
        added: dict[str, list[float]] = {name: [] for name, _ in STEPS}
        calls_before, cpu_before, started = await upstream_calls(idp_port), cpu_seconds(app.pid), time.perf_counter()
        # The load generator's own collector pauses would stall every request it has in flight
        # and count as the app's: off while it measures (a minute's garbage is a few MB).
        gc.disable()
        try:
            run = steady if args.mode == "steady" else burst
            flows = await run(lambda: flow(base, latency, think, added), args)
        finally:
            gc.enable()
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(app.pid) - cpu_before
        calls = await upstream_calls(idp_port) - calls_before
    finally:
        app.terminate()
        fake.terminate()
        app.wait(timeout=30)
        fake.wait(timeout=30)
    requests = sum(len(v) for v in added.values())
    window = args.duration if args.mode == "steady" else elapsed  # arrivals stop there; the rest drain
    print(
        f"\n{store}: {flows} flows, {requests / window:.0f} requests/s offered, "
        f"app CPU {100 * cpu / elapsed:.0f}% of one core, "
        f"{calls / flows:.1f} IDX calls per sign-in"
    )
    return added


def report(added: dict[str, list[float]], floor: dict[str, list[float]] | None, latency: float) -> None:
    """Each step's p50 and p99 added, and, beside the floor's run, the floor's and the difference."""
    versus = floor is not None
    print(
        f"{'step':<20} {'upstream':>8} {'p50 added ms':>13} {'p99 added ms':>13}"
        + (f" {'floor p50':>10} {'floor p99':>10} {'p99 - floor':>12}" if versus else "")
    )
    rows: list[tuple[str, int | None, list[float], list[float]]]
    rows = [(name, waits, added[name], floor[name] if floor else []) for name, waits in STEPS]
    rows.append(("every step", None, [v for r in rows for v in r[2]], [v for r in rows for v in r[3]]))
    for name, waits, ours, theirs in rows:
        upstream = f"{waits * latency * 1000:>6.0f}ms" if waits is not None else ""
        line = f"{name:<20} {upstream:>8} {statistics.median(ours):>13.1f} {percentile(ours, 0.99):>13.1f}"
        if versus:
            p99 = percentile(theirs, 0.99)
            line += f" {statistics.median(theirs):>10.1f} {p99:>10.1f} {percentile(ours, 0.99) - p99:>12.1f}"
        print(line)


async def main(args: argparse.Namespace) -> None:
    if args.mode == "steady":
        load = f"sign-ins arriving for {args.duration:g} s at {args.rate:g} requests/s"
    else:
        load = f"{args.flows} concurrent sign-ins"
    print(f"{load}, {args.latency * 1000:.0f} ms upstream latency, about {args.think:g} s on each page")
    redis = RedisServer().start() if "redis" in args.stores else None
    floor: dict[str, list[float]] | None = None
    try:
        for store in args.stores:
            added = await measure(store, args, redis.url if store == "redis" and redis else None)
            report(added, floor if store != "floor" else None, args.latency)
            if store == "floor":
                floor = added
    finally:
        if redis:
            redis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("burst", "steady"), default="burst")
    parser.add_argument("--flows", type=int, default=500, help="burst: sign-ins started at once")
    parser.add_argument("--rate", type=float, default=150.0, help="steady: HTTP requests a second offered")
    parser.add_argument("--duration", type=float, default=60.0, help="steady: seconds sign-ins keep arriving")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--think", type=float, default=5.0)
    parser.add_argument("--stores", type=lambda s: s.split(","), default=["floor", "memory", "redis"])
    asyncio.run(main(parser.parse_args()))
