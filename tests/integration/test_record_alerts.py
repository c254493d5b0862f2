"""`warroom record` with a real Alertmanager and a real audit log: alerts lines when the set
changes and action lines for audit records, replayed into the alerts and actions panes as they
were, once each however one scrubs."""

from __future__ import annotations

import itertools
import json
import operator
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Log

from tests.conftest import ROOT
from tests.integration.test_alertmanager import alert, post_alerts, run_alertmanager
from tests.servers import free_port
from tests.ui.dashboard_data import delivered
from tui.config import parse_config
from tui.core.actions.audit import append_record, make_record
from tui.core.recording import read_recording
from tui.sources.alertmanager import AlertmanagerSource
from tui.sources.replay import alert_record
from tui.ui.replay import ReplayApp, action_line

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def am_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_alertmanager(tmp_path_factory.mktemp("am-record")) as url:
        yield url


def _config(am_url: str, run: str) -> str:
    return f"""
otlp: {{http: "127.0.0.1:{free_port()}", grpc: ""}}
refresh: 1s
alertmanager:
  url: "{am_url}"
  refresh: 1s
  filters: ['run="{run}"']
services:
  - name: checkout
"""


def _alerts_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [e for e in lines if e["type"] == "alerts"]


def _names(line: dict[str, Any]) -> set[str]:
    return {a["labels"]["alertname"] for a in line["alerts"]}


async def test_record_alerts_and_replay_them(am_url: str, tmp_path: Path) -> None:
    run = f"rec-{os.getpid()}-{time.time_ns()}"
    cfg_text = _config(am_url, run)
    (tmp_path / "w.yaml").write_text(cfg_text)
    out = tmp_path / "rec.jsonl"
    now = time.time()
    post_alerts(
        am_url, [alert("HighLatency", "checkout", "page", "p99 over SLO", now - 60, run=run)]
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "record",
            "-c",
            str(tmp_path / "w.yaml"),
            "--duration",
            "5s",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not _alerts_lines(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        post_alerts(
            am_url, [alert("ErrorBurst", "search", "warning", "5xx burst", now - 5, run=run)]
        )
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "at the end" not in err.decode()

    lines = _alerts_lines(out)
    sets = [_names(e) for e in lines]
    changes = [s for i, s in enumerate(sets) if i == 0 or s != sets[i - 1]]
    assert changes == [{"HighLatency"}, {"HighLatency", "ErrorBurst"}]
    assert all(a["alerts"] != b["alerts"] for a, b in itertools.pairwise(lines)), (
        "an alerts line repeats the set before it"
    )

    # what Alertmanager serves now is what the last line holds
    cfg = parse_config(cfg_text)
    assert cfg.alertmanager is not None
    source = AlertmanagerSource(cfg.alertmanager)
    try:
        served = await source.fetch_alerts()
    finally:
        await source.stop()
    key = operator.itemgetter("fingerprint")
    assert sorted(map(alert_record, served), key=key) == sorted(lines[-1]["alerts"], key=key)

    recording = read_recording(out)
    app = ReplayApp(parse_config(cfg_text), recording)
    assert app.cfg.alertmanager is None  # a replay asks no Alertmanager anything
    first_both = next(e["t"] for e in lines if len(e["alerts"]) == 2)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(100):
            if app.panes_ready and app.driver.event_sink is not None:
                break
            await pilot.pause(0.02)
        app.driver.paused = True
        app.dashboard.query_one("#detail").active = "tab-alerts"  # type: ignore[attr-defined]
        pane = app.dashboard.pane("tab-alerts")
        assert pane is not None
        for t in (recording.end, lines[0]["t"], recording.end, first_both - 0.001, first_both):
            app.driver.seek(t)
            await delivered(app)  # its events reach the app as messages
            await pilot.pause()
            app.redraw_now()
            await pilot.pause()
            names = sorted(a.name for a in pane.rows)
            want = sorted(["HighLatency", "ErrorBurst"] if t >= first_both else ["HighLatency"])
            assert names == want, t
        assert sorted(map(alert_record, app.alerts), key=key) == sorted(
            map(alert_record, served), key=key
        )
        assert pane.table.row_count == 2


async def test_record_audit_lines_and_list_them_in_replay(tmp_path: Path) -> None:
    """Audit lines appended while recording (one of them written in two pieces, as a slow
    writer would) become action lines; older ones do not; replay lists each once."""
    audit = tmp_path / "audit.jsonl"
    target = {"kind": "exec", "argv": ["kubectl", "rollout", "undo", "deployment/checkout"]}
    append_record(
        audit,
        make_record(
            "finished",
            service="checkout",
            action="rollback",
            target=target,
            who="old@host",
            status="ok",
        ),
    )
    cfg = tmp_path / "w.yaml"
    cfg.write_text(f"""
otlp: {{http: "127.0.0.1:{free_port()}", grpc: ""}}
refresh: 1s
audit: {{path: "{audit}"}}
services:
  - name: checkout
""")
    out = tmp_path / "rec.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "record",
            "-c",
            str(cfg),
            "--duration",
            "5s",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # the recorder has started (its output exists: the audit log's end is taken before),
        # however slow the machine; then a few of its refreshes pass
        deadline = time.monotonic() + 30
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)
        started = make_record(
            "started",
            service="checkout",
            action="rollback",
            target=target,
            who="alice@host",
            status="running",
        )
        append_record(audit, started)
        finished = make_record(
            "finished",
            service="checkout",
            action="rollback",
            target=target,
            who="alice@host",
            status="ok",
            exit_code=0,
            ts=started["ts"] + 1.0,  # a second later: the replay steps between them apart
        )
        text = (json.dumps(finished) + "\n").encode()
        with audit.open("ab") as fh:  # half a line, a refresh or two, then the rest
            fh.write(text[:20])
            fh.flush()
            time.sleep(1.5)
            fh.write(text[20:])
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()

    recording = read_recording(out)
    actions = [e for e in recording.events if e["type"] == "action"]
    assert [e["record"] for e in actions] == [started, finished]
    assert [e["t"] for e in actions] == [started["ts"], finished["ts"]]

    app = ReplayApp(parse_config(cfg.read_text()), recording)
    want = [action_line(started), action_line(finished)]
    assert "alice@host rollback checkout finished (ok)" in want[1]
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(100):
            if app.panes_ready and app.driver.event_sink is not None:
                break
            await pilot.pause(0.02)
        app.driver.paused = True
        log = app.dashboard.query_one("#action-output", Log)
        # the recording starts at the first action (no service pushed any metrics)
        for t, n in (
            (recording.end, 2),
            (recording.start, 1),
            (recording.end, 2),
            (finished["ts"] - 0.01, 1),
            (recording.end, 2),
        ):
            app.driver.seek(t)
            await delivered(app)  # its events reach the app as messages
            await pilot.pause()
            assert app.replayed_actions == want[:n], t
            assert list(log.lines) == want[:n], t
        assert app.runner is None  # nothing was run: replay has no actions to run
