"""How log lines look: `text` (time, level, logger, message) or `json` (EMBEDDED_LOG_FORMAT=json):
one JSON object a line, with the request's correlation id (the one on its error page), and a
sign-in event's fields (`web.context.audit`) as fields of their own.

The correlation id comes from the request being handled when the line was logged, which the
package's outermost middleware records in `CURRENT_REQUEST` (a context variable).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .keys import CORRELATION

CURRENT_REQUEST: ContextVar[web.BaseRequest | None] = ContextVar("embedded.current_request", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def correlation_of(record: logging.LogRecord) -> str | None:
    audit = getattr(record, "audit", None)
    if isinstance(audit, dict) and audit.get("correlation"):
        return str(audit["correlation"])
    request = CURRENT_REQUEST.get()
    return request.get(CORRELATION) if isinstance(request, web.Request) else None


class JsonFormatter(logging.Formatter):
    """One JSON object a line (control characters escaped, so a value cannot start a new line)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (correlation := correlation_of(record)) is not None:
            line["correlation"] = correlation
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            line.update({k: v for k, v in audit.items() if k not in line})
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            line["http"] = http
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


def configure(log_format: str, level: int = logging.INFO) -> None:
    """The root logger writes to stderr in `log_format` ("text" or "json"), replacing its handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Neither format shows the calling source line: skip finding it for every line (the logging
    # HOWTO's "Optimization" switch; thread and process ids stay, gunicorn's own lines use them).
    logging._srcfile = None
