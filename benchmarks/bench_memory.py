"""Memory after ingesting 24 h of 1 s points for 200 series into the MetricStore.

Each measurement runs in a fresh child process (so RSS is not polluted by the parent) that
appends 86,400 points to each of 200 series (40 services x 5 signals) through
`MetricStore.add`, then reports VmRSS. Three stores:

- the store the dashboard makes at 1 s refresh (`retention_capacity(1.0)`: 6 h, the widest
  zoom): the figure, limit <= 300 MB, plus the RSS growth from the hour the rings are full
  to hour 24, which must be ~0 (memory bounded by construction);
- the default store (`MetricStore()`, 3,600 points a series): informational;
- full 24 h retention (`MetricStore(capacity=86_400)`): informational, shows what keeping
  every 1 s point for a day costs with float64 time + float64 value + uint8 flags per point.

RSS is deterministic here, so one child run per store (not a median of timings).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = 40  # x 5 signals = 200 series
SECONDS = 86_400


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(capacity: int | None) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    import math

    from tui.core.metrics.store import SIGNALS, MetricStore

    store = (
        MetricStore(max_series=10_000)
        if capacity is None
        else MetricStore(capacity=capacity, max_series=10_000)
    )
    base = rss_mb()
    names = [f"svc-{i:02d}" for i in range(SERVICES)]
    t0 = 1.7e9
    # RSS once every ring is full (numpy's pages are touched as the rings fill, so growth
    # before that is the rings, not a leak); from then to hour 24 it must stay flat.
    full_at = min(max(3600, store.capacity), SECONDS - 1)
    at_full = 0.0
    for s in range(SECONDS):
        t = t0 + s
        v = 0.05 + 0.01 * math.sin(s / 60.0)
        for name in names:
            for sig in SIGNALS:
                store.add(name, sig, t, v, 0)
        if s == full_at:
            at_full = rss_mb()
    return {
        "rss_mb": rss_mb(),
        "rss_full_mb": at_full,
        "full_h": full_at / 3600,
        "baseline_mb": base,
        "series": store.series_count,
        "capacity": store.capacity,
        "ring_mb": store.nbytes / 2**20,
    }


def measure(capacity: int | None) -> dict[str, float]:
    arg = ["--child", str(capacity if capacity is not None else 0)]
    out = subprocess.run(
        [sys.executable, __file__, *arg], capture_output=True, text=True, check=True, cwd=ROOT
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child or None)))
        return 0
    sys.path.insert(0, str(ROOT))
    from tui.core.metrics.store import retention_capacity

    dashboard = measure(retention_capacity(1.0))
    default = measure(None)
    full = measure(SECONDS)

    def growth(r: dict[str, float]) -> str:
        return f"growth hour {r['full_h']:.0f} (rings full) -> 24: {r['rss_mb'] - r['rss_full_mb']:+.1f} MiB"

    rows = [
        {
            "figure": "RSS after 24 h of 1 s points, 200 series (dashboard store at 1 s: 6 h)",
            "value": round(dashboard["rss_mb"], 1),
            "unit": "MiB",
            "limit": "<= 300",
            "reference": f"capacity {int(dashboard['capacity'])}/series; {growth(dashboard)}",
        },
        {
            "figure": "RSS after 24 h of 1 s points, 200 series (default store)",
            "value": round(default["rss_mb"], 1),
            "unit": "MiB",
            "limit": "informational",
            "reference": f"capacity {int(default['capacity'])}/series; {growth(default)}",
        },
        {
            "figure": "RSS after 24 h of 1 s points, 200 series (capacity 86,400: full day)",
            "value": round(full["rss_mb"], 1),
            "unit": "MiB",
            "limit": "informational",
            "reference": f"rings {full['ring_mb']:.0f} MiB + interpreter {full['baseline_mb']:.0f} MiB",
        },
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for name, r in (
            ("dashboard store at 1 s refresh (6 h, widest zoom)", dashboard),
            ("default store", default),
            ("full 24 h retention", full),
        ):
            print(f"{name}: capacity {int(r['capacity'])} points/series, {int(r['series'])} series")
            print(
                f"  RSS {r['rss_mb']:.1f} MiB (interpreter {r['baseline_mb']:.1f} MiB, rings "
                f"{r['ring_mb']:.1f} MiB); once the rings are full (hour {r['full_h']:.0f}): {r['rss_full_mb']:.1f} MiB"
            )
        print("limit: <= 300 MB RSS for the dashboard store (figures in MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
