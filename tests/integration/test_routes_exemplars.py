"""Exemplars from Prometheus in the route view: the real Go service attaches each request's
trace id (client_golang's ObserveWithExemplar through promhttp, served as OpenMetrics), a real
Prometheus with exemplar storage scrapes it, and the route view names the trace of the slowest
recent request on its route. A Prometheus without the feature flag, and one whose exemplar API
answers 404, leave the view working and say why once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.gosvc import GoService, start_gosvc
from tests.servers import FaultyPrometheus, start_prometheus, wait_for_scrape
from tui.config import parse_config
from tui.core.metrics.store import MetricStore
from tui.sources.exemplars import NO_EXEMPLARS, NO_TRACE_LABEL
from tui.sources.prometheus import PrometheusSource
from tui.sources.routes import RoutesPoller, RouteView

pytestmark = pytest.mark.integration

SLOW_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@dataclass
class Stack:
    svc: GoService
    with_exemplars: str
    without: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    d = tmp_path_factory.mktemp("exemplars")
    (d / "a").mkdir()
    (d / "b").mkdir()
    mix = "/api/cart=5,/api/order/create=3"  # /api/pay only gets this test's requests
    with (
        start_gosvc(d, "-exemplars", "-load", "40", "-load-mix", mix) as svc,
        start_prometheus(
            d / "a", [svc.target], extra_args=["--enable-feature=exemplar-storage"]
        ) as with_exemplars,
        start_prometheus(d / "b", [svc.target]) as without,
    ):
        for prom in (with_exemplars, without):
            wait_for_scrape(
                prom,
                'count_over_time(http_request_duration_seconds_bucket{route="/api/cart",'
                'le="+Inf"}[10s]) >= 3',
                timeout=30,
            )
        yield Stack(svc, with_exemplars, without)


def _config(prom: str, svc: GoService) -> str:
    selector = f'http_request_duration_seconds{{instance="{svc.target}"}}'
    return (
        f'prometheus:\n  url: "{prom}"\notlp: {{http: "", grpc: ""}}\n'
        "refresh: 1s\nrate_window: 5s\nwindow: 60s\n"
        "trace_url: 'https://tempo.example/trace/{trace_id}'\nservices:\n"
        f"  - name: shop\n    prometheus:\n      latency_histogram: '{selector}'\n"
    )


def _pay(svc: GoService, trace: str | None = None) -> str:
    headers = {"traceparent": f"00-{trace}-00f067aa0ba902b7-01"} if trace else {}
    r = httpx.post(f"{svc.url}/api/pay", headers=headers, timeout=10)
    return r.headers["X-Trace-Id"]


async def _views(prom: str, svc: GoService, done: object, timeout: float = 30) -> RouteView:
    """Refresh one poller (as the open screen does) until `done(view)`, sending a fast
    /api/pay request each round so the route stays in the rate window."""
    source = PrometheusSource(parse_config(_config(prom, svc)), MetricStore())
    poller = RoutesPoller(source, "shop")
    try:
        deadline = time.monotonic() + timeout
        while True:
            await asyncio.to_thread(_pay, svc)
            view = await poller.refresh()
            if done(view):  # type: ignore[operator]
                return view
            assert time.monotonic() < deadline, (view.exemplar_note, view.slowest, view.error)
            await asyncio.sleep(0.5)  # the next scrape
    finally:
        await source.aclose()


async def test_the_route_view_names_the_trace_of_the_slowest_request(stack: Stack) -> None:
    svc = stack.svc
    svc.control("/api/pay", latency_ms=5, jitter=0)
    try:
        svc.control("/api/pay", latency_ms=400)
        assert await asyncio.to_thread(_pay, svc, SLOW_TRACE) == SLOW_TRACE
        svc.control("/api/pay", latency_ms=5)

        def found(view: RouteView) -> bool:
            pay = view.slowest.get("/api/pay", [])
            return bool(pay) and pay[0].trace_id == SLOW_TRACE

        view = await _views(stack.with_exemplars, svc, found)
        slowest = view.slowest["/api/pay"][0]
        assert 0.4 <= slowest.value < 2.5 and slowest.route == "/api/pay"
        assert view.exemplar_note == ""
        # the other routes' exemplars are the load generator's own random trace ids
        assert all(e.route == "/api/cart" for e in view.slowest.get("/api/cart", []))
    finally:
        svc.control("/api/pay", latency_ms=16, jitter=0.35)


async def test_without_exemplar_storage_the_view_says_why_and_keeps_working(
    stack: Stack,
) -> None:
    view = await _views(stack.without, stack.svc, lambda v: bool(v.rows))
    assert view.error is None and view.exemplar_note == NO_EXEMPLARS
    assert not any(view.slowest.values())


async def test_a_404_from_the_exemplar_api_is_one_line_and_the_rows_stay(stack: Stack) -> None:
    with FaultyPrometheus(stack.with_exemplars, mode="no-exemplars") as proxy:
        view = await _views(proxy.url, stack.svc, lambda v: bool(v.rows))
    assert view.error is None and view.rows
    assert view.exemplar_note.startswith("exemplars: HTTP 404"), view.exemplar_note


async def test_the_hub_asks_for_a_services_exemplars_while_it_spikes(stack: Stack) -> None:
    """Only a spiking service's exemplars are asked for (the Service tab's trace line)."""
    from tui.sources.hub import Hub

    store = MetricStore()
    hub = Hub(parse_config(_config(stack.with_exemplars, stack.svc)), store, start_otlp=False)
    try:
        now = time.time()
        await hub.spike_exemplars(now)
        assert store.exemplars.count("shop") == 0  # calm: nothing asked
        for i, p99 in enumerate([0.05] * 12 + [0.5] * 4):  # the detector's own API
            hub.spikes.observe("shop", now - 16 + i, p99)
        assert hub.spikes.state("shop") == "SUSTAINED"
        await hub.spike_exemplars(now)
        slowest = store.exemplars.slowest("shop", now - 900, n=1)
        assert slowest and slowest[0].route in ("/api/cart", "/api/order/create", "/api/pay")
    finally:
        await hub.stop()


async def test_malformed_or_missing_trace_ids_and_a_bad_shape_are_one_line_each(
    stack: Stack,
) -> None:
    """A backend answering exemplars without usable trace ids, or data of the wrong shape:
    nothing is shown as a trace, the note says why, the rows stay."""
    with FaultyPrometheus(stack.with_exemplars, mode="bad-exemplars") as proxy:
        view = await _views(proxy.url, stack.svc, lambda v: bool(v.rows))
        assert view.exemplar_note == NO_TRACE_LABEL and not any(view.slowest.values())
        proxy.mode = "exemplar-shape"
        view = await _views(proxy.url, stack.svc, lambda v: bool(v.rows))
    assert view.error is None and view.rows
    assert view.exemplar_note.startswith("exemplars: unexpected answer shape"), view.exemplar_note


async def test_malformed_exemplar_values_are_skipped_and_counted(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A backend answering exemplars with a non-numeric value, a missing timestamp, a NaN
    value and a 20-digit trace id beside two good ones: the good ones are kept, the four
    others skipped, counted and said in one warning; nothing raises."""
    from tests.servers import GOOD_TRACE
    from tui.sources.exemplars import PrometheusExemplars

    with FaultyPrometheus(stack.with_exemplars, mode="bad-exemplar-values") as proxy:
        store = MetricStore()
        source = PrometheusSource(parse_config(_config(proxy.url, stack.svc)), store)
        try:
            exemplars = PrometheusExemplars(source, store)
            with caplog.at_level("WARNING", logger="tui.sources.exemplars"):
                kept = await exemplars.fetch("shop", time.time())
        finally:
            await source.aclose()
    assert kept == 2
    slowest = store.exemplars.slowest("shop", time.time() - 60, n=5)
    assert [(e.trace_id, e.value, e.route) for e in slowest] == [
        (GOOD_TRACE, 0.9, "/pay"),
        ("e" * 16, 0.5, "/pay"),
    ]
    assert store.exemplars.rejected == 4 and exemplars.skipped == {"shop": 4}
    assert "shop" not in store.exemplars.notes
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == (
        "shop: 4 of 6 exemplars skipped: malformed value, time or trace id (4 so far)"
    )
