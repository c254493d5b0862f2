"""`warroom [-c FILE] [--theme NAME]`: the live dashboard (the default command)."""

from __future__ import annotations

import argparse

THEMES = ("warroom", "bastion", "wall", "paper")


def add_dashboard_arguments(p: argparse.ArgumentParser, command: bool = False) -> None:
    """The dashboard's options, on the top-level parser and on `warroom dashboard`; a
    command's own -c keeps the top-level one when not given (SUPPRESS), as every command's."""
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS if command else None,
        help="YAML config (default: ./warroom.yaml when present, else built-in defaults)",
    )
    p.add_argument("--theme", choices=THEMES, help="colour theme (default: warroom)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="disable dangerous actions (rollback)",
    )
    mode.add_argument(
        "--write",
        action="store_true",
        default=None,
        help="allow dangerous actions even when the config says read_only",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dashboard",
        help="open the live dashboard (the default)",
        epilog="In the dashboard ? lists every key. Enter opens a service's routes (Prometheus "
        "route label, OTLP http.route); y copies the slowest recent request's trace id "
        "(exemplars; OSC 52), shown with the config's trace_url, e.g. "
        "trace_url: https://tempo.example/trace/{trace_id}",
    )
    add_dashboard_arguments(p, command=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.config import load_config
    from tui.ui.app import run_dashboard

    cfg = load_config(args.config)
    if args.theme:
        cfg.theme = args.theme
    if args.read_only:
        cfg.read_only = True
    elif args.write:
        cfg.read_only = False
        for svc in cfg.services:
            svc.read_only = False
    return run_dashboard(cfg)
