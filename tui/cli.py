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
from typing import TYPE_CHECKING

from tui.errors import UserError

if TYPE_CHECKING:
    from typing import NoReturn

# Command name -> its module in tui/commands; the order is the order shown in --help. Each
# module exposes `register(subparsers)`, which adds the parser of that name and sets `func` to
# a callable taking the parsed args and returning an exit code.
COMMAND_MODULES = {
    "dashboard": "dashboard",
    "snapshot": "snapshot",
    "record": "record",
    "replay": "replay",
    "profile": "profile",
    "bench": "bench",
    "baseline": "baseline",
    "check": "check",
    "audit": "audit",
    "mark": "mark",
    "config": "config_check",
    "demo": "demo",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `only` a command's name the same parser with that one
    command registered: what parsing a command line that names it needs (see parser_for)."""
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
    for name, module in COMMAND_MODULES.items():
        if only is None or name == only:
            importlib.import_module(f"tui.commands.{module}").register(sub)
    return parser


class _NotSure(Exception):
    """The probe could not tell which command a command line names."""


class _Probe(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotSure(message)


def command_of(argv: Sequence[str]) -> str | None:
    """The command `argv` names, found as the whole parser would find it (the same top-level
    options, the command as the first positional), or None: no command, help asked for
    before it, or a mistake that the whole parser must report."""
    from tui.commands import dashboard

    probe = _Probe(prog="warroom", add_help=False)
    probe.add_argument("-h", "--help", action="store_true")
    dashboard.add_dashboard_arguments(probe)
    probe.add_argument("rest", nargs=argparse.PARSER)
    try:
        ns, _ = probe.parse_known_args(list(argv))
    except _NotSure:
        return None
    name = ns.rest[0]
    return name if name in COMMAND_MODULES and not ns.help else None


def parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for this command line: with only its own command registered when it names
    one, so `warroom profile F --top` does not import (or build the options of) the other
    ten command modules. It parses exactly as build_parser() does (tests/unit/test_startup_imports.py);
    --help, mistakes and the default dashboard get the whole parser."""
    return build_parser(only=command_of(argv))


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
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser_for(argv).parse_args(argv)
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
