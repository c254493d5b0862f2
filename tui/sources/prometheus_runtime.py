"""The Go runtime part of the Prometheus source: probe which runtime series a service's
processes export (tui.core.metrics.go_runtime chooses the definitions), store their answers as
`go.*` points on their own cursor, and answer them at one time for `snapshot`.

`RuntimeTail` is a base class of `PrometheusSource`: the attributes below are the source's.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from tui.config import Config
from tui.core.metrics import go_runtime
from tui.sources.prometheus_client import (
    Point,
    PrometheusClient,
    PrometheusError,
    QueryResult,
    one_series,
)
from tui.sources.prometheus_queries import ServiceQueries

DISCOVERY_EVERY = 60.0  # seconds between looks for new jobs (or runtime series) while none
LAYOUT_EVERY = 300.0  # seconds between looks at a histogram's bucket bounds (rarely change)
LAYOUT_RETRY = 30.0  # seconds before looking again after a failed look


class RuntimeTail:
    cfg: Config
    client: PrometheusClient
    queries: dict[str, ServiceQueries]
    with_runtime: bool
    # service -> (time probed, {go.* signal: PromQL}); empty when it exports no runtime series
    runtime: dict[str, tuple[float, dict[str, str]]]
    _rt_cursor: dict[str, float]  # service -> last runtime step received
    _sem: asyncio.Semaphore

    async def _run(self, fn: Any, *args: Any) -> QueryResult:
        """Call `fn(*args)` under the concurrency limit (created inside, so a cancelled wait
        leaves no coroutine un-awaited)."""
        async with self._sem:
            result: QueryResult = await fn(*args)
            return result

    async def _refresh_runtime(self, now: float) -> None:
        """Probe which Go runtime series each service's processes export: every LAYOUT_EVERY
        once found, every DISCOVERY_EVERY while there are none (a service deployed later),
        LAYOUT_RETRY after a failure (the old choice is kept)."""
        due = []
        for name, sq in self.queries.items():
            probed, found = self.runtime.get(name, (-math.inf, {}))
            every = LAYOUT_EVERY if found else DISCOVERY_EVERY
            if sq.targets and now - probed >= every:
                due.append((name, sq.targets))
        if not due or not self.with_runtime:
            return
        results = await asyncio.gather(
            *(self._run(self.client.query, go_runtime.probe_query(ts), now) for _, ts in due),
            return_exceptions=True,
        )
        rw = float(self.cfg.rate_window)
        for (name, targets), res in zip(due, results, strict=True):
            if isinstance(res, QueryResult):
                names = [labels.get("__name__", "") for labels, _ in res.series]
                chosen = go_runtime.queries(go_runtime.choose(names), targets, rw)
                old = self.runtime.get(name, (0.0, {}))[1]
                if chosen != old:
                    self._rt_cursor.pop(name, None)  # new expressions: fetch their whole window
                self.runtime[name] = (now, chosen)
            elif isinstance(res, PrometheusError):
                old = self.runtime.get(name, (0.0, {}))[1]
                self.runtime[name] = (now - DISCOVERY_EVERY + LAYOUT_RETRY, old)
            else:
                raise res

    def _runtime_points(
        self,
        plan: list[tuple[str, str, tuple[float, float]]],
        results: list[Any],
        warnings: list[str],
    ) -> list[Point]:
        """Store the runtime answers of the services whose runtime queries all succeeded; a
        refused one is a warning and its service's runtime cursor stays put (retried next)."""
        answers: dict[str, dict[str, QueryResult]] = {}
        failed: dict[str, tuple[str, PrometheusError]] = {}
        for (name, sig, _), res in zip(plan, results, strict=True):
            if isinstance(res, PrometheusError):
                failed.setdefault(name, (sig, res))
            elif isinstance(res, BaseException):
                raise res
            else:
                answers.setdefault(name, {})[sig] = res
        out: list[Point] = []
        for name, by_sig in answers.items():
            if name in failed:
                continue
            for sig, res in by_sig.items():
                for t, v in sorted(one_series(res, sig, name, warnings).items()):
                    if math.isfinite(v):  # NaN: no GC (or no request) in the window
                        out.append(Point(name, sig, t, v))
            self._rt_cursor[name] = next(rng[1] for n, _, rng in plan if n == name)
        for name, (sig, err) in failed.items():
            warnings.append(f"{name} {sig}: {err.detail}")
        return out

    async def instant_runtime(self, t: float) -> dict[str, dict[str, float | None]]:
        """Each service's Go runtime signals at `t`: {service: {go.* signal: value}}, only for
        services that export them. Best effort: a refused probe or query leaves that signal
        (or service) out; the latency answer of `instant` is what must not fail."""
        services = [(n, sq.targets) for n, sq in self.queries.items() if sq.targets]
        probes = await asyncio.gather(
            *(self._run(self.client.query, go_runtime.probe_query(ts), t) for _, ts in services),
            return_exceptions=True,
        )
        plan: list[tuple[str, str, str]] = []
        for (name, targets), res in zip(services, probes, strict=True):
            if isinstance(res, QueryResult):
                names = [labels.get("__name__", "") for labels, _ in res.series]
                chosen = go_runtime.choose(names)
                rw = float(self.cfg.rate_window)
                plan.extend(
                    (name, k, e) for k, e in go_runtime.queries(chosen, targets, rw).items()
                )
            elif not isinstance(res, PrometheusError):
                raise res
        answers = await asyncio.gather(
            *(self._run(self.client.query, expr, t) for _, _, expr in plan),
            return_exceptions=True,
        )
        out: dict[str, dict[str, float | None]] = {}
        for (name, key, _), res in zip(plan, answers, strict=True):
            if isinstance(res, QueryResult):
                values = one_series(res, key, name, [])
                v = next(iter(values.values()), None)
                out.setdefault(name, {})[key] = v if v is not None and math.isfinite(v) else None
            elif not isinstance(res, PrometheusError):
                raise res
        return out
