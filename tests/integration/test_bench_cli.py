"""`warroom bench compare` end to end, as a real process, on the real GOGC fixture files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import warroom
from tui.core.stats.mannwhitney import mann_whitney_u

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "bench"
OLD = DATA / "json_gogc100.txt"
NEW = DATA / "json_gogc5.txt"


def _values(path: Path, name: str, unit: str) -> list[float]:
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        if f and f[0] == f"Benchmark{name}":
            pairs = f[2:]
            out += [float(pairs[i]) for i in range(0, len(pairs), 2) if pairs[i + 1] == unit]
    return out


@pytest.fixture(scope="module")
def as_json() -> dict[str, Any]:
    proc = warroom("bench", "compare", str(OLD), str(NEW), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def test_json_schema_and_values(as_json: dict[str, Any]) -> None:
    rows = as_json["rows"]
    assert len(rows) == 16  # 4 benchmarks x 4 units
    for r in rows:
        assert set(r) >= {"name", "unit", "base", "current", "change", "p", "q", "verdict"}
        for side in ("base", "current"):
            assert set(r[side]) == {"median", "lo", "hi", "n"} and r[side]["n"] == 6
        assert set(r["change"]) == {"ratio", "lo", "hi"}
        assert 0 <= r["p"] <= r["q"] <= 1
    by = {(r["name"], r["unit"]): r for r in rows}
    dec = by[("CodeDecoder-2", "ns/op")]
    # GOGC=5 makes every decoder run slower than every GOGC=100 run: p = 2 / C(12, 6)
    assert dec["p"] == pytest.approx(2 / 924)
    assert dec["verdict"] == "REGRESSION"
    assert dec["change"]["lo"] > 1.05
    assert by[("CodeDecoder-2", "MB/s")]["verdict"] == "REGRESSION"  # throughput fell
    assert by[("CodeEncoder-2", "allocs/op")]["verdict"] == "EQUIVALENT"  # 0 vs 0
    for (name, unit), r in by.items():
        expected = mann_whitney_u(_values(OLD, name, unit), _values(NEW, name, unit)).p
        assert r["p"] == pytest.approx(expected, rel=1e-12)
    assert set(as_json["geomean"]) == {"ns/op", "MB/s", "B/op", "allocs/op"}
    assert as_json["geomean"]["ns/op"]["n"] == 4
    assert as_json["geomean"]["allocs/op"]["n"] == 3  # the 0 allocs/op row cannot enter


def test_text_tables_per_unit() -> None:
    proc = warroom("bench", "compare", str(OLD), str(NEW))
    assert proc.returncode == 0
    out = proc.stdout
    for unit in ("ns/op", "MB/s", "B/op", "allocs/op"):
        assert any(line.startswith(unit) for line in out.splitlines())
    assert "REGRESSION" in out and "geomean" in out and "(4 paired)" in out
    assert out.startswith("goos: linux\ngoarch: amd64\npkg: encoding/json\ncpu: AMD EPYC\n\n")


def test_fail_on_regression_exit_code() -> None:
    assert warroom("bench", "compare", str(OLD), str(NEW), "--fail-on-regression").returncode == 1
    assert warroom("bench", "compare", str(OLD), str(OLD), "--fail-on-regression").returncode == 0


def test_md_and_csv() -> None:
    md = warroom("bench", "compare", str(OLD), str(NEW), "--format", "md").stdout
    assert md.startswith("### ns/op") and "| CodeDecoder-2 |" in md
    text = warroom("bench", "compare", str(OLD), str(NEW), "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 16 and rows[0]["unit"] == "ns/op" and rows[0]["base_n"] == "6"


def test_bad_input_exit_2_with_file_line(tmp_path: Path) -> None:
    proc = warroom("bench", "compare", str(DATA / "bad_lines.txt"), str(NEW))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "bad_lines.txt:3: parsing iteration count" in proc.stderr
    proc = warroom("bench", "compare", str(tmp_path / "nope.txt"), str(NEW))
    assert proc.returncode == 2 and "nope.txt: no such file" in proc.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    proc = warroom("bench", "compare", str(empty), str(NEW), "--format", "json")
    assert proc.returncode == 2 and proc.stdout == ""


def test_min_effect_override_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "w.yaml"
    cfg.write_text(
        "baseline:\n  min_effect:\n    ns/op: 5.0\n    MB/s: 5.0\n    B/op: 5.0\n"
        "    allocs/op: 100000\n"
    )
    proc = warroom(
        "bench",
        "compare",
        str(OLD),
        str(NEW),
        "-c",
        str(cfg),
        "--format",
        "json",
        "--fail-on-regression",
    )
    assert proc.returncode == 0, proc.stdout  # a 500% minimum effect: nothing matters
    rows = json.loads(proc.stdout)["rows"]
    assert all(r["verdict"] != "REGRESSION" for r in rows)
