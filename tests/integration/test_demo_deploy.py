"""The demo's deploy agent and rollback command against the real Go service: a release and a
rollback each restart gosvc at the other version (a new process, same address), confirmed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import free_port
from tui.core.atomic import write_atomic
from tui.demo.deploy import GoDeployer
from tui.demo.gobuild import build_gosvc
from tui.demo.release_file import read_live, release_path, ship_release

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def deployer(tmp_path: Path) -> Iterator[GoDeployer]:
    d = GoDeployer(build_gosvc(), tmp_path, "checkout", f"127.0.0.1:{free_port()}", 20, poll=0.05)
    d.start()
    try:
        yield d
    finally:
        d.stop()


def served_version(d: GoDeployer) -> str:
    return str(httpx.get(f"{d.url}/control", timeout=5).json()["version"])


def build_info(d: GoDeployer) -> str:
    """The gosvc_build_info line of /metrics: the release as Prometheus scrapes it."""
    text = httpx.get(f"{d.url}/metrics", timeout=5).text
    return next(line for line in text.splitlines() if line.startswith("gosvc_build_info{"))


def wait_live(state: Path, version: str, not_pid: int, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        live = read_live(state, "checkout")
        if live and live["version"] == version and live["pid"] != not_pid:
            return live
        assert time.monotonic() < deadline, f"no {version} confirmed: {live}"
        time.sleep(0.05)


def run_rollback(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.demo.rollback", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        cwd=ROOT,
    )


def test_release_and_rollback_restart_the_go_binary(deployer: GoDeployer, tmp_path: Path) -> None:
    first = read_live(tmp_path, "checkout")
    assert first is not None and first["version"] == "1.4.2" and first["slow"] is False
    assert deployer.proc is not None and first["pid"] == deployer.proc.pid
    assert served_version(deployer) == "1.4.2" and 'version="1.4.2"' in build_info(deployer)

    ship_release(tmp_path, "checkout")
    slow = wait_live(tmp_path, "1.4.3", first["pid"])
    assert slow["slow"] is True
    assert served_version(deployer) == "1.4.3" and 'revision="9b7d013"' in build_info(deployer)

    proc = run_rollback("--state", str(tmp_path), "--service", "checkout", "--wait", "20")
    assert proc.returncode == 0, proc.stderr
    back = read_live(tmp_path, "checkout")
    assert back is not None and back["version"] == "1.4.2"
    assert back["pid"] not in (first["pid"], slow["pid"])  # a new process of the old release
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("checkout: rolling back 1.4.3 -> 1.4.2")
    assert lines[1] == (
        f"checkout: desired version 1.4.2 written to {release_path(tmp_path, 'checkout')}"
    )
    assert lines[2] == (
        f"checkout: pid {back['pid']} now serves 1.4.2 (was pid {slow['pid']}); rollback done"
    )
    assert served_version(deployer) == "1.4.2" and 'version="1.4.2"' in build_info(deployer)

    again = run_rollback("--state", str(tmp_path), "--service", "checkout", "--wait", "0")
    assert again.returncode == 1
    assert "rollback: checkout: nothing to roll back (1.4.2 is live" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_corrupt_release_file_keeps_the_running_release(
    deployer: GoDeployer, tmp_path: Path
) -> None:
    ship_release(tmp_path, "checkout")
    slow = wait_live(tmp_path, "1.4.3", -1)
    write_atomic(release_path(tmp_path, "checkout"), b"garbage")
    deadline = time.monotonic() + 10
    while deployer.error is None:
        assert time.monotonic() < deadline, "the agent never read the corrupt file"
        time.sleep(0.05)
    assert "not a release file" in deployer.error
    assert served_version(deployer) == "1.4.3"
    assert read_live(tmp_path, "checkout") == slow  # nothing restarted
