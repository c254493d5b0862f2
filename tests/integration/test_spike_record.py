"""End to end: the real OpenTelemetry SDK pushes latencies with one injected spike into a real
`warroom record` process; the spike line appears at the right time, and no other.

Path under test: SDK histogram -> OTLP/HTTP exporter -> OTLPHttpReceiver -> OTLPSink.tick
(p99 from bucket deltas) -> Hub -> SpikeTracker -> record line.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from statistics import NormalDist

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource

from tests.servers import free_port

pytestmark = pytest.mark.integration

WARROOM = Path(sys.executable).parent / "warroom"
BOUNDS = [0.001 * 1.1**i for i in range(100)]  # 1 ms .. 12.5 s, 10% apart
RECORD_S = 14.0
SPIKE_AT = 8.0  # seconds after the first export: 7+ steady points first (warm-up is 5)
SPIKE_LEN = 0.4
RATE = 400  # requests per second
MEDIAN, SIGMA, FACTOR = 0.040, 0.3, 4.0


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def _latency(i: int) -> float:
    """Deterministic lognormal latencies (golden-ratio sequence over the quantiles), so each
    window holds the same distribution and the steady P99 barely moves."""
    u = (0.5 + i * 0.6180339887498949) % 1.0
    return MEDIAN * math.exp(SIGMA * NormalDist().inv_cdf(min(max(u, 1e-6), 1 - 1e-6)))


def test_otel_spike_reaches_warroom_record(tmp_path):
    port = free_port()
    cfg = tmp_path / "warroom.yaml"
    cfg.write_text(
        f"otlp:\n  http: 127.0.0.1:{port}\n  grpc: ''\n"
        "refresh: 1s\nrate_window: 1s\n"
        "services:\n  - name: checkout\n    otlp: {}\n"
        "detector:\n  min_observations: 50\n"
    )
    out = tmp_path / "rec.jsonl"
    proc = subprocess.Popen(
        [str(WARROOM), "record", "-c", str(cfg), "--duration", f"{RECORD_S}s", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    provider = None
    try:
        _wait_port(port)
        exporter = OTLPMetricExporter(
            endpoint=f"http://127.0.0.1:{port}/v1/metrics",
            preferred_temporality={Histogram: AggregationTemporality.CUMULATIVE},
            preferred_aggregation={Histogram: ExplicitBucketHistogramAggregation(BOUNDS)},
        )
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=200)
        provider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": "checkout"})
        )
        hist = provider.get_meter("shop").create_histogram("http.server.request.duration", unit="s")
        started = time.time()
        spike = (started + SPIKE_AT, started + SPIKE_AT + SPIKE_LEN)
        stop = threading.Event()

        def load() -> None:
            i, tick = 0, 0.01
            next_t = time.monotonic()
            while not stop.is_set():
                now = time.time()
                factor = FACTOR if spike[0] <= now < spike[1] else 1.0
                for _ in range(int(RATE * tick)):
                    hist.record(_latency(i) * factor, {"http.response.status_code": 200})
                    i += 1
                next_t += tick
                time.sleep(max(0.0, next_t - time.monotonic()))

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        try:
            proc.wait(timeout=RECORD_S + 20)
        finally:
            stop.set()
            worker.join(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if provider is not None:
            provider.shutdown()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""

    lines = [json.loads(line) for line in out.read_text().splitlines()]
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
