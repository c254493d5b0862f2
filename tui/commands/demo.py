"""`warroom demo`: the dashboard against a real local workload, both of warroom's paths.

- The release's service (`--release`, default checkout) is the real Go service
  (tui/demo/gosvc: client_golang DefBuckets histograms, net/http/pprof), built once by
  tui/demo/gobuild.py and run by the deploy agent (tui/demo/deploy.py) at the version its
  release file asks for. A real Prometheus (tui/demo/prometheus.py) scrapes it every second;
  warroom reads its P99 from Prometheus and captures CPU and heap profiles from its pprof.
- The other services are the OTLP demo service (tui/demo/service.py, OpenTelemetry SDK),
  pushing to warroom's embedded receiver and writing CPU profiles of itself.

It writes a config for all of that (tui/demo/config_text.py; in a temporary directory, or
`--dir`), opens the dashboard, and stops every child on every exit path. The incident it
plays (baseline, slow release, rollback, recovery) is tui/demo/incident.py; `--fast`
shortens its timeline. A missing `go` or `prometheus` is one line saying what to install
(exit 2).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.demo.config_text import demo_config_text
from tui.errors import UserError

if TYPE_CHECKING:
    import subprocess

    from tui.config import Config

DEFAULT_RELEASE = "checkout"  # the first of the demo's default services: selected at start
# The incident's settings (`--fast`): P99 over 2 s (two Prometheus scrapes at 1 s, ~300
# requests at 150/s). Longer windows make the regression pane slower to turn (it keeps one
# sample per rate window); with the default z a healthy service's P99 noise stays unflagged.
INCIDENT_RATE_WINDOW = "2s"
FAST_REFRESH = "0.5s"
FAST_RATE = 150.0
FAST_DETECTOR_WINDOW = 16


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the dashboard against a local Go service (via Prometheus) and OTLP services",
        description="The release's service (checkout) is the real Go service of tui/demo/gosvc, "
        "scraped every second by a local Prometheus and profiled over its net/http/pprof; the "
        "others push OTLP. The demo ships its slow release 1.4.3 and waits for your rollback "
        "(r), which restarts the Go binary of 1.4.2. Needs Debian's prometheus, golang-go and "
        "golang-github-prometheus-client-golang-dev (make demo installs them); no network.",
    )
    p.add_argument("--services", default="5", help="comma-separated names, or a count (default 5)")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="requests/s per service (100 with the incident, 150 --fast, else 40)",
    )
    p.add_argument(
        "--incident",
        default="",
        help="SERVICE:START_S:DURATION_S:FACTOR extra latency incident on an OTLP service",
    )
    p.add_argument(
        "--fast", action="store_true", help="short timeline: release after ~10s, short windows"
    )
    p.add_argument(
        "--release",
        default=None,
        metavar="SERVICE",
        help="the service whose slow release the demo ships: the Go service, read through "
        "Prometheus (default: checkout when it is one of the services; '' for no scenario, "
        "the first service is then the Go one)",
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
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo_service(
    endpoint: str,
    services: str,
    rate: float,
    incident: str,
    profiles: Path | None,
    log_path: Path,
    *,
    interval: float = 1.0,
    profile_every: float = 10.0,
) -> subprocess.Popen[bytes]:
    """The demo service as a child process in its own session (so a terminal ^C reaches
    warroom, which then stops it in order)."""
    import subprocess

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
    import subprocess

    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _services(args: argparse.Namespace) -> tuple[list[str], str, str]:
    """(all service names, the service that gets the release or "", the Go service) from
    --services, --release and --incident; UserError naming the flag when they disagree."""
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
    go_service = release or names[0]
    if args.incident and args.incident.split(":", 1)[0] == go_service:
        others = [n for n in names if n != go_service]
        raise UserError(
            f"--incident: {go_service} is the Go service (its incident is the release); "
            f"name one of the OTLP services ({', '.join(others) or 'none'})"
        )
    return names, release, go_service


def run(args: argparse.Namespace) -> int:
    from tui.demo.gobuild import build_gosvc
    from tui.demo.prometheus import prometheus_binary

    names, release, go_service = _services(args)
    # What to install, before anything starts (exit 2, one line each).
    prom_bin = prometheus_binary()
    binary = build_gosvc()
    from tui.ui.terminal import require_terminal

    require_terminal("the demo is the dashboard: run it in a terminal")
    keep = bool(args.dir)
    tmp = (
        Path(args.dir).expanduser().resolve()
        if keep
        else Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    )
    stack = DemoStack()
    try:
        return _run_stack(args, tmp, stack, names, release, go_service, prom_bin, binary)
    finally:
        stack.stop()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _run_stack(
    args: argparse.Namespace,
    tmp: Path,
    stack: DemoStack,
    names: list[str],
    release: str,
    go_service: str,
    prom_bin: str,
    binary: Path,
) -> int:
    """Write the config, start Prometheus, the OTLP demo service and the Go service into
    `stack`, wait for the first scrape, then run the dashboard (the incident's, with a
    release)."""
    from tui.config import load_config
    from tui.demo.prometheus import wait_scraped

    tmp.mkdir(parents=True, exist_ok=True)
    ports = _Ports(otlp=free_port(), go=free_port(), prom=free_port())
    short = bool(release) or args.fast
    cfg = load_config(_write_config(args, tmp, names, go_service, ports, short))
    _start_services(args, tmp, stack, cfg, names, go_service, ports, short, prom_bin, binary)
    wait_scraped(f"http://127.0.0.1:{ports.prom}")
    if not release:
        from tui.ui.app import run_dashboard

        return run_dashboard(cfg)
    from tui.demo.incident import Scenario, Timeline, run_demo_dashboard

    timeline = Timeline.fast() if args.fast else Timeline.normal()
    scenario = Scenario(release, timeline, audit_path=cfg.audit.path)
    return run_demo_dashboard(cfg, scenario, tmp, names)


@dataclass(frozen=True)
class _Ports:
    """Loopback ports of one demo run: warroom's OTLP receiver, the Go service, Prometheus."""

    otlp: int
    go: int
    prom: int

    @property
    def go_addr(self) -> str:
        return f"127.0.0.1:{self.go}"


def _write_config(
    args: argparse.Namespace,
    tmp: Path,
    names: list[str],
    go_service: str,
    ports: _Ports,
    short: bool,
) -> Path:
    """The demo's warroom.yaml.

    With the incident (or --fast, `short`): short rate windows with many requests, so P99
    moves within a second or two of the release and its sampling noise stays well under the
    detector's min_ratio. Without: the demo's earlier steady settings. Prometheus scrapes
    once per dashboard refresh (so no refresh reads the same scrape twice, which the detector
    would count as two agreeing points), and its rate windows hold at least three scrapes.
    """
    fast = args.fast
    profiles, baselines = tmp / "profiles", tmp / "baselines"
    profiles.mkdir(exist_ok=True)
    cfg_path = tmp / "warroom.yaml"
    cfg_path.write_text(
        demo_config_text(
            ports.otlp,
            names,
            args.refresh or (FAST_REFRESH if fast else "1s"),
            profiles,
            baselines,
            args.theme,
            rate_window=INCIDENT_RATE_WINDOW if short else "30s",
            # the regression pane compares this window
            window=("30s" if fast else "5m") if short else "15m",
            state=tmp,
            detector_window=(FAST_DETECTOR_WINDOW if fast else 20) if short else None,
            go_service=go_service,
            prometheus_url=f"http://127.0.0.1:{ports.prom}",
            pprof_url=f"http://{ports.go_addr}",
            capture=("2s", "3s") if fast else ("5s", "10s"),
        )
    )
    return cfg_path


def _start_services(
    args: argparse.Namespace,
    tmp: Path,
    stack: DemoStack,
    cfg: Config,
    names: list[str],
    go_service: str,
    ports: _Ports,
    short: bool,
    prom_bin: str,
    binary: Path,
) -> None:
    """Prometheus, the OTLP demo service (for the other names) and the Go service, into
    `stack` so that every exit path stops them."""
    from tui.demo.deploy import GoDeployer
    from tui.demo.prometheus import start_prometheus
    from tui.demo.release_file import release_path

    fast = args.fast
    rate = args.rate or ((FAST_RATE if fast else 100.0) if short else 40.0)
    # Prometheus first: it scrapes a new target only after its 5 s discovery throttle.
    scrape = f"{round(cfg.refresh * 1000)}ms"  # Prometheus durations take no decimals
    stack.children.append(start_prometheus(prom_bin, tmp, ports.prom, [ports.go_addr], scrape))
    otlp_names = [n for n in names if n != go_service]
    if otlp_names:
        stack.children.append(
            start_demo_service(
                f"http://127.0.0.1:{ports.otlp}",
                ",".join(otlp_names),
                rate,
                args.incident,
                tmp / "profiles",
                tmp / "demo-service.log",
                interval=0.5 if fast else 1.0,
                profile_every=(2.0 if fast else 5.0) if short else 10.0,
            )
        )
    # every run starts on 1.4.2, whatever an earlier run in the same --dir left behind
    release_path(tmp, go_service).unlink(missing_ok=True)
    stack.deployer = GoDeployer(binary, tmp, go_service, ports.go_addr, rate)
    stack.deployer.start()
    print(
        f"warroom demo: {go_service} (Go, {ports.go_addr}) is up; waiting for Prometheus' "
        "first scrape of it (about 5 s)",
        file=sys.stderr,
        flush=True,
    )


class DemoStack:
    """What the demo started, stopped in reverse order on every exit path."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []
        self.deployer: Any = None  # a GoDeployer once started

    def stop(self) -> None:
        for child in reversed(self.children):
            stop_child(child)
        if self.deployer is not None:
            self.deployer.stop()
