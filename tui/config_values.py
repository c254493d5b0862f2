"""The value types of the config: durations, sizes and secrets, and their parsers.

Durations are Prometheus' syntax (`5s`, `15m`, `1h30m`, `250ms`) in seconds; sizes (`64MiB`,
`1kb`) in bytes. In a config file a duration must say its unit (see `with_unit`); on the
command line a bare number is seconds, as each flag's help says. A Secret is read from an
environment variable or a file and never printed.
"""

from __future__ import annotations

import math
import re

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|s|m|h|d|w)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}


class Duration(float):
    """Seconds, written in config as `5s`, `15m`, `1h30m`, `250ms` or a plain number."""


class Latency(Duration):
    """A duration that is a latency (an SLO's P99, the detector's smallest change): the same
    seconds, but a number written without a unit gets latency-sized suggestions."""


class Size(int):
    """Bytes, written in config as `64MiB`, `1kb`, `512KiB` or a plain number."""


def parse_duration(text: str | float | int) -> Duration:
    """Parse `1h30m`-style durations (Prometheus syntax) into seconds; raise ValueError."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return Duration(text)
    s = str(text).strip()
    if not s:
        raise ValueError("empty duration")
    try:
        value = float(s)
    except ValueError:
        pos, total = 0, 0.0
        for m in _DURATION_RE.finditer(s):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
            pos = m.end()
        if pos != len(s) or pos == 0:
            raise ValueError(f"{s!r} is not a duration (examples: 5s, 15m, 1h30m, 250ms)") from None
        return Duration(total)
    if value < 0:
        raise ValueError("a duration cannot be negative")
    return Duration(value)


def with_unit(value: object, raw: str, latency: bool = False) -> str:
    """`raw` when it is a duration with a unit (or 0); a bare number is refused, with the
    units it may have meant: `slo: {p99: 300}` meant 300 ms and was read as five minutes. For
    a latency a small number is likely seconds (Prometheus' unit) and a large one ms."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None:
        try:
            number = float(raw)
        except ValueError:
            return raw  # text: parse_duration says whether it is a duration
    if number == 0:
        return raw
    if not math.isfinite(number):
        raise ValueError(f"{raw!r} is not a duration (examples: 5s, 15m, 1h30m, 250ms)")
    if number < 0:
        raise ValueError("a duration cannot be negative")
    if not latency:
        hint = f"{raw}s, {raw}ms or {raw}m"
    elif number < 10:
        hint = f"{raw}s ({number * 1000:g}ms) or {raw}ms"
    else:
        hint = f"{raw}ms ({number / 1000:g}s) or {raw}s"
    raise ValueError(f"{raw} has no unit: write {hint}")


def parse_size(text: str | int) -> Size:
    """Parse `64MiB`, `1kb`, `10MB` or a byte count into bytes; raise ValueError."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError("a size cannot be negative")
        return Size(text)
    s = str(text).strip()
    m = _SIZE_RE.fullmatch(s)
    if not m:
        raise ValueError(f"{s!r} is not a size (examples: 64MiB, 512KiB, 1MB, 4096)")
    unit = m.group(2).lower()
    binary = "i" in unit
    prefix = unit[:1] if unit[:1] in "kmgt" else ""
    mult = (1024 ** "_kmgt".index(prefix)) if (binary and prefix) else _SIZE_UNITS[prefix]
    return Size(int(float(m.group(1)) * mult))


def format_duration(seconds: float) -> str:
    """The inverse of parse_duration for display: 90 -> '1m30s', 0.25 -> '250ms'."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts, rest = [], round(seconds)
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


class Secret:
    """A credential read from an environment variable or a file; never printed."""

    def __init__(self, value: str, origin: str):
        self._value = value
        self.origin = origin  # e.g. "env PROM_TOKEN" or "file /run/secrets/token"

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.origin}, ***)"

    __str__ = __repr__
