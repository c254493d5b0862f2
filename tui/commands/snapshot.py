"""`warroom snapshot -c FILE --format json|md`: every service's latency, QPS and errors, now.

Prometheus-backed services are answered by instant queries at one timestamp `time` (the same
PromQL the dashboard tails), so `p99` is exactly Prometheus' own
`histogram_quantile(0.99, sum by (le) (rate(SEL_bucket[rate_window])))` at `time`.

`--at UNIX_SECONDS` evaluates the Prometheus services at a past time instead.

OTLP-backed services only exist while something pushes to us, so the snapshot opens the OTLP
receivers and listens for `--wait` (default: two refresh periods when any OTLP service is
configured or none is, else 0) before computing them from the deltas received, exactly as
the dashboard's refresh does; a service that sent nothing (or a single cumulative push, which
has no delta yet) gets nulls. An unreachable or failing Prometheus is an error (exit 2).

With `--go-runtime`, a Prometheus service whose processes export Go runtime metrics also gets
`go_runtime`
({gc_p99 | gc_max, sched_p99, goroutines, heap_inuse, mem_used, gc_cpu | gc_life}, the
dashboard's runtime lines, see tui.core.metrics.go_runtime), best effort: a refused runtime
query only leaves its signal out. An OTLP service gets the ones OTel's Go runtime
instrumentation pushed during `--wait` (tui.core.metrics.otlp_runtime): gauges from one push,
a P99 from the bucket deltas of two cumulative pushes (or of delta ones).

With `--by route`, each service also gets `routes` (the route view's breakdown at `time`:
label, how many routes, the top 20 by traffic and one "other" row summing the rest). A
Prometheus service's values are exactly Prometheus' `histogram_quantile(q, sum by (le, ROUTE)
(rate(...)))`; an OTLP service's come from the pushes received during `--wait`, grouped by
`http.route` (else `url.template`) over the last `rate_window`, as the route view computes them.
A service whose histogram has no route label, or that pushed nothing by route while the
snapshot listened, gets `routes_error` instead (one line saying why). A Prometheus that fails
a route query is an error (exit 2, naming the service): a partial breakdown is no answer.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from tui.commands.output import write_out

SNAPSHOT_SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "snapshot",
        help="print every service's p50/p95/p99, qps and error ratio now (json or markdown)",
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="YAML config (default: ./warroom.yaml when present)",
    )
    p.add_argument("--format", choices=("json", "md"), default="json")
    p.add_argument(
        "--wait",
        metavar="DURATION",
        default=None,
        help="listen this long for OTLP pushes before answering (e.g. 10s; "
        "default: 2x refresh when OTLP services are expected, else 0)",
    )
    p.add_argument(
        "--at",
        metavar="UNIX_SECONDS",
        type=float,
        default=None,
        help="evaluate Prometheus services at this past time instead of now "
        "(OTLP services are then null: pushes cannot be replayed)",
    )
    p.add_argument(
        "--go-runtime",
        action="store_true",
        help="also report each service's Go runtime signals (GC pause, scheduler "
        "latency, goroutines, heap or memory in use, GC CPU) when its processes export them "
        "(OTLP: what OTel's Go runtime instrumentation pushed during --wait)",
    )
    p.add_argument(
        "--by",
        default="service",
        metavar="service|route",
        help="route: also break each service down by route (Prometheus: its route label; "
        "OTLP: http.route of the pushes received during --wait); top 20 by traffic and one "
        "'other' row (default: service)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from tui.config import load_config, parse_duration
    from tui.core.baseline.breakdown import BREAKDOWNS
    from tui.errors import UserError

    if args.by not in BREAKDOWNS:
        raise UserError(f"--by: {args.by!r} is not one of {', '.join(BREAKDOWNS)}")
    cfg = load_config(getattr(args, "config", None))
    otlp_expected = not cfg.services or any(s.otlp is not None for s in cfg.services)
    if args.at is not None and not (math.isfinite(args.at) and 0 < args.at <= time.time()):
        raise UserError(f"--at: {args.at:g} is not a past unix time")
    if args.wait is None:
        wait = 2 * float(cfg.refresh) if otlp_expected and args.at is None else 0.0
    else:
        try:
            wait = float(parse_duration(args.wait))
        except ValueError as exc:
            raise UserError(f"--wait: {exc}") from None
    doc = asyncio.run(
        take_snapshot(
            cfg, wait, now=args.at, go_runtime=args.go_runtime, by_route=args.by == "route"
        )
    )
    write_out((json.dumps(doc) if args.format == "json" else to_markdown(doc)) + "\n")
    return 0


async def take_snapshot(
    cfg: Any,
    wait: float,
    now: float | None = None,
    go_runtime: bool = False,
    by_route: bool = False,
) -> dict[str, Any]:
    """The snapshot document (see module docstring); raises UserError when a source fails."""
    import asyncio

    from tui.commands.receivers import start_hub
    from tui.core.metrics import go_runtime as gr
    from tui.core.metrics.store import MetricStore
    from tui.errors import UserError
    from tui.sources.hub import Hub
    from tui.sources.prometheus import PrometheusError

    store = MetricStore(max_series=cfg.max_series)
    hub = Hub(cfg, store, start_otlp=wait > 0, go_runtime=go_runtime)
    try:
        if wait > 0:
            await start_hub(hub, loops=False)
            if hub.receivers:  # nothing can arrive with both receivers disabled
                await asyncio.sleep(wait)
        t = round(time.time() if now is None else now, 3)
        prom: dict[str, dict[str, tuple[float | None, int]]] = {}
        runtime: dict[str, dict[str, float | None]] = {}
        routes: dict[str, dict[str, Any]] = {}
        if hub.prometheus is not None:
            try:
                if hub.prometheus.discover:
                    await hub.prometheus.discover_services(t)
                if hub.prometheus.queries:
                    prom = await hub.prometheus.instant(t)
                    if go_runtime:
                        runtime = await hub.prometheus.instant_runtime(t)
                    if by_route:
                        routes = await route_breakdowns(hub.prometheus, t)
            except PrometheusError:
                url = cfg.prometheus.url if cfg.prometheus else "?"
                raise UserError(f"prometheus {url}: {hub.prometheus.status.detail}") from None
        if hub.sink is not None and now is None:
            hub.sink.tick(t)
            if hub.runtime is not None:
                hub.runtime.tick(t)
                runtime.update(otlp_runtime(store, prom, t))
            if by_route:
                routes.update(otlp_breakdowns(hub.sink, store, routes, t))
    finally:
        await hub.stop()

    names = [s.name for s in cfg.services]
    names += [n for n in store.names() if n not in names]
    services = [_service_row(cfg, store, name, t, prom.get(name)) for name in names]
    for out in services:
        name = out["name"]
        if runtime.get(name):
            out["go_runtime"] = {
                k.removeprefix(gr.PREFIX): v
                for k, v in sorted(runtime[name].items(), key=lambda kv: gr.KEYS.index(kv[0]))
            }
        if by_route:
            out.update(routes.get(name) or {"routes_error": _no_routes(cfg, name, now, wait)})
    return {"time": t, "services": services}


def _service_row(
    cfg: Any, store: Any, name: str, t: float, prom: dict[str, tuple[float | None, int]] | None
) -> dict[str, Any]:
    """One service's latency signals: Prometheus' instant answers, else the store's fresh
    OTLP values (None when older than one refresh)."""
    from tui.core.metrics.store import FLAG_SATURATED

    if prom is not None:
        row: dict[str, Any] = {"name": name, "source": "prometheus"}
        flags = 0
        for sig in SNAPSHOT_SIGNALS:
            value, f = prom.get(sig, (None, 0))
            row[sig] = value
            if sig == "p99":
                flags = f
        row["p99_saturated"] = bool(flags & FLAG_SATURATED) and row["p99"] is not None
    else:
        info = store.services.get(name)
        row = {"name": name, "source": info.source if info else "otlp"}
        fresh_after = t - float(cfg.refresh)
        p99_flags = 0
        for sig in SNAPSHOT_SIGNALS:
            last = store.latest(name, sig)
            if last is not None and last[0] >= fresh_after and math.isfinite(last[1]):
                row[sig] = last[1]
                if sig == "p99":
                    p99_flags = last[2]
            else:
                row[sig] = None
        row["p99_saturated"] = bool(p99_flags & FLAG_SATURATED) and row["p99"] is not None
    keys = ("name", "source", "p50", "p95", "p99", "qps", "error_ratio", "p99_saturated")
    return {k: row[k] for k in keys}


def _no_routes(cfg: Any, name: str, at: float | None, wait: float) -> str:
    """Why a service no source broke down has no routes."""
    if at is not None:
        return f"{name}: no routes at --at: OTLP pushes cannot be replayed"
    if not (cfg.otlp.http or cfg.otlp.grpc):
        return f"{name}: no source breaks it down by route (both OTLP receivers are off)"
    if wait <= 0:
        return f"{name}: no routes: the snapshot did not listen for OTLP pushes (--wait 0)"
    return f"{name}: nothing pushed its latency by route while the snapshot listened"


def otlp_breakdowns(
    sink: Any, store: Any, known: dict[str, Any], t: float
) -> dict[str, dict[str, Any]]:
    """{service: {"routes": ...} | {"routes_error": ...}} for the OTLP services the sink
    computed: each row's values of the tick at `t`, as the route view shows them."""
    from tui.core.metrics.routes import RouteRow, saturated_counts
    from tui.sources.otlp_routes import breakdown_view

    out: dict[str, dict[str, Any]] = {}
    for name, info in store.services.items():
        if info.source != "otlp" or name in known:
            continue
        view = breakdown_view(sink, name, t)
        if view.error:
            out[name] = {"routes_error": view.error}
            continue
        rows = []
        for row in view.rows:
            cells: dict[str, Any] = {"route": row.route, "routes": row.routes}
            for sig in SNAPSHOT_SIGNALS:
                cells[sig] = _value_at(row.series.get(sig, []), t)
            at_t = {sig: [p for p in pts if p[0] == t] for sig, pts in row.series.items()}
            cells["p99_saturated"] = cells["p99"] is not None and "p99" in saturated_counts(
                RouteRow(row.route, at_t)
            )
            rows.append(cells)
        out[name] = {
            "routes": {"label": view.label, "total": view.routes, "other": view.other, "rows": rows}
        }
    return out


def otlp_runtime(store: Any, prom: dict[str, Any], t: float) -> dict[str, dict[str, float | None]]:
    """The OTLP services' Go runtime signals stored by the tick at `t` (otlp_runtime)."""
    from tui.core.metrics.go_runtime import KEYS

    out: dict[str, dict[str, float | None]] = {}
    for name, info in store.services.items():
        if info.source != "otlp" or name in prom:
            continue
        values = {}
        for key in KEYS:
            last = store.latest(name, key)
            if last is not None and last[0] == t:
                values[key] = last[1]
        if values:
            out[name] = values
    return out


def _value_at(points: list[tuple[float, float]], t: float) -> float | None:
    """The point of the tick at `t` (None: that tick had no finite value, or none at all)."""
    return points[-1][1] if points and points[-1][0] == t and math.isfinite(points[-1][1]) else None


async def route_breakdowns(prometheus: Any, t: float) -> dict[str, dict[str, Any]]:
    """{service: {"routes": {...}} or {"routes_error": "..."}} for every Prometheus service.
    UserError (exit 2) when the server fails a route query: a partial breakdown is no answer."""
    from tui.core.metrics.routes import saturated_counts
    from tui.errors import UserError
    from tui.sources.prometheus import PrometheusError
    from tui.sources.routes import RoutesPoller

    out: dict[str, dict[str, Any]] = {}
    for name in list(prometheus.queries):  # one service at a time: each asks up to 4 at once
        try:
            view = await RoutesPoller(prometheus, name).instant(t)
        except PrometheusError as exc:
            url = prometheus.cfg.prometheus.url
            raise UserError(f"prometheus {url}: routes of {name}: {exc.detail}") from None
        if view.error:
            out[name] = {"routes_error": f"{name}: {view.error}"}
            continue
        rows = []
        for row in view.rows:
            cells: dict[str, Any] = {"route": row.route, "routes": row.routes}
            for sig in SNAPSHOT_SIGNALS:
                cells[sig] = row.last(sig)
            cells["p99_saturated"] = cells["p99"] is not None and "p99" in saturated_counts(row)
            rows.append(cells)
        out[name] = {
            "routes": {"label": view.label, "total": view.routes, "other": view.other, "rows": rows}
        }
    return out


def _latency(v: float | None, saturated: bool = False) -> str:
    if v is None:
        return "—"
    text = f"{v * 1000:.1f} ms" if v < 1 else f"{v:.3f} s"
    return f"≥ {text}" if saturated else text


def to_markdown(doc: dict[str, Any]) -> str:
    """A table for humans and PR comments; saturated p99 reads "≥ bound"."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(doc["time"]))
    lines = [
        f"Snapshot at {stamp}",
        "",
        "| service | source | p50 | p95 | p99 | qps | error ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in doc["services"]:
        qps = "—" if s["qps"] is None else f"{s['qps']:.2f}"
        err = "—" if s["error_ratio"] is None else f"{s['error_ratio'] * 100:.2f}%"
        lines.append(
            f"| {s['name']} | {s['source']} | {_latency(s['p50'])} | {_latency(s['p95'])} | "
            f"{_latency(s['p99'], s['p99_saturated'])} | {qps} | {err} |"
        )
    if not doc["services"]:
        lines.append("| (no services) | | | | | | |")
    lines += _routes_markdown(doc["services"])
    runtime = [s for s in doc["services"] if s.get("go_runtime")]
    if runtime:
        from tui.core.metrics import go_runtime

        lines += ["", "| service | Go runtime |", "|---|---|"]
        for s in runtime:
            cells = []
            for k, v in s["go_runtime"].items():
                key = go_runtime.PREFIX + k
                cells.append(f"{go_runtime.BY_KEY[key].label} {go_runtime.format_value(key, v)}")
            lines.append(f"| {s['name']} | {' · '.join(cells)} |")
    return "\n".join(lines)


def _routes_markdown(services: list[dict[str, Any]]) -> list[str]:
    """One table per service broken down by route, or the line saying why it is not."""
    lines: list[str] = []
    for s in services:
        if s.get("routes_error"):
            lines += ["", f"{s['name']}: no routes: {s['routes_error']}"]
        r = s.get("routes")
        if not r:
            continue
        lines += [
            "",
            f"### {s['name']} by {r['label']} ({r['total']} routes)",
            "",
            "| route | p50 | p95 | p99 | qps | error ratio |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in r["rows"]:
            name = row["route"].replace("|", "\\|")
            if row["routes"] > 1:
                name += f" ({row['routes']} routes)"
            qps = "—" if row["qps"] is None else f"{row['qps']:.2f}"
            err = "—" if row["error_ratio"] is None else f"{row['error_ratio'] * 100:.2f}%"
            lines.append(
                f"| {name} | {_latency(row['p50'])} | {_latency(row['p95'])} | "
                f"{_latency(row['p99'], row['p99_saturated'])} | {qps} | {err} |"
            )
    return lines
