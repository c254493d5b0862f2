"""Run every benchmarks/bench_*.py in its own process and print one table.

Each script, run with `--json`, prints on its last stdout line a JSON list of rows:
{"figure": str, "value": float, "unit": str, "limit": str, "reference": str | None}
(`reference` is the side-by-side figure of the reference tool, e.g. go tool pprof, when one
exists). Run a single script without `--json` for its own readable output.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """What BENCHMARKS.md needs to say where a figure was measured."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            cpu = names[0]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load average {load:.2f} at the end"
    )


def main() -> int:
    only = sys.argv[1:]
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if any(o in s.stem for o in only)]
    rows: list[dict[str, Any]] = []
    failed = []
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, str(script), "--json"], capture_output=True, text=True, cwd=HERE.parent
        )
        if proc.returncode != 0:
            failed.append(script.name)
            print(proc.stderr[-2000:], file=sys.stderr)
            continue
        lines = proc.stdout.strip().splitlines()
        try:
            script_rows = json.loads(lines[-1])
        except (IndexError, ValueError):
            failed.append(script.name)
            print(f"{script.name}: no JSON rows on its last line", file=sys.stderr)
            continue
        for row in script_rows:
            row["script"] = script.name
            rows.append(row)
    print(f"machine: {machine()}")
    w = max([len(r["figure"]) for r in rows] + [6])
    print(f"{'figure':<{w}}  {'value':>14}  {'limit':<14}  reference")
    for r in rows:
        value = f"{r['value']:.4g} {r['unit']}"
        print(
            f"{r['figure']:<{w}}  {value:>14}  {r.get('limit') or '':<14}  "
            f"{r.get('reference') or ''}"
        )
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
