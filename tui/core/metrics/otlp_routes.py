"""Per-route breakdown of one OTLP service's latency histogram, by the `http.route` attribute.

The OTLP sink hands every explicit-bucket delta it computes for the service to `add`, with the
route id of each series (`route_id`, from the point's attributes, assigned once per series).
`tick(now)` closes the slice, as the sink does for the whole service, and computes over the
last `rate_window`: each route's request rate, the busiest TOP_ROUTES routes' P50/P95/P99
(exactly as `histogram_quantile` over `sum by (le, http.route)`), QPS and error ratio, and the
same for the rest summed into one "other" row that counts its routes. Those points go into
short rings, so the route view opened later has the window's history of its routes.

Bounded by construction: route ids exist only for series the sink admitted (its max_series
cap), a slice holds only the routes that had requests in it, and history is kept for at most
HISTORY_ROUTES rows (the top routes now, "other", and a few that just left the top), each
ring holding one window of points. Quantiles use the route's own bucket layout; a route whose
series disagree on their layout is judged by the layout holding most of its requests.

Cost per tick (the dashboard pays it every refresh): the window's sums are kept as slices
come and go (`otlp_route_window`, exact for integer counts, else re-summed), and the busiest routes'
quantiles are computed in one `bucket_quantiles` call per layout. Memory: a window of slices,
each holding its deltas in the smallest exact type (counts of one refresh fit uint16 mostly)
and a run of busy routes as a slice, not an index array.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from tui.core.metrics.otlp_route_window import ClosedSlice, RouteWindow
from tui.core.metrics.quantile import bucket_quantile, bucket_quantiles
from tui.core.metrics.routes import OTHER, TOP_ROUTES, RouteRow
from tui.core.metrics.store import QUANTILE_SIGNALS

ROUTE_ATTRIBUTES = ("http.route", "url.template")  # semantic conventions, first present wins
NO_ROUTE = "(no route)"
HISTORY_ROUTES = TOP_ROUTES + 12  # rows with a history ring: the top, "other", recent leavers
# `_top`: the rate of requests in finite buckets, scaled to `qps` (the +Inf bucket's), so
# `routes.saturated_counts` tells a quantile in the +Inf bucket as for a Prometheus route
SIGNALS = (*QUANTILE_SIGNALS, "qps", "error_ratio", "_top")
MAX_ROUTE_NAME = 200  # characters of a route kept (a runaway attribute is not a key)


def route_of(attributes: Any) -> str:
    """The route of a point's attributes (protobuf KeyValues), NO_ROUTE when it has none."""
    for kv in attributes:
        if kv.key in ROUTE_ATTRIBUTES and kv.value.WhichOneof("value") == "string_value":
            return kv.value.string_value[:MAX_ROUTE_NAME] or NO_ROUTE
    return NO_ROUTE


class _History:
    """One row's points over the window: times and the five signals, preallocated."""

    __slots__ = ("last_top", "n", "start", "t", "v")

    def __init__(self, capacity: int) -> None:
        self.t = np.zeros(capacity)
        self.v = np.full((capacity, len(SIGNALS)), math.nan)
        self.n = 0
        self.start = 0
        self.last_top = 0.0

    def append(self, t: float, values: list[float]) -> None:
        cap = len(self.t)
        i = (self.start + self.n) % cap
        self.t[i], self.v[i] = t, values
        if self.n < cap:
            self.n += 1
        else:
            self.start = (self.start + 1) % cap

    def series(self) -> dict[str, list[tuple[float, float]]]:
        idx = (self.start + np.arange(self.n)) % len(self.t)
        ts = self.t[idx].tolist()
        return {
            sig: list(zip(ts, self.v[idx, j].tolist(), strict=True))
            for j, sig in enumerate(SIGNALS)
        }


class OTLPRoutes:
    """Route ids, per-tick per-route bucket deltas and the top routes' history of one service."""

    def __init__(self, rate_window: float, window: float, refresh: float) -> None:
        self.rate_window = rate_window
        self.capacity = max(8, int(window / max(refresh, 0.01)) + 2)
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        # pending slice: bounds (seconds) -> (routes x buckets) counts, and per-route totals
        self._pending: dict[tuple[float, ...], np.ndarray] = {}
        self._count = np.zeros(0)
        self._errors = np.zeros(0)
        self._slices: deque[ClosedSlice] = deque()
        self._window = RouteWindow()
        self.history: dict[str, _History] = {}
        self.routes_now = 0  # routes with requests in the last rate_window
        self.other_now = 0  # of which summed into "other"
        self.t = 0.0  # time of the newest rows (a tick with requests in its rate window)

    def route_id(self, attributes: Any) -> int:
        name = route_of(attributes)
        rid = self.ids.get(name)
        if rid is None:
            rid = self.ids[name] = len(self.names)
            self.names.append(name)
        return rid

    def add(
        self,
        bounds: tuple[float, ...],
        ids: np.ndarray,
        delta: np.ndarray,
        dcount: np.ndarray,
        errors: np.ndarray,
    ) -> None:
        """Bucket deltas `delta` (rows x buckets) of series on routes `ids` in one layout."""
        if not len(ids):
            return
        if len(self._count) < len(self.names):
            count = np.zeros(max(len(self.names), 2 * len(self._count), 8))
            count[: len(self._count)] = self._count
            errs = np.zeros(len(count))
            errs[: len(self._errors)] = self._errors
            self._count, self._errors = count, errs
        cap = len(self._count)
        acc = self._pending.get(bounds)
        if acc is None or len(acc) < cap:
            grown = np.zeros((cap, len(bounds) + 1))
            if acc is not None:
                grown[: len(acc)] = acc
            acc = self._pending[bounds] = grown
        np.add.at(acc, ids, delta)
        np.add.at(self._count, ids, dcount)
        if errors.any():
            np.add.at(self._errors, ids[errors], dcount[errors])

    def tick(self, now: float, span: float) -> None:
        """Close the pending slice; drop slices older than rate_window; update the history.

        `span`: the seconds the window's counts cover (the sink's, so the rows' QPS add up
        to the service's)."""
        if self._pending:
            busy = np.nonzero(self._count)[0]
            layouts = {}
            for b, acc in self._pending.items():
                rows = np.nonzero(acc[: len(self._count)].any(axis=1))[0]
                if len(rows):
                    layouts[b] = (rows, acc[rows])
            if len(busy) or layouts:
                done = ClosedSlice(now, layouts, busy, self._count[busy], self._errors[busy])
                self._slices.append(done)
                self._window.add(done, len(self.names))
            self._pending = {}
            self._count = np.zeros(len(self._count))
            self._errors = np.zeros(len(self._count))
        horizon = now - self.rate_window
        while self._slices and self._slices[0].t <= horizon:
            self._window.remove(self._slices.popleft())
        if not self._slices:
            return
        self._record(now, span)

    def _record(self, now: float, span: float) -> None:
        n = len(self.names)
        count, errors, buckets = self._window.sums(self._slices, n)
        active = np.nonzero(count > 0)[0]
        order = active[np.argsort(-count[active], kind="stable")]
        top = order[:TOP_ROUTES]
        rest = order[TOP_ROUTES:]
        self.routes_now, self.other_now = len(active), len(rest)
        self.t = now  # the rows of this tick are the view's until the next one with data
        for rid, values in zip(
            top.tolist(), _top_signals(buckets, top, count, errors, span), strict=True
        ):
            hist = self._history(self.names[rid], now)
            hist.last_top = now
            hist.append(now, values)
        if len(rest):
            hist = self._history(OTHER, now)
            hist.last_top = now
            c, e = float(count[rest].sum()), float(errors[rest].sum())
            hist.append(now, _signals(buckets, rest, c, e, span))

    def _history(self, name: str, now: float) -> _History:
        hist = self.history.get(name)
        if hist is None:
            if len(self.history) >= HISTORY_ROUTES:  # evict the row out of the top longest
                oldest = min(self.history, key=lambda k: self.history[k].last_top)
                del self.history[oldest]
            hist = self.history[name] = _History(self.capacity)
        return hist

    def rows(self) -> list[RouteRow]:
        """The rows now: the routes in the top at the newest tick, and "other"."""
        out = []
        for name, hist in self.history.items():
            if hist.last_top == self.t and hist.n:
                routes = self.other_now if name == OTHER else 1
                out.append(RouteRow(name, hist.series(), routes=routes))
        return out


def _top_signals(
    buckets: dict[tuple[float, ...], np.ndarray],
    top: np.ndarray,
    count: np.ndarray,
    errors: np.ndarray,
    span: float,
) -> list[list[float]]:
    """`_signals` of each route in `top` alone, the quantiles of all of them at once.

    Each row takes the layout holding most of its requests (the first such layout on a tie,
    as `_signals`); the rows of one layout go through one `bucket_quantiles` call.
    """
    qs = list(QUANTILE_SIGNALS.values())
    quantiles = np.full((len(top), len(qs)), math.nan)
    finite = np.full(len(top), math.nan)  # share of the requests in finite buckets
    layouts = list(buckets.items())
    if layouts and len(top):
        totals = np.stack([total[top].sum(axis=1) for _, total in layouts])
        best = np.zeros(len(top), dtype=np.intp)
        for k in range(1, len(layouts)):  # strictly more, as `_signals` compares
            best[totals[k] > totals[best, np.arange(len(top))]] = k
        for k, (bounds, total) in enumerate(layouts):
            rows = np.nonzero((best == k) & (totals[k] > 0))[0]
            if len(rows):
                cum = np.cumsum(total[top[rows]], axis=1)
                quantiles[rows] = bucket_quantiles(qs, [*bounds, math.inf], cum)[0]
                if cum.shape[1] > 1:
                    finite[rows] = cum[:, -2] / cum[:, -1]
    c, e = count[top], errors[top]
    with np.errstate(divide="ignore", invalid="ignore"):
        qps = c / span if span > 0 else np.full(len(top), math.nan)
        ratio = np.where(c > 0, e / np.where(c > 0, c, 1.0), math.nan)
    out: list[list[float]] = np.column_stack([quantiles, qps, ratio, qps * finite]).tolist()
    return out


def _signals(
    buckets: dict[tuple[float, ...], np.ndarray],
    rows: Any,
    count: float,
    errors: float,
    span: float,
) -> list[float]:
    """P50/P95/P99 from the layout holding most of `rows`' requests, QPS and error ratio."""
    best: np.ndarray | None = None
    best_bounds: tuple[float, ...] = ()
    for b, total in buckets.items():
        summed = total[rows].sum(axis=0)
        if best is None or summed.sum() > best.sum():
            best, best_bounds = summed, b
    quantiles = [math.nan] * len(QUANTILE_SIGNALS)
    qps = count / span if span > 0 else math.nan
    top = math.nan
    if best is not None and best.sum() > 0:
        bounds = [*best_bounds, math.inf]
        cum = np.cumsum(best).tolist()
        quantiles = [bucket_quantile(q, bounds, cum).value for q in QUANTILE_SIGNALS.values()]
        top = qps * (cum[-2] / cum[-1]) if len(cum) > 1 else math.nan
    ratio = errors / count if count > 0 else math.nan
    return [*quantiles, qps, ratio, top]
