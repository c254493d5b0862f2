"""`warroom record` into a .gz recording: compressed, appendable, bounded, and replayable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_snapshot import write_config
from tui.cli import main
from tui.core.recording import read_recording

pytestmark = pytest.mark.integration


def test_gzip_recording_appends_sessions_and_reads_back(
    prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, out = write_config(tmp_path, prometheus), tmp_path / "rec.jsonl.gz"
    assert main(["record", "-c", str(cfg), "--duration", "2s", "--out", str(out)]) == 0
    first = read_recording(out)
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert main(["record", "-c", str(cfg), "--duration", "2s", "--out", str(out)]) == 0
    both = read_recording(out)
    capsys.readouterr()
    assert both.problem is None
    assert len(both.events) > len(first.events) > 0
    assert {e["type"] for e in both.events} <= {"point", "spike"}


def test_max_size_bounds_the_recording(
    prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, out = write_config(tmp_path, prometheus), tmp_path / "rec.jsonl"
    assert (
        main(["record", "-c", str(cfg), "--duration", "3s", "--out", str(out), "--max-size", "600"])
        == 0
    )
    err = capsys.readouterr().err
    assert out.stat().st_size <= 600
    rec = read_recording(out)
    assert rec.events[-1]["type"] == "truncated"
    assert "--max-size reached" in err


def test_bad_max_size_is_one_line(
    tmp_path: Path, prometheus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, prometheus)
    assert (
        main(["record", "-c", str(cfg), "--out", str(tmp_path / "r.jsonl"), "--max-size", "lots"])
        == 2
    )
    assert capsys.readouterr().err.startswith("warroom: --max-size: 'lots' is not a size")
