"""The demo's incident: a timeline that takes a baseline, ships a slow release, and then waits
for the operator's rollback and the recovery.

Three parties share one small protocol, so that nothing in the demo is faked:

- the scenario (inside `warroom demo`) writes the release file `DIR/releases/SERVICE.json`
  when the release ships;
- the deploy agent (tui/demo/deploy.py) watches that file and runs the Go service's binary
  at that version: gosvc 1.4.3 validates carts with `validate_cart_v2`, a real Go code path
  (one JSON round trip of the whole cart per line item); it confirms the version and the new
  process' pid in `DIR/releases/SERVICE.live.json`;
- the rollback command (`python -m tui.demo.rollback --state DIR`), run by warroom's action
  runner after the typed confirmation, writes the previous version back and waits for that
  confirmation, i.e. for the previous release's binary to be serving again.

`Scenario` is the timeline as a pure state machine (fed the elapsed time, the detector's state
and the release file; it says what to do and what the banner says), so it is tested without a
terminal; `DemoDriver` is the thin glue that runs it inside the dashboard.

Where it lives: the timeline, `Scenario`, the baseline step and `DemoDriver` here; the release
file (`Release`, `ship_release`, `roll_back`, `read_live`) in release_file.py; the deploy agent
in deploy.py, the rollback command in rollback.py, the demo's services in service.py.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.demo.release_file import (
    BAD_VERSION,
    GOOD_VERSION,
    Release,
    ReleaseStateError,
    read_release,
    ship_release,
)
from tui.errors import UserError

DEFAULT_SERVICE = "checkout"  # first in the demo's service list, so the dashboard selects it

# Stages of the timeline, in order.
STEADY = "steady"
BASELINE = "baseline"
RELEASED = "released"
SPIKE = "spike"
ROLLED_BACK = "rolled back"
RECOVERED = "recovered"
STAGES = (STEADY, BASELINE, RELEASED, SPIKE, ROLLED_BACK, RECOVERED)

# What `Scenario.step` asks the driver to do.
TAKE_BASELINE = "take_baseline"
SHIP_RELEASE = "ship_release"


# --- the timeline -----------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """Seconds after start. The baseline leaves out `warmup` (the first rate windows are
    partial) and is taken before the release, so it holds only the good version."""

    warmup: float
    baseline_at: float
    release_at: float
    retry: float = 2.0  # a baseline that found no samples yet is tried again this much later

    @classmethod
    def normal(cls) -> Timeline:
        return cls(warmup=5.0, baseline_at=25.0, release_at=30.0)

    @classmethod
    def fast(cls) -> Timeline:
        return cls(warmup=2.0, baseline_at=10.0, release_at=11.0, retry=1.0)


class Scenario:
    """The incident as a state machine; `step()` once per tick, then read `banner()`.

    Stages: steady -> baseline -> released -> spike (detector SUSTAINED) -> rolled back (the
    release file says so, whoever ran the rollback) -> recovered (the detector is back).
    A rollback before the spike skips the spike stage. Nothing here does IO.
    """

    def __init__(
        self, service: str = DEFAULT_SERVICE, timeline: Timeline | None = None, audit_path: str = ""
    ):
        self.service = service
        self.timeline = timeline or Timeline.normal()
        self.audit_path = audit_path
        self.stage = STEADY
        self.baseline_due = self.timeline.baseline_at
        self.note = ""  # e.g. why the baseline is late, or what the rollback audited
        self.saw_sustained = False
        self.stage_since: dict[str, float] = {STEADY: 0.0}

    def _enter(self, stage: str, elapsed: float) -> None:
        self.stage = stage
        self.stage_since[stage] = elapsed

    def step(
        self, elapsed: float, detector_state: str | None, release: Release | None
    ) -> list[str]:
        """Advance at most one stage; returns what the driver must do now (in order)."""
        todo: list[str] = []
        if detector_state == "SUSTAINED":
            self.saw_sustained = True
        if self.stage == STEADY and elapsed >= self.baseline_due:
            todo.append(TAKE_BASELINE)
        elif self.stage == BASELINE and elapsed >= self.timeline.release_at:
            todo.append(SHIP_RELEASE)
        elif self.stage in (RELEASED, SPIKE):
            if release is not None and release.changed_by == "rollback":
                self._enter(ROLLED_BACK, elapsed)
            elif self.stage == RELEASED and detector_state == "SUSTAINED":
                self._enter(SPIKE, elapsed)
        elif self.stage == ROLLED_BACK and detector_state in ("RECOVERED", "OK"):
            self._enter(RECOVERED, elapsed)
        return todo

    def baseline_taken(self, elapsed: float, note: str = "") -> None:
        self.note = note
        self._enter(BASELINE, elapsed)

    def baseline_failed(self, elapsed: float, reason: str) -> None:
        """No samples yet (the service is slow to start): try again a little later."""
        self.note = reason
        self.baseline_due = elapsed + self.timeline.retry

    def release_shipped(self, elapsed: float) -> None:
        self.note = ""
        self._enter(RELEASED, elapsed)

    def banner(self, elapsed: float) -> str:
        """One or two short lines: what is happening and what to press."""
        s = self.service
        if self.stage == STEADY:
            wait = max(0, math.ceil(self.baseline_due - elapsed))
            text = (
                f"DEMO 1/5 steady traffic. Baseline of {s} {GOOD_VERSION} in {wait}s, "
                f"then release {BAD_VERSION} ships. Nothing to press yet."
            )
        elif self.stage == BASELINE:
            wait = max(0, math.ceil(self.timeline.release_at - elapsed))
            text = (
                f"DEMO 2/5 baseline taken ({s} P99 + CPU profile of {GOOD_VERSION}). "
                f"Release {BAD_VERSION} of {s} ships in {wait}s."
            )
        elif self.stage == RELEASED:
            text = (
                f"DEMO 3/5 {s} {BAD_VERSION} is live. Watch its P99 climb until the "
                f"detector says SUSTAINED."
            )
        elif self.stage == SPIKE:
            text = (
                f"DEMO 4/5 {s} P99 SUSTAINED. Regression tab: p99 turns REGRESSION as slow "
                f"samples pile up. d: CPU diff vs baseline. r: roll back (type {s}, Enter)"
            )
        elif self.stage == ROLLED_BACK:
            text = f"DEMO 5/5 {s} rolled back to {GOOD_VERSION}. Waiting for P99 to recover..."
        else:
            where = f" in {self.audit_path}" if self.audit_path else ""
            text = (
                f"DEMO done: {s} RECOVERED on {GOOD_VERSION}. The rollback is "
                f"audited{where}. q quits."
            )
        return text + (f" ({self.note})" if self.note else "")


# --- the baseline the demo takes -------------------------------------------------------


def take_baseline(
    metric_store: Any,
    baseline_dir: str | os.PathLike[str],
    services: Iterable[str],
    start: float,
    end: float,
    profiles_dir: str | None,
    pattern: str,
    version: str = GOOD_VERSION,
) -> dict[str, str]:
    """Snapshot each service's samples in [start, end] (plus its newest profile of each
    kind, so the diff flame graph has a base) as its current baseline; {service: snapshot id}.

    Services without samples are skipped; UserError when none had any.
    """
    from tui.core.baseline import (
        BaselineStore,
        build_snapshot,
        saturation_from_store,
        signals_from_store,
    )
    from tui.core.pprof.catalog import list_profiles, newest_of_each_kind

    store = BaselineStore(baseline_dir)
    ids: dict[str, str] = {}
    skipped: list[str] = []
    for service in services:
        signals, step = signals_from_store(metric_store, service, start, end)
        if not any(signals.values()):
            skipped.append(service)
            continue
        profiles = newest_of_each_kind(list_profiles(profiles_dir, pattern, service, services))
        snap = build_snapshot(
            service,
            signals,
            step=step,
            version=version,
            taken_at=end,
            profile_files=[str(p) for p in profiles.values()],
            window=end - start,
            start=start,
            source="warroom demo (live OTLP window)",
            note="taken by the demo before the release",
            saturated=saturation_from_store(metric_store, service, start, end),
        )
        ids[service] = store.save(snap)
    if not ids:
        raise UserError(f"no samples yet for {', '.join(skipped) or 'any service'}")
    return ids


def audited_rollback(audit_path: str, service: str, since: float) -> dict[str, Any] | None:
    """The audit log's `finished` rollback record for `service` at or after `since`."""
    try:
        lines = Path(audit_path).expanduser().read_text().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(rec, dict)
            and rec.get("action") == "rollback"
            and rec.get("service") == service
            and rec.get("event") == "finished"
            and float(rec.get("ts", 0)) >= since
        ):
            return rec
    return None


# --- inside the dashboard ------------------------------------------------------------------


class DemoDriver:
    """Runs a Scenario inside a running WarroomApp: a timer, the baseline, the release, and a
    banner above the service table. Everything else (detector, rollback, audit) is warroom's
    own machinery, exactly as without the demo."""

    TICK = 0.25

    def __init__(
        self,
        app: Any,
        scenario: Scenario,
        state_dir: str | os.PathLike[str],
        services: list[str],
        clock: Callable[[], float] = time.time,
    ):
        self.app = app
        self.scenario = scenario
        self.state_dir = Path(state_dir)
        self.services = services
        self.clock = clock
        self.started = clock()
        self.banner: Any = None
        self._shown = ""

    def start(self) -> None:
        """Call once the dashboard is mounted (e.g. from the app's on_ready)."""
        from textual.widgets import Static

        self.started = self.clock()
        dashboard = self.app.dashboard
        self.banner = Static("", id="demo-banner", markup=False)
        self.banner.styles.height = "auto"
        self.banner.styles.padding = (0, 1)
        self.banner.styles.text_style = "bold"
        self.banner.styles.background = "ansi_yellow"
        self.banner.styles.color = "ansi_black"
        dashboard.mount(self.banner, before=dashboard.table)
        self.app.set_interval(self.TICK, self.tick)
        self.tick()

    def detector_state(self) -> str | None:
        tracker = getattr(self.app.hub, "spikes", None)
        return None if tracker is None else str(tracker.state(self.scenario.service))

    def tick(self) -> None:
        now = self.clock()
        elapsed = now - self.started
        sc = self.scenario
        try:
            release = read_release(self.state_dir, sc.service)
        except ReleaseStateError as exc:
            release, sc.note = None, str(exc)
        before = sc.stage
        for todo in sc.step(elapsed, self.detector_state(), release):
            if todo == TAKE_BASELINE:
                self._take_baseline(now, elapsed)
            elif todo == SHIP_RELEASE:
                ship_release(self.state_dir, sc.service, now=now)
                sc.release_shipped(elapsed)
        if sc.stage == RECOVERED and before != RECOVERED:
            rec = audited_rollback(sc.audit_path, sc.service, self.started)
            sc.note = (
                f"rollback by {rec.get('user')}, exit {rec.get('exit')}"
                if rec
                else "no finished rollback in the audit log"
            )
        if sc.stage != before and sc.stage == RELEASED:
            self._show_tab("tab-regression")  # watch the verdicts change as it goes live
        self._show(sc.banner(elapsed))

    def _show_tab(self, pane_id: str) -> None:
        """Bring a detail tab to the front, when the dashboard has it."""
        dashboard = self.app.dashboard
        if dashboard.pane(pane_id) is None:
            return
        from textual.widgets import TabbedContent

        for detail in dashboard.query(TabbedContent):
            detail.active = pane_id

    def _take_baseline(self, now: float, elapsed: float) -> None:
        cfg = self.app.cfg
        try:
            ids = take_baseline(
                self.app.store,
                Path(cfg.baseline.dir).expanduser(),
                self.services,
                self.started + self.scenario.timeline.warmup,
                now,
                cfg.profiles.dir,
                cfg.profiles.pattern,
            )
        except UserError as exc:
            self.scenario.baseline_failed(elapsed, str(exc))
            return
        if self.scenario.service not in ids:
            self.scenario.baseline_failed(elapsed, f"no samples of {self.scenario.service} yet")
            return
        self.scenario.baseline_taken(elapsed)

    def _show(self, text: str) -> None:
        if text != self._shown and self.banner is not None and self.banner.is_mounted:
            self._shown = text
            self.banner.update(text)


def run_demo_dashboard(
    cfg: Any, scenario: Scenario, state_dir: str | os.PathLike[str], services: list[str]
) -> int:
    """The dashboard with the scenario running in it, until the user quits."""
    from tui.ui.app import WarroomApp

    class DemoApp(WarroomApp):
        demo: DemoDriver

        # Textual calls every class's on_ready in the MRO: WarroomApp's starts the sources,
        # this one the scenario (both after the dashboard is on screen).
        def on_ready(self) -> None:
            self.demo.start()

    app = DemoApp(cfg)
    app.demo = DemoDriver(app, scenario, state_dir, services)
    app.run()
    return int(app.return_code or 0)
