"""`bucket_quantiles` (many rows at once) is bit for bit `bucket_quantile` row by row.

Random bucket layouts (sorted or not, with duplicates, zero or negative bounds, NaN/Inf
bounds, without a +Inf bound) and random cumulative rows: integer counts as deltas give
them, decreasing steps (what Prometheus flattens), steps within its small-delta tolerance,
huge, tiny, zero and non-finite counts; the quantiles the sink asks and edge ones (0, 1,
outside [0, 1], NaN). Also the OTLP route breakdown: the busiest routes' signals, computed for
all rows at once, equal `_signals` asked for each row alone.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.metrics.otlp_routes import _signals, _top_signals
from tui.core.metrics.quantile import bucket_quantile, bucket_quantiles

QS = st.lists(
    st.one_of(
        st.sampled_from([0.5, 0.95, 0.99, 0.0, 1.0, -0.1, 1.5, math.nan]),
        st.floats(0, 1),
    ),
    min_size=1,
    max_size=4,
)
PLAIN_BOUND = st.floats(-10, 1e6, allow_nan=False, allow_infinity=False)
ODD_BOUND = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0])


@st.composite
def layouts(draw: st.DrawFn) -> list[float]:
    """Mostly what the sink holds (strictly increasing finite, then +Inf), sometimes not."""
    finite = sorted(set(draw(st.lists(PLAIN_BOUND, min_size=0, max_size=12))))
    if draw(st.integers(0, 4)) == 0:  # anything: unsorted, duplicates, odd values, no +Inf
        odd = draw(st.lists(st.one_of(PLAIN_BOUND, ODD_BOUND), min_size=0, max_size=12))
        return draw(st.permutations(odd))
    return [*finite, math.inf]


COUNT = st.one_of(
    st.integers(0, 50).map(float),
    st.integers(0, 2**60).map(float),
    st.floats(-5, 1e18, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324]),
)


@st.composite
def rows_for(draw: st.DrawFn, nb: int) -> np.ndarray:
    """Cumulative rows: from non-negative integer deltas mostly, any values sometimes."""
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 3))
        if kind <= 1:
            deltas = draw(st.lists(st.integers(0, 1000), min_size=nb, max_size=nb))
            rows.append(np.cumsum(np.asarray(deltas, dtype=np.float64)))
        elif kind == 2:  # within Prometheus' small-delta tolerance of each other
            base = draw(st.floats(1, 1e15))
            steps = draw(st.lists(st.sampled_from([0.0, 1e-13, 1e-12, 1.0]), min_size=nb))
            rows.append(base * (1 + np.cumsum(np.asarray(steps[:nb], dtype=np.float64))))
        else:
            rows.append(np.asarray(draw(st.lists(COUNT, min_size=nb, max_size=nb))))
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), nb)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


@settings(max_examples=400, deadline=None)
@given(data=st.data(), qs=QS)
def test_many_rows_at_once_equal_one_row_at_a_time(data: st.DataObject, qs: list[float]) -> None:
    bounds = data.draw(layouts())
    cum = data.draw(rows_for(len(bounds)))
    values, saturated = bucket_quantiles(qs, bounds, cum)
    assert values.shape == saturated.shape == (len(cum), len(qs))
    for i, row in enumerate(cum):
        for j, q in enumerate(qs):
            want = bucket_quantile(q, bounds, row.tolist())
            assert same(float(values[i, j]), want.value), (q, bounds, row.tolist())
            assert bool(saturated[i, j]) == want.saturated, (q, bounds, row.tolist())


def test_a_layout_without_buckets_and_the_wrong_shape() -> None:
    values, saturated = bucket_quantiles([0.5], [], np.zeros((2, 0)))
    assert np.isnan(values).all() and not saturated.any()
    try:
        bucket_quantiles([0.5], [1.0, math.inf], np.zeros((2, 3)))
    except ValueError as e:
        assert "rows x len(upper_bounds)" in str(e)
    else:
        raise AssertionError("a row of the wrong length was taken")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_route_signals_for_many_rows_equal_one_row_at_a_time(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 8))
    buckets = {}
    for _ in range(data.draw(st.integers(0, 3))):
        finite = tuple(sorted(set(data.draw(st.lists(PLAIN_BOUND, min_size=1, max_size=6)))))
        deltas = data.draw(
            st.lists(
                st.integers(0, 30), min_size=n * (len(finite) + 1), max_size=n * (len(finite) + 1)
            )
        )
        buckets[finite] = np.asarray(deltas, dtype=np.float64).reshape(n, len(finite) + 1)
    top = np.asarray(
        data.draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=n, unique=True))
    )
    count = np.asarray(data.draw(st.lists(st.integers(0, 100), min_size=n, max_size=n)), float)
    errors = np.minimum(count, 3.0)
    got = _top_signals(buckets, top.astype(np.intp), count, errors, 5.0)
    assert len(got) == len(top)
    for rid, row in zip(top.tolist(), got, strict=True):
        want = _signals(buckets, [rid], count[rid], errors[rid], 5.0)
        assert all(same(a, b) for a, b in zip(row, want, strict=True)), (rid, row, want)
