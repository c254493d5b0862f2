"""`warroom check -c FILE`: the CI/CD gate. Each service's live window (Prometheus, or a
`warroom record` file with --from-record) and newest profile of each kind against its current
baseline.

Exit codes: 0 no regression, 1 any REGRESSION (a signal, or a function whose cumulative share
grew significantly by --function-min-pp points or more), 2 bad input or an unreachable source,
or no baseline for any selected service (a wrong --dir must not pass a CI gate; --allow-missing
makes that 0). A service without a baseline is listed as "no baseline" in every format.

`--by route` adds each service's routes (tui.core.baseline.breakdown): a Prometheus service's
from the route view's queries, an OTLP service's from the `http.route` rows `warroom record`
wrote into the --from-record recording, or from what it pushes during `--listen DURATION`
(OTLP services have no live window otherwise). A REGRESSION
on any reported route is exit 1 too, and the verdict line names it. A service whose histogram
has no route label, or whose baseline holds no routes, gets a note; asked for by name
(--service), that is exit 2, since the gate could not measure what it was asked to.
Go runtime rows (GC pause, scheduler latency, goroutines, heap, GC CPU) are shown where the
service's processes export them; they explain and never change the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from tui.commands.output import write_out

if TYPE_CHECKING:
    from tui.core.baseline.check import ServiceCheck


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="CI gate: live window and newest profiles vs the baseline; exit 1 on any REGRESSION",
    )
    p.add_argument(
        "-c",
        "--config",
        default=argparse.SUPPRESS,
        help="config file (required, here or before the command)",
    )
    p.add_argument("--service", action="append", help="only this service (repeatable)")
    p.add_argument("--window", help="current window to compare (default: the config window)")
    p.add_argument("--format", choices=("text", "json", "md"), default="text")
    p.add_argument(
        "--from-record", metavar="FILE", help="take the current window from a `warroom record` file"
    )
    p.add_argument("--dir", help="baseline directory (default: baseline.dir from config)")
    p.add_argument(
        "--profile",
        metavar="FILE",
        action="append",
        help="a current profile, compared with the baseline's profile of its kind (repeatable; "
        "default: the newest of each kind in profiles.dir per service)",
    )
    p.add_argument(
        "--independent",
        type=float,
        default=None,
        metavar="SECONDS",
        help="keep one sample per SECONDS on both sides so samples share no data "
        "(default: rate_window; 0: keep all)",
    )
    p.add_argument(
        "--function-min-pp",
        type=float,
        default=5.0,
        help="cum-share growth (percentage points) that fails the gate (default 5)",
    )
    p.add_argument(
        "--baseline",
        default="current",
        metavar="current|previous-release",
        help="previous-release: compare with the baseline of the release before the one "
        "running now (detected from version_query, *_build_info, `warroom mark` or the "
        "version label; with --from-record, the recording's newest release line), e.g. right "
        "after a deploy (default: each service's current baseline)",
    )
    p.add_argument(
        "--by",
        default="service",
        metavar="service|route",
        help="route: also compare each route (the route view's breakdown: a Prometheus "
        "service's live, an OTLP service's from the --from-record recording's routes lines) "
        "with the baseline's; a REGRESSION on any route fails the gate (default: service)",
    )
    p.add_argument(
        "--listen",
        metavar="DURATION",
        help="OTLP services: open the OTLP receivers and judge what is pushed during DURATION "
        "(e.g. 2m) as their current window, routes included (default: they need --from-record)",
    )
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="exit 0 even when no selected service has a baseline (default: exit 2)",
    )
    p.set_defaults(func=run)


NO_BASELINE = "no baseline"
BASELINE_CHOICES = ("current", "previous-release")


def service_status(r: ServiceCheck) -> str:
    """One word per service for every format: was it compared, and how did it end?"""
    if r.baseline is None:
        return NO_BASELINE
    if r.has_regression():
        return "regression"
    if r.table is None and not r.functions:
        return "not compared"  # no samples, or no way to measure (see notes)
    return "ok"


def no_baseline_error(missing: list[str], directory: str | os.PathLike[str]) -> str:
    """`check: no baseline for api in DIR (take one with ...)`: says where it looked."""
    from pathlib import Path

    d = Path(directory)
    where = f"{d}" + ("" if d.is_dir() else " (no such directory)")
    who = missing[0] if len(missing) == 1 else "SERVICE"
    return (
        f"check: no baseline for {', '.join(missing)} in {where} (take one with "
        f"`warroom baseline refresh {who}`, or pass --allow-missing)"
    )


def run(args: argparse.Namespace) -> int:

    from tui.commands.baseline import open_store
    from tui.config import load_config, parse_duration
    from tui.core.baseline.breakdown import BREAKDOWNS
    from tui.errors import UserError

    if args.by not in BREAKDOWNS:
        raise UserError(f"--by: {args.by!r} is not one of {', '.join(BREAKDOWNS)}")
    if args.baseline not in BASELINE_CHOICES:
        raise UserError(
            f"--baseline: {args.baseline!r} is not one of {', '.join(BASELINE_CHOICES)}"
        )
    if args.config is None:
        raise UserError("check needs a config: warroom check -c FILE")
    cfg = load_config(args.config)
    try:
        window = float(parse_duration(args.window)) if args.window else float(cfg.window)
    except ValueError as exc:
        raise UserError(f"--window: {exc}") from None
    names = [s.name for s in cfg.services]
    wanted = args.service or names
    unknown = [s for s in wanted if s not in names]
    if unknown:
        raise UserError(
            f"unknown service {unknown[0]!r} (configured: {', '.join(names) or 'none'})"
        )
    if not wanted:
        raise UserError(f"{args.config}: no services configured")
    if args.listen and args.from_record:
        raise UserError("--listen and --from-record: pick one")
    store = open_store(cfg, args.dir)
    events = None
    if args.from_record:
        from tui.core.recording import read_recording

        rec = read_recording(args.from_record)
        events = rec.events
        if rec.problem:
            print(f"warroom: warning: {args.from_record}: {rec.problem}", file=sys.stderr)
    heard = listen_for(cfg, args, wanted) if args.listen else {}
    now = time.time()
    # independent samples: one per rate window (0 turns thinning off, e.g. for record files
    # whose points are already independent)
    spacing = float(cfg.rate_window) if args.independent is None else args.independent
    results = [
        check_one(cfg, args, store, name, window, now, spacing, events, heard.get(name))
        for name in wanted
    ]
    for p in store.problems:
        print(f"warroom: warning: {p}", file=sys.stderr)
    missing = [r.service for r in results if r.baseline is None]
    if missing and len(missing) == len(results) and not args.allow_missing:
        if args.baseline == "previous-release":
            raise UserError(f"check: {'; '.join(r.notes[0] for r in results)}")
        raise UserError(no_baseline_error(missing, store.dir))
    regression = any(r.has_regression() for r in results)
    if args.format == "json":
        services = [{**r.to_json(), "status": service_status(r)} for r in results]
        print(
            json.dumps(
                {"services": services, "regression": regression, "missing_baseline": missing},
                indent=2,
                allow_nan=False,
            )
        )
    else:
        write_out(render_checks(results, args.format))
    return 1 if regression else 0


def check_one(
    cfg: Any,
    args: argparse.Namespace,
    store: Any,
    name: str,
    window: float,
    now: float,
    spacing: float,
    events: list[dict[str, Any]] | None,
    heard: Any = None,
) -> ServiceCheck:
    """One service against its baseline: signals, profiles, routes (--by route), runtime.
    `heard`: its LiveWindow from --listen (an OTLP service)."""
    import asyncio

    from tui.commands.live_window import LiveWindow, fetch_live_window
    from tui.core.baseline.check import check_service
    from tui.core.baseline.snapshot import require_file, signals_from_record
    from tui.core.pprof.catalog import newest_of_each_kind, service_profiles
    from tui.errors import UserError

    baseline, why_none = pick_baseline(cfg, args, store, name, events)
    live: LiveWindow | None = None
    current = None
    step = 0.0
    unmeasured = ""
    svc = cfg.service(name)
    if baseline is not None:
        if events is not None:
            current, step, _, end = signals_from_record(events, name, window)
            live = recorded_window(events, name, window, end, current, step)
        elif heard is not None:
            live, current, step = heard, heard.signals, heard.step
        elif cfg.prometheus is None or svc.prometheus is None:
            unmeasured = (
                "no Prometheus queries for this service (OTLP only?): give its "
                "window with --from-record FILE, or --listen DURATION"
            )
            if args.service:  # asked for by name: a gate that cannot measure must not pass
                raise UserError(f"{name}: {unmeasured}")
        else:
            live = asyncio.run(
                fetch_live_window(cfg, name, window, now, routes=args.by == "route", runtime=True)
            )
            current, step = live.signals, live.step
    profiles = [require_file(p, "--profile") for p in args.profile or []] or list(
        map(str, newest_of_each_kind(service_profiles(cfg, name)).values())
    )
    res = check_service(
        name,
        baseline,
        current,
        cfg.baseline.min_effect,
        profiles,
        args.function_min_pp,
        current_saturated=live.saturated if live is not None else {},
        current_step=step,
        spacing=spacing,
    )
    if unmeasured or why_none:
        res.notes = [unmeasured or why_none]
    if baseline is not None and live is not None:
        add_breakdowns(res, baseline, live, cfg, args, spacing)
    if baseline is not None and args.by == "route" and (live is None or live.breakdown is None):
        why = unmeasured or "a recording holds no per-route signals"
        res.notes.append(f"routes not compared: {why}")
    return res


def recorded_window(
    events: list[dict[str, Any]],
    name: str,
    window: float,
    end: float | None,
    signals: dict[str, list[float]],
    step: float,
) -> Any:
    """A recording's window of `name` as a LiveWindow: the latency signals, and the route
    rows `warroom record` wrote for an OTLP service (None when it wrote none)."""
    from tui.commands.live_window import LiveWindow
    from tui.core.baseline.route_samples import from_record

    return LiveWindow(signals, step, 0.0, {}, breakdown=from_record(events, name, window, end))


def listen_for(cfg: Any, args: argparse.Namespace, wanted: list[str]) -> dict[str, Any]:
    """--listen: one listen for every wanted service that Prometheus does not serve."""
    import asyncio

    from tui.commands.baseline_window import duration
    from tui.commands.live_window import listen_windows

    seconds = duration("--listen", args.listen)
    otlp = [n for n in wanted if cfg.prometheus is None or cfg.service(n).prometheus is None]
    return asyncio.run(listen_windows(cfg, otlp, seconds)) if otlp else {}


def pick_baseline(
    cfg: Any,
    args: argparse.Namespace,
    store: Any,
    name: str,
    events: list[dict[str, Any]] | None = None,
) -> tuple[Any, str]:
    """(the baseline to compare with, or None and why): the current one, or with
    --baseline previous-release the release before the running one: with --from-record the
    recording's newest release line of the service (what ran in the window judged), else the
    live one. Asked for by name (--service), a missing previous release is an error, not a
    pass."""
    from tui.commands.baseline_pick import previous_release
    from tui.errors import UserError

    if args.baseline == "current":
        return store.current(name), ""
    running = recorded_version(events, name) if events is not None else None
    try:
        snap, _ = previous_release(cfg, store, name, running)
    except UserError as exc:
        if args.service:
            raise
        return None, str(exc)
    return snap, ""


def recorded_version(events: list[dict[str, Any]], name: str) -> str | None:
    """The version the recording's newest release line of `name` says (None: no such line)."""
    from tui.core.releases import Release, newest_release

    releases = []
    for e in events:
        if e.get("type") == "release" and e.get("service") == name:
            try:
                releases.append(Release.from_record(e))
            except ValueError:
                continue  # a damaged line: read_recording passed it on; it names nothing
    newest = newest_release(releases, name)
    return newest.version if newest is not None else None


def add_breakdowns(
    res: ServiceCheck, baseline: Any, live: Any, cfg: Any, args: argparse.Namespace, spacing: float
) -> None:
    """The route rows (--by route) and the Go runtime rows of a live window."""
    from tui.core.baseline.breakdown import (
        RouteComparison,
        compare_routes,
        compare_runtime,
        runtime_now,
    )
    from tui.errors import UserError

    name = res.service
    routes = live.breakdown
    if args.by == "route" and routes is not None:
        if routes.error:
            if args.service:
                raise UserError(f"{name}: --by route: {routes.error}")
            res.routes = RouteComparison(notes=[f"routes not compared: {routes.error}"])
        else:
            res.routes = compare_routes(
                name,
                baseline,
                routes.routes,
                routes.label,
                current_other=routes.other,
                current_saturated=routes.saturated,
                min_effects=cfg.baseline.min_effect,
                current_step=live.step,
                spacing=spacing,
            )
            if args.service and res.routes.table is None:
                raise UserError(f"{name}: --by route: {res.routes.notes[0]}")
    res.runtime = compare_runtime(
        name,
        baseline.runtime,
        live.runtime,
        base_step=baseline.step,
        current_step=live.step,
        spacing=spacing,
    )
    res.runtime_now = runtime_now(live.runtime)


def render_checks(results: list[Any], fmt: str) -> str:
    from tui.core.stats.report import render

    out: list[str] = []
    for r in results:
        b = r.baseline
        head = f"{r.service}: " + (
            f"baseline {b.id} (version {b.version or '-'})" if b else "no baseline"
        )
        out.append(f"## {head}\n" if fmt == "md" else head)
        for n in r.notes:
            out.append(f"  note: {n}")
        if r.table is not None:
            out.append(render([r.table], fmt).rstrip("\n"))
        if r.profile_note:
            out.append(f"  profile: {r.profile_note}")
        for f in r.functions:
            flag = "REGRESSION" if f.gate else "grew"
            out.append(
                f"  {flag:<10} {f.kind:<5} {f.name}  cum {f.base_cum_pct:.1f}% -> "
                f"{f.cur_cum_pct:.1f}% ({f.delta_cum_pp:+.1f} pp, p={f.p_value:.2g}"
                f"{', new' if f.status == 'new' else ''})"
            )
        out += render_breakdowns(r, fmt)
        out.append("")
    verdict = "REGRESSION" if any(r.has_regression() for r in results) else "no regression"
    routes = [f"{r.service} {n}" for r in results if r.routes for n in r.routes.regressions()]
    if routes:
        verdict += f" (routes: {', '.join(routes)})"
    missing = [r.service for r in results if r.baseline is None]
    if missing and len(missing) == len(results):
        verdict = "nothing compared"
    if missing:
        verdict += f" ({NO_BASELINE}: {', '.join(missing)})"
    out.append(f"check: {verdict}")
    return "\n".join(out) + "\n"


def render_breakdowns(r: ServiceCheck, fmt: str) -> list[str]:
    """The route table (or why there is none) and the Go runtime rows of one service."""
    from tui.core.metrics import go_runtime
    from tui.core.stats.report import render

    out: list[str] = []
    if r.routes is not None:
        for n in r.routes.notes:
            out.append(f"  note: {n}")
        if r.routes.table is not None:
            out.append(render([r.routes.table], fmt).rstrip("\n"))
    if r.runtime is not None:
        out.append(render([r.runtime], fmt).rstrip("\n"))
        out.append("  (Go runtime rows explain a change; they do not fail the gate)")
    elif r.runtime_now:
        now = " · ".join(
            f"{go_runtime.BY_KEY[go_runtime.PREFIX + k].label} "
            f"{go_runtime.format_value(go_runtime.PREFIX + k, v)}"
            for k, v in r.runtime_now.items()
        )
        out.append(f"  Go runtime now: {now} (the baseline holds none to compare)")
    return out
