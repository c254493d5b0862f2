"""The sink records the bucket holding each p99: what the spike detector trusts of it."""

from __future__ import annotations

import math

import pytest
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation

from tests.unit.test_otlp_sink import T0, collect, make_sink, point, request, sdk


def test_explicit_bucket_is_the_one_holding_the_p99() -> None:
    sink, store = make_sink()
    # bounds [0.1, 0.2]: 10 in (0, 0.1], 90 in (0.1, 0.2] -> the p99 lies in (0.1, 0.2]
    sink.ingest(request([point([10, 90, 0], T0)]))
    sink.tick(10.0)
    assert store.services["svc"].p99_bucket == (0.1, 0.2)


def test_the_first_bucket_starts_at_0() -> None:
    sink, store = make_sink()
    sink.ingest(request([point([100, 0, 0], T0)]))  # all in (0, 0.1]
    sink.tick(10.0)
    assert store.services["svc"].p99_bucket == (0.0, 0.1)


def test_exponential_bucket_follows_the_scale_in_seconds() -> None:
    sink, store = make_sink()
    provider, reader = sdk("expo", aggregation=ExponentialBucketHistogramAggregation(max_size=160))
    h = provider.get_meter("t").create_histogram("rpc.server.duration", unit="ms")
    for i in range(500):
        h.record(1.0 + i * 0.37)
    req = collect(reader)
    scale = (
        req.resource_metrics[0]
        .scope_metrics[0]
        .metrics[0]
        .exponential_histogram.data_points[0]
        .scale
    )
    sink.ingest(req)
    sink.tick(50.0)
    bucket = store.services["expo"].p99_bucket
    assert bucket is not None
    lower, upper = bucket
    assert math.log(upper / lower) == pytest.approx(math.log(2.0) * 2.0 ** -min(scale, 8))
    ring = store.series("expo", "p99")
    assert ring is not None
    p99 = ring.last()
    assert p99 is not None and lower < p99[1] <= upper * (1 + 1e-12)
    assert 0.1 < lower < 0.2  # seconds, not the metric's milliseconds
