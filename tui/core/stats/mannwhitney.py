"""Two-sided Mann-Whitney U test, as benchstat (golang.org/x/perf benchmath) computes it.

benchmath calls go-moremath's `MannWhitneyUTest(x1, x2, LocationDiffers)`:
- exact null distribution conditioned on the tie pattern when both samples have at most 50
  values and there are no ties, or at most 25 values and there are ties;
- otherwise the normal approximation with the tie correction and the continuity correction;
- all values equal (or an empty sample): no test is possible, benchmath reports p = 1.

The exact distribution here is counted by a dynamic programme over tie groups (how many of
the first sample's values fall into each group), in integers, so the counts are exact; the
result equals go-moremath's Klotz / Cheung-Klotz recursion. One deliberate difference: with
an asymmetric tie pattern go-moremath doubles P(U1 <= min(U1, U2)), which is not symmetric in
its arguments (its own test vector {1,2,3,5} vs {1,1,1,1,1} gives p = 0 one way round and
0.095 the other). By default we double the smaller of the two observed tails, which equals
go-moremath whenever its answer does not depend on argument order; `tie_tails="benchstat"`
reproduces its arithmetic exactly.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

EXACT_LIMIT = 50  # go-moremath MannWhitneyExactLimit
TIES_EXACT_LIMIT = 25  # go-moremath MannWhitneyTiesExactLimit


@dataclass(frozen=True)
class UTestResult:
    n1: int
    n2: int
    u: float  # U of the first sample: pairs x > y, ties counting one half
    p: float
    exact: bool  # exact distribution used (False: normal approximation or no test)
    all_equal: bool = False


def _ranks_and_ties(x: np.ndarray, y: np.ndarray) -> tuple[float, list[int], list[int]]:
    """Return (R1 = rank sum of x, tie group sizes, x-count per group) in sorted order."""
    merged = np.concatenate([x, y])
    labels = np.concatenate([np.ones(len(x), dtype=np.int64), np.zeros(len(y), dtype=np.int64)])
    order = np.argsort(merged, kind="mergesort")
    sv = merged[order]
    sl = labels[order]
    n = len(sv)
    # group boundaries: where the value changes
    if n == 0:
        return 0.0, [], []
    change = np.nonzero(sv[1:] != sv[:-1])[0] + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    sizes = (ends - starts).tolist()
    csum = np.concatenate([[0], np.cumsum(sl)])
    xcounts = (csum[ends] - csum[starts]).tolist()
    r1 = 0.0
    for s, e, c in zip(starts.tolist(), ends.tolist(), xcounts, strict=True):
        if c:
            r1 += c * (s + 1 + e) / 2.0
    return r1, sizes, xcounts


def _two_r1_counts(n1: int, sizes: list[int], max2r: int) -> np.ndarray:
    """Exact counts of ways to pick n1 of the N positions, by 2*R1 (twice the rank sum).

    Positions in a tie group all get the group's mean rank, so picking r from a group of t
    starting after s earlier values adds r*(2s+t+1) to 2*R1 and can be done C(t, r) ways.
    Integers while C(N, n1) fits in int64 (always with ties: at most 25+25), float64 above
    (only additions of positive terms, so the relative error stays at rounding level). Only
    2*R1 <= max2r is kept: a p-value needs one tail only.
    """
    total = sum(sizes)
    big = math.comb(total, n1) >= 2**62
    table: Any = np.zeros((n1 + 1, max2r + 1), dtype=np.float64 if big else np.int64)
    table[0, 0] = 1
    start = 0
    for t in sizes:
        w = 2 * start + t + 1
        after = start + t
        # live rows: picks so far that can still reach n1 with the positions left
        lo = max(0, n1 - (total - after))
        hi = min(n1, after)
        new = table[lo : hi + 1].copy()
        for r in range(1, min(t, n1) + 1):
            shift = r * w
            if shift > max2r:
                break
            first = max(lo, r)  # destination rows first..hi take source rows first-r..hi-r
            if first > hi:
                continue
            src = table[first - r : hi + 1 - r, : max2r + 1 - shift]
            dst = new[first - lo :, shift:]
            if t == 1:
                dst += src
            else:
                dst += math.comb(t, r) * src
        table[lo : hi + 1] = new
        start = after
    return table[n1]


def u_distribution(
    n1: int, n2: int, sizes: list[int] | None = None, max_two_u: int | None = None
) -> tuple[np.ndarray, int]:
    """Exact null distribution of 2*U1 given the tie group sizes: (counts by 2U, total).

    counts[k] is the number of equally likely arrangements with 2*U1 == k, for k up to
    max_two_u (default: the whole support, 2*n1*n2).
    """
    if sizes is None:
        sizes = [1] * (n1 + n2)
    top = 2 * n1 * n2 if max_two_u is None else min(max_two_u, 2 * n1 * n2)
    offset = n1 * (n1 + 1)  # 2*U1 = 2*R1 - n1(n1+1)
    by2r = _two_r1_counts(n1, sizes, offset + top)
    return by2r[offset : offset + top + 1], math.comb(n1 + n2, n1)


@functools.lru_cache(maxsize=256)
def _no_tie_cumulative(n1: int, n2: int) -> tuple[np.ndarray, float]:
    """Cumulative counts by integer U for untied samples; shared by every row of a table."""
    counts, total = u_distribution(n1, n2)
    cum = np.cumsum(counts[::2].astype(np.float64))
    cum.setflags(write=False)
    return cum, float(total)


def _norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def mann_whitney_u(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    tie_tails: Literal["symmetric", "benchstat"] = "symmetric",
) -> UTestResult:
    """Two-sided U test of x against y (see the module docstring for the exact rules)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return UTestResult(n1, n2, math.nan, 1.0, False)
    r1, sizes, _ = _ranks_and_ties(a, b)
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    has_ties = any(t > 1 for t in sizes)
    if len(sizes) == 1:
        return UTestResult(n1, n2, u1, 1.0, False, all_equal=True)
    exact = (not has_ties and n1 <= EXACT_LIMIT and n2 <= EXACT_LIMIT) or (
        has_ties and n1 <= TIES_EXACT_LIMIT and n2 <= TIES_EXACT_LIMIT
    )
    if exact:
        if u1 == u2:
            return UTestResult(n1, n2, u1, 1.0, True)
        if not has_ties:
            cum, tot = _no_tie_cumulative(n1, n2)
            ui = round(u1)
            small = min(ui, n1 * n2 - ui)
            p = 2.0 * float(cum[small]) / tot  # symmetric without ties: both rules agree
            return UTestResult(n1, n2, u1, min(1.0, p), True)
        if tie_tails == "benchstat":
            small = round(2 * min(u1, u2))
            counts, total = u_distribution(n1, n2, sizes, small)
            p = 2.0 * float(counts.sum()) / total
        else:
            # Both tails are symmetric under swapping the samples, so count from the side
            # whose observed U is the smaller one: the table only needs to reach it.
            m1, m2, um = (n1, n2, u1) if u1 <= u2 else (n2, n1, u2)
            two_u = round(2 * um)
            counts, total = u_distribution(m1, m2, sizes, two_u)
            lower = int(counts.sum())
            upper = total - int(counts[:two_u].sum())
            p = 2.0 * min(lower, upper) / total
        return UTestResult(n1, n2, u1, min(1.0, p), True)
    tie = float(sum(t * t * t - t for t in sizes))
    n = float(n1 + n2)
    sigma = math.sqrt(n1 * n2 * ((n + 1) - tie / (n * (n - 1))) / 12.0)
    if sigma == 0:
        return UTestResult(n1, n2, u1, 1.0, False, all_equal=True)
    numer = u1 - n1 * n2 / 2.0
    numer -= math.copysign(0.5, numer) if numer != 0 else 0.0
    z = numer / sigma
    p = 2.0 * min(_norm_cdf(z), 1.0 - _norm_cdf(z))
    return UTestResult(n1, n2, u1, min(1.0, p), False)


def min_achievable_p(n1: int, n2: int) -> float:
    """Smallest two-sided p the U test can give for these sizes (no ties): 2 / C(n1+n2, n1).

    Above alpha the test cannot detect any difference however large (benchmath's uTestMinP).
    """
    if n1 == 0 or n2 == 0:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def u_critical(n1: int, n2: int, alpha: float = 0.05) -> int:
    """Largest k with P(U <= k - 1) <= alpha/2 under H0 (no ties): the rank of the lower
    bound of the distribution-free interval of the Hodges-Lehmann shift (0: unbounded).

    Exact for sizes within EXACT_LIMIT, normal approximation with continuity correction above.
    """
    if n1 == 0 or n2 == 0:
        return 0
    if n1 <= EXACT_LIMIT and n2 <= EXACT_LIMIT:
        return _u_critical_exact(n1, n2, alpha)
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - alpha / 2.0)
    mu = n1 * n2 / 2.0
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12.0)
    return max(0, math.floor(mu - z * sd - 0.5) + 1)


@functools.lru_cache(maxsize=4096)
def _u_critical_exact(n1: int, n2: int, alpha: float) -> int:
    cum, total = _no_tie_cumulative(n1, n2)
    cdf = cum / total
    return int(np.searchsorted(cdf, alpha / 2.0 * (1 + 1e-12), side="right"))
