"""ActionRunner against real processes and a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tui.config import Config, parse_config
from tui.core.actions import resolve_action
from tui.core.actions.audit import read_audit
from tui.sources.actions import ActionOutput, ActionRunner

DATA = Path(__file__).resolve().parents[1] / "data" / "actions"


def _cfg(actions_yaml: str) -> Config:
    return parse_config(
        "actions:\n" + actions_yaml + "services:\n  - name: checkout\n    namespace: shop\n"
    )


def _alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie (a zombie is dead, just not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _dies(pid: int, timeout: float = 5.0) -> bool:
    """True once `pid` is gone: SIGKILL is delivered asynchronously, so a member of a killed
    group may still be running for a moment after the runner returns."""
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Collector:
    def __init__(self) -> None:
        self.lines: list[ActionOutput] = []

    def __call__(self, out: ActionOutput) -> None:
        self.lines.append(out)

    def texts(self, stream: str | None = None) -> list[str]:
        return [o.text for o in self.lines if stream is None or o.stream == stream]


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


async def test_success_streams_stdout_and_stderr(audit: Path) -> None:
    cfg = _cfg(
        f"  rollback:\n    exec: [{DATA}/chatty.sh, '0', 'deployment/{{service}}']\n    confirm: none\n"
    )
    out = Collector()
    runner = ActionRunner(audit, out, who="alice@host")
    action = resolve_action(cfg, "checkout", "rollback", baseline_version="v1")
    res = await runner.run(action)
    assert res.status == "ok" and res.exit_code == 0, res
    assert out.texts("stdout") == ["rolling back deployment/checkout", "step 2", "done"]
    assert out.texts("stderr") == ["warning: to stderr"]
    assert out.texts("info")[0].startswith("$ ") and "exit 0" in out.texts("info")[-1]
    assert res.output_tail[-1] == "done" and "[stderr] warning: to stderr" in res.output_tail
    recs = read_audit(audit).records
    assert [r["event"] for r in recs] == ["started", "finished"]
    fin = recs[1]
    assert fin["user"] == "alice@host" and fin["service"] == "checkout"
    assert fin["action"] == "rollback" and fin["exit"] == 0 and fin["status"] == "ok"
    assert fin["argv"][-1] == "deployment/checkout"
    assert fin["output_tail"][-1] == "done" and fin["duration_s"] >= 0.05
    assert fin["baseline_versions"] == {"baseline": "v1"}


async def test_nonzero_exit_is_failed(audit: Path) -> None:
    cfg = _cfg(f"  rollback:\n    exec: [{DATA}/chatty.sh, '3', x]\n")
    res = await ActionRunner(audit).run(resolve_action(cfg, "checkout", "rollback"))
    assert res.status == "failed" and res.exit_code == 3
    assert "exit 3" in res.message
    assert read_audit(audit).records[-1]["exit"] == 3


async def test_missing_program_is_an_error_not_a_crash(audit: Path) -> None:
    cfg = _cfg("  rollback:\n    exec: [/nonexistent/kubectl, rollout]\n")
    res = await ActionRunner(audit).run(resolve_action(cfg, "checkout", "rollback"))
    assert res.status == "error" and "cannot start /nonexistent/kubectl" in res.message
    assert [r["event"] for r in read_audit(audit).records] == ["started", "finished"]


async def test_timeout_kills_group_term_then_kill_no_orphans(audit: Path) -> None:
    cfg = _cfg(f"  rollback:\n    exec: [{DATA}/ignore_term.sh]\n    timeout: 0.5s\n")
    out = Collector()
    runner = ActionRunner(audit, out, grace=0.5)
    t0 = time.monotonic()
    res = await runner.run(resolve_action(cfg, "checkout", "rollback"))
    elapsed = time.monotonic() - t0
    assert res.status == "timeout", res
    assert res.exit_code == -9  # TERM was ignored: KILL after the grace period
    assert 1.0 <= elapsed < 4.0
    pids = {line.split()[0]: int(line.split()[1]) for line in out.texts("stdout")}
    assert set(pids) == {"leader", "child"}
    for pid in pids.values():
        assert _dies(pid), f"pid {pid} survived the group kill"
    assert read_audit(audit).records[-1]["status"] == "timeout"


async def test_timeout_term_is_enough_for_a_polite_process(audit: Path) -> None:
    cfg = _cfg(f"  rollback:\n    exec: [{DATA}/sleeper.sh]\n    timeout: 0.3s\n")
    out = Collector()
    t0 = time.monotonic()
    res = await ActionRunner(audit, out, grace=5).run(resolve_action(cfg, "checkout", "rollback"))
    assert res.status == "timeout" and res.exit_code == -15
    assert time.monotonic() - t0 < 3
    for line in out.texts("stdout"):
        assert _dies(int(line.split()[1]))


async def test_second_run_while_running_is_refused(audit: Path) -> None:
    cfg = _cfg(f"  rollback:\n    exec: [{DATA}/sleeper.sh]\n    timeout: 0.5s\n")
    runner = ActionRunner(audit, grace=0.2)
    action = resolve_action(cfg, "checkout", "rollback")
    first = asyncio.create_task(runner.run(action))
    await asyncio.sleep(0)
    assert runner.is_running("rollback", "checkout")
    second = await runner.run(action)
    assert second.status == "busy" and "already running" in second.message
    assert (await first).status == "timeout"
    events = [r["event"] for r in read_audit(audit).records]
    assert events == ["started", "refused", "finished"]
    # another service's rollback is independent
    other = resolve_action(cfg, "payments", "rollback")
    assert not runner.is_running("rollback", "payments") and other.service == "payments"


async def test_operator_stop_cancels_the_group(audit: Path) -> None:
    cfg = _cfg(f"  rollback:\n    exec: [{DATA}/sleeper.sh]\n")
    out = Collector()
    runner = ActionRunner(audit, out, grace=0.5)
    task = asyncio.create_task(runner.run(resolve_action(cfg, "checkout", "rollback")))
    for _ in range(100):
        if len(out.texts("stdout")) == 2:
            break
        await asyncio.sleep(0.02)
    assert await runner.stop("rollback", "checkout")
    res = await task
    assert res.status == "cancelled"
    assert read_audit(audit).records[-1]["status"] == "cancelled"
    assert not await runner.stop("rollback", "checkout")


async def test_injection_refused_nothing_runs_and_audited(audit: Path, tmp_path: Path) -> None:
    """A discovered service is named by its series' label (OTLP service.name), and labels
    fill values the config leaves out: `a; rm -rf /` in either is refused before exec."""
    marker = tmp_path / "ran"
    cfg = _cfg(f"  rollback:\n    exec: [/usr/bin/touch, '{marker}-{{service}}-{{revision}}']\n")
    cases = [
        (
            resolve_action(cfg, "a; rm -rf /", "rollback", {"revision": "7"}),
            "unsafe value for {service}: 'a; rm -rf /'",
        ),
        (
            resolve_action(cfg, "checkout", "rollback", {"revision": "$(reboot)"}),
            "unsafe value for {revision}: '$(reboot)'",
        ),
    ]
    out = Collector()
    for action, why in cases:
        res = await ActionRunner(audit, out).run(action)
        assert res.status == "refused" and why in res.message, res.message
    assert list(tmp_path.glob("ran*")) == []
    recs = read_audit(audit).records
    assert [r["event"] for r in recs] == ["refused", "refused"]
    assert "a; rm -rf /" in recs[0]["reason"] and "$(reboot)" in recs[1]["reason"]
    assert out.texts("info")[0].startswith("refused: unsafe value")


async def test_env_additions_and_secret_scrubbed_from_output(audit: Path) -> None:
    cfg = _cfg(
        f"  rollback:\n    exec: [{DATA}/env_echo.sh, '--token=sekrit99', '{{namespace}}']\n"
        "    env: {DEPLOY_TARGET: '{service}'}\n"
    )
    out = Collector()
    res = await ActionRunner(audit, out).run(resolve_action(cfg, "checkout", "rollback"))
    assert res.ok
    assert out.texts("stdout") == ["DEPLOY_TARGET=checkout", "arg: --token=***", "arg: shop"]
    text = audit.read_text()
    assert "sekrit99" not in text and "--token=***" in text


async def test_cancel_at_dialog_is_audited(audit: Path) -> None:
    cfg = _cfg("  rollback:\n    exec: [true]\n")
    res = ActionRunner(audit).cancel(resolve_action(cfg, "checkout", "rollback"))
    assert res.status == "cancelled"
    assert read_audit(audit).records[0]["event"] == "cancelled"


# --- HTTP webhooks against a real loopback server ---------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.received.append(
            {"path": self.path, "headers": dict(self.headers), "json": json.loads(body or b"null")}
        )
        if self.path.startswith("/slow"):
            time.sleep(2)
        if self.path.startswith("/trickle"):
            self._trickle()
            return
        code = 500 if self.path.startswith("/fail") else 200
        payload = b"pipeline exploded\nsee logs" if code == 500 else b'{"pipeline": 42}'
        if self.path.startswith("/big"):
            payload = b"x" * 3_000_000
        try:
            self.send_response(code)
            if self.path.startswith("/big"):
                self.send_header("Content-Type", "text/plain; charset=no-such-charset")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the slow case: the client gave up (its timeout) before we answered

    def _trickle(self) -> None:
        """Headers at once, then one body byte every 0.2 s: each read is quick, the whole
        answer takes 3 s (httpx's per-read timeout never trips on it)."""
        try:
            self.send_response(200)
            self.send_header("Content-Length", "15")
            self.end_headers()
            for _ in range(15):
                self.wfile.write(b"x")
                self.wfile.flush()
                _Hook.trickled.append(time.monotonic())
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on the wall-clock limit

    trickled: ClassVar[list[float]] = []


@pytest.fixture(scope="module")
def hook_url() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _hook_cfg(url: str, path: str, timeout: str = "5s") -> Config:
    return _cfg(
        "  notify:\n    key: n\n    timeout: " + timeout + "\n    http:\n"
        f"      url: '{url}{path}?token=tok12345'\n"
        "      headers: {Authorization: 'Bearer abcdef99', X-Who: '{user}'}\n"
        "      json: {service: '{service}', ref: main}\n"
    )


async def test_webhook_200(audit: Path, hook_url: str) -> None:
    out = Collector()
    action = resolve_action(
        _hook_cfg(hook_url, "/trigger/{service}"), "checkout", "notify", user="bob"
    )
    res = await ActionRunner(audit, out).run(action)
    assert res.status == "ok" and res.http_status == 200
    assert res.body_excerpt == '{"pipeline": 42}'
    assert out.texts("stdout") == ["HTTP 200 OK", '{"pipeline": 42}']
    got = _Hook.received[-1]
    assert got["path"] == "/trigger/checkout?token=tok12345"
    assert got["headers"]["Authorization"] == "Bearer abcdef99" and got["headers"]["X-Who"] == "bob"
    assert got["json"] == {"service": "checkout", "ref": "main"}
    fin = read_audit(audit).records[-1]
    assert fin["http_status"] == 200 and fin["url"].endswith("/trigger/checkout?token=***")
    assert "tok12345" not in audit.read_text() and "abcdef99" not in audit.read_text()


async def test_webhook_500_shows_status_and_body(audit: Path, hook_url: str) -> None:
    action = resolve_action(_hook_cfg(hook_url, "/fail"), "checkout", "notify")
    res = await ActionRunner(audit).run(action)
    assert res.status == "failed" and res.http_status == 500
    assert "HTTP 500" in res.message
    assert res.output_tail == ["HTTP 500 Internal Server Error", "pipeline exploded", "see logs"]
    assert read_audit(audit).records[-1]["status"] == "failed"


async def test_webhook_slow_past_timeout(audit: Path, hook_url: str) -> None:
    action = resolve_action(_hook_cfg(hook_url, "/slow", "0.3s"), "checkout", "notify")
    t0 = time.monotonic()
    res = await ActionRunner(audit).run(action)
    assert res.status == "timeout" and time.monotonic() - t0 < 1.5
    assert "timed out after 0.3s" in res.message and "tok12345" not in res.message


async def test_webhook_trickling_body_hits_the_wall_clock_limit(audit: Path, hook_url: str) -> None:
    """One byte every 0.2 s against 0.5 s: httpx alone returned "ok" after 3 s."""
    _Hook.trickled.clear()
    action = resolve_action(_hook_cfg(hook_url, "/trickle", "0.5s"), "checkout", "notify")
    t0 = time.monotonic()
    res = await ActionRunner(audit).run(action)
    elapsed = time.monotonic() - t0
    assert res.status == "timeout", res
    assert 0.45 <= elapsed < 1.5, elapsed
    assert res.message.startswith("notify timed out after 0.5s") and "tok12345" not in res.message
    assert len(_Hook.trickled) >= 2  # the server was answering, byte by byte, not stalled
    fin = read_audit(audit).records[-1]
    assert fin["event"] == "finished" and fin["status"] == "timeout"
    assert fin["output_tail"] == [res.message]


async def test_webhook_connection_refused(audit: Path) -> None:
    from tests.servers import free_port

    action = resolve_action(
        _hook_cfg(f"http://127.0.0.1:{free_port()}", "/x"), "checkout", "notify"
    )
    res = await ActionRunner(audit).run(action)
    assert res.status == "error" and "ConnectError" in res.message
    assert read_audit(audit).records[-1]["status"] == "error"


async def test_unwritable_audit_log_means_the_action_does_not_run(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    marker = tmp_path / "ran"
    cfg = _cfg(f"  rollback:\n    exec: [/usr/bin/touch, '{marker}']\n")
    out = Collector()
    res = await ActionRunner(blocker / "audit.jsonl", out).run(
        resolve_action(cfg, "checkout", "rollback")
    )
    assert res.status == "error"
    assert "not run: cannot write the audit log" in res.message
    assert not marker.exists()
    assert "cannot write the audit log" in out.texts("info")[0]


async def test_caller_cancelled_mid_run_kills_group_and_audits(audit: Path) -> None:
    cfg = _cfg(f"  rollback:\n    exec: [{DATA}/ignore_term.sh]\n")
    out = Collector()
    runner = ActionRunner(audit, out, grace=0.3)
    task = asyncio.create_task(runner.run(resolve_action(cfg, "checkout", "rollback")))
    for _ in range(500):  # both processes started (generous: the machine may be loaded)
        if len(out.texts("stdout")) == 2:
            break
        await asyncio.sleep(0.02)
    assert len(out.texts("stdout")) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for line in out.texts("stdout"):
        assert _dies(int(line.split()[1]))
    fin = read_audit(audit).records[-1]
    assert fin["event"] == "finished" and fin["status"] == "cancelled"
    assert "warroom stopped" in fin["reason"]
    assert not runner.is_running("rollback", "checkout")


async def test_webhook_huge_body_with_bogus_charset(audit: Path, hook_url: str) -> None:
    action = resolve_action(_hook_cfg(hook_url, "/big"), "checkout", "notify")
    res = await ActionRunner(audit).run(action)
    assert res.status == "ok" and res.body_excerpt == "x" * 500


async def test_long_output_line_cut_in_audit_tail(audit: Path, tmp_path: Path) -> None:
    cfg = _cfg("  rollback:\n    exec: [/usr/bin/printf, '%02000d\\n', '7']\n")
    out = Collector()
    res = await ActionRunner(audit, out).run(resolve_action(cfg, "checkout", "rollback"))
    assert res.ok
    assert out.texts("stdout") == ["0" * 1999 + "7"]  # the pane gets it whole
    assert read_audit(audit).records[-1]["output_tail"] == ["0" * 500 + "…"]
