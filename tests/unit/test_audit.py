"""Audit log: records, append-only fsynced lines, --since, torn and corrupt lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tui.core.actions.audit import (
    Event,
    append_record,
    format_text,
    make_record,
    parse_since,
    read_audit,
)
from tui.errors import UserError

NOW = 1_800_000_000.0


def _rec(event: Event = "finished", ts: float = NOW, **kw: Any) -> dict[str, Any]:
    return make_record(
        event,
        service="checkout",
        action="rollback",
        target={"kind": "exec", "argv": ["kubectl", "rollout", "undo", "deployment/checkout"]},
        who="alice@host",
        ts=ts,
        **kw,
    )


def test_record_fields() -> None:
    r = _rec(
        status="ok",
        exit=0,
        duration_s=1.5,
        output_tail=["a"],
        baseline_versions={"running": "v2", "baseline": "v1"},
        reason=None,
    )
    assert r["time"] == "2027-01-15T08:00:00.000Z"
    assert r["event"] == "finished" and r["user"] == "alice@host"
    assert r["argv"][0] == "kubectl" and "reason" not in r
    with pytest.raises(ValueError):
        make_record("exploded", service="s", action="a", target={})  # type: ignore[arg-type]


def test_append_and_read_back_in_order(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "audit.jsonl"
    for i in range(3):
        append_record(p, _rec(ts=NOW + i, seq=i))
    log = read_audit(p)
    assert [r["seq"] for r in log.records] == [0, 1, 2]
    assert not log.torn_last_line and log.bad_lines == []
    assert p.read_bytes().count(b"\n") == 3
    assert oct(p.stat().st_mode & 0o777) == "0o600"


def test_since_filter(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    for age in (7200, 1800, 60):
        append_record(p, _rec(ts=NOW - age, age=age))
    since = parse_since("1h", now=NOW)
    assert [r["age"] for r in read_audit(p, since).records] == [1800, 60]
    assert parse_since("2027-01-15T07:00:00Z") == NOW - 3600
    assert parse_since("2027-01-15T07:00:00") == NOW - 3600  # naive = UTC


def test_bad_since_is_a_user_error() -> None:
    with pytest.raises(UserError, match="--since 'yesterday-ish'"):
        parse_since("yesterday-ish")


def test_torn_last_line_skipped_and_reported(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    append_record(p, _rec(seq=1))
    with p.open("ab") as fh:
        fh.write(b'{"event":"finished","ts":1,"serv')
    log = read_audit(p)
    assert [r["seq"] for r in log.records] == [1]
    assert log.torn_last_line
    assert "last line is incomplete" in log.warnings(str(p))[0]


def test_append_after_torn_line_mends_it_into_an_interrupted_record(tmp_path: Path) -> None:
    """The torn bytes of a killed writer become an `interrupted` record holding them: the
    log has no unreadable line, and what was written is not dropped."""
    p = tmp_path / "a.jsonl"
    append_record(p, _rec(seq=1))
    with p.open("ab") as fh:
        fh.write(b'{"torn half of a record \xff')
    append_record(p, _rec(seq=2))
    log = read_audit(p)
    assert [r.get("seq") for r in log.records] == [1, None, 2]
    note = log.records[1]
    assert note["event"] == "interrupted" and note["fragment"] == '{"torn half of a record \ufffd'
    assert log.bad_lines == [] and not log.torn_last_line and log.warnings("a") == []
    assert "interrupted" in format_text(note)


def test_a_torn_file_with_no_newline_at_all_is_mended(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"ts": 1, "ev')
    append_record(p, _rec(seq=1))
    lines = p.read_bytes().split(b"\n")
    assert len(lines) == 3 and lines[-1] == b""
    log = read_audit(p)
    assert [r["event"] for r in log.records] == ["interrupted", "finished"]


def test_garbage_lines_do_not_stop_reading(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(
        b'not json\n[1,2]\n{"no_ts": 1}\n\xff\xfe\n' + json.dumps(_rec(seq=9)).encode() + b"\n"
    )
    log = read_audit(p)
    assert [r["seq"] for r in log.records] == [9]
    assert log.bad_lines == [1, 2, 3, 4]


def test_missing_file_is_empty_and_directory_is_an_error(tmp_path: Path) -> None:
    assert read_audit(tmp_path / "nope.jsonl").records == []
    with pytest.raises(UserError, match="is a directory"):
        read_audit(tmp_path)
    with pytest.raises(UserError, match="is a directory"):
        append_record(tmp_path, _rec())


def test_format_text() -> None:
    line = format_text(
        _rec(status="failed", exit=3, duration_s=2.25, baseline_versions={"running": "v2"})
    )
    assert line == (
        "2027-01-15T08:00:00.000Z  alice@host  finished   rollback  checkout  "
        "exit=3 failed 2.25s baselines: running=v2  kubectl rollout undo deployment/checkout"
    )
    refused = format_text(
        make_record(
            "refused",
            service="s",
            action="rollback",
            target={"kind": "http", "method": "POST", "url": "https://h/x"},
            who="u@h",
            ts=NOW,
            reason="unsafe value",
        )
    )
    assert (
        "refused" in refused and "reason: unsafe value" in refused and "POST https://h/x" in refused
    )
