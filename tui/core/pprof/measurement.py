"""Units as go tool pprof prints them: a port of pprof's internal/measurement and the
report's `selectOutputUnit` (Go 1.19's vendored copy, the `go tool pprof` on this machine).

`-top` without `-unit` prints every value in one unit picked for the report ("minimum"):
the unit of the smallest shown value, or, when the total needs a bigger unit and is over 100x
that value, the unit of 100x the smallest (so the smallest may show as 0.01). Values are then
`%.2f` in that unit with a trailing `.00` cut ("0.24s", "10ms", "1.50MB"); a unit pprof does
not know (count, objects) prints bare numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable


# NamedTuples, not dataclasses: every `warroom profile` checks --unit, and dataclasses would
# import inspect (start-up, issue 16)
class _Unit(NamedTuple):
    name: str
    aliases: tuple[str, ...]
    factor: float


class _UnitType(NamedTuple):
    default: _Unit
    units: tuple[_Unit, ...]

    def sniff(self, unit: str) -> _Unit | None:
        unit = unit.lower()
        if len(unit) > 2:
            unit = unit.removesuffix("s")
        return next((u for u in self.units if unit in u.aliases), None)

    def auto(self, value: float) -> tuple[float, str] | None:
        factor, name = 0.0, ""
        for u in self.units:
            if u.factor >= factor and value / u.factor >= 1.0:
                factor, name = u.factor, u.name
        return (value / factor, name) if factor else None


_BYTES = _UnitType(
    _Unit("B", ("b", "byte"), 1),
    (
        _Unit("B", ("b", "byte"), 1),
        _Unit("kB", ("kb", "kbyte", "kilobyte"), float(1 << 10)),
        _Unit("MB", ("mb", "mbyte", "megabyte"), float(1 << 20)),
        _Unit("GB", ("gb", "gbyte", "gigabyte"), float(1 << 30)),
        _Unit("TB", ("tb", "tbyte", "terabyte"), float(1 << 40)),
        _Unit("PB", ("pb", "pbyte", "petabyte"), float(1 << 50)),
    ),
)
_TIME = _UnitType(
    _Unit("s", (), 1e9),
    (
        _Unit("ns", ("ns", "nanosecond"), 1.0),
        _Unit("us", ("μs", "us", "microsecond"), 1e3),
        _Unit("ms", ("ms", "millisecond"), 1e6),
        _Unit("s", ("s", "sec", "second"), 1e9),
        _Unit("hrs", ("hour", "hr"), 3600e9),
    ),
)
_GCU = _UnitType(
    _Unit("GCU", (), 1.0),
    (
        _Unit("n*GCU", ("nanogcu",), 1e-9),
        _Unit("u*GCU", ("microgcu",), 1e-6),
        _Unit("m*GCU", ("milligcu",), 1e-3),
        _Unit("GCU", ("gcu",), 1.0),
        _Unit("k*GCU", ("kilogcu",), 1e3),
        _Unit("M*GCU", ("megagcu",), 1e6),
        _Unit("G*GCU", ("gigagcu",), 1e9),
        _Unit("T*GCU", ("teragcu",), 1e12),
        _Unit("P*GCU", ("petagcu",), 1e15),
    ),
)
_UNIT_TYPES = (_BYTES, _TIME, _GCU)
_BARE = ("count", "sample", "unit", "minimum", "auto")


def unit_problem(unit: str) -> str | None:
    """Why `unit` cannot be a report unit, or None: it must be "minimum", "auto", a bare
    count unit, or one pprof's unit types sniff (its aliases, any case, plural "s" allowed).
    pprof itself falls back to the profile's unit on a name it does not know; warroom says so.
    A known unit of another type (ms for a heap profile) is pprof's fallback, not an error."""
    if unit in _BARE or any(ut.sniff(unit) is not None for ut in _UNIT_TYPES):
        return None
    names = [u.name if ut.sniff(u.name) else u.aliases[0] for ut in _UNIT_TYPES for u in ut.units]
    known = ", ".join(dict.fromkeys(["minimum", "auto", *names]))
    return f"unknown unit {unit!r} (known: {known})"


def scale(value: int, from_unit: str, to_unit: str) -> tuple[float, str]:
    """pprof measurement.Scale: `value` in `from_unit` as (number, unit name) in `to_unit`,
    which may be "minimum"/"auto" (the largest unit the value is at least 1 of)."""
    if value < 0:
        v, u = scale(-value, from_unit, to_unit)
        return -v, u
    for ut in _UNIT_TYPES:
        src = ut.sniff(from_unit)
        if src is None:
            continue
        x = value * src.factor
        if to_unit in ("minimum", "auto"):
            return ut.auto(x) or (x / ut.default.factor, ut.default.name)
        dst = ut.sniff(to_unit) or ut.default
        return x / dst.factor, dst.name
    return float(value), "" if to_unit in _BARE else to_unit


def scaled_label(value: int, from_unit: str, to_unit: str) -> str:
    """pprof measurement.ScaledLabel: '%.2f' in the unit, '.00' cut, a zero is '0'."""
    v, u = scale(value, from_unit, to_unit)
    text = f"{v:.2f}".removesuffix(".00")
    return "0" if text in ("0", "-0") else text + u


def output_unit(shown: Iterable[tuple[int, int]], total: int, sample_unit: str) -> str:
    """pprof report.selectOutputUnit for "minimum": `shown` is (flat, cum) of each node the
    report keeps (after node trimming), `total` the report's total."""
    low = 0
    for flat, cum in shown:
        v = abs(flat) or abs(cum)
        if v > 0 and (low == 0 or v < low):
            low = v
    high = total
    if low == 0:
        low = high
    unit = scale(low, sample_unit, "minimum")[1]
    if unit != scale(high, sample_unit, "minimum")[1] and low * 100 < high:
        unit = scale(100 * low, sample_unit, "minimum")[1]
    return unit or sample_unit


def own_unit(value: int, unit: str) -> str:
    """`value` in the profile's own unit, as pprof prints it with -unit=<that unit>."""
    return scaled_label(value, unit, unit)


def percentage(value: int, total: int) -> str:
    """pprof measurement.Percentage."""
    ratio = abs(value / total) * 100 if total else 0.0
    if 99.95 <= ratio <= 100.05:
        return "  100%"
    if ratio >= 1.0:
        return f"{ratio:5.2f}%"
    return f"{_go_g2(ratio):>5}%"


def _go_g2(x: float) -> str:
    """Go's %.2g (no trailing zeros, exponent as e-05)."""
    s = f"{x:.2g}"
    if "e" in s:
        mant, exp = s.split("e")
        digits = exp[1:].lstrip("0").rjust(2, "0")
        s = f"{mant}e{exp[0]}{digits}"
    return s
