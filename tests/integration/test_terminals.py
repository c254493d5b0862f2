"""The real `warroom` binary in real terminals: every screen in every theme at three sizes in
tmux, the bastion theme over a real `ssh -tt` session, NO_COLOR, a terminal that drops, and
no animations by default.

Time limits that are product promises (exit within 3 s of a hang-up) are scaled by the
machine's current load per core (`slowdown()`), so a shared CI box cannot make them flaky.

Each screen starts warroom once and walks the sizes (tmux resize-window) and themes (the `t`
key, or the command palette in the profile viewer) on the live process, so 48 screen/theme/size
cases cost four start-ups. Waits poll the screen against a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.servers import free_port
from tests.terminal_harness import (
    ROOT,
    WARROOM,
    PtyProcess,
    Tmux,
    colour_codes,
    extended_colours,
    slowdown,
    strip_escapes,
    terminal_env,
    wait_until,
)
from tui.core.recording import RecordingWriter

SIZES = ((80, 24), (120, 40), (250, 70))
THEMES = ("warroom", "bastion", "wall", "paper")
PPROF = ROOT.parent / "shared" / "fixtures" / "pprof"
CUR, BASE = PPROF / "cpu_json_gogc5.pb.gz", PPROF / "cpu_json_gogc100.pb.gz"
T0 = 1_800_000_000.0

# Modes a terminal must be left without: mouse tracking (1000 basic, 1002 drag, 1003 any,
# 1006 SGR, 1015 urxvt), focus events (1004), bracketed paste (2004), the alternate screen.
MODES_TO_RESET = ("1000", "1002", "1003", "1004", "1006", "1015", "1049", "2004")


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config with two services, receivers on loopback ports the kernel picks, state under tmp, and a
    four-minute recording with a P99 spike on checkout."""
    d = tmp_path_factory.mktemp("terminals")
    cfg = {
        "services": [{"name": "checkout"}, {"name": "search"}],
        "otlp": {"http": "127.0.0.1:0", "grpc": "127.0.0.1:0"},
        "audit": {"path": str(d / "audit.jsonl")},
        "baseline": {"dir": str(d / "baselines")},
        "profiles": {"dir": str(d / "profiles")},
        # The rollback dialog is one of the screens drawn below; nothing here confirms it.
        "actions": {"rollback": {"exec": ["/bin/echo", "undo", "deployment/{service}"]}},
    }
    (d / "profiles").mkdir()
    shutil.copy(CUR, d / "profiles" / "checkout-cpu.pb.gz")
    (d / "warroom.yaml").write_text(yaml.safe_dump(cfg))
    writer = RecordingWriter(d / "incident.jsonl.gz")
    for i in range(240):
        batch = []
        for svc, base in (("checkout", 0.120), ("search", 0.045)):
            p99 = base * (4.0 if svc == "checkout" and 150 <= i < 160 else 1.0)
            for signal_name, value in (
                ("p50", p99 / 3),
                ("p95", p99 / 1.5),
                ("p99", p99),
                ("qps", 200.0 + i % 17),
                ("error_ratio", 0.001),
            ):
                batch.append(
                    {
                        "t": T0 + i,
                        "type": "point",
                        "service": svc,
                        "signal": signal_name,
                        "value": value,
                    }
                )
        writer.write(batch)
    writer.close()
    return d


@dataclass(frozen=True)
class ScreenCase:
    argv: Callable[[Path], list[str]]
    texts: tuple[str, ...]  # on the screen at every size and in every theme
    open_keys: tuple[str, ...] = ()  # keys that bring the screen up once warroom has drawn
    palette_themes: bool = False  # no `t` key here: switch themes with the command palette
    tall_texts: tuple[str, ...] = ()  # also on the screen from 40 rows up (no scrolling)
    modal: bool = False  # a centred box over the dashboard rather than a full-screen frame
    via_dashboard: bool = False  # `t` is not the theme key here: go back, switch, reopen
    own_text: str = ""  # a modal's text that the dashboard behind it never shows


def _dashboard(d: Path) -> list[str]:
    return [str(WARROOM), "-c", str(d / "warroom.yaml")]


SCREENS: dict[str, ScreenCase] = {
    "dashboard": ScreenCase(
        _dashboard, ("service", "checkout", "search", "p99", "Quit", "otlp/http 127.0.0.1:")
    ),
    "help": ScreenCase(
        _dashboard,
        ("warroom keys", "Quit", "Help", "Pause", "Flame"),
        open_keys=("?",),
        own_text="warroom keys",
        tall_texts=("Theme", "close this help"),
        modal=True,
        via_dashboard=True,
    ),
    "confirm": ScreenCase(  # `r` on the dashboard: the rollback dialog, its name field focused
        _dashboard,
        ("checkout", "/bin/echo undo deployment/checkout", "Type checkout to confirm", "Cancel"),
        open_keys=("r",),
        own_text="Type checkout to confirm",
        modal=True,
        via_dashboard=True,
    ),
    "flame": ScreenCase(  # `f` on the dashboard: the newest profile of the selected service
        _dashboard,
        ("checkout-cpu.pb.gz", "root", "total 19.9s", "zoom"),
        open_keys=("f",),
        via_dashboard=True,
    ),
    "profile": ScreenCase(
        lambda d: [str(WARROOM), "profile", str(CUR), "--base", str(BASE)],
        (
            # the title's names are shortened at 80 columns (profile_load._set_title)
            "cpu_json_gogc5",
            "vs cpu_",
            "gogc100",
            "(width: current)",
            "root",
            "total 19.9s",
            "zoom",
        ),
        palette_themes=True,
    ),
    "replay": ScreenCase(
        lambda d: [
            str(WARROOM),
            "replay",
            str(d / "incident.jsonl.gz"),
            "-c",
            str(d / "warroom.yaml"),
            "--speed",
            "10",
        ],
        ("REPLAY", "checkout", "search", "p99", "Play/pause"),
    ),
}


def theme_foreground(name: str) -> str:
    """A truecolor theme's foreground as the SGR tmux reports for it: '38;2;r;g;b'."""
    data = yaml.safe_load((ROOT / "themes" / f"{name}.yaml").read_text())
    hexa = data["foreground"].lstrip("#")
    return "38;2;" + ";".join(str(int(hexa[i : i + 2], 16)) for i in (0, 2, 4))


def in_theme(name: str) -> Callable[[str], bool]:
    """The screen (captured with escapes) is drawn in theme `name`: bastion uses only the
    terminal's 16 colours; the others draw text in their own foreground colour."""
    if name == "bastion":
        return lambda screen: not extended_colours(screen) and bool(colour_codes(screen))
    fg = theme_foreground(name)
    return lambda screen: fg in colour_codes(screen)


def fills(width: int, height: int) -> Callable[[str], bool]:
    """The frame was laid out for this size: as many rows as the pane, and the footer's
    right-aligned palette hint ends at the last column."""

    def check(screen: str) -> bool:
        lines = strip_escapes(screen).split("\n")
        lines = lines[:-1] if lines and lines[-1] == "" else lines
        return len(lines) == height and any(
            ln.rstrip().endswith("palette") and len(ln.rstrip()) >= width - 2 for ln in lines
        )

    return check


def centred_box(width: int, height: int) -> Callable[[str], bool]:
    """A modal laid out for this size: as many rows as the pane, and a box whose left and
    right margins differ by at most one column."""

    def check(screen: str) -> bool:
        lines = strip_escapes(screen).split("\n")
        lines = lines[:-1] if lines and lines[-1] == "" else lines
        for ln in lines:
            # the top edge of a round border (help) or of a tall one (the confirm dialog)
            for start, end in (("╭", "╮"), ("█▀", "▀█")):
                if start in ln and end in ln:
                    left = ln.index(start)
                    right = width - 1 - (ln.rindex(end) + len(end) - 1)
                    return len(lines) == height and abs(left - right) <= 1
        return False

    return check


def drawn(*checks: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda screen: all(check(screen) for check in checks)


def switch_theme(t: Tmux, case: ScreenCase, name: str) -> None:
    if case.via_dashboard:  # `t` is the dashboard's: close the screen, switch, reopen it
        t.keys("Escape")
        # the dashboard stays drawn (dimmed) behind a modal: wait for the modal to go
        t.wait_for(
            *SCREENS["dashboard"].texts,
            check=lambda s: not case.own_text or case.own_text not in s,
        )
        t.keys("t")
        t.wait_for(f"theme: {name}")
        t.keys(*case.open_keys)
        return
    if not case.palette_themes:
        t.keys("t")
        t.wait_for(f"theme: {name}")
        return
    t.keys("C-p")
    t.wait_for("Search for commands")
    t.keys("theme", literal=True)
    t.wait_for("Change the current theme")
    t.keys("Enter")
    t.wait_for("Search for themes")
    t.keys(name, literal=True)
    t.wait_for(name)
    t.keys("Enter")
    t.wait_for(*case.texts)  # the palette has closed


def assert_clean_quit(t: Tmux, quit_keys: tuple[str, ...] = ("q",)) -> None:
    for key in quit_keys:
        t.keys(key)
    assert t.wait_exit(timeout=5) == 0, t.capture()
    after = t.capture()
    assert "Traceback" not in after and "Error" not in after, after


# --- every screen, every theme, every size -----------------------------------------------------


@pytest.mark.parametrize("screen", ["dashboard", "help", "confirm", "flame", "profile", "replay"])
def test_screen_in_every_theme_and_size(screen: str, workdir: Path) -> None:
    case = SCREENS[screen]
    with Tmux(*SIZES[0]) as t:
        t.start(
            case.argv(workdir),
            env=terminal_env(),
            cwd=workdir,
            exit_file=workdir / f"exit-{screen}",
        )
        t.wait_for("palette", timeout=20)
        for key in case.open_keys:
            t.keys(key)
        current = "warroom"
        for width, height in SIZES:
            t.resize(width, height)
            # `t` cycles warroom -> bastion -> wall -> paper: go round once from where we are.
            i = THEMES.index(current)
            for name in THEMES[i:] + THEMES[:i]:
                if name != current:
                    switch_theme(t, case, name)
                    current = name
                frame = centred_box if case.modal else fills
                texts = case.texts + (case.tall_texts if height >= 40 else ())
                shot = t.wait_for(
                    *texts, escapes=True, check=drawn(in_theme(name), frame(width, height))
                )
                assert "Traceback" not in strip_escapes(shot)
        if case.open_keys:
            t.keys("Escape")
            t.wait_for(
                *SCREENS["dashboard"].texts,
                check=lambda s: not case.own_text or case.own_text not in s,
            )
        assert_clean_quit(t)


# --- bastion over ssh ----------------------------------------------------------------------------


SSHD = Path("/usr/sbin/sshd")


def _ensure_openssh() -> None:
    """sshd and ssh from Debian, installed like `make system-deps` does when missing."""
    if SSHD.exists() and shutil.which("ssh") and shutil.which("ssh-keygen"):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            "openssh-server/openssh-client missing and apt-get is not usable here "
            "(not root or not Debian): run `make system-deps` as root"
        )
    res = subprocess.run(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        "openssh-server openssh-client",
        shell=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if res.returncode != 0 or not SSHD.exists():
        pytest.skip(f"apt-get could not install openssh-server: {res.stderr.strip()[-300:]}")


@dataclass
class Sshd:
    port: int
    key: Path
    user: str


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A private sshd on 127.0.0.1: its own host key, one fresh client key, no PAM."""
    _ensure_openssh()
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
            check=True,
            capture_output=True,
        )
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    (d / "client_key").chmod(0o600)
    port, user = free_port(), getpass.getuser()
    (d / "sshd_config").write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {d / 'host_key'}",
                f"PidFile {d / 'sshd.pid'}",
                f"AuthorizedKeysFile {d / 'authorized_keys'}",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                f"AllowUsers {user}",
                "PrintMotd no",
                "PrintLastLog no",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    log = open(d / "sshd.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(d / "sshd_config")], stdout=log, stderr=subprocess.STDOUT
    )

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"sshd exited: {(d / 'sshd.log').read_text()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_until(listening, 10, "sshd to listen")
        yield Sshd(port, d / "client_key", user)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def ssh_argv(s: Sshd, remote: str) -> list[str]:
    return [
        "ssh",
        "-tt",
        "-F",
        "/dev/null",
        "-p",
        str(s.port),
        "-i",
        str(s.key),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        f"{s.user}@127.0.0.1",
        remote,
    ]


def pane_modes(t: Tmux) -> dict[str, str]:
    """What tmux's emulator says the program left the terminal in."""
    names = (
        "alternate_on",
        "mouse_any_flag",
        "mouse_button_flag",
        "mouse_standard_flag",
        "mouse_sgr_flag",
        "cursor_flag",
    )
    out = t.tmux("display-message", "-p", "-t", t.name, " ".join(f"#{{{n}}}" for n in names))
    return dict(zip(names, out.split(), strict=True))


@pytest.mark.parametrize("term", ["xterm", "screen"])
def test_bastion_over_ssh(term: str, sshd: Sshd, workdir: Path) -> None:
    remote = (
        f"cd {workdir} && TERM={term} exec {WARROOM} -c {workdir / 'warroom.yaml'} --theme bastion"
    )
    with Tmux(100, 30) as t:
        t.start(
            ssh_argv(sshd, remote),
            env=terminal_env(),
            cwd=workdir,
            exit_file=workdir / f"exit-ssh-{term}",
        )
        shot = t.wait_for(
            *SCREENS["dashboard"].texts,
            escapes=True,
            timeout=20,
            check=lambda s: bool(colour_codes(s)),
        )
        assert not extended_colours(shot), "bastion must use the 16 ANSI colours only"
        modes = pane_modes(t)
        assert modes["alternate_on"] == "1" and modes["mouse_any_flag"] == "1", modes
        t.keys("q")
        assert t.wait_exit(timeout=10) == 0, t.capture()
        assert pane_modes(t) == {
            "alternate_on": "0",
            "mouse_any_flag": "0",
            "mouse_button_flag": "0",
            "mouse_standard_flag": "0",
            "mouse_sgr_flag": "0",
            "cursor_flag": "1",
        }
        after = t.capture()
        assert "Traceback" not in after and "Quit" not in after, after


@pytest.mark.parametrize(
    "kind",
    [
        "dashboard",
        "profile",
    ],
)
def test_ssh_link_drop_ends_remote_warroom(kind: str, sshd: Sshd, workdir: Path) -> None:
    """The SSH client dies: sshd hangs up the remote pty, and warroom (the session leader
    there, through exec) gets SIGHUP and SIGCONT; it must exit, not linger."""
    pidfile = workdir / f"remote-{kind}.pid"
    argv, ready = pty_argv(kind, workdir)
    remote = (
        f"cd {workdir} && echo $$ > {pidfile} && TERM=xterm exec {' '.join(argv)} --theme bastion"
        if kind == "dashboard"
        else f"cd {workdir} && echo $$ > {pidfile} && TERM=xterm exec {' '.join(argv)}"
    )
    with Tmux(100, 30) as t:
        t.start(
            ssh_argv(sshd, remote),
            env=terminal_env(),
            cwd=workdir,
            exit_file=workdir / f"exit-ssh-drop-{kind}",
        )
        t.wait_for(ready, timeout=20)
        pid = int(pidfile.read_text())
        client = int(t.tmux("display-message", "-p", "-t", t.name, "#{pane_pid}").strip())
        ssh_pids = subprocess.run(
            ["pgrep", "-P", str(client), "-x", "ssh"], capture_output=True, text=True
        ).stdout.split()
        assert ssh_pids, "no ssh client under the pane's shell"
        for ssh_pid in ssh_pids:
            os.kill(int(ssh_pid), 9)
        try:
            wait_until(
                lambda: (
                    not Path(f"/proc/{pid}").exists()
                    or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
                ),
                3.0 * slowdown(),
                f"remote warroom (pid {pid}) to exit after the link dropped",
            )
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)  # never leave a hung warroom behind


# --- raw pty: NO_COLOR and a terminal that drops ------------------------------------------------


def pty_argv(kind: str, d: Path) -> tuple[list[str], str]:
    """argv and a text that shows the screen is drawn."""
    if kind == "dashboard":
        return _dashboard(d), "checkout"
    if kind == "replay":
        return SCREENS["replay"].argv(d), "REPLAY"
    return SCREENS["profile"].argv(d), "nodes, total"


def assert_terminal_restored(tail: bytes) -> None:
    """Every mode warroom turned on is off again, the cursor is visible, nothing follows."""
    for mode in MODES_TO_RESET:
        on, off = tail.rfind(f"\x1b[?{mode}h".encode()), tail.rfind(f"\x1b[?{mode}l".encode())
        assert on < off or (on == -1 and mode not in ("1000", "1003", "1006", "1049")), (
            f"mode {mode} left on: {tail[-300:]!r}"
        )
    assert tail.rfind(b"\x1b[?25h") > tail.rfind(b"\x1b[?25l"), "cursor left hidden"
    after_alt = tail[tail.rfind(b"\x1b[?1049l") :]
    assert not strip_escapes(after_alt.decode("utf-8", "replace")).strip(), (
        f"text written after leaving the alternate screen: {after_alt!r}"
    )


@pytest.mark.parametrize(
    "kind",
    [
        "replay",  # the dashboard's app, with data moving on screen
        "profile",
    ],
)
def test_sighup_exits_cleanly_and_restores_terminal(kind: str, workdir: Path) -> None:
    argv, ready = pty_argv(kind, workdir)
    p = PtyProcess(argv, terminal_env(), workdir)
    try:
        p.wait_for(ready, timeout=20)
        p.settle(quiet=0.3, timeout=1.0)
        assert b"\x1b[?1049h" in p.output and b"\x1b[?1000h" in p.output
        start, t0, limit = len(p.output), time.monotonic(), 3.0 * slowdown()
        p.hangup()
        code = p.wait_exit(timeout=limit)
        assert time.monotonic() - t0 < limit
        tail = bytes(p.output[start:])
        assert code == 0, f"exit {code}: {strip_escapes(tail.decode('utf-8', 'replace'))}"
        assert b"Traceback" not in tail
        assert_terminal_restored(tail)
    finally:
        p.kill()


@pytest.mark.parametrize(
    "kind",
    [
        "dashboard",
        "profile",
    ],
)
def test_closed_terminal_exits_promptly(kind: str, workdir: Path) -> None:
    """The terminal emulator closes: the kernel hangs up (SIGHUP and, warroom being the
    session leader here, SIGCONT); warroom must end on its own with exit 0 (a traceback on
    the way out would make it 1), not linger writing to nothing. Without the SIGCONT guard
    of tui.ui.terminal this hung about one run in ten."""
    argv, ready = pty_argv(kind, workdir)
    p = PtyProcess(argv, terminal_env(), workdir)
    try:
        p.wait_for(ready, timeout=20)
        p.settle(quiet=0.3, timeout=1.0)
        t0, limit = time.monotonic(), 3.0 * slowdown()
        p.close_master()
        code = p.wait_exit(timeout=limit)
        assert time.monotonic() - t0 < limit
        assert code == 0
    finally:
        p.kill()


@pytest.mark.parametrize(
    "kind",
    [
        "replay",  # the dashboard's app, with sparklines and a spike on screen
        "profile",
    ],
)
def test_no_color_writes_no_colour(kind: str, workdir: Path) -> None:
    argv, ready = pty_argv(kind, workdir)
    p = PtyProcess(argv, terminal_env(NO_COLOR="1"), workdir)
    try:
        p.wait_for(ready, timeout=20)
        p.settle(quiet=0.3, timeout=1.0)
        p.write(b"q")
        assert p.wait_exit(timeout=5) == 0, strip_escapes(p.text())[-2000:]
        assert "Traceback" not in p.text()
        assert colour_codes(p.text()) == []
        assert b"\x1b[" in p.output  # it did draw, with attributes and cursor moves
    finally:
        p.kill()


# --- animations ----------------------------------------------------------------------------------

_LEVELS = """
import argparse
from tui.config import parse_config
from tui.core.recording import Recording
from tui.ui.app import WarroomApp
from tui.ui.replay import ReplayApp
from tui.ui.screens.profile_viewer import ProfileViewerApp, screen_from_args
cfg = "otlp: {http: '', grpc: ''}"
args = argparse.Namespace(file=%r, base=None)
apps = [WarroomApp(parse_config(cfg)), ReplayApp(parse_config(cfg), Recording([])),
        ProfileViewerApp(screen_from_args(args))]
print(" ".join(type(a).__name__ + "=" + a.animation_level for a in apps))
"""


@functools.cache
def _animation_levels(asked: str | None) -> dict[str, str]:
    """Each app's animation level in a fresh interpreter (Textual reads the variable once, at
    import, so the test process itself cannot change it)."""
    env = terminal_env() if asked is None else terminal_env(TEXTUAL_ANIMATIONS=asked)
    out = subprocess.run(
        [sys.executable, "-c", _LEVELS % str(CUR)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return dict(item.split("=") for item in out.stdout.split())


@pytest.mark.parametrize(
    "app",
    [
        "WarroomApp",
        "ReplayApp",
        "ProfileViewerApp",
    ],
)
def test_animations_off_unless_asked_for(app: str) -> None:
    assert _animation_levels(None)[app] == "none"
    assert _animation_levels("full")[app] == "full"  # an explicit choice is kept


# --- tui/ui/terminal.py on the profile viewer, in a real pty --------------------------------------

_VIEWER_WITH_MANNERS = """
import argparse, sys
from tui.ui.screens.profile_viewer import ProfileViewerApp, screen_from_args
from tui.ui.terminal import prepare_terminal
app = ProfileViewerApp(screen_from_args(argparse.Namespace(file=sys.argv[1], base=sys.argv[2])),
                       watch=False)
prepare_terminal(app)
app.run()
sys.exit(app.return_code or 0)
"""


@pytest.mark.parametrize("end", ["q", "sighup"])
def test_prepare_terminal_makes_the_viewer_colourless_and_hangup_safe(
    end: str, workdir: Path
) -> None:
    """What the one-line hook gives ProfileViewerApp: under NO_COLOR no colour and no crash
    on the flame graph's unstyled segments; on SIGHUP a clean exit that restores the
    terminal."""
    argv = [sys.executable, "-c", _VIEWER_WITH_MANNERS, str(CUR), str(BASE)]
    p = PtyProcess(argv, terminal_env(NO_COLOR="1", PYTHONPATH=str(ROOT)), workdir)
    try:
        p.wait_for("nodes, total", timeout=20)
        p.settle(quiet=0.3, timeout=1.0)
        start, t0, limit = len(p.output), time.monotonic(), 3.0 * slowdown()
        if end == "q":
            p.write(b"q")
        else:
            p.hangup()
        assert p.wait_exit(timeout=limit) == 0, strip_escapes(p.text())[-2000:]
        assert time.monotonic() - t0 < limit
        assert "Traceback" not in p.text()
        assert colour_codes(p.text()) == []
        assert_terminal_restored(bytes(p.output[start:]))
    finally:
        p.kill()


@pytest.mark.parametrize("kind", ["dashboard", "profile"])
def test_suspend_and_resume_still_work(kind: str, workdir: Path) -> None:
    """^Z then fg on a live terminal: the SIGCONT guard must still let Textual resume."""
    argv, ready = pty_argv(kind, workdir)
    p = PtyProcess(argv, terminal_env(), workdir)
    try:
        p.wait_for(ready, timeout=20)
        p.settle(quiet=0.3, timeout=1.0)
        start = len(p.output)
        os.kill(p.pid, signal.SIGTSTP)

        def stopped() -> bool:
            p.settle(quiet=0.05, timeout=0.2)
            return Path(f"/proc/{p.pid}/stat").read_text().split()[2] == "T"

        wait_until(stopped, 10, "warroom to stop on SIGTSTP")
        assert b"\x1b[?1049l" in p.output[start:], "left the alternate screen to suspend"
        resumed = len(p.output)
        os.kill(p.pid, signal.SIGCONT)

        def back() -> bool:
            p.settle(quiet=0.05, timeout=0.2)
            return b"\x1b[?1049h" in p.output[resumed:]

        wait_until(back, 10, "warroom to take the screen back after SIGCONT")
        p.write(b"q")
        assert p.wait_exit(timeout=5 * slowdown()) == 0
    finally:
        p.kill()


def test_sigcont_guard_passes_on_only_while_the_terminal_lives() -> None:
    """guard_sigcont on a real pty: SIGCONT reaches the driver's handler while the terminal
    is there, and not once the terminal has hung up (master closed)."""
    from tui.ui.terminal import guard_sigcont

    calls: list[int] = []
    original = signal.getsignal(signal.SIGCONT)
    master, slave = os.openpty()
    try:
        signal.signal(signal.SIGCONT, lambda signum, frame: calls.append(signum))
        guard_sigcont(slave)
        os.kill(os.getpid(), signal.SIGCONT)
        wait_until(lambda: calls, 2.0, "SIGCONT to reach the handler on a live terminal")
        os.close(master)
        master = -1
        assert not os.isatty(slave)  # hung up: the guard's test
        os.kill(os.getpid(), signal.SIGCONT)
        time.sleep(0.2)  # a wrongly delivered signal would be handled well within this
        assert calls == [signal.SIGCONT]
    finally:
        signal.signal(signal.SIGCONT, original)
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
