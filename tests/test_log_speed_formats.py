"""Issue 20: a log line made for less, written exactly as before. The text format's shortcuts
(the time's second made once a second, the format written out, no pattern scan of a printable
line) are checked against the stdlib's own Formatter, and the one-line guarantee (checklist 45)
against every character there is; the JSON format's (its time's second made once a second, one
encoder for every line) against datetime and json.dumps."""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import time
from datetime import UTC, datetime

import pytest

from embedded import logformat


def record(created: float, message: str = "GET /login 200 1.5ms", level: int = logging.INFO) -> logging.LogRecord:
    made = logging.LogRecord("aiohttp.access", level, __file__, 1, "%s", (message,), None)
    made.created, made.msecs = created, int((created - int(created)) * 1000) + 0.0  # as LogRecord sets them
    return made


def stdlib_line(formatter: logging.Formatter, made: logging.LogRecord) -> str:
    """The line as the stdlib formats TEXT_FORMAT, escaped the way TextFormatter escapes it."""
    return logformat.one_line(formatter.format(made))


# Times a line can be made at: in one second, across seconds, at the edges of a second.
MOMENTS = [1_780_000_000 + offset for offset in (0.0, 0.0004, 0.5, 0.9995, 0.9999999, 1.0, 1.001, 61.25, 3600.5, 0.75)]


@pytest.mark.parametrize("converter", [time.localtime, time.gmtime])
def test_text_lines_are_the_stdlib_s_own_at_every_moment(converter):
    ours, theirs = logformat.TextFormatter(), logging.Formatter(logformat.TEXT_FORMAT)
    ours.converter = theirs.converter = converter
    for moment in MOMENTS:
        made = record(moment)
        assert ours.format(made) == stdlib_line(theirs, record(moment))
        assert made.asctime == theirs.formatTime(made)


def test_a_converter_or_time_format_changed_later_is_used_from_the_next_line(monkeypatch):
    """The remembered second belongs to a converter and a format: the cookbook's switch to UTC
    (`Formatter.converter = time.gmtime`) shows on the very next line, even in the same second."""
    ours, reference = logformat.TextFormatter(), logging.Formatter(logformat.TEXT_FORMAT)
    moment = MOMENTS[0] + 0.25
    local = ours.format(record(moment))
    monkeypatch.setattr(logging.Formatter, "converter", time.gmtime)
    assert ours.format(record(moment)) == stdlib_line(reference, record(moment))
    monkeypatch.setattr(logformat.TextFormatter, "default_time_format", "%H:%M:%S")
    assert ours.format(record(moment)).startswith(time.strftime("%H:%M:%S,250 ", time.gmtime(moment)))
    monkeypatch.undo()
    assert ours.format(record(moment)) == local


def test_a_date_format_of_the_host_s_own_is_honoured():
    ours = logformat.TextFormatter()
    ours.datefmt = "%Y/%m/%d"
    made = record(MOMENTS[3])
    assert ours.format(made).startswith(time.strftime("%Y/%m/%d INFO ", time.localtime(MOMENTS[3])))


def test_the_written_out_format_is_text_format():
    made = record(MOMENTS[2], "a message", logging.WARNING)
    made.message, made.asctime = made.getMessage(), "2026-06-01 12:00:00,500"
    assert logformat.TextFormatter().formatMessage(made) == logformat.TEXT_FORMAT % made.__dict__


def test_every_character_that_breaks_a_line_is_unprintable_so_the_printable_shortcut_is_safe():
    """Checklist 45: one_line skips its scan for a printable line, which is only safe while
    every UNSAFE character is one `str.isprintable` refuses. Checked over all of Unicode."""
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    unsafe = logformat.UNSAFE.findall(everything)
    assert len(unsafe) == 78 and [c for c in unsafe if c.isprintable()] == []
    for c in unsafe:
        assert (
            logformat.one_line(f"a{c}b")
            == f"a\\{'x' if ord(c) < 0x100 else 'u'}{ord(c):0{2 if ord(c) < 0x100 else 4}x}b"
        )
    printable_but_odd = "é€😀\u00a0\ud800\ue000"  # unprintable yet harmless ones are scanned and kept
    assert logformat.one_line(printable_but_odd) == printable_but_odd


def datetime_time(created: float) -> str:
    """The JSON format's time as it was written before: datetime's own rounding and text."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_json_times_are_datetime_s_own_at_the_edges_of_a_second_and_anywhere():
    """datetime rounds to the microsecond half to even and carries into the second; a fraction
    a hair under a second is the next second's .000, and before 1970 counts from below."""
    edges = [0.0, 0.9999995, 0.99999949, 0.9999994999999, 0.0000005, 0.0000015, 0.9995, 0.0009999, 0.5]
    random_moments = random.Random(20).sample(range(-(10**9), 4 * 10**9), 300)
    moments = [w + e for w in (MOMENTS[0], 0, -1, -86_401, *random_moments) for e in edges]
    moments += [math.nextafter(m, direction) for m in moments for direction in (-math.inf, math.inf)]
    formatter = logformat.JsonFormatter()
    for moment in moments:
        assert formatter.iso_time(moment) == datetime_time(moment), moment
    assert formatter.iso_time(MOMENTS[0] + 0.9999995) == datetime_time(MOMENTS[0] + 1)  # carried


class Opaque:
    def __str__(self) -> str:
        return "opaque\u2028value"


def test_json_lines_are_what_json_dumps_wrote():
    made = record(MOMENTS[4], "line\r\nforged \x1b[2K é😀")
    made.audit = {"event": "signin.failed", "n": math.nan, "when": datetime(2026, 1, 1), "what": Opaque(), 3: {1, 2}}
    made.http = {"path": "/x\u2028", "status": 200, "ms": 1.5}
    line = logformat.JsonFormatter().format(made)
    expected = {"time": datetime_time(MOMENTS[4]), "level": "INFO", "logger": "aiohttp.access"}
    expected |= {"message": made.getMessage(), **made.audit, "http": made.http}
    assert line == json.dumps(expected, default=str) and "\n" not in line and line.isascii()
