"""Logs a client cannot flood: aiohttp's own tracebacks for malformed requests become one
WARNING line without the traceback, and at most a few of them a minute."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp import http_exceptions, web_protocol

# What a client can cause by sending garbage: a bad request line or header, a body that does not
# decode. None of them is our bug, so none deserves a traceback.
CLIENT_FAULTS: tuple[type[BaseException], ...] = (http_exceptions.HttpProcessingError, web_protocol.RequestPayloadError)
LINES_PER_MINUTE = 10


class ClientFaultFilter(logging.Filter):
    def __init__(self, per_minute: int = LINES_PER_MINUTE, clock: Callable[[], float] = time.monotonic):
        super().__init__("embedded.client_faults")
        self.per_minute = per_minute
        self.clock = clock
        self.window_start = clock()
        self.shown = 0
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        fault = exc if isinstance(exc, CLIENT_FAULTS) else getattr(exc, "__cause__", None)
        if not isinstance(fault, CLIENT_FAULTS):
            return True
        now = self.clock()
        if now - self.window_start >= 60:
            self.window_start, self.shown = now, 0
        if self.shown >= self.per_minute:
            self.dropped += 1
            return False
        self.shown += 1
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg, record.args = (
            "malformed request refused: %s (%d more dropped so far)",
            (type(fault).__name__, self.dropped),
        )
        record.exc_info = record.exc_text = None
        return True


def quiet_client_faults() -> None:
    """Install the filter on aiohttp's server logger, once per process."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientFaultFilter) for f in logger.filters):
        logger.addFilter(ClientFaultFilter())
