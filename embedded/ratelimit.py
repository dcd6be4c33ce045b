"""Limits on how often one key may do something, as the generic cell rate algorithm (GCRA):
one number of state per key, whatever the traffic, in memory here and on Redis in
`redis_store.py` (the same arithmetic in a script).

A limit of N in T seconds lets a burst of ⌈N/2⌉ through at once, then one every
T/(N - ⌈N/2⌉ + 1) seconds, which never lets more than N through in any T seconds (a sliding
window, not a fixed one, which would let 2N through across a window's edge)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Rate:
    limit: int  # at most this many
    window: float  # in any this many seconds

    @property
    def burst(self) -> int:
        return (self.limit + 1) // 2

    @property
    def interval(self) -> float:
        """Seconds between hits once the burst is spent."""
        return self.window / (self.limit - self.burst + 1)

    @property
    def tolerance(self) -> float:
        """How far ahead of now the theoretical arrival time may run and still let a hit through."""
        return (self.burst - 1) * self.interval


def gcra(tat: float, now: float, rate: Rate) -> tuple[float, float]:
    """One hit against a key whose theoretical arrival time is `tat`: (new tat, 0) when it goes
    through, (tat unchanged, seconds to wait) when it is refused (a refusal costs nothing)."""
    tat = max(tat, now)
    if tat - now > rate.tolerance:
        return tat, tat - now - rate.tolerance
    return tat + rate.interval, 0.0


class Limiter(Protocol):
    async def check(self, key: str) -> float:
        """Count a hit for `key` and return 0, or, over the limit, the seconds to wait."""


class GcraTable:
    """Theoretical arrival times by key, each hit counted against the rate it names (one table for
    every limit of a store), in this process's memory. Bounded: beyond `max_keys` keys the least
    recently used is forgotten."""

    def __init__(self, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.max_keys = max_keys
        self.clock = clock
        self._tats: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tats)

    def hit(self, key: str, rate: Rate) -> float:
        """Count one hit against `rate`: 0, or the seconds to wait."""
        now = self.clock()
        tat, wait = gcra(self._tats.get(key, now), now, rate)
        self._tats[key] = tat
        self._tats.move_to_end(key)
        while len(self._tats) > self.max_keys:
            self._tats.popitem(last=False)
        return wait


class RateLimiter:
    """`Rate(limit, window)` per key, in this process's memory (a `GcraTable` with one rate)."""

    def __init__(
        self, limit: int, window: float, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.rate = Rate(limit, window)
        self._table = GcraTable(max_keys=max_keys, clock=clock)

    def __len__(self) -> int:
        return len(self._table)

    async def check(self, key: str) -> float:
        """The store-neutral call: count a hit, or return the seconds to wait."""
        return self.hit(key)

    def hit(self, key: str) -> float:
        return self._table.hit(key, self.rate)
