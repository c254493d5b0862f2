"""`--list` on a CPU profile of the real Go service, whose sources (tui/demo/gosvc/*.go) are
on disk: every routine of package main, and the runtime's (Go's stdlib sources), equal to
`go tool pprof -list` on the same file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.gosvc import start_gosvc
from tui.cli import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("go") is None, reason="go toolchain not installed"),
]
GOSVC = Path(__file__).resolve().parents[2] / "tui" / "demo" / "gosvc"


def test_list_of_a_live_go_service_equals_go_tool_pprof(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with start_gosvc(tmp_path, "-load", "200") as svc:
        svc.control("/api/cart", cpu_ms=2.0)
        r = httpx.get(f"{svc.url}/debug/pprof/profile?seconds=1", timeout=30)
        r.raise_for_status()
    prof = tmp_path / "cpu.pb.gz"
    prof.write_bytes(r.content)
    monkeypatch.chdir(tmp_path)
    for regex in (r"^main\.", r"^runtime\.mallocgc$|^crypto/sha256\.block"):
        argv = ["profile", str(prof), "--list", regex, "--sample-type", "cpu", "--unit", "ns"]
        assert main(argv) in (0, 2)
        out, err = capsys.readouterr()
        go = subprocess.run(
            ["go", "tool", "pprof", "-list", regex, "-unit=ns", "-sample_index=cpu", str(prof)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        # 200 req/s with 2 ms of hashing each: package main is always in the profile
        assert go.returncode == 0 or not regex.startswith("^main")
        if go.returncode != 0:  # nothing sampled there in this second: both say so
            assert "no matches found" in go.stderr and err.startswith("warroom: --list: no")
            continue
        assert out == go.stdout
        if regex.startswith("^main"):
            assert f"in {GOSVC}/" in out and "Error:" not in out  # our own sources, read
