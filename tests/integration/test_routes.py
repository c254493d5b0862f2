"""The route view end to end: a real Prometheus scrapes the real Go service (several routes under
a `route` label) and a loopback exposition server with 10,000 routes; warroom's per-route
numbers are Prometheus' own answers, a slowed route ranks first, and 10,000 routes stay a
bounded top N plus one counted "other" row.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.gosvc import GoService, start_gosvc
from tests.servers import ExpositionServer, FaultyPrometheus, start_prometheus, wait_for_scrape
from tests.waits import until as _until
from tui.config import parse_config
from tui.core.metrics.routes import OTHER, TOP_ROUTES
from tui.core.metrics.store import MetricStore
from tui.sources.prometheus import PrometheusSource
from tui.sources.routes import RoutesPoller, RouteView

pytestmark = pytest.mark.integration

MANY = 10_000  # routes of the series-heavy histogram
HEAVY = 5  # of which this many carry most of the traffic
LES = ("0.1", "1", "+Inf")
ODD = ["/a b#~-&", '/q"uote', "/back\\slash", "/v1.2|x", "/(p)+[q]*?{2}^$"]


class ManyRoutes:
    """`wr_many` with MANY routes: route /r/i grows by (1000 if i < HEAVY else 1) per scrape,
    all under 0.1 s; `wr_plain` has no route label at all."""

    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def text(self) -> str:
        with self.lock:
            self.n += 1
            n = self.n
        out = ["# TYPE wr_many histogram"]
        for i in range(MANY):
            c = n * (1000 if i < HEAVY else 1)
            out += [f'wr_many_bucket{{route="/r/{i}",le="{le}"}} {c}' for le in LES]
            out.append(f'wr_many_count{{route="/r/{i}"}} {c}')
        out += ["# TYPE wr_odd histogram"]
        for i, route in enumerate(ODD):
            esc = route.replace("\\", "\\\\").replace('"', '\\"')
            out += [f'wr_odd_bucket{{route="{esc}",le="{le}"}} {n * (i + 1)}' for le in LES]
        out += ["# TYPE wr_plain histogram"]
        out += [f'wr_plain_bucket{{le="{le}"}} {n}' for le in LES]
        out.append(f"wr_plain_count {n}")
        return "\n".join(out) + "\n"


@dataclass
class Stack:
    svc: GoService
    prom: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    d = tmp_path_factory.mktemp("routes")
    many = ExpositionServer()
    many.set(ManyRoutes().text)
    with (
        many,
        start_gosvc(d, "-load", "200") as svc,
        start_prometheus(d, [svc.target, many.target]) as prom,
    ):
        wait_for_scrape(
            prom,
            'count_over_time(http_request_duration_seconds_bucket{route="/api/pay",'
            'le="+Inf"}[10s]) >= 4',
            timeout=30,
        )
        wait_for_scrape(prom, "count_over_time(wr_plain_count[10s]) >= 3", timeout=30)
        yield Stack(svc, prom)


def _config(s: Stack) -> str:
    gosvc = f'http_request_duration_seconds{{instance="{s.svc.target}"}}'
    return (
        f'prometheus:\n  url: "{s.prom}"\notlp: {{http: "", grpc: ""}}\n'
        "refresh: 1s\nrate_window: 5s\nwindow: 30s\nservices:\n"
        f"  - name: shop\n    prometheus:\n      latency_histogram: '{gosvc}'\n"
        "  - name: many\n    prometheus:\n      latency_histogram: wr_many\n"
        "  - name: odd\n    prometheus:\n      latency_histogram: wr_odd\n"
        "  - name: plain\n    prometheus:\n      latency_histogram: wr_plain\n"
        f"  - name: typo\n    prometheus:\n      latency_histogram: '{gosvc}'\n"
        "      route_label: endpoint\n"
    )


def _query(prom: str, promql: str, t: float) -> list[dict[str, Any]]:
    r = httpx.post(f"{prom}/api/v1/query", data={"query": promql, "time": f"{t:.3f}"}, timeout=10)
    r.raise_for_status()
    out: list[dict[str, Any]] = r.json()["data"]["result"]
    return out


async def _view(s: Stack, service: str, now: float | None = None) -> RouteView:
    source = PrometheusSource(parse_config(_config(s)), MetricStore())
    poller = RoutesPoller(source, service)
    try:
        return await poller.refresh(now)
    finally:
        await source.aclose()


async def test_route_p99_equals_prometheus(stack: Stack) -> None:
    now = math.floor(time.time()) - 1.0
    view = await _view(stack, "shop", now)
    assert view.error is None and view.label == "route"
    by_route = {r.route: r for r in view.rows}
    assert {"/api/cart", "/api/order/create", "/api/pay"} <= set(by_route)
    assert OTHER not in by_route and view.other == 0
    sel = f'http_request_duration_seconds_bucket{{instance="{stack.svc.target}"}}'
    for sig, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        theirs = _query(
            stack.prom, f"histogram_quantile({q}, sum by (route, le) (rate({sel}[5s])))", now
        )
        want = {r["metric"]["route"]: float(r["value"][1]) for r in theirs}
        for route in ("/api/cart", "/api/order/create", "/api/pay"):
            t, got = by_route[route].series[sig][-1]
            assert t == now and got == want[route], (route, sig)
    qps = _query(stack.prom, f'sum by (route) (rate({sel[:-1]},le="+Inf"}}[5s]))', now)
    want_qps = {r["metric"]["route"]: float(r["value"][1]) for r in qps}
    for route in ("/api/cart", "/api/pay"):
        assert by_route[route].series["qps"][-1] == (now, want_qps[route])
        ratio = by_route[route].series["error_ratio"][-1][1]
        assert 0.0 <= ratio < 0.05  # gosvc answers a few 500s (0.1-0.2 %)


async def test_a_slowed_route_ranks_first(stack: Stack) -> None:
    before = await _view(stack, "shop")
    assert before.rows[0].route != "/api/pay" or before.rows[0].contribution < 0.01
    stack.svc.control("/api/pay", latency_ms=400)
    try:
        # Wait for the slowdown to be in the rate window while the window's start (30 s
        # window, its first quarter) still predates it: a loaded machine may need a few tries.
        deadline = time.monotonic() + 20
        view = before
        while time.monotonic() < deadline:
            view = await _view(stack, "shop")
            pay = next(r for r in view.rows if r.route == "/api/pay")
            top = view.rows[0]
            if (pay.last("p99") or 0) > 0.25 and top is pay and (pay.change or 0) > 1.0:
                break
            await asyncio.sleep(0.5)  # the next scrape
        assert view.rows[0].route == "/api/pay", [(r.route, r.contribution) for r in view.rows]
        top = view.rows[0]
        assert top.change is not None and top.change > 1.0
        assert 0 < top.share < 1 and top.contribution > 0
    finally:
        stack.svc.control("/api/pay", latency_ms=16)


async def test_ten_thousand_routes_stay_bounded(stack: Stack) -> None:
    now = math.floor(time.time()) - 1.0
    view = await _view(stack, "many", now)
    assert view.error is None
    assert view.routes == MANY and view.other == MANY - TOP_ROUTES
    assert len(view.rows) == TOP_ROUTES + 1
    other = next(r for r in view.rows if r.route == OTHER)
    assert other.routes == MANY - TOP_ROUTES
    heavy = {f"/r/{i}" for i in range(HEAVY)}
    assert heavy <= {r.route for r in view.rows}
    # every request is in exactly one row: the rows' QPS add up to the histogram's
    total = float(
        _query(stack.prom, 'sum(rate(wr_many_bucket{le="+Inf"}[5s]))', now)[0]["value"][1]
    )
    assert sum(r.last("qps") or 0 for r in view.rows) == pytest.approx(total, rel=1e-9)
    assert all(len(r.series["p99"]) <= 31 for r in view.rows)  # the window's steps, no more


async def test_missing_route_label_is_a_clear_message(stack: Stack) -> None:
    view = await _view(stack, "typo")
    assert view.rows == [] and view.error is not None
    assert "has no label 'endpoint' (route_label)" in view.error
    assert "route" in view.error  # says which labels it does have
    plain = await _view(stack, "plain")
    assert plain.error == (
        "wr_plain has none of the labels route, http_route, handler, path; "
        "set services[].prometheus.route_label"
    )


async def test_routes_with_regex_and_quote_characters_each_get_their_own_row(stack: Stack) -> None:
    now = math.floor(time.time()) - 1.0
    view = await _view(stack, "odd", now)
    assert view.error is None and view.other == 0
    got = {r.route: r.last("qps") for r in view.rows}
    theirs = _query(stack.prom, 'sum by (route) (rate(wr_odd_bucket{le="+Inf"}[5s]))', now)
    assert got == {r["metric"]["route"]: float(r["value"][1]) for r in theirs}
    assert set(got) == set(ODD)


async def test_enter_opens_the_routes_screen_at_80x24_in_bastion(stack: Stack) -> None:
    """The real app and Hub: Enter on a service opens its routes, drawn in the bastion theme
    inside 80x24 in contribution order; help lists Enter; Esc goes back."""
    from tui.ui.app import WarroomApp
    from tui.ui.screens.help import HelpScreen
    from tui.ui.screens.routes import RoutesScreen

    text = _config(stack)
    typo = text[text.index("  - name: typo") :]
    cfg = parse_config(text.split("  - name: many")[0] + typo + "theme: bastion\n")
    app = WarroomApp(cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.dashboard.table
        await _until(pilot, lambda: table.selected == "shop" and app.hub is not None)
        await pilot.press("question_mark")
        await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert isinstance(app.screen, HelpScreen)
        assert ("⏎", "Routes of the service") in app.screen.rows
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is app.dashboard)
        table.focus()
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, RoutesScreen))
        screen = app.screen
        assert isinstance(screen, RoutesScreen)
        await _until(pilot, lambda: screen.refreshes >= 1)
        await pilot.pause()
        lines = [s.text for s in screen._compositor.render_strips()]
        view = screen.table.view
        assert view is not None and view.error is None
        assert lines[0].startswith("Routes of shop by route: ")
        assert lines[1].split()[:4] == ["route", "P50", "P95", "P99"]
        drawn = [ln.split()[0] for ln in lines[2 : 2 + len(view.rows)]]
        assert drawn == [r.route for r in view.rows]  # contribution order
        assert "esc" in lines[-1].lower() and "Back" in lines[-1]
        assert all(len(ln) <= 80 for ln in lines) and len(lines) == 24
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is app.dashboard)
        # a route label the histogram does not have: the screen says so, in one line
        table.move_cursor([r.name for r in table.rows].index("typo"))
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, RoutesScreen))
        typo_screen = app.screen
        assert isinstance(typo_screen, RoutesScreen)
        await _until(pilot, lambda: typo_screen.refreshes >= 1)
        await pilot.pause()
        lines = [s.text for s in typo_screen._compositor.render_strips()]
        assert lines[1].startswith("warroom: http_request_duration_seconds has no label 'endpoint'")
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is app.dashboard)


async def test_a_failing_server_keeps_the_last_view_and_backs_off(stack: Stack) -> None:
    """500s and garbage from the server: the last good view stays, the status says why, the
    next attempt waits longer; the first good answer clears it."""
    proxy = FaultyPrometheus(stack.prom)
    with proxy:
        cfg = parse_config(_config(stack).replace(stack.prom, proxy.url))
        source = PrometheusSource(cfg, MetricStore())
        poller = RoutesPoller(source, "shop")
        try:
            good = await poller.refresh()
            assert good.rows and poller.status.state == "up" and poller.next_delay() == 1.0
            for mode, state, detail in (
                ("500", "down", "HTTP 500"),
                ("garbage", "error", "not JSON"),
            ):
                proxy.mode = mode
                assert await poller.refresh() is good
                assert poller.status.state == state and detail in poller.status.detail
            assert poller.failures == 2 and poller.next_delay() == 4.0
            proxy.mode = "ok"
            again = await poller.refresh()
            assert again is not good and again.rows and poller.status.state == "up"
            assert poller.next_delay() == 1.0
        finally:
            await source.aclose()
