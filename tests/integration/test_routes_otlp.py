"""The route view of OTLP services, end to end: the real OpenTelemetry SDK (metrics and traces)
pushes to warroom's real OTLP/HTTP receiver through the Hub, and the view's per-route numbers,
spike states and exemplar trace ids are checked against what was recorded. Hostile pushes
(10,000 routes, malformed trace ids) go through the same receiver as raw protobuf.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpExporter,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from tui.config import Config, DetectorConfig, Duration, OTLPConfig
from tui.core.metrics.otlp_routes import HISTORY_ROUTES
from tui.core.metrics.quantile import bucket_quantile
from tui.core.metrics.routes import OTHER, TOP_ROUTES
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub
from tui.sources.otlp_routes import OTLPRoutesPoller

pytestmark = pytest.mark.integration

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
T0 = float(int(time.time()))  # the ticks are told their time, from now on
REFRESH = 1.0


@dataclass
class Pusher:
    hub: Hub
    store: MetricStore
    meters: MeterProvider
    tracer: object
    histogram: object
    url: str

    def record(self, value: float, route: str, code: int = 200) -> str:
        """One request inside a sampled span (the SDK keeps exemplars from those); its trace."""
        with self.tracer.start_as_current_span("request") as span:  # type: ignore[attr-defined]
            attrs = {"http.route": route, "http.response.status_code": code}
            self.histogram.record(value, attrs)  # type: ignore[attr-defined]
            return format(span.get_span_context().trace_id, "032x")

    async def push(self, now: float) -> None:
        assert await asyncio.to_thread(self.meters.force_flush, 10_000)
        await self.hub.refresh_once(now)


@pytest.fixture
async def pusher() -> AsyncIterator[Pusher]:
    cfg = Config(
        otlp=OTLPConfig(http="127.0.0.1:0", grpc=""),
        refresh=Duration(REFRESH),
        rate_window=Duration(REFRESH),
        window=Duration(60),
        detector=DetectorConfig(min_observations=1),
    )
    store = MetricStore()
    hub = Hub(cfg, store)
    await hub.start(loops=False)
    host, port = hub.receivers[0].bound_address
    url = f"http://{host}:{port}/v1/metrics"
    exporter = HttpExporter(
        endpoint=url, preferred_temporality={Histogram: AggregationTemporality.DELTA}
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    meters = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "shop"})
    )
    histogram = meters.get_meter("test").create_histogram(
        "http.server.request.duration", unit="s", explicit_bucket_boundaries_advisory=BOUNDS
    )
    tracer = TracerProvider().get_tracer("test")
    try:
        yield Pusher(hub, store, meters, tracer, histogram, url)
    finally:
        await asyncio.to_thread(meters.shutdown)
        await hub.stop()


def _p99(values: list[float]) -> float:
    """What histogram_quantile answers for these observations in BOUNDS."""
    bounds = [*BOUNDS, math.inf]
    cum = [float(sum(1 for v in values if v <= b)) for b in bounds]
    return bucket_quantile(0.99, bounds, cum).value


async def test_routes_of_an_sdk_service_and_the_trace_of_its_slowest_request(
    pusher: Pusher,
) -> None:
    pay = [0.02] * 40 + [0.3] * 9
    cart = [0.004] * 100
    for v in cart:
        pusher.record(v, "/api/cart")
    for i, v in enumerate(pay):
        pusher.record(v, "/api/pay", 500 if i < 5 else 200)
    slow_trace = pusher.record(0.9, "/api/pay")
    pay.append(0.9)
    await pusher.push(T0)
    view = await OTLPRoutesPoller(pusher.hub.sink, "shop").refresh(T0)
    assert view.error is None and view.label == "http.route"
    assert view.routes == 2 and view.other == 0
    rows = {r.route: r for r in view.rows}
    assert set(rows) == {"/api/cart", "/api/pay"}
    assert rows["/api/pay"].last("p99") == _p99(pay)
    assert rows["/api/cart"].last("p99") == _p99(cart)
    assert rows["/api/pay"].last("error_ratio") == pytest.approx(5 / 50)
    total = pusher.store.latest("shop", "qps")
    assert total is not None
    assert sum(r.last("qps") or 0 for r in view.rows) == pytest.approx(total[1])
    slowest = view.slowest["/api/pay"]
    assert slowest and slowest[0].trace_id == slow_trace and slowest[0].value == 0.9
    assert all(e.route == "/api/cart" for e in view.slowest["/api/cart"])
    # a tick without new pushes, inside the rate window: the rows are still there
    await pusher.hub.refresh_once(T0 + 0.5)
    again = await OTLPRoutesPoller(pusher.hub.sink, "shop").refresh(T0 + 0.5)
    assert {r.route: r.last("p99") for r in again.rows} == {
        "/api/pay": _p99(pay),
        "/api/cart": _p99(cart),
    }


async def test_a_route_that_slows_down_spikes_on_its_own_row(pusher: Pusher) -> None:
    """Ticks at a told time: twelve calm ones, then /api/pay ten times slower for four."""
    poller = OTLPRoutesPoller(pusher.hub.sink, "shop")
    for i in range(16):
        slow = i >= 12
        for _ in range(50):
            pusher.record(0.2 if slow else 0.02, "/api/pay")
            pusher.record(0.004, "/api/cart")
        await pusher.push(T0 + i * REFRESH)
        view = await poller.refresh(T0 + i * REFRESH)
    states = {r.route: r.state for r in view.rows}
    assert states == {"/api/pay": "SUSTAINED", "/api/cart": "OK"}, states
    assert view.rows[0].route == "/api/pay"  # it explains the regression


def _request(routes: int, step: int, exemplar_ids: list[bytes] | None = None) -> bytes:
    points = []
    for i in range(routes):
        n = (step + 1) * (1000 if i < 5 else 1)
        exemplars = []
        if i == 0 and exemplar_ids:
            exemplars = [
                metrics_pb2.Exemplar(
                    time_unix_nano=int((T0 + step) * 1e9) + k,
                    as_double=0.5 + k,
                    trace_id=tid,
                    span_id=b"\x01" * 8,
                )
                for k, tid in enumerate(exemplar_ids)
            ]
        points.append(
            metrics_pb2.HistogramDataPoint(
                attributes=[KeyValue(key="http.route", value=AnyValue(string_value=f"/r/{i}"))],
                start_time_unix_nano=int((T0 - 10) * 1e9),
                time_unix_nano=int((T0 + step) * 1e9),
                count=n,
                bucket_counts=[n, 0],
                explicit_bounds=[0.1],
                exemplars=exemplars,
            )
        )
    metric = metrics_pb2.Metric(
        name="http.server.request.duration",
        unit="s",
        histogram=metrics_pb2.Histogram(
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_DELTA, data_points=points
        ),
    )
    service = KeyValue(key="service.name", value=AnyValue(string_value="many"))
    rm = metrics_pb2.ResourceMetrics(
        resource=resource_pb2.Resource(attributes=[service]),
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[metric])],
    )
    body: bytes = ExportMetricsServiceRequest(resource_metrics=[rm]).SerializeToString()
    return body


async def _post(url: str, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            url, content=body, headers={"Content-Type": "application/x-protobuf"}
        )


async def test_ten_thousand_routes_stay_a_bounded_top_and_one_other_row() -> None:
    cfg = Config(
        otlp=OTLPConfig(http="127.0.0.1:0", grpc=""),
        refresh=Duration(REFRESH),
        rate_window=Duration(REFRESH),
        max_series=20_000,
    )
    store = MetricStore(max_series=20_000)
    hub = Hub(cfg, store)
    await hub.start(loops=False)
    try:
        host, port = hub.receivers[0].bound_address
        url = f"http://{host}:{port}/v1/metrics"
        for step in range(3):
            r = await _post(url, _request(10_000, step))
            assert r.status_code == 200, r.text
            await hub.refresh_once(T0 + step)
        breakdown = hub.sink.route_breakdown("many")
        view = await OTLPRoutesPoller(hub.sink, "many").refresh(T0 + 2)
        assert view.routes == 10_000 and view.other == 10_000 - TOP_ROUTES
        assert len(view.rows) == TOP_ROUTES + 1
        other = next(r for r in view.rows if r.route == OTHER)
        assert other.routes == 10_000 - TOP_ROUTES
        assert {f"/r/{i}" for i in range(5)} <= {r.route for r in view.rows}
        total = store.latest("many", "qps")
        assert total is not None
        assert sum(r.last("qps") or 0 for r in view.rows) == pytest.approx(total[1])
        assert len(breakdown.history) <= HISTORY_ROUTES  # history only for the shown rows
    finally:
        await hub.stop()


async def test_malformed_trace_ids_are_refused_and_counted(pusher: Pusher) -> None:
    good = bytes(range(1, 17))
    ids = [b"\x01\x02\x03", bytes(16), good, b"\xff" * 20]  # short, all zero, good, long
    r = await _post(pusher.url.replace("/v1/metrics", "/v1/metrics"), _request(1, 0, ids))
    assert r.status_code == 200, r.text
    await pusher.hub.refresh_once(T0)
    log = pusher.store.exemplars
    kept = log.slowest("many", 0, n=10)
    assert [e.trace_id for e in kept] == [good.hex()]
    assert log.rejected == 3
    view = await OTLPRoutesPoller(pusher.hub.sink, "many").refresh(T0)
    assert [e.trace_id for e in view.slowest["/r/0"]] == [good.hex()]
