"""`warroom audit`: text and json output, --since, a torn line warned about, bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tui.cli import main
from tui.core.actions.audit import Event, append_record, make_record


def _fill(path: Path) -> None:
    now = time.time()
    events: tuple[tuple[int, Event], ...] = ((7200, "started"), (600, "refused"), (60, "finished"))
    for age, ev in events:
        append_record(
            path,
            make_record(
                ev,
                service="checkout",
                action="rollback",
                who="alice@host",
                ts=now - age,
                target={"kind": "exec", "argv": ["helm", "rollback", "checkout"]},
                age=age,
            ),
        )


def test_text_and_since(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "a.jsonl"
    _fill(p)
    assert main(["audit", "--file", str(p), "--since", "1h"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert "refused" in out[0] and "alice@host" in out[0] and "helm rollback checkout" in out[0]
    assert "finished" in out[1]


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "a.jsonl"
    _fill(p)
    assert main(["audit", "--file", str(p), "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["age"] for r in rows] == [7200, 600, 60]


def test_path_from_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "from-config.jsonl"
    _fill(p)
    cfg = tmp_path / "w.yaml"
    cfg.write_text(f"audit:\n  path: {p}\n")
    assert main(["audit", "-c", str(cfg), "--format", "json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_torn_last_line_warns_but_prints_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "a.jsonl"
    _fill(p)
    with p.open("ab") as fh:
        fh.write(b'{"event": "sta')
    assert main(["audit", "--file", str(p)]) == 0
    cap = capsys.readouterr()
    assert len(cap.out.splitlines()) == 3
    assert "last line is incomplete" in cap.err


def test_bad_since_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--file", str(tmp_path / "a.jsonl"), "--since", "soon"]) == 2
    assert "warroom: --since 'soon'" in capsys.readouterr().err
    assert main(["audit", "--file", str(tmp_path / "none.jsonl")]) == 0
    assert "no audit log at" in capsys.readouterr().err
    assert main(["audit", "--file", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
