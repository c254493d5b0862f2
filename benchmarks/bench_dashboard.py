"""Dashboard figures, measured through a real pseudo-terminal.

- Terminal output in steady state: `warroom demo --services 50` (the OTel SDK demo service
  pushing 50 services to the embedded receiver, refresh 1 s) runs in a pty of a given size;
  after a warm-up, every byte the dashboard writes to the terminal is counted. Limit 4 KB/s.
  At 250x70 all 50 rows are on screen. The route view row presses Enter half way through
  the warm-up (the first service's routes, polled once a refresh) and counts the same way.
- Start to first frame: `warroom -c CONFIG` (50 configured services) is exec'd in a pty; the
  time until the first frame (the footer's "palette" has been written) is measured. Limit 0.5 s
  (issue 16).

Run alone for a readable report, with --json for the run_all.py row list (medians of --runs).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARROOM = [sys.executable, "-m", "tui.cli"]


def _spawn(argv: list[str], cols: int, rows: int) -> tuple[int, int, float]:
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # child: a terminal like a user's
        os.environ.update(TERM="xterm-256color", COLORTERM="truecolor", PYTHONPATH=str(ROOT))
        os.chdir(ROOT)
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd, t0


def _finish(pid: int, fd: int) -> None:
    """Quit the way a user does (q), then make sure the process group is gone."""
    with contextlib.suppress(OSError):
        os.write(fd, b"q")
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        _drain(fd, 0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def _drain(fd: int, timeout: float) -> bytes:
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return b""
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""


def output_rate(
    cols: int, rows: int, warmup: float, seconds: float, services: int, keys: bytes = b""
) -> float:
    """Bytes per second written to the terminal after `warmup` seconds of `warroom demo`;
    `keys` are typed half way through the warm-up."""
    argv = [*WARROOM, "demo", "--services", str(services), "--rate", "10", "--incident", ""]
    pid, fd, t0 = _spawn(argv, cols, rows)
    counted = 0
    try:
        start = t0 + warmup
        end = start + seconds
        while (now := time.monotonic()) < end:
            if keys and now >= t0 + warmup / 2:
                os.write(fd, keys)
                keys = b""
            data = _drain(fd, 0.2)
            if now >= start:
                counted += len(data)
    finally:
        _finish(pid, fd)
    return counted / seconds


def first_frame(cols: int, rows: int, config: Path) -> float:
    pid, fd, t0 = _spawn([*WARROOM, "-c", str(config)], cols, rows)
    buf = b""
    try:
        while time.monotonic() - t0 < 15:
            buf += _drain(fd, 0.05)
            if b"palette" in buf:
                return time.monotonic() - t0
        raise RuntimeError("no frame within 15 s: " + buf[-500:].decode(errors="replace"))
    finally:
        _finish(pid, fd)


def output_rows(args: argparse.Namespace, report: list[str]) -> list[dict[str, object]]:
    """The terminal output figures: the dashboard at each size, the route view at its."""
    out: list[dict[str, object]] = []
    views = [("dashboard", size, b"") for size in args.sizes.split(",") if size]
    views += [("route view", size, b"\r") for size in args.route_sizes.split(",") if size]
    for view, size, keys in views:
        cols, rows = (int(x) for x in size.split("x"))
        rates = [
            output_rate(cols, rows, args.warmup, args.seconds, args.services, keys)
            for _ in range(args.runs)
        ]
        med = statistics.median(rates)
        report.append(
            f"terminal output, {view}, {args.services} services, 1 s refresh, {size}: "
            f"median {med:.0f} B/s (runs: {', '.join(f'{r:.0f}' for r in rates)})"
        )
        out.append(
            {
                "figure": f"{view} output {args.services} svc 1s refresh {size}",
                "value": round(med, 1),
                "unit": "B/s",
                "limit": "<= 4096",
                "reference": None,
            }
        )
    return out


def first_frame_row(args: argparse.Namespace, report: list[str]) -> dict[str, object]:
    """Exec to the first full frame, with `args.services` configured services."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "warroom.yaml"
        services = "".join(f"  - name: service-{i:02d}\n" for i in range(args.services))
        cfg.write_text(
            'otlp:\n  http: "127.0.0.1:0"\n  grpc: ""\n'  # nobody pushes: any port
            f"refresh: 1s\nservices:\n{services}"
        )
        times = [first_frame(160, 48, cfg) for _ in range(args.runs)]
    med = statistics.median(times)
    report.append(
        f"start to first frame (160x48): median {med * 1000:.0f} ms "
        f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)})"
    )
    return {
        "figure": "dashboard start to first frame",
        "value": round(med, 3),
        "unit": "s",
        "limit": "<= 0.5",
        "reference": None,
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--json", action="store_true")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument(
        "--warmup",
        type=float,
        default=40.0,
        help="seconds before counting: the demo rate window (30 s) must fill",
    )
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--services", type=int, default=50)
    p.add_argument("--sizes", default="80x24,160x48,250x70", help="the dashboard's sizes")
    p.add_argument("--route-sizes", default="160x48", help="the route view's sizes ('' none)")
    p.add_argument("--no-first-frame", action="store_true", help="only the output figures")
    args = p.parse_args()
    report: list[str] = []
    rows_out = output_rows(args, report)
    if not args.no_first_frame:
        rows_out.append(first_frame_row(args, report))
    print("\n".join(report))
    if args.json:
        print(json.dumps(rows_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
