"""Instructions per password sign-in, for the floor and each store, counted by valgrind's
callgrind: the ratios of `bench/signin_cpu.py` without the machine's noise.

    python bench/signin_instructions.py [--signins 30] [--warm 20] [--stores memory,redis]

CPU time on a shared machine moves by half within an hour, so a change worth a few per cent
cannot be seen in it. The instructions an app's process executes are the same from run to run
within about 0.1 %. They count user space only: the kernel's work on the sockets (about as much
for the floor as for us) is not in them, so a ratio of instructions runs higher than the same
ratio of CPU time.

Each app (the floor of `bench/aiohttp_floor.py`, then ours with each store) runs under callgrind
in a process of its own, against the fake Identity Engine of `bench/signin_cpu.py`. After 20
sign-ins (`--warm`) to warm it (discovery, keys, templates) its counters are zeroed; `--signins` sign-ins
are driven at concurrency 1, the counters dumped, then as many at concurrency 16, dumped again.
Printed: millions of instructions per sign-in, the ratio to the floor, Redis's to memory.
Python runs some 50 times slower under callgrind: a run takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aiohttp_floor import drive as drive_floor  # noqa: E402
from signin_cpu import drive, launch, start, start_fake_idx, wait_for  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import RedisServer, free_port  # noqa: E402

CONCURRENCIES = (1, 16)
TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.M)


def dumped(path: Path, seconds: float = 120) -> int:
    """The instruction count in a callgrind dump, once callgrind has finished writing it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and (found := TOTALS.search(path.read_text(errors="replace"))):
            return int(found.group(1))
        time.sleep(0.2)
    raise SystemExit(f"callgrind wrote no totals to {path}")


async def count(
    name: str, idp_port: int, redis_url: str | None, args: argparse.Namespace, out: Path
) -> dict[int, float]:
    """Millions of instructions per sign-in at each concurrency, for the floor or a store."""
    how = launch(name, free_port(), idp_port, redis_url)
    base = how.base
    sign_in: Callable[[str, int, int], Awaitable[object]] = drive_floor if name == "floor" else drive
    dump = out / f"{name}.out"
    app = start(how, under=["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}"])
    try:
        await wait_for(how.ready, 600)
        await sign_in(base, args.warm, 4)
        subprocess.run(["callgrind_control", "--zero", str(app.pid)], check=True, capture_output=True)
        per_signin = {}
        for number, concurrency in enumerate(CONCURRENCIES, start=1):
            await sign_in(base, args.signins, concurrency)
            subprocess.run(["callgrind_control", "--dump", str(app.pid)], check=True, capture_output=True)
            per_signin[concurrency] = (
                dumped(Path(f"{dump}.{number}")) / args.signins / 1e6
            )  # a dump zeroes the counters
        return per_signin
    finally:
        app.terminate()
        app.wait(timeout=120)


async def main(args: argparse.Namespace) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian's package valgrind)")
    idp_port = free_port()
    fake = start_fake_idx(idp_port)
    redis = RedisServer().start() if "redis" in args.stores else None
    try:
        await wait_for(f"http://127.0.0.1:{idp_port}/oauth2/default/.well-known/openid-configuration")
        with tempfile.TemporaryDirectory() as tmp:
            counted = {
                name: await count(name, idp_port, redis.url if name == "redis" and redis else None, args, Path(tmp))
                for name in ("floor", *args.stores)
            }
    finally:
        fake.terminate()
        fake.wait(timeout=30)
        if redis:
            redis.stop()
    print(f"password sign-ins through the pages: N={args.signins} a concurrency, instructions of the app's process")
    print(f"{'store':<8} {'conc.':>5} {'M instr./sign-in':>17} {'x floor':>8} {'x memory':>9}")
    for name, figures in counted.items():
        for concurrency, millions in figures.items():
            to_floor = f"{millions / counted['floor'][concurrency]:>8.2f}" if name != "floor" else f"{'':>8}"
            to_memory = (
                f"{millions / counted['memory'][concurrency]:>9.2f}" if name == "redis" and "memory" in counted else ""
            )
            print(f"{name:<8} {concurrency:>5} {millions:>17.2f} {to_floor} {to_memory}".rstrip())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=30)
    parser.add_argument("--warm", type=int, default=20, help="sign-ins before counting")
    parser.add_argument("--stores", type=lambda s: s.split(","), default=["memory", "redis"])
    asyncio.run(main(parser.parse_args()))
