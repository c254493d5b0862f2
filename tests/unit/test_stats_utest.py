"""Mann-Whitney U: exact p-values against brute-force enumeration and benchstat's vectors."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.stats.mannwhitney import (
    mann_whitney_u,
    min_achievable_p,
    u_critical,
    u_distribution,
)


def _u_of(x: Sequence[float], y: Sequence[float]) -> float:
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in x for b in y)


def _enumerate(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Independent p-values by relabelling the pooled values in every possible way.

    Returns (two-sided p doubling the smaller observed tail, benchstat's 2*P(U1 <= Usmall)).
    """
    pooled = list(x) + list(y)
    n1, n = len(x), len(x) + len(y)
    u_obs = _u_of(x, y)
    u_small = min(u_obs, n1 * len(y) - u_obs)
    le = ge = small = total = 0
    for pick in itertools.combinations(range(n), n1):
        chosen = set(pick)
        a = [pooled[i] for i in pick]
        b = [pooled[i] for i in range(n) if i not in chosen]
        u = _u_of(a, b)
        total += 1
        le += u <= u_obs
        ge += u >= u_obs
        small += u <= u_small
    return min(1.0, 2 * min(le, ge) / total), min(1.0, 2 * small / total)


CASES = [
    ([1, 2, 3], [4, 5, 6, 7]),
    ([1, 2, 2, 3], [2, 3, 3, 4, 5]),
    ([1, 1, 1, 2], [1, 2, 2, 2, 3]),
    ([5, 5, 5, 5, 6], [5, 6, 6]),
    ([10, 20, 20, 30, 40, 40], [20, 30, 30, 50, 50, 60]),
    ([1.5, 2.5, 2.5, 7], [0.5, 2.5, 9, 9, 9]),
    ([3, 1, 4, 1, 5], [9, 2, 6, 5, 3, 5]),
]


@pytest.mark.parametrize(("x", "y"), CASES)
def test_exact_matches_enumeration_with_ties(x: list[float], y: list[float]) -> None:
    sym, bench = _enumerate(x, y)
    assert mann_whitney_u(x, y).p == pytest.approx(sym, rel=1e-12)
    assert mann_whitney_u(x, y, tie_tails="benchstat").p == pytest.approx(bench, rel=1e-12)
    assert mann_whitney_u(x, y).exact


def test_exact_matches_enumeration_random_small_samples() -> None:
    rng = random.Random(5)
    for _ in range(40):
        n1, n2 = rng.randint(1, 6), rng.randint(1, 6)
        x = [rng.randint(0, 6) for _ in range(n1)]
        y = [rng.randint(0, 6) for _ in range(n2)]
        if len(set(x + y)) == 1:
            assert mann_whitney_u(x, y).p == 1.0
            continue
        sym, bench = _enumerate(x, y)
        assert mann_whitney_u(x, y).p == pytest.approx(sym, rel=1e-12), (x, y)
        assert mann_whitney_u(x, y, "benchstat").p == pytest.approx(bench, rel=1e-12), (x, y)


def test_go_moremath_vectors() -> None:
    """aclements/go-moremath stats/utest_test.go (the exact-with-ties version benchstat uses)."""
    s1, s2, s3 = [2, 1, 3, 5], [12, 11, 13, 15], [0, 4, 6, 7]
    s4, s5 = [2, 2, 2, 2], [1, 1, 1, 1, 1]
    r = mann_whitney_u(s1, s2)
    assert r.u == 0 and r.p == pytest.approx(0.028571428571428577, rel=1e-12)
    r = mann_whitney_u(s2, s1)
    assert r.u == 16 and r.p == pytest.approx(0.028571428571428577, rel=1e-12)
    r = mann_whitney_u(s1, s3)
    assert r.u == 5 and r.p == pytest.approx(0.485714285714285770, rel=1e-12)
    assert mann_whitney_u(s1, s1).p == 1
    r = mann_whitney_u(s1, s4)
    assert r.u == 10 and r.p == pytest.approx(0.7142857142857143, rel=1e-12)
    # go-moremath: U=2.5, p=0 one way round (an asymmetric tie pattern); benchstat mode keeps
    # that, the default doubles the smaller observed tail and agrees both ways round.
    assert mann_whitney_u(s1, s5, "benchstat").p == 0
    assert mann_whitney_u(s1, s5).p == pytest.approx(12 / 126)
    assert mann_whitney_u(s5, s1).p == pytest.approx(12 / 126)
    r = mann_whitney_u(s4, s4)
    assert r.p == 1 and r.all_equal  # go-moremath: ErrSamplesEqual; benchmath reports p = 1
    l1 = [i * 2.0 for i in range(500)]
    l2 = [i * 2.0 - 41 for i in range(600)]
    l3 = list(l2)
    l3[:30] = l1[:30]
    r = mann_whitney_u(l1, l2)
    assert not r.exact and r.u == 135250
    assert r.p == pytest.approx(0.0049335360814172224, rel=1e-9)
    assert mann_whitney_u(l1, l1).p == 1
    r = mann_whitney_u(l1, l3)
    assert r.u == 134845 and r.p == pytest.approx(0.0038703814239617884, rel=1e-9)


def test_mann_whitney_1947_tables() -> None:
    """go-moremath udist_test.go: CDF tables from Mann & Whitney (1947), n=3 and n=5."""
    udist3 = [
        [0.25, 0.1, 0.05],
        [0.5, 0.2, 0.1],
        [0.75, 0.4, 0.2],
        [1, 0.6, 0.35],
        [1, 0.8, 0.5],
        [1, 0.9, 0.65],
    ]
    udist5 = [
        [0.166667, 0.047619, 0.017857, 0.007937, 0.003968],
        [0.333333, 0.095238, 0.035714, 0.015873, 0.007937],
        [0.5, 0.190476, 0.071429, 0.031746, 0.015873],
        [0.666667, 0.285714, 0.125, 0.055556, 0.027778],
        [0.833333, 0.428571, 0.196429, 0.095238, 0.047619],
        [1, 0.571429, 0.285714, 0.142857, 0.075397],
    ]
    for n, table in ((3, udist3), (5, udist5)):
        for m in range(1, n + 1):
            counts, total = u_distribution(n, m)
            cdf = np.cumsum(counts[::2]) / total
            for u in range(6):
                got = 1.0 if u >= len(cdf) else cdf[u]
                assert abs(got - table[u][m - 1]) < 1e-6, (n, m, u)


def test_benchstat_published_outputs() -> None:
    """p-values printed by benchstat in golang/perf's docs (cmd/benchstat README, doc.go)."""
    # golang/perf cmd/benchstat/testdata old.txt / new.txt: "p=0.000 n=10" and "p=0.446 n=10"
    json_old = [1726, 1723, 1707, 1707, 1713, 1729, 1736, 1707, 1705, 1774]
    json_new = [1423, 1416, 1411, 1413, 1412, 1426, 1422, 1424, 1447, 1425]
    gob_old = [3069, 3075, 3069, 3067, 3207, 3064, 3064, 3058, 3059, 3062]
    gob_new = [3075, 3065, 3059, 3065, 3060, 3081, 3186, 3135, 3087, 3062]
    assert f"{mann_whitney_u(json_old, json_new).p:.3f}" == "0.000"
    r = mann_whitney_u(gob_old, gob_new)
    assert r.exact and f"{r.p:.3f}" == "0.446"
    assert f"{mann_whitney_u(gob_old, gob_new, 'benchstat').p:.3f}" == "0.446"
    # old README example: GobEncode "p=0.016 n=4+5", JSONEncode "p=0.286 n=4+5"
    gob_o = [13552735, 13553943, 13606356, 13683198]
    gob_n = [11773189, 11942588, 11786159, 11628583, 11815924]
    js_o = [32395067, 32334214, 31992891, 31735022]
    js_n = [32036529, 32156552, 31288355, 31559706, 31765634]
    assert f"{mann_whitney_u(gob_o, gob_n).p:.3f}" == "0.016"
    assert f"{mann_whitney_u(js_o, js_n).p:.3f}" == "0.286"


def test_thresholds_exact_vs_normal() -> None:
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=25), 1)
    y = np.round(rng.normal(size=25), 1)
    assert len(np.unique(np.concatenate([x, y]))) < 50  # ties
    assert mann_whitney_u(x, y).exact
    assert not mann_whitney_u(np.append(x, 0.05), y).exact  # 26 with ties -> normal
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert mann_whitney_u(a, b).exact
    assert not mann_whitney_u(np.append(a, 0.123456789), b).exact


def test_all_equal_and_empty() -> None:
    assert mann_whitney_u([3, 3, 3], [3, 3]).p == 1.0
    assert mann_whitney_u([3.0] * 60, [3.0] * 60).p == 1.0
    assert mann_whitney_u([], [1, 2]).p == 1.0


def test_min_achievable_p_and_critical_rank() -> None:
    assert min_achievable_p(3, 3) == pytest.approx(0.1)
    assert min_achievable_p(4, 4) == pytest.approx(2 / 70)
    assert min_achievable_p(1, 1) == 1.0
    # 6+6: P(U <= 5) = 19/924 <= 0.025 < P(U <= 6) = 30/924
    assert u_critical(6, 6) == 6
    assert u_critical(3, 3) == 0
    # normal approximation above the exact limit stays close to the exact rule
    assert abs(u_critical(51, 51) - u_critical(50, 50) - 51) < 40


small = st.lists(st.integers(min_value=0, max_value=8), min_size=1, max_size=7)


@settings(max_examples=150, deadline=None)
@given(small, small)
def test_p_in_unit_interval_and_symmetric(x: list[float], y: list[float]) -> None:
    p = mann_whitney_u(x, y).p
    assert 0.0 <= p <= 1.0
    assert mann_whitney_u(y, x).p == pytest.approx(p, rel=1e-12)


@settings(max_examples=150, deadline=None)
@given(small, small)
def test_invariant_to_monotone_transforms(x: list[float], y: list[float]) -> None:
    p = mann_whitney_u(x, y).p
    for f in (lambda v: 3 * v + 7, lambda v: math.exp(v / 3), lambda v: v**3 + v):
        assert mann_whitney_u([f(v) for v in x], [f(v) for v in y]).p == pytest.approx(p, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=20, max_size=70),
    st.lists(st.floats(-1e6, 1e6), min_size=20, max_size=70),
)
def test_large_samples_p_in_unit_interval(x: list[float], y: list[float]) -> None:
    r = mann_whitney_u(x, y)
    assert 0.0 <= r.p <= 1.0
    assert mann_whitney_u(y, x).p == pytest.approx(r.p, rel=1e-9, abs=1e-15)


def _reference_cases() -> list[dict[str, Any]]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "bench" / "gomoremath_reference.json"
    cases: list[dict[str, Any]] = json.loads(path.read_text())["cases"]
    return cases


def test_against_go_moremath_reference_implementation() -> None:
    """Every case: benchstat mode equals go-moremath; the default equals it whenever
    go-moremath's answer does not depend on the argument order (always without ties)."""
    cases = _reference_cases()
    assert len(cases) > 200
    for c in cases:
        ref = c["p_gomoremath"]
        got = mann_whitney_u(c["x"], c["y"], "benchstat").p
        assert got == pytest.approx(ref, rel=1e-9, abs=1e-15), c["label"]
        sym = mann_whitney_u(c["x"], c["y"]).p
        swapped = mann_whitney_u(c["y"], c["x"], "benchstat").p
        if swapped == pytest.approx(got, rel=1e-9, abs=1e-15):
            assert sym == pytest.approx(min(ref, 1.0), rel=1e-9, abs=1e-15), c["label"]
        else:  # go-moremath is order-dependent here; we double the smaller observed tail
            assert min(got, swapped) <= sym <= 1.0
        assert (sym < 0.05) == (ref < 0.05), c["label"]  # never a different decision


def test_fixture_rows_match_go_moremath() -> None:
    for c in _reference_cases():
        if c["label"].startswith("fixture"):
            assert mann_whitney_u(c["x"], c["y"]).p == pytest.approx(c["p_gomoremath"], rel=1e-9), (
                c["label"]
            )
