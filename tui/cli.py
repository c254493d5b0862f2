"""Command line entry point: argparse sub-commands, each in its own module under tui/commands.

cli.py only builds the parser and maps a `UserError` to one line on stderr and exit code 2;
each command module wires config, sources, core and UI for its own job. Command modules keep
their heavy imports inside `run` so that `warroom --help` and start-up stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tui.errors import UserError

# Order is the order shown in --help. Each module exposes `register(subparsers)`, which adds
# its parser and sets `func` to a callable taking the parsed args and returning an exit code.
COMMAND_MODULES = (
    "dashboard",
    "snapshot",
    "record",
    "replay",
    "profile",
    "bench",
    "baseline",
    "check",
    "audit",
    "config_check",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    from tui.commands import dashboard

    parser = argparse.ArgumentParser(
        prog="warroom",
        description="A terminal console for performance incidents in Go services.",
        epilog="With no command, warroom opens the live dashboard. Exit codes: 0 ok, "
        "1 a gate failed (regression found), 2 bad input.",
    )
    dashboard.add_dashboard_arguments(parser)
    parser.set_defaults(func=dashboard.run)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"tui.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except UserError as exc:
        print(f"warroom: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
