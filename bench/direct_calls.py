"""Identity Engine calls per sign-in: the direct mode (EMBEDDED_MODE=direct) against the embedded
mode (IDX), for alice (password) and carol (password + a code from her authenticator app).

    python bench/direct_calls.py [--runs N]

Serves the local simulator and the app in each mode on loopback ports, signs each person in N
times per mode, and counts the requests the simulator receives during each sign-in (discovery
and the signing keys, fetched once per process, left out). Prints one line per person and mode.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import socket
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from embedded import Settings  # noqa: E402
from embedded.demo import create_app  # noqa: E402
from embedded.simulator import SIMULATOR, create_simulator_app  # noqa: E402
from embedded.simulator.totp import totp  # noqa: E402

PER_PROCESS = ("/.well-known/openid-configuration", "/v1/keys")
PEOPLE = {
    "alice": ("alice@example.com", "Alice-Passw0rd!", None),
    "carol": ("carol@example.com", "Carol-Passw0rd!", "CAROLCAROLCAROL2"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def hidden(html: str) -> dict[str, str]:
    """The hidden fields of the page's first step form."""
    form = re.search(r'<form method="post" action="/login/step" class="step-form".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


async def step(http: aiohttp.ClientSession, base: str, html: str, **fields: str) -> str:
    async with http.post(base + "/login/step", data={**hidden(html), **fields}) as resp:
        assert resp.status == 200, resp.status
        return await resp.text()


async def sign_in(http: aiohttp.ClientSession, base: str, mode: str, who: str) -> None:
    username, password, secret = PEOPLE[who]
    async with http.get(base + "/login") as resp:
        html = await resp.text()
    if mode == "direct":
        html = await step(http, base, html, identifier=username, **{"credentials.passcode": password})
        if secret:
            html = await step(http, base, html, method="otp")
    else:
        html = await step(http, base, html, identifier=username)
        html = await step(http, base, html, **{"credentials.passcode": password})
    if secret:
        html = await step(http, base, html, **{"credentials.passcode": totp(secret)})
    assert f'data-claim="email">{username}<' in html, f"{who} was not signed in ({mode})"
    async with http.post(base + "/logout", data={"_csrf": re.findall(r'name="_csrf" value="([^"]*)"', html)[-1]}):
        pass


async def main(runs: int) -> None:
    simulator = create_simulator_app()
    sim_port = free_port()
    runners = [await serve(simulator, sim_port)]
    calls = simulator[SIMULATOR].calls
    try:
        for mode in ("embedded", "direct"):
            port = free_port()
            settings = Settings(
                issuer=f"http://127.0.0.1:{sim_port}/oauth2/default",
                client_id="demo-client",
                client_secret="demo-secret",
                scopes=("openid", "profile", "email", "offline_access"),
                redirect_uri=f"http://127.0.0.1:{port}/login/callback",
                step_limit_per_transaction=(1000, 5.0),
            )
            runners.append(await serve(create_app(dataclasses.replace(settings, mode=mode)), port))
            for who in PEOPLE:
                counts = []
                for _ in range(runs):
                    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                        before = len(calls)
                        await sign_in(http, f"http://127.0.0.1:{port}", mode, who)
                        made = [p for _, p in calls[before:] if not p.endswith(PER_PROCESS + ("/v1/revoke",))]
                        counts.append(len(made))
                    if PEOPLE[who][2]:  # the next code from a new 30-second window, never one used already
                        await asyncio.sleep(30.5 - time.time() % 30)
                by_endpoint = Counter(
                    p.rsplit("/", 2)[-1] if "/idp/idx/" not in p else "idx/" + p.rsplit("/", 1)[-1] for p in made
                )
                print(
                    f"{who:6} {mode:9} {max(counts)} Identity Engine calls per sign-in "
                    f"({', '.join(f'{k} x{n}' if n > 1 else k for k, n in by_endpoint.items())})"
                )
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    asyncio.run(main(parser.parse_args().runs))
