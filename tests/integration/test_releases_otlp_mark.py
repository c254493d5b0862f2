"""Releases from the real OTel SDK's resource `service.version`, and from `warroom mark`
through the real CLI, each read by the Hub as the dashboard runs it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from tui.config import AuditConfig, Config, Duration, OTLPConfig
from tui.core.events import record_lines
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub
from tui.sources.otlp_http import OTLPHttpReceiver

pytestmark = pytest.mark.integration

WARROOM = Path(sys.executable).parent / "warroom"


async def _push(endpoint: str, version: str, n: int = 200) -> None:
    """One SDK 'process' of `pay` at `version`: record, flush, shut down."""
    exporter = OTLPMetricExporter(endpoint=endpoint)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": "pay", "service.version": version}),
    )
    h = provider.get_meter("releases").create_histogram("http.server.request.duration", unit="s")
    for i in range(n):
        h.record(0.004 if i % 100 else 0.3)
    assert await asyncio.to_thread(provider.force_flush, 10_000)
    await asyncio.to_thread(provider.shutdown)


async def test_sdk_service_version_change_is_one_release(tmp_path: Path) -> None:
    cfg = Config(
        otlp=OTLPConfig(http="127.0.0.1:0", grpc=""),
        refresh=Duration(1),
        audit=AuditConfig(path=str(tmp_path / "audit.jsonl")),
    )
    events: list[dict[str, Any]] = []
    hub = Hub(cfg, MetricStore(), event_sink=lambda e: events.extend(record_lines(e)))
    await hub.start(loops=False)
    try:
        http = next(r for r in hub.receivers if isinstance(r, OTLPHttpReceiver))
        host, port = http.bound_address
        endpoint = f"http://{host}:{port}/v1/metrics"
        t = time.time()
        await _push(endpoint, "2.2.9")
        for i in range(5):
            await hub.refresh_once(t + i)
        await _push(endpoint, "2.3.0")
        for i in range(5, 12):
            await hub.refresh_once(t + i)
    finally:
        await hub.stop()
    releases = [e for e in events if e["type"] == "release"]
    assert [(r["service"], r["version"], r["previous"], r["source"]) for r in releases] == [
        ("pay", "2.3.0", "2.2.9", "otlp")
    ]
    assert releases[0]["t"] == t + 5


def test_mark_through_the_cli_reaches_the_hub(tmp_path: Path) -> None:
    state = tmp_path / "state"
    conf = tmp_path / "warroom.yaml"
    conf.write_text(f"otlp: {{http: '', grpc: ''}}\naudit: {{path: '{state / 'audit.jsonl'}'}}\n")
    done = subprocess.run(
        [str(WARROOM), "mark", "checkout", "v1.4.3", "--revision", "9b7d013", "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "marked checkout v1.4.3 (9b7d013)" in done.stdout
    (line,) = (state / "releases.jsonl").read_text().splitlines()
    rec = json.loads(line)
    assert (rec["type"], rec["service"], rec["version"], rec["source"]) == (
        "release",
        "checkout",
        "v1.4.3",
        "mark",
    )
    assert abs(rec["t"] - time.time()) < 60
    from tui.config import load_config

    events: list[dict[str, Any]] = []
    hub = Hub(
        load_config(str(conf)), MetricStore(), event_sink=lambda e: events.extend(record_lines(e))
    )
    asyncio.run(hub.refresh_once(rec["t"] + 1))
    assert [(e["type"], e["version"]) for e in events] == [("release", "v1.4.3")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mark", "checkout", "v1 4"], "mark: version 'v1 4' is not 1-253 of"),
        (["mark", "check;out", "v1"], "mark: service 'check;out' is not"),
        (["mark", "checkout", "v1", "--at", "soon"], "--at 'soon': expected a duration"),
        (["mark", "checkout", "v1", "--file", "."], "is a directory, not a releases file"),
    ],
)
def test_mark_refuses_bad_input_in_one_line(argv: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(WARROOM), *argv], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("warroom: ")
    assert message in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())


async def test_sdk_release_verdict_names_the_slowed_route(tmp_path: Path) -> None:
    """Two SDK 'processes' of `pay` (2.2.9 then 2.3.0, as a restart at a new version is), each
    pushing /fast and /slow by `http.route`; 2.3.0 slows /slow only. One window after the
    release, its line names /slow (the sink's per-route history), not /fast."""
    import random

    cfg = Config(
        otlp=OTLPConfig(http="127.0.0.1:0", grpc=""),
        refresh=Duration(1),
        rate_window=Duration(1),
        window=Duration(20),
        audit=AuditConfig(path=str(tmp_path / "audit.jsonl")),
    )
    events: list[dict[str, Any]] = []
    hub = Hub(cfg, MetricStore(), event_sink=lambda e: events.extend(record_lines(e)))
    await hub.start(loops=False)
    rng = random.Random(7)
    t = float(int(time.time()))
    try:
        http = next(r for r in hub.receivers if isinstance(r, OTLPHttpReceiver))
        host, port = http.bound_address
        endpoint = f"http://{host}:{port}/v1/metrics"
        for version, ticks, slow_ms in (("2.2.9", range(15), 4.0), ("2.3.0", range(15, 30), 300.0)):
            provider = MeterProvider(
                metric_readers=[
                    PeriodicExportingMetricReader(
                        OTLPMetricExporter(endpoint=endpoint), export_interval_millis=3_600_000
                    )
                ],
                resource=Resource.create({"service.name": "pay", "service.version": version}),
            )
            h = provider.get_meter("r").create_histogram("http.server.request.duration", unit="ms")
            for i in ticks:
                for _ in range(rng.randint(80, 120)):
                    h.record(rng.uniform(2.0, 6.0), {"http.route": "/fast"})
                    h.record(slow_ms * rng.uniform(0.6, 1.4), {"http.route": "/slow"})
                assert await asyncio.to_thread(provider.force_flush, 10_000)
                await hub.refresh_once(t + i)
            await asyncio.to_thread(provider.shutdown)
    finally:
        await hub.stop()
    (release,) = [e for e in events if e["type"] == "release"]
    assert (release["version"], release["t"]) == ("2.3.0", t + 15)
    (verdict,) = [e for e in events if e["type"] == "release_compare"]
    assert verdict["route_label"] == "http.route"
    by_route = {(r["route"], r["unit"]): r["verdict"] for r in verdict["routes"]}
    assert by_route[("/slow", "p99")] == "REGRESSION", verdict["routes"]
    assert by_route.get(("/fast", "p99")) != "REGRESSION", verdict["routes"]
    assert "(REGRESSION) on /slow" in verdict["message"] and "on /fast" not in verdict["message"]
