"""Hostile OTLP input found by the fuzz tests (issue 17), kept as plain regression tests."""

from __future__ import annotations

import gzip
import math
import time
import zlib

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tests.fuzz.otlp_cases import check_exact, exact_request, to_json
from tests.fuzz.strategies import kv
from tui.config import Config
from tui.core.metrics.otlp import OTLPSink
from tui.core.metrics.otlp_body import BodyError, decode_body
from tui.core.metrics.quantile import exponential_quantile
from tui.core.metrics.store import MetricStore


def one_metric(m: metrics_pb2.Metric, service: str = "svc") -> ExportMetricsServiceRequest:
    rm = metrics_pb2.ResourceMetrics(
        resource=Resource(attributes=[kv("service.name", service)]),
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[m])],
    )
    return ExportMetricsServiceRequest(resource_metrics=[rm])


def test_a_series_sent_as_another_kind_is_rejected_not_a_crash() -> None:
    store = MetricStore()
    sink = OTLPSink(store, Config(), started_at=time.time() - 1)
    now = int(time.time() * 1e9)
    hist = exact_request(now).resource_metrics[0].scope_metrics[0].metrics[0]
    name, attrs = hist.name, list(hist.histogram.data_points[0].attributes)
    summary = metrics_pb2.Metric(name=name, unit="s")
    summary.summary.data_points.add(attributes=attrs, start_time_unix_nano=now, count=3)
    assert sink.ingest(exact_request(now)).accepted == 1
    res = sink.ingest(one_metric(summary, "exact-check"))  # was AttributeError on a tuple
    assert (res.accepted, res.rejected) == (0, 1)
    assert "a summary point for a series first seen as histogram" in res.error_message
    # and the other way round: a gauge first, then a histogram of the same name and attributes
    gauge = metrics_pb2.Metric(name=name, unit="s")
    gauge.gauge.data_points.add(attributes=attrs, as_double=1.0)
    assert sink.ingest(one_metric(gauge, "other")).accepted == 1
    res = sink.ingest(one_metric(hist, "other"))  # was TypeError unpacking a _Series
    assert (res.accepted, res.rejected) == (0, 1)
    assert "first seen as gauge" in res.error_message
    sink.tick(1000.0)
    check_exact(store)


def test_exponential_quantile_past_the_largest_float_is_not_an_error() -> None:
    # scale -10, bucket 1020: bounds far past the largest float; was OverflowError in 2.0**x
    # (Go's math.Exp2 gives +Inf), which escaped the sink's tick
    assert exponential_quantile(0.5, -10, 0.0, 0, 1020, [1.0]).value == math.inf


def test_inflated_body_is_capped_while_inflating() -> None:
    req = exact_request(1)
    raw = req.SerializeToString()
    for enc, packed in (
        ("gzip", gzip.compress(raw)),
        ("deflate", zlib.compress(raw)),
        ("deflate", zlib.compress(raw)[2:-4]),  # raw deflate, as some clients send
        ("identity", raw),
    ):
        assert decode_body(packed, False, enc, 1 << 20) == req
    bomb = gzip.compress(b"\0" * (4 << 20))
    with pytest.raises(BodyError) as exc:
        decode_body(bomb, False, "gzip", 1 << 20)
    assert exc.value.http == 413
    assert str(exc.value) == (
        "body inflates past 1048576 bytes (otlp.max_inflated, by default otlp.max_body)"
    )
    with pytest.raises(BodyError, match="bad gzip body") as exc:
        decode_body(gzip.compress(raw)[:-5], False, "gzip", 1 << 20)
    assert exc.value.http == 400
    with pytest.raises(BodyError, match=r"\(JSON\)"):
        decode_body(b'{"resourceMetrics":' + b"[" * 200_000, True, "identity", 1 << 20)
    assert decode_body(to_json(req), True, "identity", 1 << 20) == req


def test_a_status_code_of_unicode_digits_is_not_a_crash() -> None:
    # "²".isdigit() is True but int("²") raises: was a ValueError out of ingest
    store = MetricStore()
    sink = OTLPSink(store, Config(), started_at=time.time() - 1)
    gauge = metrics_pb2.Metric(name="http.server.request.duration", unit="s")
    gauge.gauge.data_points.add(attributes=[kv("http.response.status_code", "²")], as_int=0)
    assert sink.ingest(one_metric(gauge)).accepted == 1


def expo_metric(offsets: list[int], temporality: int, start: int) -> metrics_pb2.Metric:
    m = metrics_pb2.Metric(name="rpc.server.duration", unit="ms")
    m.exponential_histogram.aggregation_temporality = metrics_pb2.AggregationTemporality.ValueType(
        temporality
    )
    for i, off in enumerate(offsets):
        dp = m.exponential_histogram.data_points.add(
            attributes=[kv("k", i)] if temporality == 1 else [],
            start_time_unix_nano=start,
            time_unix_nano=start + 10**9,
            count=4,
            scale=0,
        )
        dp.positive.offset = off
        dp.positive.bucket_counts.extend([1, 1, 1, 1])
    return m


@pytest.mark.parametrize("temporality", [1, 2])  # delta: two series; cumulative: one, moved
def test_exponential_offsets_far_apart_cost_no_huge_array(temporality: int) -> None:
    # offsets are any int32: summing buckets at -2**31 and 2**31 - 8 took one array of
    # 2**32 floats (32 GiB) before the accumulation was coarsened to fit
    import resource

    store = MetricStore()
    sink = OTLPSink(store, Config(), started_at=time.time() - 1)
    start = int(time.time() * 1e9)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if temporality == 1:
        res = sink.ingest(one_metric(expo_metric([-(2**31), 2**31 - 8], 1, start)))
        assert res.accepted == 2
    else:
        for off in (-(2**31), 2**31 - 8):
            assert sink.ingest(one_metric(expo_metric([off], 2, start))).accepted == 1
    sink.tick(1000.0)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB
    p99 = store.latest("svc", "p99")
    assert p99 is not None and p99[1] > 0
