"""Filters against the real `go tool pprof` (Go 1.19) on the same file, line for line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.go_pprof import go_pprof_top, go_pprof_total_line
from tui.cli import main

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="go toolchain not installed")

CASES = [
    ("cpu_regexp.pb.gz", "ns", ["--focus", "onepass"]),
    ("cpu_regexp.pb.gz", "ns", ["--ignore", "onepass", "--hide", r"runtime\."]),
    ("cpu_regexp.pb.gz", "ns", ["--show", r"regexp\."]),
    ("cpu_regexp.pb.gz", "ns", ["--show-from", "Backtrack"]),
    ("cpu_regexp.pb.gz", "ns", ["--prune-from", "machine"]),
    ("cpu_regexp.pb.gz", "ns", ["--granularity", "file"]),
    ("cpu_json_gogc5.pb.gz", "ns", ["--granularity", "line", "--hide", "runtime"]),
    ("heap_json.pb.gz", "B", ["--tagfocus", "64kb:1mb"]),
    (
        "cpu_json_gogc5.pb.gz",
        "ns",
        ["--base", str(FIX / "cpu_json_gogc100.pb.gz"), "--normalize", "--focus", "json"],
    ),
    ("heap_json.pb.gz", "B", ["--tagignore", "bytes=:2kb", "--sample-type", "alloc_objects"]),
]


def _go_args(args: list[str]) -> list[str]:
    out: list[str] = []
    if "--granularity" in args:
        i = args.index("--granularity")
        out.append({"file": "-files", "line": "-lines", "function": "-functions"}[args[i + 1]])
        args = args[:i] + args[i + 2 :]
    for a in args:
        if a.startswith("--"):
            a = "-" + a[2:].replace("-", "_")
            a = a.replace("sample_type", "sample_index").replace("-base", "-diff_base")
        out.append(a)
    return out


@pytest.mark.parametrize(
    ("file", "unit", "args"), CASES, ids=[" ".join(Path(a).name for a in c[2]) for c in CASES]
)
def test_filtered_top_equals_go_tool_pprof(
    file: str, unit: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """In pprof's default unit, and in the profile's own unit forced on both sides."""
    for forced in (None, unit):
        body = go_pprof_top(FIX / file, forced, _go_args(args))
        argv = ["profile", str(FIX / file), "--top", *args, *(["--unit", forced] if forced else [])]
        assert main(argv) == 0
        mine = capsys.readouterr().out.splitlines()[3:]
        assert mine == body
        assert len(body) > 0


@pytest.mark.parametrize("edges", ["0.001", "0", "0.01"])
@pytest.mark.parametrize("stype", ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"])
def test_inline_labels_follow_the_edge_fraction_as_pprof(
    stype: str, edges: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13 item 11: pprof marks a function (inline) from the call edges it keeps, and by
    default it drops edges under 0.1% of the total; counting every edge labelled functions
    (inline) that `go tool pprof -top` shows bare (10 vs 4 in heap_json's alloc_objects)."""
    body = go_pprof_top(FIX / "heap_json.pb.gz", None, ["-sample_index", stype], edges)
    argv = ["profile", str(FIX / "heap_json.pb.gz"), "--top", "--sample-type", stype]
    assert main([*argv, *(["--edgefraction", edges] if edges != "0.001" else [])]) == 0
    mine = capsys.readouterr().out.splitlines()[3:]
    assert mine == body
    assert any("(inline)" in ln for ln in body)


FIXTURE_FILES = [*sorted(p.name for p in FIX.glob("*.pb.gz")), "large.cpu"]


@pytest.mark.parametrize("file", FIXTURE_FILES)
def test_default_units_equal_go_tool_pprof_for_every_sample_type(
    file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13 item 14: pprof prints 0.24s where warroom printed 240000000ns. Without -unit
    pprof picks one unit per report from its smallest value ("minimum")."""
    from tui.core.pprof.load import load_profile

    for stype, _ in load_profile(FIX / file).sample_types:
        body = go_pprof_top(FIX / file, None, ["-sample_index", stype])
        assert main(["profile", str(FIX / file), "--top", "--sample-type", stype]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[3:] == body, stype
        total = go_pprof_total_line(FIX / file, stype)
        assert out[1] == total


@pytest.mark.parametrize(
    ("file", "unit"),
    [
        ("cpu_regexp.pb.gz", "auto"),
        ("cpu_regexp.pb.gz", "ms"),
        ("heap_json.pb.gz", "kB"),
        # a unit of another kind falls back to the profile's, as pprof does
        ("heap_json.pb.gz", "ms"),
        ("cpu_regexp.pb.gz", "MB"),
        ("cpu_regexp.pb.gz", "Seconds"),
    ],
)
def test_forced_units_equal_go_tool_pprof(
    file: str, unit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = go_pprof_top(FIX / file, unit)
    assert main(["profile", str(FIX / file), "--top", "--unit", unit]) == 0
    assert capsys.readouterr().out.splitlines()[3:] == body
