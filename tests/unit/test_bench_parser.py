"""Go benchmark format parser: configuration, results, units, errors with FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.bench.compare import compare_bench
from tui.core.bench.parser import check_clean, parse_bench_text, read_bench_file
from tui.errors import UserError

DATA = Path(__file__).resolve().parents[1] / "data" / "bench"

SAMPLE = """\
goos: linux
goarch: amd64
pkg: example.com/a
cpu: AMD EPYC
Unit text-bytes assume=exact
Unit hits/s better=higher
BenchmarkDecode/small/size=1kB-8   \t 1000\t  1234 ns/op\t  56.5 MB/s\t 48 B/op\t 2 allocs/op
BenchmarkDecode/small/size=1kB-8   \t 1000\t  1240 ns/op\t  56.1 MB/s\t 48 B/op\t 2 allocs/op
BenchmarkParent
--- BENCH: BenchmarkParent
    x_test.go:12: some log
BenchmarkPlain 5 1e3 text-bytes 7.5 hits/s
pkg: example.com/b
cpu:
BenchmarkOther-16 10 3 ns/op
PASS
ok  \texample.com/a\t1.2s
"""


def test_parse_configuration_results_and_units() -> None:
    f = parse_bench_text(SAMPLE, "s.txt")
    assert f.errors == []
    assert len(f.results) == 4
    r = f.results[0]
    assert r.name == "Decode/small/size=1kB-8"
    assert (r.base_name, r.procs, r.iters) == ("Decode/small/size=1kB", 8, 1000)
    assert r.values == ((1234.0, "ns/op"), (56.5, "MB/s"), (48.0, "B/op"), (2.0, "allocs/op"))
    assert r.config_value("cpu") == "AMD EPYC" and r.line == 7
    plain = f.results[2]
    assert (plain.name, plain.procs, plain.values) == (
        "Plain",
        None,
        ((1000.0, "text-bytes"), (7.5, "hits/s")),
    )
    other = f.results[3]
    assert other.config_value("pkg") == "example.com/b"
    assert other.config_value("cpu") is None  # an empty value deletes the key
    assert other.procs == 16
    assert f.units == {"text-bytes": {"assume": "exact"}, "hits/s": {"better": "higher"}}


def test_config_line_rules() -> None:
    f = parse_bench_text(
        "Key: x\nkey with space: y\nkey:novalue\nok-key: 1\nBenchmarkA 1 1 ns/op\n"
    )
    assert f.results[0].config == (("ok-key", "1"),)


def test_errors_carry_file_and_line() -> None:
    f = read_bench_file(DATA / "bad_lines.txt")
    assert len(f.results) == 1
    where = str(DATA / "bad_lines.txt")
    assert f.errors == [
        f"{where}:3: parsing iteration count: 'lots' is not a non-negative integer",
        f"{where}:4: missing unit after '12'",
        f"{where}:5: parsing measurement: 'twelve' is not a finite number",
    ]
    with pytest.raises(UserError, match=r"3 problems.*bad_lines.txt:3"):
        check_clean([f])


def test_unit_line_errors_and_conflicts() -> None:
    f = parse_bench_text(
        "Unit\nUnit x/op better=sideways\nUnit y/op nokv\n"
        "Unit z/op assume=exact\nUnit z/op assume=nothing\n",
        "u.txt",
    )
    assert f.errors == [
        "u.txt:1: missing unit",
        "u.txt:2: better must be higher or lower, got 'sideways'",
        "u.txt:3: expected key=value, got 'nokv'",
        "u.txt:5: metadata assume of unit z/op already set to exact",
    ]


def test_missing_measurements_and_empty_file(tmp_path: Path) -> None:
    f = parse_bench_text(
        "BenchmarkX-8 100\nBenchmarkY 1 NaN ns/op\nBenchmarkZ 1 +Inf ns/op\n"
        "BenchmarkW 1 1.5E-9 sec/op\n",
        "m.txt",
    )
    assert f.errors == [
        "m.txt:1: missing measurements",
        "m.txt:2: parsing measurement: 'NaN' is not a finite number",
        "m.txt:3: parsing measurement: '+Inf' is not a finite number",
    ]
    assert f.results[0].values == ((1.5e-9, "sec/op"),)
    empty = tmp_path / "empty.txt"
    empty.write_text("PASS\n")
    with pytest.raises(UserError, match="no benchmark results"):
        check_clean([read_bench_file(empty)])


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        read_bench_file(tmp_path / "missing.txt")
    with pytest.raises(UserError, match="is a directory"):
        read_bench_file(tmp_path)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"BenchmarkA 1 1 ns/op\n\xff\xfe\n")
    with pytest.raises(UserError, match=r"bin.txt:2: invalid UTF-8"):
        read_bench_file(binary)


def test_fixture_files_parse_fully() -> None:
    for name in ("json_gogc100.txt", "json_gogc5.txt"):
        f = read_bench_file(DATA / name)
        assert f.errors == []
        assert len(f.results) == 24  # 4 benchmarks x -count=6
        assert {r.base_name for r in f.results} == {
            "CodeEncoder",
            "CodeDecoder",
            "CodeUnmarshal",
            "CodeUnmarshalReuse",
        }
        assert {r.procs for r in f.results} == {2}
        assert all(r.config_value("pkg") == "encoding/json" for r in f.results)


def test_compare_units_metadata_and_packages() -> None:
    old = parse_bench_text(SAMPLE, "old")
    new = parse_bench_text(SAMPLE.replace("7.5 hits/s", "9.5 hits/s"), "new")
    cmp = compare_bench(old, new)
    titles = [t.title for t in cmp.tables]
    assert titles == ["ns/op", "MB/s", "B/op", "allocs/op", "text-bytes", "hits/s"]
    names = [r.name for r in cmp.tables[0].rows]
    # two packages in the input: names are qualified so rows never collide
    assert names == ["example.com/a.Decode/small/size=1kB-8", "example.com/b.Other-16"]
    hits = cmp.tables[-1].rows[0]
    assert hits.better == "higher"


def test_rows_on_one_side_only_are_kept_and_noted() -> None:
    old = parse_bench_text(
        "BenchmarkA-8 1 10 ns/op\nBenchmarkA-8 1 11 ns/op\nBenchmarkGone-8 1 5 ns/op\n", "old"
    )
    new = parse_bench_text(
        "BenchmarkA-8 1 10 ns/op\nBenchmarkA-8 1 12 ns/op\nBenchmarkNew/sub=1-8 1 7 ns/op\n", "new"
    )
    cmp = compare_bench(old, new)
    rows = {r.name: r for r in cmp.rows}
    assert rows["Gone-8"].notes[0] == "only in base" and rows["Gone-8"].current.n == 0
    assert rows["New/sub=1-8"].notes[0] == "only in current"
    assert rows["Gone-8"].verdict == "TOO FEW SAMPLES"
    geo = cmp.tables[0].geomean
    assert geo is not None and geo.n == 1  # only A is paired
    doc = cmp.to_json()
    assert {r["name"] for r in doc["rows"]} == {"A-8", "Gone-8", "New/sub=1-8"}
    gone = next(r for r in doc["rows"] if r["name"] == "Gone-8")
    assert gone["p"] is None and gone["current"] == {"median": None, "lo": None, "hi": None, "n": 0}
