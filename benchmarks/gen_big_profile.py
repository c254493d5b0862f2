"""Write a 1,000,000-sample CPU profile stretched from large.cpu (for bench_pprof.py).

Stacks are large.cpu's stacks, varied: each new sample takes a random source stack and, two
times in five, cuts it at a random depth and grafts one of 4,000 leaf tails taken from other
stacks, so the profile holds many new call paths (about 10^5 distinct stacks; --unique-tails
raises that). Samples carry string labels (route, 40 values; worker, 16 values) and a numeric
`bytes` label from 32 size classes.

The file keeps the record order and encoding of Go's runtime/pprof (large.cpu's own): the
header fields, then each sample preceded by the locations it uses first (each location
followed by the functions it uses first), then mappings and the string table. A sample is
[values][location ids][labels], and a repeated field of one or two numbers is written
unpacked (runtime/pprof's protobuf.go packs only longer runs). Re-serialising with protobuf
would write every field in field-number order instead, a layout no Go program produces.
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

_SAMPLE, _MAPPING, _LOCATION, _FUNCTION, _STRINGS = 2, 3, 4, 5, 6


def _varint(v: int) -> bytes:
    v &= 2**64 - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _field(num: int, payload: bytes) -> bytes:
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


def _numbers(num: int, xs: list[int]) -> bytes:
    """A repeated integer field as runtime/pprof writes it: packed only past two numbers."""
    if len(xs) > 2:
        return _field(num, b"".join(map(_varint, xs)))
    return b"".join(_varint(num << 3) + _varint(x) for x in xs)


def _records(data: bytes) -> list[tuple[int, bytes]]:
    """The top-level records of a serialised message: (field number, the record's bytes)."""
    out = []
    pos = 0
    while pos < len(data):
        start = pos
        tag = 0
        shift = 0
        while True:
            b = data[pos]
            pos += 1
            tag |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        wt = tag & 7
        if wt == 0:
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        elif wt == 2:
            ln = 0
            shift = 0
            while True:
                b = data[pos]
                pos += 1
                ln |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            pos += ln
        else:
            pos += 8 if wt == 1 else 4
        out.append((tag >> 3, data[start:pos]))
    return out


def generate(n: int, out: Path, seed: int = 1, tails: int = 4000) -> Path:
    raw = gzip.decompress(LARGE.read_bytes())
    src = schema.Profile.FromString(raw)
    records = _records(raw)
    body = {_SAMPLE, _LOCATION, _FUNCTION}
    first_body = next(i for i, (f, _) in enumerate(records) if f in body)
    header = b"".join(r for _, r in records[:first_body])
    trailer = b"".join(r for f, r in records[first_body:] if f not in body | {_STRINGS})
    loc_rec = {loc.id: _field(_LOCATION, loc.SerializeToString()) for loc in src.location}
    fn_rec = {fn.id: _field(_FUNCTION, fn.SerializeToString()) for fn in src.function}
    loc_fns = {loc.id: [ln.function_id for ln in loc.line] for loc in src.location}

    rng = np.random.default_rng(seed)
    stacks = [list(s.location_id) for s in src.sample]
    strings = list(src.string_table)

    def s(x: str) -> int:
        strings.append(x)
        return len(strings) - 1

    def label(key: int, str_: int = 0, num: int = 0, unit: int = 0) -> bytes:
        fields = [(1, key), (2, str_), (3, num), (4, unit)]
        return _field(3, b"".join(_varint(k << 3) + _varint(v) for k, v in fields if v))

    k_route, k_worker, k_bytes, u_bytes = s("route"), s("worker"), s("bytes"), s("bytes")
    routes = [label(k_route, str_=s(f"/api/v1/endpoint{i}")) for i in range(40)]
    workers = [label(k_worker, str_=s(f"w{i:02d}")) for i in range(16)]
    sizes = [16 << (i // 2) if i % 2 == 0 else 24 << (i // 2) for i in range(32)]
    size_labels = [label(k_bytes, num=z, unit=u_bytes) for z in sizes]
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
    nbytes = rng.integers(0, len(sizes), size=n)

    parts = [header]
    seen_loc: set[int] = set()
    seen_fn: set[int] = set()

    def emit_location(lid: int) -> None:
        seen_loc.add(lid)
        parts.append(loc_rec[lid])
        for fid in loc_fns[lid]:
            if fid and fid not in seen_fn:
                seen_fn.add(fid)
                parts.append(fn_rec[fid])

    for i in range(n):
        st = stacks[pick[i]]
        if graft[i]:
            cut = max(1, int(len(st) * cut_frac[i]))
            locs = tail_pool[tail_i[i]] + st[cut:]
        else:
            locs = st
        for lid in locs:
            if lid not in seen_loc:
                emit_location(lid)
        c = int(counts[i])
        smp = (
            _numbers(2, [c, c * period])
            + _numbers(1, locs)
            + routes[route_i[i]]
            + workers[worker_i[i]]
            + size_labels[nbytes[i]]
        )
        parts.append(_field(_SAMPLE, smp))
    for lid in loc_rec:  # those no sample uses (a small --samples leaves some; runtime/pprof
        # would write none, but the function table keeps all of large.cpu's functions)
        if lid not in seen_loc:
            emit_location(lid)
    parts.append(trailer)
    parts.extend(_field(_STRINGS, x.encode()) for x in strings)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(b"".join(parts), compresslevel=6))
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
