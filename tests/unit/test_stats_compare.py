"""Median intervals, Hodges-Lehmann change, BH q-values and verdicts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.stats.change import bh_qvalues, geomean, hodges_lehmann
from tui.core.stats.compare import (
    EQUIVALENT,
    IMPROVEMENT,
    INCONCLUSIVE,
    LIKELY_REGRESSION,
    REGRESSION,
    TOO_FEW_SAMPLES,
    MinEffect,
    better_direction,
    compare_samples,
    finalize_table,
    geomean_row,
    resolve_min_effect,
)
from tui.core.stats.median import quantile_ci_orders, summarize


def _coverage(n: int, lo: int, hi: int) -> float:
    """P(lo <= #values below the median < hi) for Binomial(n, 1/2)."""
    return sum(math.comb(n, k) for k in range(max(lo, 0), min(hi, n + 1))) / float(2**n)


@pytest.mark.parametrize("n", range(1, 31))
def test_median_interval_exact_orders(n: int) -> None:
    lo, hi, conf = quantile_ci_orders(n)
    assert conf == pytest.approx(_coverage(n, lo, hi), rel=1e-12)
    if lo >= 1 and hi <= n:
        assert conf >= 0.95
        # no narrower interval of consecutive orders reaches 95%
        assert _coverage(n, lo + 1, hi) < 0.95 and _coverage(n, lo, hi - 1) < 0.95


def test_median_interval_benchstat_thresholds() -> None:
    # benchstat: "need >= 6 samples for confidence interval at level 0.95"
    assert quantile_ci_orders(5)[0] < 1
    assert quantile_ci_orders(6)[:2] == (1, 6)
    s = summarize([5, 1, 4, 2, 3, 6])
    assert (s.median, s.lo, s.hi, s.n) == (3.5, 1, 6, 6)
    one = summarize([100.0])
    assert one.median == 100 and math.isinf(one.lo) and math.isinf(one.hi)


@pytest.mark.parametrize("n", [31, 40, 64, 100, 1000])
def test_median_interval_normal_approximation(n: int) -> None:
    lo, hi, _ = quantile_ci_orders(n)
    assert 1 <= lo < n / 2 < hi <= n
    assert _coverage(n, lo, hi) >= 0.94  # the approximation is close to exact coverage
    assert abs(lo + hi - (n + 1)) <= 1  # symmetric, or biased by one


def test_hodges_lehmann_pure_scale_change() -> None:
    base = [100, 102, 98, 101, 99, 103, 97, 100]
    cur = [v * 1.25 for v in base]
    ch = hodges_lehmann(base, cur)
    assert ch.log_scale
    assert ch.ratio == pytest.approx(1.25)
    assert ch.lo <= 1.25 <= ch.hi


def test_hodges_lehmann_interval_is_order_statistics_of_pairwise_log_ratios() -> None:
    base = [10.0, 12, 11, 13, 9, 10.5]
    cur = [14.0, 15, 13, 16, 12.5, 15.5]
    d = sorted(math.log(c) - math.log(b) for b, c in itertools.product(base, cur))
    ch = hodges_lehmann(base, cur)
    assert ch.ratio == pytest.approx(math.exp((d[17] + d[18]) / 2))
    assert ch.lo == pytest.approx(math.exp(d[5]))  # k = 6 for 6+6
    assert ch.hi == pytest.approx(math.exp(d[36 - 6]))


def test_hodges_lehmann_zero_values_use_raw_shift() -> None:
    ch = hodges_lehmann([0, 0, 0, 0, 0], [0, 0, 0, 0, 0])
    assert (ch.ratio, ch.delta, ch.delta_lo, ch.delta_hi) == (1.0, 0, 0, 0)
    ch = hodges_lehmann([10, 10, 11, 9, 10], [0, 1, 0, 1, 0])
    assert not ch.log_scale and ch.delta == pytest.approx(-10)


def test_bh_qvalues_known_example() -> None:
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
    want = [0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.0845714285714, 0.205]
    assert bh_qvalues(p) == pytest.approx(want)
    assert bh_qvalues([0.05, 0.01, 0.04, 0.02, 0.03]) == pytest.approx([0.05] * 5)
    q = bh_qvalues([0.5, math.nan, 0.01])
    assert math.isnan(q[1]) and q[0] == pytest.approx(0.5) and q[2] == pytest.approx(0.02)


def test_directions_and_min_effects() -> None:
    assert better_direction("ns/op") == "lower"
    assert better_direction("allocs/op") == "lower"
    assert better_direction("MB/s") == "higher"
    assert better_direction("qps") == "higher"
    assert better_direction("p99") == "lower"
    assert resolve_min_effect("p99") == MinEffect(rel=0.08)
    assert resolve_min_effect("qps").threshold(100) == 15
    assert resolve_min_effect("qps").threshold(4) == 1  # at least 1/s
    assert resolve_min_effect("qps").threshold(1000) == 150
    assert resolve_min_effect("allocs/op").threshold(1e6) == 10
    assert resolve_min_effect("p99", {"p99": 0.2}) == MinEffect(rel=0.2)
    assert resolve_min_effect("qps", {"qps": 0.3}) == MinEffect(rel=0.3, abs=1)
    assert resolve_min_effect("allocs/op", {"allocs/op": 3}) == MinEffect(abs=3)


BASE = [100.0, 101, 99, 100.5, 99.5, 100.2, 99.8, 100.1, 99.9, 100.3]


def test_verdict_regression_and_improvement_direction_aware() -> None:
    slow = [v * 1.3 for v in BASE]
    assert compare_samples(BASE, slow, "ns/op").verdict == REGRESSION
    assert compare_samples(slow, BASE, "ns/op").verdict == IMPROVEMENT
    # for a throughput, going up is the improvement
    assert compare_samples(BASE, slow, "MB/s").verdict == IMPROVEMENT
    # qps: 15% and at least 1/s; +30% of 100/s is a change, +30% of 2/s is not
    assert compare_samples(BASE, slow, "qps").verdict == IMPROVEMENT
    tiny = [v / 50 for v in BASE]
    assert compare_samples(tiny, [v * 1.3 for v in tiny], "qps").verdict == EQUIVALENT


def test_a_traffic_drop_at_low_rates_is_a_regression() -> None:
    """Issue 13 item 4: a -51% drop at 90 req/s was EQUIVALENT (the floor was 50 req/s)."""
    base = [v * 0.9 for v in BASE]
    assert compare_samples(base, [v * 0.49 for v in base], "qps").verdict == REGRESSION


def test_verdict_equivalent_inconclusive_too_few() -> None:
    same = [v * 1.001 for v in BASE]
    assert compare_samples(BASE, same, "ns/op").verdict == EQUIVALENT
    assert compare_samples([1, 2, 3], [4, 5, 6], "ns/op").verdict == TOO_FEW_SAMPLES
    row = compare_samples([1, 2, 3], [40, 50, 60], "ns/op")
    assert row.change.ratio > 10  # the change is still computed and shown
    noisy_base = [100, 150, 80, 120, 60, 140]
    noisy_cur = [110, 160, 70, 130, 90, 150]
    assert compare_samples(noisy_base, noisy_cur, "ns/op").verdict == INCONCLUSIVE


def test_verdict_likely_regression_uses_q_and_point_estimate() -> None:
    # significant, point beyond 8% but interval reaching below it -> LIKELY REGRESSION
    base = [100, 104, 96, 102, 98, 101, 99, 103]
    cur = [110, 103, 118, 109, 112, 104, 115, 107]
    row = compare_samples(base, cur, "p99")
    assert row.p < 0.05 and row.change.ratio > 1.08 and row.change.lo < 1.08
    assert row.verdict == LIKELY_REGRESSION


def test_finalize_table_sets_bh_q_and_redecides() -> None:
    rows = [
        compare_samples(BASE, [v * (1 + 0.01 * i) for v in BASE], "ns/op", name=str(i))
        for i in range(5)
    ]
    final = finalize_table(rows)
    assert [r.q for r in final] == pytest.approx(bh_qvalues([r.p for r in rows]))
    assert all(r.q >= r.p for r in final)


def test_notes_spread_and_exact() -> None:
    base = [100, 101, 99, 100, 101, 99, 100, 100]
    wide = [80, 120, 90, 110, 70, 130, 100, 100]
    row = compare_samples(base, wide, "ns/op")
    assert any(n.startswith("spread x") for n in row.notes)
    row = compare_samples([5, 5, 6, 5], [5, 5, 5, 5], "text-bytes", exact=True)
    assert row.notes == ["base should be exact but has 2 distinct values"]


def test_geomean_row_paired_only() -> None:
    a = compare_samples([1, 1, 1, 1], [2, 2, 2, 2], "ns/op", name="a")
    b = compare_samples([4, 4, 4, 4], [2, 2, 2, 2], "ns/op", name="b")
    lone = compare_samples([8, 8, 8], [], "ns/op", name="c")
    g = geomean_row([a, b, lone])
    assert g is not None and g.n == 2
    assert g.base == pytest.approx(2) and g.current == pytest.approx(2) and g.ratio == 1
    assert geomean([]) != geomean([])  # nan
    assert math.isnan(lone.p) and lone.verdict == TOO_FEW_SAMPLES


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(1, 1e6), min_size=2, max_size=15),
    st.lists(st.floats(1, 1e6), min_size=2, max_size=15),
    st.floats(0.01, 100),
)
def test_change_scale_equivariance(x: list[float], y: list[float], k: float) -> None:
    """Scaling both samples leaves the ratio, p and verdict alone (relative effects)."""
    a = compare_samples(x, y, "ns/op")
    b = compare_samples([v * k for v in x], [v * k for v in y], "ns/op")
    assert b.change.ratio == pytest.approx(a.change.ratio, rel=1e-9)
    assert 0 <= a.p <= 1
    assert b.verdict == a.verdict or np.isclose(a.change.lo, 1.05) or np.isclose(a.change.hi, 1.05)


def test_median_orders_match_go_moremath_quantile_ci() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "bench" / "gomoremath_median_ci.txt"
    rows = [
        tuple(map(int, line.split()))
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(rows) == 300
    for n, lo, hi in rows:
        assert quantile_ci_orders(n)[:2] == (lo, hi), n


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(1, 1e6), min_size=1, max_size=12),
    st.lists(st.floats(1, 1e6), min_size=1, max_size=12),
)
def test_hodges_lehmann_antisymmetric(x: list[float], y: list[float]) -> None:
    """Swapping base and current inverts the ratio and its interval."""
    a, b = hodges_lehmann(x, y), hodges_lehmann(y, x)
    assert a.ratio * b.ratio == pytest.approx(1.0, rel=1e-9)
    if math.isfinite(a.hi) and a.lo > 0:
        assert a.lo * b.hi == pytest.approx(1.0, rel=1e-9)
        assert a.lo <= a.ratio <= a.hi


def test_gaps_and_infinities_are_not_samples() -> None:
    row = compare_samples(
        [1.0, math.nan, 2.0, math.inf, 3.0, 2.5], [2.0, 3.0, -math.inf, 4.0], "p99"
    )
    assert (row.base.n, row.current.n) == (4, 3)
    assert math.isfinite(row.change.ratio) and 0 <= row.p <= 1


def test_change_with_zeros_is_shown_in_the_metrics_unit() -> None:
    """An error ratio (samples with zeros: no logs) shows its shift, not a percentage of a
    near-zero base; all-positive samples keep the ratio in percent."""
    from tui.core.stats.change import hodges_lehmann
    from tui.core.stats.report import fmt_change

    base = [0.0, 0.001, 0.002, 0.0015, 0.0, 0.001]
    cur = [0.004, 0.0035, 0.0, 0.005, 0.004, 0.0045]
    shift = hodges_lehmann(base, cur)
    assert not shift.log_scale
    text = fmt_change(shift)
    assert text == "+3.000m [0, +4.000m]"  # in the ratio's own unit
    ratio = hodges_lehmann([10.0, 11.0, 10.5, 9.8], [20.0, 21.0, 19.5, 20.4])
    assert ratio.log_scale and fmt_change(ratio) == "+97.0% [+77.3%, +114.3%]"
