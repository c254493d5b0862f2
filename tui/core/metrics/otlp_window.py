"""Windows of one OTLP service's latency deltas, and the quantiles read from them.

The sink (`tui.core.metrics.otlp`) adds every latency delta of a service to its pending
`Slice`; `tick` closes the slice and merges the slices of the last `rate_window` into one
window, from which `window_quantile` answers P50/P95/P99 exactly as Prometheus'
`histogram_quantile(q, sum by (le) (increase(...)))` would: explicit buckets of every layout
side by side (as `sum by (le)` does), else the exponential histogram holding most requests,
else a summary's latest quantiles. `p99_bucket` names the bucket the P99 fell in, which the
spike detector trusts as the quantile's resolution.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from tui.core.metrics.otlp_expo import ExpoAcc
from tui.core.metrics.quantile import (
    MAX_SCHEMA,
    Bucket,
    QuantileResult,
    bucket_of,
    bucket_quantile,
    bucket_quantiles,
    exponential_bucket_of,
    exponential_quantile,
)


class Slice:
    """Latency deltas of one service between two ticks."""

    __slots__ = ("count", "errors", "explicit", "expo", "summary", "touched")

    def __init__(self) -> None:
        self.explicit: dict[tuple[float, ...], np.ndarray] = {}  # bounds in seconds -> counts
        self.expo: dict[float, ExpoAcc] = {}  # unit factor -> buckets in the metric's unit
        self.summary: dict[float, float] = {}  # quantile -> latest value, seconds
        self.count = 0.0
        self.errors = 0.0
        self.touched = False  # any point arrived, even one with zero new requests

    def add_explicit(self, bounds: tuple[float, ...], counts: np.ndarray) -> None:
        acc = self.explicit.get(bounds)
        if acc is None:
            self.explicit[bounds] = counts.astype(np.float64, copy=True)
        else:
            acc += counts

    def merge(self, other: Slice) -> None:
        for b, c in other.explicit.items():
            self.add_explicit(b, c)
        self.merge_expo(other)
        self.summary.update(other.summary)
        self.count += other.count
        self.errors += other.errors
        self.touched = self.touched or other.touched

    def merge_expo(self, other: Slice) -> None:
        for f, e in other.expo.items():
            mine = self.expo.get(f)
            if mine is None:
                mine = self.expo[f] = ExpoAcc(e.scale)
            mine.merge(e)


class Window:
    """A service's slices of the last rate_window, and their sum kept as slices come and go.

    `merged()` is what merging the slices oldest first gives, bit for bit: the explicit
    buckets, count and errors come from running sums while every value is an integer and the
    window's largest values add up to less than 2**52 (then any order of additions is exact),
    else from merging; exponential buckets and summaries are always merged from the slices
    that have them (rare beside explicit buckets, and their scales and "latest" need order).
    """

    def __init__(self) -> None:
        self.slices: deque[tuple[float, Slice]] = deque()
        self._reset()

    def _reset(self) -> None:
        self._explicit: dict[tuple[float, ...], np.ndarray] = {}
        self._live: dict[tuple[float, ...], int] = {}
        self._count = 0.0
        self._errors = 0.0
        self._inexact = 0  # slices in the window with a value that is not an integer
        self._magnitude = 0.0
        self._stale = False  # the running sums saw inexact values: rebuild before use

    def append(self, t: float, sl: Slice) -> None:
        self.slices.append((t, sl))
        self._apply(sl, 1)

    def expire(self, horizon: float) -> None:
        """Drop the slices closed at or before `horizon`."""
        while self.slices and self.slices[0][0] <= horizon:
            self._apply(self.slices.popleft()[1], -1)

    def _apply(self, sl: Slice, sign: int) -> None:
        values = [sl.count, sl.errors, *(float(np.abs(c).max()) for c in sl.explicit.values())]
        integral = all(math.isfinite(v) and v == math.floor(v) for v in values[:2]) and all(
            bool(np.isfinite(c).all() and (c == np.floor(c)).all()) for c in sl.explicit.values()
        )
        if not integral:
            self._inexact += sign
            self._stale = True
            return
        self._magnitude += sign * sum(abs(v) for v in values)
        self._count += sign * sl.count
        self._errors += sign * sl.errors
        for b, c in sl.explicit.items():
            self._live[b] = self._live.get(b, 0) + sign
            total = self._explicit.get(b)
            if total is None:
                self._explicit[b] = c.astype(np.float64, copy=True)
            elif sign > 0:
                total += c
            else:
                total -= c
            if not self._live[b]:
                del self._live[b], self._explicit[b]
        if self._magnitude >= 2.0**52:
            self._stale = True

    @property
    def _exact(self) -> bool:
        return self._inexact == 0 and self._magnitude < 2.0**52

    def merged(self) -> Slice:
        """The window as one slice."""
        if self._stale and self._exact:
            self._rebuild()
        if not self._exact:
            window = Slice()
            for _, sl in self.slices:
                window.merge(sl)
            return window
        window = Slice()
        window.count, window.errors = self._count, self._errors
        for _, sl in self.slices:
            for b in sl.explicit:
                if b not in window.explicit:
                    window.explicit[b] = self._explicit[b].copy()
            if sl.expo:
                window.merge_expo(sl)
            window.summary.update(sl.summary)
            window.touched = window.touched or sl.touched
        return window

    def _rebuild(self) -> None:
        self._reset()
        for _, sl in self.slices:
            self._apply(sl, 1)


def p99_bucket(value: float, w: Slice) -> Bucket | None:
    """The bucket (lower, upper], seconds, that holds `value`: what the spike detector trusts.

    A quantile cannot be resolved finer than its bucket, so a move inside one bucket is judged
    against its width. None when unknown: no finite positive bucket (first bucket from 0,
    +Inf), or a summary.
    """
    if w.explicit:
        return bucket_of(value, sorted({b for bs in w.explicit for b in bs}))
    best = max(w.expo.items(), key=lambda kv: kv[1].total, default=None)
    if best is None:
        return None
    factor, acc = best
    bucket = exponential_bucket_of(value / factor, min(acc.scale, MAX_SCHEMA))
    return None if bucket is None else (bucket[0] * factor, bucket[1] * factor)


def window_quantiles(qs: Sequence[float], windows: Sequence[Slice]) -> list[list[QuantileResult]]:
    """`window_quantile` of every q for every window: the windows whose explicit buckets all
    have one layout (the usual case) in one `bucket_quantiles` call per layout, bit for bit
    the same; the others one by one. Only `value` and `saturated` are set."""
    out: list[list[QuantileResult]] = [[] for _ in windows]
    by_layout: dict[tuple[float, ...], list[int]] = {}
    for i, w in enumerate(windows):
        if len(w.explicit) == 1 and _explicit_wins(w):
            by_layout.setdefault(next(iter(w.explicit)), []).append(i)
        else:
            out[i] = [window_quantile(q, w) for q in qs]
    for bounds, idx in by_layout.items():
        cum = np.cumsum(np.stack([windows[i].explicit[bounds] for i in idx]), axis=1)
        values, saturated = bucket_quantiles(qs, [*bounds, math.inf], cum)
        for row, i in enumerate(idx):
            out[i] = [
                QuantileResult(v, s)
                for v, s in zip(values[row].tolist(), saturated[row].tolist(), strict=True)
            ]
    return out


def _explicit_wins(w: Slice) -> bool:
    """The window's quantiles come from its explicit buckets (as `window_quantile` decides)."""
    exp_total = sum(e.total for e in w.expo.values())
    explicit_total = sum(float(c.sum()) for c in w.explicit.values())
    return bool(w.explicit) and explicit_total >= exp_total


def window_quantile(q: float, w: Slice) -> QuantileResult:
    """Quantile over one window: explicit buckets as `sum by (le)`, else exponential."""
    exp_total = sum(e.total for e in w.expo.values())
    exp_best = max(w.expo.items(), key=lambda kv: kv[1].total, default=None)
    explicit_total = sum(float(c.sum()) for c in w.explicit.values())
    if w.explicit and explicit_total >= exp_total:
        bounds: list[float] = []
        cum: list[float] = []
        for b, c in w.explicit.items():
            bounds.extend(b)
            bounds.append(math.inf)
            cum.extend(np.cumsum(c).tolist())
        return bucket_quantile(q, bounds, cum)
    if exp_best is not None:
        factor, e = exp_best
        r = exponential_quantile(
            q, e.scale, e.zero_threshold, e.zero_count, e.pos_off, e.pos, e.neg_off, e.neg
        )
        return QuantileResult(r.value * factor, r.saturated, r.forced_monotonic)
    if w.summary:
        v = w.summary.get(q)
        return QuantileResult(v if v is not None else math.nan)
    return QuantileResult(math.nan)
