"""The real app on OTLP: the OpenTelemetry SDK (metrics and traces) pushes to the app's own
receiver; the Service tab names the slowest request's trace and `y` copies it; Enter opens the
service's routes by http.route, the selected row lists its slowest requests with the config's
trace_url, and `y` there copies the row's slowest trace id. At 80x24, in the bastion theme.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpExporter,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from tests.waits import until
from tui.config import parse_config

pytestmark = pytest.mark.integration

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONFIG = """\
otlp: {http: "127.0.0.1:0", grpc: ""}
refresh: 1s
rate_window: 5s
window: 60s
theme: bastion
trace_url: "https://tempo.example/trace/{trace_id}"
services:
  - name: shop
"""


def _lines(screen: Any) -> list[str]:
    return [s.text for s in screen._compositor.render_strips()]


async def test_trace_ids_in_the_service_tab_and_the_route_view_and_y_copies_them() -> None:
    from tui.ui.app import WarroomApp
    from tui.ui.screens.dashboard import ServiceDetail
    from tui.ui.screens.help import HelpScreen
    from tui.ui.screens.routes import RoutesScreen

    app = WarroomApp(parse_config(CONFIG))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.hub is not None and bool(app.hub.receivers), "the receivers")
        hub = app.hub
        assert hub is not None
        await until(pilot, lambda: hub.receivers[0].status.state == "listening", "listening")
        host, port = hub.receivers[0].bound_address
        exporter = HttpExporter(endpoint=f"http://{host}:{port}/v1/metrics")
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        meters = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": "shop"})
        )
        hist = meters.get_meter("ui").create_histogram(
            "http.server.request.duration", unit="s", explicit_bucket_boundaries_advisory=BOUNDS
        )
        tracer = TracerProvider().get_tracer("ui")
        slow = ""
        try:
            for i in range(200):
                route = "/api/pay" if i % 4 == 0 else "/api/cart"
                with tracer.start_as_current_span("request") as span:
                    hist.record(0.8 if i == 100 else 0.02, {"http.route": route})
                    if i == 100:
                        slow = format(span.get_span_context().trace_id, "032x")
            assert await asyncio.to_thread(meters.force_flush, 10_000)
            table = app.dashboard.table
            detail = app.dashboard.query_one("#service-detail", ServiceDetail)
            await until(pilot, detail.slowest, "the slowest request", timeout=20)
            await until(pilot, lambda: any(slow in ln for ln in _lines(app.screen)), slow, 20)
            trace_line = next(ln for ln in _lines(app.screen) if slow in ln)
            assert trace_line.lstrip().startswith("trace") and "/api/pay" in trace_line
            await pilot.press("y")
            assert app.clipboard == slow
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            assert ("y", "Copy trace id") in help_screen.rows
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard, "the dashboard")
            table.focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, RoutesScreen), "the routes screen")
            screen = app.screen
            assert isinstance(screen, RoutesScreen)
            await until(
                pilot,
                lambda: (
                    screen.refreshes >= 1 and bool(screen.table.view and screen.table.view.rows)
                ),
                "the routes",
                timeout=20,
            )
            lines = _lines(screen)
            assert lines[0].startswith("Routes of shop by http.route: 2 routes")
            assert screen.table.view is not None
            rows = [r.route for r in screen.table.view.rows]
            while (selected := screen.table.selected) is None or selected.route != "/api/pay":
                await pilot.press("down")
                assert screen.table.cursor < len(rows)
            await pilot.pause()
            lines = _lines(screen)
            assert any(ln.startswith("▸ /api/pay: P99 ") for ln in lines), lines
            assert f"    800ms  trace {slow}" in [ln.rstrip() for ln in lines], lines
            assert f"  https://tempo.example/trace/{slow}" in [ln.rstrip() for ln in lines]
            await pilot.press("y")
            assert app.clipboard == slow
            assert "y" in lines[-1] and "Copy trace id" in lines[-1]
            assert all(len(ln) <= 80 for ln in lines) and len(lines) == 24
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard, "the dashboard")
        finally:
            await asyncio.to_thread(meters.shutdown)
