"""Start-up figures (issue 16): the small profile a user opens on a laptop, whole process.

- `warroom profile FILE --top` beside `go tool pprof -top FILE` on every real fixture: the two
  run in turn (A B A B ...) so both see the same machine; each figure is the median of --runs
  wall times, and the ratio is the median of the pairs' ratios (a pair runs back to back, so
  the ratio holds when the machine's speed drifts). Limit: <= 2x go.
- The floor under a Python decoder of profile.proto: the interpreter alone, with protobuf and
  the pprof schema (what a decoder without numpy would still load), and with numpy and
  protobuf loaded the way `profile --top` loads them.
- `warroom profile FILE` (the flame graph viewer) exec'd in a 160x48 pseudo-terminal: time until
  the graph is drawn (the details line of its selected frame, "% of all", and the root bar
  have been written), and the CPU time the process used until then. Limit: <= 0.6 s.

    python benchmarks/bench_startup.py            # readable report
    python benchmarks/bench_startup.py --json     # rows for run_all.py on the last line
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "pprof"
# the console script a user runs, when installed; else the module (same code, same imports)
_SCRIPT = Path(sys.executable).with_name("warroom")
WARROOM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "tui.cli"]


def fixtures() -> list[Path]:
    """Every real profile fixture (gzipped and raw), smallest first."""
    files = [p for p in FIXTURES.iterdir() if p.suffix in (".gz", ".cpu") and p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_size)


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall s, cpu s) of one whole process, output discarded; the cpu from the kernel."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else b""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv}: exit {proc.returncode}: {err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def side_by_side(a: list[str], b: list[str], runs: int) -> dict[str, float]:
    """A and B in turn after one warm-up each; medians of wall and cpu, median pair ratio."""
    timed(a)
    timed(b)
    aw, ac, bw, bc, ratios = [], [], [], [], []
    for _ in range(runs):
        w1, c1 = timed(a)
        w2, c2 = timed(b)
        aw.append(w1)
        ac.append(c1)
        bw.append(w2)
        bc.append(c2)
        ratios.append(w1 / w2)
    med = statistics.median
    return {
        "a_wall": med(aw),
        "a_cpu": med(ac),
        "b_wall": med(bw),
        "b_cpu": med(bc),
        "ratio": med(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


def median_of(argv: list[str], runs: int) -> float:
    timed(argv)
    return statistics.median(timed(argv)[0] for _ in range(runs))


def _spawn(argv: list[str], cols: int, rows: int) -> tuple[int, int, float]:
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # child: a terminal like a user's
        os.environ.update(TERM="xterm-256color", COLORTERM="truecolor")
        os.chdir(ROOT)
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd, t0


def _read(fd: int, timeout: float) -> bytes:
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return b""
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""


def _finish(pid: int, fd: int) -> None:
    """Quit the way a user does (q), then make sure the process is gone."""
    with contextlib.suppress(OSError):
        os.write(fd, b"q")
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        _read(fd, 0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU the running process has used so far (Linux /proc), all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def flame_first_frame(path: Path, cols: int = 160, rows: int = 48) -> tuple[float, float]:
    """exec -> the flame graph drawn (its root bar and the selected frame's details line):
    (wall s, CPU s the process used until then). On a shared machine the wall time grows
    with the load; the CPU time much less."""
    pid, fd, t0 = _spawn([*WARROOM, "profile", str(path)], cols, rows)
    buf = b""
    try:
        while time.monotonic() - t0 < 20:
            buf += _read(fd, 0.01)
            if b"% of all" in buf and b"root" in buf:
                return time.monotonic() - t0, _cpu_seconds(pid)
        raise RuntimeError("no flame graph within 20 s: " + buf[-500:].decode(errors="replace"))
    finally:
        _finish(pid, fd)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", help="fixtures whose name contains this")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    report: list[str] = []
    go = shutil.which("go")
    files = [f for f in fixtures() if not args.only or args.only in f.name]
    for f in files:
        ours = [*WARROOM, "profile", str(f), "--top"]
        if go is None:
            wall = median_of(ours, args.runs)
            report.append(f"{f.name}: warroom {wall:.3f} s (no go on PATH: no reference)")
            rows.append(
                {
                    "figure": f"profile --top whole process, {f.name}",
                    "value": round(wall, 4),
                    "unit": "s",
                    "limit": "<= 2x go",
                    "reference": None,
                }
            )
            continue
        r = side_by_side(ours, [go, "tool", "pprof", "-top", str(f)], args.runs)
        report.append(
            f"{f.name} ({f.stat().st_size / 1024:.0f} KiB): warroom {r['a_wall']:.3f} s "
            f"(cpu {r['a_cpu']:.3f}), go tool pprof -top {r['b_wall']:.3f} s "
            f"(cpu {r['b_cpu']:.3f}); ratio {r['ratio']:.2f}x "
            f"(pairs {r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
        )
        rows.append(
            {
                "figure": f"profile --top whole process, {f.name}",
                "value": round(r["a_wall"], 4),
                "unit": "s",
                "limit": "<= 2x go",
                "reference": f"go {r['b_wall']:.3f} s, ratio {r['ratio']:.2f}x",
            }
        )
    py = sys.executable
    floors = {
        "interpreter alone (python -c pass)": [py, "-c", "pass"],
        "interpreter + protobuf and the pprof schema, no numpy": [
            py,
            "-c",
            "import tui.core.pprof.schema",
        ],
        "interpreter + numpy + protobuf, as profile --top loads them": [
            py,
            "-c",
            "from tui.commands.numpy_threads import import_numpy; import_numpy(); "
            "import tui.core.pprof.decode",
        ],
    }
    for label, argv in floors.items():
        wall = median_of(argv, args.runs)
        report.append(f"floor, {label}: {wall:.3f} s")
        rows.append(
            {
                "figure": f"floor: {label}",
                "value": round(wall, 4),
                "unit": "s",
                "limit": "",
                "reference": None,
            }
        )
    for name in ("cpu_json_gogc5.pb.gz", "large.cpu"):
        path = FIXTURES / name
        if not path.exists() or (args.only and args.only not in name):
            continue
        flame_first_frame(path)  # warm-up: the page cache, as for the other figures
        runs = [flame_first_frame(path) for _ in range(args.runs)]
        times = [wall for wall, _ in runs]
        med = statistics.median(times)
        cpu = statistics.median(c for _, c in runs)
        report.append(
            f"profile {name} (flame viewer, 160x48 pty): exec -> graph drawn median "
            f"{med:.3f} s, CPU until then {cpu:.3f} s (runs: {', '.join(f'{t:.2f}' for t in times)})"
        )
        rows.append(
            {
                "figure": f"flame viewer exec -> graph drawn 160x48, {name}",
                "value": round(med, 3),
                "unit": "s",
                "limit": "<= 0.6",
                "reference": f"CPU until then {cpu:.3f} s",
            }
        )
    load = os.getloadavg()[0]
    report.append(f"load average at the end: {load:.2f} (2 cores: above ~1 the figures are noisy)")
    print("\n".join(report))
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
