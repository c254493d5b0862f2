"""Text, Markdown, CSV and JSON renderings of comparison tables (bench compare, check).

Pure string building, shared by the CLI commands; the TUI widget formats cells with the same
helpers so a number reads the same everywhere.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.core import units
from tui.core.stats.change import Change
from tui.core.stats.compare import ComparisonRow, GeomeanRow


@dataclass
class Table:
    """The rows of one unit (or one service in `warroom check`); BH runs within a table."""

    title: str
    rows: list[ComparisonRow]
    geomean: GeomeanRow | None = None


def fmt_value(v: float, metric: str = "") -> str:
    """`v` written in its metric's unit (tui.core.units): 0.07464 s of p99 -> 74.6ms."""
    return units.of_metric(v, metric)


def fmt_summary(median: float, lo: float, hi: float, n: int, metric: str = "") -> str:
    if n == 0:
        return "-"
    if math.isinf(lo) and math.isinf(hi):
        return f"{fmt_value(median, metric)} n={n}, too few for an interval"
    return f"{fmt_value(median, metric)} [{fmt_value(lo, metric)}, {fmt_value(hi, metric)}] n={n}"


def fmt_pct(ratio: float) -> str:
    if ratio is None or math.isnan(ratio):
        return "?"
    if math.isinf(ratio):
        return "+∞"
    return f"{(ratio - 1) * 100:+.1f}%"


def fmt_change(change: Change, metric: str = "") -> str:
    """A ratio in percent when it was estimated on logs; otherwise (a sample holds zeros:
    error ratios, allocs/op) the shift in the metric's own unit, since a percentage of a
    near-zero base says nothing (an error ratio going 0.17% -> 0.37% is not "+290%")."""
    if not change.log_scale and math.isfinite(change.delta):
        shift = _signed(change.delta, metric)
        if math.isinf(change.delta_lo) and math.isinf(change.delta_hi):
            return f"{shift} (no interval)"
        return f"{shift} [{_signed(change.delta_lo, metric)}, {_signed(change.delta_hi, metric)}]"
    ratio, lo, hi = change.ratio, change.lo, change.hi
    if ratio is None or math.isnan(ratio):
        return "?"
    if (lo <= 0 or math.isinf(lo) or math.isnan(lo)) and (math.isinf(hi) or math.isnan(hi)):
        return f"{fmt_pct(ratio)} (no interval)"
    return f"{fmt_pct(ratio)} [{fmt_pct(lo)}, {fmt_pct(hi)}]"


def _signed(v: float, metric: str = "") -> str:
    text = fmt_value(v, metric)
    return text if text.startswith("-") or v == 0 or text == "-" else "+" + text


def fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return "-"
    if p < 0.001:
        return f"{p:.0e}"
    return f"{p:.3f}"


def row_cells(r: ComparisonRow) -> list[str]:
    """Cells in column order: name, base, current, change, p, q, verdict, notes."""
    return [
        r.name,
        fmt_summary(r.base.median, r.base.lo, r.base.hi, r.base.n, r.metric),
        fmt_summary(r.current.median, r.current.lo, r.current.hi, r.current.n, r.metric),
        fmt_change(r.change, r.metric),
        fmt_p(r.p),
        fmt_p(r.q),
        r.verdict,
        "; ".join(r.notes),
    ]


HEADERS = ["", "base", "current", "change [95% CI]", "p", "q", "verdict", "notes"]


def _geomean_cells(g: GeomeanRow) -> list[str]:
    return [
        "geomean",
        fmt_value(g.base, g.metric),
        fmt_value(g.current, g.metric),
        fmt_pct(g.ratio),
        "",
        "",
        f"({g.n} paired)",
        "",
    ]


def _legend(t: Table) -> str:
    """Why the verdicts say what they say: the minimum effects in force and what q is."""
    effects = dict.fromkeys(f"{r.metric} ±{r.min_effect.describe()}" for r in t.rows)
    return (
        f"  min effect: {', '.join(effects)}; q: Benjamini-Hochberg over "
        f"{sum(1 for r in t.rows if r.p == r.p)} rows; intervals 95%"
    )


def render_text(tables: Sequence[Table]) -> str:
    """benchstat-like aligned tables, one per unit, with a header naming the unit."""
    out: list[str] = []
    for t in tables:
        header = [t.title, *HEADERS[1:]]
        body = [row_cells(r) for r in t.rows]
        if t.geomean:
            body.append(_geomean_cells(t.geomean))
        widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
        right = {4, 5}
        for cells in [header, *body]:
            parts = [
                c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                for i, c in enumerate(cells)
            ]
            out.append("  ".join(parts).rstrip())
        out.append(_legend(t))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_md(tables: Sequence[Table]) -> str:
    out: list[str] = []
    for t in tables:
        out.append(f"### {t.title}\n")
        out.append("| " + " | ".join(["name", *HEADERS[1:]]) + " |")
        out.append("|" + "---|" * len(HEADERS))
        rows = [row_cells(r) for r in t.rows]
        if t.geomean:
            rows.append(_geomean_cells(t.geomean))
        for cells in rows:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def render_csv(tables: Sequence[Table]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "name",
            "unit",
            "base_median",
            "base_lo",
            "base_hi",
            "base_n",
            "current_median",
            "current_lo",
            "current_hi",
            "current_n",
            "ratio",
            "ratio_lo",
            "ratio_hi",
            "p",
            "q",
            "verdict",
            "notes",
        ]
    )

    def num(v: float) -> str:
        return "" if v is None or math.isnan(v) else repr(float(v))

    for t in tables:
        for r in t.rows:
            w.writerow(
                [
                    r.name,
                    r.metric,
                    num(r.base.median),
                    num(r.base.lo),
                    num(r.base.hi),
                    r.base.n,
                    num(r.current.median),
                    num(r.current.lo),
                    num(r.current.hi),
                    r.current.n,
                    num(r.change.ratio),
                    num(r.change.lo),
                    num(r.change.hi),
                    num(r.p),
                    num(r.q),
                    r.verdict,
                    "; ".join(r.notes),
                ]
            )
    return buf.getvalue()


def render_json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def render(tables: Sequence[Table], fmt: str, json_obj: dict[str, Any] | None = None) -> str:
    if fmt == "json":
        return render_json(
            json_obj
            if json_obj is not None
            else {"rows": [r.to_json() for t in tables for r in t.rows]}
        )
    if fmt == "md":
        return render_md(tables)
    if fmt == "csv":
        return render_csv(tables)
    return render_text(tables)
