"""The route view's data: one service's per-route series, fetched on demand (the service the
user opened with Enter), never for every service.

Each refresh asks Prometheus, through the dashboard's own client and selector (its `/debug/`
exclusion included), for the busiest routes now (`topk`) and how many there are, then for the
window's P50/P95/P99, QPS and error ratio by route for those, and the same summed over the
rest ("other"). The route label is probed first (see tui.core.metrics.routes.choose_labels);
a histogram without one gives a one-line `error`, probed again on the next refresh.

Faults never raise out of `refresh`: the last good view stays, `status` says what failed, and
the next attempt waits the same capped backoff as the Prometheus source.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

from tui.core.metrics.routes import (
    OTHER,
    TOP_ROUTES,
    RouteLabelError,
    RouteRow,
    choose_labels,
    label_probe,
    rank,
    route_count_query,
    route_queries,
    top_routes_query,
)
from tui.sources.base import SourceStatus
from tui.sources.prometheus import (
    PrometheusError,
    PrometheusSource,
    QueryResult,
    promql_duration,
    refresh_backoff,
    service_selector,
)

NO_ROUTE = "(no route)"  # series without the route label


@dataclass
class RouteView:
    """What the routes screen draws: ranked rows, how many routes exist, or why there are none."""

    service: str
    label: str = ""
    rows: list[RouteRow] = field(default_factory=list)
    routes: int = 0  # distinct routes the histogram has
    other: int = 0  # of which summed into the "other" row
    t: float = 0.0  # end of the window fetched
    error: str | None = None


class RoutesPoller:
    """Polls one service's routes: the UI's worker runs `refresh` in a RefreshLoop on
    `backoff` (the Prometheus source's formula)."""

    def __init__(self, source: PrometheusSource, service: str, top: int = TOP_ROUTES):
        svc = source.service_config(service)
        if svc is None or svc.prometheus is None:
            raise ValueError(f"{service}: not a Prometheus service")
        self.source = source
        self.service = service
        self.top = top
        self.name, self.inner = service_selector(svc)
        self.configured = svc.prometheus.route_label
        self.status = SourceStatus(name=f"routes/{service}")
        self.backoff = refresh_backoff(float(source.cfg.refresh))
        self.labels: tuple[str, str | None] | None = None
        self.view = RouteView(service)
        self._sem = asyncio.Semaphore(4)

    @property
    def failures(self) -> int:
        return self.backoff.failures

    def next_delay(self) -> float:
        return self.backoff.delay()

    async def _ask(self, fn: Any, *args: Any) -> QueryResult:
        async with self._sem:
            result: QueryResult = await fn(*args)
            return result

    async def refresh(self, now: float | None = None) -> RouteView:
        """Fetch the route view at `now`; on a fault keep the last view and back off."""
        now = time.time() if now is None else now
        t0 = time.monotonic()
        try:
            view = await self._fetch(now)
        except PrometheusError as exc:
            self.backoff.failed()
            self.status.failed(exc.detail, "down" if exc.state == "down" else "error")
            return self.view
        self.backoff.succeeded()
        if view.error:
            self.status.failed(view.error, "error")
        else:
            self.status.ok(
                "up", f"{len(view.rows)} rows, {view.routes} routes", time.monotonic() - t0
            )
        self.view = view
        return view

    async def _fetch(self, now: float) -> RouteView:
        client = self.source.client
        if self.labels is None:
            probe = await client.query(label_probe(self.name, self.inner, self.configured), now)
            try:
                self.labels = choose_labels(
                    [labels for labels, _ in probe.series], self.name, self.configured
                )
            except RouteLabelError as exc:
                return RouteView(self.service, error=str(exc), t=now)
        label, status = self.labels
        rw = promql_duration(float(self.source.cfg.rate_window))
        top_res, count_res = await asyncio.gather(
            self._ask(
                client.query, top_routes_query(self.name, self.inner, label, rw, self.top), now
            ),
            self._ask(client.query, route_count_query(self.name, self.inner, label), now),
        )
        top = sorted(labels.get(label, "") for labels, _ in top_res.series)
        routes = int(count_res.series[0][1][0][1]) if count_res.series else 0
        other = max(0, routes - len(top))
        queries = route_queries(
            self.name, self.inner, label, rw, top, status, with_other=other > 0
        ).all()
        step = self.source.step
        end = math.floor(now / step) * step
        start = math.floor((now - float(self.source.cfg.window)) / step) * step
        keys = list(queries)
        answers = await asyncio.gather(
            *(self._ask(client.query_range, queries[k], start, end, step) for k in keys)
        )
        rows: dict[str, RouteRow] = {r or NO_ROUTE: RouteRow(r or NO_ROUTE, {}) for r in top}
        if other:
            rows[OTHER] = RouteRow(OTHER, {}, routes=other)
        for key, res in zip(keys, answers, strict=True):
            kind, signal = key.split(":", 1)
            for labels, pts in res.series:
                route = OTHER if kind == "other" else (labels.get(label, "") or NO_ROUTE)
                if route in rows:
                    rows[route].series[signal] = pts
        return RouteView(self.service, label, rank(list(rows.values())), routes, other, end)
