"""The status bar at 80 columns: what needs attention is shown first and whole.

A real Hub: a Prometheus URL on a loopback port nobody listens on (a real refused
connection), both real OTLP receivers listening on free ports, and a MetricStore whose series
cap really refused series. The bar must show the dropped count and the failing Prometheus
with its stale-since time in full, and both receivers in their short form.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

from tests.waits import until
from tui.config import (
    Config,
    Duration,
    OTLPConfig,
    PrometheusConfig,
    ServiceConfig,
    ServicePrometheus,
)
from tui.core.metrics.store import MetricStore
from tui.sources.base import SourceStatus
from tui.sources.hub import Hub
from tui.ui.app import WarroomApp
from tui.ui.widgets.status_bar import StatusBar

from ..servers import free_port


def bar_text(app: WarroomApp) -> str:
    return "".join(ch for ch, _ in app.screen.query_one(StatusBar)._lines[0])


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


async def test_80_columns_dead_prometheus_dropped_series_and_two_receivers() -> None:
    cfg = Config(
        prometheus=PrometheusConfig(url=f"http://127.0.0.1:{free_port()}", timeout=Duration(2)),
        otlp=OTLPConfig(http="127.0.0.1:0", grpc="127.0.0.1:0"),
        refresh=Duration(1),
        max_series=8,
        services=[
            ServiceConfig(
                name="checkout", prometheus=ServicePrometheus("http_request_duration_seconds")
            ),
        ],
    )
    store = MetricStore(max_series=cfg.max_series)
    now = time.time()
    accepted = [store.add(f"svc-{i}", "p99", now, 0.1) for i in range(7)]
    assert not all(accepted) and store.dropped > 0  # the cap really refused some
    hub = Hub(cfg, store)
    app = WarroomApp(cfg, store=store, hub=hub)
    async with app.run_test(size=(80, 24)) as pilot:
        assert hub.prometheus is not None
        prometheus = hub.prometheus

        def settled() -> bool:
            listening = [r for r in hub.receivers if r.status.state == "listening"]
            return prometheus.status.state == "down" and len(listening) == 2

        with contextlib.suppress(AssertionError):  # the asserts below say which did not
            await until(pilot, settled, "prometheus down and both receivers listening", 10)
        prom = hub.prometheus.status
        assert prom.state == "down" and prom.stale_since is not None, prom
        app.redraw_now()
        await pilot.pause()
        text = bar_text(app)
        assert len(text) == 80
        assert text.startswith(f"dropped {store.dropped} series · prom"), text
        assert f"down since {_clock(prom.stale_since)}" in text, text
        for receiver in hub.receivers:
            port = receiver.bound_address[1]
            assert f"otlp :{port} ok" in text, text
        # the same, as an operator sees it: the last line of the screen
        screen = [s.text.rstrip() for s in app.screen._compositor.render_strips()]
        assert text.rstrip() in screen


def _status(name: str, state: str, detail: str = "", **counters: float) -> SourceStatus:
    st = SourceStatus(name, "starting", counters=dict(counters))
    if state in ("up", "listening"):
        latency = 0.012 if name == "prometheus" else None
        st.ok(state, detail, latency=latency)  # type: ignore[arg-type]
    else:
        st.failed(detail, state)  # type: ignore[arg-type]
    return st


def _capped_store(dropped: int) -> MetricStore:
    """A store whose series cap really refused `dropped` services."""
    store = MetricStore(max_series=5)  # room for one service's five signals
    for i in range(dropped + 1):
        store.add(f"svc-{i}", "p99", time.time(), 0.1)
    assert store.dropped == dropped
    return store


async def _bar_after(
    app: WarroomApp, pilot: Any, statuses: list[SourceStatus], paused: bool = False
) -> str:
    """The status line once the app has drawn these statuses. They go through the app's
    own channel (`extra_statuses`), so its refresh timer redraws the same line."""
    app.extra_statuses, app.paused = statuses, paused
    app.redraw_now()
    await pilot.pause()
    return bar_text(app)


@pytest.mark.parametrize("width", [80, 100, 200])
async def test_priority_order_at_each_width(width: int) -> None:
    """The dropped count, failing sources and warnings come first and whole at any width;
    healthy ones fill what is left, in the long form when there is room."""
    prom = _status("prometheus", "down", "connect: connection refused")
    am = _status("alertmanager", "up")
    http = _status("otlp/http", "listening", "127.0.0.1:4318", points_per_s=35.0)
    grpc = _status("otlp/grpc", "listening", "127.0.0.1:4317", points_per_s=0.0, rejected=2.0)
    app = WarroomApp(Config(), store=_capped_store(12), start_sources=False)
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        text = await _bar_after(app, pilot, [am, http, prom, grpc], paused=True)
        since = _clock(prom.stale_since or 0)
        assert len(text) == width and not text.endswith("…"), text
        assert text.startswith(" PAUSED  dropped 12 series · prom"), text
        full = f"down (connect: connection refused) stale since {since}"
        assert f"down since {since}" in text or full in text, text
        assert "2 rejected" in text, text  # a warning is not healthy detail
        if width == 80:  # no room for healthy sources: the others in their short forms
            assert text.rstrip().endswith(f"prom down since {since} · otlp :4317 ok 2 rejected")
        if width == 100:  # a healthy source's state before a failure's wording
            assert "alerts ok" in text and "(connect" not in text, text
        if width == 200:  # room for everything in full
            assert text.rstrip() == (
                f" PAUSED  dropped 12 series · prometheus down (connect: connection refused) "
                f"stale since {since} · otlp/grpc 127.0.0.1:4317 0pt/s 2 rejected · "
                "alertmanager up · otlp/http 127.0.0.1:4318 35pt/s"
            )


async def test_80_columns_keep_the_receivers_next_to_a_failure() -> None:
    """Prometheus down: its facts in short words, so that the receivers still fit."""
    prom = _status("prometheus", "down", "HTTP 503")
    http = _status("otlp/http", "listening", "127.0.0.1:4318", points_per_s=35.0)
    grpc = _status("otlp/grpc", "listening", "127.0.0.1:4317", points_per_s=0.0)
    app = WarroomApp(Config(), store=_capped_store(0), start_sources=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = (await _bar_after(app, pilot, [prom, http, grpc])).rstrip()
        since = _clock(prom.stale_since or 0)
        assert text == (
            f"prom down since {since} (HTTP 503) · otlp :4318 ok · otlp :4317 ok · 0 dropped"
        )
        app.store = _capped_store(3)
        text = (await _bar_after(app, pilot, [prom, http, grpc])).rstrip()
        # no room for all: the reason gives way to the receivers' states
        assert text == (
            f"dropped 3 series · prom down since {since} · otlp :4318 ok · otlp :4317 ok"
        )


async def test_too_many_failures_are_cut_with_an_ellipsis_not_wrapped() -> None:
    statuses = [
        _status(f"prometheus-{i}", "down", "HTTP 503 Service Unavailable") for i in range(5)
    ]
    app = WarroomApp(Config(), store=_capped_store(1), start_sources=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = await _bar_after(app, pilot, statuses)
        assert len(text) == 80 and text.endswith("…"), text
        assert text.startswith("dropped 1 series · prometheus-0 down"), text


async def test_short_forms_do_not_flap_with_a_ticking_counter() -> None:
    """pt/s changes every refresh; the chosen forms stay put while the line still fits."""
    prom = _status("prometheus", "up")
    http = _status("otlp/http", "listening", "127.0.0.1:4318", points_per_s=35.0)
    app = WarroomApp(Config(), store=_capped_store(0), start_sources=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        seen = set()
        for rate in (35.0, 36.0, 41.0, 38.0):
            http.counters["points_per_s"] = rate
            text = await _bar_after(app, pilot, [prom, http])
            seen.add(text.replace(f"{rate:.0f}pt/s", "Npt/s").rstrip())
        assert seen == {"prometheus up 12ms · otlp/http 127.0.0.1:4318 Npt/s · dropped 0 series"}
