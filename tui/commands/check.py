"""`warroom check -c FILE`: the CI/CD gate. Each service's live window (Prometheus, or a
`warroom record` file with --from-record) and newest profile of each kind against its current
baseline.

Exit codes: 0 no regression, 1 any REGRESSION (a signal, or a function whose cumulative share
grew significantly by --function-min-pp points or more), 2 bad input or an unreachable source,
or no baseline for any selected service (a wrong --dir must not pass a CI gate; --allow-missing
makes that 0). A service without a baseline is listed as "no baseline" in every format.
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
        "--allow-missing",
        action="store_true",
        help="exit 0 even when no selected service has a baseline (default: exit 2)",
    )
    p.set_defaults(func=run)


NO_BASELINE = "no baseline"


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
    import asyncio

    from tui.commands.baseline import fetch_prometheus_window, open_store
    from tui.config import load_config, parse_duration
    from tui.core.baseline.check import check_service
    from tui.core.baseline.snapshot import require_file, signals_from_record
    from tui.core.pprof.catalog import newest_of_each_kind, service_profiles
    from tui.errors import UserError

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
    store = open_store(cfg, args.dir)
    events = None
    if args.from_record:
        from tui.core.recording import read_recording

        rec = read_recording(args.from_record)
        events = rec.events
        if rec.problem:
            print(f"warroom: warning: {args.from_record}: {rec.problem}", file=sys.stderr)
    now = time.time()
    # independent samples: one per rate window (0 turns thinning off, e.g. for record files
    # whose points are already independent)
    spacing = float(cfg.rate_window) if args.independent is None else args.independent
    results: list[ServiceCheck] = []
    for name in wanted:
        baseline = store.current(name)
        current = None
        saturated: dict[str, int] = {}
        step = 0.0
        unmeasured = ""
        svc = next(s for s in cfg.services if s.name == name)
        if baseline is not None:
            if events is not None:
                current, step, _, _ = signals_from_record(events, name, window)
            elif cfg.prometheus is None or svc.prometheus is None:
                unmeasured = (
                    "no Prometheus queries for this service (OTLP only?): give its "
                    "window with --from-record FILE"
                )
                if args.service:  # asked for by name: a gate that cannot measure must not pass
                    raise UserError(f"{name}: {unmeasured}")
            else:
                current, step, _, saturated = asyncio.run(
                    fetch_prometheus_window(cfg, name, window, now)
                )
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
            current_saturated=saturated,
            current_step=step,
            spacing=spacing,
        )
        if unmeasured:
            res.notes = [unmeasured]
        results.append(res)
    for p in store.problems:
        print(f"warroom: warning: {p}", file=sys.stderr)
    missing = [r.service for r in results if r.baseline is None]
    if missing and len(missing) == len(results) and not args.allow_missing:
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
        out.append("")
    verdict = "REGRESSION" if any(r.has_regression() for r in results) else "no regression"
    missing = [r.service for r in results if r.baseline is None]
    if missing and len(missing) == len(results):
        verdict = "nothing compared"
    if missing:
        verdict += f" ({NO_BASELINE}: {', '.join(missing)})"
    out.append(f"check: {verdict}")
    return "\n".join(out) + "\n"
