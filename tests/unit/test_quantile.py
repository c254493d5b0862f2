"""Quantile estimators against Prometheus' own test data and hand-checked cases.

Classic cases mirror prometheus/prometheus promql/promqltest/testdata/histograms.test
(`testhistogram`, `testhistogram2`, `testhistogram3` evaluated at 50m / 7m).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.core.metrics.quantile import (
    QuantileResult,
    bucket_quantile,
    exponential_bound,
    exponential_quantile,
    otlp_to_prometheus_buckets,
)

INF = math.inf
# testhistogram at 50m: 0+5x10 etc. -> ten increments.
POS = ([0.1, 0.2, 1.0, INF], [50, 70, 110, 120])
NEG = ([-0.2, -0.1, 0.3, INF], [10, 20, 20, 30])
# testhistogram3 at 50m.
POS3 = ([0, 0.1, 0.2, 1.0, INF], [0, 50, 70, 110, 110])
NEG3 = ([-0.25, -0.2, -0.1, 0.3, INF], [0, 10, 20, 20, 20])
# testhistogram2 at 7m (one increment).
H2 = ([0, 2, 4, 6, INF], [0, 1, 2, 3, 3])


@pytest.mark.parametrize(
    ("q", "hist", "want"),
    [
        (0, POS, 0.0),
        (0, NEG, -0.2),
        (1, POS, 1.0),
        (1, NEG, 0.3),
        (0.2, POS, 0.048),
        (0.2, NEG, -0.2),
        (0.5, POS, 0.15),
        (0.5, NEG, -0.15),
        (0.8, POS, 0.72),
        (0.8, NEG, 0.3),
        (0, POS3, 0.0),
        (0, NEG3, -0.25),
        (0.25, POS3, 0.055),
        (0.25, NEG3, -0.225),
        (0.5, POS3, 0.125),
        (0.5, NEG3, -0.2),
        (0.75, POS3, 0.45),
        (0.75, NEG3, -0.15),
        (1, POS3, 1.0),
        (1, NEG3, -0.1),
        (1 / 6, H2, 1.0),
        (0.5, H2, 3.0),
        (5 / 6, H2, 5.0),
    ],
)
def test_prometheus_testdata(q: float, hist: tuple[list[float], list[float]], want: float) -> None:
    got = bucket_quantile(q, *hist)
    assert got.value == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_saturation_flag_when_rank_lands_in_inf_bucket() -> None:
    assert bucket_quantile(0.8, *NEG) == QuantileResult(0.3, True, False)
    assert bucket_quantile(1, *POS).saturated  # 120 > 110: the last observation is in +Inf
    assert not bucket_quantile(0.5, *POS).saturated


def test_out_of_range_and_nan_q() -> None:
    assert bucket_quantile(-0.1, *POS).value == -INF
    assert bucket_quantile(1.01, *POS).value == INF
    assert math.isnan(bucket_quantile(math.nan, *POS).value)


def test_undefined_inputs_give_nan() -> None:
    assert math.isnan(bucket_quantile(0.5, [], []).value)  # empty
    assert math.isnan(bucket_quantile(0.5, [0.1, 1.0], [1, 2]).value)  # no +Inf bucket
    assert math.isnan(bucket_quantile(0.5, [INF], [5]).value)  # fewer than two buckets
    assert math.isnan(bucket_quantile(0.5, [0.1, INF], [0, 0]).value)  # no observations
    with pytest.raises(ValueError):
        bucket_quantile(0.5, [0.1, INF], [1])


def test_unsorted_and_duplicate_bounds_are_sorted_and_merged() -> None:
    # `mixed_bucket` in histograms.test: 0.2, 2e-1 and 2.0e-1 are one bucket; counts add up.
    got = bucket_quantile(0.5, [INF, 0.2, 0.1, 0.2], [4, 1, 1, 0])
    # sorted+coalesced: 0.1:1, 0.2:1, +Inf:4 -> rank 2 lands in +Inf -> 0.2 saturated.
    assert got == QuantileResult(0.2, True, False)
    assert bucket_quantile(0.2, [1.0, INF, 0.5], [8, 10, 4]).value == pytest.approx(0.25)


def test_non_monotonic_counts_are_flattened_like_prometheus() -> None:
    # 0.1:5, 0.2:3 (decrease), 0.4:8, +Inf:8 -> envelope 5,5,8,8.
    got = bucket_quantile(0.5, [0.1, 0.2, 0.4, INF], [5, 3, 8, 8])
    assert got.forced_monotonic
    assert got.value == pytest.approx(0.08)  # rank 4 in first bucket: 0 + 0.1 * 4/5
    got = bucket_quantile(0.75, [0.1, 0.2, 0.4, INF], [5, 3, 8, 8])
    assert got.value == pytest.approx(0.2 + 0.2 * (6 - 5) / 3)


def test_tiny_float_deltas_are_ignored() -> None:
    c = 1e13
    got = bucket_quantile(0.5, [1.0, 2.0, INF], [c, c * (1 - 1e-15), c])
    assert not got.forced_monotonic
    assert got.value == pytest.approx(0.5)


def test_first_bucket_non_positive_bound_returns_the_bound() -> None:
    assert bucket_quantile(0.1, [-1.0, 0.0, INF], [5, 10, 10]).value == -1.0
    assert bucket_quantile(0.1, [0.0, 1.0, INF], [5, 10, 10]).value == 0.0


# --- exponential -------------------------------------------------------------------------


def test_bounds_are_powers_of_two() -> None:
    assert exponential_bound(1, 0) == 2.0
    assert exponential_bound(0, 0) == 1.0
    assert exponential_bound(-1, 0) == 0.5
    assert exponential_bound(1, 1) == pytest.approx(math.sqrt(2), rel=1e-15)
    assert exponential_bound(2, 1) == 2.0
    assert exponential_bound(3, -1) == 64.0  # base 4
    assert exponential_bound(256, 8) == 2.0


def test_otlp_index_maps_to_prometheus_index_plus_one_and_scale_merges_to_8() -> None:
    assert otlp_to_prometheus_buckets(3, 5, [1, 0, 2]) == (3, {6: 1.0, 8: 2.0})
    # scale 10 -> 8: indices -4..3 shift by 2 (floor) -> -1,-1,-1,-1,0,0,0,0 -> +1.
    schema, b = otlp_to_prometheus_buckets(10, -4, [1] * 8)
    assert schema == 8 and b == {0: 4.0, 1: 4.0}


def test_exponential_interpolation_middle_of_bucket_is_geometric_mean() -> None:
    # One observation in OTLP bucket 0 at scale 0: (1, 2]; its median is sqrt(2) (Prometheus
    # HistogramQuantile doc comment: "2**2**-1 = 1.4142...").
    got = exponential_quantile(0.5, 0, 0.0, 0, 0, [1])
    assert got.value == pytest.approx(math.sqrt(2), rel=1e-14)
    assert not got.saturated


def test_exponential_hand_checked_forward_and_reverse() -> None:
    # scale 1, buckets (1, 1.414] x4, (1.414, 2] x4, (2, 2.828] x2; total 10.
    pos = [4, 4, 2]
    # q=0.2 (forward): rank 2 -> half way through the first bucket (log scale).
    assert exponential_quantile(0.2, 1, 0.0, 0, 0, pos).value == pytest.approx(2**0.25)
    # q=0.9 (reverse): rank (1-q)*10=1 from the top -> count 2, rank 2-1=1 -> fraction 0.5 of
    # the top bucket (2, 2^1.5].
    assert exponential_quantile(0.9, 1, 0.0, 0, 0, pos).value == pytest.approx(2**1.25)
    assert exponential_quantile(1.0, 1, 0.0, 0, 0, pos).value == pytest.approx(2**1.5)
    assert exponential_quantile(0.0, 1, 0.0, 0, 0, pos).value == pytest.approx(1.0)


def test_exponential_zero_bucket_linear_from_zero_when_only_positive() -> None:
    # zero bucket [-0.001, 0.001] with 5, positive (1,2] with 5: q=0.2 -> rank 2 of 5 in zero
    # bucket, lower bound taken as 0 -> 0.001 * 0.4.
    got = exponential_quantile(0.2, 0, 0.001, 5, 0, [5])
    assert got.value == pytest.approx(0.0004)


def test_exponential_negative_buckets() -> None:
    # Only negative: OTLP negative index 0 at scale 0 covers [-2, -1). q=0.5 -> -sqrt(2).
    got = exponential_quantile(0.5, 0, 0.0, 0, 0, [], 0, [2])
    assert got.value == pytest.approx(-math.sqrt(2))


def test_exponential_special_cases() -> None:
    assert math.isnan(exponential_quantile(0.5, 0, 0.0, 0, 0, []).value)
    assert exponential_quantile(-1, 0, 0.0, 0, 0, [1]).value == -INF
    assert exponential_quantile(2, 0, 0.0, 0, 0, [1]).value == INF
    assert math.isnan(exponential_quantile(math.nan, 0, 0.0, 0, 0, [1]).value)


def test_exponential_scale_above_8_equals_merged_scale_8() -> None:
    fine = exponential_quantile(0.99, 12, 0.0, 0, 4096 * 3, [1] * 64)
    merged_counts = [16.0] * 4
    coarse = exponential_quantile(0.99, 8, 0.0, 0, 256 * 3, merged_counts)
    assert fine.value == coarse.value


# Native-histogram cases from prometheus/prometheus promql/promqltest/testdata/
# native_histograms.test. Prometheus bucket offset 0 (upper bound 1 at schema 0) is OTLP offset
# -1: OTLP index i is Prometheus index i + 1.
Q1 = dict(
    scale=0, zero_threshold=0.001, zero_count=2, positive_offset=-1, positive_counts=[2, 3, 0, 1, 4]
)  # histogram_quantile_1
Q2 = dict(
    scale=0,
    zero_threshold=0.001,
    zero_count=2,
    positive_offset=0,
    positive_counts=[],
    negative_offset=-1,
    negative_counts=[2, 3, 0, 1, 4],
)  # histogram_quantile_2


@pytest.mark.parametrize(
    ("q", "hist", "want"),
    [
        (1, Q1, 16.0),
        (0.99, Q1, 15.67072476139083),
        (0.9, Q1, 12.99603834169977),
        (0.6, Q1, 4.594793419988138),
        (0.5, Q1, 1.5874010519681994),
        (0.1, Q1, 0.0006),
        (0, Q1, 0.0),
        (1.001, Q1, INF),
        (-1, Q1, -INF),
        (1, Q2, 0.0),
        (0.99, Q2, -0.00006),
        (0.9, Q2, -0.0006),
        (0.5, Q2, -1.5874010519681996),
        (0.1, Q2, -12.996038341699768),
    ],
)
def test_prometheus_native_histogram_testdata(q: float, hist: dict[str, Any], want: float) -> None:
    assert exponential_quantile(q, **hist).value == pytest.approx(want, rel=1e-12, abs=1e-18)


def test_prometheus_native_single_negative_balanced_and_zero_only() -> None:
    # single_histogram {{schema:0 buckets:[1 2 1]}} -> 1.414213562373095
    assert exponential_quantile(0.5, 0, 0.0, 0, -1, [1, 2, 1]).value == pytest.approx(
        1.414213562373095, rel=1e-15
    )
    # negative_histogram {{schema:0 n_buckets:[1 2 1]}} -> -1.414213562373095
    assert exponential_quantile(0.5, 0, 0.0, 0, 0, [], -1, [1, 2, 1]).value == pytest.approx(
        -1.414213562373095, rel=1e-15
    )
    # balanced_histogram: the quantile in a span of empty buckets -> lower bound of the next
    # populated bucket, 0.5.
    assert exponential_quantile(0.5, 0, 0.0, 0, -1, [1, 2, 1], -1, [1, 2, 1]).value == 0.5
    # single_zero_histogram {{z_bucket:1 z_bucket_w:0.5}} -> 0
    assert exponential_quantile(0.5, 0, 0.5, 1, 0, []).value == 0.0


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=12), st.floats(0, 1), st.floats(0, 1))
def test_classic_quantile_is_monotonic_in_q_and_within_the_bounds(
    per_bucket: list[int], q1: float, q2: float
) -> None:
    bounds = [0.01 * 2**i for i in range(len(per_bucket) - 1)] + [INF]
    cum = [sum(per_bucket[: i + 1]) for i in range(len(per_bucket))]
    a, b = sorted((q1, q2))
    ra, rb = bucket_quantile(a, bounds, cum), bucket_quantile(b, bounds, cum)
    if cum[-1] == 0 or len(bounds) < 2:
        assert math.isnan(ra.value) and math.isnan(rb.value)
        return
    assert 0 <= ra.value <= rb.value <= bounds[-2]
    assert rb.saturated == (b * cum[-1] > cum[-2])


def test_q0_with_an_empty_first_bucket_is_nan_like_go() -> None:
    # Go: rank 0 lands in the first bucket (0 >= 0), count 0 -> 0/0 = NaN; Python must not raise.
    assert math.isnan(bucket_quantile(0.0, [0.1, 0.2, INF], [0, 5, 5]).value)
    assert math.isnan(exponential_quantile(0.0, 0, 0.0, 0, 0, [0, 0], total_count=3).value)
