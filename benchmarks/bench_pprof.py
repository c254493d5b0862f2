"""pprof engine figures, each beside `go tool pprof -top` on the same file in the same run.

Figures (medians of --runs, default 5):
- large.cpu: load + call tree + function table (in-process, imports excluded), and the whole
  `warroom profile large.cpu --top` command; reference: `go tool pprof -top` wall time.
- the 1,000,000-sample profile from gen_big_profile.py (.bench/big.pb.gz, generated when
  missing; in Go's runtime record order, as real profiles come): load + tree + table in a
  fresh process, its peak RSS, then switching sample type
  (tree totals + table for the other type) and a focus filter (filter + tree + table).
  go tool pprof needs minutes on that file, so its reference there is a single run.
Run alone for a readable report; --json prints a JSON list of rows on the last line.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LARGE = ROOT.parent / "shared" / "fixtures" / "pprof" / "large.cpu"
BIG = ROOT / ".bench" / "big.pb.gz"


def child(path: str) -> None:
    """One measured pass in this (fresh) process; prints a JSON dict."""
    from tui.core.pprof import FilterSpec, apply_filters, function_table, load_profile

    t0 = time.perf_counter()
    p = load_profile(path)
    t1 = time.perf_counter()
    tree = p.tree
    t2 = time.perf_counter()
    rows = function_table(p, p.default_index)
    t3 = time.perf_counter()
    other = (p.default_index + 1) % p.n_types
    tree.total(other)
    function_table(p, other)
    t4 = time.perf_counter()
    q = apply_filters(p, FilterSpec(focus="rand"))
    q.tree.total(q.default_index)
    function_table(q, q.default_index)
    t5 = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "load": t1 - t0,
                "tree": t2 - t1,
                "top": t3 - t2,
                "switch": t4 - t3,
                "focus": t5 - t4,
                "rss_mb": rss_mb,
                "rows": len(rows),
                "stacks": p.n_stacks,
                "nodes": len(tree),
                "samples": p.raw_sample_count,
            }
        )
    )


def _child_run(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _wall(cmd: list[str], timeout: float = 900.0) -> float:
    """Wall time of a command; +inf when it runs past `timeout` seconds, NaN when it fails
    (a reference tool that cannot run must not cost the rows of the others)."""
    t = time.perf_counter()
    try:
        subprocess.run(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            cwd=ROOT,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return float("inf")
    except subprocess.CalledProcessError:
        return float("nan")
    return time.perf_counter() - t


def _versus(go_seconds: float, ours: float, runs: str) -> str:
    """The reference figure and how many times warroom's is faster."""
    if go_seconds != go_seconds:  # NaN: go failed
        return "go tool pprof -top failed"
    if go_seconds == float("inf"):
        return "go tool pprof -top did not finish in 900 s"
    return (
        f"go tool pprof -top {go_seconds:.2f} s ({runs}): warroom {go_seconds / ours:.1f}x faster"
    )


def _go_top(path: Path) -> list[str] | None:
    if shutil.which("go") is None:
        return None
    return ["go", "tool", "pprof", "-top", str(path)]


def main() -> int:
    as_json = "--json" in sys.argv
    runs = 5
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    if not BIG.exists():
        print("generating .bench/big.pb.gz ...", file=sys.stderr, flush=True)
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "gen_big_profile.py")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    rows: list[dict[str, object]] = []

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    go_large = _go_top(LARGE)
    large = [_child_run(LARGE) for _ in range(runs)]
    go_large_t = [_wall(go_large) for _ in range(runs)] if go_large else []
    cli = [
        _wall([sys.executable, "-m", "tui.cli", "profile", str(LARGE), "--top"])
        for _ in range(runs)
    ]
    large_s = med([r["load"] + r["tree"] + r["top"] for r in large])
    runs_l = f"median of {runs}"
    ref_l = _versus(med(go_large_t), large_s, runs_l) if go_large_t else None
    rows.append(
        {
            "figure": "pprof large.cpu load+tree+top",
            "value": large_s,
            "unit": "s",
            "limit": "<= 0.3 s",
            "reference": ref_l,
        }
    )
    rows.append(
        {
            "figure": "pprof large.cpu `warroom profile --top` process",
            "value": med(cli),
            "unit": "s",
            "limit": "",
            "reference": _versus(med(go_large_t), med(cli), runs_l) if go_large_t else None,
        }
    )

    big = [_child_run(BIG) for _ in range(runs)]
    go_big = _go_top(BIG)
    # go tool pprof takes minutes on this file: one run, not five
    go_big_t = [_wall(go_big)] if go_big else []
    big_s = med([r["load"] + r["tree"] + r["top"] for r in big])
    ref_b = _versus(go_big_t[0], big_s, "1 run") if go_big_t else None
    info = big[0]
    label = f"1M samples ({int(info['stacks'])} stacks, {int(info['nodes'])} nodes)"
    rows.append(
        {
            "figure": f"pprof {label} load+tree+top",
            "value": big_s,
            "unit": "s",
            "limit": "<= 3 s",
            "reference": ref_b,
        }
    )
    rows.append(
        {
            "figure": "pprof 1M peak RSS (load+tree+top+switch+focus)",
            "value": med([r["rss_mb"] for r in big]),
            "unit": "MB",
            "limit": "<= 1536 MB",
            "reference": None,
        }
    )
    rows.append(
        {
            "figure": "pprof 1M switch sample type (totals+table)",
            "value": med([r["switch"] for r in big]),
            "unit": "s",
            "limit": "<= 0.3 s",
            "reference": None,
        }
    )
    rows.append(
        {
            "figure": "pprof 1M focus filter (filter+tree+table)",
            "value": med([r["focus"] for r in big]),
            "unit": "s",
            "limit": "<= 0.3 s",
            "reference": None,
        }
    )
    if as_json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(
                f"{r['figure']:<70} {r['value']:>9.3f} {r['unit']:<3} {r['limit']:<12} "
                f"{r['reference'] or ''}"
            )
        print(
            f"(medians of {runs} runs; load/tree/top split of the 1M run: "
            f"{med([r['load'] for r in big]):.2f} / {med([r['tree'] for r in big]):.2f} / "
            f"{med([r['top'] for r in big]):.2f} s)"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
