"""Parser for the Go benchmark format (golang.org/design/14313-benchmark-format, benchfmt).

- `key: value` configuration lines (key starts lower-case, has no space nor upper case) set
  configuration carried forward to every later result; an empty value deletes the key.
- `BenchmarkName[/sub...][-N] ITERS VALUE UNIT [VALUE UNIT]...` is a result line; `-N` is the
  GOMAXPROCS suffix; `-count` repetitions are simply repeated lines.
- `Unit UNIT key=value...` lines attach metadata to a unit (`better=higher|lower`,
  `assume=exact|nothing`).
- Everything else is ignored (PASS, ok, test logs). A line that starts with "Benchmark" and
  has more than a name but does not parse is an error reported as FILE:LINE (benchfmt
  commits to a line once it starts with "Benchmark"); a bare name, as `go test -v` prints
  before sub-benchmarks, is skipped.
Units are kept as written (ns/op stays ns/op), unlike benchstat's sec/op tidying.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tui.errors import UserError

_PROCS_RE = re.compile(r"^(.*)-(\d+)$")


@dataclass(frozen=True)
class BenchResult:
    name: str  # full name without the "Benchmark" prefix, e.g. "Decode/small-8"
    base_name: str  # without the -N suffix, e.g. "Decode/small"
    procs: int | None  # GOMAXPROCS from the -N suffix
    iters: int
    values: tuple[tuple[float, str], ...]  # (value, unit) in line order
    config: tuple[tuple[str, str], ...]  # configuration in force for this line
    file: str
    line: int

    def config_value(self, key: str) -> str | None:
        for k, v in self.config:
            if k == key:
                return v
        return None


@dataclass
class BenchFile:
    path: str
    results: list[BenchResult] = field(default_factory=list)
    units: dict[str, dict[str, str]] = field(default_factory=dict)  # unit -> metadata
    errors: list[str] = field(default_factory=list)  # "FILE:LINE: message"


def _is_config_key(key: str) -> bool:
    return bool(key) and key[0].islower() and not any(ch.isspace() or ch.isupper() for ch in key)


def _parse_config_line(line: str) -> tuple[str, str] | None:
    colon = line.find(":")
    if colon <= 0:
        return None
    key = line[:colon]
    if not _is_config_key(key):
        return None
    rest = line[colon + 1 :]
    if rest == "":
        return key, ""
    if rest[0] not in " \t":
        return None
    return key, rest.lstrip(" \t")


def _parse_float(text: str) -> float:
    value = float(text)  # accepts 1e3, 1.5E-9 like Go's ParseFloat
    if not math.isfinite(value):  # NaN / Inf would poison medians and ratios downstream
        raise ValueError("not a finite measurement")
    return value


def parse_bench_text(text: str, path: str = "<input>") -> BenchFile:
    """Parse benchmark output; syntax errors are collected in `errors`, never raised."""
    out = BenchFile(path=path)
    config: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        where = f"{path}:{lineno}"
        if line.startswith("Benchmark"):
            fields = line[len("Benchmark") :].split()
            if len(fields) <= 1:
                continue  # bare name (go test -v), or "Benchmark" alone
            got = _result(fields, config, path, lineno)
            if isinstance(got, str):
                out.errors.append(f"{where}: {got}")
            else:
                out.results.append(got)
            continue
        fields = line.split()
        if fields and fields[0] == "Unit":
            out.errors += [f"{where}: {e}" for e in _unit_metadata(fields, out.units)]
            continue
        cfg_kv = _parse_config_line(line)
        if cfg_kv is not None:
            key, value = cfg_kv
            if value:
                config[key] = value
            else:
                config.pop(key, None)
    return out


def _result(fields: list[str], config: dict[str, str], path: str, lineno: int) -> BenchResult | str:
    """A `BenchmarkNAME ITERS VALUE UNIT...` line (without "Benchmark"), or why not."""
    name = fields[0]
    try:
        iters = int(fields[1])
        if iters < 0:
            raise ValueError
    except ValueError:
        return f"parsing iteration count: {fields[1]!r} is not a non-negative integer"
    pairs = fields[2:]
    if not pairs:
        return "missing measurements"
    if len(pairs) % 2:
        return f"missing unit after {pairs[-1]!r}"
    values: list[tuple[float, str]] = []
    for i in range(0, len(pairs), 2):
        try:
            values.append((_parse_float(pairs[i]), pairs[i + 1]))
        except ValueError:
            return f"parsing measurement: {pairs[i]!r} is not a finite number"
    m = _PROCS_RE.match(name)
    base_name, procs = (m.group(1), int(m.group(2))) if m else (name, None)
    return BenchResult(
        name, base_name, procs, iters, tuple(values), tuple(config.items()), path, lineno
    )


def _unit_metadata(fields: list[str], units: dict[str, dict[str, str]]) -> list[str]:
    """A `Unit UNIT key=value...` line into `units`; the problems found."""
    if len(fields) < 2:
        return ["missing unit"]
    unit = fields[1]
    meta = units.setdefault(unit, {})
    errors = []
    for kv in fields[2:]:
        key, eq, value = kv.partition("=")
        if not eq or not key:
            errors.append(f"expected key=value, got {kv!r}")
        elif key in meta and meta[key] != value:
            errors.append(f"metadata {key} of unit {unit} already set to {meta[key]}")
        elif key == "better" and value not in ("higher", "lower"):
            errors.append(f"better must be higher or lower, got {value!r}")
        else:
            meta[key] = value
    return errors


def read_bench_file(path: str | Path) -> BenchFile:
    """Read and parse a file; unreadable or non-UTF-8 input is a UserError naming it."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{p}: is a directory, expected a `go test -bench` output file") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(
            f"{p}:{line}: invalid UTF-8; only UTF-8 benchmark files are supported"
        ) from None
    return parse_bench_text(text, str(p))


def check_clean(files: Iterable[BenchFile], max_errors: int = 10) -> None:
    """Raise one UserError listing the syntax errors (FILE:LINE: ...) or empty inputs."""
    errors: list[str] = []
    for f in files:
        errors.extend(f.errors)
        if not f.errors and not f.results:
            errors.append(
                f"{f.path}: no benchmark results found (expected lines like "
                "'BenchmarkX-8  1000  123 ns/op')"
            )
    if errors:
        shown = errors[:max_errors]
        more = len(errors) - len(shown)
        msg = "; ".join(shown) + (f"; ... and {more} more" if more else "")
        raise UserError(
            msg if len(errors) == 1 else f"{len(errors)} problems in benchmark input: {msg}"
        )
