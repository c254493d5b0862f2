"""The demo's Prometheus: Debian's real `prometheus` binary scraping the Go service every second.

The demo does what an operator's setup does: a Prometheus scrapes the service's /metrics and
warroom reads P99 from Prometheus (`histogram_quantile` over the client_golang DefBuckets),
not from the service. The config and the TSDB live in the demo's state directory; the process
is a child in its own session (a terminal ^C reaches warroom first), stopped by the demo on
every exit path, and sent SIGTERM by the kernel if warroom dies without stopping it.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tui.errors import UserError

INSTALL_HINT = "install prometheus (make demo does)"
JOB = "warroom-demo"


def prometheus_binary() -> str:
    """The prometheus command, or UserError saying what to install."""
    found = shutil.which("prometheus")
    if found is None:
        raise UserError(f"demo: the prometheus command is not on PATH: {INSTALL_HINT}")
    return found


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG),
    so a killed demo never leaves a Prometheus behind. Elsewhere: nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def prometheus_config(targets: list[str], scrape_interval: str = "1s") -> str:
    """The scrape config: one job, the Go service's host:port targets, every `scrape_interval`."""
    return (
        "# written by `warroom demo`\n"
        "global:\n"
        f"  scrape_interval: {scrape_interval}\n"
        f"  evaluation_interval: {scrape_interval}\n"
        "scrape_configs:\n"
        f"  - job_name: {JOB}\n"
        "    static_configs:\n"
        f"      - targets: {json.dumps(targets)}\n"
    )


def start_prometheus(
    binary: str,
    state_dir: Path,
    port: int,
    targets: list[str],
    scrape_interval: str = "1s",
    ready_timeout: float = 30.0,
) -> subprocess.Popen[bytes]:
    """Start Prometheus on 127.0.0.1:`port` and wait until it is ready (UserError if not)."""
    config = state_dir / "prometheus.yml"
    config.write_text(prometheus_config(targets, scrape_interval))
    log_path = state_dir / "prometheus.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={state_dir / 'prometheus-data'}",
                "--storage.tsdb.retention.time=1d",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout
    while True:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1.0).is_success:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise UserError(f"demo: prometheus did not start ({log_path}): {tail[0]}")
        time.sleep(0.1)


def wait_scraped(url: str, timeout: float = 30.0) -> None:
    """Wait until Prometheus has scraped the demo's job once (UserError if it never does).

    Prometheus applies a new config's targets after its 5 s discovery throttle, so the
    first scrape comes 5-6 s after start; until then warroom would show no P99 for the Go
    service and the demo's baseline would hold only a few of its points.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/api/v1/query", params={"query": f'up{{job="{JOB}"}}'}, timeout=2)
            result = r.json()["data"]["result"] if r.is_success else []
            if any(float(x["value"][1]) == 1 for x in result):
                return
            last = "target down" if result else "not scraped yet"
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.2)
    raise UserError(
        f"demo: Prometheus at {url} did not scrape the Go service in {timeout:g} s ({last})"
    )
