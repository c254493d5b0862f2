"""`warroom check` below the service level: per route, and the Go runtime.

Routes: each route's window (P50/P95/P99, QPS, error ratio, as the route view computes them)
against the same route in the baseline, with the service level's statistics. Every route x
signal row of a service is one family: Benjamini-Hochberg runs across all of them, so 20
routes x 5 signals do not make a false REGRESSION twenty times likelier than one service. A
REGRESSION on any reported route fails the gate (it names the route). "other" sums the routes
outside the top N, which may not be the same routes on both sides: its row says how many.

Go runtime: GC pause P99, scheduler latency P99, goroutines, heap in use and GC CPU against the
baseline's, where both sides have them. They explain a latency change ("my code or the
runtime?"); they do not gate: more goroutines or heap after a release is not a failure by
itself, and the latency rows already are one when it hurts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.core.baseline.check import thin
from tui.core.baseline.document import Snapshot
from tui.core.metrics import go_runtime
from tui.core.metrics.routes import OTHER
from tui.core.metrics.store import SIGNALS
from tui.core.stats.compare import (
    REGRESSION,
    ComparisonRow,
    compare_samples,
    finalize_table,
    resolve_min_effect,
)
from tui.core.stats.report import Table

BREAKDOWNS = ("service", "route")  # values of `check --by` / `snapshot --by`


@dataclass
class RouteComparison:
    """The route rows of one service, or the note saying why there are none."""

    label: str = ""
    table: Table | None = None
    notes: list[str] = field(default_factory=list)

    def regressions(self) -> list[str]:
        """`/api/pay p99` for every REGRESSION row: what the gate's verdict names."""
        rows = self.table.rows if self.table is not None else []
        return [r.name for r in rows if r.verdict == REGRESSION]

    def to_json(self) -> dict[str, Any]:
        rows = self.table.rows if self.table is not None else []
        return {
            "label": self.label or None,
            "rows": [{**r.to_json(), "route": _route_of(r)} for r in rows],
            "notes": list(self.notes),
            "regression": bool(self.regressions()),
        }


def _route_of(row: ComparisonRow) -> str:
    return row.name[: -len(row.metric) - 1] if row.name.endswith(" " + row.metric) else row.name


def compare_routes(
    service: str,
    baseline: Snapshot,
    current: Mapping[str, Mapping[str, Sequence[float]]],
    label: str,
    *,
    current_other: int = 0,
    current_saturated: Mapping[str, Mapping[str, int]] | None = None,
    min_effects: Mapping[str, float] | None = None,
    current_step: float = 0.0,
    spacing: float | None = None,
) -> RouteComparison:
    """Route by route (baseline's routes first, then new ones), every signal either side has."""
    out = RouteComparison(label)
    if not baseline.routes:
        out.notes.append(
            f"baseline {baseline.id} holds no per-route signals (taken from "
            f"{baseline.source or 'an unknown source'}); take one with "
            f"`warroom baseline refresh {service}`"
        )
        return out
    if baseline.route_label and baseline.route_label != label:
        out.notes.append(
            f"the baseline's routes are by {baseline.route_label!r}, the current ones by "
            f"{label!r}: routes may not match"
        )
    routes = [*baseline.routes, *(r for r in current if r not in baseline.routes)]
    rows: list[ComparisonRow] = []
    for route in routes:
        base, cur = baseline.routes.get(route, {}), current.get(route, {})
        for sig in [s for s in SIGNALS if s in base or s in cur]:
            row = compare_samples(
                thin(base.get(sig, []), baseline.step, spacing),
                thin(cur.get(sig, []), current_step, spacing),
                sig,
                resolve_min_effect(sig, min_effects),
                name=f"{route} {sig}",
            )
            if not row.base.n:
                row.notes.insert(0, "route not in baseline" if not base else "not in baseline")
            elif not row.current.n:
                row.notes.insert(0, "no current samples")
            sb = baseline.route_saturated.get(route, {}).get(sig, 0)
            sc = (current_saturated or {}).get(route, {}).get(sig, 0)
            if sb or sc:
                row.notes.append(
                    f"saturated (≥ bound): base {sb}/{row.base.n}, current {sc}/{row.current.n}"
                )
            if route == OTHER:
                row.notes.append(
                    f"sums the routes outside the top: base {baseline.other_routes}, "
                    f"current {current_other}"
                )
            rows.append(row)
    out.table = Table(f"{service} by {label}", finalize_table(rows))
    return out


def runtime_rows(
    before: Mapping[str, Sequence[float]],
    after: Mapping[str, Sequence[float]],
    *,
    before_step: float,
    after_step: float,
    spacing: float | None,
) -> list[ComparisonRow]:
    """Rows for the Go runtime signals both sides have, named without the `go.` prefix.

    A signal rated over at least GC_WINDOW_MIN (GC pauses: GCs are seconds apart) shares data
    with neighbours that close, so it is thinned to that spacing before the U test.
    """
    rows = []
    for key in go_runtime.KEYS:
        if not (before.get(key) and after.get(key)):
            continue
        name = key.removeprefix(go_runtime.PREFIX)
        apart = spacing
        if go_runtime.BY_KEY[key].gc_window:
            apart = max(spacing or 0.0, go_runtime.GC_WINDOW_MIN)
        row = compare_samples(
            thin(before[key], before_step, apart),
            thin(after[key], after_step, apart),
            name,
            resolve_min_effect(name),
            name=name,
        )
        row.notes.append(go_runtime.BY_KEY[key].meaning)
        rows.append(row)
    return rows


def compare_runtime(
    service: str,
    baseline: Mapping[str, Sequence[float]],
    current: Mapping[str, Sequence[float]],
    *,
    base_step: float,
    current_step: float,
    spacing: float | None = None,
) -> Table | None:
    """Go runtime rows for the signals both sides have (None when none is common)."""
    rows = runtime_rows(
        baseline, current, before_step=base_step, after_step=current_step, spacing=spacing
    )
    return Table(f"{service} Go runtime", finalize_table(rows)) if rows else None


def runtime_now(current: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """The newest finite value of each runtime signal (shown when there is no baseline side)."""
    out = {}
    for key in go_runtime.KEYS:
        vals = [v for v in current.get(key, []) if math.isfinite(v)]
        if vals:
            out[key.removeprefix(go_runtime.PREFIX)] = vals[-1]
    return out
