"""Where `baseline refresh` takes its window from: a recording (--from-record), the OTLP
receivers for a while (--listen, an OTLP service), else Prometheus; and the version the
service ran there when nothing names it. Each source keeps the per-route breakdown it has.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.commands.live_window import LiveWindow
    from tui.config import Config
    from tui.core.baseline.route_samples import RouteSamples


@dataclass
class RefreshWindow:
    signals: dict[str, list[float]]
    step: float
    start: float | None
    window: float
    source: str  # what the snapshot says it was taken from
    saturated: dict[str, int]
    found: tuple[str, str, str] | None  # (version, revision, where) when detected
    live: LiveWindow | None = None  # a live window: its routes and Go runtime
    routes: RouteSamples | None = None  # a recording's routes


def duration(flag: str, text: str) -> float:
    """Seconds of a positive duration option; UserError naming the flag."""
    from tui.config import parse_duration
    from tui.errors import UserError

    try:
        seconds = float(parse_duration(text))
    except ValueError as exc:
        raise UserError(f"{flag}: {exc}") from None
    if seconds <= 0:
        raise UserError(f"{flag}: {text!r} is not a positive duration")
    return seconds


def refresh_window(
    cfg: Config, args: argparse.Namespace, window: float, detect: bool
) -> RefreshWindow:
    """The window of `args.service` (see the module docstring)."""
    import asyncio

    from tui.commands.baseline import record_version

    if args.from_record:
        from tui.core.baseline import route_samples
        from tui.core.baseline.snapshot import signals_from_record
        from tui.core.recording import read_recording

        rec = read_recording(args.from_record)
        signals, step, start, end = signals_from_record(rec.events, args.service, window)
        if rec.problem:
            print(f"warroom: warning: {args.from_record}: {rec.problem}", file=sys.stderr)
        return RefreshWindow(
            signals,
            step,
            start,
            window,
            f"record {args.from_record}",
            {},
            record_version(rec.events, args.service) if detect else None,
            routes=route_samples.from_record(rec.events, args.service, window, end),
        )
    live: LiveWindow
    if args.listen:
        from tui.commands.live_window import listen_window

        window = duration("--listen", args.listen)
        live = asyncio.run(listen_window(cfg, args.service, window))
        source = f"otlp receivers ({args.listen})"
    else:
        from tui.commands.live_window import fetch_live_window

        live = asyncio.run(fetch_live_window(cfg, args.service, window, routes=True, runtime=True))
        source = f"prometheus {cfg.prometheus.url if cfg.prometheus else ''}"
    found = None
    if detect:
        from tui.sources.releases import running_version

        found = asyncio.run(running_version(cfg, args.service, time.time()))
    return RefreshWindow(
        live.signals, live.step, live.start, window, source, live.saturated, found, live=live
    )
