"""A window's per-route samples, the form a baseline stores and `check --by route` compares,
wherever they came from: the route view's rows (Prometheus `sum by (le, ROUTE)` or the OTLP
sink's `http.route` breakdown), or the `{"type": "routes"}` lines of a recording.

A recording gets one such line per OTLP service per refresh that had requests (`warroom
record`): the rows the route view shows at that moment, each with its P50/P95/P99, QPS and
error ratio. `from_record` reads them back over a window, so `baseline refresh --from-record`
and `check --from-record --by route` see the same routes the live view did. Prometheus
services need no such lines: their routes are asked of Prometheus over any window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.core.baseline.document import Snapshot
from tui.core.metrics.routes import RouteRow

ROUTE_LINE = "routes"  # the recording line's type
LINE_SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")


@dataclass
class RouteSamples:
    """{route: {signal: samples}} over one window, or why there is no breakdown."""

    label: str = ""
    routes: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    other: int = 0  # routes the "other" entry sums (at the window's end)
    saturated: dict[str, dict[str, int]] = field(default_factory=dict)  # route -> signal -> n
    error: str | None = None

    def apply(self, snap: Snapshot) -> None:
        """Keep them in `snap` (nothing when there is no breakdown)."""
        if self.error is None and self.routes:
            snap.route_label, snap.routes = self.label, dict(self.routes)
            snap.other_routes = self.other
            counts = {r: {k: n for k, n in c.items() if n} for r, c in self.saturated.items()}
            snap.route_saturated = {r: c for r, c in counts.items() if c}


def samples_of_rows(
    rows: Iterable[RouteRow], start: float, end: float
) -> dict[str, dict[str, list[float]]]:
    """{route: {signal: finite values with start <= t <= end}} of a route view's rows."""
    out: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        sigs = {
            sig: [v for t, v in pts if start <= t <= end and math.isfinite(v)]
            for sig, pts in row.series.items()
            if not sig.startswith("_")  # helper series (the `_top` bucket rate)
        }
        out[row.route] = {k: v for k, v in sigs.items() if v}
    return out


def route_line(
    t: float, service: str, label: str, total: int, other: int, rows: Iterable[RouteRow]
) -> dict[str, Any]:
    """The recording line of one service's route rows at `t`: each row's point at `t`,
    a signal without a finite value there left out (an older value is not this tick's)."""
    cells: dict[str, dict[str, float]] = {}
    for row in rows:
        cells[row.route] = {
            sig: v
            for sig in LINE_SIGNALS
            for pt, v in row.series.get(sig, [])[-1:]
            if pt == t and math.isfinite(v)
        }
    return {
        "t": t,
        "type": ROUTE_LINE,
        "service": service,
        "label": label,
        "routes": total,
        "other": other,
        "rows": cells,
    }


def from_record(
    events: Iterable[Mapping[str, Any]],
    service: str,
    window: float | None = None,
    end: float | None = None,
) -> RouteSamples | None:
    """The route lines of `service` in a recording over the last `window` seconds before
    `end` (default: its newest route line), None when it has none. A damaged line (not a map
    of routes to numbers) is skipped: the rest of the window still counts."""
    lines = [
        e
        for e in events
        if e.get("type") == ROUTE_LINE
        and e.get("service") == service
        and _number(e.get("t"))
        and isinstance(e.get("rows"), dict)
        and isinstance(e.get("label"), str)
    ]
    if not lines:
        return None
    last = max(float(e["t"]) for e in lines) if end is None else end
    first = -math.inf if window is None else last - window
    lines = sorted((e for e in lines if first <= float(e["t"]) <= last), key=lambda e: e["t"])
    out = RouteSamples(label=str(lines[-1]["label"]) if lines else "")
    for e in lines:
        for route, cells in e["rows"].items():
            if not isinstance(cells, dict):
                continue
            sigs = out.routes.setdefault(str(route), {})
            for sig, v in cells.items():
                if sig in LINE_SIGNALS and _number(v) and math.isfinite(v):
                    sigs.setdefault(sig, []).append(float(v))
    if lines:
        other = lines[-1].get("other", 0)
        out.other = int(other) if _number(other) and other >= 0 else 0
    out.routes = {r: s for r, s in out.routes.items() if s}
    return out


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
