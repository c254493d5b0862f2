"""Baseline store: save/load/current/history/restore, copies, corrupt files, bad names."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tui.core.baseline import (
    BaselineStore,
    Snapshot,
    build_snapshot,
    signals_from_record,
    signals_from_store,
)
from tui.core.metrics.store import MetricStore
from tui.errors import UserError


def snap(service: str = "api", version: str = "v1", t: float = 1000.0, **kw: Any) -> Snapshot:
    return build_snapshot(
        service,
        {"p99": [0.2, 0.21, math.nan, 0.19], "qps": [100, 110]},
        step=5,
        version=version,
        taken_by="tester",
        taken_at=t,
        **kw,
    )


def test_save_load_current_history_restore(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    assert store.current("api") is None and store.history("api") == []
    a = store.save(snap(t=1000))
    b = store.save(snap(version="v2", t=2000))
    cur = store.current("api")
    assert cur is not None and cur.id == b and cur.version == "v2"
    got = store.load("api", a)
    assert got.signals["p99"][:2] == [0.2, 0.21] and math.isnan(got.signals["p99"][2])
    assert (got.taken_by, got.step, got.taken_at) == ("tester", 5.0, 1000.0)
    hist = store.history("api")
    assert [h.id for h in hist] == [b, a]
    assert [h.current for h in hist] == [True, False]
    assert hist[0].signals == {"p99": 3, "qps": 2}  # gaps are not samples
    store.restore("api", a)
    cur = store.current("api")
    assert cur is not None and cur.id == a
    assert [h.id for h in store.history("api")] == [b, a]  # history is kept
    assert store.services() == ["api"]
    assert store.problems == []


def test_files_are_copied_in(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "bench.txt").write_text("BenchmarkA 1 1 ns/op\n")
    (src / "cpu.pb.gz").write_bytes(b"\x1f\x8bprofile")
    store = BaselineStore(tmp_path / "store")
    s = snap(bench=str(src / "bench.txt"), profile_files=[str(src / "cpu.pb.gz")])
    sid = store.save(s)
    (src / "bench.txt").unlink()  # the baseline keeps its own copy
    got = store.load("api", sid)
    assert got.bench is not None and Path(got.bench).read_text() == "BenchmarkA 1 1 ns/op\n"
    assert Path(got.profile_files[0]).read_bytes() == b"\x1f\x8bprofile"
    assert str(tmp_path / "store") in got.bench
    with pytest.raises(UserError, match="no such file to copy"):
        store.save(snap(bench=str(src / "gone.txt")))


def test_corrupt_snapshot_reported_skipped_never_overwritten(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    a = store.save(snap(t=1000))
    b = store.save(snap(t=2000))
    bad = tmp_path / "api" / "snapshots" / f"{b}.json"
    bad.write_bytes(b'{"format": "warroom-baseline/1", "id": tru')
    fresh = BaselineStore(tmp_path)
    cur = fresh.current("api")
    assert cur is not None and cur.id == a  # falls back to the newest readable one
    assert any("corrupt baseline snapshot" in p and str(bad) in p for p in fresh.problems)
    assert [h.id for h in fresh.history("api")] == [a]
    c = fresh.save(snap(t=3000))
    assert bad.read_bytes() == b'{"format": "warroom-baseline/1", "id": tru'  # untouched
    cur = fresh.current("api")
    assert cur is not None and cur.id == c
    with pytest.raises(UserError, match="no usable baseline"):
        fresh.restore("api", b)


def test_wrong_types_are_corrupt(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    a = store.save(snap())
    path = tmp_path / "api" / "snapshots" / f"{a}.json"
    doc = json.loads(path.read_text())
    doc["signals"]["p99"] = ["fast"]
    path.write_text(json.dumps(doc))
    fresh = BaselineStore(tmp_path)
    assert fresh.current("api") is None
    assert any("signals.p99" in p for p in fresh.problems)


def test_corrupt_pointer_falls_back_and_is_kept_aside(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    a = store.save(snap(t=1000))
    pointer = tmp_path / "api" / "current.json"
    pointer.write_text("garbage")
    fresh = BaselineStore(tmp_path)
    cur = fresh.current("api")
    assert cur is not None and cur.id == a
    assert any("corrupt current pointer" in p for p in fresh.problems)
    b = fresh.save(snap(t=2000))
    kept = list((tmp_path / "api").glob("current.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == "garbage"
    assert json.loads(pointer.read_text()) == {"id": b}


def test_bad_names_refused(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    for name in ("../etc", "a/b", "", ".hidden", "x" * 200):
        with pytest.raises(UserError):
            store.save(snap(service=name))
    with pytest.raises(UserError):
        store.load("api", "../../x")


def test_build_snapshot_needs_samples() -> None:
    with pytest.raises(UserError, match="no samples"):
        build_snapshot("api", {"p99": [math.nan]}, step=5, source="record r.jsonl")


def test_signals_from_record_and_store() -> None:
    events = [
        {"t": 100 + 5 * i, "type": "point", "service": s, "signal": "p99", "value": i}
        for i in range(10)
        for s in ("api", "db")
    ]
    events.append({"t": 200, "type": "spike", "service": "api"})
    sig, step, start, end = signals_from_record(events, "api", window=20)
    assert sig == {"p99": [5.0, 6.0, 7.0, 8.0, 9.0]} and step == 5 and (start, end) == (125, 145)
    assert signals_from_record(events, "nope")[0] == {}
    ms = MetricStore()
    for i in range(10):
        ms.add("api", "p99", 100 + 5 * i, float(i))
    sig, step = signals_from_store(ms, "api", 120, 135)
    assert sig == {"p99": [4.0, 5.0, 6.0, 7.0]} and step == 5
