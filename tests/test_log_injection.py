"""Checklist 45 (ASVS 16.4.1), security round three: one request, one log line. Whatever a client
puts in a path, a query, a header, an identifier or a form value, every record is one line in
either log format, the access log included, and none of the characters that end or disguise a
line (CR, LF, NEL, U+2028, U+2029, vertical tab, form feed, ESC starting an ANSI sequence) is
written raw. Sent byte for byte over a raw socket where a client library would refuse them."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import re
import sys
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from conftest import demo_settings

from embedded import logformat
from embedded.demo import create_app
from embedded.web.setup import RUNNER_OPTIONS

HOSTILE = {
    "CR": "\r",
    "LF": "\n",
    "CRLF": "\r\n",
    "NEL": "\x85",
    "LS": "\u2028",
    "PS": "\u2029",
    "VT": "\x0b",
    "FF": "\x0c",
    "ANSI": "\x1b[31m\x1b[2K",
}
RAW = ("\r", "\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1b")
# The forged record: what a request wrote as a second line of its own before.
FORGED = '2026-12-06 11:59:59,000 INFO embedded.audit event="signin.succeeded" user="admin"'
TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HEADERS = ("User-Agent", "X-Forwarded-For", "Referer", "Accept-Language", "Origin", "Cookie", "Content-Type")


@pytest.fixture
def configured():
    """`logformat.configure(fmt)` as a deployment calls it, writing to a string instead of stderr;
    pytest's own handlers and the root level are put back afterwards."""
    root = logging.getLogger()
    saved, level, source = list(root.handlers), root.level, logging._srcfile

    def configure(log_format: str) -> tuple[logging.Handler, io.StringIO]:
        logformat.configure(log_format)
        [handler] = root.handlers
        stream = io.StringIO()
        handler.setStream(stream)  # type: ignore[attr-defined]
        for kept in saved:
            root.addHandler(kept)
        return handler, stream

    yield configure
    root.handlers[:] = saved
    root.setLevel(level)
    logging._srcfile = source  # configure() stops finding source lines; pytest's own log shows them


class Records(logging.Handler):
    """Keeps every record logged (the app's access log's carry an `http` field)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def raw(port: int, head: bytes, body: bytes = b"") -> int:
    """One request exactly as written (Connection: close); its status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + b"Host: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    await reader.read()
    writer.close()
    return status


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else ""


async def hostile_requests(port: int) -> int:
    """Every hostile value in every place a client controls; returns how many requests were made."""
    sent = 0
    for value in HOSTILE.values():
        evil = value + FORGED
        for target in (f"/x{evil}", f"/login/step{evil}", f"/static/{evil}"):  # the path, decoded by the server
            await raw(port, f"GET {quote(target)} HTTP/1.1\r\n".encode())
            sent += 1
        for target in (
            f"/login/callback?state={quote(evil)}&error={quote(evil)}&error_description={quote(evil)}",
            f"/login?return_to={quote('/' + evil)}&acr_values={quote(evil)}&lang={quote(evil)}",
        ):
            await raw(port, f"GET {target} HTTP/1.1\r\n".encode())
            sent += 1
        for header in HEADERS:  # raw bytes: some the parser refuses (a 400), some it lets through
            await raw(port, f"GET /login HTTP/1.1\r\n{header}: a{evil}\r\n".encode())
            sent += 1
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        for value in HOSTILE.values():
            evil = value + FORGED
            async with browser.get("/login") as page:
                html = await page.text()
            fields = {"_csrf": hidden(html, "_csrf"), "_step": hidden(html, "_step"), "_form": "0"}
            for form in (
                {**fields, "identifier": f"a{evil}@example.com"},  # unknown to the Identity Engine, and audited
                {**fields, "_step": evil, "_form": evil, "_action": evil, evil: evil},  # a stale step
                {"_csrf": evil, "identifier": evil},  # refused
            ):
                # Encoded here: aiohttp's own form encoder refuses a control character in a name.
                async with browser.post("/login/step", data=urlencode(form).encode(), headers=FORM) as answer:
                    await answer.read()
                    sent += 1 + len(answer.history)  # the redirect's GET of /login/step included
            sent += 1 + 1  # GET /login and its redirect
    return sent


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_every_client_value_stays_on_its_own_line_in_every_format(simulator, configured, log_format):
    _, stream = configured(log_format)
    records = Records()
    root = logging.getLogger()
    root.addHandler(records)
    limits = {"login_limit_per_ip": (10**6, 60.0), "step_limit_per_ip": (10**6, 60.0)}
    server = TestServer(create_app(dataclasses.replace(demo_settings(simulator.port), **limits)), host="127.0.0.1")
    await server.start_server(**RUNNER_OPTIONS)
    try:
        sent = await hostile_requests(server.port)
        for _ in range(50):  # the access log is written once the answer is on its way
            if sum(hasattr(r, "http") for r in records.records) >= sent:
                break
            await asyncio.sleep(0.02)
    finally:
        await server.close()
        root.removeHandler(records)
    out = stream.getvalue()
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(records.records), "a record is exactly one line"
    assert [c for c in RAW if any(c in line for line in lines)] == []
    assert sum(hasattr(r, "http") for r in records.records) == sent, "one access line per request"
    assert not [r for r in records.records if r.exc_info or r.levelno >= logging.ERROR]
    if log_format == "text":
        assert [line for line in lines[:-1] if not TEXT_LINE.match(line)] == []
        assert not any(line.startswith(FORGED[:23]) for line in lines)
        assert "GET /x\\x0d\\x0a2026-12-06 11:59:59,000 INFO embedded.audit" in out  # kept, escaped
    else:
        parsed = [json.loads(line) for line in lines[:-1]]
        assert any(p.get("http", {}).get("path") == "/x\r\n" + FORGED for p in parsed)


def test_a_traceback_follows_indented_and_escaped_so_only_a_record_starts_at_the_margin(configured):
    handler, _ = configured("text")
    try:
        raise ValueError("bad value\n" + FORGED + "\x1b[2K\u2028")
    except ValueError:
        failing = logging.LogRecord("embedded", logging.ERROR, __file__, 1, "unhandled %s", ("x\ry",), sys.exc_info())
    text = handler.format(failing)
    first, *rest = text.split("\n")
    assert first.endswith("ERROR embedded unhandled x\\x0dy") and TEXT_LINE.match(first)
    assert rest and all(line.startswith("  ") for line in rest)
    assert "  " + FORGED + "\\x1b[2K\\u2028" in rest
    assert not any(c in text for c in RAW if c != "\n")


def test_the_access_log_is_one_line_under_a_host_s_own_formatter():
    """A host that configures logging itself still gets the path escaped in the access log."""
    from aiohttp.test_utils import make_mocked_request

    from embedded.web.ops import AccessLogger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    request = make_mocked_request("GET", "/x%0d%0a" + quote(FORGED) + "%e2%80%a8%1b[31m")
    AccessLogger(logger, "").log(request, aiohttp.web.Response(status=404), 0.001)
    assert stream.getvalue().count("\n") == 1 and not any(c in stream.getvalue()[:-1] for c in RAW)
    assert logformat.one_line("/x\r\n\x85\u2029\x0b\x0c\x1b[m\t\x7f\u202e ok") == (
        "/x\\x0d\\x0a\\x85\\u2029\\x0b\\x0c\\x1b[m\\x09\\x7f\\u202e ok"
    )
    assert logformat.one_line("/plain/path?a=b") == "/plain/path?a=b"
