"""Alertmanager API v2: the alerts pane's data, silences, and warroom's own spikes as alerts.

One refresh loop (re-armed after it finishes, backing off while Alertmanager is down) fetches
`GET /api/v2/alerts` with the configured filter matchers. A down or misbehaving Alertmanager
is a source state (`status`), never an exception out of the loop: the pane keeps the last
good alerts and shows since when they are stale.

Silences go to `POST /api/v2/silences` with one equality matcher per label of the alert (the
same silence the Alertmanager UI pre-fills), `createdBy` = user@host, and are written to the
audit log whether they succeed or not. Each refresh also lists the active and pending
silences (`GET /api/v2/silences`); expiring one is `DELETE /api/v2/silence/{id}`, audited the
same way. With `push_spikes`, SUSTAINED spikes fire a
`WarroomP99Spike` alert that is re-posted every refresh until RECOVERED resolves it (the
way Prometheus keeps an alert alive), GLITCHes fire one that resolves on its own.

Where it lives: the source (loop, requests, silences, spike alerts, audit) here; the API's
values (`Alert`, `Silence`, matchers, times) in alertmanager_model.py.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx

from tui.config import AlertmanagerConfig
from tui.core.actions.audit import append_record, make_record, user_at_host
from tui.core.stats.spikes import GLITCH, RECOVERED, SUSTAINED, SpikeEvent
from tui.sources.alertmanager_model import (
    NO_SERVICE,
    Alert,
    AlertmanagerConfigError,
    AlertmanagerError,
    Silence,
    SilenceResult,
    format_matchers,
    format_time,
    group_by_service,
    parse_matcher,
)
from tui.sources.base import Backoff, RefreshLoop, SourceStatus

# the API's values live in alertmanager_model; the UI and tests take them from here
__all__ = [
    "NO_SERVICE",
    "SPIKE_ALERTNAME",
    "Alert",
    "AlertmanagerConfigError",
    "AlertmanagerError",
    "AlertmanagerSource",
    "Silence",
    "SilenceResult",
    "format_matchers",
    "group_by_service",
    "parse_matcher",
    "user_at_host",
]

SPIKE_ALERTNAME = "WarroomP99Spike"
GLITCH_ALERT_TTL = 300.0  # a GLITCH alert resolves itself after 5 minutes
MAX_BACKOFF = 300.0
MIN_INTERVAL = 1.0  # seconds between refreshes, even when woken early
log = logging.getLogger(__name__)


class AlertmanagerSource:
    """Polls alerts and silences, creates and expires silences and pushes spikes; never
    raises out of its loop."""

    def __init__(
        self,
        cfg: AlertmanagerConfig,
        on_update: Callable[[list[Alert]], None] | None = None,
        audit_path: str | None = None,
        client: httpx.AsyncClient | None = None,
        with_silences: bool = True,
    ):
        """`with_silences=False` skips the silences list (`record` has no one to show it)."""
        self.cfg = cfg
        self.with_silences = with_silences
        self.base_url = cfg.url.rstrip("/")
        self.filters = [parse_matcher(f) for f in cfg.filters]  # validate early
        self.on_update = on_update
        self.audit_path = audit_path
        self.status = SourceStatus(name="alertmanager")
        self.alerts: list[Alert] = []
        self.silences: list[Silence] = []  # active and pending, soonest to end first
        self.silences_error = ""  # why `silences` is not current ("" when it is)
        # the refresh period, doubled per consecutive failure (the first retry after one
        # period) up to MAX_BACKOFF
        self.backoff = Backoff(float(cfg.refresh), float(cfg.refresh), MAX_BACKOFF)
        headers = {"Accept": "application/json"}
        if cfg.bearer_token is not None:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.reveal()}"
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=float(cfg.timeout), headers=headers)
        self._pending: deque[SpikeEvent] = deque(maxlen=1000)
        self._firing: dict[str, tuple[float, str]] = {}  # service -> (startsAt, summary)
        # a wake-up (spike, silence) refreshes early, but at most once per MIN_INTERVAL and
        # never while backing off from a failing Alertmanager
        self._loop = RefreshLoop(
            "alertmanager", self.refresh_once, self.backoff, self.status, min_interval=MIN_INTERVAL
        )

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._own_client:
            await self._client.aclose()

    @property
    def failures(self) -> int:
        """Consecutive failed refreshes (what the backoff counts)."""
        return self.backoff.failures

    def next_delay(self) -> float:
        """The refresh period, doubled per consecutive failure up to MAX_BACKOFF."""
        return self.backoff.delay()

    # --- alerts ------------------------------------------------------------------------

    async def fetch_alerts(self) -> list[Alert]:
        """One `GET /api/v2/alerts` with the filters; AlertmanagerError on any failure."""
        params = [("filter", f) for f in self.cfg.filters]
        data = await self._request("GET", "/api/v2/alerts", params=params)
        if not isinstance(data, list):
            raise AlertmanagerError("GET /api/v2/alerts: expected a JSON list")
        alerts, bad = [], 0
        for obj in data:
            try:
                alerts.append(Alert.from_api(obj))
            except ValueError:
                bad += 1
        self.status.counters["malformed"] = bad
        return alerts

    async def fetch_silences(self) -> list[Silence]:
        """One `GET /api/v2/silences`: the active and pending ones, soonest to end first."""
        data = await self._request("GET", "/api/v2/silences")
        if not isinstance(data, list):
            raise AlertmanagerError("GET /api/v2/silences: expected a JSON list")
        out = []
        for obj in data:
            with contextlib.suppress(ValueError):
                sil = Silence.from_api(obj)
                if sil.state in ("active", "pending"):
                    out.append(sil)
        out.sort(key=lambda s: (s.state != "active", s.ends_at or 0.0, s.id))
        return out

    async def refresh_silences(self) -> None:
        """Bring `silences` up to date; a failure keeps the last list and says why."""
        try:
            self.silences = await self.fetch_silences()
            self.silences_error = ""
        except AlertmanagerError as exc:
            self.silences_error = str(exc)

    async def refresh_once(self) -> list[Alert] | None:
        """Push pending spikes, fetch alerts and silences, update status, then call
        on_update (with the last good alerts when this refresh failed). None when
        Alertmanager failed."""
        t0 = time.monotonic()
        try:
            if self.cfg.push_spikes:
                await self._push_pending()
            alerts = await self.fetch_alerts()
        except AlertmanagerError as exc:
            self.backoff.failed()
            self.silences_error = str(exc)
            self.status.failed(str(exc))
            self.status.counters["retry_in"] = self.next_delay()
            if self.on_update is not None:  # the last good alerts, now stale: read `status`
                self.on_update(self.alerts)
            return None
        self.backoff.succeeded()
        self.alerts = alerts
        if self.with_silences:  # a failure here is said in the pane, alerts still count
            await self.refresh_silences()
        active = sum(1 for a in alerts if a.state == "active")
        # counts go in counters: a non-empty detail reads as a warning in the status bar
        self.status.ok("up", "", latency=time.monotonic() - t0)
        self.status.counters.pop("retry_in", None)
        self.status.counters.update(
            alerts=len(alerts), active=active, suppressed=len(alerts) - active
        )
        if self.on_update is not None:
            self.on_update(alerts)
        return alerts

    # --- silences ----------------------------------------------------------------------

    async def silence(
        self,
        alert: Alert,
        duration: float,
        comment: str,
        created_by: str | None = None,
        now: float | None = None,
    ) -> SilenceResult:
        """Silence exactly this alert for `duration` seconds; audit-logged either way.

        Raises AlertmanagerConfigError for a request that cannot be valid, AlertmanagerError
        when Alertmanager refuses or is unreachable.
        """
        if not duration > 0:
            raise AlertmanagerConfigError("silence duration must be positive")
        if not comment.strip():
            raise AlertmanagerConfigError("a silence needs a comment (Alertmanager requires one)")
        if not alert.labels:
            raise AlertmanagerConfigError("this alert has no labels to match on")
        who = created_by or user_at_host()
        start = time.time() if now is None else now
        matchers = alert.matchers()
        body = {
            "matchers": matchers,
            "startsAt": format_time(start),
            "endsAt": format_time(start + duration),
            "createdBy": who,
            "comment": comment.strip(),
        }
        # no audit trail, no action: the "started" line must be written before the request
        self._audit("started", alert, matchers, duration, who, comment.strip(), "requested")
        try:
            data = await self._request("POST", "/api/v2/silences", json=body)
            if not isinstance(data, dict) or not isinstance(data.get("silenceID"), str):
                raise AlertmanagerError("POST /api/v2/silences: no silenceID in the answer")
        except AlertmanagerError as exc:
            self._audit(
                "finished", alert, matchers, duration, who, comment.strip(), f"error: {exc}"
            )
            raise
        self._audit(
            "finished", alert, matchers, duration, who, comment.strip(), "ok", data["silenceID"]
        )
        self._loop.wake()  # show the alert as suppressed without waiting a full refresh
        return SilenceResult(data["silenceID"], matchers, start, start + duration, who)

    async def expire(self, silence: Silence, who: str | None = None) -> None:
        """Expire `silence` now (`DELETE /api/v2/silence/{id}`); audit-logged either way.

        Raises AlertmanagerError when Alertmanager refuses or is unreachable.
        """
        who = who or user_at_host()
        matchers = list(silence.matchers)
        target = {"kind": "silence", "matchers": matchers}

        def audit(event: Literal["started", "finished"], status: str) -> None:
            self._record(
                event,
                silence.service,
                "expire-silence",
                target,
                who,
                status,
                silence_id=silence.id,
                comment=silence.comment or None,
            )

        audit("started", "requested")
        try:
            if not re.fullmatch(r"[A-Za-z0-9-]+", silence.id):  # it goes into the URL path
                raise AlertmanagerError(f"silence id {silence.id!r} is not a UUID")
            await self._request("DELETE", f"/api/v2/silence/{silence.id}")
        except AlertmanagerError as exc:
            audit("finished", f"error: {exc}")
            raise
        audit("finished", "ok")
        self.silences = [s for s in self.silences if s.id != silence.id]
        self._loop.wake()  # show its alerts active again without waiting a full refresh

    def _audit(
        self,
        event: Literal["started", "finished"],
        alert: Alert,
        matchers: list[dict[str, Any]],
        duration: float,
        who: str,
        comment: str,
        status: str,
        silence_id: str | None = None,
    ) -> None:
        target = {"kind": "silence", "matchers": matchers, "duration": duration}
        self._record(
            event,
            alert.service,
            "silence",
            target,
            who,
            status,
            silence_id=silence_id,
            alertname=alert.name or None,
            comment=comment,
        )

    def _record(
        self,
        event: Literal["started", "finished"],
        service: str,
        action: str,
        target: Mapping[str, Any],
        who: str,
        status: str,
        **extra: Any,
    ) -> None:
        """Audit lines in the actions audit log's format (`warroom audit` reads them)."""
        if not self.audit_path:
            return
        record = make_record(
            event, service=service, action=action, target=target, who=who, status=status, **extra
        )
        append_record(self.audit_path, record)

    # --- warroom's spikes as alerts -----------------------------------------------------

    def submit_spike(self, event: SpikeEvent | Mapping[str, Any]) -> None:
        """Queue a spike (a SpikeEvent or a hub `{"type": "spike"}` record) to push.

        A no-op unless push_spikes; never blocks the caller.
        """
        if not self.cfg.push_spikes:
            return
        if isinstance(event, Mapping):
            if event.get("type") != "spike":
                return
            event = SpikeEvent.from_record(event)
        self._pending.append(event)
        self._loop.wake()

    @property
    def pending_spikes(self) -> int:
        """Spikes queued for the next successful push."""
        return len(self._pending)

    @staticmethod
    def spike_alert(event: SpikeEvent, starts_at: float, ends_at: float) -> dict[str, Any]:
        """The postableAlert for a spike (RECOVERED resolves the SUSTAINED one: same labels)."""
        severity = "warning" if event.state == GLITCH else "critical"
        bound = "≥ " if event.saturated else ""
        summary = (
            f"{event.service} P99 {bound}{event.value * 1000:.1f} ms is {event.ratio:.2f}x "
            f"its baseline {event.baseline * 1000:.1f} ms ({event.state})"
        )
        return {
            "labels": {
                "alertname": SPIKE_ALERTNAME,
                "service": event.service,
                "severity": severity,
                "source": "warroom",
            },
            "annotations": {"summary": summary},
            "startsAt": format_time(starts_at),
            "endsAt": format_time(ends_at),
        }

    async def _push_pending(self) -> None:
        """Post queued spikes and keep SUSTAINED ones alive; on failure nothing is lost."""
        now = time.time()
        keepalive = max(4 * float(self.cfg.refresh), GLITCH_ALERT_TTL)
        events = list(self._pending)
        self._pending.clear()
        firing = dict(self._firing)
        batch: list[dict[str, Any]] = []
        for ev in events:
            if ev.state == GLITCH:
                batch.append(self.spike_alert(ev, ev.t, ev.t + GLITCH_ALERT_TTL))
            elif ev.state == SUSTAINED:
                alert = self.spike_alert(ev, ev.t, now + keepalive)
                firing[ev.service] = (ev.t, alert["annotations"]["summary"])
            elif ev.state == RECOVERED:
                start, summary = firing.pop(ev.service, (ev.t, ""))
                sustained = SpikeEvent(
                    ev.t, ev.service, ev.signal, SUSTAINED, ev.value, ev.baseline, ev.ratio
                )
                resolved = self.spike_alert(sustained, start, max(start, min(ev.t, now)))
                if summary:
                    resolved["annotations"]["summary"] = summary
                batch.append(resolved)
        for service, (start, summary) in firing.items():
            batch.append(
                {
                    "labels": {
                        "alertname": SPIKE_ALERTNAME,
                        "service": service,
                        "severity": "critical",
                        "source": "warroom",
                    },
                    "annotations": {"summary": summary},
                    "startsAt": format_time(start),
                    "endsAt": format_time(now + keepalive),
                }
            )
        if not batch:
            return
        try:
            await self._request("POST", "/api/v2/alerts", json=batch)
        except BaseException:  # a failure, or stop() cancelling mid-request: nothing is lost
            self._pending.extendleft(reversed(events))
            raise
        self._firing = firing
        self.status.counters["pushed"] = self.status.counters.get("pushed", 0) + len(batch)

    # --- HTTP --------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kw: Any) -> Any:
        """One call; every failure becomes an AlertmanagerError with a one-line reason."""
        url = self.base_url + path
        try:
            r = await self._client.request(method, url, **kw)
        except httpx.TimeoutException:
            raise AlertmanagerError(f"{method} {path}: timed out") from None
        except httpx.HTTPError as exc:
            raise AlertmanagerError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if r.status_code >= 400:
            text = r.text.strip().replace("\n", " ")[:200]
            raise AlertmanagerError(f"{method} {path}: HTTP {r.status_code}: {text}")
        if not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            raise AlertmanagerError(f"{method} {path}: answer is not JSON") from None
