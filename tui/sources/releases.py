"""Which version each service runs, asked of its sources once per refresh.

- Prometheus, when the service has a `version_query` (its own or the global one): that
  PromQL, counted by its `version_label`, instead of the gauges below (source "query"); a
  query Prometheus refuses is a warning in the source's status naming the key.
- Prometheus: the `*_build_info` gauges of the processes that export the service's latency
  histogram (the same `(job, instance)` tie as the Go runtime signals, so Prometheus' own
  `prometheus_build_info` in the same job is not taken), counted by `version` and
  `revision`; the version most processes run is the service's (a rolling deploy flips when
  half the fleet has the new one). `go_build_info` is left out: its version is the Go
  module's, usually `(devel)`, not the release. Finding the gauges matches every metric
  name, so it is a probe run now and then (as the Go runtime probe is); each refresh asks
  only for the gauges found, by name, so a restart at a new version is seen at once. No
  version query is sent while the source is failing.
- OTLP: the resource attribute `service.version` of the newest push (the sink keeps it).
- Marks: the lines `warroom mark` appends to the releases file.

The answers go to a `ReleaseTimeline` (tui/core), which says when a version changed and,
one window later, what the release did to P99 and P95. A failed query is skipped: the
latency refresh reports Prometheus faults, a version look-up must not add noise.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from tui.config import Config, ServiceConfig
from tui.core.metrics.store import MetricStore
from tui.core.release_timeline import MarksReader, ReleaseTimeline, marks_path
from tui.core.releases import BEFORE_REACH, newest_release
from tui.sources.prometheus import (
    DISCOVERY_EVERY,
    LAYOUT_EVERY,
    LAYOUT_RETRY,
    PrometheusClient,
    PrometheusError,
    PrometheusSource,
    QueryResult,
    build_queries,
    split_selector,
)

log = logging.getLogger(__name__)

COMPARE_WINDOW = 300.0  # seconds each side of a release, at most half the dashboard window


RELEASE_ROUTES = 10  # top routes by traffic compared at a release (the rest are not)
OTLP_ROUTE = "http.route"  # the OTLP route breakdown's attribute (tui.core.metrics.otlp_routes)
MAX_JUDGED = 4  # release comparisons with routes per refresh (each costs ~12 range queries)

BUILD_INFO_ANY = '{__name__=~".+_build_info",__name__!="go_build_info"}'


def build_info_names_query(targets: str) -> str:
    """Which `*_build_info` gauges the service's processes export (a match on every metric
    name: the probe, asked now and then)."""
    return f"count by (__name__) ({BUILD_INFO_ANY} and on (job, instance) {targets})"


def build_info_query(targets: str, names: tuple[str, ...] = ()) -> str:
    """Processes per (version, revision) among the service's processes, from the gauges
    `names` the probe found (metric names: nothing in them is special to a regex); without
    names every `*_build_info` gauge (a one-off look-up, e.g. `baseline refresh`)."""
    if not names:
        gauges = BUILD_INFO_ANY
    else:
        gauges = names[0] if len(names) == 1 else '{__name__=~"' + "|".join(names) + '"}'
    return f"count by (version, revision) ({gauges} and on (job, instance) {targets})"


def configured_query(cfg: Config, svc: ServiceConfig | None) -> tuple[str, str] | None:
    """(PromQL counting processes per version, its version label) of the service's
    `version_query`, else the global one's (`{service}` filled in); None: use build_info."""
    if svc is None or svc.prometheus is None:
        return None
    own, glob = svc.prometheus, cfg.prometheus
    for where in (own, glob):
        if where is not None and where.version_query:
            expr = where.version_query.replace("{service}", svc.name)
            return f"count by ({where.version_label}) ({expr})", where.version_label
    return None


def majority_version(res: QueryResult, label: str = "version") -> tuple[str, str] | None:
    """The (version, revision) most processes report; ties go to the highest version text,
    so an even split does not flip between refreshes."""
    best: tuple[float, str, str] | None = None
    for labels, pts in res.series:
        version, revision = labels.get(label, ""), labels.get("revision", "")
        if not (version or revision) or not pts:
            continue
        key = (pts[-1][1], version, revision)
        if best is None or key > best:
            best = key
    if best is None:
        return None
    return (best[1] or best[2], best[2])


class ReleaseWatcher:
    """Polls versions for the hub and returns record lines (releases, flaps, comparisons)."""

    def __init__(
        self,
        cfg: Config,
        store: MetricStore,
        prometheus: PrometheusSource | None,
        sink: Any = None,
    ) -> None:
        self.prometheus = prometheus
        self.sink = sink
        window = min(COMPARE_WINDOW, float(cfg.window) / 2)
        rate_window = float(cfg.rate_window)
        self.timeline = ReleaseTimeline(
            store,
            window,
            rate_window,
            marks=marks_path(cfg.audit.path),
            guard=float(cfg.refresh) + rate_window,
        )
        # service -> (time probed, the `*_build_info` gauges its processes export)
        self._gauges: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._failing = False  # the source was failing at the last poll
        self._pollers: dict[str, Any] = {}  # service -> RoutesPoller, for release verdicts
        self.cfg = cfg
        # service -> (its version_query's PromQL, version label): asked instead of build_info
        self._configured: dict[str, tuple[str, str]] = {}

    async def poll_prometheus(self, now: float) -> list[dict[str, Any]]:
        """The version of each Prometheus service, from the gauges its probe found; nothing
        while the source is failing (its backoff must mean fewer requests)."""
        if self.prometheus is None:
            return []
        src = self.prometheus
        if src.failures:
            self._failing = True
            return self.poll_marks(now)
        for name in src.queries:  # discovered services get the global version_query too
            found = configured_query(self.cfg, src.service_config(name))
            if found is not None:
                self._configured[name] = found
        await self._probe_names(now)
        asked = [
            (name, build_info_query(src.queries[name].targets, gauges), "version")
            for name, (_, gauges) in self._gauges.items()
            if gauges and name in src.queries and name not in self._configured
        ]
        own = [(name, q, label) for name, (q, label) in self._configured.items()]
        results = await asyncio.gather(
            *(src.client.query(q, now) for _, q, _ in asked + own), return_exceptions=True
        )
        versions: dict[str, tuple[str, str]] = {}
        by_query: dict[str, tuple[str, str]] = {}
        for (name, _, label), res in zip(asked + own, results, strict=True):
            found = majority_version(res, label) if isinstance(res, QueryResult) else None
            if found is not None:
                (by_query if name in self._configured else versions)[name] = found
            elif isinstance(res, PrometheusError) and name in self._configured:
                self._refused(name, res)
            elif isinstance(res, BaseException) and not isinstance(res, PrometheusError):
                raise res
        out = self.timeline.observe(versions, now, "build_info")
        out += self.timeline.observe(by_query, now, "query") + self.timeline.read_marks()
        return out + self._judge_local(now) + await self._judge(now)

    def _refused(self, service: str, err: PrometheusError) -> None:
        """Prometheus refused a configured version_query: said in the source's status (its
        syntax was checked when the config was read; this is what only Prometheus knows)."""
        svc = self.cfg.service(service)
        own = svc is not None and svc.prometheus is not None and svc.prometheus.version_query
        key = "services[].prometheus.version_query" if own else "prometheus.version_query"
        note = f"{service} {key}: {err.detail}"
        assert self.prometheus is not None
        status = self.prometheus.status
        if note not in status.detail:
            status.detail = f"{status.detail}; warning: {note}" if status.detail else note

    def _prometheus_service(self, service: str) -> bool:
        return self.prometheus is not None and self.prometheus.service_config(service) is not None

    async def _judge(self, now: float) -> list[dict[str, Any]]:
        """The due comparisons of Prometheus services, each with its routes' before and after
        (the route view's top routes, asked once per release); a route fault or a histogram
        without a route label leaves the service-level verdict, with a note."""
        due = self.timeline.due(now, lambda s: not self._prometheus_service(s))
        src, out = self.prometheus, []
        if src is None:
            return []
        for rel in due[:MAX_JUDGED]:
            poller = self._pollers.get(rel.service)
            if poller is None:
                from tui.sources.routes import RoutesPoller

                poller = RoutesPoller(src, rel.service, top=RELEASE_ROUTES)
                self._pollers[rel.service] = poller
            (b0, _), (_, a1) = self.timeline.windows(rel)
            reach = BEFORE_REACH * self.timeline.window  # the before window may move back
            try:
                view = await poller.between(b0 - reach, a1, now)
            except PrometheusError as exc:
                out.append(self.timeline.judge(rel, route_note=f"routes not read: {exc.detail}"))
                continue
            if view.error:
                out.append(self.timeline.judge(rel, route_note=view.error))
                continue
            series = {r.route: r.series for r in view.rows}
            out.append(self.timeline.judge(rel, series, src.step, view.label))
        for rel in due[MAX_JUDGED:]:  # a burst of releases: the rest at the next refresh
            self.timeline.add_pending(rel)
        return out

    async def _probe_names(self, now: float) -> None:
        """Ask which `*_build_info` gauges each service's processes export: at start, at once
        after the source's failure clears, then every LAYOUT_EVERY once found, every
        DISCOVERY_EVERY while there are none, LAYOUT_RETRY after a failed probe (the old
        answer is kept), like the Go runtime probe."""
        assert self.prometheus is not None
        src, cleared, self._failing = self.prometheus, self._failing, False
        due = []
        for name, sq in src.queries.items():
            probed, gauges = self._gauges.get(name, (-math.inf, ()))
            every = LAYOUT_EVERY if gauges else DISCOVERY_EVERY
            if sq.targets and name not in self._configured and (cleared or now - probed >= every):
                due.append((name, sq.targets))
        results = await asyncio.gather(
            *(src.client.query(build_info_names_query(ts), now) for _, ts in due),
            return_exceptions=True,
        )
        for (name, _), res in zip(due, results, strict=True):
            old = self._gauges.get(name, (0.0, ()))[1]
            if isinstance(res, QueryResult):
                found = sorted({labels.get("__name__", "") for labels, _ in res.series} - {""})
                self._gauges[name] = (now, tuple(found))
            elif isinstance(res, PrometheusError):
                self._gauges[name] = (now - DISCOVERY_EVERY + LAYOUT_RETRY, old)
            else:
                raise res

    def poll_otlp(self, now: float) -> list[dict[str, Any]]:
        """The `service.version` of each OTLP service's newest push (after `sink.tick`)."""
        versions = getattr(self.sink, "versions", None) or {}
        out = self.timeline.observe({s: (v, "") for s, v in versions.items()}, now, "otlp")
        return out + self.poll_marks(now)

    def _judge_local(self, now: float) -> list[dict[str, Any]]:
        """The due comparisons of the other services (OTLP ones, marks of services no source
        has); an OTLP service's routes come from the sink's per-route history (`http.route`),
        which holds one window, so the oldest part of a long before window may be gone."""
        out = []
        for rel in self.timeline.due(now, self._prometheus_service):
            breakdown = None
            if self.sink is not None and hasattr(self.sink, "route_breakdown"):
                breakdown = self.sink.route_breakdown(rel.service)
            rows = breakdown.rows() if breakdown is not None else []
            if not rows:
                out.append(self.timeline.judge(rel))
                continue
            series = {r.route: r.series for r in rows}
            out.append(self.timeline.judge(rel, series, float(self.cfg.refresh), OTLP_ROUTE))
        return out

    def poll_marks(self, now: float) -> list[dict[str, Any]]:
        """New marks, and the comparisons whose after window is complete (a Prometheus
        service's wait for a Prometheus refresh: it adds the routes, and none is asked while
        the source fails)."""
        return self.timeline.read_marks() + self._judge_local(now)


async def running_version(cfg: Config, service: str, now: float) -> tuple[str, str, str] | None:
    """(version, revision, source) the service runs at `now`, for a baseline to be keyed by.

    The same answers the release timeline uses, in this order: the `version_query` answer
    when one is configured (source "query", and nothing else is asked), the `*_build_info` majority of
    the processes exporting its latency histogram (source "build_info"), the newest
    `warroom mark` of it ("mark"), and the `version` label of its latency series when exactly
    one is live ("label"; several at once is a rollout in progress). None when nothing says;
    a Prometheus fault is not fatal here: a baseline without a version is still a baseline.
    """
    svc = cfg.service(service)
    if cfg.prometheus is not None and svc is not None and svc.prometheus is not None:
        client = PrometheusClient(cfg.prometheus)
        try:
            found = await _prometheus_version(client, cfg, svc, float(cfg.rate_window), now)
        finally:
            await client.aclose()
        if found is not None:
            return found
    marks = MarksReader(marks_path(cfg.audit.path))
    mark = newest_release(marks.read_new(), service, now)
    return (mark.version, mark.revision, "mark") if mark is not None else None


async def _prometheus_version(
    client: PrometheusClient, cfg: Config, svc: Any, rate_window: float, now: float
) -> tuple[str, str, str] | None:
    own = configured_query(cfg, svc)
    try:
        if own is not None:
            res = await client.query(own[0], now)
            found = majority_version(res, own[1])
            return (found[0], found[1], "query") if found is not None else None
        res = await client.query(build_info_query(build_queries(svc, rate_window).targets), now)
        found = majority_version(res)
        if found is not None:
            return (found[0], found[1], "build_info")
        name, inner = split_selector(svc.prometheus.latency_histogram)
        series = f"{name}_count{{{inner}}}" if inner else f"{name}_count"
        res = await client.query(f"count by (version) ({series})", now)
    except (PrometheusError, ValueError):
        return None
    versions = {labels.get("version", "") for labels, _ in res.series} - {""}
    return (versions.pop(), "", "label") if len(versions) == 1 else None
