"""One service's last `window` from Prometheus for the headless commands (`baseline refresh`,
`check`): the latency signals as the dashboard tails them, and on request the Go runtime
series and the per-route breakdown the route view shows, all over the same window and step.

Only the latency answer must succeed: a missing route label is `breakdown.error` (the caller
decides whether that fails), and a refused runtime query leaves that signal out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.config import Config
    from tui.core.baseline.route_samples import RouteSamples


@dataclass
class LiveWindow:
    signals: dict[str, list[float]]
    step: float
    start: float
    saturated: dict[str, int]
    runtime: dict[str, list[float]] = field(default_factory=dict)  # go.* signal -> samples
    # the per-route breakdown when asked for (its `error`: why there is none), else None
    breakdown: RouteSamples | None = None


async def fetch_live_window(
    cfg: Config,
    service: str,
    window: float,
    now: float | None = None,
    *,
    routes: bool = False,
    runtime: bool = False,
) -> LiveWindow:
    """Fetch it (see the module docstring). Raises UserError when Prometheus is not
    configured for the service or does not answer (the message says why)."""
    import dataclasses

    from tui.config import Duration
    from tui.core.baseline.snapshot import (
        runtime_from_store,
        saturation_from_store,
        signals_from_store,
    )
    from tui.core.metrics.store import MetricStore
    from tui.errors import UserError
    from tui.sources.prometheus import PrometheusError, PrometheusSource
    from tui.sources.route_window import prometheus_route_samples

    svc = cfg.service(service)
    if svc is None:
        known = ", ".join(s.name for s in cfg.services) or "none"
        raise UserError(f"unknown service {service!r} (configured: {known})")
    if cfg.prometheus is None or svc.prometheus is None:
        raise UserError(f"{service}: no Prometheus queries configured; use --from-record FILE")
    now = time.time() if now is None else now
    sub = dataclasses.replace(cfg, services=[svc], window=Duration(window))
    store = MetricStore(capacity=max(64, int(window / max(float(cfg.refresh), 1)) + 64))
    source = PrometheusSource(sub, store, runtime=runtime)
    out: LiveWindow
    try:
        await source.refresh(now)
        if source.failures:
            raise UserError(f"prometheus {cfg.prometheus.url}: {source.status.detail}")
        if runtime and source.runtime.get(service, (0, {}))[1]:
            await source.refresh(now)  # the first refresh only probed which series exist
        signals, step = signals_from_store(store, service, now - window, now)
        out = LiveWindow(
            signals,
            step or source.step,
            now - window,
            saturation_from_store(store, service, now - window, now),
        )
        out.runtime = runtime_from_store(store, service, now - window, now)
        if routes:
            try:
                out.breakdown = await prometheus_route_samples(source, service, now - window, now)
            except PrometheusError as exc:
                raise UserError(f"prometheus {cfg.prometheus.url}: routes: {exc.detail}") from None
    finally:
        await source.aclose()
    return out


async def listen_window(cfg: Config, service: str, seconds: float) -> LiveWindow:
    """An OTLP service's window, live: open the configured receivers, tick as the dashboard
    does for `seconds`, then take the latency signals, the per-route breakdown (the sink's
    `http.route` history) and the Go runtime series that arrived. UserError when a receiver
    cannot listen, or the service is not one pushes can name."""
    from tui.errors import UserError

    svc = cfg.service(service)
    if svc is None and cfg.services:
        known = ", ".join(s.name for s in cfg.services)
        raise UserError(f"unknown service {service!r} (configured: {known})")
    if svc is not None and svc.otlp is None and svc.prometheus is not None:
        raise UserError(f"{service}: --listen is for OTLP services; this one is Prometheus'")
    return (await listen_windows(cfg, [service], seconds))[service]


async def listen_windows(cfg: Config, services: list[str], seconds: float) -> dict[str, LiveWindow]:
    """`listen_window` of several OTLP services at once: one listen, each service's window."""
    import asyncio
    import dataclasses

    from tui.commands.receivers import start_hub
    from tui.config import Duration
    from tui.core.baseline.snapshot import (
        runtime_from_store,
        saturation_from_store,
        signals_from_store,
    )
    from tui.core.metrics.store import MetricStore
    from tui.errors import UserError
    from tui.sources.hub import Hub
    from tui.sources.route_window import otlp_route_samples

    if not (cfg.otlp.http or cfg.otlp.grpc):
        raise UserError("--listen: both OTLP receivers are off (otlp.http and otlp.grpc)")
    configured = [s for s in cfg.services if s.name in services]
    sub = dataclasses.replace(cfg, prometheus=None, services=configured, window=Duration(seconds))
    store = MetricStore()
    hub = Hub(sub, store, go_runtime=True)
    try:
        await start_hub(hub)
        start = time.time()
        await asyncio.sleep(seconds)
        now = time.time()
        await hub.refresh_once(now)  # the last pushes count too
    finally:
        await hub.stop()
    out = {}
    for name in services:
        signals, step = signals_from_store(store, name, start, now)
        w = LiveWindow(
            signals,
            step or float(cfg.refresh),
            start,
            saturation_from_store(store, name, start, now),
        )
        w.runtime = runtime_from_store(store, name, start, now)
        w.breakdown = otlp_route_samples(hub.sink, name, start, now)
        out[name] = w
    return out
