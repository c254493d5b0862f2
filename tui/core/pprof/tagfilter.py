"""pprof's tag filters (-tagfocus / -tagignore values): `key=regex`, `regex` (matched
against "key:value"), or numeric ranges such as `64kb:1mb`, `:64kb`, `4mb:`, `32kb`,
optionally `key=range`, with pprof's unit names (driver/tagroot's parseTagFilterRange).

Parsing only: `tag_predicate` turns a value into a predicate over a LabelSet, so a bad value
is a UserError before any profile is read (filterspec checks it; filters applies it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tui.core.pprof.model import LabelSet
from tui.errors import UserError

_RANGE_RX = re.compile(r"([+-]?\d+)(\w*)")
_MEM = {
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 1024,
    "kib": 1024,
    "mb": 1024**2,
    "mib": 1024**2,
    "gb": 1024**3,
    "gib": 1024**3,
    "tb": 1024**4,
    "tib": 1024**4,
    "pb": 1024**5,
}
_TIME = {
    "ns": 1,
    "nanosecond": 1,
    "nanoseconds": 1,
    "us": 10**3,
    "microsecond": 10**3,
    "microseconds": 10**3,
    "ms": 10**6,
    "millisecond": 10**6,
    "milliseconds": 10**6,
    "s": 10**9,
    "sec": 10**9,
    "second": 10**9,
    "seconds": 10**9,
    "m": 60 * 10**9,
    "min": 60 * 10**9,
    "minute": 60 * 10**9,
    "minutes": 60 * 10**9,
    "h": 3600 * 10**9,
    "hour": 3600 * 10**9,
    "hours": 3600 * 10**9,
}


def _to_base(v: int, unit: str) -> tuple[float, str]:
    u = unit.lower()
    if u in _MEM:
        return float(v * _MEM[u]), "bytes"
    if u in _TIME:
        return float(v * _TIME[u]), "ns"
    return float(v), u


def _default_unit(key: str) -> str:
    return "bytes" if key in ("bytes", "alignment", "request") else key


def parse_tag_range(value: str) -> Callable[[int, str], bool] | None:
    """A numeric range predicate (value, unit) -> bool, or None when value is not a range."""
    ms = list(_RANGE_RX.finditer(value))[:2]
    if not ms:
        return None
    lo_v, lo_u = _to_base(int(ms[0].group(1)), ms[0].group(2) or "")
    m0 = ms[0].group(0)
    if len(ms) == 1:
        if value == m0:
            return lambda v, u: (lambda b: b[1] == lo_u and b[0] == lo_v)(_to_base(v, u))
        if value == m0 + ":":
            return lambda v, u: (lambda b: b[1] == lo_u and b[0] >= lo_v)(_to_base(v, u))
        if value == ":" + m0:
            return lambda v, u: (lambda b: b[1] == lo_u and b[0] <= lo_v)(_to_base(v, u))
        return None
    if value != m0 + ":" + ms[1].group(0):
        return None
    hi_v, hi_u = _to_base(int(ms[1].group(1)), ms[1].group(2) or "")
    if hi_u != lo_u:
        return None
    return lambda v, u: (lambda b: b[1] == lo_u and lo_v <= b[0] <= hi_v)(_to_base(v, u))


def tag_predicate(name: str, value: str) -> Callable[[LabelSet], bool]:
    """The predicate of a tagfocus/tagignore value over a LabelSet; UserError when bad."""
    want_key = ""
    if "=" in value:
        want_key, value = value.split("=", 1)
    rng = parse_tag_range(value)
    if rng is not None:

        def num_match(ls: LabelSet) -> bool:
            for key, vals in ls.num_labels:
                if want_key and key != want_key:
                    continue
                for v, unit in vals:
                    if rng(v, unit or _default_unit(key)):
                        return True
            return False

        return num_match
    try:
        rxs = [re.compile(x) for x in value.split(",")]
    except re.error as exc:
        raise UserError(f"--{name}: bad regular expression {value!r}: {exc}") from None
    if not want_key:

        def str_match_all(ls: LabelSet) -> bool:
            pairs = [f"{k}:{v}" for k, vals in ls.str_labels for v in vals]
            return all(any(rx.search(s) for s in pairs) for rx in rxs)

        return str_match_all

    def str_match_key(ls: LabelSet) -> bool:
        vals = dict(ls.str_labels).get(want_key)
        if vals is None:
            return False
        return any(rx.search(v) for rx in rxs for v in vals)

    return str_match_key
