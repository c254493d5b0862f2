"""Which version each service runs, asked of its sources once per refresh.

- Prometheus: the `*_build_info` gauges of the processes that export the service's latency
  histogram (the same `(job, instance)` tie as the Go runtime signals, so Prometheus' own
  `prometheus_build_info` in the same job is not taken), counted by `version` and
  `revision`; the version most processes run is the service's (a rolling deploy flips when
  half the fleet has the new one). `go_build_info` is left out: its version is the Go
  module's, usually `(devel)`, not the release.
- OTLP: the resource attribute `service.version` of the newest push (the sink keeps it).
- Marks: the lines `warroom mark` appends to the releases file.

The answers go to a `ReleaseTimeline` (tui/core), which says when a version changed and,
one window later, what the release did to P99 and P95. A failed query is skipped: the
latency refresh reports Prometheus faults, a version look-up must not add noise.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tui.config import Config
from tui.core.metrics.store import MetricStore
from tui.core.release_timeline import MarksReader, ReleaseTimeline, marks_path
from tui.core.releases import newest_release
from tui.sources.prometheus import (
    PrometheusClient,
    PrometheusError,
    PrometheusSource,
    QueryResult,
    build_queries,
    split_selector,
)

log = logging.getLogger(__name__)

COMPARE_WINDOW = 300.0  # seconds each side of a release, at most half the dashboard window


def build_info_query(targets: str) -> str:
    """Processes per (version, revision) among the service's processes."""
    return (
        'count by (version, revision) ({__name__=~".+_build_info",__name__!="go_build_info"} '
        f"and on (job, instance) {targets})"
    )


def majority_version(res: QueryResult) -> tuple[str, str] | None:
    """The (version, revision) most processes report; ties go to the highest version text,
    so an even split does not flip between refreshes."""
    best: tuple[float, str, str] | None = None
    for labels, pts in res.series:
        version, revision = labels.get("version", ""), labels.get("revision", "")
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

    async def poll_prometheus(self, now: float) -> list[dict[str, Any]]:
        if self.prometheus is None:
            return []
        src = self.prometheus
        names = [(n, q.targets) for n, q in src.queries.items() if q.targets]
        results = await asyncio.gather(
            *(src.client.query(build_info_query(ts), now) for _, ts in names),
            return_exceptions=True,
        )
        versions: dict[str, tuple[str, str]] = {}
        for (name, _), res in zip(names, results, strict=True):
            if isinstance(res, QueryResult):
                found = majority_version(res)
                if found is not None:
                    versions[name] = found
            elif not isinstance(res, PrometheusError):
                raise res
        return self.timeline.observe(versions, now, "build_info") + self.poll_marks(now)

    def poll_otlp(self, now: float) -> list[dict[str, Any]]:
        """The `service.version` of each OTLP service's newest push (after `sink.tick`)."""
        versions = getattr(self.sink, "versions", None) or {}
        out = self.timeline.observe({s: (v, "") for s, v in versions.items()}, now, "otlp")
        return out + self.poll_marks(now)

    def poll_marks(self, now: float) -> list[dict[str, Any]]:
        """New marks, and the comparisons whose after window is complete."""
        return self.timeline.read_marks() + self.timeline.tick(now)


async def running_version(cfg: Config, service: str, now: float) -> tuple[str, str, str] | None:
    """(version, revision, source) the service runs at `now`, for a baseline to be keyed by.

    The same answers the release timeline uses, in this order: the `*_build_info` majority of
    the processes exporting its latency histogram (source "build_info"), the newest
    `warroom mark` of it ("mark"), and the `version` label of its latency series when exactly
    one is live ("label"; several at once is a rollout in progress). None when nothing says;
    a Prometheus fault is not fatal here: a baseline without a version is still a baseline.
    """
    svc = cfg.service(service)
    if cfg.prometheus is not None and svc is not None and svc.prometheus is not None:
        client = PrometheusClient(cfg.prometheus)
        try:
            found = await _prometheus_version(client, svc, float(cfg.rate_window), now)
        finally:
            await client.aclose()
        if found is not None:
            return found
    marks = MarksReader(marks_path(cfg.audit.path))
    mark = newest_release(marks.read_new(), service, now)
    return (mark.version, mark.revision, "mark") if mark is not None else None


async def _prometheus_version(
    client: PrometheusClient, svc: Any, rate_window: float, now: float
) -> tuple[str, str, str] | None:
    try:
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
