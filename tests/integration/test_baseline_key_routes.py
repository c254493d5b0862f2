"""`b` on the real app keeps the routes, as `warroom baseline refresh` does: the OpenTelemetry
SDK pushes latencies by `http.route` to the app's own OTLP receiver; the refresh dialog says
how many routes the new baseline holds, and the saved baseline has each route's samples,
exactly histogram_quantile over that route's buckets."""

from __future__ import annotations

import asyncio
import functools
import math
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpExporter,
)
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from tests.waits import armed_dialog, until
from tui.config import parse_config
from tui.core.baseline import BaselineStore
from tui.core.metrics.quantile import bucket_quantile

pytestmark = pytest.mark.integration

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CART = [0.004] * 90 + [0.3] * 10
PAY = [0.02] * 40 + [0.4] * 10


def p99(values: list[float]) -> float:
    bounds = [*BOUNDS, math.inf]
    return bucket_quantile(0.99, bounds, [float(sum(v <= b for v in values)) for b in bounds]).value


def _ticks(app: object) -> int:
    """How many ticks of /api/pay's route row the app's OTLP sink holds."""
    breakdown = app.hub.sink.route_breakdown("shop")  # type: ignore[attr-defined]
    history = breakdown.history.get("/api/pay") if breakdown is not None else None
    return history.n if history is not None else 0


def _ticked_past(app: object, n: int) -> bool:
    return _ticks(app) > n


async def test_b_keeps_the_otlp_routes_of_the_window(tmp_path: Path) -> None:
    from tui.ui.app import WarroomApp
    from tui.ui.screens.confirm import ConfirmActionScreen

    cfg = parse_config(
        'otlp: {http: "127.0.0.1:0", grpc: ""}\nrefresh: 1s\nrate_window: 1s\nwindow: 60s\n'
        f"baseline: {{dir: {tmp_path / 'bl'}}}\naudit: {{path: {tmp_path / 'audit.jsonl'}}}\n"
        "services:\n  - name: shop\n"
    )
    app = WarroomApp(cfg)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.hub is not None and bool(app.hub.receivers), "receivers")
        await until(pilot, lambda: app.hub.receivers[0].status.state == "listening", "listening")
        host, port = app.hub.receivers[0].bound_address
        exporter = HttpExporter(
            endpoint=f"http://{host}:{port}/v1/metrics",
            preferred_temporality={Histogram: AggregationTemporality.DELTA},
        )
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        meters = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": "shop"})
        )
        hist = meters.get_meter("ui").create_histogram(
            "http.server.request.duration", unit="s", explicit_bucket_boundaries_advisory=BOUNDS
        )
        try:
            for push in range(3):  # three ticks with requests: three samples per route
                for v in CART:
                    hist.record(v, {"http.route": "/api/cart"})
                for v in PAY:
                    hist.record(v, {"http.route": "/api/pay"})
                assert await asyncio.to_thread(meters.force_flush, 10_000)
                await until(
                    pilot, functools.partial(_ticked_past, app, push), f"a tick after {push}"
                )
        finally:
            await asyncio.to_thread(meters.shutdown)
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen), "the dialog")
        extra = str(app.screen.query_one("#extra").render())
        assert "2 routes" in extra, extra
        await armed_dialog(pilot)  # the dialog ignores keys for its first moment
        await pilot.press("y")
        store = BaselineStore(cfg.baseline.dir)
        await until(pilot, lambda: store.current("shop") is not None, "the saved baseline")
    snap = store.current("shop")
    assert snap is not None and snap.route_label == "http.route"
    assert set(snap.routes) == {"/api/cart", "/api/pay"}
    assert snap.other_routes == 0
    for route, values in (("/api/cart", CART), ("/api/pay", PAY)):
        samples = snap.routes[route]["p99"]
        assert len(samples) >= 3 and set(samples) == {p99(values)}, (route, samples)
    assert set(snap.routes["/api/cart"]["error_ratio"]) == {0.0}
