"""Drive the real `warroom` binary in real terminals: tmux on a private socket, or a bare pty.

Tests use these to see what an operator sees (tmux's own rendering of the screen, with colours)
and the exact bytes warroom writes (pty), with deadlines instead of fixed sleeps. Every tmux
server lives on its own socket (`tmux -L warroom-test-<pid>-<n>`), so a test never touches a
user's tmux, and is killed on exit.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import pty
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
WARROOM = ROOT / ".venv" / "bin" / "warroom"
if not WARROOM.exists():  # an installed checkout without the Makefile's .venv
    WARROOM = Path(shutil.which("warroom") or sys.prefix + "/bin/warroom")

T = TypeVar("T")
_counter = itertools.count()
_SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def slowdown() -> float:
    """How much slower than an idle machine things run now: the 1-minute load per core, at
    least 1. Time limits that state a product promise ("exits within 3 s") are multiplied by
    it, so a machine shared by several test runs does not turn the promise into flakiness,
    while a hang still fails."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def wait_until(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` and the last state."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            state = describe() if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{state}")
        time.sleep(0.05)


# --- colours ---------------------------------------------------------------------------------


def sgr_params(text: str) -> list[list[str]]:
    """The parameter lists of every SGR (`ESC [ ... m`) sequence in `text`."""
    return [m.group(1).replace(":", ";").split(";") for m in _SGR.finditer(text)]


def colour_codes(text: str) -> list[str]:
    """Each colour set by an SGR, normalised: '31', '97', '38;5;17', '48;2;18;22;28'.

    Attribute codes (bold, reverse, reset) and the default-colour codes 39/49 are not colours.
    """
    out: list[str] = []
    for params in sgr_params(text):
        i = 0
        while i < len(params):
            p = params[i]
            if p in ("38", "48") and i + 1 < len(params):
                n = 3 if params[i + 1] == "5" else 5
                out.append(";".join(params[i : i + n]))
                i += n
                continue
            if p.isdigit() and (
                30 <= int(p) <= 37
                or 40 <= int(p) <= 47
                or 90 <= int(p) <= 97
                or 100 <= int(p) <= 107
            ):
                out.append(p)
            i += 1
    return out


def extended_colours(text: str) -> list[str]:
    """Colours outside the terminal's 16-colour palette (256-colour or truecolor)."""
    return [c for c in colour_codes(text) if c.startswith(("38;", "48;"))]


def dominant_background(text: str) -> str | None:
    """The background colour covering the most characters: a theme's fingerprint."""
    counts: Counter[str] = Counter()
    bg: str | None = None
    for chunk in re.split(r"(\x1b\[[0-9;:]*m)", text):
        m = _SGR.fullmatch(chunk)
        if m is None:
            if bg is not None:
                counts[bg] += len(chunk.strip("\n"))
            continue
        params = m.group(1).split(";") if m.group(1) else ["0"]
        i = 0
        while i < len(params):
            p = params[i]
            if p in ("0", "49"):
                bg = None
            elif p == "48" and i + 1 < len(params):
                n = 3 if params[i + 1] == "5" else 5
                bg = ";".join(params[i : i + n])
                i += n
                continue
            elif p in ("38",) and i + 1 < len(params):
                i += 3 if params[i + 1] == "5" else 5
                continue
            elif p.isdigit() and (40 <= int(p) <= 47 or 100 <= int(p) <= 107):
                bg = p
            i += 1
    return counts.most_common(1)[0][0] if counts else None


def strip_escapes(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;:?<>=]*[A-Za-z~]|\x1b[()][A-Z0-9]|\x1b[=>]", "", text)


# --- tmux ------------------------------------------------------------------------------------


class Tmux:
    """One detached tmux session on a private server; `kill()` (or `with`) removes the server."""

    def __init__(self, width: int = 120, height: int = 40) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed (make system-deps installs it)")
        n = next(_counter)
        self.socket = f"warroom-test-{os.getpid()}-{n}"
        self.name = f"wr{n}"
        self.width, self.height = width, height
        self.exit_file: Path | None = None

    def tmux(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> str:
        res = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            env=dict(env) if env is not None else None,
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {res.stderr.strip()}")
        return res.stdout

    def start(
        self,
        argv: Iterable[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        exit_file: str | os.PathLike[str] | None = None,
    ) -> Tmux:
        """Run `argv` in the session with exactly `env` (tmux sets TERM for the pane).

        Its exit code goes to `exit_file` and the pane stays open afterwards, so a traceback
        printed on the way out can still be read."""
        cmd = shlex.join([str(a) for a in argv])
        if cwd is not None:
            cmd = f"cd {shlex.quote(str(cwd))} && {cmd}"
        if exit_file is not None:
            self.exit_file = Path(exit_file)
            cmd = f"{cmd}; echo $? > {shlex.quote(str(exit_file))}; exec sleep 600"
        server_env = {k: v for k, v in (env or os.environ).items() if k != "TMUX"}
        server_env.setdefault("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
        self.tmux(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            cmd,
            env=server_env,
        )
        # A detached server sizes windows to the last client otherwise: keep the given size.
        self.tmux("set-option", "-t", self.name, "window-size", "manual", check=False)
        return self

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def capture(self, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.name)

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))
        self.width, self.height = width, height

    def wait_for(
        self,
        *texts: str,
        timeout: float = 20.0,
        escapes: bool = False,
        check: Callable[[str], bool] | None = None,
    ) -> str:
        """The screen once every text is on it (and `check(screen)` holds)."""

        def probe() -> str | None:
            screen = self.capture(escapes=escapes)
            plain = strip_escapes(screen) if escapes else screen
            if all(t in plain for t in texts) and (check is None or check(screen)):
                return screen
            return None

        return wait_until(
            probe,
            timeout,
            f"{texts!r} on the {self.width}x{self.height} screen",
            lambda: self.capture(),
        )

    def wait_exit(self, timeout: float = 5.0) -> int:
        assert self.exit_file is not None, "start(..., exit_file=...) to wait for the exit"
        exit_file = self.exit_file
        wait_until(
            lambda: exit_file.exists() and exit_file.read_text().strip(),
            timeout,
            "the program to exit",
            lambda: self.capture(),
        )
        return int(exit_file.read_text().strip())

    def kill(self) -> None:
        self.tmux("kill-server", check=False)
        # tmux leaves its socket file behind; remove ours (and only ours) from its directory.
        base = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.geteuid()}"
        (base / self.socket).unlink(missing_ok=True)

    def __enter__(self) -> Tmux:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


# --- pty -------------------------------------------------------------------------------------


class PtyProcess:
    """A program on a fresh pty (its controlling terminal); every byte it writes is kept."""

    def __init__(
        self,
        argv: list[str],
        env: Mapping[str, str],
        cwd: str | os.PathLike[str],
        rows: int = 24,
        cols: int = 80,
    ) -> None:
        self.output = bytearray()
        self.status: int | None = None
        pid, fd = pty.fork()
        if pid == 0:  # child: the pty is stdin, stdout and stderr
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, dict(env))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.master_open = True
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def _read_some(self, wait: float) -> bool:
        """Read what is there (waiting at most `wait`); False once the pty is closed."""
        if not self.master_open:
            return False
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: every slave side is closed
            return False
        self.output += data
        return bool(data)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def wait_for(self, *texts: str, timeout: float = 10.0) -> None:
        """Until every text appears in the output (escape sequences removed)."""
        deadline = time.monotonic() + timeout
        while not all(t in strip_escapes(self.text()) for t in texts):
            if time.monotonic() > deadline or not self._read_some(0.05):
                tail = strip_escapes(self.text())[-2000:]
                raise AssertionError(f"{texts!r} not written within {timeout:g}s; tail:\n{tail}")

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Read until the program has written nothing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = len(self.output)
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if not self._read_some(0.05):
                return
            if len(self.output) != last:
                last, quiet_since = len(self.output), time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                return

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def hangup(self) -> None:
        os.kill(self.pid, signal.SIGHUP)

    def close_master(self) -> None:
        """The terminal goes away: the kernel hangs up the session and writes fail."""
        if self.master_open:
            os.close(self.fd)
            self.master_open = False

    def wait_exit(self, timeout: float) -> int:
        """Read the output until the pty closes and reap the child; returns its wait status
        as an exit code (negative: killed by that signal). Fails if it outlives `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read_some(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read_some(0.05) and select.select([self.fd], [], [], 0)[0]:
                    pass
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        raise AssertionError(f"still running {timeout:g}s after the hang-up")

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.status = -9
        self.close_master()


def terminal_env(extra: Mapping[str, str] | None = None, **kw: str) -> dict[str, str]:
    """A clean environment for warroom under test: the real PATH and HOME, no inherited
    terminal quirks (NO_COLOR, TEXTUAL_*), truecolor advertised unless overridden. TERM is
    xterm-256color; tmux replaces it with its own for the pane."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEXTUAL", "PYTEST"))
        and k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TMUX")
    }
    env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"})
    env.update(extra or {})
    env.update(kw)
    return env
