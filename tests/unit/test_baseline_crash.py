"""A baseline writer killed with SIGKILL mid-write loses nothing and leaves no partial file."""

from __future__ import annotations

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
from tui.core.baseline import BaselineStore, build_snapshot

ROOT = Path(__file__).resolve().parents[2]

WRITER = r"""
import sys
from tui.core.baseline import BaselineStore, build_snapshot
store = BaselineStore(sys.argv[1])
bench = sys.argv[2]
i = 0
while True:
    i += 1
    s = build_snapshot("api", {"p99": [0.001 * (k % 997) for k in range(60000)],
                               "qps": [float(i)] * 60000},
                       step=1, version=f"v{i}", taken_by="killer-test", bench=bench)
    sid = store.save(s)
    print(sid, flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.037])
def test_sigkill_mid_write_loses_nothing(tmp_path: Path, delay: float) -> None:
    bench = tmp_path / "bench.txt"
    bench.write_text("BenchmarkA 1 1 ns/op\n" * 20000)
    store_dir = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store_dir), str(bench)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    acked: list[str] = []
    deadline = time.monotonic() + 60
    while len(acked) < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked.append(line.strip())
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    acked += [x.strip() for x in proc.stdout.read().splitlines() if x.strip()]
    assert len(acked) >= 3, "writer never got going"

    store = BaselineStore(store_dir)
    for sid in acked:  # every save that returned is there, whole
        snap = store.load("api", sid)
        assert len(snap.signals["p99"]) == 60000
        assert snap.bench is not None and Path(snap.bench).stat().st_size == bench.stat().st_size
    cur = store.current("api")
    assert cur is not None and cur.id in {*acked, *store._ids("api")}
    visible = [p for p in (store_dir / "api" / "snapshots").iterdir() if not p.name.startswith(".")]
    for p in visible:  # no partial file under a real name: each one parses
        json.loads(p.read_bytes())
    assert json.loads((store_dir / "api" / "current.json").read_text())["id"] == cur.id
    assert store.problems == []


@pytest.mark.fuzz
def test_sigkill_at_random_points_of_saves_keeps_the_store_loadable(tmp_path: Path) -> None:
    """Repeated trials (50 in make test, 1,000 in make fuzz), all on one store: a saver killed
    anywhere in a save (bench copy, snapshot write, pointer switch). After each, every
    acknowledged save loads whole, `current` loads, no file under a real name is partial,
    and the store reports no problem."""
    bench = tmp_path / "bench.txt"
    bench.write_text("BenchmarkA 1 1 ns/op\n" * 2000)
    store_dir = tmp_path / "store"
    rng = random.Random(7)
    trials = fuzz_cases(50, 1000)
    writer = BaselineStore(store_dir)

    def save(i: int) -> str:
        n = rng.choice([10, 300, 3000])
        snap = build_snapshot(
            "api",
            {"p99": [0.001 * (k % 997) for k in range(n)], "qps": [float(i)] * n},
            step=1,
            version=f"v{i}",
            taken_by="kill9-test",
            bench=str(bench),
        )
        return f"{writer.save(snap)} {n}"

    snapshots = store_dir / "api" / "snapshots"
    seen: set[str] = set()
    acked = 0
    for trial in range(trials):
        acks = kill_during(save, rng, first=trial * 1_000_000)
        acked += len(acks)
        store = BaselineStore(store_dir)
        for ack in acks:  # every save that returned is there, whole
            sid, n = ack.split()
            snap = store.load("api", sid)
            assert len(snap.signals["p99"]) == int(n)
            assert snap.bench is not None
            assert Path(snap.bench).stat().st_size == bench.stat().st_size
        cur = store.current("api")
        assert cur is not None
        names = {p.name for p in snapshots.iterdir() if not p.name.startswith(".")}
        for name in names - seen:  # no partial file under a real name: each new one parses
            json.loads((snapshots / name).read_bytes())
        seen = names
        assert json.loads((store_dir / "api" / "current.json").read_text())["id"] == cur.id
        assert store.problems == [], f"trial {trial}: {store.problems}"
    report_trials("baseline save", trials, acked, 0, 0)
