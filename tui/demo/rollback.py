"""The demo's rollback command: `python -m tui.demo.rollback --state DIR [--service NAME]`.

What warroom's `r` key runs in the demo (an exec action, after the typed confirmation). Like a
real deploy tool it changes the desired state (the release file the demo's deploy agent
watches, tui/demo/deploy.py) and then waits until the previous release's Go binary is serving
again (the agent's confirmation names the new process), saying what it does at each step. Exit 0 when every rollback is confirmed, 1 when there is nothing to roll back or
the service did not confirm in time, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tui.demo.release_file import (
    ReleaseStateError,
    read_live,
    read_release,
    release_path,
    releases_dir,
    roll_back,
)


def services_in(state_dir: Path) -> list[str]:
    """Every service with a release file (for a rollback without --service)."""
    d = releases_dir(state_dir)
    return (
        sorted(
            p.name[: -len(".json")] for p in d.glob("*.json") if not p.name.endswith(".live.json")
        )
        if d.is_dir()
        else []
    )


def wait_confirmed(
    state_dir: Path, service: str, version: str, timeout: float, not_pid: object = None
) -> dict[str, Any] | None:
    """Poll the service's live file until a process other than `not_pid` (the one serving
    before) serves `version`; None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        live = read_live(state_dir, service)
        if (
            live is not None
            and live.get("version") == version
            and (not_pid is None or live.get("pid") != not_pid)
        ):
            return live
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def rollback_one(state_dir: Path, service: str, wait: float) -> int:
    old_pid = (read_live(state_dir, service) or {}).get("pid")
    before, after = roll_back(state_dir, service)
    print(
        f"{service}: rolling back {before.version} -> {after.version} "
        f"(released {time.strftime('%H:%M:%S', time.localtime(before.changed_at))})",
        flush=True,
    )
    print(
        f"{service}: desired version {after.version} written to {release_path(state_dir, service)}",
        flush=True,
    )
    if wait <= 0:
        return 0
    live = wait_confirmed(state_dir, service, after.version, wait, not_pid=old_pid)
    if live is None:
        print(
            f"{service}: the service did not confirm {after.version} within {wait:g}s "
            "(is `warroom demo` running?)",
            file=sys.stderr,
            flush=True,
        )
        return 1
    was = f" (was pid {old_pid})" if old_pid is not None else ""
    print(
        f"{service}: pid {live.get('pid')} now serves {after.version}{was}; rollback done",
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tui.demo.rollback",
        description="roll a demo service back to its previous release",
    )
    p.add_argument("--state", required=True, help="the demo's state directory")
    p.add_argument(
        "--service", default="", help="service to roll back (default: every service with a release)"
    )
    p.add_argument(
        "--wait",
        type=float,
        default=10.0,
        help="seconds to wait for the service to confirm (0: do not wait)",
    )
    args = p.parse_args(argv)
    state = Path(args.state)
    if not state.is_dir():
        print(f"rollback: {state}: no such state directory", file=sys.stderr)
        return 1
    names = [args.service] if args.service else services_in(state)
    if not names:
        print(
            f"rollback: nothing to roll back (no release files in {releases_dir(state)})",
            file=sys.stderr,
        )
        return 1
    if not args.service:  # only the ones that have something to roll back
        candidates = []
        for n in names:
            try:
                rel = read_release(state, n)
            except ReleaseStateError as exc:
                print(f"rollback: {exc}", file=sys.stderr)
                return 1
            if rel is not None and rel.previous is not None and rel.changed_by != "rollback":
                candidates.append(n)
        if not candidates:
            print(
                "rollback: nothing to roll back (every service runs its rolled-back or "
                "first version)",
                file=sys.stderr,
            )
            return 1
        names = candidates
    code = 0
    for name in names:
        try:
            code = max(code, rollback_one(state, name, args.wait))
        except ReleaseStateError as exc:
            print(f"rollback: {exc}", file=sys.stderr)
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
