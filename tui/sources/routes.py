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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.core.metrics.exemplars import Exemplar, ExemplarLog
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
from tui.core.stats.route_spikes import RouteSpikes
from tui.sources.base import SourceStatus
from tui.sources.exemplars import PrometheusExemplars
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
    slowest: dict[str, list[Exemplar]] = field(default_factory=dict)  # row -> slowest requests
    exemplar_note: str = ""  # why there are no exemplars, when the source says


def decorate(
    view: RouteView, spikes: RouteSpikes, book: ExemplarLog, since: float, per_row: int = 3
) -> RouteView:
    """Judge the rows' P99 with their own spike detectors and attach each row's slowest
    recent requests (the "other" row: those of routes without a row)."""
    if view.error:
        return view
    spikes.observe(view.rows)
    named = {r.route for r in view.rows if r.route != OTHER}
    for row in view.rows:
        keep = _others(named) if row.route == OTHER else _on(row.route)
        view.slowest[row.route] = book.slowest(view.service, since, per_row, keep)
    view.exemplar_note = book.notes.get(view.service, "")
    return view


def _on(route: str) -> Callable[[Exemplar], bool]:
    return lambda e: e.route == route


def _others(named: set[str]) -> Callable[[Exemplar], bool]:
    return lambda e: e.route not in named


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
        cfg = source.cfg
        self.spikes = RouteSpikes(svc.detector or cfg.detector, float(cfg.rate_window))
        self.exemplars = PrometheusExemplars(source, source.store)

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

    async def fetch(self, now: float) -> RouteView:
        """The window's view at `now` without the backoff bookkeeping, for headless callers
        (`baseline refresh`, `check --by route`): a Prometheus fault raises PrometheusError,
        a missing route label is `view.error`. Rows carry a `_top` series too (the highest
        finite bucket's rate: `saturated_counts`)."""
        return await self._fetch(now, saturation=True)

    async def instant(self, t: float) -> RouteView:
        """Each route's values at `t` (one point per series), from instant queries: exactly
        Prometheus' own `histogram_quantile(q, sum by (le, ROUTE) (...))` at `t`."""
        plan = await self._plan(t, saturation=True)
        if isinstance(plan, RouteView):
            return plan
        label, routes, other, top, queries = plan
        keys = list(queries)
        answers = await asyncio.gather(
            *(self._ask(self.source.client.query, queries[k], t) for k in keys)
        )
        return self._view(label, routes, other, top, zip(keys, answers, strict=True), t)

    async def _plan(
        self, now: float, saturation: bool = False
    ) -> RouteView | tuple[str, int, int, list[str], dict[str, str]]:
        """(label, routes, other, top routes, queries), or a RouteView saying why not."""
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
            self.name, self.inner, label, rw, top, status, other > 0, saturation
        ).all()
        return label, routes, other, top, queries

    async def _fetch(self, now: float, saturation: bool = False) -> RouteView:
        plan = await self._plan(now, saturation)
        if isinstance(plan, RouteView):
            return plan
        step = self.source.step
        end = math.floor(now / step) * step
        start = math.floor((now - float(self.source.cfg.window)) / step) * step
        view = await self._range(plan, start, end)
        # the live view only: its slowest requests and each route's own spike state
        await self.exemplars.fetch(self.service, now, view.label)
        since = now - float(self.source.cfg.window)
        return decorate(view, self.spikes, self.source.store.exemplars, since)

    async def between(self, start: float, end: float, now: float) -> RouteView:
        """Each top route's series over [start, end] (the routes busiest at `now`), without
        the live view's spike detectors and exemplars: a release's before and after windows.
        A Prometheus fault raises PrometheusError; a missing route label is `view.error`."""
        plan = await self._plan(now)
        if isinstance(plan, RouteView):
            return plan
        step = self.source.step
        return await self._range(
            plan, math.floor(start / step) * step, math.ceil(end / step) * step
        )

    async def _range(
        self, plan: tuple[str, int, int, list[str], dict[str, str]], start: float, end: float
    ) -> RouteView:
        label, routes, other, top, queries = plan
        step = self.source.step
        keys = list(queries)
        answers = await asyncio.gather(
            *(self._ask(self.source.client.query_range, queries[k], start, end, step) for k in keys)
        )
        return self._view(label, routes, other, top, zip(keys, answers, strict=True), end)

    def _view(
        self,
        label: str,
        routes: int,
        other: int,
        top: list[str],
        answers: Iterable[tuple[str, QueryResult]],
        t: float,
    ) -> RouteView:
        rows: dict[str, RouteRow] = {r or NO_ROUTE: RouteRow(r or NO_ROUTE, {}) for r in top}
        if other:
            rows[OTHER] = RouteRow(OTHER, {}, routes=other)
        for key, res in answers:
            kind, signal = key.split(":", 1)
            for labels, pts in res.series:
                route = OTHER if kind == "other" else (labels.get(label, "") or NO_ROUTE)
                if route in rows:
                    rows[route].series[signal] = pts
        return RouteView(self.service, label, rank(list(rows.values())), routes, other, t)
