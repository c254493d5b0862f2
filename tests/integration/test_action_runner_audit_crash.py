"""The audit log survives kill -9 mid-write: every complete line parses, at most the last is torn."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tui.core.actions.audit import append_record, make_record, read_audit

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "tests" / "data" / "actions" / "audit_writer.py"


def test_kill_9_mid_write_leaves_no_corrupt_line(tmp_path):
    """A kill can tear the line being written (a write of a few KB is cut between pages): at
    most that last line, which the next writer mends into an `interrupted` record. No line is
    ever unreadable once a writer has been back, and no complete record is lost."""
    path = tmp_path / "audit.jsonl"
    torn = 0  # kills that tore a line
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(path)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.15 + 0.05 * round_)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        log = read_audit(path)
        assert log.bad_lines == [], f"round {round_}: corrupt lines {log.bad_lines}"
        torn += log.torn_last_line
        assert len(log.records) > 0
        # every record is whole: its sequence counts up with no gaps within one writer run
        seqs = [r["seq"] for r in log.records if r["event"] != "interrupted"]
        assert all(b == a + 1 or b == 0 for a, b in itertools.pairwise(seqs))
    # after the kills, a normal append still produces a readable line at the end
    append_record(path, make_record("finished", service="s", action="a", target={}, final=True))
    log = read_audit(path)
    assert log.records[-1]["final"] is True and not log.torn_last_line
    assert log.bad_lines == []
    assert sum(r["event"] == "interrupted" for r in log.records) == torn
    raw = path.read_bytes().split(b"\n")
    assert raw[-1] == b"" and all(json.loads(x) for x in raw[:-1] if x)
