"""Issue 11, operations: /healthz and /readyz outside the prefix, Prometheus metrics (on the app
or on a port of their own), JSON log lines with the correlation id, a graceful stop on SIGTERM
(a real process), and gunicorn's aiohttp worker with two workers on one Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import ROOT, demo_settings
from redis_server import RedisServer, free_port
from test_e2e_authenticators import Walker
from test_shared_store import Alternating

from embedded import setup
from embedded.__main__ import YOUNG_OBJECTS, _serve_both, freeze_startup_objects
from embedded.demo import create_app
from embedded.logformat import CURRENT_REQUEST, JsonFormatter
from embedded.simulator import SIMULATOR as SIM
from embedded.web import ops
from embedded.web.ops import READINESS, AccessLogger
from embedded.web.setup import RUNNER_OPTIONS

BOB = ("bob@example.com", "Bob-Passw0rd!")


@pytest.fixture
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.stop()


async def serve(settings_or_app, port: int | None = None) -> tuple[TestServer, str]:
    port = port or free_port()
    app = settings_or_app if isinstance(settings_or_app, web.Application) else create_app(settings_or_app)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server(**RUNNER_OPTIONS)
    return server, f"http://127.0.0.1:{port}"


def settings_for(simulator, port: int, prefix: str = "", **changes):
    return dataclasses.replace(
        demo_settings(simulator.port, redirect_uri=f"http://127.0.0.1:{port}{prefix}/login/callback"), **changes
    )


async def sign_in_bob(walker: Walker) -> None:
    await walker.begin(*BOB)
    await walker.submit(**{"credentials.passcode": (await walker.outbox(BOB[0], "email"))["code"]})
    assert walker.signed_in


# --- probes ------------------------------------------------------------------------------


async def test_probes_live_at_the_root_outside_the_prefix_and_readiness_checks_redis_and_the_identity_engine(
    simulator, redis_url
):
    port = free_port()
    app = web.Application()
    setup(app, settings_for(simulator, port, "/auth", redis_url=redis_url), prefix="/auth")
    server, base = await serve(app, port)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/healthz") as resp:
                assert resp.status == 200 and await resp.text() == "ok\n" and "Set-Cookie" not in resp.headers
            async with http.get(base + "/readyz") as resp:
                assert resp.status == 200 and await resp.json() == {
                    "status": "ready",
                    "checks": {"redis": "ok", "identity_engine": "ok"},
                }
            calls = len(simulator.app[SIM].calls)
            async with http.get(base + "/readyz") as resp:  # ready once: no more upstream calls
                assert resp.status == 200 and len(simulator.app[SIM].calls) == calls
            async with http.get(base + "/auth/healthz") as resp:
                assert resp.status == 404
    finally:
        await server.close()


async def test_readiness_fails_while_redis_or_the_identity_engine_is_unreachable(simulator):
    redis = RedisServer().start()
    port = free_port()
    dead_issuer = f"http://127.0.0.1:{free_port()}/oauth2/default"
    server, base = await serve(
        dataclasses.replace(settings_for(simulator, port, redis_url=redis.url), issuer=dead_issuer), port
    )
    try:
        redis.stop()
        async with aiohttp.ClientSession() as http, http.get(base + "/readyz") as resp:
            body = await resp.json()
        assert resp.status == 503 and body["status"] == "not ready"
        assert body["checks"]["redis"] != "ok" and body["checks"]["identity_engine"] == "ClientConnectorError"
        async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as resp:
            assert resp.status == 200  # alive all the same
    finally:
        await server.close()
        redis.stop()


async def test_readiness_retries_a_failed_discovery_at_most_every_few_seconds():
    """Security round three: while discovery failed, every /readyz call fetched it upstream, so
    anyone could turn probes into as many calls to the Identity Engine. Now a failure stands for
    READY_RETRY seconds (on the probe's own clock, here a fake one), then one probe tries again."""
    fetches: list[str] = []

    async def discovery(request: web.Request) -> web.Response:
        fetches.append(request.path)
        return web.json_response({"errorCode": "E0000009"}, status=503)

    upstream = web.Application()
    upstream.router.add_get("/oauth2/default/.well-known/openid-configuration", discovery)
    upstream_server = TestServer(upstream, host="127.0.0.1")
    await upstream_server.start_server()
    port = free_port()
    app = create_app(demo_settings(upstream_server.port, redirect_uri=f"http://127.0.0.1:{port}/login/callback"))
    now = [1000.0]
    app[READINESS].clock = lambda: now[0]
    server, base = await serve(app, port)
    try:
        async with aiohttp.ClientSession() as http:

            async def probe() -> tuple[int, dict]:
                async with http.get(base + "/readyz") as resp:
                    return resp.status, await resp.json()

            answers = [await probe() for _ in range(10)] + list(await asyncio.gather(*(probe() for _ in range(10))))
            assert {(status, body["checks"]["identity_engine"]) for status, body in answers} == {
                (503, "discovery failed")
            }
            assert len(fetches) == 1
            now[0] += ops.READY_RETRY - 0.1
            await probe()
            assert len(fetches) == 1
            now[0] += 0.1
            assert (await probe())[0] == 503 and len(fetches) == 2  # retried once the time is up
            await asyncio.gather(*(probe() for _ in range(10)))
            assert len(fetches) == 2
    finally:
        await server.close()
        await upstream_server.close()


async def test_a_host_can_keep_its_own_probes(simulator):
    port = free_port()
    app = web.Application()
    setup(app, settings_for(simulator, port), prefix="", health=False)

    async def own(request: web.Request) -> web.Response:
        return web.Response(text="host's own")

    app.router.add_get("/healthz", own)
    server, base = await serve(app, port)
    try:
        async with aiohttp.ClientSession() as http:
            assert await (await http.get(base + "/healthz")).text() == "host's own"
            assert (await http.get(base + "/readyz")).status == 404
    finally:
        await server.close()


def test_the_access_log_keeps_probes_out_of_the_info_level(caplog):
    class Request:
        remote, method = "127.0.0.1", "GET"

        def __init__(self, path):
            self.path = path

    class Response:
        status = 200

    logger = AccessLogger(logging.getLogger("test.access"), "")
    with caplog.at_level(logging.INFO, logger="test.access"):
        for path in ("/healthz", "/readyz", "/metrics", "/login"):
            logger.log(Request(path), Response(), 0.001)
    assert [r.getMessage().split()[2] for r in caplog.records] == ["/login"]
    with caplog.at_level(logging.DEBUG, logger="test.access"):
        logger.log(Request("/healthz"), Response(), 0.001)
    assert caplog.records[-1].levelno == logging.DEBUG


# --- metrics -----------------------------------------------------------------------------


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric, _, rest = key.partition("{")
        got = ",".join(sorted(p for p in rest.rstrip("}").split(",") if p)) if rest else ""
        if metric == name and all(part in got.split(",") for part in want.split(",") if part):
            return float(value)
    return 0.0


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        return await resp.text()


async def test_metrics_count_sign_ins_upstream_calls_steps_transactions_and_refusals(simulator):
    port = free_port()
    server, base = await serve(settings_for(simulator, port, metrics=True, login_limit_per_ip=(1, 60.0)), port)
    try:
        before = await scrape(base + "/metrics")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, [base]), simulator)
            await walker._load(await walker.client.get("/login"))
            after_start = await scrape(base + "/metrics")
            assert sample(after_start, "embedded_active_transactions") >= 1
            await walker.submit(identifier=BOB[0])
            await walker.submit(**{"credentials.passcode": BOB[1]})
            await walker.submit(**{"credentials.passcode": "000000"})  # a wrong code first
            await walker.submit(**{"credentials.passcode": (await walker.outbox(BOB[0], "email"))["code"]})
            assert walker.signed_in
            async with http.get(base + "/login") as resp:  # a second start from this address: refused
                assert resp.status == 429
        after = await scrape(base + "/metrics")
    finally:
        await server.close()

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("embedded_signins_started_total", journey="sign-in") == 1
    assert grew("embedded_signins_completed_total") == 1
    assert grew("embedded_signins_failed_total", reason="api.authn.error.PASSCODE_INVALID") == 1
    assert grew("embedded_rate_limit_refusals_total", limit="login") == 1
    assert grew("embedded_idx_request_seconds_count", endpoint="idx/introspect", status="200") >= 1
    assert grew("embedded_idx_request_seconds_count", endpoint="v1/interact", status="200") >= 1
    assert grew("embedded_idx_request_seconds_count", endpoint="v1/token", status="200") == 1
    assert grew("embedded_idx_request_seconds_count", endpoint="idx/challenge/answer", status="401") == 1
    assert grew("embedded_step_seconds_count", route="step", method="POST") == 4
    assert grew("embedded_step_seconds_count", route="login", method="GET") == 2  # the refused one too
    assert 'route="healthz"' not in after and 'route="metrics"' not in after


async def test_metrics_on_a_port_of_their_own_and_off_by_default(simulator):
    port, metrics_port = free_port(), free_port()
    server, base = await serve(settings_for(simulator, port, metrics_listen=("127.0.0.1", metrics_port)), port)
    plain_port = free_port()
    plain, plain_base = await serve(settings_for(simulator, plain_port), plain_port)
    try:
        assert "embedded_signins_started_total" in await scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        async with aiohttp.ClientSession() as http:
            assert (await http.get(base + "/metrics")).status == 404
            assert (await http.get(plain_base + "/metrics")).status == 404
    finally:
        await server.close()
        await plain.close()


# --- log lines ---------------------------------------------------------------------------


def test_json_log_lines_are_one_object_a_line_with_the_correlation_id():
    formatter = JsonFormatter()
    record = logging.LogRecord("embedded.audit", logging.INFO, __file__, 1, "event=%s", ('"x"\nforged=1',), None)
    record.audit = {"event": "signin.failed", "correlation": "abc123", "reason": "invalid_code"}
    line = formatter.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["correlation"] == "abc123" and parsed["event"] == "signin.failed" and parsed["level"] == "INFO"
    assert parsed["message"] == 'event="x"\nforged=1'
    try:
        raise ValueError("boom")
    except ValueError:
        failing = logging.LogRecord("embedded", logging.ERROR, __file__, 1, "unhandled", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(formatter.format(failing))["exception"]


async def test_a_log_line_made_while_a_request_is_handled_carries_its_correlation_id(simulator):
    port = free_port()
    app = create_app(settings_for(simulator, port))
    seen: list[str | None] = []

    async def spy(request: web.Request) -> web.Response:
        from embedded.logformat import correlation_of

        seen.append(correlation_of(logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)))
        assert CURRENT_REQUEST.get() is request
        raise web.HTTPNotFound()

    app.router.add_get("/login/spy", spy, name="embedded.spy")
    server, base = await serve(app, port)
    try:
        async with aiohttp.ClientSession() as http, http.get(base + "/login/spy") as resp:
            page = await resp.text()
        assert seen and seen[0] and seen[0] in page  # the id on the error page is the one logged
        assert CURRENT_REQUEST.get() is None
    finally:
        await server.close()


# --- real processes ----------------------------------------------------------------------


def app_env(simulator, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA_IDX_", "EMBEDDED_"))}
    return {
        **env,
        "OKTA_IDX_ISSUER": f"http://127.0.0.1:{simulator.port}/oauth2/default",
        "OKTA_IDX_CLIENTID": "demo-client",
        "OKTA_IDX_CLIENTSECRET": "demo-secret",
        "OKTA_IDX_SCOPES": "openid profile email offline_access",
        "OKTA_IDX_REDIRECTURI": f"http://127.0.0.1:{port}/login/callback",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


async def wait_ready(base: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited"
            try:
                async with http.get(base + "/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("not ready in time")


async def test_sigterm_lets_the_step_in_flight_finish_refuses_new_connections_and_closes_redis_and_upstream(
    simulator, redis_url, tmp_path
):
    port = free_port()
    stderr = open(tmp_path / "stderr", "w+b")  # noqa: SIM115 - the server writes it while the test runs
    env = app_env(
        simulator,
        port,
        EMBEDDED_REDIS_URL=redis_url,
        EMBEDDED_LOG_FORMAT="json",
        EMBEDDED_METRICS="1",
        EMBEDDED_SHUTDOWN_SECONDS="10",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "embedded", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base, process)
        async with aiohttp.ClientSession() as http:
            await http.post(f"http://127.0.0.1:{simulator.port}/_sim/faults", json={"latency_ms": 1500})
            started = time.monotonic()
            in_flight = asyncio.ensure_future(
                http.get(base + "/login", allow_redirects=False)
            )  # interact + introspect: ~3 s
            await asyncio.sleep(0.8)
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            with pytest.raises(aiohttp.ClientConnectorError):
                await _connect(base)
            resp = await in_flight
            assert resp.status == 303 and resp.headers["Location"] == "/login/step"  # finished, not cut off
            assert time.monotonic() - started > 2.5
        assert await asyncio.to_thread(process.wait, 15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        async with aiohttp.ClientSession() as http:
            await http.post(f"http://127.0.0.1:{simulator.port}/_sim/faults", json={})
    stderr.seek(0)
    lines = [json.loads(line) for line in stderr.read().decode().splitlines() if line.strip()]  # every line is JSON
    messages = [line["message"] for line in lines]
    assert any(m.startswith("stopping:") for m in messages)
    assert (
        "stopped: Redis connections closed" in messages
        and "stopped: connections to the Identity Engine closed" in messages
    )
    started_events = [line for line in lines if line.get("event") == "signin.started"]
    assert started_events and re.fullmatch(r"[0-9a-f]{16}", started_events[0]["correlation"])
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL") or "exception" in line]
    assert not any("/readyz" in m for m in messages)  # probes stay out of the INFO log


async def _connect(base: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as resp:
        await resp.read()


async def test_gunicorn_with_two_workers_on_one_redis_signs_in(simulator, redis_url, tmp_path):
    port = free_port()
    env = app_env(simulator, port, EMBEDDED_REDIS_URL=redis_url, EMBEDDED_AUDIT_KEY="gunicorn-test-key")
    command = [
        os.path.join(os.path.dirname(sys.executable), "gunicorn"),
        "embedded.demo:gunicorn_app",
        "--worker-class",
        "aiohttp.GunicornWebWorker",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "15",
    ]
    log = open(tmp_path / "gunicorn.log", "w+b")  # noqa: SIM115 - gunicorn writes it while the test runs
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base, process)
        workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 2
        # A new connection for every request, so both workers take part.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            walker = Walker(Alternating(http, [base]), simulator)
            await sign_in_bob(walker)
            for _ in range(4):
                assert 'data-claim="email">bob@example.com<' in await (await http.get(base + "/")).text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.seek(0)
    output = log.read().decode()
    assert "Traceback" not in output and "Booting worker" in output, output[-3000:]


# --- settings ----------------------------------------------------------------------------

GOOD = {
    "OKTA_IDX_ISSUER": "https://org.example.com/oauth2/default",
    "OKTA_IDX_CLIENTID": "0oa1",
    "OKTA_IDX_REDIRECTURI": "https://app.example.com/login/callback",
}


def test_operations_settings_are_parsed():
    from embedded.config import Settings

    plain = Settings.from_env(GOOD)
    assert (plain.metrics, plain.metrics_listen, plain.log_format, plain.shutdown_seconds) == (
        False,
        None,
        "text",
        10.0,
    )
    s = Settings.from_env(
        {
            **GOOD,
            "EMBEDDED_METRICS": "1",
            "EMBEDDED_METRICS_PORT": "9100",
            "EMBEDDED_LOG_FORMAT": "JSON",
            "EMBEDDED_SHUTDOWN_SECONDS": "2.5",
        }
    )
    assert (s.metrics, s.metrics_listen, s.log_format, s.shutdown_seconds) == (True, ("0.0.0.0", 9100), "json", 2.5)
    assert Settings.from_env({**GOOD, "EMBEDDED_METRICS_PORT": "127.0.0.1:9100"}).metrics_listen == ("127.0.0.1", 9100)
    assert Settings.from_env({**GOOD, "EMBEDDED_METRICS_PORT": "[::1]:9100"}).metrics_listen == ("::1", 9100)


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"EMBEDDED_METRICS": "on"}, "EMBEDDED_METRICS must be 1 or 0"),
        ({"EMBEDDED_METRICS_PORT": "metrics"}, "EMBEDDED_METRICS_PORT must be PORT or HOST:PORT"),
        ({"EMBEDDED_METRICS_PORT": "70000"}, "EMBEDDED_METRICS_PORT must be a port number"),
        ({"EMBEDDED_LOG_FORMAT": "xml"}, "EMBEDDED_LOG_FORMAT must be one of text, json"),
        ({"EMBEDDED_SHUTDOWN_SECONDS": "soon"}, "EMBEDDED_SHUTDOWN_SECONDS: expected a number"),
        ({"EMBEDDED_SHUTDOWN_SECONDS": "0"}, "EMBEDDED_SHUTDOWN_SECONDS must be between 0 and 3600"),
        ({"EMBEDDED_SHUTDOWN_SECONDS": "nan"}, "EMBEDDED_SHUTDOWN_SECONDS must be between 0 and 3600"),
    ],
)
def test_bad_operations_settings_are_refused_with_one_line(change, complaint):
    from embedded.config import Settings, SettingsError

    with pytest.raises(SettingsError, match=complaint) as caught:
        Settings.from_env({**GOOD, **change})
    assert "\n" not in str(caught.value)


async def test_the_server_freezes_what_starting_made_out_of_the_cycle_collector():
    """`python -m embedded` freezes the objects starting made (modules, compiled templates) once
    the app has started, so the collector's full passes no longer walk them (bench/latency.py),
    and runs its youngest pass less often (YOUNG_OBJECTS; the older ones as Python sets them)."""
    app = await _serve_both(web.Application(), None, None)
    assert list(app.on_startup)[-1] is freeze_startup_objects
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        await freeze_startup_objects(app)
        assert gc.get_freeze_count() > 1000
        assert gc.get_threshold() == (YOUNG_OBJECTS, *thresholds[1:]) and thresholds[0] < YOUNG_OBJECTS
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
