"""The baseline built-ins: refresh (current window -> new current baseline) and restore.

Pure wrappers over the regression engineer's `BaselineStore`: they say what a refresh will
replace (for the confirm dialog), do it, and report the versions involved (for the audit log).
The store is duck-typed so this module depends only on the agreed interface.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from tui.core.actions.spec import REFRESH_BASELINE, RESTORE_BASELINE, BuiltinOutcome
from tui.core.baseline.route_samples import RouteSamples
from tui.errors import UserError


class BaselineStoreLike(Protocol):
    def save(self, snapshot: Any) -> str: ...
    def current(self, service: str) -> Any: ...
    def history(self, service: str) -> list[Any]: ...
    def restore(self, service: str, id: str) -> Any: ...


def _when(ts: Any) -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)


def describe(snap: Any) -> str:
    """`v1.4.2 taken 2026-01-31 14:00 UTC by alice@host (3 signals, 180 points, bench)`."""
    if snap is None:
        return "none"
    version = getattr(snap, "version", None) or "unversioned"
    parts = [f"{version} taken {_when(getattr(snap, 'taken_at', None))}"]
    who = getattr(snap, "taken_by", None)
    if who:
        parts.append(f"by {who}")
    signals = getattr(snap, "signals", None)
    extras = []
    if isinstance(signals, dict) and signals:
        extras.append(f"{len(signals)} signal{'s' if len(signals) != 1 else ''}")
        # a Snapshot holds sample lists, a SnapshotInfo holds their counts
        points = sum(v if isinstance(v, int) else len(v) for v in signals.values())
        extras.append(f"{points} points")
    if getattr(snap, "bench", None) or getattr(snap, "has_bench", False):
        extras.append("bench")
    profiles = getattr(snap, "profile_files", None)
    n_prof = len(profiles) if profiles else int(getattr(snap, "profiles", 0) or 0)
    if n_prof:
        extras.append(f"{n_prof} profile{'s' if n_prof != 1 else ''}")
    routes = getattr(snap, "routes", None)  # a Snapshot's map, a SnapshotInfo's count
    n_routes = len(routes) if isinstance(routes, dict) else int(routes or 0)
    if n_routes:
        extras.append(f"{n_routes} route{'s' if n_routes != 1 else ''}")
    if extras:
        parts.append(f"({', '.join(extras)})")
    return " ".join(parts)


def refresh_plan(store: BaselineStoreLike, snapshot: Any) -> list[str]:
    """Lines for the confirm dialog: the new baseline and the one it will replace."""
    current = store.current(snapshot.service)
    lines = [f"new baseline:  {describe(snapshot)}"]
    if current is None:
        lines.append(f"replaces:      nothing ({snapshot.service} has no baseline yet)")
    else:
        lines.append(f"replaces:      {describe(current)}")
        lines.append("(the old one stays in the history: 'restore previous baseline' undoes this)")
    return lines


def refresh(store: BaselineStoreLike, snapshot: Any) -> BuiltinOutcome:
    """Save `snapshot` as the service's current baseline; report what it replaced."""
    signals = getattr(snapshot, "signals", None)
    if isinstance(signals, dict) and not any(len(v) for v in signals.values()):
        raise UserError(
            f"no data in the current window for {snapshot.service}: nothing to snapshot"
        )
    old = store.current(snapshot.service)
    new_id = store.save(snapshot)
    lines = [f"saved baseline {new_id} for {snapshot.service}: {describe(snapshot)}"]
    lines.append(f"replaced: {describe(old)}" if old is not None else "replaced: nothing")
    return BuiltinOutcome(
        lines=lines,
        baseline_versions={
            "replaced": getattr(old, "version", None) if old is not None else None,
            "new": getattr(snapshot, "version", None),
            "new_id": new_id,
        },
    )


def _info_id(info: Any) -> str:
    for name in ("id", "snapshot_id", "name"):
        value = getattr(info, name, None)
        if value is not None:
            return str(value)
    raise TypeError(f"baseline history entry without an id: {info!r}")


def _is_current(info: Any, current: Any) -> bool:
    flag = getattr(info, "current", None)
    if isinstance(flag, bool):
        return flag
    flag = getattr(info, "is_current", None)
    if isinstance(flag, bool):
        return flag
    return (getattr(info, "taken_at", None), getattr(info, "version", None)) == (
        getattr(current, "taken_at", None),
        getattr(current, "version", None),
    )


def previous(store: BaselineStoreLike, service: str) -> Any | None:
    """The history entry just older than the current baseline, or None."""
    current = store.current(service)
    if current is None:
        return None
    entries = sorted(store.history(service), key=lambda i: float(getattr(i, "taken_at", 0) or 0))
    idx = next((i for i, e in enumerate(entries) if _is_current(e, current)), None)
    if idx is None or idx == 0:
        return None
    return entries[idx - 1]


def restore_plan(store: BaselineStoreLike, service: str) -> list[str]:
    prev = previous(store, service)
    if prev is None:
        return [f"{service} has no earlier baseline to restore"]
    return [
        f"restore:       {describe(prev)}",
        f"replaces:      {describe(store.current(service))}",
    ]


def restore_previous(store: BaselineStoreLike, service: str) -> BuiltinOutcome:
    """Make the baseline before the current one current again."""
    prev = previous(store, service)
    if prev is None:
        raise UserError(f"{service} has no earlier baseline to restore")
    old = store.current(service)
    store.restore(service, _info_id(prev))
    return BuiltinOutcome(
        lines=[
            f"restored baseline {_info_id(prev)} for {service}: {describe(prev)}",
            f"replaced: {describe(old)}",
        ],
        baseline_versions={
            "replaced": getattr(old, "version", None),
            "restored": getattr(prev, "version", None),
            "restored_id": _info_id(prev),
        },
    )


def release_alternative(store: Any, service: str, version: str | None) -> Any | None:
    """`b`'s other choice: the baseline of the release before `version` (the one the new
    baseline would be keyed by), when the store has one and it is not current already."""
    if not version or not hasattr(store, "previous_release"):
        return None
    prev = store.previous_release(service, version)
    current = store.current(service)
    if prev is None or (current is not None and current.id == prev.id):
        return None
    return prev


def use_release_baseline(store: BaselineStoreLike, service: str, snap: Any) -> BuiltinOutcome:
    """Make the previous release's baseline current instead of taking a new one."""
    old = store.current(service)
    store.restore(service, snap.id)
    return BuiltinOutcome(
        lines=[
            f"baseline {snap.id} of release {snap.version} is current for {service}: "
            f"{describe(snap)}",
            f"replaced: {describe(old)}",
        ],
        baseline_versions={
            "replaced": getattr(old, "version", None),
            "restored": snap.version,
            "restored_id": snap.id,
        },
    )


def snapshot_for_refresh(
    cfg: Any,
    store: Any,
    service: str,
    now: float,
    *,
    version: str | None = None,
    taken_by: str | None = None,
    running: tuple[str, str] | None = None,
    routes: RouteSamples | None = None,
) -> Any:
    """The selected service's current window (cfg.window seconds up to `now`) as a Snapshot.

    The same `baseline_snapshot` as `warroom baseline refresh`: saturation counts, newest
    profile, the configured bench file. Raises UserError when the window holds no samples
    or the configured bench file is missing: the key refuses, says why, and audits it.
    `running`: (version, source) the release detection sees, used when `version` is None.
    `routes`: the window's per-route samples (tui.sources.route_window), kept as `baseline
    refresh` keeps them.
    """
    from tui.core.baseline.snapshot import snapshot_from_store

    source = ""
    if version is None and running is not None:
        version, source = running
    elif version is not None:  # the action's {version}: the config's, else the live label's
        svc = cfg.service(service)
        configured = (svc.version, svc.labels.get("version")) if svc is not None else ()
        source = "config" if version in configured else "label"
    snap = snapshot_from_store(
        cfg,
        store,
        service,
        now - float(cfg.window),
        now,
        version=version,
        taken_by=taken_by,
        taken_at=now,
        window=float(cfg.window),
        source="dashboard window",
        version_source=source,
    )
    if routes is not None:
        routes.apply(snap)
    return snap


def prepare_builtin(
    cfg: Any,
    action: Any,
    metric_store: Any,
    baseline_store: BaselineStoreLike,
    now: float,
    running: tuple[str, str] | None = None,
    routes: RouteSamples | None = None,
) -> tuple[Callable[[], BuiltinOutcome], list[str]]:
    """(work to run, lines for the confirm dialog) for a baseline built-in (`routes`: the
    refresh's per-route samples; their `error` becomes a dialog line).

    Raises UserError when there is nothing to do (no samples, no earlier baseline): the
    caller refuses the action with that message, and the refusal is audited.
    """
    service = action.service
    if action.name == REFRESH_BASELINE:
        snap = snapshot_for_refresh(
            cfg, metric_store, service, now, version=action.version, running=running, routes=routes
        )
        lines = refresh_plan(baseline_store, snap)
        if routes is not None and routes.error:
            lines.append(f"routes:        none kept ({routes.error})")
        return (lambda: refresh(baseline_store, snap)), lines
    if action.name == RESTORE_BASELINE:
        if previous(baseline_store, service) is None:
            raise UserError(f"{service} has no earlier baseline to restore")
        return (lambda: restore_previous(baseline_store, service)), restore_plan(
            baseline_store, service
        )
    raise ValueError(f"{action.name} is not a built-in action")
