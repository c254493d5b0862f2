"""What every fuzz test shares: wire-level mutations, per-case limits, and the figures.

A fuzz test builds valid inputs with hypothesis strategies and mutates their bytes with
`mutate` (bit flips, byte rewrites, truncation, insertion, protobuf field rewrites, gzip
wrapping and gzip damage, gzip bombs). `Tracker.case` runs one input and checks the limits
the issue asks for: only the project's error type escapes, no case over 2 s of CPU (thread
CPU time, so a busy shared machine does not make it flaky), memory bounded. With
WARROOM_FUZZ_REPORT=FILE the figures (cases, refusals, worst time, peak RSS) are appended to
FILE as JSON lines, for BENCHMARKS.md.
"""

from __future__ import annotations

import gc
import gzip
import json
import os
import random
import resource
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

from tests.conftest import FUZZ_LONG, fuzz_cases
from tests.hostile import gzip_bomb
from tui.core.pprof.wire import varint
from tui.errors import UserError

CASE_CPU_LIMIT_S = 2.0
RSS_GROWTH_LIMIT = 512 * 2**20  # bombs are capped at FUZZ_INFLATE_CAP, inputs are small
# Examples per hypothesis run. Hypothesis keeps a record of every example of one run (in a
# 100,000-case OTLP batch that alone grew RSS past 512 MiB while the pipeline, fed the same
# kind of bodies outside hypothesis, stayed flat), so a long batch is several runs.
HYPOTHESIS_RUN = 2_000
FUZZ_INFLATE_CAP = 4 * 2**20  # the decoders' inflation cap during the fuzz (bombs: 8 MiB)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cases(quick: int, long: int = 100_000) -> int:
    """Cases of one input kind: `quick` in make test, `long` (>= 100,000 for in-process
    kinds) in make fuzz; WARROOM_FUZZ_CASES=N sets N (a bounded run)."""
    n = os.environ.get("WARROOM_FUZZ_CASES")
    return int(n) if n else fuzz_cases(quick, long)


def rss() -> int:
    """Resident set size now, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


@dataclass
class Tracker:
    """Counts and limits for one input kind."""

    kind: str
    target: int
    tried: int = 0
    refused: int = 0
    accepted: int = 0
    worst_cpu: float = 0.0
    worst_wall: float = 0.0
    rss_start: int = field(default_factory=rss)
    run_start: int = field(default_factory=rss)  # RSS when the current hypothesis run began
    rss_peak: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> bool:
        return self.tried >= self.target

    def case(self, run: Callable[[], Any]) -> Any:
        """Run one case; returns its result, or None when it was refused with a UserError."""
        self.tried += 1
        c0, w0 = time.thread_time(), time.perf_counter()
        try:
            out = run()
        except UserError:
            self.refused += 1
            out = None
        else:
            self.accepted += 1
        cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
        self.worst_cpu = max(self.worst_cpu, cpu)
        self.worst_wall = max(self.worst_wall, wall)
        assert cpu < CASE_CPU_LIMIT_S, f"{self.kind}: one case took {cpu:.2f} s of CPU"
        if self.tried % 64 == 0:
            now = rss()
            self.rss_peak = max(self.rss_peak, now)
            assert now - self.run_start < RSS_GROWTH_LIMIT, (
                f"{self.kind}: RSS grew by {(now - self.run_start) >> 20} MiB in one run"
            )
        return out

    def new_run(self) -> None:
        """Between hypothesis runs, with the last run's records freed: what the product kept
        across runs (a leak) shows as growth from the batch's start."""
        gc.collect()
        now = rss()
        self.rss_peak = max(self.rss_peak, now)
        assert now - self.rss_start < RSS_GROWTH_LIMIT, (
            f"{self.kind}: RSS grew by {(now - self.rss_start) >> 20} MiB across runs"
        )
        self.run_start = now

    def finish(self) -> None:
        """The batch's closing checks, and its figures for BENCHMARKS.md."""
        self.rss_peak = max(self.rss_peak, rss())
        max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        assert self.tried >= self.target, f"{self.kind}: only {self.tried} of {self.target} cases"
        report = os.environ.get("WARROOM_FUZZ_REPORT")
        if report:
            row = {
                "kind": self.kind,
                "profile": "long" if FUZZ_LONG else "quick",
                "cases": self.tried,
                "refused": self.refused,
                "accepted": self.accepted,
                "failures": 0,
                "worst_cpu_s": round(self.worst_cpu, 4),
                "worst_wall_s": round(self.worst_wall, 4),
                "rss_start_mib": round(self.rss_start / 2**20, 1),
                "rss_peak_mib": round(self.rss_peak / 2**20, 1),
                "process_max_rss_mib": round(max_rss / 2**20, 1),
                "seconds": round(time.monotonic() - self.started, 1),
            }
            with open(report, "a") as f:
                f.write(json.dumps(row) + "\n")


def run_examples(
    tr: Tracker, examples: int, test: Callable[..., None], **strategies: SearchStrategy[Any]
) -> None:
    """`test(**drawn)` for `examples` hypothesis examples, in runs of at most
    HYPOTHESIS_RUN (see there), each a fresh `@given` over `strategies`."""
    left = examples
    while left > 0:
        n = min(left, HYPOTHESIS_RUN)
        tr.new_run()
        run = settings(
            max_examples=n,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(**strategies)(test))
        run()
        left -= n


# ---- wire-level mutations -------------------------------------------------------------------

INTERESTING = [0, 1, 2, 127, 128, 2**31 - 1, 2**31, 2**32, 2**53, 2**63 - 1, 2**63, 2**64 - 1]


OVERLONG = [b"\xff" * 9 + b"\x7f", b"\xff" * 10 + b"\x01", b"\x80" * 9 + b"\x02"]


def fields(data: bytes, lo: int = 0, hi: int | None = None) -> list[tuple[int, int, int, int]]:
    """Top-level protobuf fields of data[lo:hi] as (start, payload start, end, wire type);
    stops at the first one that does not parse."""
    hi = len(data) if hi is None else hi
    out = []
    pos = lo
    while pos < hi:
        start = pos
        try:
            key, pos = _read(data, pos, hi)
            wire = key & 7
            if wire == 0:
                pstart = pos
                _, pos = _read(data, pos, hi)
            elif wire == 1:
                pstart, pos = pos, pos + 8
            elif wire == 5:
                pstart, pos = pos, pos + 4
            elif wire == 2:
                ln, pstart = _read(data, pos, hi)
                pos = pstart + ln
            else:
                break
        except IndexError:
            break
        if pos > hi:
            break
        out.append((start, pstart, pos, wire))
    return out


def _read(data: bytes, pos: int, hi: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        if pos >= hi or shift > 63:
            raise IndexError
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, pos
        shift += 7


def _rewrite_field(data: bytes, rng: random.Random, depth: int = 0) -> bytes:
    fs = fields(data)
    if not fs:
        return data
    start, pstart, end, wire = rng.choice(fs)
    key = data[start:pstart] if wire != 2 else data[start : start + _key_len(data, start)]
    op = rng.randrange(7)
    if op == 0:  # drop it
        return data[:start] + data[end:]
    if op == 1:  # repeat it
        return data[:end] + data[start:end] * rng.choice([1, 2, 50]) + data[end:]
    if op == 2 and wire == 0:  # an interesting value, or one beyond 64 bits
        v = rng.choice([varint(rng.choice(INTERESTING)), *OVERLONG])
        return data[:pstart] + v + data[end:]
    if op == 3 and wire == 2:  # a wrong length prefix
        payload = data[_payload_start(data, start) : end]
        ln = rng.choice([0, 1, len(payload) + 1, len(payload) * 2 + 7, 2**31, 2**62])
        return data[:start] + key + varint(ln) + payload + data[end:]
    if op == 4 and wire == 2 and depth < 3:  # mutate inside (a sample, a location...)
        ps = _payload_start(data, start)
        inner = _rewrite_field(data[ps:end], rng, depth + 1)
        inner = _flip(inner, rng) if rng.random() < 0.3 else inner
        return data[:start] + key + varint(len(inner)) + inner + data[end:]
    if op == 5:  # another field number or wire type under the same payload
        newkey = varint(rng.choice([0, 1, 2, 3, 7, 8, 15, 16, 2**29]) << 3 | rng.randrange(8))
        return data[:start] + newkey + data[start + len(key) :]
    # a field the schema does not have, with junk inside
    junk = rng.randbytes(rng.randrange(1, 20))
    return (
        data[:end]
        + varint((rng.randrange(15, 2000) << 3) | 2)
        + varint(len(junk))
        + junk
        + data[end:]
    )


def _key_len(data: bytes, start: int) -> int:
    _, p = _read(data, start, len(data))
    return p - start


def _payload_start(data: bytes, start: int) -> int:
    _, p = _read(data, start, len(data))
    _, p = _read(data, p, len(data))
    return p


def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4])):
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)


def mutate(data: bytes, rng: random.Random, protobuf: bool = True) -> bytes:
    """One to three random byte-level or field-level changes of `data`."""
    for _ in range(rng.choice([1, 1, 2, 3])):
        op = rng.randrange(8 if protobuf else 6)
        n = len(data)
        if op == 0:
            data = _flip(data, rng)
        elif op == 1 and n:
            i = rng.randrange(n)
            data = (
                data[:i]
                + bytes([rng.choice([0, 0x7F, 0x80, 0xFF, rng.randrange(256)])])
                + data[i + 1 :]
            )
        elif op == 2:
            data = data[: rng.randrange(n + 1)]
        elif op == 3:
            i = rng.randrange(n + 1)
            data = data[:i] + rng.randbytes(rng.randrange(1, 16)) + data[i:]
        elif op == 4 and n:
            i = rng.randrange(n)
            data = data[:i] + data[i + rng.randrange(1, 32) :]
        elif op == 5 and n:  # a run copied elsewhere
            i, j = rng.randrange(n), rng.randrange(n)
            data = data[:j] + data[i : i + rng.randrange(1, 64)] + data[j:]
        else:
            data = _rewrite_field(data, rng)
    return data


def compress(data: bytes, rng: random.Random) -> bytes:
    """`data` gzipped, sometimes damaged, or a gzip bomb instead of it."""
    op = rng.randrange(10)
    if op == 0:
        return gzip_bomb(rng.choice([2, 8]) * 2**20)
    z = gzip.compress(data, compresslevel=rng.choice([1, 6, 9]), mtime=0)
    if op == 1:
        return z[: rng.randrange(len(z) + 1)]
    if op == 2:
        return _flip(z, rng)
    if op == 3:
        return z + z  # two members
    if op == 4:
        return z + rng.randbytes(rng.randrange(1, 9))
    return z


def deflate(data: bytes, rng: random.Random) -> bytes:
    """`data` zlib-wrapped or raw deflate (both are HTTP `deflate`), sometimes damaged."""
    co = zlib.compressobj(6, zlib.DEFLATED, rng.choice([zlib.MAX_WBITS, -zlib.MAX_WBITS]))
    z = co.compress(data) + co.flush()
    op = rng.randrange(6)
    if op == 0:
        return z[: rng.randrange(len(z) + 1)]
    if op == 1:
        return _flip(z, rng)
    return z
