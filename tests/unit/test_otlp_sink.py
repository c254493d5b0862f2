"""OTLPSink: real OpenTelemetry SDK measurements (encoded with the SDK's own OTLP encoder) and
hand-built protobuf points for the edge cases the SDK never produces (resets, flags, bad data).
"""

from __future__ import annotations

import math
import time

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import (
    Aggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from opentelemetry.sdk.resources import Resource

from tui.config import Config, ServiceConfig, ServiceOTLP
from tui.core.metrics.otlp import OTLPSink
from tui.core.metrics.quantile import bucket_quantile, exponential_quantile
from tui.core.metrics.store import FLAG_LOW_CONFIDENCE, FLAG_SATURATED, MetricStore

BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
T0 = int(time.time() * 1e9)  # start time of the hand-built series


def sdk(
    service: str,
    temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE,
    aggregation: Aggregation | None = None,
) -> tuple[MeterProvider, InMemoryMetricReader]:
    reader = InMemoryMetricReader(
        preferred_temporality={Histogram: temporality},
        preferred_aggregation={
            Histogram: aggregation or ExplicitBucketHistogramAggregation(BOUNDS)
        },
    )
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": service})
    )
    return provider, reader


def collect(reader: InMemoryMetricReader) -> ExportMetricsServiceRequest:
    data = reader.get_metrics_data()
    assert data is not None
    return encode_metrics(data)


def make_sink(**kw: object) -> tuple[OTLPSink, MetricStore]:
    store = MetricStore()
    cfg = Config(**kw)  # type: ignore[arg-type]
    # Listening since just before T0 (module import), however long collection took.
    return OTLPSink(store, cfg, started_at=T0 / 1e9 - 1), store


def value(store: MetricStore, service: str, signal: str) -> tuple[float, int]:
    last = store.latest(service, signal)
    assert last is not None, f"no {signal} for {service}"
    return last[1], last[2]


def test_cumulative_explicit_histogram_from_the_sdk() -> None:
    sink, store = make_sink()
    provider, reader = sdk("checkout")
    h = provider.get_meter("t").create_histogram("http.server.request.duration", unit="s")
    values = [0.003] * 50 + [0.02] * 40 + [0.3] * 9 + [2.0]
    for v in values:
        h.record(v, {"http.response.status_code": 200})
    for _ in range(10):
        h.record(0.07, {"http.response.status_code": 503})
    res = sink.ingest(collect(reader))
    assert res.rejected == 0 and res.accepted == 2
    sink.tick(1000.0)
    # Expected per-bucket counts over both series, cumulative for bucket_quantile.
    cum = [sum(1 for v in [*values, *[0.07] * 10] if v <= b) for b in BOUNDS] + [110]
    for sig, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        v, flags = value(store, "checkout", sig)
        assert v == pytest.approx(bucket_quantile(q, [*BOUNDS, math.inf], cum).value)
        assert flags == 0
    assert value(store, "checkout", "error_ratio")[0] == pytest.approx(10 / 110)
    assert store.services["checkout"].source == "otlp"
    assert store.services["checkout"].observations == 110


def test_windowed_quantiles_use_deltas_not_cumulative_counts() -> None:
    sink, store = make_sink(rate_window=60, refresh=5)
    provider, reader = sdk("api")
    h = provider.get_meter("t").create_histogram("http.server.request.duration", unit="s")
    for _ in range(1000):
        h.record(0.004)  # a long quiet past: all fast
    sink.ingest(collect(reader))
    sink.tick(1000.0)
    assert value(store, "api", "p99")[0] <= 0.005
    for _ in range(100):
        h.record(0.7)  # now every request is slow
    sink.ingest(collect(reader))
    sink.tick(1070.0)  # the fast slice is older than rate_window
    v, _ = value(store, "api", "p99")
    assert 0.5 < v <= 1.0  # from the 100 new observations only
    assert value(store, "api", "qps")[0] == pytest.approx(100 / 60)


def test_delta_temporality_sums_slices_within_the_window() -> None:
    sink, store = make_sink(rate_window=60, refresh=5)
    provider, reader = sdk("pay", AggregationTemporality.DELTA)
    h = provider.get_meter("t").create_histogram("http.server.request.duration", unit="ms")
    for _ in range(60):
        h.record(0.004)  # ms
    sink.ingest(collect(reader))
    sink.tick(100.0)
    for _ in range(40):
        h.record(0.07)
    sink.ingest(collect(reader))
    sink.tick(130.0)
    # The bounds are in ms and stored in seconds: BOUNDS * 1e-3.
    ms_bounds = [b * 1e-3 for b in BOUNDS]
    cum = [sum(n for x, n in ((0.004, 60), (0.07, 40)) if x <= b) for b in BOUNDS] + [100]
    want = bucket_quantile(0.5, [*ms_bounds, math.inf], cum).value
    assert value(store, "pay", "p50")[0] == pytest.approx(want)


def test_low_confidence_and_saturated_flags() -> None:
    sink, store = make_sink()
    provider, reader = sdk("tiny")
    h = provider.get_meter("t").create_histogram("http.server.request.duration", unit="s")
    for _ in range(3):
        h.record(5.0)  # beyond the last bound: +Inf bucket
    sink.ingest(collect(reader))
    sink.tick(10.0)
    v, flags = value(store, "tiny", "p99")
    assert v == 1.0
    assert flags == FLAG_SATURATED | FLAG_LOW_CONFIDENCE


def test_exponential_histogram_from_the_sdk() -> None:
    sink, store = make_sink()
    provider, reader = sdk("expo", aggregation=ExponentialBucketHistogramAggregation(max_size=160))
    h = provider.get_meter("t").create_histogram("rpc.server.duration", unit="ms")
    vals = [1.0 + i * 0.37 for i in range(500)]
    for v in vals:
        h.record(v)
    req = collect(reader)
    dp = req.resource_metrics[0].scope_metrics[0].metrics[0].exponential_histogram.data_points[0]
    sink.ingest(req)
    sink.tick(50.0)
    want = exponential_quantile(
        0.99,
        dp.scale,
        dp.zero_threshold,
        dp.zero_count,
        dp.positive.offset,
        list(dp.positive.bucket_counts),
    ).value
    assert value(store, "expo", "p99")[0] == pytest.approx(want * 1e-3)
    true_p99 = sorted(vals)[494] * 1e-3
    assert value(store, "expo", "p99")[0] == pytest.approx(true_p99, rel=0.02)


def test_configured_service_maps_name_and_metric_and_ignores_others() -> None:
    svc = ServiceConfig(
        name="Checkout",
        otlp=ServiceOTLP(service_name="checkout-svc", latency_metric="custom.latency"),
    )
    sink, store = make_sink(services=[svc])
    for name, metric in (
        ("checkout-svc", "custom.latency"),
        ("other", "http.server.request.duration"),
    ):
        provider, reader = sdk(name)
        provider.get_meter("t").create_histogram(metric, unit="s").record(0.2)
        sink.ingest(collect(reader))
    sink.tick(5.0)
    assert store.names() == ["Checkout"]
    assert 0.1 < value(store, "Checkout", "p99")[0] <= 0.25


# --- hand-built points -------------------------------------------------------------------


def kv(key: str, v: object) -> KeyValue:
    val = AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=str(v))
    return KeyValue(key=key, value=val)


def request(
    points: list[metrics_pb2.HistogramDataPoint],
    service: str = "svc",
    temporality: int = 2,
    name: str = "http.server.request.duration",
) -> ExportMetricsServiceRequest:
    m = metrics_pb2.Metric(
        name=name,
        unit="s",
        histogram=metrics_pb2.Histogram(
            aggregation_temporality=metrics_pb2.AggregationTemporality.ValueType(temporality),
            data_points=points,
        ),
    )
    rm = metrics_pb2.ResourceMetrics(
        resource=resource_pb2.Resource(attributes=[kv("service.name", service)]),
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[m])],
    )
    return ExportMetricsServiceRequest(resource_metrics=[rm])


def point(
    counts: list[int], start: int, attrs: tuple[KeyValue, ...] = (), flags: int = 0
) -> metrics_pb2.HistogramDataPoint:
    return metrics_pb2.HistogramDataPoint(
        attributes=list(attrs),
        start_time_unix_nano=start,
        time_unix_nano=start + 10**9,
        count=sum(counts),
        bucket_counts=counts,
        explicit_bounds=[0.1, 0.2],
        flags=flags,
    )


def test_counter_reset_by_start_time_and_by_lower_count() -> None:
    sink, store = make_sink(rate_window=60, refresh=1)
    sink.ingest(request([point([10, 0, 0], T0)]))
    sink.tick(1.0)
    assert value(store, "svc", "qps")[0] == pytest.approx(10 / 1.0, rel=0.5)
    sink.ingest(request([point([0, 5, 0], T0 + 5 * 10**9)]))  # restarted: new start time
    sink.tick(100.0)
    assert store.services["svc"].observations == 5  # the whole new value, nothing negative
    assert 0.1 < value(store, "svc", "p50")[0] <= 0.2
    sink.ingest(request([point([0, 2, 0], T0 + 5 * 10**9)]))  # same start, lower count: reset
    sink.tick(200.0)
    assert store.services["svc"].observations == 2


def test_series_present_before_we_listened_is_a_baseline_not_a_burst() -> None:
    sink, store = make_sink()
    old = T0 - 3600 * 10**9
    sink.ingest(request([point([1000, 0, 0], old)]))
    sink.tick(1.0)
    assert store.services["svc"].observations == 0
    sink.ingest(request([point([1000, 0, 7], old)]))
    sink.tick(2.0)
    assert store.services["svc"].observations == 7
    assert value(store, "svc", "p99") == (0.2, FLAG_SATURATED | FLAG_LOW_CONFIDENCE)


def test_no_recorded_value_flag_ends_the_series() -> None:
    sink, store = make_sink()
    sink.ingest(request([point([5, 0, 0], T0)]))
    res = sink.ingest(request([point([0, 0, 0], T0, flags=1)]))
    assert res.accepted == 1 and res.rejected == 0
    sink.tick(1.0)
    assert store.services["svc"].observations == 5
    sink.ingest(request([point([3, 0, 0], T0 + 10**9)]))  # comes back with a new start
    sink.tick(2.0)
    assert store.services["svc"].observations == 8


def test_same_series_twice_in_one_request_is_applied_in_order() -> None:
    sink, store = make_sink()
    sink.ingest(request([point([1, 0, 0], T0), point([4, 0, 0], T0)]))
    sink.tick(1.0)
    assert store.services["svc"].observations == 4


def test_bad_points_are_rejected_with_a_reason_and_the_rest_kept() -> None:
    sink, store = make_sink()
    bad = metrics_pb2.HistogramDataPoint(
        start_time_unix_nano=T0, count=3, bucket_counts=[1, 2], explicit_bounds=[0.1, 0.2]
    )
    res = sink.ingest(request([bad, point([2, 0, 0], T0, (kv("k", "v"),))]))
    assert (res.accepted, res.rejected) == (1, 1)
    assert "2 bucket counts for 2 bounds" in res.error_message
    res = sink.ingest(request([point([1, 0, 0], T0)], temporality=0))
    assert res.rejected == 1 and "temporality" in res.error_message
    sink.tick(1.0)
    assert store.services["svc"].observations == 2


def test_error_type_attribute_counts_as_error() -> None:
    sink, store = make_sink()
    sink.ingest(
        request(
            [
                point([3, 0, 0], T0, (kv("error.type", "timeout"),)),
                point([1, 0, 0], T0, (kv("http.response.status_code", 404),)),
            ]
        )
    )
    sink.tick(1.0)
    assert value(store, "svc", "error_ratio")[0] == pytest.approx(0.75)


def test_series_cap_refuses_and_counts_dropped_series() -> None:
    sink, store = make_sink(max_series=100)
    pts = [point([1, 0, 0], T0, (kv("id", i),)) for i in range(150)]
    res = sink.ingest(request(pts))
    assert (res.accepted, res.rejected) == (100, 50)
    assert "series cap reached (100 series)" in res.error_message
    sink.ingest(request(pts))  # the same refused series again: still 50 series dropped
    assert sink.dropped_series == 50 and store.dropped == 50


def test_gauge_and_sum_values_are_kept_per_series() -> None:
    sink, _ = make_sink()
    g = metrics_pb2.Metric(
        name="queue.depth",
        gauge=metrics_pb2.Gauge(
            data_points=[metrics_pb2.NumberDataPoint(as_int=7, time_unix_nano=T0)]
        ),
    )
    s = metrics_pb2.Metric(
        name="bytes",
        sum=metrics_pb2.Sum(
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_DELTA,
            data_points=[metrics_pb2.NumberDataPoint(as_double=1.5, time_unix_nano=T0)],
        ),
    )
    rm = metrics_pb2.ResourceMetrics(
        resource=resource_pb2.Resource(attributes=[kv("service.name", "svc")]),
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[g, s, s])],
    )
    res = sink.ingest(ExportMetricsServiceRequest(resource_metrics=[rm]))
    assert res.accepted == 3
    assert list(sink.values("svc", "queue.depth").values()) == [7.0]
    assert list(sink.values("svc", "bytes").values()) == [3.0]


def test_summary_as_latency_metric() -> None:
    svc = ServiceConfig(name="legacy", otlp=ServiceOTLP(latency_metric="rpc.latency"))
    sink, store = make_sink(services=[svc])
    sm = metrics_pb2.Metric(
        name="rpc.latency",
        unit="ms",
        summary=metrics_pb2.Summary(
            data_points=[
                metrics_pb2.SummaryDataPoint(
                    start_time_unix_nano=T0,
                    count=100,
                    sum=900.0,
                    quantile_values=[
                        metrics_pb2.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=8.0),
                        metrics_pb2.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=40.0),
                    ],
                )
            ]
        ),
    )
    rm = metrics_pb2.ResourceMetrics(
        resource=resource_pb2.Resource(attributes=[kv("service.name", "legacy")]),
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[sm])],
    )
    sink.ingest(ExportMetricsServiceRequest(resource_metrics=[rm]))
    sink.tick(1.0)
    assert value(store, "legacy", "p99")[0] == pytest.approx(0.04)
    assert value(store, "legacy", "p50")[0] == pytest.approx(0.008)
    assert math.isnan(value(store, "legacy", "p95")[0])


def test_stale_service_gets_no_new_points() -> None:
    sink, store = make_sink(rate_window=60, refresh=5)
    sink.ingest(request([point([1, 0, 0], T0)]))
    sink.tick(10.0)
    sink.tick(200.0)
    ring = store.series("svc", "p99")
    assert ring is not None and len(ring) == 1


def test_cumulative_exponential_rescaled_by_the_sdk_uses_deltas() -> None:
    sink, store = make_sink(rate_window=60, refresh=5)
    provider, reader = sdk(
        "rescale", aggregation=ExponentialBucketHistogramAggregation(max_size=20)
    )
    h = provider.get_meter("t").create_histogram("http.server.request.duration", unit="s")
    for i in range(200):
        h.record(0.010 + i * 1e-5)  # narrow range: fine scale
    first = collect(reader)
    s1 = (
        first.resource_metrics[0]
        .scope_metrics[0]
        .metrics[0]
        .exponential_histogram.data_points[0]
        .scale
    )
    sink.ingest(first)
    sink.tick(100.0)
    new = [0.5 * 1.03**i for i in range(100)]  # wide range: the SDK must downscale
    for v in new:
        h.record(v)
    second = collect(reader)
    s2 = (
        second.resource_metrics[0]
        .scope_metrics[0]
        .metrics[0]
        .exponential_histogram.data_points[0]
        .scale
    )
    assert s2 < s1
    sink.ingest(second)
    sink.tick(200.0)  # the first slice left the window: only the 100 new values count
    assert store.services["rescale"].observations == 100
    p50 = value(store, "rescale", "p50")[0]
    true = sorted(new)[49]
    assert true / 2 ** (2**-s2) <= p50 <= true * 2 ** (2**-s2)  # within one bucket


def test_different_bucket_layouts_combine_like_sum_by_le() -> None:
    sink, store = make_sink()
    p1 = point([4, 0, 0], T0, (kv("a", 1),))  # bounds 0.1, 0.2
    p2 = metrics_pb2.HistogramDataPoint(
        attributes=[kv("a", 2)],
        start_time_unix_nano=T0,
        count=4,
        bucket_counts=[0, 4, 0],
        explicit_bounds=[0.1, 0.4],
    )
    sink.ingest(request([p1, p2]))
    sink.tick(1.0)
    # sum by (le): le=0.1 -> 4, le=0.2 -> 4 (first series only), le=0.4 -> 4 (second only),
    # +Inf -> 8. p50: rank 4 reached at le=0.1 -> 0.1; p99: rank 7.92 only at +Inf -> 0.4.
    p50, flags = value(store, "svc", "p50")
    assert p50 == pytest.approx(0.1) and flags == FLAG_LOW_CONFIDENCE
    assert value(store, "svc", "p99") == (0.4, FLAG_SATURATED | FLAG_LOW_CONFIDENCE)


def test_a_flood_of_service_names_is_capped_too() -> None:
    sink, store = make_sink(max_series=10)
    for i in range(15):
        res = sink.ingest(request([point([1, 0, 0], T0)], service=f"svc-{i}"))
        assert (res.accepted, res.rejected) == ((1, 0) if i < 10 else (0, 1))
    assert "too many services" in res.error_message
    sink.tick(1.0)
    assert len(store.names()) == 10
