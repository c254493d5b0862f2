"""Size of a change with its own interval: Hodges-Lehmann shift, and BH q-values.

The change is estimated on log values: the median of all pairwise differences
log(cur_j) - log(base_i) is a ratio that does not care about outliers, and its
distribution-free 95% interval comes from the order statistics of those same differences at
the Mann-Whitney critical rank (Hollander & Wolfe; R's wilcox.test(conf.int=TRUE)). When a
sample holds zero or negative values (allocs/op = 0) logs do not exist and the shift is
taken on the raw values instead, then expressed relative to the base median.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tui.core.stats.mannwhitney import u_critical


@dataclass(frozen=True)
class Change:
    ratio: float  # current / base; nan when undefined (base median 0, current not)
    lo: float  # ratio interval; 0 / +inf when unbounded (too few samples)
    hi: float
    delta: float  # the same change in the metric's unit: current - base
    delta_lo: float
    delta_hi: float
    log_scale: bool  # True: estimated on logs (all values positive)


def _hl(diffs: np.ndarray, k: int) -> tuple[float, float, float]:
    diffs = np.sort(diffs, kind="stable")
    m = len(diffs)
    mid = m // 2
    est = float(diffs[mid]) if m % 2 else float((diffs[mid - 1] + diffs[mid]) / 2)
    if k < 1:
        return est, -math.inf, math.inf
    return est, float(diffs[k - 1]), float(diffs[m - k])


def hodges_lehmann(
    base: Sequence[float] | np.ndarray, cur: Sequence[float] | np.ndarray, alpha: float = 0.05
) -> Change:
    """Shift from base to cur with its (1 - alpha) distribution-free interval."""
    b = np.asarray(base, dtype=float)
    c = np.asarray(cur, dtype=float)
    b = b[np.isfinite(b)]
    c = c[np.isfinite(c)]
    if len(b) == 0 or len(c) == 0:
        nan = math.nan
        return Change(nan, nan, nan, nan, nan, nan, False)
    k = u_critical(len(b), len(c), alpha)
    base_med = float(np.median(b))
    if (b > 0).all() and (c > 0).all():
        diffs = (np.log(c)[None, :] - np.log(b)[:, None]).ravel()
        est, lo, hi = _hl(diffs, k)
        ratio, rlo, rhi = math.exp(est), math.exp(lo), math.exp(hi)
        return Change(
            ratio,
            rlo,
            rhi,
            (ratio - 1) * base_med,
            (rlo - 1) * base_med,
            (rhi - 1) * base_med if math.isfinite(rhi) else math.inf,
            True,
        )
    diffs = (c[None, :] - b[:, None]).ravel()
    est, lo, hi = _hl(diffs, k)
    if base_med > 0:
        ratio, rlo, rhi = 1 + est / base_med, 1 + lo / base_med, 1 + hi / base_med
    elif est == lo == hi == 0:
        ratio = rlo = rhi = 1.0
    else:
        ratio = rlo = rhi = math.nan
    return Change(ratio, rlo, rhi, est, lo, hi, False)


def bh_qvalues(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    q_(i) = min over j >= i of p_(j) * m / j, capped at 1 (as R's p.adjust(method="BH")).
    NaN p-values are left out of m and stay NaN.
    """
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(idx)
    out = [math.nan] * len(pvalues)
    if m == 0:
        return out
    order = sorted(idx, key=lambda i: pvalues[i])
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        out[i] = min(1.0, running)
    return out


def geomean(values: Sequence[float]) -> float:
    """Geometric mean of positive finite values; nan when there are none."""
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return math.nan
    return math.exp(sum(math.log(v) for v in vals) / len(vals))
