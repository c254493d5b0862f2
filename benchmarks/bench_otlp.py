"""OTLP ingest throughput: decode + store, histogram data points per second on one core.

Workload: export requests as the OpenTelemetry SDK sends them -- 20 services x 50 attribute
sets of `http.server.request.duration` (15 explicit buckets, cumulative temporality), so each
request carries 1,000 histogram points; successive requests carry growing counts, so every
point goes through the delta path (previous counts, reset checks, window accumulation).
Figures: decode+ingest points/s (the figure, target >= 100,000), and two references measured
the same way: protobuf decode alone, and decode plus a plain Python walk over every bucket.
Also the tick in steady state (refresh 1 s, a full rate_window of slices), at 20 x 50 series
and at 100,000 series (100 services x 1,000). Medians of >= 5 runs (steady ticks: of the
5 ticks after the window filled, median over runs // 2 runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tui.config import Config
from tui.config_values import Duration
from tui.core.metrics.otlp import OTLPSink
from tui.core.metrics.store import MetricStore

BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
SERVICES, SERIES = 20, 50
REQUESTS = 30
# steady-state tick shapes: (services, series per service, services per request, rate_window s)
STEADY = ((SERVICES, SERIES, SERVICES, 60), (100, 1000, 1, 10))


def build(
    step: int, start_ns: int, services: range = range(SERVICES), series: int = SERIES
) -> bytes:
    rms = []
    for s in services:
        pts = []
        for a in range(series):
            counts = [(step + 1) * ((a + i) % 7 + 1) for i in range(len(BOUNDS) + 1)]
            pts.append(
                metrics_pb2.HistogramDataPoint(
                    attributes=[
                        KeyValue(key="http.route", value=AnyValue(string_value=f"/api/v1/r{a}")),
                        KeyValue(key="http.request.method", value=AnyValue(string_value="GET")),
                        KeyValue(
                            key="http.response.status_code",
                            value=AnyValue(int_value=500 if a % 10 == 0 else 200),
                        ),
                    ],
                    start_time_unix_nano=start_ns,
                    time_unix_nano=start_ns + step * 10**9,
                    count=sum(counts),
                    sum=0.1 * sum(counts),
                    bucket_counts=counts,
                    explicit_bounds=BOUNDS,
                )
            )
        m = metrics_pb2.Metric(
            name="http.server.request.duration",
            unit="s",
            histogram=metrics_pb2.Histogram(
                aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE,
                data_points=pts,
            ),
        )
        rms.append(
            metrics_pb2.ResourceMetrics(
                resource=Resource(
                    attributes=[
                        KeyValue(key="service.name", value=AnyValue(string_value=f"svc-{s}"))
                    ]
                ),
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[m])],
            )
        )
    body: bytes = ExportMetricsServiceRequest(resource_metrics=rms).SerializeToString()
    return body


def run_once(bodies: list[bytes], mode: str) -> float:
    store = MetricStore(max_series=10_000)
    cfg = Config(max_series=10_000)
    sink = OTLPSink(store, cfg, started_at=0)
    n = 0
    t0 = time.perf_counter()
    for body in bodies:
        req = ExportMetricsServiceRequest.FromString(body)
        if mode == "ingest":
            n += sink.ingest(req).accepted
        elif mode == "walk":
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        for dp in m.histogram.data_points:
                            total = 0
                            for c in dp.bucket_counts:
                                total += c
                            n += 1
        else:
            n += sum(
                len(m.histogram.data_points)
                for rm in req.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
            )
    dt = time.perf_counter() - t0
    if mode == "ingest":
        sink.tick(1000.0)  # not timed: once per refresh, not per point
    return n / dt


def tick_cost(bodies: list[bytes]) -> float:
    """Seconds one `tick` takes after the requests: every service's p50/p95/p99 and its
    routes' (50 http.route values each: the top 20 and "other", tui/core/metrics/otlp_routes)."""
    sink = OTLPSink(MetricStore(max_series=10_000), Config(max_series=10_000), started_at=0)
    for body in bodies:
        sink.ingest(ExportMetricsServiceRequest.FromString(body))
    t0 = time.perf_counter()
    sink.tick(1000.0)
    return time.perf_counter() - t0


def steady_tick(services: int, series: int, per_request: int, window: int) -> tuple[float, float]:
    """Median seconds of `tick` once the window is full, as the dashboard runs it: refresh 1 s,
    `rate_window` of `window` s, each second one pass of pushes over every series (growing
    cumulative counts), then a tick; the 5 ticks after the window filled are timed.
    Returns (wall seconds, CPU seconds): on a shared machine the CPU time is the steadier."""
    cfg = Config(max_series=200_000, refresh=Duration(1), rate_window=Duration(window))
    sink = OTLPSink(MetricStore(max_series=200_000), cfg, started_at=0)
    times, cpu = [], []
    for step in range(window + 5):
        for r in range(0, services, per_request):
            key = (step, r, services, series)
            if key not in _BODIES:  # built once, outside the timed part, for every run
                _BODIES[key] = build(step, 0, range(r, min(r + per_request, services)), series)
            sink.ingest(ExportMetricsServiceRequest.FromString(_BODIES[key]))
        t0, c0 = time.perf_counter(), time.process_time()
        sink.tick(1000.0 + step)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times[-5:]), statistics.median(cpu[-5:])


_BODIES: dict[tuple[int, int, int, int], bytes] = {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tick-only", action="store_true", help="only the steady-state ticks")
    args = ap.parse_args()
    if args.tick_only:
        for shape in STEADY:
            runs = [steady_tick(*shape) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            each = ", ".join(f"{r[0] * 1000:.1f}" for r in runs)
            print(
                f"steady tick {shape[0]} x {shape[1]} series, rate_window {shape[3]} s: "
                f"{wall * 1000:.1f} ms wall, {cpu * 1000:.1f} ms CPU (each: {each})"
            )
        return 0
    start_ns = time.time_ns()
    bodies = [build(i, start_ns) for i in range(REQUESTS)]
    res = {
        mode: statistics.median(run_once(bodies, mode) for _ in range(args.runs))
        for mode in ("decode", "walk", "ingest")
    }
    tick = statistics.median(tick_cost(bodies) for _ in range(args.runs))
    steady = {
        shape: statistics.median(steady_tick(*shape)[0] for _ in range(max(1, args.runs // 2)))
        for shape in STEADY
    }
    points = REQUESTS * SERVICES * SERIES
    rows = [
        {
            "figure": "OTLP ingest, decode + store (histogram points/s, one core)",
            "value": round(res["ingest"]),
            "unit": "points/s",
            "limit": ">= 100000",
            "reference": f"decode only {res['decode']:.3g}/s; decode + Python walk "
            f"{res['walk']:.3g}/s",
        },
        {
            "figure": f"OTLP tick with routes, {SERVICES} services x {SERIES} http.route values",
            "value": round(tick * 1000, 2),
            "unit": "ms",
            "limit": "",
            "reference": "once per refresh: quantiles of every service and of its top 20 routes",
        },
    ]
    for (services, series, _, window), secs in steady.items():
        rows.append(
            {
                "figure": f"OTLP tick in steady state, {services} services x {series} series, "
                f"refresh 1 s, rate_window {window} s",
                "value": round(secs * 1000, 2),
                "unit": "ms",
                "limit": "",
                "reference": "median of the ticks once the window is full",
            }
        )
    if args.json:
        print(json.dumps(rows))
    else:
        print(
            f"{points} histogram points ({REQUESTS} requests x {SERVICES * SERIES} points, "
            f"{len(BOUNDS) + 1} buckets), median of {args.runs} runs"
        )
        print(f"  protobuf decode only      {res['decode']:>12,.0f} points/s")
        print(f"  decode + plain Python walk{res['walk']:>12,.0f} points/s")
        print(f"  decode + OTLPSink.ingest  {res['ingest']:>12,.0f} points/s  (target >= 100,000)")
        print(f"  tick, {SERVICES} services x {SERIES} routes  {tick * 1000:>9.1f} ms")
        for (services, series, _, window), secs in steady.items():
            print(
                f"  steady tick, {services} x {series} series, {window} slices"
                f"{secs * 1000:>9.1f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
