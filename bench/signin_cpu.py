"""Server CPU per complete password sign-in, and sign-ins per second, with each store, as
ratios to what a bare aiohttp app spends on the same requests (the floor), measured in the run.

    python bench/signin_cpu.py [--signins N] [--repeat R] [--stores memory,redis] [--profile]

A minimal fake Identity Engine (bench/fake_idx.py: the recorded password sign-in replayed,
one ID token signed per sign-in) and the app each run in a process of their own; only the
app's CPU is counted (user + system time of its process, from /proc). A form-filling
HTTP client drives N complete sign-ins of alice through the real pages (open /login, the
identify page, the password page, land home: 6 requests, 5 IDX calls), fresh cookies each
time, at concurrency 1 and 16, R times; medians are printed, with each store's ratio to the
floor (`bench/aiohttp_floor.py`'s app and client, against the same fake Identity Engine in the
same run) and Redis's to memory. The floor and every store stay up for the whole run and take
turns, one run each (floor, memory, Redis, floor, ...): a ratio is the median of the ratios of
runs made side by side, so a slow spell of a shared machine falls on both sides of it. On
Redis it also prints the round trips the app made per sign-in, counted by the app itself (a
script or a command is one: `embedded_redis_round_trips` in its metrics), and the Redis commands
they ran (INFO commandstats: a script's own commands count here).
`--profile` runs the app under cProfile once and prints its top 20 functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from redis_server import RedisServer, free_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
HIDDEN = re.compile(r'name="(_csrf|_step|_form)" value="([^"]*)"')


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


async def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer")
            await asyncio.sleep(0.1)


async def one_sign_in(base: str) -> float:
    start = time.perf_counter()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(base + "/login") as resp:
            html = await resp.text()
        for fields in ({"identifier": "alice@example.com"}, {"credentials.passcode": "Alice-Passw0rd!"}):
            form = dict(HIDDEN.findall(html))
            async with http.post(base + "/login/step", data={**form, "_form": "0", **fields}) as resp:
                html = await resp.text()
        if 'data-claim="email">alice@example.com<' not in html:
            raise SystemExit(
                "a sign-in did not reach the home page: " + " ".join(re.sub(r"<[^>]+>", " ", html).split())[:300]
            )
    return time.perf_counter() - start


async def drive(base: str, signins: int, concurrency: int) -> list[float]:
    queue = iter(range(signins))
    latencies: list[float] = []

    async def worker() -> None:
        for _ in queue:
            latencies.append(await one_sign_in(base))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def app_command(
    port: int, idp_port: int, redis_url: str | None, metrics: bool = False
) -> tuple[list[str], dict[str, str]]:
    """How the bench starts the app: `python -m embedded` on `port` against the fake Identity
    Engine on `idp_port` (the command, then its environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_"))}
    env.update(
        {
            "OKTA_IDX_ISSUER": f"http://127.0.0.1:{idp_port}/oauth2/default",
            "OKTA_IDX_CLIENTID": "bench-client",
            "OKTA_IDX_CLIENTSECRET": "bench-secret",
            "OKTA_IDX_SCOPES": "openid profile email",
            "OKTA_IDX_REDIRECTURI": f"http://127.0.0.1:{port}/login/callback",
            # One address signing in as fast as it can: the per-address limits would turn it away.
            "EMBEDDED_STEP_LIMIT_PER_IP": "1000000/60",
            "EMBEDDED_LOGIN_LIMIT_PER_IP": "1000000/60",
            "EMBEDDED_MAX_SESSIONS": "1000000",
        }
    )
    if redis_url:
        env["EMBEDDED_REDIS_URL"] = redis_url
    if metrics:
        env["EMBEDDED_METRICS"] = "1"
    return [sys.executable, "-m", "embedded", "--port", str(port)], env


def start_app(
    port: int, idp_port: int, redis_url: str | None, profile_to: str | None, metrics: bool = False
) -> subprocess.Popen[bytes]:
    command, env = app_command(port, idp_port, redis_url, metrics)
    if profile_to:
        command[1:1] = ["-m", "cProfile", "-o", profile_to]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass(frozen=True)
class Launch:
    """How a bench starts the floor's bare app or ours on a port: its command and environment
    (None: the bench's own), the base URL sign-ins go to, and a URL that answers once it is up."""

    command: list[str]
    env: dict[str, str] | None
    base: str
    ready: str


def launch(name: str, port: int, idp_port: int, redis_url: str | None = None) -> Launch:
    """ "floor" (`bench/aiohttp_floor.py`'s bare app), or ours with the store `redis_url` names."""
    if name == "floor":
        from aiohttp_floor import floor_command

        base = f"http://127.0.0.1:{port}/"
        return Launch(floor_command(port, idp_port), None, base, base)
    command, env = app_command(port, idp_port, redis_url)
    base = f"http://127.0.0.1:{port}"
    return Launch(command, env, base, base + "/static/css/embedded.css")


def start(how: Launch, under: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """Start what `how` says, under a command such as valgrind's (`under`) if given."""
    return subprocess.Popen(
        [*under, *how.command], env=how.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def redis_round_trips(base: str) -> float:
    """The app's own count of its round trips to Redis on a request's path (not the metrics
    endpoint's own sampling of the session count)."""
    async with aiohttp.ClientSession() as http, http.get(base + "/metrics") as resp:
        text = await resp.text()
    found = re.findall(r'^embedded_redis_round_trips_total\{operation="(\w+)"\} ([0-9.e+]+)$', text, re.M)
    return sum(float(n) for operation, n in found)


def redis_commands(redis_url: str | None) -> int:
    """Commands Redis has run (a script's own commands included), less the INFO asking."""
    if redis_url is None:
        return 0
    import redis as redis_py

    client = redis_py.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")


async def count_redis(idp_port: int, redis_url: str, signins: int = 50) -> tuple[float, float]:
    """Round trips and Redis commands per sign-in, from an app of their own with metrics on (the
    CPU runs keep metrics off, as the floor has none)."""
    port = free_port()
    app = start_app(port, idp_port, redis_url, None, metrics=True)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for(base + "/static/css/embedded.css")
        await drive(base, 5, 1)
        trips, commands = await redis_round_trips(base), redis_commands(redis_url)
        await drive(base, signins, 4)
        return (await redis_round_trips(base) - trips) / signins, (redis_commands(redis_url) - commands) / signins
    finally:
        app.send_signal(signal.SIGINT)
        app.wait(timeout=30)


async def upstream_calls(idp_port: int) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{idp_port}/_calls") as resp:
        return sum((await resp.json()).values())


class Contender:
    """One app the bench measures, started once and driven run by run: the bare floor app or ours
    with a store. Runs of every contender alternate (floor, memory, Redis, floor, ...), so a slow
    spell of a shared machine falls on all of them and not on one contender's runs."""

    def __init__(self, name: str, idp_port: int, redis_url: str | None = None) -> None:
        self.name, self.idp_port, self.redis_url = name, idp_port, redis_url
        how = launch(name, free_port(), idp_port, redis_url)
        self.app, self.base, self.ready = start(how), how.base, how.ready

    async def warm(self) -> None:
        await wait_for(self.ready)
        await self.drive(20, 4)  # discovery, keys, templates

    async def drive(self, signins: int, concurrency: int) -> list[float]:
        if self.name == "floor":
            from aiohttp_floor import drive as drive_floor

            started = time.perf_counter()
            await drive_floor(self.base, signins, concurrency)
            return [time.perf_counter() - started]
        return await drive(self.base, signins, concurrency)

    async def run(self, signins: int, concurrency: int) -> tuple[float, ...]:
        """CPU ms per sign-in, sign-ins/s, p50 and p99 ms, IDX calls per sign-in (floor: CPU only)."""
        calls_before, before, started = (
            await upstream_calls(self.idp_port),
            cpu_seconds(self.app.pid),
            time.perf_counter(),
        )
        latencies = sorted(await self.drive(signins, concurrency))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(self.app.pid) - before
        calls = await upstream_calls(self.idp_port) - calls_before
        return (
            cpu * 1000 / signins,
            signins / elapsed,
            latencies[len(latencies) // 2] * 1000,
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            calls / signins,
        )

    def stop(self) -> None:
        self.app.send_signal(signal.SIGINT)
        self.app.wait(timeout=30)


async def profile(idp_port: int, signins: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.environ.get("PROFILE_OUT") or str(Path(tmp) / "app.prof")
        app = start_app(port, idp_port, None, out)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_for(base + "/static/css/embedded.css")
            await drive(base, signins, 16)
        finally:
            app.send_signal(signal.SIGINT)
            app.wait(timeout=60)
        print(f"\ncProfile of the app over {signins} sign-ins at concurrency 16, top 20 by own time:")
        pstats.Stats(out).sort_stats(os.environ.get("PSORT", "tottime")).print_stats(int(os.environ.get("PTOP", "20")))


def start_fake_idx(port: int, latency: float = 0.0) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "fake_idx.py"), "--port", str(port), "--latency", str(latency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def main(args: argparse.Namespace) -> None:
    idp_port = free_port()
    fake = start_fake_idx(idp_port)
    redis = RedisServer().start() if "redis" in args.stores else None
    contenders: list[Contender] = []
    try:
        await wait_for(f"http://127.0.0.1:{idp_port}/oauth2/default/.well-known/openid-configuration")
        redis_url = redis.url if redis else None
        # Counted first, by an app of its own with metrics on (the CPU runs keep metrics off).
        trips, commands = await count_redis(idp_port, redis_url) if redis_url else (0.0, 0.0)
        for name in ("floor", *args.stores):
            contenders.append(Contender(name, idp_port, redis_url if name == "redis" else None))
        for contender in contenders:
            await contender.warm()
        print(
            f"password sign-ins through the pages: N={args.signins}, medians of {args.repeat} runs, each store's "
            "runs alternating with the floor's; app CPU from /proc, fake Identity Engine not counted"
        )
        runs: dict[tuple[str, int], list[tuple[float, ...]]] = {}
        for _ in range(args.repeat):
            for concurrency in (1, 16):
                for contender in contenders:
                    result = await contender.run(args.signins, concurrency)
                    runs.setdefault((contender.name, concurrency), []).append(result)
        head = f"{'store':<8} {'conc.':>5} {'CPU ms/sign-in':>15} {'x floor':>8} {'x memory':>9} {'sign-ins/s':>11}"
        print(head + f" {'p50 ms':>8} {'p99 ms':>8} {'IDX calls':>10} {'Redis trips':>12} {'Redis cmds':>11}")
        for concurrency in (1, 16):
            print(f"{'floor':<8} {concurrency:>5} {statistics.median(r[0] for r in runs['floor', concurrency]):>15.2f}")
        for store in args.stores:
            for concurrency in (1, 16):
                mine = runs[store, concurrency]
                cpu, rate, p50, p99, calls = (statistics.median(r[i] for r in mine) for i in range(5))
                # Each ratio from runs made one after the other, then the median of those.
                to_floor = paired(mine, runs["floor", concurrency])
                to_memory = (
                    f"{paired(mine, runs['memory', concurrency]):>9.2f}"
                    if store != "memory" and ("memory", concurrency) in runs
                    else f"{'':>9}"
                )
                counted = (trips, commands) if store == "redis" else (0.0, 0.0)
                print(
                    f"{store:<8} {concurrency:>5} {cpu:>15.2f} {to_floor:>8.2f} {to_memory} {rate:>11.1f} "
                    f"{p50:>8.1f} {p99:>8.1f} {calls:>10.1f} {counted[0]:>12.1f} {counted[1]:>11.1f}"
                )
        if args.profile:
            await profile(idp_port, min(args.signins, 200))
    finally:
        for contender in contenders:
            contender.stop()
        fake.terminate()
        fake.wait(timeout=30)
        if redis:
            redis.stop()


def paired(runs: list[tuple[float, ...]], against: list[tuple[float, ...]]) -> float:
    """The median of the CPU ratios of runs made side by side (the n-th of each)."""
    return statistics.median(mine[0] / theirs[0] for mine, theirs in zip(runs, against, strict=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stores", type=lambda s: s.split(","), default=["memory", "redis"])
    parser.add_argument("--profile", action="store_true")
    asyncio.run(main(parser.parse_args()))
