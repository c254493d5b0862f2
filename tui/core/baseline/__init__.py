"""Versioned baselines: the store on disk and the snapshot builder shared by CLI and TUI."""

from tui.core.baseline.snapshot import (
    build_snapshot,
    saturation_from_store,
    signals_from_record,
    signals_from_store,
)
from tui.core.baseline.store import BaselineStore, Snapshot, SnapshotInfo

__all__ = [
    "BaselineStore",
    "Snapshot",
    "SnapshotInfo",
    "build_snapshot",
    "saturation_from_store",
    "signals_from_record",
    "signals_from_store",
]
