"""One formatter for every number with a unit (issue 13 item 14)."""

from __future__ import annotations

import math

import pytest

from tui.core import units
from tui.core.stats.change import Change
from tui.core.stats.report import fmt_change, fmt_summary


@pytest.mark.parametrize(
    ("value", "metric", "text"),
    [
        (0.07464, "p99", "74.6ms"),  # was `74.64m`: minutes or milli?
        (6.8, "p95", "6.8s"),
        (0.00085, "p50", "850µs"),
        (3_763_000.0, "ns/op", "3.76ms"),  # was `3.763M`
        (120.0, "ns/op", "120ns"),
        (1536.0, "B/op", "1.5KiB"),
        (97.3, "qps", "97/s"),
        (0.0037, "error_ratio", "0.37%"),
        (12_345.0, "allocs/op", "12.35k"),
        (float("nan"), "p99", "-"),
    ],
)
def test_of_metric(value: float, metric: str, text: str) -> None:
    assert units.of_metric(value, metric) == text


def test_an_interval_too_few_points_give_says_so() -> None:
    """`±∞` read as a value; the summary says why there is no interval."""
    assert fmt_summary(0.2, -math.inf, math.inf, 2, "p99") == "200ms n=2, too few for an interval"
    assert fmt_summary(0.2, 0.15, 0.3, 9, "p99") == "200ms [150ms, 300ms] n=9"


def test_a_shift_is_written_in_the_metric_unit() -> None:
    ch = Change(
        ratio=math.nan,
        lo=math.nan,
        hi=math.nan,
        delta=0.002,
        delta_lo=0.001,
        delta_hi=0.003,
        log_scale=False,
    )
    assert fmt_change(ch, "error_ratio") == "+0.20% [+0.10%, +0.30%]"
