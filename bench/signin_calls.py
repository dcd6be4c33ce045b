"""Upstream calls and latency of a password sign-in, step by step.

    python bench/signin_calls.py [--runs N] [--latency-ms MS]

With no OKTA_IDX_* settings it serves the local simulator and the app on loopback ports
and signs alice in N times. With OKTA_IDX_* set (any conforming Identity Engine on
loopback), it signs in BENCH_USERNAME / BENCH_PASSWORD instead. Calls are counted inside
the app's IDX client, so the count is the same whatever answers upstream.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from embedded import Settings  # noqa: E402
from embedded.config import configured_in  # noqa: E402
from embedded.demo import create_app  # noqa: E402
from embedded.idx_client import IdxClient  # noqa: E402
from embedded.web.setup import RUNNER_OPTIONS  # noqa: E402

CALLS: list[str] = []
# One address signing in over and over, faster than anyone: the app's own per-address limit
# on step posts (100 a minute) would turn the bench away, so it is raised here.
BENCH_LIMITS = {"step_limit_per_ip": (1_000_000, 60.0)}


# Fetched once per process and cached, so not part of any one user's sign-in.
PER_PROCESS = ("/.well-known/openid-configuration", "/v1/keys")


def idx_calls(steps: dict[str, tuple[float, list[str]]]) -> list[str]:
    return [c for _, calls in steps.values() for c in calls if not c.endswith(PER_PROCESS)]


def count_calls() -> None:
    original = IdxClient._request

    async def counted(self, method, url, **kwargs):
        CALLS.append(urlsplit(url).path)
        return await original(self, method, url, **kwargs)

    IdxClient._request = counted


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, **{k: v for k, v in RUNNER_OPTIONS.items() if k != "access_log_class"})
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


async def post(http, base, html, fields):
    data = {"_csrf": field(html, "_csrf"), "_step": field(html, "_step"), "_form": "0", **fields}
    async with http.post(base + "/login/step", data=data) as resp:
        return resp.status, str(resp.url), await resp.text()


async def one_sign_in(base: str, username: str, password: str) -> dict[str, tuple[float, list[str]]]:
    steps: dict[str, tuple[float, list[str]]] = {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

        async def timed(name, coro):
            before, start = len(CALLS), time.perf_counter()
            result = await coro
            steps[name] = (time.perf_counter() - start, CALLS[before:])
            return result

        async def get_login():
            async with http.get(base + "/login") as resp:
                return await resp.text()

        html = await timed("open sign-in page", get_login())
        _, _, html = await timed("submit identifier", post(http, base, html, {"identifier": username}))
        status, url, html = await timed("submit password", post(http, base, html, {"credentials.passcode": password}))
        if urlsplit(url).path != "/" or username not in html:
            raise SystemExit(f"sign-in did not reach the home page (status {status}, {url})")
    return steps


async def main(runs: int, latency_ms: float) -> None:
    count_calls()
    runners = []
    app_port = free_port()
    if configured_in(os.environ):
        settings = Settings.from_env(**BENCH_LIMITS)
        username, password = os.environ["BENCH_USERNAME"], os.environ["BENCH_PASSWORD"]
        upstream = settings.issuer
    else:
        from embedded.simulator import SIMULATOR, create_simulator_app

        sim_port = free_port()
        simulator = create_simulator_app()
        simulator[SIMULATOR].faults.latency_ms = latency_ms
        runners.append(await serve(simulator, sim_port))
        upstream = f"http://127.0.0.1:{sim_port}/oauth2/default"
        settings = Settings(
            issuer=upstream,
            client_id="demo-client",
            client_secret="demo-secret",
            redirect_uri=f"http://127.0.0.1:{app_port}/login/callback",
            **BENCH_LIMITS,
        )
        username, password = "alice@example.com", "Alice-Passw0rd!"
    runners.append(await serve(create_app(settings), app_port))
    base = f"http://127.0.0.1:{app_port}"
    try:
        results = [await one_sign_in(base, username, password) for _ in range(runs)]
    finally:
        for runner in reversed(runners):
            await runner.cleanup()

    print(f"password sign-in against {upstream}: {runs} runs, added upstream latency {latency_ms:g} ms")
    print(f"{'step':<20} {'IDX calls (1st run)':<48} {'calls (later)':>13} {'p50 ms':>8} {'p95 ms':>8}")
    for name in results[0]:
        first = results[0][name][1]
        later = Counter(len(r[name][1]) for r in results[1:]) if runs > 1 else Counter()
        times = sorted(r[name][0] * 1000 for r in results)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(
            f"{name:<20} {', '.join(p.rsplit('/', 1)[-1] for p in first):<48} "
            f"{'/'.join(map(str, sorted(later))) or '-':>13} {statistics.median(times):>8.1f} {p95:>8.1f}"
        )
    per_run = [len(idx_calls(r)) for r in results]
    once = len(CALLS) - sum(per_run)
    total = sorted(sum(s[0] for s in r.values()) * 1000 for r in results)
    print(
        f"IDX calls per sign-in: {min(per_run)}..{max(per_run)} "
        f"(interact, introspect, identify, challenge/answer, token); discovery + keys: {once} in {runs} runs"
    )
    print(
        f"whole sign-in: p50 {statistics.median(total):.1f} ms, "
        f"p95 {total[min(len(total) - 1, int(len(total) * 0.95))]:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator only: added latency per upstream call")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latency_ms))
