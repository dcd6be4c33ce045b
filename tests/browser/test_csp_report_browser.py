"""Checklist 32 in a real browser: a script the page's policy forbids is blocked, and Chromium
reports the violation to the app, which logs it as an audit event."""

from __future__ import annotations

import asyncio
import logging

import pytest

pytestmark = pytest.mark.browser


async def test_chromium_reports_a_blocked_inline_script(demo, page, caplog):
    caplog.set_level(logging.INFO, logger="embedded.audit")
    base, _ = demo
    await page.goto(base + "/login")
    # What an injected script would be: an inline element without the page's nonce.
    await page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';
                   document.body.appendChild(s); }"""
    )
    assert await page.evaluate("() => window.pwned") is None
    for _ in range(50):
        events = [r.audit for r in caplog.records if getattr(r, "audit", {}).get("event") == "csp.violation"]
        if events:
            break
        await asyncio.sleep(0.1)
    assert events and events[0]["directive"] == "script-src-elem" and events[0]["blocked"] == "inline"
