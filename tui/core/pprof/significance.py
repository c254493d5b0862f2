"""What a profile's values count, and a share test that uses those counts.

A share test needs counts of independent events, and a profile's values are not always such counts:
- CPU profiles count SIGPROF ticks: the `count` column (else value / period) is the events.
- Go heap profiles store the runtime's estimates: each record's sampled allocations scaled by
  1 / (1 - exp(-size / rate)), rate = MemProfileRate (the profile's period). One sampled 8-byte
  object reads as 65536 objects, which makes every difference look certain. Undoing the scale
  gives the sampled allocations, a Poisson process over allocated bytes, each carrying a weight
  (size x scale for *_space, the scale for *_objects).
- goroutine and threadcreate profiles are complete counts of a state, not samples; mutex and
  block profiles are scaled, cumulative contention counts. Neither gets a test (no fake p).

`share_test` compares a function's share of the value between two profiles with the variance
of a weighted Poisson sum (events x weight^2). With equal weights (CPU) it is exactly the
pooled two-proportion z-test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tui.core.pprof.model import LabelSets, Profile
from tui.core.pprof.table import line_keys

# Kinds whose values are not sampled events, by sample type name: why there is no test.
NO_TEST = {
    "goroutine": "goroutine counts are a complete snapshot, not samples",
    "threadcreate": "thread counts are a complete snapshot, not samples",
    "contentions": "contention counts are scaled per event, so the events are unknown",
    "delay": "contention counts are scaled per event, so the events are unknown",
}
# moment columns: value, value^2 / events (variance of a weighted Poisson sum), events
VALUE, VAR, EVENTS = 0, 1, 2


@dataclass(frozen=True)
class Basis:
    """What the share test of one sample type runs on: sampled events per profile row."""

    events: np.ndarray | None  # float[rows]; None: no test for this kind
    label: str  # names the tested events, e.g. "inuse_space, sampled allocations (rate 512 KiB)"
    cumulative: bool = False  # values count since process start (alloc_*)
    reason: str = ""  # why there is no test


def _kib(n: float) -> str:
    return f"{n / 1024:g} KiB" if n % 1024 == 0 else f"{n:g} B"


def _heap_columns(p: Profile, t: int) -> tuple[int, int] | None:
    """(objects, space) columns of t's family when p is a Go heap profile (alloc_/inuse_)."""
    names = [n for n, _ in p.sample_types]
    fam = names[t].split("_", 1)[0]
    if fam not in ("alloc", "inuse") or names[t] not in (f"{fam}_objects", f"{fam}_space"):
        return None
    try:
        return names.index(f"{fam}_objects"), names.index(f"{fam}_space")
    except ValueError:
        return None


def heap_events(
    objects: np.ndarray, space: np.ndarray, rate: float, size: np.ndarray | None = None
) -> np.ndarray:
    """Sampled allocations behind Go's scaled (objects, space) per record.

    Go writes int64(count x scale) with the record's object size (its `bytes` label), so
    objects / scale lies in (count - 1/scale, count] and its ceiling is count exactly. Without
    the label the size is read back as space / objects, a little off: nearly exact.
    """
    obj = objects.astype(np.float64)
    if rate <= 1:  # Go: every allocation recorded, nothing scaled
        return obj
    live = obj > 0
    est = np.where(live, space / np.where(live, obj, 1.0), 0.0)
    if size is not None:
        est = np.where(size > 0, size, est)
    # 1 - exp(), as Go computes its scale: the same rounding (an ulp of exp is 1e-16 / frac)
    frac = 1.0 - np.exp(-est / rate)
    x = obj * frac
    tol = x * (1e-12 + 1e-15 / np.where(frac > 0, frac, 1.0))
    return np.where(live, np.maximum(np.ceil(x - tol), 1.0), 0.0)


def _label_sizes(p: Profile) -> np.ndarray:
    """Each row's numeric `bytes` label (Go's object size of the record), 0 where absent."""
    ls = p.labelsets
    if isinstance(ls, LabelSets):
        per_set = np.zeros(len(ls), dtype=np.float64)
        if "bytes" in ls.strings:
            mask = (ls.key == ls.strings.index("bytes")) & (ls.sval == 0)
            set_of = np.repeat(np.arange(len(ls)), np.diff(ls.start))
            per_set[set_of[mask]] = ls.num[mask]
    else:
        per_set = np.array(
            [float(dict(s.num_labels).get("bytes", ((0, ""),))[0][0]) for s in ls] or [0.0]
        )
    return per_set[p.row_labels] if p.row_labels.shape[0] else np.zeros(0)


def basis(p: Profile, t: int) -> Basis:
    """The sampled events behind sample type t of p, or why there are none."""
    name, unit = p.sample_types[t]
    cols = _heap_columns(p, t)
    if cols is not None:
        rate = float(p.period)
        ev = heap_events(p.values[:, cols[0]], p.values[:, cols[1]], rate, _label_sizes(p))
        what = f"sampled allocations (rate {_kib(rate)})" if rate > 1 else "all allocations"
        return Basis(ev, f"{name}, {what}", name.startswith("alloc_"))
    if name in NO_TEST:
        return Basis(None, "none", reason=f"no significance test for {name}: {NO_TEST[name]}")
    ci = t if unit == "count" else next(
        (i for i, (_n, u) in enumerate(p.sample_types) if u == "count"), None
    )  # fmt: skip
    if ci is not None:
        return Basis(p.values[:, ci].astype(np.float64), p.sample_types[ci][0])
    if p.period > 0:
        return Basis(p.values[:, t] / float(p.period), f"{name} / period")
    return Basis(None, "none", reason=f"no significance test: {name} values count no events")


def function_moments(p: Profile, t: int, events: np.ndarray) -> dict[str, np.ndarray]:
    """Per function (cum, once per stack as pprof counts it): value, value^2/events, events."""
    v = p.values[:, t].astype(np.float64)
    ev = np.where((v != 0) & (events <= 0), 1.0, events)  # a value with no count: one event
    var = np.where(ev > 0, v * v / np.where(ev > 0, ev, 1.0), 0.0)
    cols = np.stack([v, var, ev], axis=1)
    keys, names = line_keys(p, "function")
    k = max(len(names), 1)
    per_stack = np.zeros((p.n_stacks, 3))
    np.add.at(per_stack, p.row_stack, cols)
    offs, entries = p.stack_lines
    stack_of = np.repeat(np.arange(p.n_stacks, dtype=np.int64), np.diff(offs))
    pair = np.unique(stack_of * k + keys[entries])
    cum = np.zeros((k, 3))
    np.add.at(cum, pair % k, per_stack[pair // k])
    out = {n: cum[i] for i, n in enumerate(names)}
    out[""] = cols.sum(axis=0)  # the profile's total moments
    if p.fixed_totals is not None and out[""][VALUE] > 0:  # filtered: scale to the full total
        out[""] = out[""] * (abs(p.fixed_totals[t]) / out[""][VALUE])
    return out


def share_test(
    f1: np.ndarray, tot1: np.ndarray, f2: np.ndarray, tot2: np.ndarray
) -> tuple[float, float]:
    """z and two-sided p for "the function's share of the value is the same in both".

    Under that hypothesis the share is pooled; the variance of each side's share follows from
    the weighted Poisson sums of the function and of the rest, with their pooled mean weights.
    """
    y1, y2 = float(f1[VALUE]), float(f2[VALUE])
    t1, t2 = float(tot1[VALUE]), float(tot2[VALUE])
    if t1 <= 0 or t2 <= 0 or y1 + y2 <= 0:
        return 0.0, 1.0
    share = (y1 + y2) / (t1 + t2)
    if not 0 < share < 1:
        return 0.0, 1.0
    w_in = (float(f1[VAR]) + float(f2[VAR])) / (y1 + y2)
    rest = t1 + t2 - y1 - y2
    w_out = (float(tot1[VAR] + tot2[VAR]) - float(f1[VAR] + f2[VAR])) / rest
    spread = share * (1 - share) * ((1 - share) * w_in + share * max(w_out, 0.0))
    var = spread * (1 / t1 + 1 / t2)
    if var <= 0:
        return 0.0, 1.0
    z = (y2 / t2 - y1 / t1) / math.sqrt(var)
    return z, math.erfc(abs(z) / math.sqrt(2))


def benjamini_hochberg(p_values: list[float], alpha: float = 0.05) -> list[bool]:
    """Which p-values are discoveries at false discovery rate alpha (NaN: never)."""
    idx = [i for i, p in enumerate(p_values) if p == p]
    m = len(idx)
    order = sorted(idx, key=lambda i: p_values[i])
    cutoff = 0
    for rank, i in enumerate(order, start=1):
        if p_values[i] <= alpha * rank / m:
            cutoff = rank
    sig = [False] * len(p_values)
    for i in order[:cutoff]:
        sig[i] = True
    return sig


@dataclass
class ShareTests:
    """The share test of every function of a profile pair, and what it ran on."""

    label: str  # the tested events (RegressionReport.count_type)
    method: str  # one sentence: the test, its events, and what the p-values mean
    results: dict[str, tuple[float, float]] = field(default_factory=dict)  # name: (z, p)


def share_tests(base: Profile, cur: Profile, t: int) -> ShareTests:
    """Test each function's share of sample type t, base against cur.

    Two heap captures of one process (no function's allocation count shrank) are not
    independent: alloc_* count since process start, so the second holds the first, and inuse_*
    hold many of the same live objects. They are still tested as two samples, which is
    conservative (their shares differ less than independent samples' would), and the method
    says so. Testing the allocations between the captures against those before them instead
    flags what no one calls a change (warm-up, the profile captures' own allocations): it did
    in 37% of capture pairs of the steady Go service and 77% of an idle Prometheus's.
    """
    bb, cb = basis(base, t), basis(cur, t)
    if bb.events is None or cb.events is None:
        reason = bb.reason or cb.reason
        return ShareTests(f"none ({reason})", reason)
    fb = function_moments(base, t, bb.events)
    fc = function_moments(cur, t, cb.events)
    label = cb.label if bb.label == cb.label else f"{bb.label} vs {cb.label}"
    weighted = _weights_vary(fb) or _weights_vary(fc)
    kind = "two-proportion test with weighted events" if weighted else "two-proportion test"
    tb, tc = fb.pop(""), fc.pop("")
    note = f"{tb[EVENTS]:.0f} vs {tc[EVENTS]:.0f} events"
    name = cur.sample_types[t][0]
    if _one_process(base, cur):
        shared = "the first's allocations" if cb.cumulative else "live objects"
        note += f"; two captures of one process share {shared}, so p is conservative"
    elif cb.cumulative:
        note += f"; {name} counts since each process started: compare processes of like age"
    res = ShareTests(label, f"{kind} on {label} ({note}), BH 5%")
    zero = np.zeros(3)
    for n in set(fb) | set(fc):
        res.results[n] = share_test(fb.get(n, zero), tb, fc.get(n, zero), tc)
    return res


def _one_process(base: Profile, cur: Profile) -> bool:
    """Heap captures of one process: cur is later, and no function allocated less than in base
    (Go's allocation counts only grow). Not a heap profile: False."""
    a = next((i for i, (n, _u) in enumerate(cur.sample_types) if n == "alloc_objects"), None)
    if a is None or _heap_columns(cur, a) is None:
        return False
    if base.time_nanos and cur.time_nanos and cur.time_nanos < base.time_nanos:
        return False
    eb, ec = basis(base, a).events, basis(cur, a).events
    if eb is None or ec is None:
        return False
    fb, fc = function_moments(base, a, eb), function_moments(cur, a, ec)
    return all(n in fc and fc[n][EVENTS] >= m[EVENTS] for n, m in fb.items())


def _weights_vary(m: dict[str, np.ndarray]) -> bool:
    tot = m[""]
    if tot[EVENTS] <= 0 or tot[VALUE] == 0:
        return False
    w = tot[VALUE] / tot[EVENTS]
    return not math.isclose(float(tot[VAR]), float(w * tot[VALUE]), rel_tol=1e-9)
