"""The real `warroom` command as a child process, for tests of exit codes and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
