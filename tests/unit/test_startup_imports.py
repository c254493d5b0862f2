"""Start-up discipline: a command imports what it needs and nothing else (issue 16).

`warroom profile F --top` is compared with `go tool pprof -top` as a whole process, so its
imports are its start-up time. These tests pin what it must not load (the UI, the network
stack, asyncio, YAML, the OTLP protobufs, diff and significance testing; on a small profile
numpy and protobuf too: the quick path reads it) and that the reduced
parser the CLI builds for a named command parses exactly as the whole parser does. They run
the real CLI in a fresh interpreter; the figures are in benchmarks/bench_startup.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui.cli import COMMAND_MODULES, build_parser, command_of, parser_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "pprof"  # as tests/conftest.py finds them

# modules that `profile --top` must not import (a prefix matches its submodules too)
NOT_FOR_TOP = (
    "textual",
    "rich",
    "httpx",
    "aiohttp",
    "grpc",
    "asyncio",
    "yaml",
    "ssl",
    "socket",
    "opentelemetry",
    "tui.ui",
    "tui.sources",
    "tui.config",
    "tui.core.metrics",
    "tui.core.pprof.diff",
    "tui.core.pprof.significance",
    "tui.core.pprof.flamegraph",
    "tui.core.pprof.flametree",
    "tui.core.pprof.flamecallers",
    "tui.core.pprof.flamediff",
)
# the other commands' modules; dashboard's holds the top-level options, so every parse loads it
OTHER_COMMANDS = [
    f"tui.commands.{m}" for n, m in COMMAND_MODULES.items() if n not in ("profile", "dashboard")
]

_PROBE = """
import contextlib, io, json, sys
from tui.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _run_cli(*argv: str) -> dict[str, Any]:
    """The CLI in a fresh interpreter: its exit code, its stdout and every module it loaded."""
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    timings: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return timings


def _loaded(modules: list[str], prefixes: tuple[str, ...] | list[str]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


# what the full engine loads: a small --top (the quick path, tui/core/pprof/quicktop.py)
# must load none of it, a large one all of it
FULL_ENGINE = ("numpy", "google.protobuf", "tui.core.pprof.decode", "tui.core.pprof.table")
SMALL_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.pb.gz"))


@pytest.mark.parametrize("fixture", SMALL_FIXTURES)
def test_small_profile_top_imports_neither_numpy_nor_protobuf(fixture: str) -> None:
    got = _run_cli("profile", str(FIXTURES / fixture), "--top")
    assert got["code"] == 0
    assert got["out"].startswith("Type: ")  # it did the work, not just the imports
    assert _loaded(got["modules"], NOT_FOR_TOP) == []
    assert _loaded(got["modules"], OTHER_COMMANDS) == []
    assert _loaded(got["modules"], FULL_ENGINE) == []
    assert "tui.core.pprof.quicktop" in got["modules"]  # not passing by accident


@pytest.mark.parametrize(
    "argv",
    [
        ["large.cpu", "--top"],  # over the quick path's size: the numpy engine is faster
        ["heap_json.pb.gz", "--top", "--focus", "json"],  # filters are the full engine's
        ["heap_json.pb.gz", "--top", "--tagignore", "bytes=:2kb"],
    ],
)
def test_what_the_quick_path_declines_runs_the_numpy_engine(argv: list[str]) -> None:
    got = _run_cli(
        "profile",
        str(FIXTURES / argv[0]),
        *[str(FIXTURES / a) if a.endswith(".gz") else a for a in argv[1:]],
    )
    assert got["code"] == 0
    assert got["out"].startswith("Type: ")
    assert _loaded(got["modules"], NOT_FOR_TOP) == []
    assert _loaded(got["modules"], OTHER_COMMANDS) == []
    for needed in FULL_ENGINE:
        assert needed in got["modules"]


def test_help_imports_no_numpy_protobuf_or_ui() -> None:
    env = dict(os.environ)
    code = (
        "import contextlib, io, sys\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert proc.returncode == 0, proc.stderr
    modules = proc.stdout.split()
    assert _loaded(modules, ("numpy", "google", "textual", "asyncio", "yaml", "tui.ui")) == []
    assert "tui.commands.profile" in modules  # --help lists every command: all registered


def test_numpy_is_loaded_with_one_blas_thread_and_the_environment_left_as_it_was() -> None:
    code = (
        "import os\n"
        "from tui.commands.numpy_threads import import_numpy\n"
        "import_numpy()\n"
        "import numpy\n"
        "print(len(os.listdir('/proc/self/task')), 'OPENBLAS_NUM_THREADS' in os.environ)\n"
    )
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "False"]  # only the main thread; no variable left
    # a user's own choice is kept (and so is what it does)
    env["OPENBLAS_NUM_THREADS"] = "2"
    code2 = code.replace(
        "'OPENBLAS_NUM_THREADS' in os.environ", "os.environ['OPENBLAS_NUM_THREADS']"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code2], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "2"]


def test_every_command_module_registers_the_name_it_is_listed_under() -> None:
    for name in COMMAND_MODULES:
        sub = next(a for a in build_parser(only=name)._actions if a.dest == "command")
        assert list(sub.choices) == [name]  # type: ignore[arg-type]
    whole = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(whole.choices) == list(COMMAND_MODULES)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["profile", "x.pb.gz", "--top"], "profile"),
        (["-c", "w.yaml", "profile", "x"], "profile"),
        (["--config", "demo", "profile", "x"], "profile"),  # a value that is a command name
        (["--conf", "demo", "profile", "x"], "profile"),  # an abbreviated option, as argparse
        (["-cdemo", "check"], "check"),
        (["--config=demo", "--theme", "paper", "--read-only", "audit"], "audit"),
        (["config", "check", "w.yaml"], "config"),
        ([], None),  # the default dashboard
        (["-h", "profile"], None),  # help before the command: the whole parser's help
        (["--theme", "nope", "profile", "x"], None),  # a mistake the whole parser reports
        (["--read-only", "--write", "profile", "x"], None),
        (["nosuchcommand"], None),
        (["-c"], None),
    ],
)
def test_command_of_finds_the_command_as_argparse_does(
    argv: list[str], command: str | None
) -> None:
    assert command_of(argv) == command


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("profile", ["profile", "x.pb.gz", "--top"]),
        ("profile", ["profile", "x", "--base", "b", "--regressions", "--fail-on", "2"]),
        ("profile", ["-c", "w.yaml", "--theme", "paper", "profile", "x", "--focus", "m"]),
        ("profile", ["--config", "demo", "profile", "x", "--folded", "--limit", "5"]),
        ("check", ["-c", "w.yaml", "check", "--service", "api"]),
        ("bench", ["bench", "compare", "a.txt", "b.txt"]),
        ("baseline", ["baseline", "list"]),
        ("config", ["config", "check", "w.yaml"]),
        ("dashboard", ["dashboard", "--write"]),
        ("audit", ["audit", "--format", "json"]),
        ("record", ["--read-only", "record", "--out", "out.jsonl"]),
        ("snapshot", ["snapshot", "--format", "md"]),
    ],
)
def test_the_reduced_parser_parses_exactly_as_the_whole_one(command: str, argv: list[str]) -> None:
    assert command_of(argv) == command
    assert vars(parser_for(argv).parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_every_public_pprof_name_resolves_lazily() -> None:
    code = (
        "import sys\n"
        "import tui.core.pprof as p\n"
        "before = sorted(m for m in sys.modules if m.startswith('tui.core.pprof.'))\n"
        "names = [n for n in p.__all__ if getattr(p, n) is not None]\n"
        "print(before, len(names) == len(p.__all__) == len(set(p._HOME)) and "
        "set(p.__all__) == set(p._HOME))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "True"]  # nothing loaded by the package; all resolve
