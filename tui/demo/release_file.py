"""The demo's release file: which version of gosvc a service should run, and what it serves.

The protocol between the three parties of the demo's incident (tui/demo/incident.py says who
they are): `DIR/releases/SERVICE.json` says what should run (`Release`, written atomically by
`ship_release` and `roll_back`), `DIR/releases/SERVICE.live.json` what the deploy agent
confirmed is serving (`read_live`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tui.core.atomic import write_atomic
from tui.errors import UserError

GOOD_VERSION = "1.4.2"
BAD_VERSION = "1.4.3"


class ReleaseStateError(UserError):
    """The release file is unreadable or there is nothing to roll back (one clear line)."""


@dataclass(frozen=True)
class Release:
    """What a service should run. `previous` is what a rollback goes back to."""

    service: str
    version: str
    previous: str | None
    slow: bool  # the release runs the slow cart validation (gosvc validate_cart_v2)
    changed_at: float  # unix time
    changed_by: str  # "release" | "rollback"

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), sort_keys=True) + "\n").encode()


def releases_dir(state_dir: str | os.PathLike[str]) -> Path:
    return Path(state_dir) / "releases"


def release_path(state_dir: str | os.PathLike[str], service: str) -> Path:
    return releases_dir(state_dir) / f"{service}.json"


def live_path(state_dir: str | os.PathLike[str], service: str) -> Path:
    return releases_dir(state_dir) / f"{service}.live.json"


def read_release(state_dir: str | os.PathLike[str], service: str) -> Release | None:
    """The release file of `service`, None when nothing was ever released."""
    path = release_path(state_dir, service)
    try:
        data = json.loads(path.read_bytes())
        return Release(
            service=str(data["service"]),
            version=str(data["version"]),
            previous=None if data.get("previous") is None else str(data["previous"]),
            slow=bool(data["slow"]),
            changed_at=float(data["changed_at"]),
            changed_by=str(data["changed_by"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReleaseStateError(f"{path}: not a release file ({exc})") from None


def ship_release(
    state_dir: str | os.PathLike[str],
    service: str,
    version: str = BAD_VERSION,
    now: float | None = None,
) -> Release:
    """Make `version` (the slow one) the release of `service`; the old one becomes previous."""
    old = read_release(state_dir, service)
    rel = Release(
        service,
        version,
        old.version if old is not None else GOOD_VERSION,
        slow=version == BAD_VERSION,
        changed_at=time.time() if now is None else now,
        changed_by="release",
    )
    write_atomic(release_path(state_dir, service), rel.to_json())
    return rel


def roll_back(
    state_dir: str | os.PathLike[str], service: str, now: float | None = None
) -> tuple[Release, Release]:
    """Put the previous version back: (before, after). ReleaseStateError when there is none."""
    old = read_release(state_dir, service)
    if old is None:
        raise ReleaseStateError(
            f"{service}: nothing to roll back (no release was shipped; "
            f"{release_path(state_dir, service)} does not exist)"
        )
    if old.previous is None or old.changed_by == "rollback":
        raise ReleaseStateError(
            f"{service}: nothing to roll back ({old.version} is live and "
            f"was itself {'a rollback' if old.previous else 'the first'})"
        )
    new = Release(
        service,
        old.previous,
        None,
        slow=old.previous == BAD_VERSION,
        changed_at=time.time() if now is None else now,
        changed_by="rollback",
    )
    write_atomic(release_path(state_dir, service), new.to_json())
    return old, new


def read_live(state_dir: str | os.PathLike[str], service: str) -> dict[str, Any] | None:
    """What the service last confirmed it serves ({version, slow, pid, at}), None if nothing."""
    try:
        data = json.loads(live_path(state_dir, service).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
