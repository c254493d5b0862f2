"""`warroom demo`: the dashboard against a real local workload.

Starts the demo service (tui/demo/service.py, OpenTelemetry SDK) as a child process pushing
to warroom's embedded OTLP receiver on a free loopback port, writes a temporary config for it,
opens the dashboard, and stops the child on every exit path.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from tui.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the dashboard against a local demo service")
    p.add_argument("--services", default="5", help="comma-separated names, or a count (default 5)")
    p.add_argument("--rate", type=float, default=40.0, help="requests/s per service")
    p.add_argument(
        "--incident",
        default="payments:90:45:4",
        help="SERVICE:START_S:DURATION_S:FACTOR latency incident ('' for none)",
    )
    p.add_argument("--theme", choices=("warroom", "bastion", "wall", "paper"))
    p.add_argument("--refresh", default="1s", help="dashboard refresh (default 1s)")
    p.set_defaults(func=run)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_config_text(
    port: int, names: list[str], refresh: str, profiles: Path, baselines: Path, theme: str | None
) -> str:
    """The YAML the demo runs with (also a worked example of a config)."""
    lines = [
        "# written by `warroom demo`",
        f"refresh: {refresh}",
        "rate_window: 30s",
        "window: 15m",
        "otlp:",
        f'  http: "127.0.0.1:{port}"',
        '  grpc: ""',
        "profiles:",
        f'  dir: "{profiles}"',
        "baseline:",
        f'  dir: "{baselines}"',
    ]
    if theme:
        lines.append(f"theme: {theme}")
    lines.append("services:")
    for i, n in enumerate(names):
        slo_ms = 250 + 50 * (i % 5)  # about twice the demo's normal P99
        lines += [f"  - name: {n}", "    slo:", f"      p99: {slo_ms}ms", "      error_ratio: 0.02"]
    return "\n".join(lines) + "\n"


def start_demo_service(
    endpoint: str, services: str, rate: float, incident: str, profiles: Path | None, log_path: Path
) -> subprocess.Popen[bytes]:
    """The demo service as a child process in its own session (so a terminal ^C reaches
    warroom, which then stops it in order)."""
    argv = [
        sys.executable,
        "-m",
        "tui.demo.service",
        "--endpoint",
        endpoint,
        "--services",
        services,
        "--rate",
        str(rate),
    ]
    if incident:
        argv += ["--incident", incident]
    if profiles is not None:
        argv += ["--profiles", str(profiles)]
    log = open(log_path, "wb")  # noqa: SIM115 - handed to the child, closed by the OS
    env = dict(os.environ)
    env["PYTHONPATH"] = (
        str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    )
    return subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


def stop_child(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(args: argparse.Namespace) -> int:
    from tui.config import load_config
    from tui.demo.service import service_names

    try:
        names = service_names(args.services)
    except ValueError as exc:
        raise UserError(f"--services: {exc}") from None
    if args.rate <= 0:
        raise UserError("--rate: must be positive")
    tmp = Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    try:
        port = free_port()
        profiles, baselines = tmp / "profiles", tmp / "baselines"
        profiles.mkdir()
        cfg_path = tmp / "warroom.yaml"
        cfg_path.write_text(
            demo_config_text(port, names, args.refresh, profiles, baselines, args.theme)
        )
        cfg = load_config(cfg_path)
        child = start_demo_service(
            f"http://127.0.0.1:{port}",
            ",".join(names),
            args.rate,
            args.incident,
            profiles,
            tmp / "demo-service.log",
        )
        try:
            from tui.ui.app import run_dashboard

            return run_dashboard(cfg)
        finally:
            stop_child(child)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
