"""Sample median with its distribution-free 95% interval from order statistics.

The interval is the one benchstat prints (go-moremath `QuantileCI`): the number of sample
values below the population median is Binomial(n, 1/2), so the interval between two order
statistics has a known confidence. For n <= 30 the binomial probabilities are summed outward
from the mode (left-biased, as go-moremath does); above 30 the normal approximation with
continuity correction picks the orders. Too few values give an unbounded side (benchstat's
"± ∞"): -inf / +inf here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

APPROX_THRESHOLD = 30  # go-moremath quantileCIApproxThreshold


@dataclass(frozen=True)
class SampleSummary:
    median: float
    lo: float  # -inf when the sample is too small for the confidence level
    hi: float  # +inf likewise
    n: int
    confidence: float  # actual confidence of [lo, hi] (>= the requested level)


def _binom_pmf(n: int, p: float, k: int) -> float:
    if k < 0 or k > n:
        return 0.0
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


@functools.lru_cache(maxsize=1024)
def quantile_ci_orders(n: int, q: float = 0.5, confidence: float = 0.95) -> tuple[int, int, float]:
    """1-based order statistics (lo, hi) bounding the q-quantile, and their confidence.

    lo < 1 or hi > n means that side is unbounded. Mirrors go-moremath QuantileCI.
    """
    if confidence >= 1:
        return 0, n + 1, 1.0
    if n <= APPROX_THRESHOLD:
        x = 0 if q == 0 else math.ceil((n + 1) * q) - 1
        accum = _binom_pmf(n, q, x)
        left, right = x, x + 1
        lp, rp = _binom_pmf(n, q, left - 1), _binom_pmf(n, q, right)
        while accum < confidence and (lp > 0 or rp > 0):
            if lp >= rp:  # left-bias
                accum += lp
                left -= 1
                lp = _binom_pmf(n, q, left - 1)
            else:
                accum += rp
                right += 1
                rp = _binom_pmf(n, q, right)
        conf = accum
    else:
        mu = n * q
        sigma = math.sqrt(n * q * (1 - q))
        norm = NormalDist(mu, sigma)
        l1 = norm.inv_cdf((1 - confidence) / 2)
        r1 = 2 * mu - l1
        left = math.floor(math.floor(l1 - 0.5) + 0.5) + 1
        right = math.floor(math.ceil(r1 - 0.5) + 0.5) + 1

        def cdf(lo: int, hi: int) -> float:
            return norm.cdf(hi - 0.5) - norm.cdf(lo - 0.5)

        conf = cdf(left, right)
        biased = cdf(left, right - 1)
        if confidence <= biased < conf:
            conf, right = biased, right - 1
        if left <= 0 and right >= n + 1:
            conf = 1.0
    return max(left, 0), min(right, n + 1), conf


def median_of_sorted(xs: np.ndarray) -> float:
    n = len(xs)
    if n == 0:
        return math.nan
    mid = n // 2
    if n % 2:
        return float(xs[mid])
    return float((xs[mid - 1] + xs[mid]) / 2)


def summarize(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> SampleSummary:
    """Median, its order-statistic interval and n; NaN (gaps) and Inf are dropped first."""
    xs = np.asarray(values, dtype=float)
    xs = np.sort(xs[np.isfinite(xs)])
    n = len(xs)
    if n == 0:
        return SampleSummary(math.nan, -math.inf, math.inf, 0, 0.0)
    lo_o, hi_o, conf = quantile_ci_orders(n, 0.5, confidence)
    lo = -math.inf if lo_o < 1 else float(xs[lo_o - 1])
    hi = math.inf if hi_o - 1 >= n else float(xs[hi_o - 1])
    return SampleSummary(median_of_sorted(xs), lo, hi, n, conf)
