"""Below a release's service-level verdict: which routes it hurt, and what the Go runtime did.

Routes: each of the top routes (by traffic when the after window closes, the route view's
`topk`) before against after, P99 and P95, with the regression table's statistics; all the
route x signal rows of one release are one Benjamini-Hochberg family, so 20 routes do not make
a false REGRESSION twenty times likelier. The message names the worst regressed routes only
(`P99 +240% (REGRESSION) on /pay`), at most `NAMED_ROUTES`, and counts the rest.

Go runtime: the `go.*` signals the store holds (GC pause P99, scheduler latency P99,
goroutines, heap, GC CPU), before against after. They explain ("is it my code or the
runtime?") and never make the verdict: like `warroom check`'s runtime rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tui.core.baseline import breakdown
from tui.core.baseline.check import thin
from tui.core.metrics import go_runtime
from tui.core.metrics.store import MetricStore
from tui.core.stats.compare import (
    EQUIVALENT,
    INCONCLUSIVE,
    LIKELY_REGRESSION,
    REGRESSION,
    TOO_FEW_SAMPLES,
    ComparisonRow,
    compare_samples,
    finalize_table,
)

ROUTE_SIGNALS = ("p99", "p95")
NAMED_ROUTES = 3  # regressed routes the message names; the rest are counted
Window = tuple[float, float]
RouteSeries = Mapping[str, Mapping[str, Sequence[tuple[float, float]]]]  # route -> sig -> pts


def split_windows(
    series: RouteSeries, before: Window, after: Window
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[float]]]]:
    """Per-route samples inside the before and after windows (finite values only)."""
    b: dict[str, dict[str, list[float]]] = {}
    a: dict[str, dict[str, list[float]]] = {}
    for route, by_sig in series.items():
        for sig in ROUTE_SIGNALS:
            pts = by_sig.get(sig, ())
            for side, (t0, t1) in ((b, before), (a, after)):
                vals = [v for t, v in pts if t0 <= t <= t1 and math.isfinite(v)]
                if vals:
                    side.setdefault(route, {})[sig] = vals
    return b, a


def route_rows(
    before: Mapping[str, Mapping[str, Sequence[float]]],
    after: Mapping[str, Mapping[str, Sequence[float]]],
    step: float,
    spacing: float,
) -> list[ComparisonRow]:
    """`ROUTE p99` / `ROUTE p95` rows for every route either side has, one BH family."""
    rows = []
    for route in [*before, *(r for r in after if r not in before)]:
        b, a = before.get(route, {}), after.get(route, {})
        for sig in ROUTE_SIGNALS:
            if b.get(sig) or a.get(sig):
                rows.append(
                    compare_samples(
                        thin(b.get(sig, []), step, spacing),
                        thin(a.get(sig, []), step, spacing),
                        sig,
                        name=f"{route} {sig}",
                    )
                )
    return finalize_table(rows)


def route_of(row: ComparisonRow) -> str:
    return row.name[: -len(row.metric) - 1] if row.name.endswith(" " + row.metric) else row.name


def worst_routes(rows: Sequence[ComparisonRow]) -> list[ComparisonRow]:
    """One row per regressed route (its P99 row when that regressed, else its P95), worst first."""
    best: dict[str, ComparisonRow] = {}
    for r in rows:
        if r.verdict not in (REGRESSION, LIKELY_REGRESSION) or not math.isfinite(r.change.ratio):
            continue
        route = route_of(r)
        old = best.get(route)
        if old is None or _rank(r) > _rank(old):
            best[route] = r
    return sorted(best.values(), key=_rank, reverse=True)


def _rank(r: ComparisonRow) -> tuple[bool, bool, float]:
    return (r.verdict == REGRESSION, r.metric == "p99", r.change.ratio)


def runtime_from_store(
    store: MetricStore, service: str, start: float, end: float
) -> dict[str, list[float]]:
    """The `go.*` samples with start <= t <= end (empty for a non-Go or untailed service)."""
    out: dict[str, list[float]] = {}
    for key in go_runtime.KEYS:
        ring = store.series(service, key)
        if ring is None:
            continue
        t, v, _ = ring.since(start)
        vals = [float(x) for x in v[t <= end] if math.isfinite(x)]
        if vals:
            out[key] = vals
    return out


def runtime_rows(
    before: Mapping[str, Sequence[float]],
    after: Mapping[str, Sequence[float]],
    step: float,
    spacing: float,
) -> list[ComparisonRow]:
    """Rows for the runtime signals both windows have, with the regression table's tests."""
    rows = breakdown.runtime_rows(before, after, before_step=step, after_step=step, spacing=spacing)
    return finalize_table(rows)


def pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.0f}%" if math.isfinite(ratio) else "?"


def routes_text(rows: Sequence[ComparisonRow], n: int = NAMED_ROUTES) -> str:
    """`P99 +240% (REGRESSION) on /pay, ...` for the worst regressed routes ("" for none)."""
    worst = worst_routes(rows)
    parts = [
        f"{r.metric.upper()} {pct(r.change.ratio)} ({r.verdict}) on {route_of(r)}"
        for r in worst[:n]
    ]
    if len(worst) > n:
        parts.append(f"{len(worst) - n} more route(s)")
    return ", ".join(parts)


def runtime_text(rows: Sequence[ComparisonRow]) -> str:
    """`runtime: gc_p99 +250%, goroutines +40%` for the runtime rows that moved ("" if none)."""
    moved = [
        f"{r.name} {pct(r.change.ratio)}"
        for r in rows
        if r.verdict not in (EQUIVALENT, INCONCLUSIVE, TOO_FEW_SAMPLES)
    ]
    return f"runtime: {', '.join(moved)}" if moved else ""


def rows_json(rows: Sequence[ComparisonRow], by_route: bool = False) -> list[dict[str, Any]]:
    return [{**r.to_json(), "route": route_of(r)} if by_route else r.to_json() for r in rows]
