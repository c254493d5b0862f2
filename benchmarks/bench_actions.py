"""Actions: audit-log append (fsync per line) and read-back, and runner overhead.

Figures: median of 5 runs each. `--json` prints the rows on the last line (see run_all.py).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tui.config import parse_config
from tui.core.actions import resolve_action
from tui.core.actions.audit import append_record, make_record, read_audit
from tui.sources.actions import ActionRunner

RUNS = 5


def _record(i: int) -> dict[str, Any]:
    return make_record(
        "finished",
        service="checkout",
        action="rollback",
        who="bench@host",
        target={"kind": "exec", "argv": ["kubectl", "rollout", "undo", "x"]},
        status="ok",
        exit=0,
        duration_s=1.0,
        output_tail=["line"] * 20,
        seq=i,
    )


def bench_append(d: Path, n: int = 200) -> float:
    path = d / "append.jsonl"
    recs = [_record(i) for i in range(n)]
    t0 = time.perf_counter()
    for r in recs:
        append_record(path, r)
    return (time.perf_counter() - t0) / n * 1e6  # µs per line


def bench_read(d: Path, n: int = 10_000) -> float:
    path = d / "read.jsonl"
    if not path.exists():
        line = json.dumps(_record(0), separators=(",", ":")) + "\n"
        path.write_text(line * n)
    t0 = time.perf_counter()
    log = read_audit(path, since=0)
    assert len(log.records) == n
    return (time.perf_counter() - t0) * 1e3  # ms


def bench_runner(d: Path, n: int = 10) -> float:
    cfg = parse_config("actions:\n  rollback:\n    exec: [/bin/echo, '{service}']\n")
    action = resolve_action(cfg, "checkout", "rollback")
    runner = ActionRunner(d / "runner.jsonl")

    async def go() -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            res = await runner.run(action)
            assert res.ok
        return (time.perf_counter() - t0) / n * 1e3

    return asyncio.run(go())  # ms per run: spawn, stream, reap, two audit lines


def main() -> int:
    as_json = "--json" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        append = statistics.median(bench_append(d) for _ in range(RUNS))
        read = statistics.median(bench_read(d) for _ in range(RUNS))
        run = statistics.median(bench_runner(d) for _ in range(RUNS))
    rows = [
        {
            "figure": "audit append, fsync per line",
            "value": append,
            "unit": "µs/line",
            "limit": "",
            "reference": None,
        },
        {
            "figure": "audit read 10k lines",
            "value": read,
            "unit": "ms",
            "limit": "",
            "reference": None,
        },
        {
            "figure": "exec action round trip (/bin/echo, audited)",
            "value": run,
            "unit": "ms",
            "limit": "",
            "reference": None,
        },
    ]
    if as_json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['figure']:<46} {r['value']:>10.1f} {r['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
