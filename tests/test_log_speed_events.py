"""Issue 20: a sign-in event line made for less, written exactly as before. Each value is still
the JSON string json.dumps makes of it (checklist 45: quoted, ASCII, every control character
escaped), and the client's address is still ipaddress's own spelling of it, now remembered."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from conftest import demo_settings

from embedded import metrics as prometheus
from embedded.keys import AUDIT_KEY, CORRELATION, SETTINGS
from embedded.metrics import METRICS
from embedded.web import context

HOSTILE = ['"quoted" \\ back', "line\r\nevent=forged", "\x1b[31m\x00\x7f\x85", "é€😀\u2028\u202e", "\ud800 lone", ""]


def request_from(remote: str, forwarded: str = "", trusted: tuple[str, ...] = (), metrics: bool = False) -> web.Request:
    app = web.Application()
    app[SETTINGS] = dataclasses.replace(demo_settings(1), trusted_proxies=trusted)
    app[AUDIT_KEY] = b"k" * 32
    if metrics:
        app[METRICS] = prometheus.get()
    made = make_mocked_request(
        "POST", "/login/step", headers={"X-Forwarded-For": forwarded} if forwarded else {}, app=app
    )
    request = made.clone(remote=remote)
    request[CORRELATION] = "0f1e2d3c4b5a6978"
    return request


@pytest.mark.parametrize("metrics", [False, True])
def test_an_event_line_is_json_dumps_of_every_value(caplog, metrics):
    caplog.set_level(logging.INFO, logger="embedded.audit")
    fields = {"reason": HOSTILE[1], "form": HOSTILE, "n": 3, "ok": True, "nothing": None, "nested": {"k": HOSTILE[2]}}
    for hostile in HOSTILE:
        caplog.clear()
        context.audit(request_from("203.0.113.9", metrics=metrics), "signin.failed", user=hostile, **fields)
        [record] = caplog.records
        expected: dict[str, object] = {
            "event": "signin.failed",
            "correlation": "0f1e2d3c4b5a6978",
            "ip": "203.0.113.9",
            "user": hostile,
        }
        expected |= {k: v for k, v in fields.items() if v is not None}
        assert record.audit == expected and list(record.audit) == list(expected)
        assert record.getMessage() == " ".join(f"{k}={json.dumps(str(v))}" for k, v in expected.items())
        assert record.getMessage().isascii() and record.getMessage().isprintable()


ADDRESSES = [
    "203.0.113.9",
    "2001:DB8::0:1",
    "::ffff:198.51.100.7",
    "fe80::1%eth0",
    "fe80::1%" + "z" * 80,  # longer than any address the cache keeps: parsed each time
    "010.1.1.1",
    "not an address",
    "1.2.3",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_client_s_address_is_ipaddress_s_spelling_of_it_every_time(address):
    try:
        expected: str | None = str(ipaddress.ip_address(address))
    except ValueError:
        expected = None
    context.remembered_ip.cache_clear()
    for _ in range(2):  # the first time parsed, the second remembered
        assert context.client_ip(request_from(address)) == expected
        assert context.client_ip(request_from("10.0.0.1", f"192.0.2.1, {address}", ("10.0.0.1",))) == expected
    remembered = context.remembered_ip.cache_info()
    assert (remembered.currsize, remembered.hits) == ((0, 0) if len(address) > context.REMEMBERED_IP_LENGTH else (1, 3))
