"""The OTLP route breakdown's window: its closed slices and their sums, kept as they come and go.

`otlp_routes.OTLPRoutes` closes a slice of per-route bucket deltas every tick; the window holds
the slices of the last rate_window. Re-summing them every tick cost the dashboard most of its
per-second work at many routes, so `RouteWindow` adds a slice when it closes and subtracts it
when it leaves. That is exact -- bit for bit what re-summing oldest first gives -- while every
value is an integer and the window's largest values add up to less than 2**52 (then any order
of additions is exact); otherwise `sums` re-sums the slices (`resum`), and rebuilds the running
sums once the odd values have left. Memory: each slice holds its deltas in the smallest type
that holds them exactly (one refresh's counts fit uint16 mostly) and a run of busy routes as a
slice, not an index array; at 100,000 series this window is most of the sink's memory.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class ClosedSlice:
    """One closed slice: per layout the routes with requests and their bucket deltas, and the
    busy routes' counts and errors, each in the smallest type that holds it exactly."""

    __slots__ = ("busy", "count", "errors", "integral", "layouts", "magnitude", "t")

    def __init__(
        self,
        t: float,
        layouts: dict[tuple[float, ...], tuple[np.ndarray, np.ndarray]],
        busy: np.ndarray,
        count: np.ndarray,
        errors: np.ndarray,
    ) -> None:
        self.t = t
        self.layouts = {
            b: (_compact_index(rows), _compact(acc)) for b, (rows, acc) in layouts.items()
        }
        self.busy = _compact_index(busy)
        self.count = _compact(count)
        self.errors = _compact(errors)
        parts = [count, errors, *(acc for _, acc in layouts.values())]
        # every value an integer: then sums in any order are exact while below 2**53
        self.integral = all(_integral(p) for p in parts)
        # (a slice that is not integral is counted by `RouteWindow.inexact` instead: it may be NaN)
        self.magnitude = (
            sum(float(np.abs(p).max(initial=0.0)) for p in parts) if self.integral else 0.0
        )


Rows = np.ndarray | slice  # route ids: sorted, distinct; a run of them as a slice


def _compact_index(ids: np.ndarray) -> Rows:
    """Sorted distinct route ids as a slice when they are a run (every route busy), else
    int32: the same rows when indexing, a fraction of the memory."""
    if len(ids) and int(ids[-1]) - int(ids[0]) + 1 == len(ids):
        return slice(int(ids[0]), int(ids[-1]) + 1)
    return ids.astype(np.int32)


def _integral(a: np.ndarray) -> bool:
    return a.dtype.kind in "ui" or bool(np.isfinite(a).all() and (a == np.floor(a)).all())


def _compact(a: np.ndarray) -> np.ndarray:
    """`a` as uint16 / uint32 when it holds only integers that fit, else float64: memory at
    100,000 series is a window of these slices."""
    if a.size and _integral(a) and a.min() >= 0:
        top = a.max()
        if top <= 0xFFFF:
            return a.astype(np.uint16)
        if top <= 0xFFFFFFFF:
            return a.astype(np.uint32)
    return a.astype(np.float64, copy=True)


class RouteWindow:
    """Sums of the slices in the window, kept as slices come and go instead of re-summed.

    Exact, as re-summing would be, while every value is an integer and the window's largest
    values add up to less than 2**52; otherwise `sums` re-sums the slices as they are."""

    def __init__(self) -> None:
        self.count = np.zeros(0)
        self.errors = np.zeros(0)
        self.buckets: dict[tuple[float, ...], np.ndarray] = {}
        self.live: dict[tuple[float, ...], int] = {}  # slices in the window with the layout
        self.inexact = 0  # slices in the window with a value that is not an integer
        self.magnitude = 0.0
        self.stale = False  # the running sums saw inexact values: rebuild before use

    def add(self, done: ClosedSlice, n: int) -> None:
        self._grow(n)
        self._apply(done, 1.0)

    def remove(self, done: ClosedSlice) -> None:
        self._apply(done, -1.0)

    def _apply(self, done: ClosedSlice, sign: float) -> None:
        self.count[done.busy] += sign * done.count
        self.errors[done.busy] += sign * done.errors
        for b, (rows, acc) in done.layouts.items():
            total = self.buckets.get(b)
            if total is None:
                total = self.buckets[b] = np.zeros((len(self.count), len(b) + 1))
            if sign > 0:
                total[rows] += acc
            else:
                total[rows] -= acc
            self.live[b] = self.live.get(b, 0) + (1 if sign > 0 else -1)
            if not self.live[b]:
                del self.live[b], self.buckets[b]
        self.inexact += (0 if done.integral else 1) * (1 if sign > 0 else -1)
        self.magnitude += sign * done.magnitude
        if not self.exact:
            self.stale = True

    @property
    def exact(self) -> bool:
        return self.inexact == 0 and self.magnitude < 2.0**52

    def _grow(self, n: int) -> None:
        if n <= len(self.count):
            return
        cap = max(n, 2 * len(self.count), 8)
        self.count = np.concatenate([self.count, np.zeros(cap - len(self.count))])
        self.errors = np.concatenate([self.errors, np.zeros(cap - len(self.errors))])
        for b, total in self.buckets.items():
            grown = np.zeros((cap, total.shape[1]))
            grown[: len(total)] = total
            self.buckets[b] = grown

    def sums(
        self, slices: deque[ClosedSlice], n: int
    ) -> tuple[np.ndarray, np.ndarray, dict[tuple[float, ...], np.ndarray]]:
        """(count, errors, layout -> routes x buckets) over `slices`, layouts in the order
        re-summing the slices oldest first meets them."""
        self._grow(n)
        if self.stale and self.exact:  # the values that were not exact have left
            self._rebuild(slices)
        if not self.exact:
            return resum(slices, n)
        order: dict[tuple[float, ...], np.ndarray] = {}
        for done in slices:
            for b in done.layouts:
                if b not in order:
                    order[b] = self.buckets[b]
        return self.count[:n], self.errors[:n], order

    def _rebuild(self, slices: deque[ClosedSlice]) -> None:
        n = len(self.count)
        self.count[:], self.errors[:] = 0.0, 0.0
        self.buckets, self.live = {}, {}
        self.inexact, self.magnitude = 0, 0.0
        for done in slices:
            self._apply(done, 1.0)
        self._grow(n)
        self.stale = False


def resum(
    slices: deque[ClosedSlice], n: int
) -> tuple[np.ndarray, np.ndarray, dict[tuple[float, ...], np.ndarray]]:
    """The window's sums from its slices, oldest first."""
    count, errors = np.zeros(n), np.zeros(n)
    buckets: dict[tuple[float, ...], np.ndarray] = {}
    for done in slices:
        count[done.busy] += done.count
        errors[done.busy] += done.errors
        for b, (rows, acc) in done.layouts.items():
            total = buckets.get(b)
            if total is None:
                total = buckets[b] = np.zeros((n, len(b) + 1))
            total[rows] += acc
    return count, errors, buckets
