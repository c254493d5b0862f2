"""Route view core: which label is the route, the route matchers, ranking by contribution."""

from __future__ import annotations

import ast
import re

import pytest

from tui.core.metrics.routes import (
    RouteLabelError,
    RouteRow,
    _regex_literal,
    choose_labels,
    rank,
    route_queries,
)


def test_first_candidate_label_wins_and_status_label_is_found() -> None:
    found = [{"handler": "/a", "path": "/a", "code": "200"}, {"handler": "/b", "code": "500"}]
    assert choose_labels(found, "h") == ("handler", "code")
    assert choose_labels(found, "h", configured="path") == ("path", "code")
    assert choose_labels([{"route": "/x"}], "h") == ("route", None)


def test_missing_labels_are_one_line_errors() -> None:
    with pytest.raises(RouteLabelError, match=r"h has no label 'nope' \(route_label\);.*: route$"):
        choose_labels([{"route": "/x"}], "h", configured="nope")
    with pytest.raises(RouteLabelError, match="h has none of the labels route, http_route"):
        choose_labels([{}], "h")
    with pytest.raises(RouteLabelError, match="h: no series"):
        choose_labels([], "h")


@pytest.mark.parametrize(
    "route", ["/api/v1.2/x", "/with space#~-&", 'we"ird\\path', "/a|b", "/(x)+[y]*?", ""]
)
def test_route_matcher_matches_exactly_the_routes(route: str) -> None:
    literal = _regex_literal([route, "/other"])
    pattern = ast.literal_eval(literal)  # PromQL's double-quoted strings escape like Python's
    assert re.fullmatch(pattern, route) and re.fullmatch(pattern, "/other")
    assert not re.fullmatch(pattern, route + "x")


def test_queries_group_by_route_and_sum_the_rest() -> None:
    q = route_queries("h", 'job="a"', "route", "5s", ["/a"], "code")
    assert q.quantiles["p99"] == (
        'histogram_quantile(0.99, sum by (le, route) (rate(h_bucket{job="a",route=~"/a"}[5s])))'
    )
    assert q.other_quantiles["p99"] == (
        'histogram_quantile(0.99, sum by (le) (rate(h_bucket{job="a",route!~"/a"}[5s])))'
    )
    assert q.error_ratio is not None and 'code=~"5.."' in q.error_ratio
    assert route_queries("h", "", "route", "5s", ["/a"], None, with_other=False).all().keys() == {
        "route:p50",
        "route:p95",
        "route:p99",
        "route:qps",
    }


def _row(route: str, qps: float, p99: list[float]) -> RouteRow:
    return RouteRow(
        route,
        {"qps": [(0.0, qps)], "p99": [(float(i), v) for i, v in enumerate(p99)]},
    )


def test_rank_weighs_the_p99_change_by_traffic() -> None:
    rows = rank(
        [
            _row("/busy", 90, [0.1] * 8 + [0.2]),  # +0.1 s on 90 % of requests: 0.09
            _row("/rare", 10, [0.1] * 8 + [0.6]),  # +0.5 s on 10 %: 0.05
            _row("/idle", 0, []),
        ]
    )
    assert [r.route for r in rows] == ["/busy", "/rare", "/idle"]
    assert rows[0].share == 0.9 and rows[0].change == pytest.approx(1.0)
    assert rows[0].contribution == pytest.approx(0.09)
    assert rows[2].change is None and rows[2].contribution == 0.0
