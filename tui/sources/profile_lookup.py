"""The dashboard's look-ups on disk: which profile `f`/`d` open, the baseline and its profiles.

Each reads the disk (folder listings, the gzip trailer of a candidate file, the baseline
store), so the app calls them in a worker thread, never in its event loop: a profiles.dir
on a slow disk must not freeze a keystroke. Problems the user can fix are `UserError`s
naming the service and the folder or file; the dashboard shows them as toasts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui.config import Config
from tui.core.baseline import BaselineStore, Snapshot
from tui.core.pprof.catalog import (
    ProfileFile,
    by_kind,
    newest,
    newest_of_each_kind,
    service_profiles,
)
from tui.errors import UserError
from tui.sources.pprof_watch import check_complete


def newest_profile(
    cfg: Config,
    service: str,
    kind: str | None = None,
    usable: Callable[[Path], bool] | None = None,
) -> Path | None:
    """The newest file of `service` (of `kind` when given) in profiles.dir that `usable`
    accepts (all, when not given)."""
    return newest(service_profiles(cfg, service), kind, usable)


def whole_profile(path: Path) -> bool:
    """Cheap check (gzip trailer, top-level protobuf) so `f` skips a half-written file."""
    try:
        return check_complete(path.read_bytes(), deep=False) is None
    except OSError:
        return False


def baseline_snapshot(cfg: Config, service: str) -> Snapshot | None:
    """The service's current baseline (None without one); a damaged store is a UserError."""
    try:
        return BaselineStore(Path(cfg.baseline.dir).expanduser()).current(service)
    except UserError:
        raise
    except (OSError, ValueError) as exc:
        raise UserError(f"baseline of {service} in {cfg.baseline.dir}: {exc}") from None


def profiles_by_kind(snap: Snapshot) -> dict[str, Path]:
    """A baseline's profile files by kind, CPU first; a missing file is a UserError."""
    missing = [p for p in snap.profile_files if not Path(p).is_file()]
    if missing:
        raise UserError(f"baseline profile of {snap.service} is missing: {missing[0]}")
    return by_kind(snap.profile_files)


def baseline_profiles(cfg: Config, service: str) -> dict[str, Path]:
    """The service's current baseline profiles by kind, CPU first; a damaged store or a
    missing file is a UserError naming it (the dashboard shows it as a toast)."""
    snap = baseline_snapshot(cfg, service)
    return profiles_by_kind(snap) if snap is not None else {}


@dataclass(frozen=True)
class ProfileChoice:
    """What `f` or `d` opens: the profile, and for a diff the baseline's of the same kind."""

    path: Path
    base: Path | None = None


def profile_to_open(cfg: Config, service: str, diff: bool) -> ProfileChoice:
    """`f`: the newest whole CPU profile (else the newest of any kind); `d`: the baseline's
    CPU profile (else its first kind that has a current file) against the newest of that
    kind. UserError says what is missing and where."""
    where = cfg.profiles.dir or "not configured"
    if not diff:
        path = newest_profile(cfg, service, "cpu", whole_profile) or newest_profile(
            cfg, service, None, whole_profile
        )
        if path is None:
            raise UserError(f"no profile for {service} in profiles.dir ({where})")
        return ProfileChoice(path)
    bases = baseline_profiles(cfg, service)
    if not bases:
        raise UserError(f"no baseline profile for {service}")
    for kind, base_path in bases.items():  # CPU first
        current = newest_profile(cfg, service, kind, whole_profile)
        if current is not None:
            return ProfileChoice(current, base_path)
    raise UserError(
        f"no current {' or '.join(bases)} profile of {service} in profiles.dir "
        f"({where}) to diff with the baseline"
    )


@dataclass(frozen=True)
class PickerSources:
    """The profile picker's inputs: profiles.dir's files of the service, newest first, and
    its baseline's profiles (`problem`: why the baseline could not be read)."""

    files: list[ProfileFile]
    baseline: dict[str, Path]
    baseline_id: str
    problem: str | None = None


def picker_sources(cfg: Config, service: str) -> PickerSources:
    problem = None
    try:
        snap = baseline_snapshot(cfg, service)
        bases = profiles_by_kind(snap) if snap is not None else {}
    except UserError as exc:
        snap, bases, problem = None, {}, str(exc)
    return PickerSources(
        service_profiles(cfg, service), bases, (snap.id or "") if snap is not None else "", problem
    )


def regression_inputs(cfg: Config, service: str) -> tuple[Snapshot | None, list[Path]]:
    """The regression pane's baseline and the newest profile of each kind to compare."""
    baseline = BaselineStore(cfg.baseline.dir).current(service)
    profiles = newest_of_each_kind(service_profiles(cfg, service))
    return baseline, list(profiles.values())
