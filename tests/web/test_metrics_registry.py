"""/metrics: breachwatch's own request tallies expose exactly the series prometheus_client's Counter and
Histogram would for the same requests (names, labels, bucket counts, sums)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from breachwatch.web.metrics import _BUCKETS, Metrics

_ROUTES = ["/api/v1/check/{number}", "/api/v3/breachedaccount/{account}", "/healthz"]
_STATUSES = [200, 400, 401, 404, 429, 500]
# Latencies on and around every bucket bound, where "le" counting is easiest to get wrong, and anywhere else.
_SECONDS = st.one_of(st.sampled_from([b for bound in _BUCKETS for b in (bound, bound * (1 - 1e-12),
                                                                      bound * (1 + 1e-12))]),
                     st.floats(min_value=0.0, max_value=10.0, allow_nan=False))


def _reference(requests: list[tuple[str, int, float]], lookups: int, hits: int) -> str:
    registry = CollectorRegistry(auto_describe=True)
    answered = Counter("breachwatch_http_requests_total", "HTTP requests answered.", ["route", "method", "status"],
                       registry=registry)
    latency = Histogram("breachwatch_http_request_duration_seconds", "Time to answer a request.", ["route"],
                        buckets=_BUCKETS, registry=registry)
    looked = Counter("breachwatch_lookups_total", "Phone numbers checked.", registry=registry)
    hit = Counter("breachwatch_lookup_hits_total", "Checked numbers found in at least one breach.",
                  registry=registry)
    Counter("breachwatch_rate_limited_total", "Requests refused with 429.", registry=registry)
    for route, status, seconds in requests:
        answered.labels(route, "GET", str(status)).inc()
        latency.labels(route).observe(seconds)
    looked.inc(lookups)
    hit.inc(hits)
    return generate_latest(registry).decode()


def _without_created(text: str) -> list[str]:
    """The exposition with the *_created values (creation times) blanked."""
    return [re.sub(r"(_created\{?.*?\}?) \S+$", r"\1 T", line) for line in text.splitlines()]


@settings(max_examples=60, deadline=None)
@given(requests=st.lists(st.tuples(st.sampled_from(_ROUTES), st.sampled_from(_STATUSES), _SECONDS), max_size=40),
       lookups=st.integers(0, 1000), hits=st.integers(0, 1000))
def test_exposition_equals_prometheus_client(requests: list[tuple[str, int, float]], lookups: int,
                                             hits: int) -> None:
    metrics = Metrics()
    for route, status, seconds in requests:
        metrics.record(route, "GET", status, seconds)
    metrics.lookups.inc(lookups)
    metrics.hits.inc(hits)
    ours = metrics.render().body.decode()
    reference = _reference(requests, lookups, hits)
    # prometheus_client lists label sets in first-use order; so do we: the texts must match line for line.
    assert _without_created(ours) == _without_created(reference)
