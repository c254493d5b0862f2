"""OTLP exponential histograms: one point's delta, and deltas summed over a window.

The OTLP sink (`tui.core.metrics.otlp`) keeps each exponential series' previous cumulative
point as an `ExpoPoint` and turns the next one into a delta with `cumulative_delta` (a counter
reset -- new start time, a lower count, a bucket that went down, an SDK that raised its scale
-- restarts from the new point). `ExpoAcc` sums such deltas at one scale, as Prometheus sums
native histograms: a finer delta is merged down to the accumulator's scale, a coarser one
merges the accumulator down. Indexes stay in OTLP index space; `quantile.exponential_quantile`
maps them to Prometheus buckets.

Bounded: offsets are any int32, so two runs far apart would need an array of the whole span;
both sides are coarsened one scale at a time (as an SDK does past its bucket limit) until the
span fits MAX_EXPO_SPAN buckets.
"""

from __future__ import annotations

import numpy as np

MAX_EXPO_SPAN = 1 << 16  # buckets one exponential accumulation may span (SDKs keep 160)

# one exponential point: (scale, zero_count, positive offset, positive counts,
# negative offset, negative counts), counts as float64 arrays in OTLP index space
ExpoPoint = tuple[int, float, int, np.ndarray, int, np.ndarray]


class ExpoAcc:
    """Summed exponential-histogram deltas at one scale (OTLP index space)."""

    __slots__ = ("neg", "neg_off", "pos", "pos_off", "scale", "zero_count", "zero_threshold")

    def __init__(self, scale: int) -> None:
        self.scale = scale
        self.zero_count = 0.0
        self.zero_threshold = 0.0
        self.pos_off = 0
        self.pos = np.zeros(0)
        self.neg_off = 0
        self.neg = np.zeros(0)

    def add(
        self,
        scale: int,
        zc: float,
        zt: float,
        pos_off: int,
        pos: np.ndarray,
        neg_off: int,
        neg: np.ndarray,
    ) -> None:
        if scale > self.scale:
            pos_off, pos = downscale(pos_off, pos, scale - self.scale)
            neg_off, neg = downscale(neg_off, neg, scale - self.scale)
        elif scale < self.scale:
            self.pos_off, self.pos = downscale(self.pos_off, self.pos, self.scale - scale)
            self.neg_off, self.neg = downscale(self.neg_off, self.neg, self.scale - scale)
            self.scale = scale
        while span(self.pos_off, self.pos, pos_off, pos) > MAX_EXPO_SPAN or (
            span(self.neg_off, self.neg, neg_off, neg) > MAX_EXPO_SPAN
        ):
            self.pos_off, self.pos = downscale(self.pos_off, self.pos, 1)
            self.neg_off, self.neg = downscale(self.neg_off, self.neg, 1)
            pos_off, pos = downscale(pos_off, pos, 1)
            neg_off, neg = downscale(neg_off, neg, 1)
            self.scale -= 1
        self.zero_count += zc
        self.zero_threshold = max(self.zero_threshold, zt)
        self.pos_off, self.pos = aligned_add(self.pos_off, self.pos, pos_off, pos)
        self.neg_off, self.neg = aligned_add(self.neg_off, self.neg, neg_off, neg)

    def merge(self, other: ExpoAcc) -> None:
        self.add(
            other.scale,
            other.zero_count,
            other.zero_threshold,
            other.pos_off,
            other.pos,
            other.neg_off,
            other.neg,
        )

    @property
    def total(self) -> float:
        return self.zero_count + float(self.pos.sum()) + float(self.neg.sum())


def downscale(off: int, arr: np.ndarray, by: int) -> tuple[int, np.ndarray]:
    """Merge buckets to a coarser scale: index i -> i >> by."""
    if by <= 0 or arr.size == 0:
        return off, arr
    idx = (off + np.arange(arr.size, dtype=np.int64)) >> by
    new_off = int(idx[0])
    out = np.zeros(int(idx[-1]) - new_off + 1)
    np.add.at(out, idx - new_off, arr)
    return new_off, out


def span(off: int, arr: np.ndarray, off2: int, arr2: np.ndarray) -> int:
    """Buckets from the lowest to the highest index of two non-empty runs (0 if one is empty)."""
    if arr.size == 0 or arr2.size == 0:
        return 0
    return max(off + arr.size, off2 + arr2.size) - min(off, off2)


def aligned_add(off: int, arr: np.ndarray, off2: int, arr2: np.ndarray) -> tuple[int, np.ndarray]:
    """Two runs of buckets summed (in place into `arr` when `arr2` falls inside it)."""
    if arr2.size == 0:
        return off, arr
    if arr.size == 0:
        return off2, arr2.astype(np.float64, copy=True)
    lo = min(off, off2)
    hi = max(off + arr.size, off2 + arr2.size)
    if lo == off and hi == off + arr.size:
        arr[off2 - lo : off2 - lo + arr2.size] += arr2
        return off, arr
    out = np.zeros(hi - lo)
    out[off - lo : off - lo + arr.size] += arr
    out[off2 - lo : off2 - lo + arr2.size] += arr2
    return lo, out


def aligned_sub(off: int, arr: np.ndarray, off2: int, arr2: np.ndarray) -> tuple[int, np.ndarray]:
    return aligned_add(off, arr.astype(np.float64, copy=True), off2, -arr2)


def cumulative_delta(
    prev: ExpoPoint | None,
    prev_start: int,
    prev_count: float,
    cur: ExpoPoint,
    count: float,
    start: int,
    started_ns: int,
) -> tuple[ExpoPoint, float]:
    """The delta (and count delta) of cumulative point `cur` after `prev` of the same series.

    A series first seen counts in full only if it started after the sink began listening
    (`started_ns`); otherwise its first point is only the baseline of the next.
    """
    scale = cur[0]
    if prev is None:
        if start >= started_ns and start > 0:
            return cur, count
        return (scale, 0.0, 0, np.zeros(0), 0, np.zeros(0)), 0.0
    if start != prev_start or count < prev_count:
        return cur, count
    ps, pzc, ppo, pp, pno, pn = prev
    if ps > scale:  # the SDK rescaled its cumulative state: compare at the new scale
        ppo, pp = downscale(ppo, pp, ps - scale)
        pno, pn = downscale(pno, pn, ps - scale)
    # offsets moved further than any real histogram spans: a reset, not a delta
    if span(cur[2], cur[3], ppo, pp) > MAX_EXPO_SPAN or span(cur[4], cur[5], pno, pn) > (
        MAX_EXPO_SPAN
    ):
        return cur, count
    po, pd = aligned_sub(cur[2], cur[3], ppo, pp)
    no, nd = aligned_sub(cur[4], cur[5], pno, pn)
    if (pd < 0).any() or (nd < 0).any() or ps < scale:
        return cur, count
    return (scale, cur[1] - pzc, po, pd, no, nd), count - prev_count
