"""Small bounded-memory building blocks for the streaming detector."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A dict that forgets its least recently used entries beyond `capacity`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()

    def get_or_create(self, key: K, make: Callable[[], V]) -> V:
        """The entry for `key` (made if absent), marked as most recently used."""
        data = self._data
        value = data.get(key)
        if value is None:
            value = data[key] = make()
            if len(data) > self.capacity:
                data.popitem(last=False)
        else:
            data.move_to_end(key)
        return value

    def get(self, key: K) -> V | None:
        """The entry for `key`, or None (not marked as used)."""
        return self._data.get(key)

    def __len__(self) -> int:
        return len(self._data)


class Decayed:
    """A count that decays exponentially with time constant `tau` seconds (a sliding window of about tau)."""

    __slots__ = ("last", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.last = 0.0

    def add(self, amount: float, now: float, tau: float) -> float:
        """Decay to `now`, add `amount`, return the new value."""
        if now > self.last:
            self.value *= math.exp(-(now - self.last) / tau)
            self.last = now
        self.value += amount
        return self.value


class Distinct:
    """Distinct small integers (0 <= i < 1000, the last 3 digits of a number) in a window: a 1000-bit set."""

    __slots__ = ("bits", "count", "start")

    def __init__(self, now: float) -> None:
        self.bits = 0
        self.count = 0
        self.start = now

    def add(self, i: int, now: float, window: float) -> int:
        """Add `i` (restarting the set if the window has passed), return the distinct count."""
        if now - self.start > window:
            self.bits, self.count, self.start = 0, 0, now
        bit = 1 << i
        if not self.bits & bit:
            self.bits |= bit
            self.count += 1
        return self.count


class DecayedPair:
    """Two counts that decay together (a total and a part of it, e.g. checks and hits): one exponential a
    step instead of two."""

    __slots__ = ("last", "part", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.part = 0.0
        self.last = 0.0

    def add(self, total: float, part: float, now: float, tau: float) -> tuple[float, float]:
        """Decay both to `now`, add to each, return (total, part)."""
        if now > self.last:
            factor = math.exp(-(now - self.last) / tau)
            self.total *= factor
            self.part *= factor
            self.last = now
        self.total += total
        self.part += part
        return self.total, self.part


class LinearCounter:
    """Approximate distinct count of many values in fixed memory (linear counting over 2^13 bits, 1 KiB)."""

    __slots__ = ("bits", "ones", "start")
    M = 8192

    def __init__(self, now: float) -> None:
        self.bits = bytearray(self.M // 8)
        self.ones = 0
        self.start = now

    def add(self, value: int, now: float, window: float) -> int:
        """Add `value` (restarting when the window has passed), return the bits set (compare it with
        `ones_for`; `estimate` turns it into a count)."""
        if now - self.start > window:
            self.bits, self.ones, self.start = bytearray(self.M // 8), 0, now
        slot = ((value * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> 51  # Fibonacci hashing to 13 bits
        mask = 1 << (slot & 7)
        if not self.bits[slot >> 3] & mask:
            self.bits[slot >> 3] |= mask
            self.ones += 1
        return self.ones

    def estimate(self) -> float:
        """The estimated distinct count."""
        return self.M * math.log(self.M / max(self.M - self.ones, 1))

    @classmethod
    def ones_for(cls, count: float) -> int:
        """The fewest bits set whose estimate reaches `count` (so a threshold costs no logarithm per add)."""
        ones = max(0, math.floor(cls.M * (1 - math.exp(-count / cls.M))) - 1)
        while ones < cls.M and cls.M * math.log(cls.M / max(cls.M - ones, 1)) < count:
            ones += 1
        return ones
