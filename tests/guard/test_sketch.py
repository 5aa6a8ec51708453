"""guard/sketch.py: the counters the detector keeps per entity give what their definitions say."""

from __future__ import annotations

import math
import random

import pytest

from breachwatch.guard.sketch import Decayed, DecayedPair, LinearCounter


@pytest.mark.parametrize("count", [0, 1, 60, 1500, 5000, 8000, 20000])
def test_ones_for_is_the_fewest_bits_whose_estimate_reaches_the_count(count: int) -> None:
    ones = LinearCounter.ones_for(count)
    counter = LinearCounter(0.0)
    counter.ones = ones
    assert counter.estimate() >= count
    if ones:
        counter.ones = ones - 1
        assert counter.estimate() < count


def test_linear_counter_estimates_distinct_values_and_restarts_after_its_window() -> None:
    counter = LinearCounter(0.0)
    values = random.Random(3).sample(range(10**9), 3000)
    for v in values + values[:500]:  # repeats add nothing
        ones = counter.add(v, 1.0, 100.0)
    assert ones == counter.ones
    assert counter.estimate() == pytest.approx(3000, rel=0.05)
    assert counter.add(values[0], 200.0, 100.0) == 1  # the window passed: a fresh count


def test_decayed_pair_decays_both_counts_as_two_decayed_counts_would() -> None:
    pair, total, part = DecayedPair(), Decayed(), Decayed()
    rng = random.Random(5)
    now = 0.0
    for _ in range(500):
        now += rng.expovariate(1.0)
        hit = rng.random() < 0.3
        got = pair.add(1, 1 if hit else 0, now, 50.0)
        assert got == pytest.approx((total.add(1, now, 50.0), part.add(1 if hit else 0, now, 50.0)))
    assert 0 < got[1] < got[0] < 60
    assert pair.add(0, 0, now + 50.0, 50.0)[0] == pytest.approx(got[0] / math.e)
