"""`warroom profile` headless: output formats, exit codes, one-line errors (real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "profile", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_json_schema_and_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "profile",
                str(FIX / "heap_json.pb.gz"),
                "--top",
                "--format",
                "json",
                "--sample-type",
                "inuse_space",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"sample_type", "unit", "total", "functions"}
    assert (doc["sample_type"], doc["unit"], doc["total"]) == ("inuse_space", "bytes", 1132286428)
    assert len(doc["functions"]) == 33
    first = doc["functions"][0]
    assert first == {
        "name": "encoding/json.typeFields",
        "flat": 473498430,
        "cum": 506004954,
        "inline": False,
    }
    assert (
        main(["profile", str(FIX / "heap_json.pb.gz"), "--top", "--format", "json", "--limit", "3"])
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)["functions"]) == 3


def test_diff_json_total_is_base_total(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "profile",
                str(FIX / "cpu_json_gogc5.pb.gz"),
                "--base",
                str(FIX / "cpu_json_gogc100.pb.gz"),
                "--top",
                "--format",
                "json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"] == 15970000000
    assert doc["functions"][0]["name"] == "runtime.asyncPreempt"
    assert doc["functions"][0]["flat"] == 1410000000


def test_markdown_and_focus(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "profile",
                str(FIX / "cpu_regexp.pb.gz"),
                "--top",
                "--format",
                "md",
                "--focus",
                "onepass",
                "--limit",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| flat | flat% |" in out and out.count("\n| ") == 3


def test_regressions_exit_codes() -> None:
    cur, base = str(FIX / "cpu_json_gogc5.pb.gz"), str(FIX / "cpu_json_gogc100.pb.gz")
    r = run_cli(cur, "--base", base, "--regressions", "--fail-on", "5", "--format", "json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert "encoding/json.structEncoder.encode" in doc["failing"]
    r = run_cli(cur, "--base", base, "--regressions", "--fail-on", "50")
    assert r.returncode == 0 and "changed functions" in r.stdout
    r = run_cli(base, "--base", base, "--regressions", "--fail-on", "0", "--format", "md")
    assert r.returncode == 0


def test_regressions_of_a_kind_without_a_test_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    """A goroutine profile is a complete snapshot: no p-value is made up for it."""
    g = str(FIX / "goroutine_contention.pb.gz")
    assert main(["profile", g, "--base", g, "--regressions"]) == 0
    out = capsys.readouterr().out
    first, *rows = out.splitlines()
    assert first.endswith(
        "significance: no significance test for goroutine: goroutine counts "
        "are a complete snapshot, not samples"
    )
    p_column = [r.split()[4] for r in rows if r.split() and r.split()[0][:1] in "+-"]
    assert p_column and set(p_column) == {"-"}


def test_folded_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", str(FIX / "mutex_contention.pb.gz"), "--folded"]) == 0
    out = capsys.readouterr().out
    assert out == "main.main.func1;sync.(*Mutex).Unlock 269978667\n"


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["/nonexistent.pb.gz", "--top"], "no such file"),
        (["{fix}/heap_json.pb.gz", "--top", "--sample-type", "nope"], "unknown sample type"),
        (["{fix}/cpu_regexp.pb.gz", "--regressions"], "--regressions needs --base"),
        (["{fix}/cpu_regexp.pb.gz", "--top", "--focus", "("], "bad regular expression"),
        (["{fix}/cpu_regexp.pb.gz", "--base", "{fix}/heap_json.pb.gz", "--top"], "do not match"),
        (["{fix}/NOTICE", "--top"], "not a pprof profile"),
        (["{fix}/cpu_regexp.pb.gz", "--top", "--edgefraction", "2"], "not between 0 and 1"),
        (["{fix}/cpu_regexp.pb.gz", "--top", "--unit", "bogus"], "--unit: unknown unit 'bogus'"),
        (["{fix}/heap_json.pb.gz", "--folded", "--unit", "parsecs"], "unknown unit"),
        (["{fix}/cpu_regexp.pb.gz", "--unit", "furlongs"], "--unit: unknown unit"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], msg: str) -> None:
    r = run_cli(*[a.format(fix=FIX) for a in args])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warroom: ") and msg in lines[0], r.stderr


def test_truncated_gzip_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "t.pb.gz"
    f.write_bytes((FIX / "cpu_regexp.pb.gz").read_bytes()[:500])
    r = run_cli(str(f), "--top")
    assert (
        r.returncode == 2
        and r.stderr.strip() == f"warroom: {f}: truncated gzip stream (file ends mid-stream)"
    )


def test_folded_file_in_and_diff_folded_out(tmp_path: Path) -> None:
    base = tmp_path / "base.folded"
    cur = tmp_path / "cur.folded"
    base.write_text("main;a;b 10\nmain;c 5\n")
    cur.write_text("main;a;b 4\nmain;c 5\nmain;d 7\n")
    r = run_cli(str(cur), "--top", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["sample_type"], doc["total"]) == ("samples", 16)
    r = run_cli(str(cur), "--base", str(base), "--folded")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "main;a;b -6\nmain;d 7\n"
    r = run_cli(str(cur), "--base", str(base), "--top", "--format", "json")
    fn = {f["name"]: (f["flat"], f["cum"]) for f in json.loads(r.stdout)["functions"]}
    assert fn == {"d": (7, 7), "b": (-6, -6), "a": (0, -6), "main": (0, 1)}
    assert json.loads(r.stdout)["total"] == 15


def test_folded_bad_line_is_located(tmp_path: Path) -> None:
    f = tmp_path / "bad.folded"
    f.write_text("a;b 3\nc;d 4\n")
    assert run_cli(str(f), "--top").returncode == 0
    f.write_text("a;b 3\nc;d 4\n\x00\x01garbage\n")
    r = run_cli(str(f), "--top")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


REG = [
    str(FIX / "cpu_json_gogc5.pb.gz"),
    "--base",
    str(FIX / "cpu_json_gogc100.pb.gz"),
    "--regressions",
]


def test_regressions_limit_caps_every_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", *REG, "--format", "json"]) == 0
    full = json.loads(capsys.readouterr().out)
    counts = full["counts"]
    assert counts == {k: len(full[k]) for k in ("functions", "new", "vanished")}
    assert min(counts.values()) > 3  # the fixture has more of each than the limit below
    assert main(["profile", *REG, "--format", "json", "--limit", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("functions", "new", "vanished"):
        assert doc[key] == full[key][:3]
    assert doc["counts"] == counts
    assert main(["profile", *REG, "--limit", "2"]) == 0
    text = capsys.readouterr().out
    for title, key in (("changed", "functions"), ("new", "new"), ("vanished", "vanished")):
        head = f"{title} functions (2 of {counts[key]})"
        assert head in text
        block = text.split(head, 1)[1].split("\n\n", 1)[0].strip().splitlines()
        assert len(block) == 3  # header line + 2 rows
        assert block[1].endswith(full[key][0]["name"])
    assert main(["profile", *REG, "--limit", "1", "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert md.count("| `") == 3 and f"### new functions (1 of {counts['new']})" in md


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["{fix}/cpu_regexp.pb.gz", "--top", "--fail-on", "5"], "--fail-on needs --regressions"),
        (["{fix}/cpu_regexp.pb.gz", "--fail-on", "5"], "--fail-on needs --regressions"),
        ([*REG, "--normalize"], "--normalize does not apply to --regressions"),
        (["{fix}/cpu_regexp.pb.gz", "--top", "--normalize"], "--normalize needs --base"),
    ],
)
def test_options_that_would_be_ignored_are_errors(args: list[str], msg: str) -> None:
    r = run_cli(*[a.format(fix=FIX) for a in args])
    assert r.returncode == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warroom: ") and msg in lines[0], r.stderr


def test_garbage_file_message_names_the_file_only(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pb"
    bad.write_bytes(b"hello\x08\x01garbage")  # not gzip, not folded, corrupt protobuf
    for mode in ("--top", "--folded"):
        r = run_cli(str(bad), mode)
        assert r.returncode == 2
        line = r.stderr.strip()
        assert line.startswith(f"warroom: {bad}: not a pprof profile ("), line
        assert "warroom.pprof" not in line and "FastProfile" not in line and "\n" not in line
    r = run_cli(str(FIX / "cpu_regexp.pb.gz"), "--base", str(bad), "--top")
    assert r.returncode == 2 and f"{bad}: not a pprof profile (" in r.stderr
    assert "FastProfile" not in r.stderr


def test_unit_names_the_error_lists_are_all_accepted() -> None:
    """`--unit bogus` lists the known units; each of them, and pprof's aliases in any case
    and plural, is accepted."""
    import re

    from tui.core.pprof.measurement import unit_problem

    problem = unit_problem("bogus")
    assert problem is not None
    listed = re.search(r"known: (.*)\)$", problem)
    assert listed is not None
    names = listed.group(1).split(", ")
    assert {"minimum", "auto", "ns", "ms", "s", "B", "kB", "MB"} <= set(names)
    for name in [*names, "seconds", "MS", "kilobytes", "count", "nanogcu"]:
        assert unit_problem(name) is None, name
    for bad in ("", "furlong", "msec2", "KiB"):
        assert unit_problem(bad) is not None, bad
