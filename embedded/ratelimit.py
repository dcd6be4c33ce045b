"""Limits on what one key may do: how many times in a sliding window (`RateLimiter`), and one
thing at a time (`InFlight`). These keep their state in this process's memory; the Redis store
(`redis_store.py`) has the same two methods for several processes."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol


class Limiter(Protocol):
    async def check(self, key: str) -> float:
        """Count a hit for `key` and return 0, or, over the limit, the seconds to wait."""


class Claims(Protocol):
    async def claim(self, key: str) -> bool:
        """True, and `key` is now taken, unless it already was."""

    async def release(self, key: str) -> None: ...


class RateLimiter:
    """At most `limit` hits per key in any `window` seconds (a sliding window), in memory.
    Bounded: beyond `max_keys` keys the least recently used is forgotten."""

    def __init__(
        self, limit: int, window: float, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hits)

    async def check(self, key: str) -> float:
        """The store-neutral call: count a hit, or return the seconds to wait."""
        return self.hit(key)

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


class InFlight:
    """Names of things being done right now (a transaction's step on its way upstream)."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    async def claim(self, key: str) -> bool:
        """True, and the key is now taken, unless it already was."""
        if key in self._keys:
            return False
        self._keys.add(key)
        return True

    async def release(self, key: str) -> None:
        self._keys.discard(key)
