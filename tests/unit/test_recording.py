"""Recordings: gzip, bounded size, readable after a crash, clear errors for bad files."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tui.core.recording import RecordingWriter, read_recording
from tui.errors import UserError


def _points(n: int, t0: float = 1000.0) -> list[dict[str, Any]]:
    return [
        {"t": t0 + i, "type": "point", "service": "api", "signal": "p99", "value": 0.1 + i}
        for i in range(n)
    ]


@pytest.mark.parametrize("name", ["rec.jsonl", "rec.jsonl.gz"])
def test_round_trip_plain_and_gzip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with RecordingWriter(path) as w:
        w.write(_points(5))
        w.write(_points(5, t0=2000))
    rec = read_recording(path)
    assert [e["t"] for e in rec.events] == [*range(1000, 1005), *range(2000, 2005)]
    assert rec.problem is None
    assert rec.start == 1000 and rec.end == 2004
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_timeline_queries(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with RecordingWriter(path) as w:
        w.write(_points(10))
    rec = read_recording(path)
    assert [e["t"] for e in rec.between(1002, 1005)] == [1003, 1004, 1005]
    assert len(rec.until(1004.5)) == 5


def test_size_bound_marks_truncation_and_counts_dropped(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    w = RecordingWriter(path, max_bytes=2000)
    for i in range(100):
        w.write(_points(5, t0=1000 + 10 * i))
    w.close()
    assert path.stat().st_size <= 2000
    rec = read_recording(path)
    assert rec.events[-1]["type"] == "truncated"
    assert w.dropped > 0 and w.written + w.dropped == 500


def test_killed_gzip_writer_leaves_every_flushed_batch_readable(tmp_path: Path) -> None:
    path = tmp_path / "crash.jsonl.gz"
    script = (
        "import sys, time\n"
        "from tui.core.recording import RecordingWriter\n"
        "w = RecordingWriter(sys.argv[1])\n"
        "i = 0\n"
        "while True:\n"
        "    w.write([{'t': 1000.0 + i, 'type': 'point', 'service': 's', 'signal': 'p99',"
        " 'value': float(i)}])\n"
        "    i += 1\n"
        "    if i == 50: print('ready', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rec = read_recording(path)
    values = [e["value"] for e in rec.events]
    assert len(values) >= 50
    assert values == [float(i) for i in range(len(values))]  # a prefix, nothing garbled
    assert rec.problem and "stopped" in rec.problem


def test_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in _points(3)) + '{"t": 1003, "ty')
    rec = read_recording(path)
    assert len(rec.events) == 3
    assert rec.problem == "line 4: torn last line skipped"


POINT = b'{"t": 1, "type": "point", "service": "api", "signal": "p99", "value": 0.1}\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (POINT + b"not json\n" + POINT, r"r\.jsonl:2: not a recording event"),
        (
            POINT + b'{"t": 2, "type": "point", "service": "api", "value": 1}\n',
            r"r\.jsonl:2: .*point event needs 'service' and 'signal'",
        ),
        (
            b'{"t": 2, "type": "point", "service": "api", "signal": "p99", "value": "1"}\n',
            r"r\.jsonl:1: .*numeric 'value'",
        ),
        (
            b'{"t": 2, "type": "spike", "service": "api", "state": "GLITCH", "value": 1}\n',
            r"r\.jsonl:1: .*spike event needs .* 'baseline'",
        ),
        (b'{"type": "point"}\n', r"r\.jsonl:1: .*numeric 't'"),
        (b'{"t": 1}\n', r"r\.jsonl:1: .*string 'type'"),
        (
            POINT + b'{"t": 2, "type": "alerts", "alerts": {}}\n',
            r"r\.jsonl:2: .*alerts event needs 'alerts': a list",
        ),
        (b'{"t": 2, "type": "alerts", "alerts": [{"labels": "x"}]}\n', r"r\.jsonl:1: .*'labels'"),
        (b'{"t": 2, "type": "action", "record": "rollback"}\n', r"r\.jsonl:1: .*audit log record"),
        (b"", "holds no events"),
        (b"\x1f\x8b\x08\x00garbage-after-a-gzip-magic", "not a readable gzip recording"),
    ],
)
def test_bad_recordings_name_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_recording(path)


def test_missing_recording(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such recording"):
        read_recording(tmp_path / "nope.jsonl")


def test_gzip_written_by_another_tool_reads(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(json.dumps(e).encode() + b"\n" for e in _points(4))))
    assert len(read_recording(path).events) == 4


def test_appending_sessions_to_a_gzip_recording(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    with RecordingWriter(path) as w:
        w.write(_points(3))
    with RecordingWriter(path) as w:
        w.write(_points(3, t0=2000))
    rec = read_recording(path)
    assert [e["t"] for e in rec.events] == [1000, 1001, 1002, 2000, 2001, 2002]
    assert rec.problem is None


def test_unwritable_recording_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl.gz").mkdir()
    with pytest.raises(UserError, match="cannot open for writing"):
        RecordingWriter(tmp_path / "dir.jsonl.gz")


def _p99_series() -> list[float]:
    """Steady, a one-point glitch, a level shift that sustains, then a return to normal."""
    out = []
    for i in range(120):
        base = 0.100 * (1 + 0.02 * ((i * 7) % 5))
        if i == 30:
            base *= 3  # glitch
        if 60 <= i < 85:
            base *= 4  # sustained shift, then recovery
        out.append(base)
    return out


def test_replayed_states_follow_the_live_tracker() -> None:
    """The state column a replay rebuilds from spike lines is the live detector's, point by
    point: the tracker runs on the series, its lines feed ReplayedStates in record order."""
    from tui.config import DetectorConfig
    from tui.core.recording import ReplayedStates
    from tui.core.stats.spikes import OK, WARMING_UP, SpikeTracker

    tracker, replayed = SpikeTracker(DetectorConfig()), ReplayedStates()
    seen = set()
    for i, value in enumerate(_p99_series()):
        t = 1000.0 + i
        lines = [{"t": t, "type": "point", "service": "api", "signal": "p99", "value": value}]
        ev = tracker.observe("api", t, value)
        if ev is not None:
            lines.append(ev.to_record())
        for line in lines:
            replayed.apply(line)
        live = tracker.states()["api"]
        seen.add(live)
        if live != WARMING_UP:
            assert replayed.states().get("api", OK) == live, f"point {i}"
    assert {"GLITCH", "SUSTAINED", "RECOVERED", "OK"} <= seen
    replayed.reset()
    assert replayed.states() == {}


def test_replayed_states_keep_sustained_through_a_glitch_line() -> None:
    from tui.core.recording import ReplayedStates

    r = ReplayedStates()
    for state in ("SUSTAINED", "GLITCH"):
        r.apply({"t": 1.0, "type": "spike", "service": "api", "state": state})
    for i in range(10):  # quiet points never end a SUSTAINED: only RECOVERED does
        r.apply({"t": 2.0 + i, "type": "point", "service": "api", "signal": "p99", "value": 0.1})
    assert r.states() == {"api": "SUSTAINED"}
