"""Build baseline snapshots from what warroom already holds: a MetricStore window or a
recording. `baseline_snapshot` is the one place that fills in the defaults (version, bench
file, newest profile of each kind, saturation counts) for both `warroom baseline refresh` and the
dashboard's `b` key, so the two take exactly the same snapshot and fail the same way.
No network here: callers fetch; only the configured files are looked at.
"""

from __future__ import annotations

import getpass
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tui.core.baseline.store import Snapshot, check_name
from tui.core.metrics.store import FLAG_SATURATED, SIGNALS, MetricStore
from tui.core.pprof.catalog import newest_of_each_kind, service_profiles
from tui.errors import UserError

if TYPE_CHECKING:
    from tui.config import Config


def default_taken_by() -> str:
    """user@host, so a history line says who took it (no network lookup)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{os.uname().nodename}" if hasattr(os, "uname") else user


def infer_step(times: Sequence[float] | np.ndarray) -> float:
    """Median spacing of sample times (0 when fewer than two)."""
    t = np.unique(np.asarray(times, dtype=float))
    if len(t) < 2:
        return 0.0
    return float(np.median(np.diff(t)))


def build_snapshot(
    service: str,
    signals: Mapping[str, Sequence[float]],
    *,
    step: float,
    version: str | None = None,
    taken_by: str | None = None,
    taken_at: float | None = None,
    bench: str | None = None,
    profile_files: Iterable[str] = (),
    window: float | None = None,
    start: float | None = None,
    source: str = "",
    note: str = "",
    saturated: Mapping[str, int] | None = None,
    revision: str = "",
    version_source: str = "",
) -> Snapshot:
    """Validate and assemble a Snapshot; refuse one without a single usable sample."""
    check_name("service", service)
    clean = {k: [float(v) for v in vals] for k, vals in signals.items()}
    usable = {k: sum(1 for v in vals if math.isfinite(v)) for k, vals in clean.items()}
    if not any(usable.values()):
        raise UserError(
            f"{service}: no samples in the window"
            f"{' from ' + source if source else ''}; nothing to snapshot"
        )
    return Snapshot(
        service=service,
        version=version,
        taken_at=time.time() if taken_at is None else taken_at,
        taken_by=taken_by or default_taken_by(),
        signals=clean,
        step=float(step),
        bench=bench,
        profile_files=list(profile_files),
        window=window,
        start=start,
        source=source,
        note=note,
        saturated={k: int(v) for k, v in (saturated or {}).items() if v},
        revision=revision,
        version_source=version_source if version is not None else "",
    )


def signals_from_store(
    store: MetricStore, service: str, start: float, end: float
) -> tuple[dict[str, list[float]], float]:
    """Per-signal samples with start <= t <= end from the live store, and their step."""
    out: dict[str, list[float]] = {}
    all_times: list[float] = []
    for sig in SIGNALS:
        ring = store.series(service, sig)
        if ring is None:
            continue
        t, v, _ = ring.since(start)
        keep = t <= end
        if keep.any():
            out[sig] = [float(x) for x in v[keep]]
            all_times.extend(float(x) for x in t[keep])
    return out, infer_step(all_times)


def saturation_from_store(
    store: MetricStore, service: str, start: float, end: float
) -> dict[str, int]:
    """How many samples per signal in [start, end] are saturated (FLAG_SATURATED)."""
    out: dict[str, int] = {}
    for sig in SIGNALS:
        ring = store.series(service, sig)
        if ring is None:
            continue
        t, _, f = ring.since(start)
        n = int(((f[t <= end] & FLAG_SATURATED) != 0).sum())
        if n:
            out[sig] = n
    return out


def signals_from_record(
    events: Iterable[dict[str, Any]],
    service: str,
    window: float | None = None,
    end: float | None = None,
) -> tuple[dict[str, list[float]], float, float | None, float | None]:
    """Point events of one service from a recording: (signals, step, start, end).

    With `window`, only the last `window` seconds before `end` (default: the last point).
    """
    pts = [
        e
        for e in events
        if e.get("type") == "point"
        and e.get("service") == service
        and isinstance(e.get("signal"), str)
        and isinstance(e.get("value"), (int, float))
    ]
    if not pts:
        return {}, 0.0, None, None
    last = max(float(e["t"]) for e in pts) if end is None else end
    first = -math.inf if window is None else last - window
    pts = sorted((e for e in pts if first <= float(e["t"]) <= last), key=lambda e: e["t"])
    out: dict[str, list[float]] = {}
    for e in pts:
        out.setdefault(e["signal"], []).append(float(e["value"]))
    times = [float(e["t"]) for e in pts]
    return out, infer_step(times), (times[0] if times else None), (times[-1] if times else None)


def require_file(path: str, what: str) -> str:
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{what}: {p}: no such file")
    if not p.is_file():
        raise UserError(f"{what}: {p}: not a regular file")
    return str(p)


def baseline_snapshot(
    cfg: Config,
    service: str,
    signals: Mapping[str, Sequence[float]],
    step: float,
    *,
    labels: Mapping[str, str] | None = None,
    version: str | None = None,
    taken_by: str | None = None,
    taken_at: float | None = None,
    bench: str | None = None,
    profile_files: Iterable[str] | None = None,
    window: float | None = None,
    start: float | None = None,
    source: str = "",
    saturated: Mapping[str, int] | None = None,
    revision: str = "",
    version_source: str = "",
) -> Snapshot:
    """The snapshot both the CLI refresh and the dashboard key save, defaults filled in.

        version: the argument (its `version_source` says where the caller found it: cli,
        build_info, otlp, mark, record), else the service's config, else the live `version`
        label (the same order as the action templates). bench: the argument, else `baseline.bench`; a named bench file that does not
        exist is an error (a baseline silently missing its benchmark would pass every later
        `check`). profiles: the argument (each must exist), else the newest of each kind in
    `profiles.dir` (a baseline with only the heap capture could never gate CPU).
    """
    svc = next((s for s in cfg.services if s.name == service), None)
    if version is not None:
        version_source = version_source or "cli"
    elif svc is not None and (svc.version or svc.labels.get("version")):
        version, version_source, revision = svc.version or svc.labels["version"], "config", ""
    elif labels and labels.get("version"):
        version, version_source, revision = labels["version"], "label", ""
    if bench is not None:
        bench = require_file(bench, "bench file")
    elif cfg.baseline.bench:
        where = f"{cfg.source}: " if cfg.source else ""
        bench = require_file(cfg.baseline.bench, f"{where}baseline.bench")
    if profile_files is None:
        newest = newest_of_each_kind(service_profiles(cfg, service))
        profiles = [str(p) for p in newest.values()]
    else:
        profiles = [require_file(p, "profile file") for p in profile_files]
    return build_snapshot(
        service,
        signals,
        step=step,
        version=version,
        taken_by=taken_by,
        taken_at=taken_at,
        bench=bench,
        profile_files=profiles,
        window=window,
        start=start,
        source=source,
        saturated=saturated,
        revision=revision,
        version_source=version_source,
    )


def snapshot_from_store(
    cfg: Config,
    store: MetricStore,
    service: str,
    start: float,
    end: float,
    **kwargs: Any,
) -> Snapshot:
    """`baseline_snapshot` of a MetricStore window [start, end], saturation counts and the Go
    runtime series included."""
    signals, step = signals_from_store(store, service, start, end)
    info = store.services.get(service)
    snap = baseline_snapshot(
        cfg,
        service,
        signals,
        step or float(cfg.refresh),
        labels=info.labels if info is not None else None,
        start=start,
        saturated=saturation_from_store(store, service, start, end),
        **kwargs,
    )
    snap.runtime = runtime_from_store(store, service, start, end)
    return snap


def runtime_from_store(
    store: MetricStore, service: str, start: float, end: float
) -> dict[str, list[float]]:
    """The Go runtime series (go.*) the dashboard tails, for `b`'s baseline as `refresh` has."""
    from tui.core.metrics.go_runtime import KEYS

    out: dict[str, list[float]] = {}
    for key in KEYS:
        ring = store.series(service, key)
        if ring is not None:
            t, v, _ = ring.since(start)
            if (t <= end).any():
                out[key] = [float(x) for x in v[t <= end]]
    return out
