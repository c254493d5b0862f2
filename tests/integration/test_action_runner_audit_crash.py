"""The audit log survives kill -9 mid-write: every complete line parses, at most the last is torn."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import fuzz_cases
from tests.crash import kill_during, report_trials
from tui.core.actions.audit import append_record, make_record, parse_lines, read_audit

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "tests" / "data" / "actions" / "audit_writer.py"


def test_kill_9_mid_write_leaves_no_corrupt_line(tmp_path: Path) -> None:
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


@pytest.mark.fuzz
def test_kill_9_at_random_points_of_appends_loses_no_record(tmp_path: Path) -> None:
    """Repeated trials (50 in make test, 1,000 in make fuzz): a writer killed anywhere in an
    append; after each, every acknowledged record reads back and no line is unreadable; at the
    end the real `warroom audit` prints every record."""
    path = tmp_path / "audit.jsonl"
    rng = random.Random(9)
    trials = fuzz_cases(50, 1000)

    def write(i: int) -> str:
        size = rng.choice([1, 50, 400, 3000])  # records from one line to a few pages
        rec = make_record(
            "finished",
            service="checkout",
            action="rollback",
            target={"kind": "exec"},
            who="kill9@test",
            status="ok",
            output_tail=["x" * size] * 3,
            seq=i,
        )
        append_record(path, rec)
        return str(i)

    acked: set[int] = set()
    seqs: set[int] = set()
    lost = torn = 0
    done = 0  # end of the last complete line before this trial: what came before is checked
    for trial in range(trials):
        new = {int(a) for a in kill_during(write, rng, first=trial * 1_000_000)}
        acked |= new
        data = path.read_bytes()
        # the trial's lines, parsed as read_audit parses the file (the whole file every 100)
        log = parse_lines(data[done:]) if trial % 100 else read_audit(path)
        assert log.bad_lines == [], f"trial {trial}: unreadable lines {log.bad_lines}"
        seqs |= {r["seq"] for r in log.records if "seq" in r}
        lost += len(acked - seqs)
        torn += log.torn_last_line
        assert acked <= seqs, f"trial {trial}: lost records {sorted(acked - seqs)[:5]}"
        done = data.rfind(b"\n") + 1
    report_trials("audit append", trials, len(acked), lost, torn)
    out = subprocess.run(
        [sys.executable, "-m", "tui.cli", "audit", "--file", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    printed = [json.loads(line) for line in out.stdout.splitlines()]
    assert acked <= {r["seq"] for r in printed if "seq" in r}
    assert len(printed) == len(read_audit(path).records)
    assert "Traceback" not in out.stderr
