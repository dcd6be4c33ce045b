"""Content-Security-Policy violation reports (checklist 32): browsers post them here, the
package logs each as an audit event. Size-capped and rate-limited per address, and only a
few bounded, reshaped fields of what the report says reach the log."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ..keys import REPORT_LIMITER, config
from .context import audit, client_ip

log = logging.getLogger("embedded")

MAX_REPORT_BYTES = 8 * 1024
REPORT_TYPES = ("application/csp-report", "application/reports+json", "application/json")
DIRECTIVE = re.compile(r"[a-z-]{1,40}")
# A reported host as the log shows it: a name or an IPv4 address, or an IPv6 one (in brackets).
HOST = re.compile(r"[a-z0-9_.-]{1,253}|\[[0-9a-f:.]{2,45}\]")


def where(url: Any) -> str:
    """The scheme and host of a reported URL (or its keyword: inline, eval, data), nothing more;
    "invalid" for one that does not parse (a bracket left open, a port that is not one)."""
    if not isinstance(url, str) or not url:
        return "none"
    if url in ("inline", "eval", "wasm-eval", "trusted-types-policy", "trusted-types-sink"):
        return url
    try:
        parts = urlsplit(url[:500])
        port = parts.port
    except ValueError:  # `http://[::1`, `http://x:abc/`, `https://h:99999/`, `http://x:-1/`
        return "invalid"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    if parts.scheme in ("http", "https") and HOST.fullmatch(host):
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    return parts.scheme[:20] or "other"


def violations(doc: Any) -> list[dict[str, Any]]:
    """The reports in either format: report-uri's {"csp-report": {...}} or report-to's list."""
    if isinstance(doc, dict) and isinstance(doc.get("csp-report"), dict):
        return [doc["csp-report"]]
    if isinstance(doc, list):
        return [
            r["body"]
            for r in doc[:10]
            if isinstance(r, dict) and r.get("type") == "csp-violation" and isinstance(r.get("body"), dict)
        ]
    return []


def unread(status: int) -> web.Response:
    """A refusal that leaves the body unread: the connection closes rather than have the server
    read (and perhaps fail to decode) a body nobody wants before the next request."""
    refused = web.Response(status=status)
    refused.force_close()
    return refused


async def csp_report(request: web.Request) -> web.Response:
    if await config(request)[REPORT_LIMITER].check(client_ip(request) or "unknown"):
        return unread(429)
    if (
        request.content_type not in REPORT_TYPES
        or (request.content_length or 0) > MAX_REPORT_BYTES
        or request.content_length is None
    ):
        return unread(400)
    try:
        body = await request.read()
    except Exception as exc:  # noqa: BLE001 - a body that cannot be read (bad Content-Encoding, cut short) is the sender's fault
        log.warning("unreadable CSP report refused: %s", type(exc).__name__)
        return unread(400)
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not text, or nested past any report's depth
        return web.Response(status=400)
    for report in violations(doc):
        directive = (
            report.get("effective-directive") or report.get("effectiveDirective") or report.get("violated-directive")
        )
        directive = directive.split(" ")[0] if isinstance(directive, str) else ""
        audit(
            request,
            "csp.violation",
            directive=directive if DIRECTIVE.fullmatch(directive) else "other",
            blocked=where(report.get("blocked-uri") or report.get("blockedURL")),
            page=where(report.get("document-uri") or report.get("documentURL")),
        )
    return web.Response(status=204)
