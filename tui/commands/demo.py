"""`warroom demo`: the dashboard against a real local workload.

Starts the demo service (tui/demo/service.py, OpenTelemetry SDK) as a child process pushing
to warroom's embedded OTLP receiver on a free loopback port, writes a temporary config for it,
opens the dashboard, and stops the child on every exit path. The incident it plays (baseline,
slow release, rollback, recovery) is tui/demo/incident.py; `--fast` shortens its timeline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from tui.errors import UserError

DEFAULT_RELEASE = "checkout"  # the first of the demo's default services: selected at start


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the dashboard against a local demo service")
    p.add_argument("--services", default="5", help="comma-separated names, or a count (default 5)")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="requests/s per service (100 with the incident, 150 --fast, else 40)",
    )
    p.add_argument(
        "--incident", default="", help="SERVICE:START_S:DURATION_S:FACTOR extra latency incident"
    )
    p.add_argument(
        "--fast", action="store_true", help="short timeline: release after ~10s, short windows"
    )
    p.add_argument(
        "--release",
        default=None,
        metavar="SERVICE",
        help="the service whose slow release the demo ships (default: checkout when it is one "
        "of the services; '' for no scenario)",
    )
    p.add_argument(
        "--dir",
        default="",
        help="keep the demo's files (config, baselines, profiles, audit log) in DIR "
        "instead of a temporary directory removed on exit",
    )
    p.add_argument("--theme", choices=("warroom", "bastion", "wall", "paper"))
    p.add_argument("--refresh", default="", help="dashboard refresh (1s; 0.5s with --fast)")
    p.set_defaults(func=run)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_config_text(
    port: int,
    names: list[str],
    refresh: str,
    profiles: Path,
    baselines: Path,
    theme: str | None,
    *,
    rate_window: str = "30s",
    window: str = "15m",
    state: Path | None = None,
    detector_window: int | None = None,
) -> str:
    """The YAML the demo runs with (also a worked example of a config). With `state`, the
    rollback action runs the demo's real rollback command, audited in that directory; with
    `detector_window`, the detector is tuned for the incident's short rate windows."""
    lines = [
        "# written by `warroom demo`",
        f"refresh: {refresh}",
        f"rate_window: {rate_window}",
        f"window: {window}",
        "otlp:",
        f'  http: "127.0.0.1:{port}"',
        '  grpc: ""',
        "profiles:",
        f'  dir: "{profiles}"',
        "baseline:",
        f'  dir: "{baselines}"',
    ]
    if state is not None:
        argv = [sys.executable, "-m", "tui.demo.rollback", "--state", str(state)]
        lines += [
            "audit:",
            f"  path: {json.dumps(str(state / 'audit.jsonl'))}",
            "actions:",
            "  rollback:",
            f"    exec: {json.dumps([*argv, '--service', '{service}'])}",
            "    timeout: 30s",
            '    description: "demo: put the previous release back, wait for the service"',
        ]
    if detector_window is not None:
        lines += [
            "detector:",
            f"  window: {detector_window}",
            "  z: 1  # the scale is at least the P99's bucket width: one bucket up is a hit",
            "  min_ratio: 2  # the release is 4x slower; P99 sampling noise stays under 2x",
        ]
    if theme:
        lines.append(f"theme: {theme}")
    lines.append("services:")
    for i, n in enumerate(names):
        slo_ms = 250 + 50 * (i % 5)  # about twice the demo's normal P99
        lines += [f"  - name: {n}", "    slo:", f"      p99: {slo_ms}ms", "      error_ratio: 0.02"]
    return "\n".join(lines) + "\n"


def start_demo_service(
    endpoint: str,
    services: str,
    rate: float,
    incident: str,
    profiles: Path | None,
    log_path: Path,
    *,
    state: Path | None = None,
    interval: float = 1.0,
    profile_every: float = 10.0,
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
        "--interval",
        str(interval),
        "--profile-every",
        str(profile_every),
    ]
    if state is not None:
        argv += ["--release-state", str(state)]
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
    if args.rate is not None and args.rate <= 0:
        raise UserError("--rate: must be positive")
    release = args.release
    if release is None:
        release = DEFAULT_RELEASE if DEFAULT_RELEASE in names else ""
    if release and release not in names:
        raise UserError(
            f"--release: {release!r} is not one of the demo services ({', '.join(names)})"
        )
    fast = args.fast
    keep = bool(args.dir)
    tmp = (
        Path(args.dir).expanduser().resolve()
        if keep
        else Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    )
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        port = free_port()
        profiles, baselines = tmp / "profiles", tmp / "baselines"
        profiles.mkdir(exist_ok=True)
        cfg_path = tmp / "warroom.yaml"
        # With the incident (or --fast): short rate windows with many requests, so P99 moves
        # within a second or two of the release and its sampling noise stays well under the
        # detector's min_ratio. Without: the demo's earlier steady settings.
        short = bool(release) or fast
        cfg_path.write_text(
            demo_config_text(
                port,
                names,
                args.refresh or ("0.5s" if fast else "1s"),
                profiles,
                baselines,
                args.theme,
                rate_window=("2s" if fast else "3s") if short else "30s",
                window="5m" if short else "15m",  # the incident fits in a few minutes
                state=tmp,
                detector_window=(16 if fast else 20) if short else None,
            )
        )
        cfg = load_config(cfg_path)
        child = start_demo_service(
            f"http://127.0.0.1:{port}",
            ",".join(names),
            args.rate or ((150.0 if fast else 100.0) if short else 40.0),
            args.incident,
            profiles,
            tmp / "demo-service.log",
            state=tmp,
            interval=0.5 if fast else 1.0,
            profile_every=(2.0 if fast else 5.0) if short else 10.0,
        )
        try:
            if not release:
                from tui.ui.app import run_dashboard

                return run_dashboard(cfg)
            from tui.demo.incident import Scenario, Timeline, run_demo_dashboard

            timeline = Timeline.fast() if fast else Timeline.normal()
            scenario = Scenario(release, timeline, audit_path=cfg.audit.path)
            return run_demo_dashboard(cfg, scenario, tmp, names)
        finally:
            stop_child(child)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
