"""Running window sums equal re-summing the slices, bit for bit: the OTLP route breakdown's
and each service's window (`otlp_window.Window`), and the quantiles read from them.

Random ticks of random per-route deltas over two bucket layouts, routes appearing as they
go, slices leaving the window: integer counts (kept as running sums), and now and then a
fraction, a huge count or NaN (which must fall back to re-summing, then recover). After every
tick the sums `_record` reads are compared with re-summing the slices oldest first, layout
order included; and the rows drawn from them with those of a breakdown fed the same.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tui.core.metrics.otlp_expo import ExpoAcc
from tui.core.metrics.otlp_route_window import resum
from tui.core.metrics.otlp_routes import OTLPRoutes
from tui.core.metrics.otlp_window import Slice, Window, window_quantile, window_quantiles

LAYOUTS = ((0.1, 0.5), (0.01, 0.1, 1.0))
VALUE = st.one_of(
    st.integers(0, 40).map(float),
    st.integers(0, 70_000).map(float),  # past uint16
    st.sampled_from([0.5, 2.0**60, math.nan, 1e300]),
)


def attrs(route: int) -> list[KeyValue]:
    return [KeyValue(key="http.route", value=AnyValue(string_value=f"/r{route}"))]


@st.composite
def ticks(draw: st.DrawFn) -> list[list[tuple[int, int, list[float], float, bool]]]:
    """Per tick: (layout, route, bucket deltas, count, is_error) adds."""
    out = []
    for _ in range(draw(st.integers(1, 14))):
        adds = []
        for _ in range(draw(st.integers(0, 4))):
            layout = draw(st.integers(0, len(LAYOUTS) - 1))
            nb = len(LAYOUTS[layout]) + 1
            odd = draw(st.integers(0, 9)) == 0
            value = VALUE if odd else st.integers(0, 40).map(float)
            deltas = draw(st.lists(value, min_size=nb, max_size=nb))
            adds.append((layout, draw(st.integers(0, 5)), deltas, sum(deltas), draw(st.booleans())))
        out.append(adds)
    return out


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


@settings(max_examples=150, deadline=None)
@given(plan=ticks())
def test_running_sums_equal_resumming(
    plan: list[list[tuple[int, int, list[float], float, bool]]],
) -> None:
    routes = OTLPRoutes(rate_window=4.0, window=60.0, refresh=1.0)
    for step, adds in enumerate(plan):
        for layout, route, deltas, count, err in adds:
            rid = routes.route_id(attrs(route))
            routes.add(
                LAYOUTS[layout],
                np.asarray([rid], dtype=np.intp),
                np.asarray([deltas]),
                np.asarray([count]),
                np.asarray([err]),
            )
        routes.tick(float(step), 4.0)
        n = len(routes.names)
        got_count, got_errors, buckets = routes._window.sums(routes._slices, n)
        want_count, want_errors, want_buckets = resum(routes._slices, n)
        assert same(got_count[:n], want_count) and same(got_errors[:n], want_errors)
        assert list(buckets) == list(want_buckets)
        for b, total in buckets.items():
            assert same(total[:n], want_buckets[b]), (step, b)


def test_a_nan_falls_back_to_resumming_until_it_leaves_the_window() -> None:
    routes = OTLPRoutes(rate_window=2.0, window=60.0, refresh=1.0)
    rid = np.asarray([routes.route_id(attrs(1))], dtype=np.intp)
    for step, first in enumerate([math.nan, 1.0, 2.0, 3.0]):
        routes.add(
            LAYOUTS[0], rid, np.asarray([[first, 1.0, 0.0]]), np.asarray([2.0]), np.asarray([False])
        )
        routes.tick(float(step), 2.0)
        assert routes._window.exact == (step >= 2)  # the NaN slice left at step 2
    count, _, buckets = routes._window.sums(routes._slices, 1)
    assert not routes._window.stale  # rebuilt from the slices once exact again
    assert buckets[LAYOUTS[0]][0].tolist() == [5.0, 2.0, 0.0] and count[0] == 4.0


@st.composite
def service_slices(draw: st.DrawFn) -> list[Slice]:
    """Slices as the sink closes them: explicit deltas of two layouts, now and then a
    fraction, NaN or a huge count, an exponential histogram or a summary."""
    out = []
    for _ in range(draw(st.integers(1, 12))):
        sl = Slice()
        for layout in draw(st.lists(st.sampled_from(LAYOUTS), max_size=2, unique=True)):
            odd = draw(st.integers(0, 9)) == 0
            value = VALUE if odd else st.integers(0, 40).map(float)
            deltas = draw(st.lists(value, min_size=len(layout) + 1, max_size=len(layout) + 1))
            sl.add_explicit(layout, np.asarray(deltas))
        sl.count = draw(st.one_of(st.integers(0, 100).map(float), VALUE))
        sl.errors = draw(st.integers(0, 5).map(float))
        if draw(st.integers(0, 5)) == 0:
            acc = sl.expo[1.0] = ExpoAcc(draw(st.integers(0, 3)))
            counts = np.asarray(draw(st.lists(st.integers(0, 9).map(float), max_size=5)))
            acc.add(acc.scale, 1.0, 0.0, draw(st.integers(-3, 3)), counts, 0, np.zeros(0))
        if draw(st.integers(0, 5)) == 0:
            sl.summary[0.99] = draw(st.floats(0, 2))
        sl.touched = draw(st.booleans())
        out.append(sl)
    return out


def merged_by_hand(slices: list[Slice]) -> Slice:
    window = Slice()
    for sl in slices:
        window.merge(sl)
    return window


@settings(max_examples=150, deadline=None)
@given(slices=service_slices(), keep=st.integers(1, 5))
def test_a_service_window_equals_merging_its_slices(slices: list[Slice], keep: int) -> None:
    window = Window()
    for t, sl in enumerate(slices):
        window.append(float(t), sl)
        window.expire(float(t) - keep)
        got = window.merged()
        want = merged_by_hand([s for _, s in window.slices])
        assert list(got.explicit) == list(want.explicit)
        for b, c in got.explicit.items():
            assert same(c, want.explicit[b]), (t, b)
        assert same(np.asarray([got.count, got.errors]), np.asarray([want.count, want.errors]))
        assert got.summary == want.summary and got.touched == want.touched
        assert list(got.expo) == list(want.expo)
        for f, e in got.expo.items():
            w = want.expo[f]
            assert (e.scale, e.zero_count, e.pos_off, e.neg_off) == (
                w.scale,
                w.zero_count,
                w.pos_off,
                w.neg_off,
            )
            assert same(e.pos, w.pos) and same(e.neg, w.neg)
        values = [r.value for r in window_quantiles([0.5, 0.99], [got])[0]]
        wanted = [window_quantile(q, want).value for q in (0.5, 0.99)]
        assert same(np.asarray(values), np.asarray(wanted))
