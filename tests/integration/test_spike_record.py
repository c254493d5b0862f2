"""End to end: the real OpenTelemetry SDK pushes latencies with one injected spike into a real
`warroom record` process; the spike line appears at the right time, and no other.

Path under test: SDK histogram -> OTLP/HTTP exporter -> OTLPHttpReceiver -> OTLPSink.tick
(p99 from bucket deltas) -> Hub -> SpikeTracker -> record line.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource

from tests.cli import Listening

pytestmark = pytest.mark.integration

BOUNDS = [0.001 * 1.1**i for i in range(100)]  # 1 ms .. 12.5 s, 10% apart
RECORD_S = 14.0
SPIKE_AT = 8.0  # seconds after the first export: 7+ steady points first (warm-up is 5)
SPIKE_LEN = 0.4
RATE = 400  # requests per second
MEDIAN, SIGMA, FACTOR = 0.040, 0.3, 4.0


def _latency(i: int, median: float = MEDIAN, sigma: float = SIGMA) -> float:
    """Deterministic lognormal latencies (golden-ratio sequence over the quantiles), so each
    window holds the same distribution and the steady P99 barely moves."""
    u = (0.5 + i * 0.6180339887498949) % 1.0
    return median * math.exp(sigma * NormalDist().inv_cdf(min(max(u, 1e-6), 1 - 1e-6)))


@dataclass(frozen=True)
class Load:
    """One service's requests: `latency(i) * factor_at(seconds since start)` into `bounds`."""

    service: str
    bounds: list[float]
    latency: Callable[[int], float]
    factor_at: Callable[[float], float]


def _record_sdk_latencies(tmp_path: Path, loads: list[Load]) -> tuple[float, list[dict[str, Any]]]:
    """Run one `warroom record` while the real SDK records each load at RATE req/s (one
    MeterProvider per service, as separate processes would); the start time and the lines."""
    cfg = tmp_path / "warroom.yaml"
    cfg.write_text(
        "otlp:\n  http: 127.0.0.1:0\n  grpc: ''\n"  # record reports the port the OS gave
        "refresh: 1s\nrate_window: 1s\nservices:\n"
        + "".join(f"  - name: {ld.service}\n    otlp: {{}}\n" for ld in loads)
        + "detector:\n  min_observations: 50\n"
    )
    out = tmp_path / "rec.jsonl"
    run = Listening("record", "-c", str(cfg), "--duration", f"{RECORD_S}s", "--out", str(out))
    providers: list[MeterProvider] = []
    exporters: list[OTLPMetricExporter] = []
    try:
        hists = []
        for ld in loads:
            exporter = OTLPMetricExporter(
                endpoint=f"http://127.0.0.1:{run.port}/v1/metrics",
                preferred_temporality={Histogram: AggregationTemporality.CUMULATIVE},
                preferred_aggregation={Histogram: ExplicitBucketHistogramAggregation(ld.bounds)},
            )
            exporters.append(exporter)
            reader = PeriodicExportingMetricReader(exporter, export_interval_millis=200)
            provider = MeterProvider(
                metric_readers=[reader], resource=Resource.create({"service.name": ld.service})
            )
            providers.append(provider)
            meter = provider.get_meter("shop")
            hists.append(meter.create_histogram("http.server.request.duration", unit="s"))
        started = time.time()
        stop = threading.Event()

        def load() -> None:
            i, tick = 0, 0.01
            next_t = time.monotonic()
            while not stop.is_set():
                since = time.time() - started
                for ld, hist in zip(loads, hists, strict=True):
                    factor = ld.factor_at(since)
                    for k in range(int(RATE * tick)):
                        hist.record(ld.latency(i + k) * factor, {"http.response.status_code": 200})
                i += int(RATE * tick)
                next_t += tick
                time.sleep(max(0.0, next_t - time.monotonic()))

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        try:
            done = run.result()
        finally:
            stop.set()
            worker.join(5)
    finally:
        run.close()  # a recorder still running (a failed test) is killed
        for exp in exporters:  # the receiver is gone: no final export retried for seconds
            exp.shutdown()
        for provider in providers:
            provider.shutdown()
    assert done.returncode == 0, done.stderr
    return started, [json.loads(line) for line in out.read_text().splitlines()]


DEF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]  # client_golang's
STEP_AT = 8.0


def _glitch_factor(since: float) -> float:
    return FACTOR if SPIKE_AT <= since < SPIKE_AT + SPIKE_LEN else 1.0


def _step_latency(i: int) -> float:
    return _latency(i, median=0.104, sigma=0.6)  # P99 = 0.104 * e**(0.6 * 2.326) = 0.42


def _step_factor(since: float) -> float:
    return 5.6 if since >= STEP_AT else 1.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[float, list[dict[str, Any]]]:
    """One 14 s recording of two services: `checkout` with a 0.4 s 4x burst on fine bounds,
    `api` with a 5.6x step on client_golang's DefBuckets."""
    return _record_sdk_latencies(
        tmp_path_factory.mktemp("spike-record"),
        [
            Load("checkout", BOUNDS, _latency, _glitch_factor),
            Load("api", DEF_BUCKETS, _step_latency, _step_factor),
        ],
    )


def test_otel_spike_reaches_warroom_record(recorded: tuple[float, list[dict[str, Any]]]) -> None:
    started, all_lines = recorded
    lines = [e for e in all_lines if e.get("service") == "checkout"]
    spike = (started + SPIKE_AT, started + SPIKE_AT + SPIKE_LEN)
    points = [
        e
        for e in lines
        if e["type"] == "point" and e["service"] == "checkout" and e["signal"] == "p99"
    ]
    spikes = [e for e in lines if e["type"] == "spike"]
    assert len(points) >= 10, f"too few p99 points: {points}"

    # the spike, and only the spike: one or two GLITCH lines (the burst can straddle a tick)
    assert spikes, f"no spike line; p99 points: {[round(p['value'], 4) for p in points]}"
    assert 1 <= len(spikes) <= 2, spikes
    for s in spikes:
        assert set(s) == {"t", "type", "service", "signal", "state", "value", "baseline"}
        assert (s["service"], s["signal"], s["state"]) == ("checkout", "p99", "GLITCH")
        # at the right time: after the burst began, no later than the next tick after it ended
        assert spike[0] <= s["t"] <= spike[1] + 2.5, (s, spike)
        assert s["value"] / s["baseline"] >= 1.2  # the detector's min_ratio
        # the line reports the very p99 point recorded at that tick
        same = [p for p in points if p["t"] == s["t"]]
        assert same and same[0]["value"] == pytest.approx(s["value"])
    # a 4x burst clearly lifts P99: about 3x here on a quiet machine; less when the burst
    # straddles a tick or the load thread falls behind on a busy one (1.9x seen in CI)
    assert max(s["value"] / s["baseline"] for s in spikes) >= 1.5, spikes
    # the baseline is the steady P99 the SDK produced before the burst
    steady = sorted(p["value"] for p in points if p["t"] < spike[0])
    assert spikes[0]["baseline"] == pytest.approx(steady[len(steady) // 2], rel=0.1)


DEF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]  # client_golang's


def test_otel_step_on_defbuckets_is_sustained_within_8s(
    recorded: tuple[float, list[dict[str, Any]]],
) -> None:
    """The trial's defect through OTLP: P99 about 0.42 s -> 2.4 s on DefBuckets bounds."""
    started, all_lines = recorded
    lines = [e for e in all_lines if e.get("service") == "api"]
    step_at = STEP_AT
    spikes = [e for e in lines if e["type"] == "spike"]
    points = [e for e in lines if e["type"] == "point" and e["signal"] == "p99"]
    before = [p["value"] for p in points if p["t"] < started + step_at]
    assert before and all(0.25 < v <= 0.5 for v in before[1:]), before
    assert spikes, f"no spike line; p99 points: {[round(p['value'], 3) for p in points]}"
    assert all(s["t"] >= started + step_at for s in spikes), spikes
    sustained = [s for s in spikes if s["state"] == "SUSTAINED"]
    assert sustained and sustained[0]["t"] - (started + step_at) <= 8.0, spikes
    assert sustained[0]["value"] > 1.0 and 0.25 < sustained[0]["baseline"] <= 0.5
