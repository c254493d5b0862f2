"""The sink's whole-request path (a request whose series come in the same order as the last
one: `otlp_view.columns`) stores exactly what the point-by-point path stores.

Two sinks get the same points: one in the same order every request (the whole-request path
from the second request on), the other shuffled differently each time (a new attribute
signature each time: always point by point). Resets, an ended series, a changed layout,
-0.0 for 0.0 in the bounds, a point without a count and a delta service are mixed in.
"""

from __future__ import annotations

import math
import random
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tests.unit.test_otlp_sink import T0, make_sink
from tui.core.metrics.otlp_view import attribute_signature, columns, histogram_points

BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
ZERO_BOUNDS = [0.0, 0.01, 0.1, 1.0]  # a first bound of 0.0, later sent as -0.0 once
SERIES = 30
SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")


def attrs(i: int) -> list[KeyValue]:
    return [
        KeyValue(key="http.route", value=AnyValue(string_value=f"/r{i}")),
        KeyValue(key="http.response.status_code", value=AnyValue(int_value=503 if i % 7 else 200)),
        KeyValue(key="weight", value=AnyValue(double_value=i / 3)),
    ]


def points(service: int, step: int) -> list[metrics_pb2.HistogramDataPoint]:
    out = []
    for i in range(SERIES):
        bounds = ZERO_BOUNDS if service == 1 else BOUNDS
        start = T0 + (10**9 if (service, i, step >= 4) == (0, 3, True) else 0)  # a reset
        grow = step + 1 if not (service == 0 and i == 3 and step >= 4) else step - 3
        if service == 1 and i == 2 and step == 6:
            bounds = [-0.0, *ZERO_BOUNDS[1:]]  # the same layout as floats, other bytes
        if service == 0 and i == 9 and step >= 7:
            bounds = [0.1, 1.0]  # the series moves to another layout
        counts = [grow * ((i + b) % 5) for b in range(len(bounds))] + [grow if i == 0 else 0]
        if service == 0 and i == 11 and step == 8:
            counts = [0] * len(counts)  # no count at all: proto3 leaves the field out
        dp = metrics_pb2.HistogramDataPoint(
            attributes=attrs(i),
            start_time_unix_nano=start,
            time_unix_nano=T0 + step * 10**9,
            count=sum(counts),
            sum=0.01 * sum(counts),
            bucket_counts=counts,
            explicit_bounds=bounds,
        )
        if service == 0 and i == 5 and step == 5:
            dp.flags = 1  # NO_RECORDED_VALUE: the series ended
        out.append(dp)
    return out


def request(step: int, shuffle: random.Random | None) -> ExportMetricsServiceRequest:
    rms = []
    for service, temporality in ((0, 2), (1, 2), (2, 1)):
        pts = points(service, step)
        if shuffle is not None:
            shuffle.shuffle(pts)
        m = metrics_pb2.Metric(
            name="http.server.request.duration",
            unit="s",
            histogram=metrics_pb2.Histogram(
                aggregation_temporality=metrics_pb2.AggregationTemporality.ValueType(temporality),
                data_points=pts,
            ),
        )
        rms.append(
            metrics_pb2.ResourceMetrics(
                resource=Resource(
                    attributes=[
                        KeyValue(key="service.name", value=AnyValue(string_value=f"svc-{service}"))
                    ]
                ),
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[m])],
            )
        )
    return ExportMetricsServiceRequest(resource_metrics=rms)


def test_whole_request_path_stores_what_point_by_point_stores() -> None:
    fast, fast_store = make_sink()
    slow, slow_store = make_sink()
    rng = random.Random(16)
    for step in range(10):
        a = fast.ingest(request(step, None))
        b = slow.ingest(request(step, rng))
        assert (a.accepted, a.rejected) == (b.accepted, b.rejected)
        fast.tick(5.0 * (step + 1))
        slow.tick(5.0 * (step + 1))
    assert slow.batched_points == 0
    # every step but the first, the changed ones and the one after each change went whole
    assert fast.batched_points >= 3 * SERIES * 4
    for service in ("svc-0", "svc-1", "svc-2"):
        for signal in SIGNALS:
            ra, rb = fast_store.series(service, signal), slow_store.series(service, signal)
            assert ra is not None and rb is not None
            va, vb = ra.arrays()[1].tolist(), rb.arrays()[1].tolist()
            assert ra.arrays()[2].tolist() == rb.arrays()[2].tolist()  # flags
            assert len(va) == 10
            assert [x if not math.isnan(x) else "nan" for x in va] == [
                x if not math.isnan(x) else "nan" for x in vb
            ], (service, signal)
        assert (
            fast_store.services[service].observations == slow_store.services[service].observations
        )


def histogram(pts: list[metrics_pb2.HistogramDataPoint]) -> bytes:
    body: bytes = metrics_pb2.Histogram(
        aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE, data_points=pts
    ).SerializeToString()
    return body


def test_views_read_the_same_keys_counts_and_bounds_as_the_full_message() -> None:
    pts = points(0, 2)
    pts[0].attributes.add(key="nested").value.kvlist_value.values.add(
        key="k"
    ).value.bool_value = True
    pts[1].attributes.add(key="bytes").value.bytes_value = b"\x00\xff"
    pts[2].exemplars.add(as_double=1.5, time_unix_nano=3)
    raw = histogram(pts)
    full = metrics_pb2.Histogram.FromString(raw).data_points
    views = histogram_points(raw)
    for v, f in zip(views, full, strict=True):
        assert tuple(v.attributes) == tuple(kv.SerializeToString() for kv in f.attributes)
        n = len(f.bucket_counts)
        assert struct.unpack(f"<{n}Q", v.bucket_counts) == tuple(f.bucket_counts)
        assert v.explicit_bounds == struct.pack(f"<{len(BOUNDS)}d", *f.explicit_bounds)
    got = columns(raw, SERIES, len(BOUNDS) + 1, struct.pack(f"<{len(BOUNDS)}d", *BOUNDS))
    assert got is not None
    starts, counts, buckets = got
    assert starts.tolist() == [p.start_time_unix_nano for p in full]
    assert counts.tolist() == [p.count for p in full]
    assert buckets.tolist() == [list(p.bucket_counts) for p in full]
    # the signature sees the attributes only, in order
    moved = points(0, 3)
    assert attribute_signature(histogram(moved)) == attribute_signature(histogram(points(0, 2)))
    assert attribute_signature(histogram(moved[::-1])) != attribute_signature(raw)


def test_columns_refuse_any_point_of_another_shape() -> None:
    packed = struct.pack(f"<{len(BOUNDS)}d", *BOUNDS)
    nb = len(BOUNDS) + 1
    assert columns(histogram(points(0, 2)), SERIES, nb, packed) is not None
    for change in ("flags", "count", "start", "bounds", "buckets"):
        pts = points(0, 2)
        p = pts[17]
        if change == "flags":
            p.flags = 1
        elif change == "count":
            p.count = 0
        elif change == "start":
            p.start_time_unix_nano = 0
        elif change == "bounds":
            p.explicit_bounds[0] = -0.0
        else:
            p.bucket_counts.append(1)
        assert columns(histogram(pts), SERIES, nb, packed) is None, change
    assert columns(histogram(points(0, 2)), SERIES - 1, nb, packed) is None


MUTATIONS = ("none", "flag", "zero_count", "no_start", "reset", "layout", "drop", "extra", "delta")


def mutated(step: int, changes: list[tuple[int, str]]) -> list[metrics_pb2.HistogramDataPoint]:
    """30 steady series of one service at `step`, with the drawn changes applied."""
    pts = points(2, step)
    for i, change in changes:
        p = pts[i % len(pts)]
        if change == "flag":
            p.flags = 1
        elif change == "zero_count":
            p.count = 0
            del p.bucket_counts[:]
            p.bucket_counts.extend([0] * (len(BOUNDS) + 1))
        elif change == "no_start":
            p.start_time_unix_nano = 0
        elif change == "reset":
            p.start_time_unix_nano += 1
        elif change == "layout":
            del p.explicit_bounds[-1]
            del p.bucket_counts[-1]
        elif change == "extra":
            pts.append(metrics_pb2.HistogramDataPoint(attributes=attrs(100 + i), count=1))
            pts[-1].bucket_counts.extend([1] + [0] * len(BOUNDS))
            pts[-1].explicit_bounds.extend(BOUNDS)
            pts[-1].start_time_unix_nano = T0
    if any(c == "drop" for _, c in changes):
        del pts[changes[0][0] % len(pts)]
    return pts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 40), st.sampled_from(MUTATIONS)), max_size=3),
        min_size=2,
        max_size=6,
    )
)
def test_any_sequence_of_changes_stores_the_same_as_point_by_point(
    steps: list[list[tuple[int, str]]],
) -> None:
    fast, fast_store = make_sink()
    slow, slow_store = make_sink()
    rng = random.Random(len(steps))
    for step, changes in enumerate(steps):
        temporality = 1 if any(c == "delta" for _, c in changes) else 2
        for sink, shuffle in ((fast, None), (slow, rng)):
            pts = mutated(step, changes)
            if shuffle is not None:
                shuffle.shuffle(pts)
            hist = metrics_pb2.Histogram(
                aggregation_temporality=metrics_pb2.AggregationTemporality.ValueType(temporality),
                data_points=pts,
            )
            req = ExportMetricsServiceRequest()
            rm = req.resource_metrics.add()
            rm.resource.attributes.add(key="service.name").value.string_value = "svc"
            m = rm.scope_metrics.add().metrics.add(name="http.server.request.duration", unit="s")
            m.histogram.CopyFrom(hist)
            sink.ingest(req)
            sink.tick(5.0 * (step + 1))
    for signal in SIGNALS:
        ra, rb = fast_store.series("svc", signal), slow_store.series("svc", signal)
        assert (ra is None) == (rb is None)
        if ra is not None and rb is not None:
            va, vb = ra.arrays()[1].tolist(), rb.arrays()[1].tolist()
            assert [x if not math.isnan(x) else "nan" for x in va] == [
                x if not math.isnan(x) else "nan" for x in vb
            ], signal
