"""Profiles warroom writes read back exactly, in warroom and in `go tool pprof`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tui.core.pprof import load_profile
from tui.core.pprof.encode import encode_cpu_profile
from tui.core.pprof.table import function_table

STACKS = {
    (("main.leaf", "main.py", 10), ("main.mid", "main.py", 20), ("main.root", "main.py", 30)): 7,
    (("main.mid", "main.py", 21), ("main.root", "main.py", 30)): 3,
    (("main.root", "main.py", 31),): 2,
    (("main.recurse", "r.py", 1), ("main.recurse", "r.py", 2), ("main.root", "main.py", 30)): 4,
}
PERIOD = 10_000_000


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "demo-1.pb.gz"
    path.write_bytes(encode_cpu_profile(STACKS, PERIOD, 1_700_000_000 * 10**9, 2 * 10**9))
    return path


def test_round_trip_flat_and_cum(tmp_path: Path) -> None:
    prof = load_profile(_write(tmp_path))
    assert [t for t, _ in prof.sample_types] == ["samples", "cpu"]
    rows = {r.name: (r.flat, r.cum) for r in function_table(prof, 1)}
    assert rows["main.leaf"] == (7 * PERIOD, 7 * PERIOD)
    assert rows["main.mid"] == (3 * PERIOD, 10 * PERIOD)
    assert rows["main.root"] == (2 * PERIOD, 16 * PERIOD)
    assert rows["main.recurse"] == (4 * PERIOD, 4 * PERIOD)  # cum once under recursion


@pytest.mark.skipif(shutil.which("go") is None, reason="go tool pprof not installed")
def test_go_tool_pprof_reads_it(tmp_path: Path) -> None:
    out = subprocess.run(
        ["go", "tool", "pprof", "-top", "-unit=ns", str(_write(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Type: cpu" in out
    assert "160000000ns" in out  # total: 16 samples x 10ms
    assert "main.leaf" in out
