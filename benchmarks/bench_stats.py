"""Figures for the regression statistics (issue 5).

- `bench compare` of 500 rows x 10 samples (125 benchmarks x 4 units, -count=10), in
  process: parse both files, compare, BH, render the text tables. Limit: 1 s.
- `warroom bench compare` of the same files as a process (start-up included), for context.
- exact Mann-Whitney U for 25+25 samples with ties (a fresh tie pattern every call, so no
  cache helps). Limit: 5 ms per row.

Medians of RUNS runs. benchstat could not be installed here (no Go module proxy), so the
reference column is empty; run `benchstat old.txt new.txt` on the files this script writes
(kept with --keep DIR) to fill it in.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core.bench.compare import compare_bench  # noqa: E402
from tui.core.bench.parser import read_bench_file  # noqa: E402
from tui.core.stats.mannwhitney import mann_whitney_u  # noqa: E402
from tui.core.stats.report import render_text  # noqa: E402

RUNS = 5


def write_files(d: Path, benchmarks: int = 125, count: int = 10) -> tuple[Path, Path]:
    rng = np.random.default_rng(42)
    paths = []
    for side, shift in (("old", 1.0), ("new", 1.03)):
        lines = ["goos: linux", "goarch: amd64", "pkg: example.com/bench", "cpu: synthetic"]
        for b in range(benchmarks):
            base = 1000.0 * (1 + b % 17)
            for _ in range(count):
                ns = base * shift * rng.lognormal(0, 0.03)
                lines.append(
                    f"BenchmarkCase{b}/size={b % 5}-8\t{1000}\t{ns:.1f} ns/op\t"
                    f"{1e9 / ns:.2f} MB/s\t{int(base / 10) + rng.integers(0, 3)} B/op\t"
                    f"{b % 7 + rng.integers(0, 2)} allocs/op"
                )
        lines.append("PASS")
        p = d / f"{side}.txt"
        p.write_text("\n".join(lines) + "\n")
        paths.append(p)
    return paths[0], paths[1]


def bench_compare(old: Path, new: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = compare_bench(read_bench_file(old), read_bench_file(new))
    render_text(result.tables)
    return time.perf_counter() - t0, len(result.rows)


def bench_cli(old: Path, new: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tui.cli", "bench", "compare", str(old), str(new)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return time.perf_counter() - t0


def bench_exact_u(calls: int = 40) -> float:
    rng = np.random.default_rng(7)
    samples = [
        (rng.integers(0, 30, 25).astype(float), rng.integers(3, 33, 25).astype(float))
        for _ in range(calls)
    ]
    t0 = time.perf_counter()
    for x, y in samples:
        r = mann_whitney_u(x, y)
        assert r.exact
    return (time.perf_counter() - t0) / calls * 1e3


def main() -> int:
    as_json = "--json" in sys.argv
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(keep) if keep else Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        old, new = write_files(d)
        bench_compare(old, new)  # warm-up: imports, U tables for 10+10
        runs = [bench_compare(old, new) for _ in range(RUNS)]
        rows_n = runs[0][1]
        compare_s = statistics.median(r[0] for r in runs)
        cli_s = statistics.median(bench_cli(old, new) for _ in range(RUNS))
        exact_ms = statistics.median(bench_exact_u() for _ in range(RUNS))
    rows = [
        {
            "figure": f"bench compare {rows_n} rows x 10 samples (in process)",
            "value": compare_s,
            "unit": "s",
            "limit": "<= 1 s",
            "reference": None,
        },
        {
            "figure": f"warroom bench compare {rows_n} rows (process, incl. start-up)",
            "value": cli_s,
            "unit": "s",
            "limit": "",
            "reference": None,
        },
        {
            "figure": "exact U 25+25 with ties, per row",
            "value": exact_ms,
            "unit": "ms",
            "limit": "<= 5 ms",
            "reference": None,
        },
    ]
    if as_json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['figure']:<58} {r['value']:>9.4g} {r['unit']:<3} {r['limit']}")
        print("(benchstat unavailable here: no Go module proxy; reference column empty)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
