"""The sink records how coarse the bucket holding each p99 is, for the spike detector's scale."""

from __future__ import annotations

import math

import pytest
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation

from tests.unit.test_otlp_sink import T0, collect, make_sink, point, request, sdk
from tui.config import DetectorConfig
from tui.core.stats.spikes import SpikeTracker


def test_explicit_bucket_width_is_log_of_its_bounds() -> None:
    sink, store = make_sink()
    # bounds [0.1, 0.2]: 10 in (0, 0.1], 90 in (0.1, 0.2] -> the p99 lies in (0.1, 0.2]
    sink.ingest(request([point([10, 90, 0], T0)]))
    sink.tick(10.0)
    assert store.services["svc"].p99_bucket_width == pytest.approx(math.log(0.2 / 0.1))


def test_no_width_for_first_or_inf_bucket() -> None:
    sink, store = make_sink()
    sink.ingest(request([point([100, 0, 0], T0)]))  # all in (0, 0.1]: starts at 0
    sink.tick(10.0)
    assert store.services["svc"].p99_bucket_width is None


def test_exponential_bucket_width_follows_the_scale() -> None:
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
    want = math.log(2.0) * 2.0 ** -min(scale, 8)
    assert store.services["expo"].p99_bucket_width == pytest.approx(want)


def test_a_jump_within_one_coarse_bucket_is_not_a_spike() -> None:
    """The same series is a spike without the width and not with it: the width is used."""
    steady = [0.100 * (1 + 0.01 * (i % 3)) for i in range(30)]
    with_width, without = SpikeTracker(DetectorConfig()), SpikeTracker(DetectorConfig())
    for i, v in enumerate(steady):
        with_width.observe("s", float(i), v, bucket_width=math.log(2.5))
        without.observe("s", float(i), v)
    jump = 0.190  # 1.9x: inside one (0.1, 0.25] bucket
    assert without.observe("s", 31.0, jump) is not None
    assert with_width.observe("s", 31.0, jump, bucket_width=math.log(2.5)) is None
