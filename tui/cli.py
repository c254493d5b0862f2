"""Command line entry point: argparse sub-commands, each in its own module under tui/commands.

cli.py only builds the parser and maps a `UserError` to one line on stderr and exit code 2;
each command module wires config, sources, core and UI for its own job. Command modules keep
their heavy imports inside `run` so that `warroom --help` and start-up stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
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


EXIT_SIGPIPE = 128 + 13  # what a shell reports for a writer killed by SIGPIPE


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed (poll says POLLERR); True if unknown."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            code = _dispatch(argv)
        finally:
            # a closed pipe must fail here, even after --help's SystemExit, and not in the
            # interpreter's exit flush ("Exception ignored ... BrokenPipeError", status 120)
            sys.stdout.flush()
    except BrokenPipeError:
        # `warroom profile X --top | head -1`: the reader has what it wanted. Exit quietly as
        # the shell expects of a SIGPIPE'd writer; devnull stops the exit-time flush from
        # raising again (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        if not _stdout_reader_gone():
            raise  # some other pipe broke (a child's stdin, a socket): a bug, keep the trace
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        return EXIT_SIGPIPE
    return code


def _dispatch(argv: Sequence[str] | None) -> int:
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
