"""Current window and newest profiles of a service against its baseline: the CI gate's core.

Used by `warroom check` and by the dashboard's regression pane (same rows, same verdicts).
Signals are compared step sample against step sample with the regression statistics of
tui/core/stats; the function level uses the pprof engine's `rank_regressions` on each kind of
profile (CPU, heap, ...) both the baseline and the service have.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from tui.core.baseline.store import Snapshot
from tui.core.metrics.store import SIGNALS
from tui.core.pprof.catalog import by_kind, kind_order
from tui.core.stats.compare import (
    REGRESSION,
    compare_samples,
    finalize_table,
    resolve_min_effect,
)
from tui.core.stats.report import Table
from tui.errors import UserError

FUNCTION_MIN_PP = 5.0  # a function's cum share must grow by this many points to fail a gate


@dataclass
class FunctionRegression:
    name: str
    base_cum_pct: float
    cur_cum_pct: float
    delta_cum_pp: float
    p_value: float
    status: str  # both / new
    gate: bool  # counts as a REGRESSION for the exit code
    kind: str = "cpu"  # which pair of profiles: cpu, heap, ...

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ServiceCheck:
    service: str
    baseline: Snapshot | None
    table: Table | None = None
    functions: list[FunctionRegression] = field(default_factory=list)
    profile_note: str = ""
    notes: list[str] = field(default_factory=list)
    routes: Any = None  # breakdown.RouteComparison with `check --by route`, else None
    runtime: Table | None = None  # Go runtime rows (explain, never gate)
    runtime_now: dict[str, float] = field(default_factory=dict)  # newest runtime values

    def has_regression(self) -> bool:
        rows = self.table.rows if self.table else []
        routes = self.routes is not None and bool(self.routes.regressions())
        return (
            any(r.verdict == REGRESSION for r in rows)
            or any(f.gate for f in self.functions)
            or routes
        )

    def regressions(self) -> list[str]:
        """What failed, named: `p99`, `route /api/pay p99`, `cpu main.f`."""
        rows = self.table.rows if self.table else []
        out = [r.name for r in rows if r.verdict == REGRESSION]
        out += [f"route {n}" for n in (self.routes.regressions() if self.routes else [])]
        return out + [f"{f.kind} {f.name}" for f in self.functions if f.gate]

    def to_json(self) -> dict[str, Any]:
        b = self.baseline
        return {
            "service": self.service,
            "baseline": None
            if b is None
            else {"id": b.id, "version": b.version, "taken_at": b.taken_at, "taken_by": b.taken_by},
            "rows": [r.to_json() for r in self.table.rows] if self.table else [],
            "functions": [f.to_json() for f in self.functions],
            "profile_note": self.profile_note,
            "notes": list(self.notes),
            "regression": self.has_regression(),
            **({"routes": self.routes.to_json()} if self.routes is not None else {}),
            **(
                {
                    "runtime": {
                        "rows": [r.to_json() for r in self.runtime.rows] if self.runtime else [],
                        "now": dict(self.runtime_now),
                        "gates": False,
                    }
                }
                if self.runtime is not None or self.runtime_now
                else {}
            ),
        }


def thin(values: Sequence[float], step: float, spacing: float | None) -> list[float]:
    """Keep one sample per `spacing` seconds, newest first kept.

    Quantiles and rates over a `rate_window` share raw data with their neighbours closer than
    that; the U test and its interval assume independent samples, so correlated neighbours
    would make p far too small. One sample per rate window shares nothing.
    """
    vals = list(values)
    if not spacing or step <= 0 or spacing <= step:
        return vals
    k = math.ceil(spacing / step - 1e-9)
    return vals[::-1][::k][::-1]


def compare_signals(
    service: str,
    baseline: Snapshot,
    current: Mapping[str, Sequence[float]],
    min_effects: Mapping[str, float] | None = None,
    current_saturated: Mapping[str, int] | None = None,
    current_step: float = 0.0,
    spacing: float | None = None,
) -> Table:
    """One row per signal present on either side, in the store's signal order; BH across.

    A saturated sample is the highest finite bucket bound, a floor: a row with any says so,
    since "EQUIVALENT" between two floors says nothing about the true tail.
    """
    order = [s for s in SIGNALS if s in baseline.signals or s in current]
    order += [s for s in [*baseline.signals, *current] if s not in order]
    rows = []
    for sig in order:
        row = compare_samples(
            thin(baseline.signals.get(sig, []), baseline.step, spacing),
            thin(current.get(sig, []), current_step, spacing),
            sig,
            resolve_min_effect(sig, min_effects),
            name=sig,
        )
        if not row.base.n:
            row.notes.insert(0, "not in baseline")
        elif not row.current.n:
            row.notes.insert(0, "no current samples")
        sb = baseline.saturated.get(sig, 0)
        sc = (current_saturated or {}).get(sig, 0)
        if sb or sc:
            nb = sum(1 for v in baseline.signals.get(sig, []) if v == v)
            nc = sum(1 for v in current.get(sig, []) if v == v)
            row.notes.append(f"saturated (≥ bound): base {sb}/{nb}, current {sc}/{nc}")
        rows.append(row)
    return Table(service, finalize_table(rows))


def function_regressions(
    base_path: str,
    cur_path: str,
    min_pp: float = FUNCTION_MIN_PP,
    limit: int = 10,
    kind: str = "cpu",
) -> tuple[list[FunctionRegression], str]:
    """Top functions whose cumulative share grew significantly; (rows, note on what ran)."""
    from tui.core.pprof import load_profile, rank_regressions

    try:
        base = load_profile(base_path)
        cur = load_profile(cur_path)
        report = rank_regressions(base, cur)
    except (UserError, ValueError) as exc:
        return [], f"{kind}: profiles not compared: {exc}"
    out = []
    for r in report.regressions()[:limit]:
        out.append(
            FunctionRegression(
                r.name,
                r.base_cum_pct,
                r.cur_cum_pct,
                r.delta_cum_pp,
                r.p_value,
                r.status,
                r.delta_cum_pp >= min_pp,
                kind,
            )
        )
    label = kind if report.sample_type == kind else f"{kind} ({report.sample_type})"
    if report.method.startswith("no significance test"):
        return out, f"{label}: {report.method}"
    return out, f"{label}: {len(report.regressions())} function(s) grew significantly"


def check_service(
    service: str,
    baseline: Snapshot | None,
    current: Mapping[str, Sequence[float]] | None,
    min_effects: Mapping[str, float] | None = None,
    current_profiles: Iterable[str | PathLike[str]] = (),
    function_min_pp: float = FUNCTION_MIN_PP,
    current_saturated: Mapping[str, int] | None = None,
    current_step: float = 0.0,
    spacing: float | None = None,
) -> ServiceCheck:
    """Compare one service; with `spacing` (the rate window) samples are thinned to one per
    spacing on both sides so that the test's independence assumption holds.

    Profiles are compared kind by kind (CPU with CPU, heap with heap): `current_profiles` are
    the newest of each kind, the baseline holds one of each kind it was taken with."""
    result = ServiceCheck(service, baseline)
    if baseline is None:
        result.notes.append(f"no baseline: take one with `warroom baseline refresh {service}`")
        return result
    if current is None or not any(current.values()):
        result.notes.append("no samples in the current window")
    else:
        result.table = compare_signals(
            service, baseline, current, min_effects, current_saturated, current_step, spacing
        )
        if spacing and (spacing > baseline.step or spacing > current_step > 0):
            result.notes.append(
                f"samples thinned to one per {spacing:g}s (the rate window) "
                "so that neighbours share no data"
            )
    result.functions, result.profile_note = compare_profiles(
        baseline.profile_files, current_profiles, function_min_pp
    )
    return result


def compare_profiles(
    base_files: Iterable[str | PathLike[str]],
    cur_files: Iterable[str | PathLike[str]],
    min_pp: float = FUNCTION_MIN_PP,
) -> tuple[list[FunctionRegression], str]:
    """Each kind both sides hold, compared; the note says what was compared and what not."""
    base, cur = by_kind(base_files), by_kind(cur_files)
    if not base and not cur:
        return [], ""
    if not base:
        return [], "baseline holds no profile"
    if not cur:
        return [], "no current profile"
    rows: list[FunctionRegression] = []
    notes: list[str] = []
    for kind in sorted(set(base) | set(cur), key=kind_order):
        if kind not in cur:
            notes.append(f"{kind}: no current profile")
        elif kind not in base:
            notes.append(f"{kind}: baseline holds no {kind} profile")
        else:
            found, note = function_regressions(str(base[kind]), str(cur[kind]), min_pp, kind=kind)
            rows += found
            notes.append(note)
    return rows, "; ".join(notes)


def check_from_store(
    metric_store: Any,
    service: str,
    baseline: Snapshot | None,
    window: float,
    now: float,
    min_effects: Mapping[str, float] | None = None,
    current_profiles: Iterable[str | PathLike[str]] = (),
    spacing: float | None = None,
) -> ServiceCheck:
    """The dashboard's regression pane: the live MetricStore window against the baseline.

    Pass `spacing=cfg.rate_window` to thin correlated neighbours (see `thin`).

    Feed `result.table.rows` to `RegressionTable.update_rows` and `result.functions` to
    `update_functions` (profile parsing is slow: call it from a worker).
    """
    from tui.core.baseline.snapshot import saturation_from_store, signals_from_store

    current, step = signals_from_store(metric_store, service, now - window, now)
    saturated = saturation_from_store(metric_store, service, now - window, now)
    return check_service(
        service,
        baseline,
        current,
        min_effects,
        current_profiles,
        current_saturated=saturated,
        current_step=step,
        spacing=spacing,
    )
