"""Direction-aware comparison of two samples of one metric, ending in a verdict.

benchstat answers only "is it different?". A row here says how big the change is (Hodges-
Lehmann ratio with its interval), how sure we are (U-test p, BH q across the table), and
whether it matters: a minimum effect per metric below which a change is noise for the
purpose at hand. The verdict is decided on the change interval in the metric's own unit:

- TOO FEW SAMPLES: the U test could not reach p <= 0.05 even for a total separation;
- REGRESSION / IMPROVEMENT: the whole interval lies beyond the minimum effect on one side;
- LIKELY REGRESSION / LIKELY IMPROVEMENT: q < 0.05 and the point estimate is beyond it;
- EQUIVALENT: the whole interval lies within +- the minimum effect;
- INCONCLUSIVE: anything else (wide interval, straddles the threshold).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tui.core.stats.change import Change, bh_qvalues, geomean, hodges_lehmann
from tui.core.stats.mannwhitney import mann_whitney_u, min_achievable_p
from tui.core.stats.median import SampleSummary, summarize

REGRESSION = "REGRESSION"
IMPROVEMENT = "IMPROVEMENT"
LIKELY_REGRESSION = "LIKELY REGRESSION"
LIKELY_IMPROVEMENT = "LIKELY IMPROVEMENT"
EQUIVALENT = "EQUIVALENT"
INCONCLUSIVE = "INCONCLUSIVE"
TOO_FEW_SAMPLES = "TOO FEW SAMPLES"
VERDICTS = (
    REGRESSION,
    LIKELY_REGRESSION,
    INCONCLUSIVE,
    TOO_FEW_SAMPLES,
    EQUIVALENT,
    LIKELY_IMPROVEMENT,
    IMPROVEMENT,
)

ALPHA = 0.05


@dataclass(frozen=True)
class MinEffect:
    """Smallest change that matters: max(rel * |base median|, abs) in the metric's unit."""

    rel: float = 0.0
    abs: float = 0.0

    def threshold(self, base_median: float) -> float:
        if not math.isfinite(base_median):
            return self.abs
        return max(self.rel * abs(base_median), self.abs)

    def describe(self) -> str:
        parts = []
        if self.rel:
            parts.append(f"{self.rel * 100:g}%")
        if self.abs:
            parts.append(f"{self.abs:g}")
        return " and ".join(parts) or "0"


# Defaults from the issue; units and signals not listed get DEFAULT_MIN_EFFECT.
DEFAULT_MIN_EFFECTS: dict[str, MinEffect] = {
    "p99": MinEffect(rel=0.08),
    "p95": MinEffect(rel=0.15),
    "p50": MinEffect(rel=0.25),
    # A traffic drop is an incident signal at any rate: the floor only keeps a service at a
    # few requests a second from flagging every ±1 req/s (50/s hid a -51% drop below 330/s).
    "qps": MinEffect(rel=0.15, abs=1.0),
    "error_ratio": MinEffect(abs=0.01),
    "allocs/op": MinEffect(abs=10.0),
    "ns/op": MinEffect(rel=0.05),
    "sec/op": MinEffect(rel=0.05),
    "B/op": MinEffect(rel=0.05),
}
DEFAULT_MIN_EFFECT = MinEffect(rel=0.05)

_HIGHER_BETTER = {"qps", "mb/s", "b/s", "ops/s", "bytes/s", "req/s"}


def better_direction(metric: str) -> str:
    """'lower' or 'higher': costs per op and latencies fall, throughputs rise."""
    m = metric.lower()
    if m in _HIGHER_BETTER or m.endswith("/s"):
        return "higher"
    return "lower"


def resolve_min_effect(metric: str, overrides: Mapping[str, float] | None = None) -> MinEffect:
    """Default minimum effect for a metric, replaced by a config override when present.

    An override is a fraction (0.08 = 8%) for relative metrics, keeping any absolute floor
    (qps keeps its 1/s), and an absolute amount for absolute-only ones (allocs/op: 5).
    """
    default = DEFAULT_MIN_EFFECTS.get(metric, DEFAULT_MIN_EFFECT)
    if overrides and metric in overrides:
        value = float(overrides[metric])
        if default.rel == 0 and default.abs > 0:
            return MinEffect(abs=value)
        return MinEffect(rel=value, abs=default.abs)
    return default


@dataclass
class ComparisonRow:
    name: str
    metric: str  # unit (ns/op) or signal (p99)
    better: str  # "lower" | "higher"
    base: SampleSummary
    current: SampleSummary
    change: Change
    p: float
    q: float
    min_effect: MinEffect
    threshold: float  # min effect in the metric's unit for this base
    verdict: str = INCONCLUSIVE
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON row of `warroom bench compare --format json` (non-finite -> null)."""
        return {
            "name": self.name,
            "unit": self.metric,
            "base": _summary_json(self.base),
            "current": _summary_json(self.current),
            "change": {
                "ratio": _num(self.change.ratio),
                "lo": _num(self.change.lo),
                "hi": _num(self.change.hi),
            },
            "p": _num(self.p),
            "q": _num(self.q),
            "verdict": self.verdict,
            "better": self.better,
            "min_effect": self.min_effect.describe(),
            "notes": list(self.notes),
        }


def _num(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def _summary_json(s: SampleSummary) -> dict[str, Any]:
    return {"median": _num(s.median), "lo": _num(s.lo), "hi": _num(s.hi), "n": s.n}


def decide(
    change: Change, p: float, q: float, n1: int, n2: int, better: str, threshold: float
) -> str:
    """The verdict for one row (see the module docstring for the rules, in order)."""
    if n1 == 0 or n2 == 0 or min_achievable_p(n1, n2) > ALPHA:
        return TOO_FEW_SAMPLES
    if math.isnan(change.delta):
        return INCONCLUSIVE
    sign = 1.0 if better == "lower" else -1.0
    w_pt = sign * change.delta
    w_lo, w_hi = sorted((sign * change.delta_lo, sign * change.delta_hi))
    if w_lo > threshold:
        return REGRESSION
    if w_hi < -threshold:
        return IMPROVEMENT
    if q < ALPHA and w_pt > threshold:
        return LIKELY_REGRESSION
    if q < ALPHA and w_pt < -threshold:
        return LIKELY_IMPROVEMENT
    if -threshold <= w_lo and w_hi <= threshold:
        return EQUIVALENT
    return INCONCLUSIVE


def _iqr(xs: np.ndarray) -> float:
    q75, q25 = np.percentile(xs, [75, 25])
    return float(q75 - q25)


def _notes(
    b: np.ndarray, c: np.ndarray, better: str, threshold: float, exact: bool, change: Change
) -> list[str]:
    notes: list[str] = []
    if exact:
        for label, xs in (("base", b), ("current", c)):
            distinct = len(np.unique(xs))
            if distinct > 1:
                notes.append(f"{label} should be exact but has {distinct} distinct values")
    if len(b) >= 4 and len(c) >= 4:
        ib, ic = _iqr(b), _iqr(c)
        if ib > 0 and ic / ib > 2:
            notes.append(f"spread x{ic / ib:.1f} (IQR)")
        elif ic > 0 and (ib == 0 or ib / ic > 2):
            notes.append("spread narrower (IQR /" + (f"{ib / ic:.1f})" if ib else "inf)"))
    if len(b) >= 5 and len(c) >= 5:
        # the tail that hurts: high values when lower is better, low values otherwise
        pct = 90 if better == "lower" else 10
        tb, tc = float(np.percentile(b, pct)), float(np.percentile(c, pct))
        sign = 1.0 if better == "lower" else -1.0
        tail_worse = sign * (tc - tb)
        if tail_worse > threshold and not sign * change.delta_lo > threshold:
            rel = f"{(tc / tb - 1) * 100:+.1f}%" if tb else f"{tc - tb:+g}"
            notes.append(f"tail p{pct} {rel}")
    return notes


def compare_samples(
    base: Sequence[float] | np.ndarray,
    cur: Sequence[float] | np.ndarray,
    metric: str,
    min_effect: MinEffect | float | None = None,
    *,
    name: str = "",
    better: str | None = None,
    exact: bool = False,
) -> ComparisonRow:
    """Compare two samples of `metric` (NaNs dropped). q starts equal to p: call
    `finalize_table` on all the rows of one table to set BH q-values and final verdicts."""
    b = np.asarray(base, dtype=float)
    c = np.asarray(cur, dtype=float)
    b = b[np.isfinite(b)]  # gaps (NaN) and non-measurements (Inf) are not samples
    c = c[np.isfinite(c)]
    if min_effect is None:
        eff = resolve_min_effect(metric)
    elif isinstance(min_effect, MinEffect):
        eff = min_effect
    else:
        eff = resolve_min_effect(metric, {metric: float(min_effect)})
    direction = better or better_direction(metric)
    sb, sc = summarize(b), summarize(c)
    test = mann_whitney_u(b, c)
    p = test.p if len(b) and len(c) else math.nan  # an unpaired row has no test
    change = hodges_lehmann(b, c)
    threshold = eff.threshold(sb.median)
    row = ComparisonRow(
        name=name or metric,
        metric=metric,
        better=direction,
        base=sb,
        current=sc,
        change=change,
        p=p,
        q=p,
        min_effect=eff,
        threshold=threshold,
    )
    row.notes = _notes(b, c, direction, threshold, exact, change) if len(b) and len(c) else []
    row.verdict = decide(change, row.p, row.q, sb.n, sc.n, direction, threshold)
    return row


def finalize_table(rows: Iterable[ComparisonRow]) -> list[ComparisonRow]:
    """Set Benjamini-Hochberg q-values across the rows of one table and re-decide verdicts."""
    rows = list(rows)
    qs = bh_qvalues([r.p for r in rows])
    out = []
    for r, q in zip(rows, qs, strict=True):
        r2 = replace(r, q=q, notes=list(r.notes))
        r2.verdict = decide(r2.change, r2.p, q, r2.base.n, r2.current.n, r2.better, r2.threshold)
        out.append(r2)
    return out


@dataclass(frozen=True)
class GeomeanRow:
    metric: str
    base: float
    current: float
    ratio: float
    n: int  # paired rows that entered the geomean

    def to_json(self) -> dict[str, Any]:
        return {
            "base": _num(self.base),
            "current": _num(self.current),
            "ratio": _num(self.ratio),
            "n": self.n,
        }


def geomean_row(rows: Iterable[ComparisonRow]) -> GeomeanRow | None:
    """Geomean of base and current medians over paired rows (both present and positive)."""
    rows = [
        r for r in rows if r.base.n and r.current.n and r.base.median > 0 and r.current.median > 0
    ]
    if not rows:
        return None
    gb = geomean([r.base.median for r in rows])
    gc = geomean([r.current.median for r in rows])
    return GeomeanRow(rows[0].metric, gb, gc, gc / gb, len(rows))
