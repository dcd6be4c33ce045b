"""The least CPU an aiohttp app can spend on a sign-in's shape: what `bench/signin_cpu.py`'s
figures stand on.

    python bench/aiohttp_floor.py [--signins 500]

A bare aiohttp app (one handler, no middleware, no session, no template) in a process of its
own answers the same 6 requests a password sign-in makes, and makes the same 5 upstream calls to
the fake Identity Engine (2 for the first request, 1 for the username, 2 for the password),
each returning a page of about the same size; the client opens fresh cookies for each sign-in,
as `signin_cpu.py` does. Printed: the app process's CPU per sign-in, at concurrency 1 and 16.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from signin_cpu import cpu_seconds, start_fake_idx, wait_for  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import free_port  # noqa: E402

BARE_APP = textwrap.dedent("""
    import sys
    import aiohttp
    from aiohttp import web

    UPSTREAM = sys.argv[2] + "/idp/idx/introspect"
    PAGE = "x" * 6000

    async def open_session(app):
        app["http"] = aiohttp.ClientSession()
        yield
        await app["http"].close()

    async def handler(request):
        for _ in range(int(request.query.get("calls", "0"))):
            async with request.app["http"].post(UPSTREAM, json={"interactionHandle": "x"}) as resp:
                await resp.read()
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.cleanup_ctx.append(open_session)
    app.router.add_route("*", "/", handler)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
""")
# The upstream calls each of a sign-in's six requests makes.
SHAPE = (2, 0, 1, 0, 2, 0)


def floor_command(port: int, idp_port: int) -> list[str]:
    """The bare app on `port`, calling the fake Identity Engine on `idp_port`."""
    return [sys.executable, "-c", BARE_APP, str(port), f"http://127.0.0.1:{idp_port}"]


async def one_sign_in(base: str) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for calls in SHAPE:
            async with http.get(base, params={"calls": str(calls)}) as resp:
                await resp.read()


async def drive(base: str, signins: int, concurrency: int) -> None:
    queue = iter(range(signins))

    async def worker() -> None:
        for _ in queue:
            await one_sign_in(base)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def floor(idp_port: int, signins: int, repeat: int = 1) -> dict[int, float]:
    """The bare app's CPU ms per sign-in at concurrency 1 and 16 (median of `repeat` runs),
    against a fake Identity Engine already listening on `idp_port`."""
    port = free_port()
    app = subprocess.Popen(floor_command(port, idp_port))
    base = f"http://127.0.0.1:{port}/"
    runs: dict[int, list[float]] = {1: [], 16: []}
    try:
        await wait_for(base)
        await drive(base, 20, 4)
        for _ in range(repeat):
            for concurrency in runs:
                before = cpu_seconds(app.pid)
                await drive(base, signins, concurrency)
                runs[concurrency].append((cpu_seconds(app.pid) - before) * 1000 / signins)
    finally:
        app.terminate()
        app.wait(timeout=30)
    return {concurrency: statistics.median(values) for concurrency, values in runs.items()}


async def main(signins: int) -> None:
    idp_port = free_port()
    fake = start_fake_idx(idp_port)
    try:
        await wait_for(f"http://127.0.0.1:{idp_port}/oauth2/default/.well-known/openid-configuration")
        print(f"a bare aiohttp app, {len(SHAPE)} requests and {sum(SHAPE)} upstream calls per sign-in, N={signins}")
        for concurrency, ms in (await floor(idp_port, signins)).items():
            print(f"  concurrency {concurrency:>2}: {ms:.2f} ms of CPU per sign-in")
    finally:
        fake.terminate()
        fake.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=500)
    asyncio.run(main(parser.parse_args().signins))
