"""snapshot and record for OTLP-backed services, fed by the real OpenTelemetry SDK exporter."""

from __future__ import annotations

import asyncio
import json
import math
import socket
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import Histogram as HistogramInstrument

from tests.cli import Listening, reported_port
from tests.otel_push import SdkPusher
from tests.servers import free_port
from tests.waits import eventually
from tui.cli import main
from tui.commands.snapshot import take_snapshot
from tui.config import parse_config
from tui.core.events import record_lines
from tui.core.metrics.quantile import bucket_quantile
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub

pytestmark = pytest.mark.integration

BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
# 100 requests: 90 fast, 9 slower, 1 very slow; 5 of them fail
LATENCIES = [0.004] * 40 + [0.02] * 50 + [0.3] * 9 + [0.8]
EXPECTED_P99 = bucket_quantile(
    0.99,
    [*BOUNDS, math.inf],
    [sum(1 for v in LATENCIES if v <= b) for b in [*BOUNDS, math.inf]],
).value


def config_text(port: int) -> str:
    return f"""
otlp: {{http: "127.0.0.1:{port}", grpc: ""}}
refresh: 1s
rate_window: 10s
services:
  - name: checkout
    otlp: {{service_name: checkout-svc}}
"""


def checkout_pusher(port: int, every: float = 0.5) -> SdkPusher:
    """A real OTel SDK app pushing `LATENCIES` once per `every` seconds (delta temporality)."""

    def observe(hist: HistogramInstrument) -> None:
        for i, v in enumerate(LATENCIES):
            hist.record(v, {"http.response.status_code": 500 if i % 20 == 0 else 200})

    return SdkPusher(port, "checkout-svc", BOUNDS, observe, every)


async def test_snapshot_waits_for_pushes(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = parse_config(config_text(0))  # the receiver reports the port the OS gave
    snapshot = asyncio.create_task(take_snapshot(cfg, wait=2.5))
    with checkout_pusher(await reported_port(capsys)) as pusher:
        doc = await snapshot
    assert pusher.pushes >= 2
    (row,) = doc["services"]
    assert row["name"] == "checkout" and row["source"] == "otlp"
    assert row["p99"] == EXPECTED_P99  # every push has the same distribution
    assert row["p99_saturated"] is False
    assert 0 < row["p50"] <= row["p95"] <= row["p99"]
    assert row["qps"] > 0
    assert row["error_ratio"] == pytest.approx(0.05)


async def test_snapshot_with_no_pushes_gives_nulls() -> None:
    cfg = parse_config(config_text(0))  # nobody pushes: any port
    doc = await take_snapshot(cfg, wait=0.3)
    (row,) = doc["services"]
    assert row == {
        "name": "checkout",
        "source": "otlp",
        "p50": None,
        "p95": None,
        "p99": None,
        "qps": None,
        "error_ratio": None,
        "p99_saturated": False,
    }


def test_snapshot_port_taken_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "w.yaml"
        path.write_text(config_text(port))
        code = main(["snapshot", "-c", str(path), "--wait", "1s"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == f"warroom: otlp/http: cannot listen on 127.0.0.1:{port}: address in use\n"


def test_record_otlp_service(tmp_path: Path) -> None:
    path, out = tmp_path / "w.yaml", tmp_path / "rec.jsonl"
    path.write_text(config_text(0))
    args = ["record", "-c", str(path), "--duration", "3500ms", "--out", str(out)]
    with Listening(*args) as run, checkout_pusher(run.port, every=0.3):
        r = run.result()
    assert r.returncode == 0, r.stderr
    listening, recorded = r.stderr.splitlines()  # where it listened, then what it wrote
    assert listening == f"warroom: otlp/http: listening on 127.0.0.1:{run.port}"
    assert recorded.startswith("warroom: recorded ")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    p99 = [e for e in lines if e["type"] == "point" and e["signal"] == "p99"]
    assert len(p99) >= 2
    assert all(e["service"] == "checkout" and e["value"] == EXPECTED_P99 for e in p99)
    signals = {e["signal"] for e in lines if e["type"] == "point"}
    assert signals == {"p50", "p95", "p99", "qps", "error_ratio"}
    ts = [e["t"] for e in p99]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)


def test_asyncio_is_not_left_running() -> None:
    # take_snapshot closes everything it opened: a second loop can bind the same port.
    port = free_port()
    cfg = parse_config(config_text(port))
    asyncio.run(take_snapshot(cfg, wait=0.2))
    asyncio.run(take_snapshot(cfg, wait=0.2))


async def test_hub_runs_prometheus_and_otlp_together(prometheus: str) -> None:
    cfg = parse_config(
        config_text(0).replace(  # the receiver binds a port the kernel picks and reports it
            "services:",
            f'prometheus: {{url: "{prometheus}"}}\nservices:\n'
            "  - name: lat\n    prometheus: {latency_histogram: wr_lat}",
        )
    )
    store = MetricStore()
    events: list[dict[str, Any]] = []
    hub = Hub(cfg, store, event_sink=lambda e: events.extend(record_lines(e)), emit_points=True)
    async with hub:
        _, port = hub.receivers[0].bound_address
        pusher = checkout_pusher(port, every=0.3).__enter__()
        try:
            await eventually(
                lambda: store.latest("checkout", "p99") is not None, "checkout's P99", timeout=10
            )
            statuses = {s.name: s for s in hub.statuses()}
        finally:
            # Stop pushing while the receiver still answers, off the loop that serves it.
            await asyncio.to_thread(pusher.__exit__, None, None, None)
    assert list(statuses) == ["prometheus", "otlp/http"]
    assert statuses["prometheus"].state == "up"
    assert statuses["otlp/http"].detail == f"127.0.0.1:{port}"
    assert store.services["lat"].source == "prometheus"
    assert store.services["checkout"].source == "otlp"
    p99 = store.latest("checkout", "p99")
    assert p99 is not None and p99[1] == EXPECTED_P99
    sources = {e["service"] for e in events if e["type"] == "point"}
    assert sources == {"lat", "checkout"}
