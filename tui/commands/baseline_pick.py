"""Which baseline `baseline show`/`restore` (and `check --baseline`) mean: an id, the current
one, or the baseline of the previous release.

"Previous release" is relative to the version the service runs now (`--running`, else what
the release detection says: version_query or build_info, a `warroom mark`, the version label),
else to the current baseline's version, and the answer says which reference it used: after a
1.5.0 deploy over a 1.4.3 baseline, the previous release is 1.4.3, not the one before it.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.config import Config
    from tui.core.baseline.store import BaselineStore, Snapshot


def add_release_options(p: argparse.ArgumentParser, verb: str) -> None:
    p.add_argument(
        "--previous-release",
        action="store_true",
        help=f"{verb} the baseline of the release before the one running now (the newest "
        "baseline of another version)",
    )
    p.add_argument(
        "--running",
        metavar="VERSION",
        help="the version running now, for --previous-release (default: detected from "
        "version_query, *_build_info, `warroom mark` or the version label; else the current "
        "baseline's)",
    )


def running_reference(cfg: Config, store: BaselineStore, service: str, running: str | None) -> str:
    """The version --previous-release is relative to, and where it came from, as text."""
    if running:
        return running
    import asyncio

    from tui.sources.releases import running_version

    found = asyncio.run(running_version(cfg, service, time.time()))
    if found is not None:
        return found[0]
    cur = store.current(service)
    return cur.version if cur is not None and cur.version else ""


def previous_release(
    cfg: Config, store: BaselineStore, service: str, running: str | None
) -> tuple[Snapshot, str]:
    """(the baseline of the previous release, the running version it is relative to);
    UserError saying what is missing when there is none."""
    from tui.errors import UserError

    ref = running_reference(cfg, store, service, running)
    if not ref:
        raise UserError(
            f"{service}: --previous-release: the running version is unknown (no "
            "version_query, *_build_info, mark or version label, and the current baseline "
            "has no version); pass --running VERSION"
        )
    snap = store.previous_release(service, ref)
    if snap is None:
        known = sorted({i.version for i in store.history(service) if i.version})
        raise UserError(
            f"{service}: no baseline of a release before {ref} in {store.dir} (versions with "
            f"a baseline: {', '.join(known) or 'none'})"
        )
    return snap, ref


def pick(
    cfg: Config, store: BaselineStore, args: argparse.Namespace, *, need_id: bool = False
) -> tuple[Snapshot | None, str]:
    """The snapshot `args` name (id, --previous-release, else the current one) and a note."""
    from tui.errors import UserError

    if args.id and args.previous_release:
        raise UserError("give a baseline ID or --previous-release, not both")
    if args.running and not args.previous_release:
        raise UserError("--running goes with --previous-release")
    if args.previous_release:
        snap, ref = previous_release(cfg, store, args.service, args.running)
        return snap, f"previous release before {ref}"
    if args.id:
        return store.load(args.service, args.id), ""
    if need_id:
        raise UserError(f"restore {args.service}: give a baseline ID or --previous-release")
    return store.current(args.service), ""
