"""Sliding-window rate limits, kept in memory: how many times one key may act in a window."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class RateLimiter:
    """At most `limit` hits per key in any `window` seconds (a sliding window), in memory.
    Bounded: beyond `max_keys` keys the least recently used is forgotten."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, key: str) -> float:
        """Count one hit and return 0, or, over the limit, count nothing and return the seconds to wait."""
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits.move_to_end(key)
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return 0.0
