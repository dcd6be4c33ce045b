"""Checklist 32: every page's Content-Security-Policy names a report endpoint, and what
browsers post there becomes a bounded audit event, never a flood or a free-text log line."""

from __future__ import annotations

import json
import logging

import pytest

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
    statuses = [(await client.post("/csp-report", data=json.dumps(REPORT), headers=headers)).status for _ in range(31)]
    assert statuses.count(204) == 27 and statuses[-1] == 429  # 30 a minute per address, the refused ones included
    assert len(audit_events(caplog)) == 27
