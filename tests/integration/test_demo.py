"""`warroom demo`'s parts for real: the demo service process (OpenTelemetry SDK, OTLP/HTTP)
pushing into the Hub's embedded receiver, and the command's bad input."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.waits import eventually
from tui.cli import main
from tui.commands.demo import start_demo_service, stop_child
from tui.config import load_config
from tui.core.events import PointBatch
from tui.core.metrics.store import MetricStore
from tui.demo.config_text import demo_config_text
from tui.sources.hub import Hub

pytestmark = pytest.mark.integration


async def test_demo_service_data_reaches_the_dashboard_store(tmp_path: Path) -> None:
    cfg_path = tmp_path / "warroom.yaml"
    cfg_path.write_text(
        demo_config_text(
            0,  # the receiver binds a port the OS gives and reports it
            ["checkout", "payments"],
            "1s",
            tmp_path / "profiles",
            tmp_path / "baselines",
            None,
        )
    )
    cfg = load_config(cfg_path)
    store = MetricStore()
    updates = []
    hub = Hub(
        cfg, store, lambda e: updates.append(time.time()) if isinstance(e, PointBatch) else None
    )
    await hub.start()
    (receiver,) = hub.receivers
    child = start_demo_service(
        f"http://127.0.0.1:{receiver.bound_address[1]}",
        "checkout,payments",
        60.0,
        "",
        None,
        tmp_path / "demo.log",
    )
    try:
        with contextlib.suppress(AssertionError):  # what is missing is asserted below
            await eventually(
                lambda: all(
                    store.latest(n, "p99") and store.latest(n, "qps")
                    for n in ("checkout", "payments")
                ),
                "both demo services' p99 and qps",
                timeout=25,
            )
        assert child.poll() is None, (tmp_path / "demo.log").read_text()
        for name in ("checkout", "payments"):
            p99 = store.latest(name, "p99")
            qps = store.latest(name, "qps")
            assert p99 is not None and qps is not None, (tmp_path / "demo.log").read_text()
            assert 0.005 < p99[1] < 2.5  # lognormal around tens of ms
            assert qps[1] > 0
        assert updates
        status = {s.name: s for s in hub.statuses()}
        assert status["otlp/http"].state == "listening"
    finally:
        stop_child(child)
        await hub.stop()
    assert child.returncode == 0  # SIGTERM: the SDK flushed and the process ended cleanly


def test_demo_command_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--services", "0"]) == 2
    assert "warroom: --services: the number of services must be between 1 and 500" in (
        capsys.readouterr().err
    )
    assert main(["demo", "--rate", "-1"]) == 2
    assert "--rate: must be positive" in capsys.readouterr().err


def test_demo_service_rejects_bad_incident() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tui.demo.service", "--incident", "nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "demo service:" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_command_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No prometheus, then no go, on PATH: one line naming the package each, exit 2."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["demo", "--fast"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "warroom: demo: the prometheus command is not on PATH: "
        "install prometheus (make demo does)\n"
    )
    prometheus = shutil.which("prometheus", path=os.defpath + ":/usr/bin")
    assert prometheus is not None
    (tmp_path / "prometheus").symlink_to(prometheus)
    assert main(["demo", "--fast"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("warroom: gosvc: the go command is not on PATH: install golang-go")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_demo_children_exit_when_warroom_is_killed(tmp_path: Path) -> None:
    """Every child runs in its own session (so ^C reaches warroom first); if warroom dies
    without stopping them (kill -9), the OTLP demo service, the Go service and Prometheus
    must all go too instead of lingering."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tui.commands.demo import free_port, start_demo_service\n"
        "from tui.demo.deploy import GoDeployer\n"
        "from tui.demo.gobuild import build_gosvc\n"
        "from tui.demo.prometheus import prometheus_binary, start_prometheus\n"
        f"d = Path({str(tmp_path)!r})\n"
        "p = start_demo_service('http://127.0.0.1:9', '3', 5.0, '', None, d / 'demo.log')\n"
        "go = GoDeployer(build_gosvc(), d, 'checkout', f'127.0.0.1:{free_port()}', 5)\n"
        "go.start()\n"
        "prom = start_prometheus(prometheus_binary(), d, free_port(), [go.listen])\n"
        "print(p.pid, go.proc.pid, prom.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert parent.stdout is not None
    children = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(children) == 3, "the stack did not start"
    # the demo service takes its parent's pid once started: kill only after it said so
    deadline = time.monotonic() + 30
    log = tmp_path / "demo.log"
    while not (log.exists() and "demo service:" in log.read_text()):
        assert time.monotonic() < deadline, "the demo service did not start"
        time.sleep(0.05)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in children):
            return
        time.sleep(0.1)
    left = [pid for pid in children if alive(pid)]
    for pid in left:  # only what this test started, by pid
        os.kill(pid, signal.SIGKILL)
    pytest.fail(f"children outlived their killed parent: {left} of {children}")


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by init, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
