"""The real `warroom` command as a child process, for tests of exit codes and output."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.waits import eventually

ROOT = Path(__file__).resolve().parents[1]
PPROF = ROOT.parent / "shared" / "fixtures" / "pprof"  # ../shared beside the project


def warroom(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m tui.cli ARGS` from the project's folder, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


# what a headless command says once its OTLP/HTTP receiver is bound (tui/commands/receivers.py)
LISTENING = re.compile(r"^warroom: otlp/http: listening on 127\.0\.0\.1:(\d+)$", re.M)


async def reported_port(capsys: pytest.CaptureFixture[str]) -> int:
    """The port an in-process `take_snapshot`/`listen_windows` task reported binding (a config
    with port 0), once it has: pushers start after it, at the port the OS gave."""
    err: list[str] = []

    def said() -> re.Match[str] | None:
        err.append(capsys.readouterr().err)
        return LISTENING.search("".join(err))

    await eventually(said, "the receiver's 'listening on' line")
    found = said()
    assert found is not None
    return int(found.group(1))


class Listening:
    """A `warroom` child whose OTLP/HTTP receiver is bound: `port` is the one it reported on
    stderr (`warroom: otlp/http: listening on 127.0.0.1:PORT`), so a config can say port 0
    and nothing else can take the port between choosing and binding it. A context manager:
    a child still running on exit (a failed test) is killed."""

    def __init__(self, *args: str, timeout: float = 120) -> None:
        self.args, self.timeout = args, timeout
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._out: list[str] = []
        self._err: list[str] = []
        self.port = 0
        for line in self.proc.stderr:  # until the line, or the end of a command that failed
            self._err.append(line)
            found = LISTENING.match(line.rstrip("\n"))
            if found:
                self.port = int(found.group(1))
                break
        else:
            self.proc.kill()
            raise AssertionError(f"warroom {' '.join(args)} never listened: {''.join(self._err)}")
        # the rest is drained by threads: a child never blocks on a full pipe
        self._drains = [
            threading.Thread(target=lambda f=f, to=to: to.extend(f), daemon=True)
            for f, to in ((self.proc.stdout, self._out), (self.proc.stderr, self._err))
        ]
        for t in self._drains:
            t.start()

    def result(self) -> subprocess.CompletedProcess[str]:
        """Wait for the command to end; its whole output (stderr from its first line)."""
        try:
            self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for t in self._drains:
            t.join()
        return subprocess.CompletedProcess(
            self.proc.args, self.proc.returncode, "".join(self._out), "".join(self._err)
        )

    def __enter__(self) -> Listening:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill the child if it still runs (a failed test); nothing when it has ended."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
