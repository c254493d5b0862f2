"""Compare two parsed benchmark files: one table per unit, benchstat-like, with verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.core.bench.parser import BenchFile
from tui.core.stats.compare import (
    REGRESSION,
    ComparisonRow,
    compare_samples,
    finalize_table,
    geomean_row,
    resolve_min_effect,
)
from tui.core.stats.report import Table


@dataclass
class BenchComparison:
    tables: list[Table] = field(default_factory=list)

    @property
    def rows(self) -> list[ComparisonRow]:
        return [r for t in self.tables for r in t.rows]

    def has_regression(self) -> bool:
        return any(r.verdict == REGRESSION for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": [r.to_json() for r in self.rows],
            "geomean": {t.title: t.geomean.to_json() for t in self.tables if t.geomean},
        }


def _samples(f: BenchFile, multi_pkg: bool) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for r in f.results:
        name = r.name
        if multi_pkg:
            pkg = r.config_value("pkg")
            if pkg:
                name = f"{pkg}.{name}"
        for value, unit in r.values:
            out.setdefault((name, unit), []).append(value)
    return out


def compare_bench(
    old: BenchFile, new: BenchFile, min_effects: Mapping[str, float] | None = None
) -> BenchComparison:
    """Pair rows by (benchmark name, unit); rows found on one side only are kept (n = 0)."""
    pkgs = {r.config_value("pkg") for f in (old, new) for r in f.results} - {None}
    multi = len(pkgs) > 1
    a, b = _samples(old, multi), _samples(new, multi)
    keys = list(dict.fromkeys([*a.keys(), *b.keys()]))
    units: dict[str, dict[str, str]] = {}
    for f in (old, new):
        for unit, meta in f.units.items():
            units.setdefault(unit, {}).update(meta)
    by_unit: dict[str, list[ComparisonRow]] = {}
    for name, unit in keys:
        meta = units.get(unit, {})
        row = compare_samples(
            a.get((name, unit), []),
            b.get((name, unit), []),
            unit,
            resolve_min_effect(unit, min_effects),
            name=name,
            better=meta.get("better"),
            exact=meta.get("assume") == "exact",
        )
        if (name, unit) not in a:
            row.notes.insert(0, "only in current")
        elif (name, unit) not in b:
            row.notes.insert(0, "only in base")
        by_unit.setdefault(unit, []).append(row)
    result = BenchComparison()
    for unit, rows in by_unit.items():
        rows = finalize_table(rows)
        result.tables.append(Table(unit, rows, geomean_row(rows)))
    return result
