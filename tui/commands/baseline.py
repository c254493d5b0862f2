"""`warroom baseline list|show|refresh|restore`: the versioned baseline store, headless.

Baselines are keyed by the release they were taken on (version, revision, where that was
found); `show`/`restore --previous-release` pick the baseline of the release before the
running one (tui.commands.baseline_pick). A Prometheus refresh keeps the per-route breakdown and
the Go runtime series too (tui.commands.live_window); one from a recording keeps the route
rows `warroom record` wrote for an OTLP service (tui.core.baseline.route_samples).

`refresh` snapshots a service's current window (from Prometheus, from a `warroom record`
file with --from-record, or an OTLP service's pushes heard with --listen DURATION), plus an optional benchmark output and the newest profile file, and
makes it current. The snapshot comes from `tui.core.baseline.snapshot.baseline_snapshot`,
the same function behind the dashboard's `b` key, so both keep saturation counts and both
refuse a configured bench file that is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from typing import TYPE_CHECKING, Any

from tui.commands.baseline_pick import add_release_options, pick
from tui.commands.output import write_out

if TYPE_CHECKING:
    from tui.commands.live_window import LiveWindow
    from tui.config import Config
    from tui.core.baseline.route_samples import RouteSamples
    from tui.core.baseline.store import BaselineStore, Snapshot


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("baseline", help="list, show, refresh or restore baselines")
    bs = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "-c",
            "--config",
            default=argparse.SUPPRESS,
            help="config file (baseline.dir, services)",
        )
        q.add_argument("--dir", help="baseline directory (default: baseline.dir from config)")

    ls = bs.add_parser("list", help="every service's baselines, newest first")
    common(ls)
    ls.add_argument("--service", help="only this service")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=run_list)

    sh = bs.add_parser("show", help="one baseline: per-signal medians with 95%% intervals")
    common(sh)
    sh.add_argument("service")
    sh.add_argument("id", nargs="?", help="snapshot id (default: the current one)")
    sh.add_argument("--format", choices=("text", "json"), default="text")
    add_release_options(sh, "show")
    sh.set_defaults(func=run_show)

    rf = bs.add_parser("refresh", help="snapshot SERVICE's current window as its new baseline")
    common(rf)
    rf.add_argument("service")
    rf.add_argument("--window", help="how much history to take (default: config window)")
    rf.add_argument(
        "--from-record",
        metavar="FILE",
        help="take the window from a `warroom record` file instead of Prometheus (an OTLP "
        "service's route rows too, from its routes lines)",
    )
    rf.add_argument(
        "--listen",
        metavar="DURATION",
        help="an OTLP service: open the OTLP receivers, take what is pushed during DURATION "
        "(e.g. 5m) as the window, with its routes (http.route) and Go runtime signals",
    )
    rf.add_argument("--bench", help="go test -bench output to keep (default: baseline.bench)")
    rf.add_argument(
        "--profile",
        action="append",
        default=None,
        metavar="FILE",
        help="profile file(s) to keep (default: the newest in profiles.dir)",
    )
    rf.add_argument("--no-profile", action="store_true", help="keep no profile")
    rf.add_argument(
        "--version",
        dest="version_label",
        help="the version to key it by (default: the service's version in config, else "
        "what the release detection sees: version_query, *_build_info, the newest `warroom "
        "mark`, the "
        "version label; from a recording, its newest release line)",
    )
    rf.add_argument("--by", help="who takes it (default: user@host)")
    rf.set_defaults(func=run_refresh)

    rs = bs.add_parser("restore", help="make an older baseline current again")
    common(rs)
    rs.add_argument("service")
    rs.add_argument("id", nargs="?", help="snapshot id (or --previous-release)")
    add_release_options(rs, "restore")
    rs.set_defaults(func=run_restore)


# --- shared with the dashboard (issue 7) -----------------------------------------------


def open_store(cfg: Config, directory: str | None = None) -> BaselineStore:
    from tui.core.baseline.store import BaselineStore

    return BaselineStore(directory or cfg.baseline.dir)


async def fetch_prometheus_window(
    cfg: Config, service: str, window: float, now: float | None = None
) -> tuple[dict[str, list[float]], float, float, dict[str, int]]:
    """One service's last `window` seconds from Prometheus (query_range per step): (signals,
    step, start, saturated counts per signal). UserError when Prometheus is not configured
    for the service or does not answer. `live_window.fetch_live_window` adds routes and the
    Go runtime."""
    from tui.commands.live_window import fetch_live_window

    w = await fetch_live_window(cfg, service, window, now)
    return w.signals, w.step, w.start, w.saturated


def record_version(events: list[dict[str, Any]], service: str) -> tuple[str, str, str] | None:
    """(version, revision, "record") of the newest release line of `service` in a recording."""
    from tui.core.releases import Release, newest_release

    releases = []
    for e in events:
        if e.get("type") == "release" and e.get("service") == service:
            with contextlib.suppress(ValueError):
                releases.append(Release.from_record(e))
    rel = newest_release(releases, service)
    return (rel.version, rel.revision, "record") if rel is not None else None


def save_baseline(
    cfg: Config,
    snap: Snapshot,
    *,
    store: BaselineStore | None = None,
    live: LiveWindow | None = None,
    routes: RouteSamples | None = None,
) -> str:
    """Save `snap` (made by `baseline_snapshot`, the dashboard key's path too) as its
    service's current baseline; its id. `live`: its routes and Go runtime series are kept
    too; `routes`: a per-route breakdown from elsewhere (a recording's)."""
    if live is not None:
        snap.runtime = dict(live.runtime)
        if live.breakdown is not None:
            live.breakdown.apply(snap)
    if routes is not None:
        routes.apply(snap)
    return (store or open_store(cfg)).save(snap)


# --- commands ------------------------------------------------------------------------------


def _cfg(args: argparse.Namespace) -> Config:
    from tui.config import load_config

    return load_config(args.config)


def _warn(store: BaselineStore) -> None:
    for p in store.problems:
        print(f"warroom: warning: {p}", file=sys.stderr)


def _version_text(snap: Any) -> str:
    """`1.4.3 (abc123, build_info)`: the version, its revision and where it was found."""
    if not snap.version:
        return "-"
    extra = [x for x in (snap.revision, snap.version_source) if x]
    return f"{snap.version} ({', '.join(extra)})" if extra else snap.version


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(t))


def run_list(args: argparse.Namespace) -> int:
    cfg = _cfg(args)
    store = open_store(cfg, args.dir)
    services = [args.service] if args.service else store.services()
    out: dict[str, list[dict[str, Any]]] = {}
    for s in services:
        out[s] = [
            {
                "id": i.id,
                "current": i.current,
                "taken_at": i.taken_at,
                "taken_by": i.taken_by,
                "version": i.version,
                "revision": i.revision,
                "routes": i.routes,
                "signals": i.signals,
                "bench": i.has_bench,
                "profiles": i.profiles,
                "source": i.source,
            }
            for i in store.history(s)
        ]
    if args.format == "json":
        write_out(json.dumps(out, indent=2) + "\n")
    else:
        if not any(out.values()):
            print(f"no baselines in {store.dir}")
        for s, rows in out.items():
            print(s)
            for r in rows:
                n = max(r["signals"].values(), default=0)
                extras = [
                    x
                    for x, on in (
                        ("bench", r["bench"]),
                        (f"{r['profiles']} profile(s)", r["profiles"]),
                        (f"{r['routes']} route(s)", r["routes"]),
                    )
                    if on
                ]
                print(
                    f"  {'*' if r['current'] else ' '} {r['id']}  {_iso(r['taken_at'])}  "
                    f"version={r['version'] or '-'}{'@' + r['revision'] if r['revision'] else ''}  by={r['taken_by']}  n={n}"
                    + (f"  {', '.join(extras)}" if extras else "")
                )
    _warn(store)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from tui.core.metrics.routes import OTHER
    from tui.core.stats.median import summarize
    from tui.core.stats.report import fmt_summary
    from tui.errors import UserError

    cfg = _cfg(args)
    store = open_store(cfg, args.dir)
    snap, note = pick(cfg, store, args)
    _warn(store)
    if snap is None:
        raise UserError(
            f"{args.service}: no baseline in {store.dir}; take one with "
            f"`warroom baseline refresh {args.service}`"
        )
    if args.format == "json":

        def num(v: float) -> float | None:
            return v if math.isfinite(v) else None

        def summary(values: list[float]) -> dict[str, Any]:
            s = summarize(values)
            return {"median": num(s.median), "lo": num(s.lo), "hi": num(s.hi), "n": s.n}

        print(
            json.dumps(
                {
                    "id": snap.id,
                    "service": snap.service,
                    "version": snap.version,
                    "taken_at": snap.taken_at,
                    "taken_by": snap.taken_by,
                    "step": snap.step,
                    "window": snap.window,
                    "source": snap.source,
                    "bench": snap.bench,
                    "profile_files": snap.profile_files,
                    "signals": {k: summary(v) for k, v in snap.signals.items()},
                    "revision": snap.revision,
                    "version_source": snap.version_source,
                    "route_label": snap.route_label or None,
                    "routes": {
                        r: {k: summary(v) for k, v in sigs.items()}
                        for r, sigs in snap.routes.items()
                    },
                    "runtime": {k: summary(v) for k, v in snap.runtime.items()},
                    "picked": "id" if args.id else (note or "current"),
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{snap.service} {snap.id}  taken {_iso(snap.taken_at)} by {snap.taken_by}"
        + (f"  ({note})" if note else "")
    )
    print(f"  version: {_version_text(snap)}   step: {snap.step:g}s   source: {snap.source or '-'}")
    for k, v in [*snap.signals.items(), *snap.runtime.items()]:
        s = summarize(v)
        print(f"  {k:<12} {fmt_summary(s.median, s.lo, s.hi, s.n, k)}")
    if snap.routes:
        print(f"  routes by {snap.route_label} (p99):")
        for route, sigs in snap.routes.items():
            s = summarize(sigs.get("p99", []))
            other = f" ({snap.other_routes} routes)" if route == OTHER else ""
            print(f"    {route}{other}  {fmt_summary(s.median, s.lo, s.hi, s.n, 'p99')}")
    if snap.bench:
        print(f"  bench: {snap.bench}")
    for p in snap.profile_files:
        print(f"  profile: {p}")
    return 0


def run_refresh(args: argparse.Namespace) -> int:
    from tui.commands.baseline_window import duration, refresh_window
    from tui.core.baseline.snapshot import baseline_snapshot

    cfg = _cfg(args)
    window = duration("--window", args.window) if args.window else float(cfg.window)
    svc = cfg.service(args.service)
    detect = args.version_label is None and (svc is None or svc.version is None)
    w = refresh_window(cfg, args, window, detect)
    found = w.found
    profiles = [] if args.no_profile else args.profile
    store = open_store(cfg, args.dir)
    snap = baseline_snapshot(
        cfg,
        args.service,
        w.signals,
        w.step,
        start=w.start,
        window=w.window,
        source=w.source,
        version=found[0] if found else args.version_label,
        revision=found[1] if found else "",
        version_source=found[2] if found else "",
        taken_by=args.by,
        bench=args.bench,
        profile_files=profiles,
        saturated=w.saturated,
    )
    sid = save_baseline(cfg, snap, store=store, live=w.live, routes=w.routes)
    n = max((len(v) for v in snap.signals.values()), default=0)
    print(
        f"{args.service}: baseline {sid} saved and current ({n} steps of "
        f"{', '.join(snap.signals)}; version {snap.version or '-'}"
        + (f"; bench {snap.bench}" if snap.bench else "")
        + (f"; {len(snap.profile_files)} profile(s)" if snap.profile_files else "")
        + (f"; version from {snap.version_source}" if snap.version_source else "")
        + (f", revision {snap.revision}" if snap.revision else "")
        + (f"; {len(snap.routes)} routes by {snap.route_label}" if snap.routes else "")
        + (f"; Go runtime: {', '.join(snap.runtime)}" if snap.runtime else "")
        + ")"
    )
    live = w.live
    why = live.breakdown.error if live is not None and live.breakdown is not None else None
    if why:
        print(f"warroom: warning: no per-route baseline: {why}", file=sys.stderr)
    _warn(store)
    return 0


def run_restore(args: argparse.Namespace) -> int:
    cfg = _cfg(args)
    store = open_store(cfg, args.dir)
    picked, note = pick(cfg, store, args, need_id=True)
    assert picked is not None and picked.id is not None  # pick raises rather than None here
    snap = store.restore(args.service, picked.id)
    print(
        f"{args.service}: baseline {snap.id} (taken {_iso(snap.taken_at)}, version "
        f"{_version_text(snap)}) is current again" + (f" ({note})" if note else "")
    )
    _warn(store)
    return 0
