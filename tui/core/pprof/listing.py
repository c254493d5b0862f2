"""`go tool pprof -list REGEX`: flat and cum per source line of the matching functions.

The numbers follow pprof's `list` (report.printSource at line granularity): a node per
(function, file, line); flat goes to a sample's leaf line, cum to every line in its stack
once per sample. Per function and file the listing runs from the function's start line (or
5 lines above the first sampled one when the profile has no start lines) to 5 lines below
the last sampled one, cut at the end of the file. Source text is read from disk the way
pprof finds it: an absolute path as is, a relative one under the working directory and its
parents. A file that cannot be read is named with the reason, and its sampled lines are
still listed with their numbers (pprof prints only the error).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tui.core.pprof.measurement import own_unit, percentage
from tui.core.pprof.model import Profile, sorted_unique, unique_inverse

MARGIN = 5  # pprof's lines before the first and after the last sampled line


@dataclass
class SourceLine:
    lineno: int
    flat: int
    cum: int
    text: str | None  # None: the file was not readable


@dataclass
class Routine:
    """One function in one source file: pprof's `ROUTINE ===... NAME in FILE` block."""

    name: str
    file: str
    flat: int
    cum: int
    lines: list[SourceLine]
    error: str | None = None  # why the source text is missing


@dataclass
class Listing:
    total: int
    routines: list[Routine] = field(default_factory=list)
    no_source: list[str] = field(default_factory=list)  # matching functions without a file

    @property
    def names(self) -> list[str]:
        return sorted({r.name for r in self.routines} | set(self.no_source))


def clean_path(path: str) -> str:
    """Go's filepath.Clean for the paths pprof keys its nodes by ("" stays "")."""
    if not path:
        return ""
    out = os.path.normpath(path)
    if out.startswith("//"):  # POSIX normpath keeps two leading slashes, Go does not
        out = "/" + out.lstrip("/")
    return out


def _trim(path: str, search: str) -> str:
    """pprof's trimPath without -trim_path: drop up to the working directory's base name."""
    want = "/" + (os.path.basename(search.rstrip("/")) or "/") + "/"  # Go's Base("/") is "/"
    found = path.find(want)
    if found != -1:
        return path[found + len(want) :]
    for prefix in ("/proc/self/cwd/./", "/proc/self/cwd/"):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


class SourceReader:
    """Lines of source files, read once each, found the way pprof's sourceReader finds them."""

    def __init__(self, search: str | None = None) -> None:
        self.search = search if search is not None else os.getcwd()
        self.files: dict[str, list[str]] = {}
        self.errors: dict[str, str] = {}

    def _open(self, path: str) -> str:
        p = _trim(path, self.search)
        if os.path.isabs(p):
            return Path(p).read_bytes().decode("utf-8", "replace")
        d = self.search
        while True:
            try:
                return Path(d, p).read_bytes().decode("utf-8", "replace")
            except OSError:
                pass
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
        raise FileNotFoundError(f"could not find file {p} on path {self.search}")

    def lines(self, path: str) -> list[str]:
        got = self.files.get(path)
        if got is None:
            try:
                text = self._open(path)
                got = _scan_lines(text)
            except FileNotFoundError as exc:
                if exc.filename is None:
                    self.errors[path] = str(exc)
                else:
                    self.errors[path] = f"open {path}: {_go_errno(exc)}"
                got = []
            except OSError as exc:
                self.errors[path] = f"open {path}: {_go_errno(exc)}"
                got = []
            self.files[path] = got
        return got


def _go_errno(exc: OSError) -> str:
    """An OSError's reason as Go writes it ("no such file or directory")."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def _scan_lines(text: str) -> list[str]:
    """bufio.Scanner's lines: split at \\n, a trailing \\r dropped, no empty last line."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def source_listing(
    profile: Profile, sample_index: int, pattern: str, reader: SourceReader | None = None
) -> Listing:
    """Per-line flat/cum of every function whose name matches `pattern` (re.search, as
    Go's MatchString). Raises re.error on a bad pattern; no match gives no routines."""
    rx = re.compile(pattern)
    reader = reader or SourceReader()
    t = sample_index
    listing = Listing(total=profile.total(t))
    names = profile.func_name
    fmatch = np.fromiter((rx.search(n) is not None for n in names), dtype=bool, count=len(names))
    if not fmatch.any() or profile.n_stacks == 0:
        return listing
    offs, entries = profile.stack_lines
    s = offs.shape[0] - 1
    weight = np.zeros(s, dtype=np.int64)
    np.add.at(weight, profile.row_stack, profile.values[:, t])
    live = np.zeros(s, dtype=bool)
    live[profile.row_stack[profile.values[:, t] != 0]] = True  # pprof skips zero samples
    ent_func = profile.line_func[entries]
    ent_stack = np.repeat(np.arange(s, dtype=np.int64), np.diff(offs))
    keep = (ent_func >= 0) & live[ent_stack]
    keep[keep] = fmatch[ent_func[keep]]
    # a node is (name, file, line): key the functions by (name, clean file) first
    fkey: dict[tuple[str, str], int] = {}
    func_node = np.full(len(names), -1, dtype=np.int64)
    node_start: list[int] = []
    node_names: list[tuple[str, str]] = []
    for f in np.flatnonzero(fmatch).tolist():
        k = (names[f], clean_path(profile.func_file[f]))
        got = fkey.get(k)
        if got is None:
            got = fkey[k] = len(node_names)
            node_names.append(k)
            node_start.append(int(profile.func_start_line[f]))
        func_node[f] = got
    sel = np.flatnonzero(keep)
    ent_line = profile.line_no[entries[sel]].astype(np.int64)
    span = int(ent_line.max()) + 2 if sel.shape[0] else 1
    # pair: one (function-file, line) node; cum counts it once per stack
    pairs, pair_of = unique_inverse(func_node[ent_func[sel]] * span + ent_line)
    once = sorted_unique(pair_of * s + ent_stack[sel])
    cum = np.zeros(pairs.shape[0], dtype=np.int64)
    np.add.at(cum, once // s, weight[once % s])
    # flat: the leaf line of each stack (its last entry, root first)
    pos = np.full(entries.shape[0], -1, dtype=np.int64)
    pos[sel] = pair_of
    nonempty = np.flatnonzero(np.diff(offs) > 0)
    leaf = offs[1:][nonempty] - 1
    leaf_ok = pos[leaf] >= 0
    flat = np.zeros(pairs.shape[0], dtype=np.int64)
    np.add.at(flat, pos[leaf[leaf_ok]], weight[nonempty[leaf_ok]])
    nz = (flat != 0) | (cum != 0)  # pprof drops nodes with nothing (a diff's +v and -v)
    by_fn: dict[int, dict[int, tuple[int, int]]] = {}
    for pr, fl, cu in zip(pairs[nz].tolist(), flat[nz].tolist(), cum[nz].tolist(), strict=True):
        by_fn.setdefault(pr // span, {})[pr % span] = (fl, cu)
    by_name: dict[str, list[int]] = {}
    for fn in by_fn:
        by_name.setdefault(node_names[fn][0], []).append(fn)
    for name in sorted(by_name):
        with_file = sorted(
            (fn for fn in by_name[name] if node_names[fn][1]), key=node_names.__getitem__
        )
        if not with_file:
            listing.no_source.append(name)
            continue
        for fn in with_file:
            listing.routines.append(
                _routine(name, node_names[fn][1], node_start[fn], by_fn[fn], reader)
            )
    return listing


def _routine(
    name: str, file: str, start_line: int, lines: dict[int, tuple[int, int]], reader: SourceReader
) -> Routine:
    flat = sum(v[0] for v in lines.values())
    cum = sum(v[1] for v in lines.values())
    start = start_line if start_line else min(lines) - MARGIN
    end = max(lines) + MARGIN
    start = max(start, 1)
    text = reader.lines(file)
    err = reader.errors.get(file)
    out: list[SourceLine] = []
    if err is None:
        for ln in range(start, min(end, len(text)) + 1):
            f, c = lines.get(ln, (0, 0))
            out.append(SourceLine(ln, f, c, text[ln - 1]))
    else:
        out = [SourceLine(ln, v[0], v[1], None) for ln, v in sorted(lines.items())]
    return Routine(name, file, flat, cum, out, err)


# ---- text, as go tool pprof -list prints it ---------------------------------------------


def listing_text(listing: Listing, unit: str, value: Callable[[int, str], str] = own_unit) -> str:
    """The listing in `go tool pprof -list` text: values in the profile's unit (pprof's
    `-unit=<that unit>`), or as `value` writes them (`-unit`, the viewer's 1.4s)."""

    def val(v: int) -> str:
        return "." if v == 0 else value(v, unit)

    out = [f"Total: {value(listing.total, unit)}"]
    by_name: dict[str, list[Routine]] = {}
    for r in listing.routines:
        by_name.setdefault(r.name, []).append(r)
    for name in listing.names:
        if name in listing.no_source and name not in by_name:
            out.append(f"No source information for {name}")
            continue
        for r in by_name[name]:
            out.append(f"ROUTINE ======================== {r.name} in {r.file}")
            out.append(
                f"{value(r.flat, unit):>10} {value(r.cum, unit):>10} (flat, cum) "
                f"{percentage(r.cum, listing.total)} of Total"
            )
            if r.error is not None:
                out.append(f" Error: {r.error}")
                out.append(" (source not readable here: the sampled lines without their text)")
            for ln in r.lines:
                out.append(f"{val(ln.flat):>10} {val(ln.cum):>10} {ln.lineno:6d}:{ln.text or ''}")
    return "\n".join(out) + "\n"
