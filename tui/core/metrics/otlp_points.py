"""Applying OTLP points: temporality to deltas, and deltas to a service's pending slice.

Delta temporality is taken as is; a cumulative point becomes itself minus the previous point
of the same series, and a counter reset -- another start time or a lower count -- restarts
from the new value. A series first seen counts in full only if it started after the sink
began listening (`IngestContext.fresh`); otherwise its first point is just the baseline.

- `apply_rows`: a batch of explicit-bucket latency points, rows of one `Matrix`, at once.
- `apply_point`: any other point (gauge, sum, summary, exponential histogram, a histogram
  that is not the latency metric), one at a time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tui.core.metrics.otlp_exemplars import add_exemplars
from tui.core.metrics.otlp_expo import ExpoAcc, ExpoPoint, cumulative_delta
from tui.core.metrics.otlp_routes import route_of
from tui.core.metrics.otlp_series import (
    NO_RECORDED_VALUE,
    TEMPORALITY_DELTA,
    IngestContext,
    Matrix,
    Series,
    ServiceState,
)


def apply_rows(
    ctx: IngestContext,
    service: ServiceState,
    mat: Matrix,
    rows: list[int] | np.ndarray,
    cur: np.ndarray,
    counts: list[int] | np.ndarray,
    starts: list[int] | np.ndarray,
    temporality: int,
) -> None:
    """Points `cur` (rows x buckets) of distinct `rows` of `mat`: deltas into the slice."""
    r = np.asarray(rows, dtype=np.intp)
    cnt = np.asarray(counts, dtype=np.float64)
    if temporality == TEMPORALITY_DELTA:
        delta, dcnt = cur, cnt
    else:
        st = np.asarray(starts, dtype=np.uint64)
        seen = mat.seen[r]
        prev_cnt = mat.count[r]
        reset = (st != mat.start[r]) | (cnt < prev_cnt)
        if seen.all() and not reset.any():  # the steady state: every point a plain delta
            delta, dcnt = cur - mat.prev[r], cnt - prev_cnt
        else:
            fresh = ~seen & (st >= ctx.started_ns) & (st > 0)
            whole = (seen & reset) | fresh
            keep = seen & ~reset
            delta = np.where(whole[:, None], cur, np.where(keep[:, None], cur - mat.prev[r], 0.0))
            dcnt = np.where(whole, cnt, np.where(keep, cnt - prev_cnt, 0.0))
        mat.prev[r] = cur
        mat.count[r] = cnt
        mat.start[r] = st
        mat.seen[r] = True
    sl = service.pending
    sl.add_explicit(mat.bounds_s, delta.sum(axis=0))
    sl.count += float(dcnt.sum())
    errs = mat.err[r]
    mat.pending[r] += delta  # rows are distinct within one call (see otlp_explicit)
    mat.pcount[r] += dcnt
    if errs.any():
        sl.errors += float(dcnt[errs].sum())


def apply_point(
    ctx: IngestContext,
    service: ServiceState,
    st: Series,
    kind: str,
    dp: Any,
    temporality: int,
    factor: float,
    latency: bool,
) -> str:
    """One point that is not a row of a matrix; returns why it was rejected, or ''."""
    st.t = dp.time_unix_nano
    if dp.flags & NO_RECORDED_VALUE:
        st.count = -1.0
        st.expo = None
        return ""
    if kind == "gauge" or kind == "sum":
        which = dp.WhichOneof("value")
        v = float(dp.as_int if which == "as_int" else dp.as_double)
        if kind == "sum" and temporality == TEMPORALITY_DELTA:
            st.value = (0.0 if math.isnan(st.value) else st.value) + v
        else:
            st.value = v
        return ""
    if kind == "histogram":  # not the latency metric: keep count and sum only
        st.value = dp.count
        return ""
    if kind == "summary":
        _summary(ctx, service, st, dp, temporality, factor, latency)
        return ""
    return _exponential(ctx, service, st, dp, temporality, factor, latency)


def _summary(
    ctx: IngestContext,
    service: ServiceState,
    st: Series,
    dp: Any,
    temporality: int,
    factor: float,
    latency: bool,
) -> None:
    cnt = float(dp.count)
    dcnt = count_delta(ctx, st, dp, cnt, temporality)
    st.value = cnt
    if latency:
        ctx.register(service)
        sl = service.pending
        for qv in dp.quantile_values:
            sl.summary[qv.quantile] = qv.value * factor
        sl.count += dcnt
        if st.is_error:
            sl.errors += dcnt


def _exponential(
    ctx: IngestContext,
    service: ServiceState,
    st: Series,
    dp: Any,
    temporality: int,
    factor: float,
    latency: bool,
) -> str:
    if latency and dp.exemplars:
        where = route_of(dp.attributes)
        add_exemplars(ctx.store.exemplars, service.name, where, dp.exemplars, factor)
    scale = dp.scale
    if not -10 <= scale <= 20:
        return f"exponential histogram scale {scale} outside [-10, 20]"
    pos = np.asarray(dp.positive.bucket_counts, dtype=np.float64)
    neg = np.asarray(dp.negative.bucket_counts, dtype=np.float64)
    cur: ExpoPoint = (scale, float(dp.zero_count), dp.positive.offset, pos, dp.negative.offset, neg)
    cnt = float(dp.count)
    if temporality == TEMPORALITY_DELTA:
        d, dcnt = cur, cnt
    else:
        start = dp.start_time_unix_nano
        d, dcnt = cumulative_delta(st.expo, st.start, st.count, cur, cnt, start, ctx.started_ns)
        st.expo = cur
        st.start = start
        st.count = cnt
    if latency:
        ctx.register(service)
        sl = service.pending
        e = sl.expo.get(factor)
        if e is None:
            e = sl.expo[factor] = ExpoAcc(d[0])
        e.add(d[0], d[1], float(dp.zero_threshold), d[2], d[3], d[4], d[5])
        sl.count += dcnt
        if st.is_error:
            sl.errors += dcnt
    return ""


def count_delta(ctx: IngestContext, st: Series, dp: Any, cnt: float, temporality: int) -> float:
    """The count delta of a point with a count only (a summary), updating the series."""
    if temporality == TEMPORALITY_DELTA:
        return cnt
    if st.count < 0:
        d = cnt if ctx.fresh(dp.start_time_unix_nano) else 0.0
    elif dp.start_time_unix_nano != st.start or cnt < st.count:
        d = cnt
    else:
        d = cnt - st.count
    st.start = dp.start_time_unix_nano
    st.count = cnt
    return d
