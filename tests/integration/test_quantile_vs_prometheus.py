"""Our `bucket_quantile` against the real Prometheus 2.42 `histogram_quantile`, bit for bit.

Both sides get identical inputs: for raw counts, the exact numbers the exposition server
served; for windowed quantiles, the per-bucket `rate()` values Prometheus itself computed at the
same evaluation time. Layouts cover the +Inf bucket, the first bucket (positive, zero and
negative bounds), zero counts, non-monotonic counts, duplicate `le` spellings, a missing +Inf
bucket, huge and fractional counts, and ranks falling exactly on a bucket boundary.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any

import httpx
import pytest

from tests.integration.conftest import RATE_CASES, STATIC_CASES
from tui.core.metrics.quantile import bucket_quantile

pytestmark = pytest.mark.integration

QS = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]


def _query(url: str, promql: str, t: float) -> list[dict[str, Any]]:
    r = httpx.post(f"{url}/api/v1/query", data={"query": promql, "time": f"{t:.3f}"}, timeout=10)
    body = r.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _prom_quantiles(url: str, expr: str, t: float) -> dict[tuple[float, str], float]:
    """{(q, case): value} for histogram_quantile(q, expr) over all cases, one query per q."""
    out = {}
    for q in QS:
        for item in _query(url, f"histogram_quantile({q}, {expr})", t):
            out[(q, item["metric"]["case"])] = float(item["value"][1])
    return out


def _buckets(url: str, expr: str, t: float) -> dict[str, tuple[list[float], list[float]]]:
    by_case: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for item in _query(url, expr, t):
        bounds, counts = by_case[item["metric"]["case"]]
        bounds.append(float(item["metric"]["le"]))
        counts.append(float(item["value"][1]))
    return dict(by_case)


def test_raw_counts_match_histogram_quantile(prometheus: str) -> None:
    t = time.time() - 1
    prom = _prom_quantiles(prometheus, "wr_static_bucket", t)
    served = _buckets(prometheus, "wr_static_bucket", t)
    assert set(served) == set(STATIC_CASES)  # every layout was scraped
    checked = 0
    for case, buckets in STATIC_CASES.items():
        bounds = [float(le) for le, _ in buckets]
        counts = [float(c) for _, c in buckets]
        for q in QS:
            ours = bucket_quantile(q, bounds, counts)
            theirs = prom.get((q, case), math.nan)  # no-inf / only-inf: Prometheus emits NaN
            assert _same(ours.value, theirs), (case, q, ours, theirs)
            checked += 1
    assert checked == len(STATIC_CASES) * len(QS)
    # Spot checks that the layouts do what they are named for.
    assert bucket_quantile(0.99, [0.1, 0.2, math.inf], [50, 97, 100]).saturated
    assert prom[(0.99, "p99-in-inf")] == 0.2
    assert prom[(0.5, "all-in-inf")] == 1.0
    assert math.isnan(prom[(0.5, "zeros")])


def test_rate_deltas_match_histogram_quantile(prometheus: str) -> None:
    # Two rate windows: one that sees a reset in the with-resets case, one shorter.
    t = time.time() - 1
    for window in ("3s", "10s"):
        expr = f"rate(wr_rate_bucket[{window}])"
        prom = _prom_quantiles(prometheus, expr, t)
        rates = _buckets(prometheus, expr, t)
        assert set(rates) == set(RATE_CASES)
        for case, (bounds, counts) in rates.items():
            for q in QS:
                ours = bucket_quantile(q, bounds, counts)
                theirs = prom.get((q, case), math.nan)
                assert _same(ours.value, theirs), (window, case, q, bounds, counts, ours, theirs)
        # The windows really did see moving counters (idle stays 0: NaN quantile).
        assert sum(rates["steady"][1]) > 0
        assert all(c == 0 for c in rates["idle"][1])
        in_inf = rates["in-inf"]
        assert bucket_quantile(0.99, *in_inf).saturated
        assert prom[(0.99, "in-inf")] == 0.2


def test_sum_by_le_aggregation_matches(prometheus: str) -> None:
    """The exact expression the dashboard uses, across cases summed together."""
    t = time.time() - 1
    expr = "sum by (le) (rate(wr_rate_bucket[5s]))"
    items = _query(prometheus, expr, t)
    bounds = [float(i["metric"]["le"]) for i in items]
    counts = [float(i["value"][1]) for i in items]
    for q in QS:
        (theirs,) = _query(prometheus, f"histogram_quantile({q}, {expr})", t)
        ours = bucket_quantile(q, bounds, counts)
        assert _same(ours.value, float(theirs["value"][1])), (q, bounds, counts)
