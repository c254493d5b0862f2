"""The hub: runs every configured source against one MetricStore, headless or under the UI.

- Prometheus: one `RefreshLoop` (tui/sources/base.py), re-armed after each refresh *finishes*
  (never an interval), so a slow server never has two requests of ours in flight; the delay is
  `refresh`, or the source's capped backoff while it fails.
- OTLP: the receivers (HTTP and gRPC) ingest pushes into an `OTLPSink`; a second loop calls
  `sink.tick(now)` every `refresh` to turn the bucket deltas into p50/p95/p99, qps, error ratio.
- Go runtime signals (the dashboard and `record` ask for them with `go_runtime=True`): the Prometheus
  source tails them into the same store under `go.*` names, in the same refresh; for OTLP
  services an `OTLPRuntime` (tui.core.metrics.otlp_runtime) reads every push after the sink
  and stores the same names at each tick.
- After each refresh: every new p99 point goes to the spike tracker, and the refresh's typed
  events (tui.core.events) go to the one `event_sink`: releases, spikes, then a closing
  `PointBatch` (carrying the points as record lines when `emit_points=True`, which
  `warroom record` uses; then each OTLP service's route rows go out too, as
  `{"type": "routes"}` lines) that tells the UI to redraw.

The OTLP and spike modules are imported when present, so the hub works with whatever sources
are installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from pathlib import Path
from typing import Any

from tui.config import Config
from tui.core.events import EventSink, PointBatch, SourceEvent, event_or_line
from tui.core.events import Point as RecordPoint
from tui.core.metrics.go_runtime import KEYS as RUNTIME_KEYS
from tui.core.metrics.store import SIGNALS, MetricStore
from tui.core.stats.spikes import SpikeTracker
from tui.sources.base import Backoff, RefreshLoop, SourceStatus
from tui.sources.exemplars import PrometheusExemplars
from tui.sources.prometheus import Point, PrometheusSource
from tui.sources.releases import ReleaseWatcher

log = logging.getLogger(__name__)
MAX_SPIKE_ASKS = 8  # services in a spike whose exemplars one refresh asks Prometheus for


class Hub:
    def __init__(
        self,
        cfg: Config,
        store: MetricStore,
        event_sink: EventSink | None = None,
        *,
        emit_points: bool = False,
        start_otlp: bool = True,
        go_runtime: bool = False,
    ):
        """`event_sink`: called with every event, in the hub's event loop (the app's sink
        posts them on as messages). `go_runtime`: also tail each Prometheus service's Go runtime signals (GC pause,
        scheduler latency, goroutines, heap, GC CPU) into the store, for the dashboard."""
        self.cfg = cfg
        self.store = store
        self.event_sink = event_sink
        self.emit_points = emit_points
        self.prometheus: PrometheusSource | None = (
            PrometheusSource(cfg, store, runtime=go_runtime) if cfg.prometheus is not None else None
        )
        self.sink: Any = None
        self.runtime: Any = None  # OTLP services' Go runtime signals (with go_runtime)
        self.receivers: list[Any] = []
        if start_otlp:
            self._make_otlp(go_runtime)
        per = {s.name: s.detector for s in cfg.services if s.detector is not None}
        self.spikes = SpikeTracker(cfg.detector, per)
        self._seen: dict[tuple[str, str], float] = {}  # OTLP series -> newest t already seen
        self._routes_seen: dict[str, float] = {}  # OTLP service -> newest route tick recorded
        self.releases = ReleaseWatcher(cfg, store, self.prometheus, self.sink)
        self.exemplars = (
            PrometheusExemplars(self.prometheus, store) if self.prometheus is not None else None
        )
        self._loops: list[RefreshLoop] = []
        self._running = False

    def _make_otlp(self, go_runtime: bool) -> None:
        """The sink and the receivers of the addresses that are set (each receiver's module,
        aiohttp's or grpc's, is imported only when its address is)."""
        classes: list[Any] = []
        if self.cfg.otlp.http:
            from tui.sources.otlp_http import OTLPHttpReceiver

            classes.append(OTLPHttpReceiver)
        if self.cfg.otlp.grpc:
            from tui.sources.otlp_grpc import OTLPGrpcReceiver

            classes.append(OTLPGrpcReceiver)
        if not classes:
            return  # nothing can push to a sink: no tick loop either
        from tui.core.metrics.otlp import OTLPSink

        self.sink = OTLPSink(self.store, self.cfg)
        self.receivers = [c(self.cfg.otlp, self.sink) for c in classes]
        if go_runtime:
            from tui.core.metrics.otlp_runtime import OTLPRuntime

            self.runtime = OTLPRuntime(self.store, self.cfg)
            for r in self.receivers:
                r.add_tap(self.runtime.ingest)

    # -- lifecycle

    async def start(self, loops: bool = True) -> None:
        """Start the receivers and (unless `loops=False`) the refresh loops; returns at once."""
        if self._running:
            return
        self._running = True
        for r in self.receivers:
            try:
                await r.start()
            except Exception as exc:  # a taken port must not stop the other sources
                log.info("OTLP receiver failed to start: %s", exc)
                if r.status.state != "error":  # the receiver's own words when it has some
                    r.status.failed(f"cannot start: {exc}", "error")
        self._load_baselines()
        if not loops:
            return
        if self.prometheus is not None:
            p = self.prometheus
            self._loops.append(
                RefreshLoop("prometheus", self._refresh_prometheus, p.backoff, p.status)
            )
        if self.sink is not None:
            tick = Backoff.fixed(float(self.cfg.refresh))
            self._loops.append(RefreshLoop("otlp-tick", self._tick_otlp, tick, wait_first=True))
        for loop in self._loops:
            loop.start()

    def _load_baselines(self) -> None:
        """Stored baseline P99s let the spike detector judge points while it warms up."""
        from tui.core.baseline.store import BaselineStore

        directory = Path(self.cfg.baseline.dir).expanduser()
        if not directory.is_dir():
            return
        try:
            self.spikes.load_baselines(BaselineStore(directory))
        except Exception as exc:  # a damaged baseline must not stop live monitoring
            log.info("baselines not loaded: %s", exc)

    async def stop(self) -> None:
        self._running = False
        for loop in self._loops:
            await loop.stop()
        self._loops.clear()
        for r in self.receivers:
            with contextlib.suppress(Exception):
                await r.stop()
        if self.prometheus is not None:
            await self.prometheus.aclose()

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def receiver_errors(self) -> list[str]:
        """`name: detail` of every receiver that could not start (headless commands fail)."""
        return [
            f"{r.status.name}: {r.status.detail}"
            for r in self.receivers
            if r.status.state == "error"
        ]

    def listening(self) -> list[str]:
        """`name: listening on host:port` of every receiver bound: the port the OS gave
        when the config says 0, which the headless commands print for whoever pushes."""
        return [
            f"{r.status.name}: listening on {host}:{port}"
            for r in self.receivers
            if r.status.state == "listening"
            for host, port in [r.bound_address]
        ]

    def statuses(self) -> list[SourceStatus]:
        out = [self.prometheus.status] if self.prometheus is not None else []
        out.extend(r.status for r in self.receivers if isinstance(r.status, SourceStatus))
        return out

    # -- refreshing

    async def refresh_once(self, now: float | None = None) -> None:
        """One refresh of every source at `now` (tests, snapshot, and the loops' body)."""
        now = time.time() if now is None else now
        new: list[Point] = []
        releases: list[dict[str, Any]] = []
        if self.prometheus is not None:
            new.extend(await self.prometheus.refresh(now))
            releases += await self.releases.poll_prometheus(now)
        if self.sink is not None:
            self._tick_sinks(now)
            new.extend(self._new_otlp_points())
            releases += self.releases.poll_otlp(now) + self._new_route_lines()
        if self.prometheus is None and self.sink is None:
            releases += self.releases.poll_marks(now)
        self._publish(new, releases)
        await self.spike_exemplars(now)

    async def _refresh_prometheus(self) -> None:
        """The Prometheus loop's body (its RefreshLoop waits the source's backoff)."""
        assert self.prometheus is not None
        points = await self.prometheus.refresh()
        self._publish(points, await self.releases.poll_prometheus(time.time()))
        await self.spike_exemplars(time.time())

    async def spike_exemplars(self, now: float) -> None:
        """Exemplars (slow requests' trace ids, for the Service tab) of the Prometheus services
        in a spike: asked only then, a few services at a time. OTLP pushes carry their own."""
        if self.exemplars is None or self.spikes is None or self.prometheus is None:
            return
        spiking = [
            name
            for name, state in self.spikes.states().items()
            if state in ("GLITCH", "SUSTAINED") and self.prometheus.service_config(name)
        ]
        await asyncio.gather(*(self.exemplars.fetch(s, now) for s in spiking[:MAX_SPIKE_ASKS]))

    async def _tick_otlp(self) -> None:
        """The OTLP loop's body, every `refresh` (a bug is logged by the loop)."""
        now = time.time()
        self._tick_sinks(now)
        extra = self.releases.poll_otlp(now) + self._new_route_lines()
        self._publish(self._new_otlp_points(), extra)

    def _tick_sinks(self, now: float) -> None:
        self.sink.tick(now)
        if self.runtime is not None:
            self.runtime.tick(now)

    def _new_route_lines(self) -> list[dict[str, Any]]:
        """For `record`: each OTLP service's route rows of a new tick, one line a service
        (the breakdown `baseline refresh --from-record` and `check --by route` read back)."""
        if not self.emit_points or self.sink is None:
            return []
        from tui.sources.otlp_routes import new_route_lines

        names = [n for n, info in self.store.services.items() if info.source == "otlp"]
        return new_route_lines(self.sink, names, self._routes_seen)

    def _new_otlp_points(self) -> list[Point]:
        """Points the sink stored since the last look (the store is the sink's only output)."""
        out: list[Point] = []
        # Only what someone consumes: every signal for `record`, p99 and p95 (the tail's
        # steepness) for the spike tracker.
        signals: tuple[str, ...] = (
            SIGNALS if self.emit_points else ("p95", "p99") if self.spikes is not None else ()
        )
        if self.emit_points and self.runtime is not None:  # a replay draws their runtime too
            signals = (*SIGNALS, *RUNTIME_KEYS)
        for name, info in self.store.services.items():
            if info.source != "otlp":
                continue
            for sig in signals:
                ring = self.store.series(name, sig)
                last = ring.last() if ring is not None else None
                seen = self._seen.get((name, sig), -math.inf)
                if ring is None or last is None or last[0] <= seen:
                    continue  # O(1) when nothing is new
                ts, vs, fs = ring.since(seen)
                for t, v, f in zip(ts.tolist(), vs.tolist(), fs.tolist(), strict=True):
                    if t > seen:
                        out.append(
                            Point(
                                name,
                                sig,
                                t,
                                v,
                                int(f),
                                info.observations,
                                info.p99_bucket if sig == "p99" else None,
                            )
                        )
                if len(ts):
                    self._seen[(name, sig)] = float(ts[-1])
        return out

    def _publish(self, points: list[Point], extra: list[dict[str, Any]] | None = None) -> None:
        """Spike detection on new p99 points, then the events out (`extra`: release lines),
        closed by one PointBatch."""
        events: list[SourceEvent] = [event_or_line(rec) for rec in extra or ()]
        lines: list[RecordPoint] = []
        p95 = {(p.service, p.t): p.value for p in points if p.signal == "p95"}
        for p in points:
            if not math.isfinite(p.value):
                continue
            if self.emit_points:  # the documented line: no flags, no bucket
                lines.append(RecordPoint(p.t, p.service, p.signal, p.value))
            if self.spikes is not None and p.signal == "p99":
                ev = self.spikes.observe(
                    p.service,
                    p.t,
                    p.value,
                    flags=p.flags,
                    observations=p.observations,
                    bucket=p.bucket,
                    p95=p95.get((p.service, p.t)),
                )
                if ev is not None:
                    events.append(ev)
        if self.event_sink is None:
            return
        for e in events:
            self.event_sink(e)
        self.event_sink(PointBatch(tuple(lines)))
