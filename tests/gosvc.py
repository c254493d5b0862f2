"""The real Go service (tui/demo/gosvc) for tests: built once per source, started per test."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.servers import stop_process, wait_http
from tui.demo.gobuild import build_gosvc


class GoService:
    """A running gosvc process: its base URL, its scrape target and its /control knob."""

    def __init__(self, proc: subprocess.Popen[bytes], addr: str, log: Path) -> None:
        self.proc = proc
        self.target = addr  # host:port, as Prometheus' static_configs want it
        self.url = f"http://{addr}"
        self.log = log

    def control(self, route: str, **fields: float) -> dict[str, Any]:
        """Change a route's latency/CPU/alloc settings at runtime; returns its new settings."""
        r = httpx.post(f"{self.url}/control", json={"route": route, **fields}, timeout=5)
        r.raise_for_status()
        out: dict[str, Any] = r.json()
        return out


@contextlib.contextmanager
def start_gosvc(tmp_path: Path, *args: str, timeout: float = 20.0) -> Iterator[GoService]:
    """Run gosvc on a free loopback port with `args` (e.g. "-load", "200"); killed on exit."""
    binary = build_gosvc()
    addr_file = tmp_path / "gosvc.addr"
    log = tmp_path / "gosvc.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(binary), "-addr-file", str(addr_file), "-exit-with-parent", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while not addr_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gosvc did not start: {log.read_text()[-2000:]}")
            time.sleep(0.02)
        svc = GoService(proc, addr_file.read_text().strip(), log)
        wait_http(f"{svc.url}/metrics", timeout=timeout)
        yield svc
    finally:
        stop_process(proc)
