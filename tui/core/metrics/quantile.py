"""Quantiles from histogram buckets, computed exactly as Prometheus does.

Two estimators, both ports of Prometheus `promql/quantile.go` (v3):

- `bucket_quantile`: classic histograms (`histogram_quantile` over `le` buckets): linear
  interpolation inside the bucket, the +Inf bucket answers the highest finite bound (and we
  flag it as saturated so the UI can show "≥ bound"), the lowest bucket starts at 0 when its
  bound is positive.
- `exponential_quantile`: native / OTLP exponential histograms with Prometheus 3 exponential
  interpolation. OTLP bucket index i covers (base^i, base^(i+1)] which is Prometheus bucket
  i+1; scales above 8 (Prometheus' finest schema) are merged down to 8 first.

Both take counts for one window (deltas), never cumulative-since-start counts: the caller
decides the window.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

SMALL_DELTA_TOLERANCE = 1e-12  # Prometheus smallDeltaTolerance
_MIN_NORMAL = 2.2250738585072014e-308
MAX_SCHEMA = 8  # finest Prometheus native-histogram schema


Bucket = tuple[float, float]  # (lower, upper] of the histogram bucket holding a quantile


def bucket_of(value: float, bounds: Sequence[float]) -> Bucket | None:
    """The bucket (lower, upper] of sorted explicit `bounds` that holds `value`.

    The first bucket starts at 0 (as in Prometheus): (0, bounds[0]], or (0, b] after an
    explicit 0 bound. None for the +Inf bucket or a value that is not a positive finite
    number. This is what the spike detector is given as `bucket`.
    """
    if not (value > 0 and math.isfinite(value)):
        return None
    i = bisect_left(bounds, value)
    if i == len(bounds) or not math.isfinite(bounds[i]) or bounds[i] <= 0:
        return None
    return (float(bounds[i - 1]) if i > 0 and bounds[i - 1] > 0 else 0.0, float(bounds[i]))


def exponential_bucket_of(value: float, scale: int) -> Bucket | None:
    """The OTLP exponential / Prometheus native bucket at `scale` that holds `value`.

    Bucket i is (base**i, base**(i+1)] with base = 2**(2**-scale), as in the OTLP data model.
    """
    if not (value > 0 and math.isfinite(value)):
        return None
    factor = 2.0**scale
    i = math.ceil(math.log2(value) * factor) - 1
    return (_exp2(i / factor), _exp2((i + 1) / factor))


class QuantileResult(NamedTuple):
    value: float  # NaN when undefined (no observations, no +Inf bucket, q is NaN)
    saturated: bool = False  # landed in the +Inf bucket: value is the highest finite bound
    forced_monotonic: bool = False  # bucket counts decreased and were flattened, as Prometheus does


def _div(a: float, b: float) -> float:
    """IEEE division as Go does it: x/0 is ±Inf, 0/0 is NaN (Python would raise)."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _almost_equal(a: float, b: float, eps: float) -> bool:
    """Prometheus util/almost.Equal."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < eps * _MIN_NORMAL
    return diff / min(abs_sum, 1.7976931348623157e308) < eps


def _coalesce_buckets(pairs: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Prometheus `coalesceBuckets`: sorted (bound, count) pairs, equal bounds summed."""
    bounds: list[float] = []
    cum: list[float] = []
    for b, c in pairs:
        if bounds and b == bounds[-1]:
            cum[-1] += c
        else:
            bounds.append(b)
            cum.append(c)
    return bounds, cum


def _ensure_monotonic(cum: list[float]) -> bool:
    """Prometheus `ensureMonotonicAndIgnoreSmallDeltas`, in place; True when a count that
    fell had to be raised (the result is then flagged as forced)."""
    forced = False
    prev = cum[0]
    for i in range(1, len(cum)):
        cur = cum[i]
        if cur == prev:
            continue
        if _almost_equal(prev, cur, SMALL_DELTA_TOLERANCE):
            cum[i] = prev
            continue
        if cur < prev:
            cum[i] = prev
            forced = True
            continue
        prev = cur
    return forced


def bucket_quantile(
    q: float, upper_bounds: Sequence[float], counts: Sequence[float]
) -> QuantileResult:
    """Prometheus `BucketQuantile`: `counts[i]` is the cumulative count of `le=upper_bounds[i]`.

    Bounds need not be sorted; duplicates are merged. Without a +Inf bound the answer is NaN,
    as in Prometheus; fewer than two buckets or zero observations also give NaN.
    """
    if math.isnan(q):
        return QuantileResult(math.nan)
    if q < 0:
        return QuantileResult(-math.inf)
    if q > 1:
        return QuantileResult(math.inf)
    if len(upper_bounds) != len(counts):
        raise ValueError("upper_bounds and counts differ in length")
    if not len(upper_bounds):
        return QuantileResult(math.nan)
    # Stable sort by bound, like Go's slices.SortFunc for equal keys irrelevant after coalescing.
    pairs = sorted(
        zip((float(b) for b in upper_bounds), (float(c) for c in counts), strict=True),
        key=lambda p: p[0],
    )
    if not math.isinf(pairs[-1][0]) or pairs[-1][0] < 0:
        return QuantileResult(math.nan)
    bounds, cum = _coalesce_buckets(pairs)
    forced = _ensure_monotonic(cum)
    if len(bounds) < 2:
        return QuantileResult(math.nan)
    observations = cum[-1]
    if observations == 0 or math.isnan(observations):
        return QuantileResult(math.nan)
    rank = q * observations
    # sort.Search over the finite buckets: first index with cum >= rank, else len-1.
    n = len(cum) - 1
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] >= rank:
            hi = mid
        else:
            lo = mid + 1
    b = lo
    if b == n:
        return QuantileResult(bounds[n - 1], True, forced)
    if b == 0 and bounds[0] <= 0:
        return QuantileResult(bounds[0], False, forced)
    start = 0.0
    end = bounds[b]
    count = cum[b]
    if b > 0:
        start = bounds[b - 1]
        count -= cum[b - 1]
        rank -= cum[b - 1]
    return QuantileResult(start + (end - start) * _div(rank, count), False, forced)


def bucket_quantiles(
    qs: Sequence[float], upper_bounds: Sequence[float], cumulative: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`bucket_quantile` of every q in `qs` for every row of `cumulative` at once.

    `cumulative` is rows x buckets of cumulative counts, one layout `upper_bounds` for all rows.
    Returns (values, saturated), each rows x len(qs), bit for bit what `bucket_quantile` gives
    row by row (tests/unit/test_quantile_vector.py). Vectorised where nothing is left to fix:
    bounds strictly increasing and finite before a final +Inf, and a row finite, non-decreasing,
    with no step Prometheus would flatten as a small delta; any other row goes through
    `bucket_quantile` itself.
    """
    cum = np.asarray(cumulative, dtype=np.float64)
    if cum.ndim != 2 or cum.shape[1] != len(upper_bounds):
        raise ValueError("cumulative must be rows x len(upper_bounds)")
    values = np.full((len(cum), len(qs)), math.nan)
    saturated = np.zeros((len(cum), len(qs)), dtype=bool)
    bounds = np.asarray(upper_bounds, dtype=np.float64)
    plain = _plain_rows(cum) if _plain_layout(bounds) else np.zeros(len(cum), dtype=bool)
    for i in np.nonzero(~plain)[0].tolist():
        for j, q in enumerate(qs):
            res = bucket_quantile(q, upper_bounds, cum[i].tolist())
            values[i, j], saturated[i, j] = res.value, res.saturated
    rows = np.nonzero(plain)[0]
    if len(rows):
        for j, q in enumerate(qs):
            values[rows, j], saturated[rows, j] = _plain_quantile(float(q), bounds, cum[rows])
    return values, saturated


def _plain_layout(bounds: np.ndarray) -> bool:
    """At least one finite bound, strictly increasing, then +Inf: nothing to sort or merge."""
    if len(bounds) < 2 or bounds[-1] != math.inf:
        return False
    finite = bounds[:-1]
    return bool(np.isfinite(finite).all() and (np.diff(finite) > 0).all())


def _plain_rows(cum: np.ndarray) -> np.ndarray:
    """Rows that ensureMonotonicAndIgnoreSmallDeltas leaves as they are."""
    with np.errstate(invalid="ignore", over="ignore"):
        a, b = cum[:, :-1], cum[:, 1:]
        step = b - a
        abs_sum = np.abs(a) + np.abs(b)
        diff = np.abs(a - b)
        tiny = (a == 0) | (b == 0) | (abs_sum < _MIN_NORMAL)
        rel = diff / np.minimum(abs_sum, 1.7976931348623157e308)
        almost = np.where(
            tiny, diff < SMALL_DELTA_TOLERANCE * _MIN_NORMAL, rel < SMALL_DELTA_TOLERANCE
        )
        ok = np.isfinite(cum).all(axis=1) & (step >= 0).all(axis=1)
        return np.asarray(ok & ~(almost & (step != 0)).any(axis=1))


def _plain_quantile(
    q: float, bounds: np.ndarray, cum: np.ndarray
) -> tuple[np.ndarray, np.ndarray | bool]:
    """`bucket_quantile` of one q over rows that need no fixing (see bucket_quantiles)."""
    rows = len(cum)
    if math.isnan(q):
        return np.full(rows, math.nan), False
    if q < 0:
        return np.full(rows, -math.inf), False
    if q > 1:
        return np.full(rows, math.inf), False
    n = len(bounds) - 1
    observations = cum[:, -1]
    rank = q * observations
    b = (cum[:, :n] < rank[:, None]).sum(axis=1)  # sort.Search on a non-decreasing row
    at = np.minimum(b, n - 1)
    below = np.maximum(at - 1, 0)
    r = np.arange(rows)
    inside = b > 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        start = np.where(inside, bounds[below], 0.0)
        end = bounds[at]
        count = np.where(inside, cum[r, at] - cum[r, below], cum[r, at])
        rank_in = np.where(inside, rank - cum[r, below], rank)
        value = start + (end - start) * (rank_in / count)
    saturated = b == n
    value = np.where(saturated, bounds[n - 1], value)
    value = np.where((b == 0) & (bounds[0] <= 0), bounds[0], value)
    value = np.where(observations == 0, math.nan, value)
    return value, saturated & (observations != 0)


def exponential_bound(index: int, schema: int) -> float:
    """Upper bound of Prometheus native bucket `index` at `schema`: 2**(index * 2**-schema).

    Mirrors Prometheus getBound (ldexp of a fraction in [0.5, 1)) so bounds are exact powers
    of two where they should be.
    """
    if schema <= 0:
        exp = index << -schema
        if exp >= 1024:
            return 1.7976931348623157e308
        return math.ldexp(1.0, exp)
    frac_idx = index & ((1 << schema) - 1)
    frac = 2.0 ** (frac_idx / (1 << schema)) / 2.0
    exp = (index >> schema) + 1
    if exp > 1024 or (frac == 0.5 and exp == 1025):
        return 1.7976931348623157e308
    return math.ldexp(frac, exp)


def otlp_to_prometheus_buckets(
    scale: int, offset: int, counts: Sequence[float] | np.ndarray
) -> tuple[int, dict[int, float]]:
    """OTLP (scale, offset, counts) -> (schema, {prometheus index: count}).

    OTLP index i is Prometheus index i+1; scales finer than 8 are merged down to 8 by
    shifting the index (floor division by 2**(scale-8)) before adding 1.
    """
    arr = np.asarray(counts, dtype=np.float64)
    out: dict[int, float] = {}
    if arr.size == 0:
        return min(scale, MAX_SCHEMA), out
    shift = scale - MAX_SCHEMA if scale > MAX_SCHEMA else 0
    schema = scale - shift
    nz = np.nonzero(arr)[0]
    for i in nz.tolist():
        k = ((offset + i) >> shift) + 1
        out[k] = out.get(k, 0.0) + float(arr[i])
    return schema, out


class _Bucket(NamedTuple):
    lower: float
    upper: float
    n: float


def exponential_quantile(
    q: float,
    scale: int,
    zero_threshold: float,
    zero_count: float,
    positive_offset: int,
    positive_counts: Sequence[float] | np.ndarray,
    negative_offset: int = 0,
    negative_counts: Sequence[float] | np.ndarray = (),
    total_count: float | None = None,
    sum_is_nan: bool = False,
) -> QuantileResult:
    """Prometheus 3 `HistogramQuantile` for an OTLP exponential histogram (one window).

    `total_count` defaults to the sum of all buckets; pass the data point's count when it
    includes NaN observations (then also `sum_is_nan=True`), as Prometheus does.
    """
    schema, pos = otlp_to_prometheus_buckets(scale, positive_offset, positive_counts)
    _, neg = otlp_to_prometheus_buckets(scale, negative_offset, negative_counts)
    zc = float(zero_count)
    if total_count is None:
        total_count = zc + sum(pos.values()) + sum(neg.values())
    h_count = float(total_count)
    if q < 0:
        return QuantileResult(-math.inf)
    if q > 1:
        return QuantileResult(math.inf)
    if h_count == 0 or math.isnan(q):
        return QuantileResult(math.nan)
    zt = float(zero_threshold)

    # All buckets in ascending value order, the way AllBucketIterator walks them.
    buckets: list[_Bucket] = []
    for k in sorted(neg, reverse=True):  # most negative first
        lower, upper = -exponential_bound(k, schema), -exponential_bound(k - 1, schema)
        if -zt < upper < 0:
            upper = -zt
        buckets.append(_Bucket(lower, upper, neg[k]))
    if zc > 0:
        buckets.append(_Bucket(-zt, zt, zc))
    for k in sorted(pos):
        lower, upper = exponential_bound(k - 1, schema), exponential_bound(k, schema)
        if 0 < lower < zt:
            lower = zt
        buckets.append(_Bucket(lower, upper, pos[k]))
    forward = sum_is_nan or q < 0.5
    rank = q * h_count if forward else (1 - q) * h_count
    if not buckets:  # only NaN observations: Go's zero-value bucket answers 0, or 0/0 = NaN
        return QuantileResult(0.0 if rank > 0 else math.nan)
    order = buckets if forward else buckets[::-1]
    count = 0.0
    bucket = order[0]
    for bucket in order:
        if bucket.n == 0:
            continue
        count += bucket.n
        if count >= rank:
            break
    lower, upper, bcount = bucket
    if lower < 0 < upper:
        if not neg and pos:
            lower = 0.0
        elif not pos and neg:
            upper = 0.0
    count = min(count, h_count)
    if count < rank:
        return QuantileResult(upper)
    rank = rank - (count - bcount) if forward else count - rank
    fraction = _div(rank, bcount)
    if lower <= 0 <= upper:
        return QuantileResult(lower + (upper - lower) * fraction)
    log_lower = math.log2(abs(lower))
    log_upper = math.log2(abs(upper))
    if lower > 0:
        return QuantileResult(_exp2(log_lower + (log_upper - log_lower) * fraction))
    return QuantileResult(-_exp2(log_upper + (log_lower - log_upper) * (1 - fraction)))


def _exp2(x: float) -> float:
    """2**x as Go's math.Exp2 gives it: +Inf past the largest float, not OverflowError."""
    try:
        return float(2.0**x)
    except OverflowError:
        return math.inf


def is_saturated(q: float, total: float | None, top: float | None) -> bool:
    """Prometheus' condition for a quantile landing in the +Inf bucket: `total` is the rate
    of the +Inf bucket, `top` the highest finite bucket's (the service level and each route)."""
    if total is None or top is None or math.isnan(total) or math.isnan(top):
        return False  # no +Inf or no finite bucket: histogram_quantile is NaN anyway
    observations = max(total, top)  # Prometheus forces cumulative counts monotonic
    return observations > 0 and q * observations > top
