"""Write a 1,000,000-sample CPU profile stretched from large.cpu (for bench_pprof.py).

Stacks are large.cpu's stacks, varied: each new sample takes a random source stack and, two
times in five, cuts it at a random depth and grafts one of 4,000 leaf tails taken from other
stacks, so the profile holds many new call paths (about 10^5 distinct stacks; --unique-tails
raises that). Samples carry string labels (route, 40 values; worker, 16 values) and a numeric
`bytes` label from 32 size classes.
Deterministic (seeded). Written as gzip to .bench/big.pb.gz by default (gitignored).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core.pprof import schema  # noqa: E402

LARGE = ROOT.parent / "shared" / "fixtures" / "pprof" / "large.cpu"


def generate(n: int, out: Path, seed: int = 1, tails: int = 4000) -> Path:
    src = schema.Profile.FromString(gzip.decompress(LARGE.read_bytes()))
    rng = np.random.default_rng(seed)
    stacks = [list(s.location_id) for s in src.sample]
    prof = schema.Profile()
    prof.CopyFrom(src)
    del prof.sample[:]
    strings = list(prof.string_table)

    def s(x: str) -> int:
        strings.append(x)
        prof.string_table.append(x)
        return len(strings) - 1

    k_route, k_worker, k_bytes, u_bytes = s("route"), s("worker"), s("bytes"), s("bytes")
    routes = [s(f"/api/v1/endpoint{i}") for i in range(40)]
    workers = [s(f"w{i:02d}") for i in range(16)]
    period = src.period or 10_000_000
    pick = rng.integers(0, len(stacks), size=n)
    graft = rng.random(n) < 0.4
    cut_frac = rng.random(n)
    tail_pool = [
        stacks[int(j)][: int(ln)]
        for j, ln in zip(
            rng.integers(0, len(stacks), size=tails), rng.integers(1, 6, size=tails), strict=True
        )
    ]
    tail_i = rng.integers(0, tails, size=n)
    counts = rng.geometric(0.6, size=n)
    route_i = rng.integers(0, len(routes), size=n)
    worker_i = rng.integers(0, len(workers), size=n)
    sizes = [16 << (i // 2) if i % 2 == 0 else 24 << (i // 2) for i in range(32)]
    nbytes = rng.integers(0, len(sizes), size=n)
    samples = prof.sample
    for i in range(n):
        st = stacks[pick[i]]
        if graft[i]:
            cut = max(1, int(len(st) * cut_frac[i]))
            locs = tail_pool[tail_i[i]] + st[cut:]
        else:
            locs = st
        c = int(counts[i])
        smp = samples.add(location_id=locs, value=[c, c * period])
        smp.label.add(key=k_route, str=routes[route_i[i]])
        smp.label.add(key=k_worker, str=workers[worker_i[i]])
        smp.label.add(key=k_bytes, num=sizes[nbytes[i]], num_unit=u_bytes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(prof.SerializeToString(), compresslevel=6))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / ".bench" / "big.pb.gz")
    ap.add_argument("--tails", type=int, default=4000, help="size of the graft pool")
    args = ap.parse_args()
    t = time.perf_counter()
    path = generate(args.samples, args.out, tails=args.tails)
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {args.samples} samples) "
        f"in {time.perf_counter() - t:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
