"""Route view figures against a real Prometheus (1 s scrapes) of 50 services x 20 routes.

- Refresh cost: one RoutesPoller.refresh of one service (its top routes, their count, and the
  P50/P95/P99/QPS/error-ratio range queries over a 15 min window at 5 s steps), median wall
  time over --runs; Prometheus' evaluation is most of it.
- Terminal output with the route view open: `warroom -c CONFIG` in a pty, Enter on the first
  service, bytes written per second after a warm-up. Limit 4 KB/s.

Run alone for a report; `--json` prints the rows for benchmarks/run_all.py on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_dashboard import WARROOM, _drain, _finish, _spawn  # noqa: E402

from tests.servers import ExpositionServer, start_prometheus, wait_for_scrape  # noqa: E402
from tui.config import parse_config  # noqa: E402
from tui.core.metrics.store import MetricStore  # noqa: E402
from tui.sources.prometheus import PrometheusSource  # noqa: E402
from tui.sources.routes import RoutesPoller  # noqa: E402

LES = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")


class Exposition:
    """`bench_seconds{service,route,code}`: per scrape route r of every service gets 10+r
    requests spread over the buckets (a DefBuckets-like layout), 1 in 100 a 500."""

    def __init__(self, services: int, routes: int) -> None:
        self.services, self.routes, self.n = services, routes, 0
        self.lock = threading.Lock()

    def text(self) -> str:
        with self.lock:
            self.n += 1
            n = self.n
        out = ["# TYPE bench_seconds histogram"]
        for s in range(self.services):
            for r in range(self.routes):
                per = 10 + r
                for code, share in (("200", 0.99), ("500", 0.01)):
                    base = f'service="svc{s}",route="/r/{r}",code="{code}"'
                    for i, le in enumerate(LES):
                        c = n * per * share * min(1.0, (i + 1) / (len(LES) - 2))
                        out.append(f'bench_seconds_bucket{{{base},le="{le}"}} {c:.3f}')
                    out.append(f"bench_seconds_count{{{base}}} {n * per * share:.3f}")
        return "\n".join(out) + "\n"


def config(prom: str, services: int) -> str:
    lines = [
        f'prometheus:\n  url: "{prom}"\notlp: {{http: "", grpc: ""}}',
        "refresh: 5s\nrate_window: 10s\nwindow: 15m\nservices:",
    ]
    for s in range(services):
        lines.append(
            f"  - name: svc{s}\n    prometheus:\n"
            f"      latency_histogram: 'bench_seconds{{service=\"svc{s}\"}}'"
        )
    return "\n".join(lines) + "\n"


async def refresh_cost(prom: str, services: int, runs: int) -> list[float]:
    source = PrometheusSource(parse_config(config(prom, services)), MetricStore())
    poller = RoutesPoller(source, "svc0")
    times = []
    try:
        for _ in range(runs):
            t0 = time.monotonic()
            view = await poller.refresh()
            times.append(time.monotonic() - t0)
            assert view.error is None and len(view.rows) == 20, view
    finally:
        await source.aclose()
    return times


def output_rate(cfg: Path, cols: int, rows: int, warmup: float, seconds: float) -> float:
    pid, fd, t0 = _spawn([*WARROOM, "-c", str(cfg)], cols, rows)
    buf = b""
    counted = 0
    try:
        while b"palette" not in buf:
            if time.monotonic() - t0 > 20:
                raise RuntimeError("no frame within 20 s")
            buf += _drain(fd, 0.05)
        os.write(fd, b"\r")  # Enter: the first service's routes
        start = time.monotonic() + warmup
        end = start + seconds
        seen, opened, pressed = b"", False, time.monotonic()
        while (now := time.monotonic()) < end:
            if not opened and now - pressed > 2:  # the sources were not up yet: again
                os.write(fd, b"\r")
                pressed = now
            data = _drain(fd, 0.2)
            seen = seen[-100:] + data  # the title may come first in a chunk of 4 KB
            opened = opened or b"Routes of svc" in seen
            if now >= start:
                counted += len(data)
        if not opened:
            raise RuntimeError("the route view did not open")
    finally:
        _finish(pid, fd)
    return counted / seconds


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--json", action="store_true")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--services", type=int, default=50)
    p.add_argument("--routes", type=int, default=20)
    p.add_argument("--warmup", type=float, default=8.0)
    p.add_argument("--seconds", type=float, default=15.0)
    args = p.parse_args()
    expo = ExpositionServer()
    expo.set(Exposition(args.services, args.routes).text)
    with tempfile.TemporaryDirectory() as d, expo, start_prometheus(Path(d), [expo.target]) as prom:
        wait_for_scrape(prom, 'count_over_time(bench_seconds_count{route="/r/0"}[30s]) >= 4')
        times = asyncio.run(refresh_cost(prom, args.services, args.runs))
        cfg = Path(d) / "warroom.yaml"
        cfg.write_text(config(prom, args.services))
        rate = output_rate(cfg, 160, 48, args.warmup, args.seconds)
    med = statistics.median(times)
    what = f"{args.services} services x {args.routes} routes"
    rows = [
        {
            "figure": f"route view refresh, one service of {what}, 15 min window",
            "value": round(med * 1000, 1),
            "unit": "ms",
            "limit": "",
            "reference": None,
        },
        {
            "figure": f"terminal output with the route view open, {what}, 160x48",
            "value": round(rate),
            "unit": "B/s",
            "limit": "<= 4096",
            "reference": None,
        },
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        print(
            f"route view refresh ({what}): median {med * 1000:.1f} ms "
            f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)})"
        )
        print(f"terminal output, route view open, 160x48: {rate:.0f} B/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
