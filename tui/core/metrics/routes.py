"""Per-route breakdown of one service's latency histogram: which label is the route, the PromQL
that groups by it, and which routes explain a regression.

PromQL does the grouping (`sum by (le, ROUTE)`), so a Thanos or Mimir backend aggregates, and the
bounding too: the top routes by traffic are chosen server side (`topk`), the others are summed
into one "other" row whose routes are counted (`count`), so 10,000 routes cost one row, not
10,000 series. Selectors arrive already built by the Prometheus source (its `/debug/` exclusion
included); this module only adds the route matchers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tui.core.metrics.quantile import is_saturated
from tui.core.metrics.store import QUANTILE_SIGNALS

ROUTE_LABELS = ("route", "http_route", "handler", "path")  # first one the histogram has wins
STATUS_LABELS = ("code", "status", "status_code", "http_response_status_code")
TOP_ROUTES = 20
OTHER = "other"
# RE2's metacharacters; re.escape also escapes space, '#', '~', which RE2 would reject
_RE2_SPECIAL = re.compile(r"[\\.+*?()|\[\]{}^$]")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class RouteLabelError(ValueError):
    """The histogram has no usable route label; the message is one line for the UI."""


def valid_label(name: str) -> bool:
    return bool(_LABEL_RE.match(name))


def series(name: str, inner: str, *extra: str) -> str:
    matchers = [m for m in (inner, *extra) if m]
    return f"{name}{{{','.join(matchers)}}}" if matchers else name


def label_probe(name: str, inner: str, configured: str | None = None) -> str:
    """One instant query telling which candidate route/status labels the histogram's series
    carry: a label missing from every series is missing from every answer's label set."""
    labels = [*ROUTE_LABELS, *STATUS_LABELS]
    if configured and configured not in labels:
        labels.insert(0, configured)
    inf = series(f"{name}_bucket", inner, 'le="+Inf"')
    return f"count by ({', '.join(labels)}) ({inf})"


def choose_labels(
    found: Sequence[dict[str, str]], metric: str, configured: str | None = None
) -> tuple[str, str | None]:
    """(route label, status label or None) from the probe's answer.

    The configured label must exist; otherwise the first of ROUTE_LABELS present wins.
    Raises RouteLabelError naming the histogram and what was looked for.
    """
    present = {k for labels in found for k, v in labels.items() if v}
    if not found:
        raise RouteLabelError(f"{metric}: no series (nothing to break down by route)")
    if configured:
        if configured not in present:
            raise RouteLabelError(
                f"{metric} has no label {configured!r} (route_label); "
                f"labels it has among {', '.join((*ROUTE_LABELS, *STATUS_LABELS))}: "
                f"{', '.join(sorted(present)) or 'none'}"
            )
        route = configured
    else:
        route = next((lb for lb in ROUTE_LABELS if lb in present), "")
        if not route:
            raise RouteLabelError(
                f"{metric} has none of the labels {', '.join(ROUTE_LABELS)}; "
                "set services[].prometheus.route_label"
            )
    status = next((lb for lb in STATUS_LABELS if lb in present and lb != route), None)
    return route, status


def _regex_literal(values: Sequence[str]) -> str:
    """A PromQL string literal holding an RE2 alternation matching exactly `values`."""
    alt = "|".join(_RE2_SPECIAL.sub(r"\\\g<0>", v) for v in values)
    return '"' + alt.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class RouteQueries:
    """The PromQL of one service's route view for a chosen set of top routes."""

    quantiles: dict[str, str]  # signal -> by (route), top routes only
    qps: str
    error_ratio: str | None
    other_quantiles: dict[str, str] = field(default_factory=dict)  # empty: no other routes
    other_qps: str = ""
    other_error_ratio: str | None = None
    # rate of the highest finite bucket (with `qps`, the +Inf rate: is a quantile saturated?);
    # empty unless asked for (headless callers: the route view does not mark saturation)
    top_finite: str = ""
    other_top_finite: str = ""

    def all(self) -> dict[str, str]:
        out = {f"route:{k}": v for k, v in self.quantiles.items()}
        out["route:qps"] = self.qps
        if self.error_ratio:
            out["route:error_ratio"] = self.error_ratio
        out.update({f"other:{k}": v for k, v in self.other_quantiles.items()})
        if self.other_qps:
            out["other:qps"] = self.other_qps
        if self.other_error_ratio:
            out["other:error_ratio"] = self.other_error_ratio
        if self.top_finite:
            out["route:_top"] = self.top_finite
        if self.other_top_finite:
            out["other:_top"] = self.other_top_finite
        return out


def top_routes_query(name: str, inner: str, label: str, rw: str, n: int = TOP_ROUTES) -> str:
    """The `n` busiest routes now (requests per second), chosen by the server."""
    inf = series(f"{name}_bucket", inner, 'le="+Inf"')
    return f"topk({n}, sum by ({label}) (rate({inf}[{rw}])))"


def route_count_query(name: str, inner: str, label: str) -> str:
    """How many distinct routes the histogram has (the "other" row says how many it sums)."""
    inf = series(f"{name}_bucket", inner, 'le="+Inf"')
    return f"count(count by ({label}) ({inf}))"


def route_queries(
    name: str,
    inner: str,
    label: str,
    rw: str,
    top: Sequence[str],
    status: str | None = None,
    with_other: bool = True,
    saturation: bool = False,
) -> RouteQueries:
    """P50/P95/P99, QPS and error ratio by route for the routes `top`, and the same summed over
    every other route (when `with_other`): `histogram_quantile(q, sum by (le, L) (rate(X_bucket
    {sel, L=~"top"}[w])))`. The error ratio needs a status label (5xx over all)."""
    keep = f"{label}=~{_regex_literal(top)}" if top else f'{label}=""'
    rest = f"{label}!~{_regex_literal(top)}" if top else ""

    def quantiles(matcher: str, by: str) -> dict[str, str]:
        bucket = series(f"{name}_bucket", inner, matcher)
        return {
            sig: f"histogram_quantile({q}, sum by ({by}) (rate({bucket}[{rw}])))"
            for sig, q in QUANTILE_SIGNALS.items()
        }

    def qps(matcher: str, by: str) -> str:
        inf = series(f"{name}_bucket", inner, 'le="+Inf"', matcher)
        return f"sum{by} (rate({inf}[{rw}]))"

    def errors(matcher: str, by: str) -> str | None:
        if status is None:
            return None
        inf = series(f"{name}_bucket", inner, 'le="+Inf"', matcher)
        bad = series(f"{name}_bucket", inner, 'le="+Inf"', matcher, f'{status}=~"5.."')
        # `or 0 * ...`: a route with no 5xx has no numerator series; its ratio is 0, not absent
        num = f"(sum{by} (rate({bad}[{rw}])) or 0 * sum{by} (rate({inf}[{rw}])))"
        return f"{num} / sum{by} (rate({inf}[{rw}]))"

    def top_finite(matcher: str, by: str) -> str:
        finite = series(f"{name}_bucket", inner, 'le!="+Inf"', matcher)
        return f"max{by} (sum by (le{', ' + label if by else ''}) (rate({finite}[{rw}])))"

    by = f" by ({label})"
    other = with_other and bool(top)
    return RouteQueries(
        quantiles(keep, f"le, {label}"),
        qps(keep, by),
        errors(keep, by),
        quantiles(rest, "le") if other else {},
        qps(rest, "") if other else "",
        errors(rest, "") if other else None,
        top_finite(keep, by) if saturation else "",
        top_finite(rest, "") if saturation and other else "",
    )


def saturated_counts(
    row: RouteRow, start: float = -math.inf, end: float = math.inf
) -> dict[str, int]:
    """How many of the row's quantile points with start <= t <= end sit in the +Inf bucket (a
    floor, "≥ bound"), per signal; needs the row's `_top` series (route_queries(saturation=True))."""
    total = dict(row.series.get("qps", []))
    top = dict(row.series.get("_top", []))
    out: dict[str, int] = {}
    for sig, q in QUANTILE_SIGNALS.items():
        n = sum(
            1
            for t, v in row.series.get(sig, [])
            if start <= t <= end and math.isfinite(v) and is_saturated(q, total.get(t), top.get(t))
        )
        if n:
            out[sig] = n
    return out


# --- ranking -------------------------------------------------------------------------------


@dataclass
class RouteRow:
    """One row of the route view: a route (or "other"), its series over the window and now."""

    route: str
    series: dict[str, list[tuple[float, float]]]  # signal -> [(t, v)], p50/p95/p99/qps/...
    routes: int = 1  # how many routes the row stands for ("other": the rest)
    share: float = 0.0  # of the service's requests per second, now
    change: float | None = None  # P99 now / P99 at the window's start - 1
    contribution: float = 0.0  # share x P99 change in seconds
    state: str = ""  # the route's own P99 spike detector (tui.core.stats.route_spikes)

    def last(self, signal: str) -> float | None:
        pts = [v for _, v in self.series.get(signal, []) if math.isfinite(v)]
        return pts[-1] if pts else None


def window_start(points: Sequence[tuple[float, float]]) -> float | None:
    """The route's "before": the median of the finite values in the first quarter of the
    window (one point can be a blip; a quarter is long enough to be the normal state)."""
    vals = [v for _, v in points if math.isfinite(v)]
    if not vals:
        return None
    head = sorted(vals[: max(1, len(vals) // 4)])
    mid = len(head) // 2
    return head[mid] if len(head) % 2 else (head[mid - 1] + head[mid]) / 2


def rank(rows: list[RouteRow]) -> list[RouteRow]:
    """Rows sorted by contribution to the regression, largest first.

    Contribution = the route's share of the service's requests now x (its P99 now - its P99 at
    the window's start, see `window_start`), in seconds: the amount the route adds to a
    request's tail latency. It is measured against the window's start, not a stored baseline
    (a view must rank without one; `warroom check --by route` compares with the baseline's
    routes, tui.core.baseline.breakdown). A route with no P99 contributes 0; ties (all 0,
    a quiet service) go by traffic.
    """
    total = sum(r.last("qps") or 0.0 for r in rows)
    for r in rows:
        qps = r.last("qps") or 0.0
        r.share = qps / total if total > 0 else 0.0
        now, before = r.last("p99"), window_start(r.series.get("p99", []))
        if now is None or before is None:
            r.change, r.contribution = None, 0.0
            continue
        r.change = now / before - 1 if before > 0 else None
        r.contribution = r.share * (now - before)
    return sorted(rows, key=lambda r: (-r.contribution, -r.share, r.route))
