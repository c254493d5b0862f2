"""One way to write a measured value with its unit, in every table, pane, and command.

The trial found four: `74.64m` for 74.64 ms (read as minutes) in the regression pane,
`6800 ms` in the events pane where the table said `6.8s`, `3.763M` ns/op in bench, `±∞` for
an interval too few points could give. Latencies are seconds inside warroom and are always
written as µs/ms/s here; byte counts in IEC units; rates per second; ratios in percent; any
other unit gets 4 significant digits with an SI prefix, the unit named beside it.
"""

from __future__ import annotations

import math

NONE = "–"


def _sig3(x: float) -> str:
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def latency(seconds: float | None, saturated: bool = False) -> str:
    """'123ms', '1.23s', '850µs'; a saturated quantile is a lower bound: '≥ 2.5s'."""
    if seconds is None or not math.isfinite(seconds):
        return NONE
    sign, a = ("-", -seconds) if seconds < 0 else ("", seconds)
    if a == 0:
        text = "0s"
    elif a < 1e-6:
        text = f"{_sig3(a * 1e9)}ns"
    elif a < 1e-3:
        text = f"{_sig3(a * 1e6)}µs"
    elif a < 1:
        text = f"{_sig3(a * 1e3)}ms"
    else:
        text = f"{a:.3g}s" if a < 1000 else f"{a:.0f}s"
    return f"{'≥ ' if saturated else ''}{sign}{text}"


def qps(rate: float | None) -> str:
    """Two significant digits ('9.7/s', '97/s', '970/s', '9.7k/s'): throughput is read as a
    magnitude, and a third digit that flickers every refresh costs terminal output."""
    if rate is None or not math.isfinite(rate):
        return NONE
    sign, rate = ("-", -rate) if rate < 0 else ("", rate)
    for scale, suffix in ((1e6, "M"), (1e3, "k"), (1.0, "")):
        if rate >= scale or scale == 1.0:
            x = rate / scale
            if x >= 10 or x == 0:
                return f"{sign}{x:.0f}{suffix}/s"
            if x >= 0.1 or suffix:
                return f"{sign}{x:.1f}{suffix}/s"
            return f"{sign}{x:.2f}/s"
    return NONE  # unreachable: the last scale always matches


def ratio(r: float | None) -> str:
    """A fraction in percent: 0.0012 -> '0.12%'."""
    if r is None or not math.isfinite(r):
        return NONE
    sign, pct = ("-", -r * 100) if r < 0 else ("", r * 100)
    if pct == 0:
        return "0%"
    if pct >= 10:
        return f"{sign}{pct:.0f}%"
    if pct >= 1:
        return f"{sign}{pct:.1f}%"
    return f"{sign}{pct:.2f}%"


_SI = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ")]
_IEC = [(2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")]


def si(v: float | None) -> str:
    """4 significant digits with an SI prefix, for counts: 3655503 -> 3.656M."""
    if v is None or math.isnan(v):
        return "-"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v == 0:
        return "0"
    a = abs(v)
    for scale, prefix in _SI:
        if a >= scale * 0.9995:
            x = v / scale
            digits = 3 - math.floor(math.log10(abs(x))) if abs(x) >= 1 else 3
            return f"{x:.{max(digits, 0)}f}{prefix}"
    return f"{v:.3g}"


def size(n: float | None) -> str:
    """Bytes in IEC units: 1536 -> '1.50KiB'."""
    if n is None or not math.isfinite(n):
        return NONE
    a = abs(n)
    for scale, unit in _IEC:
        if a >= scale:
            return f"{n / scale:.3g}{unit}" if a / scale < 1000 else f"{n / scale:.0f}{unit}"
    return f"{n:.0f}B"


_LATENCY_SIGNALS = {"p50", "p95", "p99", "p999", "latency", "s", "sec", "seconds", "sec/op"}
# metric -> "seconds" | "bytes" | "ratio" | "count", for metrics another module defines
_DEFINED: dict[str, str] = {}


def define_metric(metric: str, unit: str) -> None:
    """Let `of_metric` write `metric` in `unit` (the Go runtime signals define theirs), so a
    regression row of GC pauses reads 1.2ms, not 1.200m."""
    _DEFINED[metric.lower()] = unit


def of_metric(v: float | None, metric: str) -> str:
    """`v` in the unit `metric` implies: a latency signal or sec/op (seconds), ns/op, B/op, a
    rate (qps), a ratio (error_ratio); anything else is a count with an SI prefix."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "-∞"
    m = metric.lower()
    m = _DEFINED.get(m, m)
    if m in _LATENCY_SIGNALS:
        return latency(v)
    if m in ("ns/op", "ns"):
        return latency(v * 1e-9)
    if m in ("b/op", "b", "bytes"):
        return size(v)
    if m in ("qps", "req/s", "rps"):
        return qps(v)
    if m in ("error_ratio", "ratio"):
        return ratio(v)
    return si(v)
