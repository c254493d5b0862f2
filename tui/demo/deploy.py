"""The demo's deploy agent: runs the Go service's desired release, one real process per release.

What a deploy system's node agent does, small: the release file `DIR/releases/SERVICE.json`
(tui/demo/release_file.py) says which version should run; the agent runs the gosvc binary with
`-version` of it on a fixed loopback address (so Prometheus' static target stays right), and
when the file changes it stops that process and starts the other release's. Once the new
process answers /control with the version asked for, the agent confirms it in
`DIR/releases/SERVICE.live.json` ({service, version, slow, pid, at}) — what the release
shipper and the rollback command (tui/demo/rollback.py) wait for. The rollback therefore
really restarts the Go binary of the previous release, and the new pid shows it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tui.core.atomic import write_atomic
from tui.demo.release_file import (
    BAD_VERSION,
    GOOD_VERSION,
    ReleaseStateError,
    live_path,
    read_release,
    release_path,
)
from tui.errors import UserError


class GoDeployer:
    """Keeps gosvc running at the release its file asks for; `start()`, then `stop()`."""

    def __init__(
        self,
        binary: Path,
        state_dir: str | os.PathLike[str],
        service: str,
        listen: str,
        load_rps: float,
        *,
        seed: int = 1,
        poll: float = 0.2,
        ready_timeout: float = 15.0,
    ):
        self.binary = Path(binary)
        self.state_dir = Path(state_dir)
        self.service = service
        self.listen = listen  # host:port, the same for every release
        self.url = f"http://{listen}"
        self.load_rps = load_rps
        self.seed = seed
        self.poll = poll
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.version: str | None = None
        self.error: str | None = None  # the last failed start or unreadable release file
        self._stamp: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"deploy-{service}", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Run the release the file asks for (1.4.2 without one); UserError if it cannot."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._stamp = self._file_stamp()
        self._deploy(self._desired())
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            self._halt()

    # --- internals -------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = release_path(self.state_dir, self.service).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def _desired(self) -> str:
        rel = read_release(self.state_dir, self.service)
        return rel.version if rel is not None else GOOD_VERSION

    def _run(self) -> None:
        """Redeploy when the release file changes, and restart a process that died."""
        while not self._stop.wait(self.poll):
            stamp = self._file_stamp()
            running = self.proc is not None and self.proc.poll() is None
            if stamp == self._stamp and self.error is None and running:
                continue
            self._stamp = stamp
            try:
                version = self._desired()
            except ReleaseStateError as exc:
                self.error = str(exc)  # keep serving what runs; a fixed file is read again
                continue
            if version == self.version and running:
                self.error = None
                continue
            try:
                with self._lock:
                    if not self._stop.is_set():
                        self._deploy(version)
                self.error = None
            except UserError as exc:
                self.error = str(exc)

    def _deploy(self, version: str) -> None:
        """Stop what runs, start `version`, wait until it serves, confirm it."""
        self._halt()
        log = self.state_dir / f"{self.service}-gosvc.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(self.binary),
                    "-listen",
                    self.listen,
                    "-version",
                    version,
                    "-load",
                    f"{self.load_rps:g}",
                    "-seed",
                    str(self.seed),
                    "-runtime-metrics",  # all five Go runtime lines in the Service tab
                    "-exit-with-parent",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_serving(version, log)
        self.version = version
        data = {
            "service": self.service,
            "version": version,
            "slow": version == BAD_VERSION,
            "pid": self.proc.pid,
            "at": time.time(),
        }
        write_atomic(
            live_path(self.state_dir, self.service),
            (json.dumps(data, sort_keys=True) + "\n").encode(),
        )

    def _wait_serving(self, version: str, log: Path) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                r = httpx.get(f"{self.url}/control", timeout=1.0)
                if r.is_success and r.json().get("version") == version:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._halt()
                lines = log.read_text(errors="replace").strip().splitlines()
                raise UserError(
                    f"demo: {self.service} {version} (gosvc) did not start on {self.listen} "
                    f"({log}): {lines[-1] if lines else 'no output'}"
                )
            time.sleep(0.05)

    def _halt(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # gosvc drains in-flight requests for up to 2 s
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
