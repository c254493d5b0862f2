"""Live profiles on the profile screen: the folder watch, `c` capture, and follow or freeze.

A mixin of `ProfileScreen`. A newer profile of the same service arrives through `offer`
(from the folder watcher, a capture, or a `ProfileArrived` message posted from any thread):
shown at once when following, announced in the title when frozen (`z` toggles).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from textual.message import Message

from tui.core.pprof.catalog import profile_kind
from tui.ui.screens.profile_load import ProfileLoading


class ProfileArrived(Message):
    """A pprof_watch ProfileArrival or pprof_fetch Capture for a ProfileScreen.

    `screen.post_message(ProfileArrived(arrival))` is safe from any thread or task; the
    screen handles it like `offer(arrival)`.
    """

    def __init__(self, arrival: Any) -> None:
        super().__init__()
        self.arrival = arrival


class ProfileFollow(ProfileLoading):
    """Watching the profile's folder, capturing, and following what arrives."""

    watch_folder: bool
    watch_dir: Path | None
    pattern: str | None
    fetcher: Any  # a tui.sources.pprof_fetch.PprofFetcher, for `c`
    watcher: Any

    def start_watch(self) -> None:
        """At mount, with the load: a file written once the profile shows is then a new one
        (what the watcher finds in its first scan it takes as existing, not to be shown)."""
        if self.watch_folder:
            self.run_worker(self._watch(), exclusive=True, group="profile-watch")

    async def _watch(self) -> None:
        """Watch the profile folder while the screen is up; arrivals go to `offer`.

        The folder is `watch_dir` (the dashboard passes profiles.dir) or the file's own
        folder; the service comes from the pattern (`{service}-*.pb.gz` by default). A file
        whose name does not fit the pattern is followed by name: replaced in place.
        """
        from tui.core.pprof.catalog import ServicePattern
        from tui.sources.pprof_watch import PprofWatcher

        path = self.profile_path.resolve()
        folder = self.watch_dir or path.parent
        pattern = self.pattern or "{service}-*.pb.gz"
        services = [self.service] if self.service else []
        ok, service = ServicePattern(pattern, services).match(path.name)
        if not ok:
            pattern = path.name
        elif self.service is None:
            self.service = service

        def on_profile(arrival: Any) -> None:
            if arrival.kind != "existing":
                self.offer(arrival)

        self.watcher = PprofWatcher(folder, on_profile, pattern=pattern, services=services)
        await self.watcher.start()
        if self.watcher.status.state == "error":
            self._status(self.watcher.status.detail, error=True)
            return
        try:
            await asyncio.Event().wait()
        finally:
            await self.watcher.stop()

    def action_capture(self) -> None:
        """`c`: capture this service's profiles now (profiles.endpoints); the watcher shows them."""
        if self.fetcher is None or self.service is None:
            self._status("no profiles.endpoints entry to capture from")
            return
        self._status(f"capturing {self.service} ...")
        self.run_worker(self._capture(), group="profile-capture")

    async def _capture(self) -> None:
        assert self.fetcher is not None and self.service is not None
        caps = await self.fetcher.capture_service(self.service)
        bad = [c.error for c in caps if not c.ok]
        if bad:
            self._status("; ".join(str(b) for b in bad), error=True)
        elif caps:
            self._status(f"captured {', '.join(c.kind for c in caps)} for {self.service}")
            cpu = next((c for c in caps if c.kind == "profile"), caps[0])
            watched = self.watcher is not None and self.watcher.status.state == "listening"
            if not (
                watched
                and cpu.path is not None
                and cpu.path.parent.resolve() == self.watcher.directory.resolve()
            ):
                self.offer(cpu)  # the watcher announces files saved in its own folder
        else:
            self._status(f"no profiles.endpoints entry for {self.service}")

    def on_profile_arrived(self, message: ProfileArrived) -> None:
        self.offer(message.arrival)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow and self.pending is not None:
            arrival, self.pending = self.pending, None
            self.offer(arrival)
        self._set_title()

    def offer(self, arrival: Any) -> None:
        """A new profile arrived (a pprof_watch ProfileArrival or a pprof_fetch Capture).

        Broken files are reported in the status line; a profile of another service is
        ignored; with follow on it replaces the view (zoom kept by call path).
        """
        path = getattr(arrival, "path", None)
        if path is None or not getattr(arrival, "ok", True):
            err = getattr(arrival, "error", None) or "unreadable profile"
            self._status(f"new profile not loaded: {err}", error=True)
            return
        svc = getattr(arrival, "service", None)
        if self.service is not None and svc is not None and svc != self.service:
            return
        if not self.follow:
            self.pending = arrival
            self._set_title()
            self._status(f"newer profile {Path(path).name}: z to follow")
            return
        # the name says the kind: a heap capture while showing CPU is skipped undecoded
        mine, theirs = profile_kind(self.profile_path.name), profile_kind(Path(path).name)
        if mine and theirs and mine != theirs:
            return
        self.arrived_at = getattr(arrival, "seen_at", None) or time.monotonic()
        self.reload(Path(path), followed=True)
