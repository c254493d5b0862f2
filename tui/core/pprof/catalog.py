"""Which profile files a folder holds: the service and kind of each, newest first.

One listing for every reader (the dashboard's `f`/`d` and picker, `baseline refresh`, `check`,
the watcher), so they agree on which file is "the newest CPU profile of api". The name says
the kind when warroom or `go test` wrote it (`api-cpu-….pb.gz`); otherwise the sample types
inside do, read only when asked (`kind_of`), since decoding a folder of profiles is slow.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.config import Config

# The order kinds are shown and stored in: CPU first, it is what `d` and `check` look at first.
KINDS = ("cpu", "heap", "allocs", "goroutine", "mutex", "block")
UNKNOWN = "pprof"  # a profile whose name does not say its kind

_KIND_RE = re.compile(r"(?:^|[-_.])(cpu|profile|heap|allocs|block|mutex|goroutine)(?=[-_.]|$)")


def profile_kind(filename: str) -> str | None:
    """`cpu`/`heap`/... when the file name says which kind of profile it holds (pprof_fetch
    names its captures so); None when it does not. Cheap: the file is not opened."""
    m = _KIND_RE.search(filename)
    if m is None:
        return None
    return "cpu" if m.group(1) == "profile" else m.group(1)


def kind_from_sample_types(sample_types: Iterable[tuple[str, str]], default: str = "") -> str:
    """The kind a decoded profile is, from its sample types (as `go tool pprof` shows them).

    A heap and an allocs capture hold the same four types and differ by the default one;
    block and mutex profiles cannot be told apart, so both are `mutex` only by name.
    """
    types = {t for t, _ in sample_types}
    if "cpu" in types or types == {"samples"}:
        return "cpu"
    if "inuse_space" in types:
        return "allocs" if default.startswith("alloc_") else "heap"
    if "goroutine" in types:
        return "goroutine"
    if "contentions" in types:
        return "mutex"
    return UNKNOWN


def kind_of(path: str | os.PathLike[str]) -> str:
    """The kind of a profile file: by name, else by decoding it once per version of the file
    (the regression pane asks every few seconds); a file that does not decode is `pprof`,
    whoever opens it reports why."""
    p = Path(path)
    named = profile_kind(p.name)
    if named is not None:
        return named
    try:
        st = p.stat()
    except OSError:
        return UNKNOWN
    return _decoded_kind(str(p), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _decoded_kind(path: str, _mtime_ns: int, _size: int) -> str:
    from tui.core.pprof.load import load_profile
    from tui.errors import UserError

    try:
        prof = load_profile(path)
    except (UserError, ValueError):
        return UNKNOWN
    default = prof.sample_types[prof.default_index][0] if prof.sample_types else ""
    return kind_from_sample_types(prof.sample_types, default)


def _glob_match(pattern: str, name: str) -> bool:
    rx = ".*".join(re.escape(p) for p in pattern.split("*"))
    return re.fullmatch(rx, name, re.DOTALL) is not None


class ServicePattern:
    """Map file names to services with a pattern like `{service}-*.pb.gz`.

    `{service}` matches a service name, `*` anything. With known service names the longest
    known name that makes the pattern match wins, so `api-gateway-cpu-1.pb.gz` is service
    `api-gateway` rather than `api`; unknown names fall back to the shortest match.
    """

    def __init__(self, pattern: str = "{service}-*.pb.gz", services: Iterable[str] = ()):
        if "/" in pattern or os.sep in pattern:
            raise ValueError(f"profiles.pattern must be a file name pattern, got {pattern!r}")
        self.pattern = pattern
        self.services = sorted(set(services), key=len, reverse=True)
        parts = re.split(r"(\{service\}|\*)", pattern)
        rx = []
        for p in parts:
            if p == "{service}":
                rx.append(r"(?P<service>[^/]+?)")
            elif p == "*":
                rx.append(r".*")
            else:
                rx.append(re.escape(p))
        self._rx = re.compile("".join(rx) + r"\Z", re.DOTALL)
        self._has_service = "{service}" in pattern

    def match(self, filename: str) -> tuple[bool, str | None]:
        """(matches, service): does the name fit the pattern, and which service it names."""
        if filename.startswith("."):
            return False, None  # temp files of atomic writers
        m = self._rx.match(filename)
        if m is None:
            return False, None
        if not self._has_service:
            return True, None
        for name in self.services:
            # Re-match with the known name substituted, so hyphenated names win over prefixes.
            candidate = self.pattern.replace("{service}", name)
            if _glob_match(candidate, filename):
                return True, name
        return True, m.group("service")

    def filename(self, service: str, rest: str) -> str:
        """The file name for `service` with `rest` in place of `*` (used by pprof_fetch)."""
        name = self.pattern.replace("{service}", service)
        if "*" in name:
            return name.replace("*", rest, 1).replace("*", "")
        stem, dot, ext = name.partition(".")
        return f"{stem}-{rest}{dot}{ext}"


@dataclass(frozen=True)
class ProfileFile:
    """One profile in the folder. `kind` is from the name (`pprof` when it does not say)."""

    path: Path
    service: str | None
    kind: str
    mtime: float
    size: int


def list_profiles(
    directory: str | os.PathLike[str] | None,
    pattern: str,
    service: str,
    services: Iterable[str] = (),
) -> list[ProfileFile]:
    """The profiles of `service` in `directory`, newest first (by mtime, then name).

    `services` are the other known names, so `api` does not take `api-gateway-cpu-1.pb.gz`.
    A file of no service (a pattern without `{service}`) belongs to every service. A missing
    folder or a bad pattern is an empty list: config check reports those.
    """
    if not directory:
        return []
    d = Path(directory).expanduser()
    try:
        matcher = ServicePattern(pattern, [*services, service])
        entries = list(d.iterdir()) if d.is_dir() else []
    except (ValueError, OSError):
        return []
    found: list[ProfileFile] = []
    for p in entries:
        ok, svc = matcher.match(p.name)
        if not ok or svc not in (service, None):
            continue
        try:
            st = p.stat()
        except OSError:  # removed while we looked
            continue
        if p.is_file():
            found.append(
                ProfileFile(p, svc, profile_kind(p.name) or UNKNOWN, st.st_mtime, st.st_size)
            )
    found.sort(key=lambda f: (f.mtime, f.path.name), reverse=True)
    return found


def kind_order(kind: str) -> int:
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


def newest(
    files: Iterable[ProfileFile],
    kind: str | None = None,
    usable: Callable[[Path], bool] | None = None,
) -> Path | None:
    """The first (newest) file of `kind` (any, when None) that `usable` accepts. Of the files
    whose name says no kind only the newest is decoded, as in `newest_of_each_kind`."""
    unnamed_seen = False
    for f in files:
        if kind is not None and f.kind != kind:
            if f.kind != UNKNOWN or unnamed_seen:
                continue
            unnamed_seen = True
            if kind_of(f.path) != kind:
                continue
        if usable is None or usable(f.path):
            return f.path
    return None


def newest_of_each_kind(files: Iterable[ProfileFile]) -> dict[str, Path]:
    """The newest file of each kind, CPU first. A file whose name says no kind is decoded to
    learn it (only the newest such file: a folder of unnamed `go test` profiles is one kind)."""
    out: dict[str, Path] = {}
    unnamed: Path | None = None
    for f in files:  # newest first
        if f.kind == UNKNOWN:
            unnamed = unnamed or f.path
        else:
            out.setdefault(f.kind, f.path)
    if unnamed is not None:
        out.setdefault(kind_of(unnamed), unnamed)
    return dict(sorted(out.items(), key=lambda kv: kind_order(kv[0])))


def by_kind(paths: Iterable[str | os.PathLike[str]]) -> dict[str, Path]:
    """Files keyed by their kind (the first of each kind wins), CPU first: a baseline's
    profiles, or the `--profile` files given to `check`."""
    out: dict[str, Path] = {}
    for p in paths:
        out.setdefault(kind_of(p), Path(p))
    return dict(sorted(out.items(), key=lambda kv: kind_order(kv[0])))


def service_profiles(cfg: Config, service: str) -> list[ProfileFile]:
    """`list_profiles` of the configured profiles.dir, every configured name known."""
    names = [s.name for s in cfg.services] + [e.service for e in cfg.profiles.endpoints]
    return list_profiles(cfg.profiles.dir, cfg.profiles.pattern, service, names)
