"""End to end through the Hub: both embedded receivers on free ports, the real SDK pushing over
OTLP/HTTP and OTLP/gRPC, `refresh_once` -> store points, record-style events and statuses."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpExporter,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from tui.config import Config, Duration, OTLPConfig
from tui.core.events import record_lines
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub
from tui.sources.otlp_grpc import OTLPGrpcReceiver
from tui.sources.otlp_http import OTLPHttpReceiver

pytestmark = pytest.mark.integration


async def test_hub_runs_both_receivers_and_stores_sdk_pushes() -> None:
    cfg = Config(otlp=OTLPConfig(http="127.0.0.1:0", grpc="127.0.0.1:0"), refresh=Duration(1))
    store = MetricStore()
    events: list[dict[str, Any]] = []
    hub = Hub(cfg, store, event_sink=lambda e: events.extend(record_lines(e)), emit_points=True)
    await hub.start()
    providers: list[MeterProvider] = []
    try:
        http = next(r for r in hub.receivers if isinstance(r, OTLPHttpReceiver))
        grpc_r = next(r for r in hub.receivers if isinstance(r, OTLPGrpcReceiver))
        h_host, h_port = http.bound_address
        g_host, g_port = grpc_r.bound_address
        for service, exporter in (
            ("web", HttpExporter(endpoint=f"http://{h_host}:{h_port}/v1/metrics")),
            ("backend", GrpcExporter(endpoint=f"http://{g_host}:{g_port}", insecure=True)),
        ):
            reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
            p = MeterProvider(
                metric_readers=[reader], resource=Resource.create({"service.name": service})
            )
            h = p.get_meter("e2e").create_histogram("http.server.request.duration", unit="s")
            for i in range(300):  # SDK default buckets are in ms-sized numbers; unit says s
                h.record(
                    0.004 if i % 100 else 0.3,
                    {"http.response.status_code": 503 if i % 50 == 0 else 200},
                )
            providers.append(p)
        for p in providers:
            assert await asyncio.to_thread(p.force_flush, 10_000)
        await hub.refresh_once(time.time())
        assert set(store.names()) == {"web", "backend"}
        for name in ("web", "backend"):
            info = store.services[name]
            assert info.source == "otlp" and info.observations == 300
            p99 = store.latest(name, "p99")
            assert p99 is not None and p99[1] > 0.004
            er = store.latest(name, "error_ratio")
            assert er is not None and er[1] == pytest.approx(6 / 300)
        kinds = {(e["service"], e["signal"]) for e in events if e.get("type") == "point"}
        assert ("web", "p99") in kinds and ("backend", "qps") in kinds
        states = {s.name: s for s in hub.statuses()}
        assert states["otlp/http"].state == "listening"
        assert states["otlp/grpc"].counters["accepted"] == 2  # status 200 and 503 series
        assert states["otlp/http"].detail == f"{h_host}:{h_port}"
    finally:
        for p in providers:
            await asyncio.to_thread(p.shutdown)
        await hub.stop()
