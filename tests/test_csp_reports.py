"""Checklist 32: every page's Content-Security-Policy names a report endpoint, and what
browsers post there becomes a bounded audit event, never a flood or a free-text log line."""

from __future__ import annotations

import importlib.util
import json
import logging
import re

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from embedded.ratelimit import Rate
from embedded.web.reports import where
from embedded.web.setup import REPORT_LIMIT

spec = importlib.util.spec_from_file_location("bench_fuzz", ROOT / "bench" / "fuzz.py")
fuzz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fuzz)

REPORT = {
    "csp-report": {
        "document-uri": "http://127.0.0.1/login/step?secret=1",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "https://evil.example/x.js?c=" + "A" * 300,
        "script-sample": "alert('Call +1-800-555-0199')",
    }
}


def audit_events(caplog) -> list[dict]:
    return [r.audit for r in caplog.records if getattr(r, "audit", {}).get("event") == "csp.violation"]


async def test_pages_name_the_report_endpoint(client):
    resp = await client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "report-uri /csp-report" in csp


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/csp-report", REPORT),
        (
            "application/reports+json",
            [
                {
                    "type": "csp-violation",
                    "url": "http://127.0.0.1/",
                    "body": {
                        "documentURL": "http://127.0.0.1/login",
                        "effectiveDirective": "script-src-elem",
                        "blockedURL": "inline",
                    },
                }
            ],
        ),
    ],
)
async def test_a_report_becomes_one_bounded_audit_event(client, caplog, content_type, body):
    caplog.set_level(logging.INFO, logger="embedded.audit")
    resp = await client.post("/csp-report", data=json.dumps(body), headers={"Content-Type": content_type})
    assert resp.status == 204
    [event] = audit_events(caplog)
    assert event["directive"] == "script-src-elem" and event["blocked"] in ("https://evil.example", "inline")
    assert event["page"] == "http://127.0.0.1"
    assert not any("+1-800" in r.getMessage() or "secret=1" in r.getMessage() for r in caplog.records)


async def test_reports_that_are_too_big_not_json_or_too_many_are_refused(client, caplog):
    caplog.set_level(logging.INFO, logger="embedded.audit")
    headers = {"Content-Type": "application/csp-report"}
    assert (await client.post("/csp-report", data="x" * 9000, headers=headers)).status == 400
    assert (await client.post("/csp-report", data="{not json", headers=headers)).status == 400
    assert (
        await client.post("/csp-report", data=json.dumps(REPORT), headers={"Content-Type": "text/plain"})
    ).status == 400
    # 30 a minute per address, the refused ones included, at most half of them at once (GCRA).
    burst = Rate(*REPORT_LIMIT).burst
    statuses = [(await client.post("/csp-report", data=json.dumps(REPORT), headers=headers)).status for _ in range(31)]
    assert statuses == [204] * (burst - 3) + [429] * (31 - burst + 3)
    assert len(audit_events(caplog)) == burst - 3


# URL-shaped strings that do not parse, or parse into something odd: an open bracket, ports that
# are not ports, characters NFKC turns into a "/" in the host, control characters and Unicode.
URL_SHAPED = [
    "http://x:abc/",
    "http://[::1",
    "https://h:99999/",
    "http://x:-1/",
    "http://[::1]:99999/",
    "https://[v1.x",
    "http://x:1:2/",
    "//x:abc",
    "https://h:\u0662/",
    "http://a\u2100b/",
    "http://[fe80::1%eth0]/",
    "https://h\u3002evil/",
    "http://x\r\n:1/\u2028",
    "http://\x1b[31mx/",
    "http:///",
    "http://:80/",
    "https://" + "a" * 600 + ":1/",
]
REPORT_URI_FIELDS = (
    "document-uri",
    "referrer",
    "blocked-uri",
    "violated-directive",
    "effective-directive",
    "original-policy",
    "source-file",
    "script-sample",
    "disposition",
    "status-code",
)
REPORT_TO_FIELDS = (
    "documentURL",
    "referrer",
    "blockedURL",
    "effectiveDirective",
    "originalPolicy",
    "sourceFile",
    "sample",
    "disposition",
    "statusCode",
)
WHERE = re.compile(r"none|invalid|other|[a-z][a-z0-9+.-]{0,19}|https?://([a-z0-9_.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?")


@pytest.mark.parametrize("url", URL_SHAPED)
async def test_url_shaped_strings_in_every_field_are_a_bounded_event_never_a_500(client, caplog, url):
    """Security round three: `http://x:abc/` and its kind in `blocked-uri` or `document-uri` made
    the report endpoint answer 500 with a traceback (urlsplit and .port raise ValueError)."""
    caplog.set_level(logging.INFO)
    for content_type, body in (
        ("application/csp-report", {"csp-report": dict.fromkeys(REPORT_URI_FIELDS, url)}),
        (
            "application/reports+json",
            [{"type": "csp-violation", "url": url, "body": dict.fromkeys(REPORT_TO_FIELDS, url)}],
        ),
    ):
        resp = await client.post("/csp-report", data=json.dumps(body), headers={"Content-Type": content_type})
        assert resp.status == 204, (content_type, resp.status)
    events = audit_events(caplog)
    assert len(events) == 2
    for event in events:
        assert WHERE.fullmatch(event["blocked"]) and WHERE.fullmatch(event["page"]), event
        assert event["directive"] == "other"
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@settings(max_examples=1000, deadline=None, database=None, derandomize=True)
@given(url=fuzz.url_shaped | st.text(max_size=60))
def test_any_string_reads_as_a_bounded_place(url):
    """The fuzz's URL-shaped strings (bench/fuzz.py) straight at the reader: never an exception,
    always a short name the log and the metrics can hold."""
    assert WHERE.fullmatch(where(url)), (url, where(url))
