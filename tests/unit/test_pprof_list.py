"""`warroom profile FILE --list RE` against real `go tool pprof -list` on real profiles whose
sources are on this machine (Go's own stdlib: the fixtures were made by its test binaries)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tui.cli import main

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"
needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="go toolchain not installed")


def _go_list(path: Path, regex: str, unit: str, cwd: Path, sample_type: str = "") -> str:
    args = ["go", "tool", "pprof", "-list", regex]
    args += [f"-unit={unit}"] if unit else []
    args += [f"-sample_index={sample_type}"] if sample_type else []
    return subprocess.run(
        [*args, str(path)], capture_output=True, text=True, check=True, timeout=120, cwd=cwd
    ).stdout


def _as_pprof_prints(text: str) -> str:
    """Our listing less what pprof leaves out: the sampled lines of an unreadable file."""
    out, skip = [], False
    for ln in text.splitlines():
        if ln.startswith(("ROUTINE ", "No source information")):
            skip = False
        if not skip:
            out.append(ln)
        if ln.startswith(" Error: "):
            skip = True
    return "\n".join(out) + "\n"


@needs_go
@pytest.mark.parametrize(
    ("file", "regex", "unit", "sample_type"),
    [
        # no start lines in the profile: 5 lines above the first sampled one
        ("cpu_regexp.pb.gz", r"regexp\.", "ns", ""),
        # pprof's default unit: every value scaled on its own (1.40s, 10ms)
        ("cpu_regexp.pb.gz", r"regexp\.", "", ""),
        ("heap_json.pb.gz", "json", "", "alloc_space"),
        ("cpu_regexp.pb.gz", r"^runtime\.mallocgc$", "", "samples"),
        # start lines (Go's heap profiles carry them): from the func line
        ("heap_json.pb.gz", "json", "B", "alloc_space"),
        ("heap_json.pb.gz", ".", "", "inuse_objects"),
        # some sources absent (a program built in a folder that is gone)
        ("mutex_contention.pb.gz", ".", "ns", ""),
        ("cpu_json_gogc5.pb.gz", "Unmarshal|scanner", "ns", ""),
    ],
)
def test_list_equals_go_tool_pprof(
    file: str,
    regex: str,
    unit: str,
    sample_type: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # both look for relative source paths from here
    args = ["profile", str(FIX / file), "--list", regex]
    args += ["--sample-type", sample_type] if sample_type else []
    args += ["--unit", unit] if unit else []
    assert main(args) == 0
    mine = capsys.readouterr().out
    go = _go_list(FIX / file, regex, unit, tmp_path, sample_type)
    assert "ROUTINE" in go
    assert _as_pprof_prints(mine) == go


def test_unreadable_source_keeps_its_numbers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["profile", str(FIX / "mutex_contention.pb.gz"), "--list", r"^main\."]) == 0
    out = capsys.readouterr().out.splitlines()
    at = next(i for i, ln in enumerate(out) if ln.startswith(" Error: "))
    assert out[at - 2].startswith("ROUTINE ======================== main.")
    assert out[at + 1] == " (source not readable here: the sampled lines without their text)"
    sampled = out[at + 2 :]
    sampled = sampled[: next((i for i, ln in enumerate(sampled) if ln.startswith("ROUTINE")), None)]
    assert sampled and all(ln.endswith(":") for ln in sampled)  # numbers, no text
    flat_cum = out[at - 1].split()
    assert flat_cum[2:4] == ["(flat,", "cum)"]


def test_json_has_the_same_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIX / "cpu_regexp.pb.gz")
    assert main(["profile", path, "--list", r"doExecute$", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["sample_type"], doc["unit"], doc["total"]) == ("cpu", "nanoseconds", 33370000000)
    (r,) = doc["routines"]
    assert r["function"] == "regexp.(*Regexp).doExecute"
    assert r["file"].endswith("/src/regexp/exec.go") and r["error"] is None
    assert (r["flat"], r["cum"]) == (1400000000, 30170000000)
    assert r["flat"] == sum(ln["flat"] for ln in r["lines"])
    by_line = {ln["line"]: ln for ln in r["lines"]}
    assert by_line[542]["cum"] == 16160000000 and "m.match(i, pos)" in by_line[542]["text"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--list", "("],
            "--list: bad regex '(': missing ), unterminated subpattern at position 0",
        ),
        (["--list", "zzzz"], "--list: no function with samples matches 'zzzz'"),
        (["--list", ".", "--format", "md"], "--list prints text or json, not md"),
        (["--list", ".", "--limit", "2"], "--limit does not apply to --list"),
        (["--list", ".", "--sample-type", "nope"], None),
    ],
)
def test_bad_list_input_is_one_line(
    args: list[str], message: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", str(FIX / "cpu_regexp.pb.gz"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("warroom: ") and err.count("\n") == 1
    if message is not None:
        assert err == f"warroom: {message}\n"


@needs_go
@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        # a diff: current minus base, percentages of the base total
        (["--base", str(FIX / "cpu_json_gogc100.pb.gz")], ["-diff_base"]),
        # filters before the listing, as pprof applies them
        (
            [
                "--base",
                str(FIX / "cpu_json_gogc100.pb.gz"),
                "--focus",
                "Unmarshal",
                "--hide",
                "runtime",
            ],
            ["-focus", "Unmarshal", "-hide", "runtime", "-diff_base"],
        ),
    ],
)
def test_list_of_a_diff_and_filters_equals_go_tool_pprof(
    mine: list[str],
    theirs: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    cur, base = FIX / "cpu_json_gogc5.pb.gz", FIX / "cpu_json_gogc100.pb.gz"
    assert main(["profile", str(cur), *mine, "--list", "json", "--unit", "ns"]) == 0
    out = capsys.readouterr().out
    go = subprocess.run(
        ["go", "tool", "pprof", "-list", "json", "-unit=ns", *theirs, str(base), str(cur)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    ).stdout
    assert "ROUTINE" in go and "-" in go  # some lines did shrink
    assert _as_pprof_prints(out) == go
