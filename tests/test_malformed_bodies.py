"""Checklist 42 and the security round two: a request body the app cannot read is a 4xx page,
on every POST route, before the CSRF check: never a 500, never a traceback in the logs; and
aiohttp's own complaints about malformed requests are one WARNING line, rate limited."""

from __future__ import annotations

import importlib.util
import logging

import pytest
from conftest import ROOT, serve

from embedded.web.logs import ClientFaultFilter

spec = importlib.util.spec_from_file_location("bench_fuzz", ROOT / "bench" / "fuzz.py")
fuzz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fuzz)

FORM = "application/x-www-form-urlencoded"
MALFORMED = [
    ({"Content-Type": FORM, "Content-Encoding": "gzip"}, b"a=b"),
    ({"Content-Type": FORM, "Content-Encoding": "deflate"}, b"a=b"),
    ({"Content-Type": "multipart/form-data"}, b"--x\r\n"),
    ({"Content-Type": "multipart/form-data; boundary="}, b"--x\r\n"),
    (
        {"Content-Type": "multipart/form-data; boundary=x"},
        b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--\r\n",
    ),
    (
        {"Content-Type": "multipart/form-data; boundary=x"},
        (
            b"--x\r\nContent-Disposition: form-data; name=a\r\n"
            b"Content-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n\r\nz\r\n--y--\r\n--x--\r\n"
        ),
    ),
    ({"Content-Type": f"{FORM}; charset=bogus"}, b"a=b"),
    ({"Content-Type": f"{FORM}; charset=utf-16"}, b"a=b"),
    ({"Content-Type": FORM}, b"_charset_=bogus&a=b"),
    ({"Content-Type": FORM}, b"a=\xff"),
]


@pytest.mark.parametrize("path", ["/login/step", "/logout", "/csp-report", "/no/such/path"])
@pytest.mark.parametrize("headers, body", MALFORMED, ids=range(len(MALFORMED)))
async def test_a_body_that_cannot_be_read_is_a_400_never_a_500(
    aiohttp_client, settings, org, caplog, path, headers, body
):
    client = await serve(aiohttp_client, settings)
    await client.get("/")  # a session and its CSRF token exist; the attacker just doesn't send it
    resp = await client.post(path, data=body, headers=headers)
    text = await resp.text()
    assert resp.status in (400, 403, 415) and "Traceback" not in text, resp.status
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert (await client.get("/")).status == 200  # the server carries on


def test_aiohttp_tracebacks_for_client_faults_become_one_rate_limited_warning():
    from aiohttp import http_exceptions

    clock = [0.0]
    keep = ClientFaultFilter(per_minute=2, clock=lambda: clock[0])

    def record() -> logging.LogRecord:
        try:
            raise http_exceptions.BadStatusLine("GET /\x00 HTTP/1.1")
        except http_exceptions.BadStatusLine as exc:
            return logging.LogRecord(
                "aiohttp.server",
                logging.ERROR,
                __file__,
                1,
                "Error handling request",
                (),
                (type(exc), exc, exc.__traceback__),
            )

    first = record()
    assert keep.filter(first) and first.levelno == logging.WARNING and first.exc_info is None
    assert "BadStatusLine" in first.getMessage()
    assert keep.filter(record()) and not keep.filter(record())  # the third in a minute is dropped
    clock[0] += 61
    again = record()
    assert keep.filter(again) and "1 more dropped" in again.getMessage()
    ours = logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "a real bug", (), (RuntimeError, RuntimeError("x"), None)
    )
    assert keep.filter(ours) and ours.levelno == logging.ERROR and ours.exc_info  # our own failures stay loud


def test_random_bodies_on_every_post_route_in_every_flow_state():
    """The Hypothesis fuzz of bench/fuzz.py, bounded for the suite (the bench runs 10,000 a route)."""
    counts, bad = fuzz.run(examples=60)
    assert sum(counts.values()) >= 4 * 60
    assert not [key for key in counts if key[1] >= 500], counts
    assert bad == [], [r.getMessage() for r in bad]
