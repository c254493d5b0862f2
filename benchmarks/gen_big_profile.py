"""Write a 1,000,000-sample CPU profile stretched from large.cpu (for bench_pprof.py).

Stacks are large.cpu's stacks, varied: each new sample takes a random source stack, cuts it at
a random depth and grows a random tail of locations from another stack, so most stacks are new.
Samples carry string labels (route, 40 values; worker, 16 values) and a numeric `bytes` label.
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


def generate(n: int, out: Path, seed: int = 1) -> Path:
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
    other = rng.integers(0, len(stacks), size=n)
    cut_frac = rng.random(n)
    tail_len = rng.integers(0, 6, size=n)
    counts = rng.geometric(0.6, size=n)
    route_i = rng.integers(0, len(routes), size=n)
    worker_i = rng.integers(0, len(workers), size=n)
    nbytes = rng.integers(1, 1 << 20, size=n)
    samples = prof.sample
    for i in range(n):
        st = stacks[pick[i]]
        cut = int(len(st) * cut_frac[i])
        tail = stacks[other[i]][: int(tail_len[i])]
        locs = tail + st[cut:] if cut else st
        c = int(counts[i])
        smp = samples.add(location_id=locs, value=[c, c * period])
        smp.label.add(key=k_route, str=routes[route_i[i]])
        smp.label.add(key=k_worker, str=workers[worker_i[i]])
        smp.label.add(key=k_bytes, num=int(nbytes[i]), num_unit=u_bytes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(prof.SerializeToString(), compresslevel=6))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / ".bench" / "big.pb.gz")
    args = ap.parse_args()
    t = time.perf_counter()
    path = generate(args.samples, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {args.samples} samples) "
          f"in {time.perf_counter() - t:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
