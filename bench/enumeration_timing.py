"""How long the app takes to answer a username on the entry pages, by who the username is:
an existing user, an unknown one, a locked one. A gap would let a stopwatch do what the page
text no longer does (tell whether an account exists).

    python bench/enumeration_timing.py [--runs N]

The app and the simulator run on loopback ports; the time measured is the browser's POST of
the username (one IDX call) and the GET of the page it leads to. Prints p50/p95 per kind and
entry page, and the largest p50 gap.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from signin_calls import BENCH_LIMITS, field, free_port, serve  # noqa: E402

from embedded import Settings  # noqa: E402
from embedded.demo import create_app  # noqa: E402

PEOPLE = {"existing": "alice@example.com", "unknown": "nobody@example.com", "locked": "henry@example.com"}
ENTRIES = ("/login", "/recover")


async def one(base: str, entry: str, username: str) -> float:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(base + entry) as resp:
            html = await resp.text()
        data = {"_csrf": field(html, "_csrf"), "_step": field(html, "_step"), "_form": "0", "identifier": username}
        start = time.perf_counter()
        async with http.post(base + "/login/step", data=data) as resp:
            await resp.read()
        return (time.perf_counter() - start) * 1000


async def main(runs: int) -> None:
    from embedded.simulator import create_simulator_app

    sim_port, app_port = free_port(), free_port()
    runners = [await serve(create_simulator_app(), sim_port)]
    settings = Settings(
        issuer=f"http://127.0.0.1:{sim_port}/oauth2/default",
        client_id="demo-client",
        client_secret="demo-secret",
        redirect_uri=f"http://127.0.0.1:{app_port}/login/callback",
        **BENCH_LIMITS,
    )
    runners.append(await serve(create_app(settings), app_port))
    base = f"http://127.0.0.1:{app_port}"
    medians: dict[str, list[float]] = {entry: [] for entry in ENTRIES}
    try:
        print(f"{'entry':<10} {'who':<10} {'p50 ms':>8} {'p95 ms':>8}   ({runs} runs each, interleaved)")
        for entry in ENTRIES:
            times: dict[str, list[float]] = {kind: [] for kind in PEOPLE}
            for _ in range(runs):  # interleaved, so a slow moment of the machine hits every kind alike
                for kind, username in PEOPLE.items():
                    times[kind].append(await one(base, entry, username))
            for kind, values in times.items():
                values.sort()
                medians[entry].append(statistics.median(values))
                print(
                    f"{entry:<10} {kind:<10} {statistics.median(values):>8.2f} "
                    f"{values[int(len(values) * 0.95) - 1]:>8.2f}"
                )
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
    for entry, values in medians.items():
        print(f"{entry}: largest gap between p50s {max(values) - min(values):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    asyncio.run(main(parser.parse_args().runs))
