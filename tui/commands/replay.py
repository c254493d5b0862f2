"""`warroom replay FILE.jsonl[.gz] [--speed 10]`: the dashboard driven by a recording."""

from __future__ import annotations

import argparse

from tui.commands.dashboard import THEMES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="replay a recording in the dashboard (actions disabled)")
    p.add_argument("file", help="a recording from `warroom record` (.jsonl or .jsonl.gz)")
    p.add_argument(
        "--speed", type=float, default=1.0, help="recording seconds per real second (default 1)"
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config for service order, SLOs and theme (optional)",
    )
    p.add_argument("--theme", choices=THEMES)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.config import load_config
    from tui.core.recording import read_recording
    from tui.errors import UserError
    from tui.ui.replay import ReplayApp

    if args.speed <= 0:
        raise UserError("--speed must be positive")
    recording = read_recording(args.file)
    cfg = load_config(args.config)
    if args.theme:
        cfg.theme = args.theme
    from tui.ui.terminal import require_terminal

    require_terminal("a recording is JSON lines: read it with jq, or `warroom audit`")
    app = ReplayApp(cfg, recording, speed=args.speed, name=args.file)
    if recording.problem:
        app.call_later(app.notify, f"{args.file}: {recording.problem}", severity="warning")
    app.run()
    return int(app.return_code or 0)
