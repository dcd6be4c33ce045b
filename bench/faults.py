"""The fault matrix: every step of a sign-in with a password and an emailed code, a
registration and a recovery, against the simulator, with one fault injected at that step.

    .venv/bin/python bench/faults.py [--journeys email-mfa,register,recover] [--faults 500,nested,...]
                                     [--concurrency 12] [--upstream-timeout 10] [--json FILE]

Each cell gets a fresh app instance (Redis-backed, as in production), a fresh user and a fault
proxy of its own between the app and the simulator. The proxy forwards everything (the
simulator derives its issuer from the Host it is asked for, so every link and token names the
proxy) and, once armed before the step, spoils the step's first Identity Engine call (or, in
the extra "→ token" rows, the token exchange that ends the journey):

    refused     nothing listens (the proxy stops listening for the step)
    timeout     no answer before the app's upstream timeout
    slow        the answer, 5 s late (under the app's default 10 s timeout)
    reset       the real answer, cut off halfway through its body
    500 503 429 Okta's error bodies with those statuses
    malformed   200 with an Ion body whose remediations have the wrong types
    truncated   the real answer, half of its JSON
    huge        the real answer padded to 20 MB
    nested      a 100,000-deep JSON array
    jwks-down   the signing keys endpoint answers 503 (from this step on)
    skew+ skew- the Identity Engine's clock 5 minutes ahead / behind (ID tokens re-signed
                with shifted times by a key the proxy adds to the JWKS; expiresAt shifted)
    redis-down  Redis stopped for the step, then back with its data
    redis-restart  Redis restarted (empty) before the step

For each cell it prints what the person saw (the page's heading and first notice), the HTTP
status, whether the transaction survived (after the fault is lifted, the journey carries on to
the end without starting again), and the unhandled exceptions logged while it ran. The
acceptance (issue 11): no HTTP 500, no unhandled exception, a clear page in every cell; the
exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402
import jwt  # noqa: E402
from aiohttp import web  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from journeys import Browser, Journey, JourneyError, add_users  # noqa: E402

from embedded.config import Settings  # noqa: E402
from embedded.demo import create_app  # noqa: E402
from embedded.logformat import CURRENT_REQUEST  # noqa: E402
from embedded.simulator import SIMULATOR, create_simulator_app  # noqa: E402
from embedded.web.setup import RUNNER_OPTIONS  # noqa: E402

FAULTS = (
    "refused",
    "timeout",
    "slow",
    "reset",
    "500",
    "503",
    "429",
    "malformed",
    "truncated",
    "huge",
    "nested",
    "jwks-down",
    "skew+",
    "skew-",
    "redis-down",
    "redis-restart",
)
JOURNEYS = {  # kind -> (demo user to copy, password)
    "email-mfa": ("bob@example.com", "Bob-Passw0rd!"),
    "register": (None, "Green-Meadow-42x"),
    "recover": ("alice@example.com", "Alice-Passw0rd!"),
}
NEW_PASSWORD = "Blue-Harbour-77"
ION = "application/ion+json; okta-version=1.0.0"
SKEW = 300
SLOW_SECONDS = 5.0
HUGE_BYTES = 20 * 1024 * 1024
NESTING = 100_000
OKTA_ERRORS = {
    "500": ("E0000009", "Internal Server Error"),
    "503": ("E0000010", "Service is temporarily unavailable."),
    "429": ("E0000047", "API call exceeded rate limit due to too many requests."),
}
MALFORMED = {
    "version": "1.0.0",
    "stateHandle": 7,
    "expiresAt": [],
    "intent": {"x": 1},
    "remediation": {
        "type": "array",
        "value": [{"name": ["identify"], "href": 5, "method": None, "value": "not a list"}, 3, None],
    },
    "messages": {"type": "array", "value": [{"message": None, "class": 9}]},
}
EXPIRES = re.compile(rb'"expiresAt"\s*:\s*"([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the fault proxy ---------------------------------------------------------------------


class Skew:
    """A signing key of the proxy's own, for ID tokens with shifted clocks."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = {
            **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key())),
            "kid": "skewed-clock",
            "use": "sig",
            "alg": "RS256",
        }

    def token(self, body: bytes, seconds: int) -> bytes:
        doc = json.loads(body)
        if isinstance(doc.get("id_token"), str):
            claims = jwt.decode(doc["id_token"], options={"verify_signature": False})
            for name in ("iat", "exp", "auth_time", "nbf"):
                if isinstance(claims.get(name), (int, float)):
                    claims[name] += seconds
            doc["id_token"] = jwt.encode(claims, self.key, "RS256", headers={"kid": "skewed-clock"})
        return json.dumps(doc).encode()

    def keys(self, body: bytes) -> bytes:
        doc = json.loads(body)
        doc["keys"] = [*doc.get("keys", []), self.jwk]
        return json.dumps(doc).encode()

    @staticmethod
    def expiry(body: bytes, seconds: int) -> bytes:
        def shift(match: re.Match[bytes]) -> bytes:
            try:
                when = datetime.fromisoformat(match.group(1).decode()) + timedelta(seconds=seconds)
            except ValueError:
                return match.group(0)
            return b'"expiresAt":"' + when.isoformat().replace("+00:00", "Z").encode() + b'"'

        return EXPIRES.sub(shift, body)


def protocol_call(path: str) -> bool:
    return path.startswith(("/idp/", "/oauth2/")) and not path.endswith(
        ("/.well-known/openid-configuration", "/v1/keys")
    )


class FaultProxy:
    """Between one app instance and the simulator; `arm(kind, target)` spoils the next call."""

    def __init__(self, upstream: str, http: aiohttp.ClientSession, skew: Skew, hang: float):
        self.upstream, self.http, self.skew_key, self.hang = upstream, http, skew, hang
        self.port = free_port()
        self.armed: str | None = None
        self.target = "first"
        self.fired = 0
        self.jwks_down = False
        self.skew = 0
        self.runner: web.AppRunner | None = None
        self.site: web.TCPSite | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.5, logger=logging.getLogger("faults.proxy")
        )
        await self.runner.setup()
        await self.listen()
        return self

    async def listen(self) -> None:
        assert self.runner is not None
        self.site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await self.site.start()

    async def deafen(self) -> None:
        if self.site is not None:
            await self.site.stop()
            self.site = None

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def arm(self, kind: str, target: str) -> None:
        if kind == "jwks-down":
            self.jwks_down = True
        elif kind in ("skew+", "skew-"):
            self.skew = SKEW if kind == "skew+" else -SKEW
        else:
            self.armed, self.target = kind, target

    def disarm(self) -> None:
        self.armed, self.jwks_down, self.skew = None, False, 0

    def _take(self, path: str) -> str | None:
        if self.jwks_down and path.endswith("/v1/keys"):
            self.fired += 1
            return "jwks-down"
        if self.armed is None or not protocol_call(path) or (self.target == "token" and not path.endswith("/v1/token")):
            return None
        kind, self.armed = self.armed, None
        self.fired += 1
        return kind

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fault = self._take(request.path)
        if fault == "timeout":
            await asyncio.sleep(self.hang)
            return web.Response(status=504)
        if fault == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if fault in OKTA_ERRORS or fault == "jwks-down":
            code, summary = OKTA_ERRORS.get(fault or "", OKTA_ERRORS["503"])
            status = 503 if fault == "jwks-down" else int(fault or 503)
            return web.json_response(
                {"errorCode": code, "errorSummary": summary, "errorId": "fault", "errorCauses": []},
                status=status,
                headers={"Connection": "close", **({"Retry-After": "2"} if status == 429 else {})},
            )
        if fault == "nested":
            return web.Response(
                body=b"[" * NESTING + b"]" * NESTING, headers={"Content-Type": ION, "Connection": "close"}
            )
        if fault == "malformed":
            return web.Response(
                body=json.dumps(MALFORMED).encode(), headers={"Content-Type": ION, "Connection": "close"}
            )
        status, content_type, body = await self.forward(request)
        if self.skew:
            body = self.skewed(request.path, body)
        if fault == "truncated":
            body = body[: len(body) // 2]
        elif fault == "huge":
            body = (
                body.rstrip()[:-1] + b',"padding":"' + b"x" * HUGE_BYTES + b'"}'
                if body.rstrip().endswith(b"}")
                else body + b" " * HUGE_BYTES
            )
        elif fault == "reset":
            response = web.StreamResponse(
                status=status, headers={"Content-Type": content_type, "Content-Length": str(len(body))}
            )
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            await asyncio.sleep(0.05)
            if request.transport is not None:
                request.transport.abort()
            return response
        return web.Response(status=status, body=body, headers={"Content-Type": content_type, "Connection": "close"})

    def skewed(self, path: str, body: bytes) -> bytes:
        try:
            if path.endswith("/v1/token"):
                return self.skew_key.token(body, self.skew)
            if path.endswith("/v1/keys"):
                return self.skew_key.keys(body)
        except ValueError:
            return body
        return Skew.expiry(body, self.skew)

    async def forward(self, request: web.Request) -> tuple[int, str, bytes]:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "connection", "transfer-encoding")
        }
        headers["Host"] = f"127.0.0.1:{self.port}"  # the simulator names the proxy as its issuer
        async with self.http.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as resp:
            return resp.status, resp.headers.get("Content-Type", "application/json"), await resp.read()


# --- Redis for a cell --------------------------------------------------------------------


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="faults-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is missing (Debian: apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dbfilename",
                "dump.rdb",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return self
            except OSError:
                await asyncio.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    async def stop(self, *, keep_data: bool) -> None:
        if self.process is None:
            return
        if keep_data:
            import redis.asyncio as redis

            client = redis.Redis.from_url(self.url)
            await client.save()
            await client.aclose()
        else:
            Path(self.dir, "dump.rdb").unlink(missing_ok=True)
        self.process.terminate()
        await asyncio.to_thread(self.process.wait, 10)
        self.process = None

    async def close(self) -> None:
        await self.stop(keep_data=False)
        shutil.rmtree(self.dir, ignore_errors=True)


async def ready(http: aiohttp.ClientSession, url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        async with http.get(url) as resp:
            if resp.status == 200:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready: {await resp.text()}")
        await asyncio.sleep(0.2)


# --- cells -------------------------------------------------------------------------------


@dataclass
class Cell:
    journey: str
    step: str
    fault: str
    status: int = 0
    saw: str = ""
    survived: str = ""
    http_500: int = 0
    exceptions: int = 0
    reached: bool = True
    clear: bool = True
    seconds: float = 0.0
    note: str = ""
    logged: list[str] = field(default_factory=list)


class Exceptions(logging.Handler):
    """Unhandled exceptions (ERROR and up, or anything with a traceback), by app instance."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.by_app: dict[int, list[str]] = {}
        self.unattributed: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if (record.levelno < logging.ERROR and not record.exc_info) or record.name.startswith("faults."):
            return  # the bench's own proxy and simulator are not the app
        request = CURRENT_REQUEST.get()
        line = f"{record.name}: {record.getMessage()}" + (
            f" ({record.exc_info[0].__name__})" if record.exc_info and record.exc_info[0] else ""
        )
        if request is None:
            self.unattributed.append(line)
        else:
            self.by_app.setdefault(id(request.app), []).append(line)


class Bench:
    def __init__(self, *, concurrency: int, upstream_timeout: float, verbose: bool = False):
        self.concurrency = concurrency
        self.upstream_timeout = upstream_timeout
        self.verbose = verbose
        self.skew = Skew()
        self.exceptions = Exceptions()
        self.counter = 0

    async def __aenter__(self) -> Bench:
        root = logging.getLogger()
        root.addHandler(self.exceptions)  # the only handler: the app's own lines are not printed
        root.setLevel(logging.WARNING)
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: self.exceptions.unattributed.append(str(context.get("message")))
        )
        self.simulator = web.AppRunner(
            create_simulator_app(), access_log=None, logger=logging.getLogger("faults.simulator")
        )
        await self.simulator.setup()
        self.sim_port = free_port()
        await web.TCPSite(self.simulator, "127.0.0.1", self.sim_port).start()
        self.org = self.simulator.app[SIMULATOR].org
        self.redis = await Redis().start()
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=120), connector=aiohttp.TCPConnector(limit=0, force_close=True)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.redis.close()
        await self.simulator.cleanup()
        logging.getLogger().removeHandler(self.exceptions)

    @property
    def sim_origin(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def user(self, kind: str) -> str:
        self.counter += 1
        template = JOURNEYS[kind][0]
        if template is None:
            return f"sol+{self.counter}@example.com"
        return add_users(self.org, template, 1, f"f{self.counter}x")[0]

    async def plan(self, kind: str) -> list[str]:
        """The steps of one journey, from a run without faults."""
        cell = await self.cell(kind, None, "none", "first")
        if cell.survived != "done":
            raise SystemExit(f"{kind}: the journey does not complete without faults: {cell.saw!r} {cell.note}")
        return cell.logged

    async def cell(self, kind: str, at: int | None, fault: str, target: str) -> Cell:
        """Take `at` steps, inject `fault` for the next one, lift it, and see the journey through."""
        started = time.monotonic()
        login, password = self.user(kind), JOURNEYS[kind][1]
        own_redis = await Redis().start() if fault.startswith("redis") else None
        proxy = await FaultProxy(self.sim_origin, self.http, self.skew, hang=self.upstream_timeout + 2).start()
        app_port = free_port()
        settings = Settings(
            issuer=proxy.origin + "/oauth2/default",
            client_id="demo-client",
            client_secret="demo-secret",
            scopes=("openid", "profile", "email", "offline_access"),
            redirect_uri=f"http://127.0.0.1:{app_port}/login/callback",
            redis_url=(own_redis or self.redis).url,
            upstream_timeout=self.upstream_timeout,
            step_limit_per_ip=(1_000_000, 60.0),
            login_limit_per_ip=(1_000_000, 60.0),
        )
        app = create_app(settings)
        runner = web.AppRunner(app, shutdown_timeout=1.0, **RUNNER_OPTIONS)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", app_port).start()
        cell = Cell(kind, "", fault)
        try:
            async with aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=60)
            ) as http:
                browser = Browser(http, [f"http://127.0.0.1:{app_port}"], self.sim_origin + "/outbox.json")
                await ready(http, f"http://127.0.0.1:{app_port}/readyz")  # discovery fetched, as in production
                journey = Journey(kind, browser, login, password=password, new_password=NEW_PASSWORD)
                await self.drive(journey, cell, at, fault, target, proxy, own_redis)
        except (JourneyError, aiohttp.ClientError, TimeoutError, AssertionError) as exc:
            cell.note = f"{type(exc).__name__}: {exc}"[:200]
            cell.clear = False
        finally:
            await runner.cleanup()
            await proxy.close()
            if own_redis is not None:
                await own_redis.close()
        cell.logged = cell.logged if fault == "none" else self.exceptions.by_app.pop(id(app), [])
        cell.exceptions = len(cell.logged) if fault != "none" else 0
        cell.seconds = time.monotonic() - started
        return cell

    async def drive(
        self,
        journey: Journey,
        cell: Cell,
        at: int | None,
        fault: str,
        target: str,
        proxy: FaultProxy,
        redis: Redis | None,
    ) -> None:
        if at is None:  # the plan: every step's label
            labels = []
            while not journey.done and len(labels) < 12:
                labels.append(await journey.advance())
                assert journey.page is not None and journey.page.status < 400, journey.page and journey.page.seen()
            cell.logged, cell.survived = labels, "done" if journey.done else "no"
            cell.saw = journey.page.seen() if journey.page else ""
            return
        for _ in range(at):
            await journey.advance()
            assert journey.page is not None and journey.page.status < 400, (
                f"before the fault: {journey.page and journey.page.seen()}"
            )
        if fault == "refused":
            await proxy.deafen()
        elif fault == "redis-down" and redis is not None:
            await redis.stop(keep_data=True)
        elif fault == "redis-restart" and redis is not None:
            await redis.stop(keep_data=False)
            await redis.start()
        else:
            proxy.arm(fault, target)
        fired_before = proxy.fired
        cell.step = await journey.advance() + (" → token" if target == "token" else "")
        page = journey.page
        assert page is not None
        cell.status, cell.saw = page.status, page.seen()
        cell.http_500 = sum(1 for s in page.statuses if s >= 500 and s not in (502, 503))
        cell.clear = bool(page.title or page.notices) and page.status not in (500,)
        if fault == "refused":
            await proxy.listen()
        elif fault == "redis-down" and redis is not None:
            await redis.start()
        else:
            cell.reached = fault.startswith(("redis", "skew")) or proxy.fired > fired_before
        proxy.disarm()
        await self.survival(journey, cell)

    async def survival(self, journey: Journey, cell: Cell) -> None:
        """After the fault: does the same transaction carry on to the end?"""
        if journey.done:
            cell.survived = "done"
            return
        page = await journey.browser.get("/login/step")
        if (
            page.path != "/login/step" or page.primary() is None or len(page.paths) > 1
        ):  # sent to /login: a new transaction
            cell.survived = "no transaction yet" if cell.step == "start" else "no: start again"
            return
        journey.page = page
        before = journey.steps
        try:
            await journey.finish(max_steps=before + 8)
        except JourneyError as exc:
            cell.survived = "no: " + str(exc)[:60]
            return
        cell.survived = "yes" if journey.done else "no"
        if any(p.status >= 500 and p.status not in (502, 503) for p in journey.pages):
            cell.http_500 += 1

    async def run(self, kinds: list[str], faults: list[str]) -> list[Cell]:
        jobs: list[tuple[str, int, str, str]] = []
        for kind in kinds:
            steps = await self.plan(kind)
            for at in range(len(steps)):
                targets = ["first", "token"] if at == len(steps) - 1 else ["first"]
                for target in targets:
                    for fault in faults:
                        if target == "token" and fault in (
                            "jwks-down",
                            "skew+",
                            "skew-",
                            "redis-down",
                            "redis-restart",
                            "refused",
                        ):
                            continue  # not specific to one call: the step's row covers them
                        jobs.append((kind, at, fault, target))
        gate = asyncio.Semaphore(self.concurrency)
        done = 0

        async def one(job: tuple[str, int, str, str]) -> Cell:
            nonlocal done
            async with gate:
                cell = await self.cell(*job)
                done += 1
                if self.verbose:
                    print(
                        f"  [{done}/{len(jobs)}] {cell.journey} {cell.step} {cell.fault}: "
                        f"{cell.status} {cell.survived}",
                        file=sys.stderr,
                        flush=True,
                    )
                return cell

        return list(await asyncio.gather(*(one(job) for job in jobs)))


# --- report ------------------------------------------------------------------------------


def table(cells: list[Cell]) -> str:
    rows = [("journey", "step", "fault", "HTTP", "what the person saw", "survived", "500s", "exceptions")]
    for c in cells:
        saw = c.saw if c.reached else f"(fault not reached) {c.saw}"
        rows.append(
            (
                c.journey,
                c.step,
                c.fault,
                str(c.status),
                saw[:70] + (f" [{c.note}]" if c.note else ""),
                c.survived[:40],
                str(c.http_500),
                str(c.exceptions),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(cells: list[Cell], unattributed: list[str]) -> tuple[str, bool]:
    http_500 = sum(c.http_500 for c in cells)
    exceptions = sum(c.exceptions for c in cells) + len(unattributed)
    unclear = [c for c in cells if not c.clear]
    statuses = Counter(c.status for c in cells)
    survived = Counter(c.survived.split(":")[0] for c in cells)
    lines = [
        f"{len(cells)} cells: HTTP 500s {http_500}, unhandled exceptions {exceptions}, "
        f"cells without a clear page {len(unclear)}",
        "statuses: " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items())),
        "transactions: " + ", ".join(f"{k} {v}" for k, v in survived.most_common()),
    ]
    for c in unclear:
        lines.append(f"  unclear: {c.journey} / {c.step} / {c.fault}: {c.note or c.saw}")
    for line in unattributed[:10]:
        lines.append(f"  exception outside any request: {line}")
    for c in cells:
        for line in c.logged[:3]:
            lines.append(f"  exception in {c.journey} / {c.step} / {c.fault}: {line}")
    return "\n".join(lines), http_500 == 0 and exceptions == 0 and not unclear


async def main_async(args: argparse.Namespace) -> int:
    kinds = args.journeys.split(",")
    faults = args.faults.split(",")
    for name in faults:
        if name not in FAULTS:
            raise SystemExit(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    started = time.monotonic()
    async with Bench(
        concurrency=args.concurrency, upstream_timeout=args.upstream_timeout, verbose=args.verbose
    ) as bench:
        cells = await bench.run(kinds, faults)
        unattributed = bench.exceptions.unattributed
    print(table(cells))
    print()
    text, ok = summary(cells, unattributed)
    print(text)
    print(f"({time.monotonic() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(c) for c in cells], indent=1))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", default=",".join(JOURNEYS))
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=10.0,
        help="the app's upstream timeout (default: the app's default, 10 s)",
    )
    parser.add_argument("--json", help="also write every cell to this file")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main_async(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
