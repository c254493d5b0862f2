"""Releases on the timeline: when a service's version changed, and what it did to the tail.

Versions are observed once per refresh per source (Prometheus `*_build_info`, OTLP resource
`service.version`); a `warroom mark` line or a config marker is a release by itself. A change
is a Release at once, so the marker sits where the rollout happened. A version that changes
again within `flap_within` observations is flapping (a rolling deploy split half and half, a
label that alternates between instances): that is said once, no release is emitted while it
lasts, and once it holds for `flap_within` observations the settled version is one Release if
it differs from the last one. Memory is bounded: `max_services` tracked services (oldest
forgotten first) and `keep` releases each.

`compare_release` judges each release with the regression table's statistics: the P99/P95
samples of the window before against the window after (`tui.core.baseline.check`), so
"1.4.3: P99 +240% (REGRESSION)" means the same as that row of the Regression tab would.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tui.core.metrics.store import MetricStore

if TYPE_CHECKING:
    from tui.core.release_breakdown import RouteSeries
    from tui.core.stats.compare import ComparisonRow

# The statistics (tui.core.stats, tui.core.baseline.check, tui.core.release_breakdown) are
# imported by the functions that compare: the release types are part of every source
# event, and the dashboard's first frame should not wait for the comparison machinery.

SOURCES = ("build_info", "query", "otlp", "mark", "config")  # "query": a version_query
FLAP_WITHIN = 3  # observations: a version back (or changed again) sooner than this flaps
DEDUPE_SECONDS = 600.0  # the same version from another source this soon is the same release
KEEP = 50  # releases remembered per service
MAX_SERVICES = 1000
COMPARED_SIGNALS = ("p99", "p95")
BEFORE_REACH = 2  # windows: how far back the before window may move past a gap


@dataclass(frozen=True)
class Release:
    service: str
    version: str
    revision: str
    t: float
    source: str  # one of SOURCES
    previous: str = ""  # the version it replaced, when known

    def to_record(self) -> dict[str, Any]:
        """The `{"type": "release", ...}` line of `warroom record`."""
        return {
            "t": self.t,
            "type": "release",
            "service": self.service,
            "version": self.version,
            "revision": self.revision,
            "source": self.source,
            "previous": self.previous,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Release:
        """The Release of a record line; ValueError names the field that is wrong."""
        t = rec.get("t")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise ValueError("a release needs a numeric 't'")
        for key in ("service", "version"):
            if not isinstance(rec.get(key), str) or not rec[key]:
                raise ValueError(f"a release needs a non-empty string {key!r}")
        source = rec.get("source", "mark")
        if source not in SOURCES:
            raise ValueError(f"release source {source!r} is not one of {', '.join(SOURCES)}")
        revision, previous = rec.get("revision", ""), rec.get("previous", "")
        if not isinstance(revision, str) or not isinstance(previous, str):
            raise ValueError("a release's 'revision' and 'previous' are strings")
        return cls(rec["service"], rec["version"], revision, float(t), source, previous)

    def label(self) -> str:
        return self.version if not self.revision else f"{self.version} ({self.revision})"


@dataclass(frozen=True)
class FlapNotice:
    """Said once per bout of flapping, instead of a release per flip."""

    service: str
    source: str
    t: float
    versions: tuple[str, ...]

    def to_record(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "type": "release_flap",
            "service": self.service,
            "source": self.source,
            "versions": list(self.versions),
        }

    def message(self) -> str:
        return (
            f"{self.service}: version flapping between {' and '.join(self.versions)} "
            f"({self.source}); no release is marked until it holds"
        )


@dataclass
class _Track:
    """One (service, source) version as observed, with its flap state."""

    version: str
    revision: str
    n: int = 0  # observations so far
    changed_at_n: int = -(10**9)  # observation index of the last change
    changed_t: float = 0.0
    flapping: bool = False
    seen: list[str] = field(default_factory=list)  # versions while flapping (bounded)


class ReleaseLog:
    """Observations of versions in, Releases (and flap notices) out; bounded memory."""

    def __init__(
        self,
        flap_within: int = FLAP_WITHIN,
        keep: int = KEEP,
        max_services: int = MAX_SERVICES,
    ) -> None:
        self.flap_within = flap_within
        self.keep = keep
        self.max_services = max_services
        self._tracks: OrderedDict[tuple[str, str], _Track] = OrderedDict()
        self._releases: OrderedDict[str, deque[Release]] = OrderedDict()

    def releases(self, service: str) -> list[Release]:
        """The service's releases, oldest first."""
        return list(self._releases.get(service, ()))

    def services(self) -> list[str]:
        return list(self._releases)

    def current(self, service: str, source: str) -> str | None:
        track = self._tracks.get((service, source))
        return None if track is None else track.version

    def observe(
        self, service: str, version: str, revision: str, t: float, source: str
    ) -> list[Release | FlapNotice]:
        """One refresh's version of a service from one source; the events it makes."""
        key = (service, source)
        track = self._tracks.get(key)
        if track is None:  # the version it runs when we start watching is not a release
            self._tracks[key] = _Track(version, revision, n=1)
            self._bound(self._tracks)
            return []
        self._tracks.move_to_end(key)
        track.n += 1
        if (version, revision) == (track.version, track.revision):
            if track.flapping and track.n - track.changed_at_n >= self.flap_within:
                track.flapping = False
                track.seen.clear()
                last = self._last(service)
                if last is None or last.version != version or last.revision != revision:
                    prev = last.version if last is not None else ""
                    rel = Release(service, version, revision, track.changed_t, source, prev)
                    return self._emit(rel)
            return []
        old = track.version
        quick = track.n - track.changed_at_n < self.flap_within
        track.version, track.revision = version, revision
        track.changed_at_n, track.changed_t = track.n, t
        if track.flapping:
            if version not in track.seen and len(track.seen) < 8:
                track.seen.append(version)
            return []
        if quick:
            track.flapping = True
            track.seen = [old, version] if old != version else [version]
            return [FlapNotice(service, source, t, tuple(track.seen))]
        return self._emit(Release(service, version, revision, t, source, old))

    def add(self, release: Release) -> list[Release | FlapNotice]:
        """A release stated outright (a mark, a config marker, a replayed line)."""
        return self._emit(release)

    def _last(self, service: str) -> Release | None:
        rels = self._releases.get(service)
        return rels[-1] if rels else None

    def _emit(self, rel: Release) -> list[Release | FlapNotice]:
        rels = self._releases.get(rel.service)
        if rels is not None:
            for old in rels:
                if old.version == rel.version and abs(old.t - rel.t) < DEDUPE_SECONDS:
                    return []  # the same rollout seen by a second source
        if rels is None:
            rels = self._releases[rel.service] = deque(maxlen=self.keep)
            self._bound(self._releases)
        rels.append(rel)
        self._releases.move_to_end(rel.service)
        return [rel]

    def _bound(self, d: OrderedDict[Any, Any]) -> None:
        while len(d) > self.max_services:
            d.popitem(last=False)


def newest_release(
    releases: Iterable[Release], service: str, until: float = math.inf
) -> Release | None:
    """The service's latest release at or before `until` (what ran then, as far as the
    releases say): a baseline taken from a recording or beside `warroom mark` is keyed by it."""
    mine = [r for r in releases if r.service == service and r.t <= until]
    return max(mine, key=lambda r: r.t) if mine else None


# -- before / after ------------------------------------------------------------------------


@dataclass
class ReleaseComparison:
    release: Release
    rows: list[ComparisonRow]
    before: tuple[float, float]
    after: tuple[float, float]
    routes: list[ComparisonRow] = field(default_factory=list)  # `ROUTE p99` rows, one family
    route_label: str = ""
    route_note: str = ""  # why there are no route rows, when it is worth saying
    runtime: list[ComparisonRow] = field(default_factory=list)  # go.* rows: explain, never gate

    def message(self) -> str:
        """`checkout 1.4.3: P99 +240% [+180%, +310%] (REGRESSION), P95 ...; P99 +400%
        (REGRESSION) on /pay; runtime: gc_p99 +250%`"""
        from tui.core import release_breakdown as breakdown

        parts = [_row_text(r) for r in self.rows]
        head = f"{self.release.service} {self.release.version}"
        text = f"{head}: {', '.join(parts)}" if parts else f"{head}: no samples to compare"
        extra = [breakdown.routes_text(self.routes), breakdown.runtime_text(self.runtime)]
        return "; ".join([text, *(e for e in extra if e)])

    def to_record(self) -> dict[str, Any]:
        from tui.core import release_breakdown as breakdown

        rec: dict[str, Any] = {
            "t": self.after[1],
            "type": "release_compare",
            "service": self.release.service,
            "version": self.release.version,
            "release_t": self.release.t,
            "rows": [r.to_json() for r in self.rows],
            "message": self.message(),
        }
        if self.routes or self.route_note:
            rec["route_label"] = self.route_label
            rec["routes"] = breakdown.rows_json(self.routes, by_route=True)
            if self.route_note:
                rec["route_note"] = self.route_note
        if self.runtime:
            rec["runtime"] = breakdown.rows_json(self.runtime)
        return rec


def _row_text(r: ComparisonRow) -> str:
    from tui.core.release_breakdown import pct as _pct

    name = r.name.upper()
    if not r.base.n or not r.current.n:
        return f"{name} ({'no samples before' if not r.base.n else 'no samples after'})"
    c = r.change
    interval = (
        f" [{_pct(c.lo)}, {_pct(c.hi)}]" if math.isfinite(c.lo) and math.isfinite(c.hi) else ""
    )
    return f"{name} {_pct(c.ratio)}{interval} ({r.verdict})"


def compare_windows(
    release: Release,
    before: Mapping[str, Sequence[float]],
    after: Mapping[str, Sequence[float]],
    step: float,
    spacing: float,
    windows: tuple[tuple[float, float], tuple[float, float]],
) -> ReleaseComparison:
    """Rows for P99 and P95 with the regression table's statistics, BH across the two."""
    from tui.core.baseline.check import thin
    from tui.core.stats.compare import compare_samples, finalize_table

    rows = [
        compare_samples(
            thin(before.get(sig, []), step, spacing),
            thin(after.get(sig, []), step, spacing),
            sig,
            name=sig,
        )
        for sig in COMPARED_SIGNALS
        if before.get(sig) or after.get(sig)
    ]
    return ReleaseComparison(release, finalize_table(rows), windows[0], windows[1])


def release_windows(
    release: Release, window: float, rate_window: float, guard: float = 0.0
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(before, after) of a release: `window` seconds each side. The after window starts one
    rate window late: a quantile over a rate window that straddles the release mixes both
    versions' requests. The before window ends `guard` seconds early: a detected release is
    seen up to a scrape and a refresh after the new version served. `compare_release` moves
    it back to the newest sample when the service served nothing just before (a restart's
    gap), at most BEFORE_REACH windows: a source's breakdown must cover that much."""
    before = (release.t - guard - window, release.t - guard - 1e-6)
    after = (release.t + rate_window, release.t + rate_window + window - 1e-6)
    return before, after


def compare_release(
    store: MetricStore,
    release: Release,
    window: float,
    rate_window: float,
    guard: float = 0.0,
    routes: RouteSeries | None = None,
    route_step: float = 0.0,
) -> ReleaseComparison:
    """`window` seconds before the release against `window` seconds after it (see
    `release_windows`): the service's P99/P95 from the store, the routes' from `routes`
    (route -> signal -> [(t, v)] over both windows, when the source has a breakdown), and
    the Go runtime signals the store holds."""
    from tui.core import release_breakdown as breakdown
    from tui.core.baseline.snapshot import infer_step, signals_from_store

    (b0, b1), (a0, a1) = release_windows(release, window, rate_window, guard)
    last = newest_sample(store, release.service, b1, b1 - BEFORE_REACH * window)
    if last is not None:  # a restart's gap (nothing served, no samples) is not "before"
        b0, b1 = last - window + 1e-6, last
    before, step_b = signals_from_store(store, release.service, b0, b1)
    after, step_a = signals_from_store(store, release.service, a0, a1)
    step = step_b or step_a
    out = compare_windows(release, before, after, step, rate_window, ((b0, b1), (a0, a1)))
    if routes:
        rb, ra = breakdown.split_windows(routes, (b0, b1), (a0, a1))
        out.routes = breakdown.route_rows(rb, ra, route_step or step, rate_window)
    rt_b = breakdown.runtime_from_store(store, release.service, b0, b1)
    rt_a = breakdown.runtime_from_store(store, release.service, a0, a1)
    rt_step = infer_step(_times(store, release.service, b0, a1)) or step
    out.runtime = breakdown.runtime_rows(rt_b, rt_a, rt_step, rate_window)
    return out


def newest_sample(store: MetricStore, service: str, until: float, since: float) -> float | None:
    """The time of the service's newest finite P99 (else P95) sample in [since, until]."""
    for sig in COMPARED_SIGNALS:
        ring = store.series(service, sig)
        if ring is None:
            continue
        t, v, _ = ring.since(since)
        keep = (t <= until) & np.isfinite(v)
        if keep.any():
            return float(t[keep].max())
    return None


def _times(store: MetricStore, service: str, start: float, end: float) -> list[float]:
    """The times of the service's first runtime series in [start, end] (its step)."""
    from tui.core.metrics import go_runtime

    for key in go_runtime.KEYS:
        ring = store.series(service, key)
        if ring is not None:
            t, _, _ = ring.since(start)
            return [float(x) for x in t[t <= end]]
    return []


def due_at(release: Release, window: float, rate_window: float) -> float:
    """When the after window of `release` is complete."""
    return release.t + rate_window + window
