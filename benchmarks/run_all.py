"""Run every benchmarks/bench_*.py in its own process and print one table.

Each script, run with `--json`, prints on its last stdout line a JSON list of rows:
{"figure": str, "value": float, "unit": str, "limit": str, "reference": str | None}
(`reference` is the side-by-side figure of the reference tool, e.g. go tool pprof, when one
exists). Run a single script without `--json` for its own readable output.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = sys.argv[1:]
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if any(o in s.stem for o in only)]
    rows: list[dict] = []
    failed = []
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, str(script), "--json"], capture_output=True,
                              text=True, cwd=HERE.parent)
        if proc.returncode != 0:
            failed.append(script.name)
            print(proc.stderr[-2000:], file=sys.stderr)
            continue
        last = proc.stdout.strip().splitlines()[-1]
        for row in json.loads(last):
            row["script"] = script.name
            rows.append(row)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}")
    w = max([len(r["figure"]) for r in rows] + [6])
    print(f"{'figure':<{w}}  {'value':>14}  {'limit':<14}  reference")
    for r in rows:
        value = f"{r['value']:.4g} {r['unit']}"
        print(f"{r['figure']:<{w}}  {value:>14}  {r.get('limit') or '':<14}  "
              f"{r.get('reference') or ''}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
