"""How log lines look: `text` (time, level, logger, message) or `json` (EMBEDDED_LOG_FORMAT=json):
one JSON object a line, with the request's correlation id (the one on its error page), and a
sign-in event's fields (`web.context.audit`) as fields of their own.

In either format a record is one line whatever a client put in it (a path, a header, a form
value): the text format escapes every character that could end a line or disguise one, so a
request cannot write a line that reads like another record (checklist 45, ASVS 16.4.1).

The correlation id comes from the request being handled when the line was logged, which the
package's outermost middleware records in `CURRENT_REQUEST` (a context variable).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .keys import CORRELATION

CURRENT_REQUEST: ContextVar[web.BaseRequest | None] = ContextVar("embedded.current_request", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# What a text line must not hold raw: C0 and C1 controls (CR, LF, NEL, vertical tab, form feed,
# the ESC that starts a terminal's escape sequence), DEL, Unicode's line and paragraph
# separators, and the bidirectional marks and overrides that make a line read otherwise.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """`text` with every character that could end or disguise a log line escaped (`\\x0d`,
    `\\x1b`, `\\u2028`); text without one comes back as it is. Every UNSAFE character is
    unprintable to `str.isprintable` (a C loop, cheaper than the pattern's scan), so only a
    line with something unprintable in it is scanned."""
    return text if text.isprintable() else UNSAFE.sub(_escape, text)


def correlation_of(record: logging.LogRecord) -> str | None:
    audit = getattr(record, "audit", None)
    if isinstance(audit, dict) and audit.get("correlation"):
        return str(audit["correlation"])
    request = CURRENT_REQUEST.get()
    return request.get(CORRELATION) if isinstance(request, web.Request) else None


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, one record a line: the line is escaped (`one_line`) after the message is
    made, so no value in it can start another. A traceback, when there is one, follows on lines
    of its own indented by two spaces, each escaped too, so only a record starts at the margin."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        # The last second formatted, as ((second, converter, time format), its text): most lines
        # share their second with the one before, and its local time and strftime cost more than
        # the rest of the line. One attribute, so a formatter shared between threads stays right.
        self.last_second: tuple[tuple[int, Any, str], str] = ((0, None, ""), "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The stdlib's own text (`time.strftime` of `converter`, then the milliseconds), with
        the part up to the second made once a second. A time within a second converts to the
        same moment: `localtime` and `gmtime` round down to it."""
        if datefmt or not self.default_msec_format:
            return super().formatTime(record, datefmt)
        key = (math.floor(record.created), self.converter, self.default_time_format)
        second = self.last_second
        if second[0] != key:
            second = self.last_second = key, time.strftime(self.default_time_format, self.converter(record.created))
        return self.default_msec_format % (second[1], record.msecs)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # TEXT_FORMAT written out: the same text for half the cost of a %-format of the record.
        return f"{record.asctime} {record.levelname} {record.name} {record.message}"

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        line = one_line(self.formatMessage(record))
        details = []
        if record.exc_info:
            details.append(self.formatException(record.exc_info))
        elif record.exc_text:
            details.append(record.exc_text)
        if record.stack_info:
            details.append(self.formatStack(record.stack_info))
        for text in details:
            line += "".join("\n  " + one_line(part) for part in text.split("\n"))
        return line


# What json.dumps(line, default=str) writes, from an encoder made once: json.dumps makes one a
# call when given `default`.
JSON_LINE = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object a line (control characters escaped, so a value cannot start a new line)."""

    def __init__(self) -> None:
        super().__init__()
        self.last_second: tuple[float, str] = (math.nan, "")  # the second last written, and its text

    def iso_time(self, created: float) -> str:
        """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, `Z` for its
        `+00:00`, with the text up to the second made once a second. The microseconds are rounded
        as datetime rounds them (half to even, a carry into the second; CPython's pytime.c)
        before they are cut to milliseconds."""
        fraction, second = math.modf(created)
        micro = round(fraction * 1e6)
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        elif micro < 0:
            second, micro = second - 1, micro + 1_000_000
        last = self.last_second
        if last[0] != second:
            last = self.last_second = second, datetime.fromtimestamp(second, UTC).isoformat().removesuffix("+00:00")
        return f"{last[1]}.{micro // 1000:03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.iso_time(record.created),
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
        return JSON_LINE.encode(line)


def configure(log_format: str, level: int = logging.INFO) -> None:
    """The root logger writes to stderr in `log_format` ("text" or "json"), replacing its handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Neither format shows the calling source line: skip finding it for every line (the logging
    # HOWTO's "Optimization" switch; thread and process ids stay, gunicorn's own lines use them).
    logging._srcfile = None
