"""The demo incident's timeline, its release file protocol, the baseline it takes, and the
rollback command run as a real process against a real ReleaseWatcher (the service's side)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.actions.audit import append_record, make_record
from tui.core.atomic import write_atomic
from tui.core.baseline import BaselineStore
from tui.core.metrics.store import MetricStore
from tui.core.pprof import load_profile
from tui.core.pprof.encode import Frame, encode_cpu_profile
from tui.demo.incident import (
    BAD_VERSION,
    BASELINE,
    GOOD_VERSION,
    RECOVERED,
    RELEASED,
    ROLLED_BACK,
    SHIP_RELEASE,
    SPIKE,
    STEADY,
    TAKE_BASELINE,
    Release,
    ReleaseStateError,
    ReleaseWatcher,
    Scenario,
    Timeline,
    audited_rollback,
    read_live,
    read_release,
    release_path,
    roll_back,
    ship_release,
    take_baseline,
)
from tui.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def rolled_back(service: str = "checkout") -> Release:
    return Release(service, GOOD_VERSION, None, False, 0.0, "rollback")


def released(service: str = "checkout") -> Release:
    return Release(service, BAD_VERSION, GOOD_VERSION, True, 0.0, "release")


# --- the timeline ---------------------------------------------------------------------------


def test_timeline_runs_through_every_stage_in_order() -> None:
    sc = Scenario("checkout", Timeline(warmup=2, baseline_at=7, release_at=8), "/a/audit.jsonl")
    assert sc.step(1.0, "WARMING UP", None) == [] and sc.stage == STEADY
    assert "Baseline of checkout 1.4.2 in 6s" in sc.banner(1.0)
    assert sc.step(7.0, "OK", None) == [TAKE_BASELINE]
    sc.baseline_taken(7.0)
    assert sc.stage == BASELINE and "ships in 1s" in sc.banner(7.0)
    assert sc.step(7.5, "OK", None) == []
    assert sc.step(8.0, "OK", None) == [SHIP_RELEASE]
    sc.release_shipped(8.0)
    assert sc.stage == RELEASED and "SUSTAINED" in sc.banner(8.0)
    assert sc.step(9.0, "GLITCH", released()) == [] and sc.stage == RELEASED
    sc.step(10.0, "SUSTAINED", released())
    assert sc.stage == SPIKE
    text = sc.banner(10.0)
    assert "d: CPU diff" in text and "r: roll back (type checkout, Enter)" in text
    sc.step(12.0, "SUSTAINED", rolled_back())
    assert sc.stage == ROLLED_BACK and "recover" in sc.banner(12.0)
    sc.step(13.0, "SUSTAINED", rolled_back())
    assert sc.stage == ROLLED_BACK  # still the shifted level: not recovered yet
    sc.step(15.0, "RECOVERED", rolled_back())
    assert sc.stage == RECOVERED and sc.saw_sustained
    assert "RECOVERED" in sc.banner(15.0) and "/a/audit.jsonl" in sc.banner(15.0)
    assert sc.stage_since == {
        STEADY: 0.0,
        BASELINE: 7.0,
        RELEASED: 8.0,
        SPIKE: 10.0,
        ROLLED_BACK: 12.0,
        RECOVERED: 15.0,
    }


def test_baseline_without_samples_is_retried_and_delays_the_release() -> None:
    sc = Scenario("checkout", Timeline(warmup=2, baseline_at=7, release_at=8, retry=1))
    assert sc.step(7.0, None, None) == [TAKE_BASELINE]
    sc.baseline_failed(7.0, "no samples yet for checkout")
    assert sc.stage == STEADY and "no samples yet" in sc.banner(7.2)
    assert sc.step(7.5, None, None) == []  # not before the retry time
    assert sc.step(8.0, None, None) == [TAKE_BASELINE]
    sc.baseline_taken(8.0)
    assert sc.step(8.0, "OK", None) == [SHIP_RELEASE]  # release_at has passed: ship now


def test_a_rollback_before_the_spike_skips_the_spike_stage() -> None:
    sc = Scenario("checkout", Timeline(warmup=0, baseline_at=0, release_at=0))
    sc.baseline_taken(0.0)
    sc.release_shipped(0.0)
    sc.step(1.0, "OK", rolled_back())
    assert sc.stage == ROLLED_BACK
    sc.step(1.5, "OK", rolled_back())
    assert sc.stage == RECOVERED and not sc.saw_sustained


def test_a_new_release_is_not_mistaken_for_a_rollback() -> None:
    sc = Scenario("checkout", Timeline(warmup=0, baseline_at=0, release_at=0))
    sc.baseline_taken(0.0)
    sc.release_shipped(0.0)
    for t in range(1, 5):
        sc.step(float(t), "OK", released())
    assert sc.stage == RELEASED


# --- the release file -------------------------------------------------------------------------


def test_ship_and_roll_back_write_the_release_file(tmp_path: Path) -> None:
    assert read_release(tmp_path, "checkout") is None
    rel = ship_release(tmp_path, "checkout", now=100.0)
    assert rel == Release("checkout", BAD_VERSION, GOOD_VERSION, True, 100.0, "release")
    assert read_release(tmp_path, "checkout") == rel
    before, after = roll_back(tmp_path, "checkout", now=120.0)
    assert before == rel
    assert after == Release("checkout", GOOD_VERSION, None, False, 120.0, "rollback")
    assert read_release(tmp_path, "checkout") == after
    assert json.loads(release_path(tmp_path, "checkout").read_text())["changed_by"] == "rollback"


def test_roll_back_refuses_when_there_is_nothing_to_roll_back(tmp_path: Path) -> None:
    with pytest.raises(ReleaseStateError, match=r"checkout: nothing to roll back .*no release"):
        roll_back(tmp_path, "checkout")
    ship_release(tmp_path, "checkout")
    roll_back(tmp_path, "checkout")
    with pytest.raises(ReleaseStateError, match=r"nothing to roll back \(1.4.2 is live"):
        roll_back(tmp_path, "checkout")


def test_a_corrupt_release_file_is_one_clear_error(tmp_path: Path) -> None:
    path = release_path(tmp_path, "checkout")
    path.parent.mkdir(parents=True)
    path.write_text('{"service": "checkout"')
    with pytest.raises(ReleaseStateError, match=r"checkout.json: not a release file"):
        read_release(tmp_path, "checkout")
    assert isinstance(ReleaseStateError("x"), UserError)


def test_watcher_switches_code_path_and_confirms_each_version(tmp_path: Path) -> None:
    now = [0.0]
    w = ReleaseWatcher(tmp_path, "checkout", poll=0.2, clock=lambda: now[0])
    assert w.slow() is False
    assert read_live(tmp_path, "checkout") == {
        "service": "checkout",
        "version": GOOD_VERSION,
        "slow": False,
        "pid": os.getpid(),
        "at": pytest.approx(time.time(), abs=5),
    }
    ship_release(tmp_path, "checkout")
    assert w.slow() is False  # within the poll interval the file is not even looked at
    now[0] = 0.25
    assert w.slow() is True and w.version == BAD_VERSION
    live = read_live(tmp_path, "checkout")
    assert live is not None and live["version"] == BAD_VERSION and live["slow"] is True
    roll_back(tmp_path, "checkout")
    now[0] = 0.5
    assert w.slow() is False and read_live(tmp_path, "checkout")["version"] == GOOD_VERSION  # type: ignore[index]


def test_watcher_keeps_its_state_over_a_corrupt_file(tmp_path: Path) -> None:
    now = [0.0]
    ship_release(tmp_path, "checkout")
    w = ReleaseWatcher(tmp_path, "checkout", clock=lambda: now[0])
    assert w.slow() is True
    write_atomic(release_path(tmp_path, "checkout"), b"garbage")
    now[0] = 1.0
    assert w.slow() is True and w.error is not None and "not a release file" in w.error


# --- the baseline and the audit check --------------------------------------------------------


def write_profile(path: Path, leaf: str) -> None:
    stacks: Counter[tuple[Frame, ...]] = Counter(
        {
            (
                (leaf, "tui/demo/service.py", 10),
                ("tui.demo.service.handle", "tui/demo/service.py", 5),
            ): 7
        }
    )
    write_atomic(path, encode_cpu_profile(stacks, 10_000_000, 0, 1_000_000_000))


def test_take_baseline_snapshots_the_window_and_the_newest_profile(tmp_path: Path) -> None:
    store = MetricStore()
    for i in range(20):
        store.add("checkout", "p99", 1000.0 + i, 0.05 + 0.001 * (i % 3))
        store.add("checkout", "qps", 1000.0 + i, 40.0)
    store.add("payments", "p99", 1000.0, 0.07)  # outside the window below
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    write_profile(profiles / "checkout-1.pb.gz", "tui.demo.service.old")
    os.utime(profiles / "checkout-1.pb.gz", (1, 1))
    write_profile(profiles / "checkout-2.pb.gz", "tui.demo.service.query_db")
    ids = take_baseline(
        store,
        tmp_path / "baselines",
        ["checkout", "payments"],
        1005.0,
        1019.0,
        str(profiles),
        "{service}-*.pb.gz",
    )
    assert list(ids) == ["checkout"]
    snap = BaselineStore(tmp_path / "baselines").current("checkout")
    assert snap is not None and snap.id == ids["checkout"]
    assert snap.version == GOOD_VERSION and snap.start == 1005.0 and snap.window == 14.0
    assert len(snap.signals["p99"]) == 15 and snap.signals["qps"] == [40.0] * 15
    assert snap.step == 1.0
    assert len(snap.profile_files) == 1  # a copy inside the store: the sampler may delete its own
    prof = load_profile(snap.profile_files[0])
    assert any("query_db" in prof.frames.name(i) for i in range(len(prof.frames.names)))
    with pytest.raises(UserError, match="no samples yet for payments"):
        take_baseline(store, tmp_path / "baselines", ["payments"], 1005.0, 1019.0, None, "")


def test_audited_rollback_finds_the_finished_record(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    assert audited_rollback(str(audit), "checkout", 0.0) is None
    target = {"kind": "exec", "argv": ["python", "-m", "tui.demo.rollback"]}
    append_record(
        audit, make_record("started", service="checkout", action="rollback", target=target, ts=50.0)
    )
    append_record(
        audit,
        make_record(
            "finished",
            service="payments",
            action="rollback",
            target=target,
            ts=55.0,
            status="ok",
            exit=0,
        ),
    )
    assert audited_rollback(str(audit), "checkout", 0.0) is None
    append_record(
        audit,
        make_record(
            "finished",
            service="checkout",
            action="rollback",
            target=target,
            ts=60.0,
            status="ok",
            exit=0,
        ),
    )
    rec = audited_rollback(str(audit), "checkout", 10.0)
    assert rec is not None and rec["exit"] == 0 and rec["status"] == "ok"
    assert audited_rollback(str(audit), "checkout", 61.0) is None  # older than the demo


# --- the rollback command, a real process ----------------------------------------------------


def run_rollback(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "tui.demo.rollback", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


@contextlib.contextmanager
def serving(state: Path, service: str) -> Iterator[ReleaseWatcher]:
    """The service's side in a thread: what each demo worker does every tick."""
    stop = threading.Event()
    watcher = ReleaseWatcher(state, service, poll=0.05)

    def serve() -> None:
        while not stop.wait(0.05):
            watcher.slow()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        stop.set()
        thread.join()


def test_rollback_command_reverts_and_waits_for_the_service(tmp_path: Path) -> None:
    ship_release(tmp_path, "checkout")
    ship_release(tmp_path, "payments")
    with serving(tmp_path, "checkout") as watcher:
        proc = run_rollback("--state", str(tmp_path), "--service", "checkout", "--wait", "20")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("checkout: rolling back 1.4.3 -> 1.4.2")
    assert lines[1] == (
        f"checkout: desired version 1.4.2 written to {release_path(tmp_path, 'checkout')}"
    )
    assert lines[2] == f"checkout: pid {os.getpid()} now serves 1.4.2; rollback done"
    assert watcher.slow() is False
    assert read_release(tmp_path, "payments") is not None  # only the named service
    assert read_release(tmp_path, "payments").slow is True  # type: ignore[union-attr]

    again = run_rollback("--state", str(tmp_path), "--service", "checkout", "--wait", "0")
    assert again.returncode == 1
    assert "rollback: checkout: nothing to roll back (1.4.2 is live" in again.stderr
    assert "Traceback" not in again.stderr


def test_rollback_command_without_service_reverts_what_has_a_release(tmp_path: Path) -> None:
    ship_release(tmp_path, "checkout")
    ship_release(tmp_path, "payments")
    roll_back(tmp_path, "checkout")
    proc = run_rollback("--state", str(tmp_path), "--wait", "0")
    assert proc.returncode == 0, proc.stderr
    assert "payments: rolling back 1.4.3 -> 1.4.2" in proc.stdout
    assert "checkout" not in proc.stdout
    proc = run_rollback("--state", str(tmp_path), "--wait", "0")
    assert proc.returncode == 1 and "rollback: nothing to roll back" in proc.stderr


def test_rollback_command_fails_clearly(tmp_path: Path) -> None:
    proc = run_rollback("--state", str(tmp_path / "missing"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"rollback: {tmp_path / 'missing'}: no such state directory"
    proc = run_rollback("--state", str(tmp_path), "--service", "checkout")
    assert proc.returncode == 1 and "checkout: nothing to roll back (no release" in proc.stderr
    proc = run_rollback("--state", str(tmp_path))
    assert proc.returncode == 1 and "no release files in" in proc.stderr
    ship_release(tmp_path, "checkout")  # nobody serves it: the rollback cannot be confirmed
    proc = run_rollback("--state", str(tmp_path), "--service", "checkout", "--wait", "0.3")
    assert proc.returncode == 1
    assert "did not confirm 1.4.2 within 0.3s (is the demo service running?)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert run_rollback("--bogus").returncode == 2


# --- the demo's config wires the real rollback command -------------------------------------


def test_demo_config_binds_r_to_the_real_rollback_command(tmp_path: Path) -> None:
    from tui.commands.demo import demo_config_text
    from tui.config import load_config
    from tui.core.actions import resolve_action

    path = tmp_path / "warroom.yaml"
    path.write_text(
        demo_config_text(
            4318,
            ["checkout", "payments"],
            "0.5s",
            tmp_path / "profiles",
            tmp_path / "baselines",
            None,
            rate_window="2s",
            state=tmp_path,
            detector_window=16,
        )
    )
    cfg = load_config(path)
    assert cfg.audit.path == str(tmp_path / "audit.jsonl")
    assert (cfg.detector.window, cfg.detector.z, cfg.detector.min_ratio) == (16, 1, 2)
    action = resolve_action(cfg, "checkout", "rollback")
    assert action.argv == (
        sys.executable,
        "-m",
        "tui.demo.rollback",
        "--state",
        str(tmp_path),
        "--service",
        "checkout",
    )
    assert (action.key, action.confirm, action.dangerous) == ("r", "type", True)

    ship_release(tmp_path, "checkout")
    with serving(tmp_path, "checkout"):
        proc = subprocess.run(
            list(action.argv),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].endswith("now serves 1.4.2; rollback done")


def test_demo_refuses_an_unknown_release_service(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    assert main(["demo", "--services", "checkout,payments", "--release", "nope"]) == 2
    err = capsys.readouterr().err
    assert "warroom: --release: 'nope' is not one of the demo services (checkout, payments)" in err
