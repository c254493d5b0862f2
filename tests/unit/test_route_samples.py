"""A recording's route lines read back over a window: what `baseline refresh --from-record`
and `check --from-record --by route` see of an OTLP service's routes; damaged lines skipped."""

from __future__ import annotations

import math

from tui.core.baseline.route_samples import RouteSamples, from_record, route_line
from tui.core.baseline.snapshot import build_snapshot
from tui.core.metrics.routes import OTHER, RouteRow


def _row(route: str, t: float, p99: float, routes: int = 1) -> RouteRow:
    series = {"p99": [(t - 1, 9.0), (t, p99)], "qps": [(t, 5.0)], "p50": [(t, math.nan)]}
    return RouteRow(route, series, routes=routes)


def test_a_line_holds_each_rows_values_of_its_tick_only() -> None:
    line = route_line(100.0, "shop", "http.route", 30, 10, [_row("/pay", 100, 0.4)])
    assert line == {
        "t": 100.0,
        "type": "routes",
        "service": "shop",
        "label": "http.route",
        "routes": 30,
        "other": 10,
        "rows": {"/pay": {"p99": 0.4, "qps": 5.0}},  # p50 NaN left out, the older p99 too
    }


def test_lines_over_a_window_and_damaged_ones_skipped() -> None:
    events = [
        route_line(t, "shop", "http.route", 25, 5, [_row("/pay", t, 0.1 * i), _row(OTHER, t, 1)])
        for i, t in enumerate((10.0, 20.0, 30.0, 40.0))
    ]
    events += [
        {"t": 35.0, "type": "routes", "service": "shop", "label": "http.route", "rows": "oops"},
        {"t": 36.0, "type": "routes", "service": "shop", "label": "http.route",
         "rows": {"/pay": "x", "/cart": {"p99": "slow", "qps": True, "bogus": 1.0}}},
        {"t": "late", "type": "routes", "service": "shop", "label": "http.route", "rows": {}},
        route_line(40.0, "other-svc", "http.route", 1, 0, [_row("/x", 40, 9)]),
        {"t": 40.0, "type": "point", "service": "shop", "signal": "p99", "value": 1.0},
    ]  # fmt: skip
    got = from_record(events, "shop", window=20)  # 20 <= t <= 40, as signals_from_record
    assert got is not None and got.error is None
    assert (got.label, got.other) == ("http.route", 5)
    assert got.routes == {
        "/pay": {"p99": [0.1 * 1, 0.1 * 2, 0.1 * 3], "qps": [5.0] * 3},
        OTHER: {"p99": [1.0] * 3, "qps": [5.0] * 3},
    }
    assert from_record(events, "nobody") is None


def test_apply_keeps_them_in_a_snapshot_unless_there_is_an_error() -> None:
    snap = build_snapshot("shop", {"p99": [0.1]}, step=1, taken_by="t")
    RouteSamples(error="no route label").apply(snap)
    assert snap.routes == {} and snap.route_label == ""
    RouteSamples("http.route", {"/pay": {"p99": [0.2]}}, 3, {"/pay": {"p99": 0}}).apply(snap)
    assert (snap.route_label, snap.routes, snap.other_routes) == (
        "http.route",
        {"/pay": {"p99": [0.2]}},
        3,
    )
    assert snap.route_saturated == {}  # zero counts are not kept
