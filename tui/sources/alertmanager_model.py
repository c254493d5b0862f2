"""What Alertmanager's API v2 speaks: alerts, silences, matchers and its times, as values.

No IO: the source that fetches and posts them is tui.sources.alertmanager. `Alert` and
`Silence` are read from the API's JSON with `from_api` (ValueError for a shape the pane cannot
show); `parse_matcher` checks a configured filter before it is sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tui.config import format_duration
from tui.errors import UserError

GROUP_LABEL = "service"
NO_SERVICE = "(no service)"
_MATCHER_RE = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(".*"|[^"\s]\S*)\s*$')
_FRACTION_RE = re.compile(r"\.(\d{6})\d+")


class AlertmanagerError(Exception):
    """Alertmanager could not be reached or answered something unusable (message is shown)."""


class AlertmanagerConfigError(UserError):
    """A filter matcher or silence request that Alertmanager would reject, caught before sending."""


def parse_matcher(text: str) -> dict[str, Any]:
    """`severity="page"` / `service=~"api|web"` -> an API v2 matcher object; UserError if bad."""
    m = _MATCHER_RE.match(text)
    if not m:
        raise AlertmanagerConfigError(
            f"alertmanager.filters: {text!r} is not a matcher "
            '(examples: severity="page", service=~"api|web")'
        )
    name, op, value = m.groups()
    if value.startswith('"'):
        value = value[1:-1]
    if "~" in op:
        try:
            re.compile(value)
        except re.error as exc:
            raise AlertmanagerConfigError(
                f"alertmanager.filters: {text!r}: bad regular expression: {exc}"
            ) from None
    return {"name": name, "value": value, "isRegex": "~" in op, "isEqual": not op.startswith("!")}


def parse_time(text: Any) -> float | None:
    """RFC 3339 (Go writes nanoseconds, Python reads microseconds) -> unix seconds."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(_FRACTION_RE.sub(r".\1", text)).timestamp()
    except ValueError:
        return None


def format_time(t: float) -> str:
    """Unix seconds -> the RFC 3339 UTC time Alertmanager takes."""
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Alert:
    """One alert as the pane shows it."""

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str  # active | suppressed | unprocessed
    starts_at: float | None
    ends_at: float | None = None
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def service(self) -> str:
        return self.labels.get(GROUP_LABEL) or NO_SERVICE

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description", "")

    def age(self, now: float | None = None) -> float | None:
        if self.starts_at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.starts_at)

    def matchers(self) -> list[dict[str, Any]]:
        """Equality matchers on every label: a silence for exactly this alert."""
        return [
            {"name": k, "value": v, "isRegex": False, "isEqual": True}
            for k, v in sorted(self.labels.items())
        ]

    @classmethod
    def from_api(cls, obj: Any) -> Alert:
        """A gettableAlert -> Alert; ValueError when it lacks what the pane needs."""
        if not isinstance(obj, dict):
            raise ValueError("alert is not an object")
        labels, annotations = obj.get("labels"), obj.get("annotations") or {}
        status = obj.get("status") or {}
        if not isinstance(labels, dict) or not isinstance(annotations, dict):
            raise ValueError("alert labels/annotations are not objects")
        if not isinstance(status, dict):
            raise ValueError("alert status is not an object")
        return cls(
            fingerprint=str(obj.get("fingerprint", "")),
            labels={str(k): str(v) for k, v in labels.items()},
            annotations={str(k): str(v) for k, v in annotations.items()},
            state=str(status.get("state", "unprocessed")),
            starts_at=parse_time(obj.get("startsAt")),
            ends_at=parse_time(obj.get("endsAt")),
            silenced_by=tuple(status.get("silencedBy") or ()),
            inhibited_by=tuple(status.get("inhibitedBy") or ()),
        )


@dataclass
class AlertGroup:
    service: str
    alerts: list[Alert] = field(default_factory=list)

    @property
    def active(self) -> int:
        return sum(1 for a in self.alerts if a.state == "active")


def group_by_service(alerts: Iterable[Alert]) -> list[AlertGroup]:
    """Groups by the `service` label: groups with active alerts first, then by name;
    inside a group active before suppressed, newest first."""
    groups: dict[str, AlertGroup] = {}
    for a in alerts:
        groups.setdefault(a.service, AlertGroup(a.service)).alerts.append(a)
    for g in groups.values():
        g.alerts.sort(key=lambda a: (a.state != "active", -(a.starts_at or 0.0), a.name))
    return sorted(groups.values(), key=lambda g: (g.active == 0, g.service))


@dataclass(frozen=True)
class SilenceResult:
    silence_id: str
    matchers: list[dict[str, Any]]
    starts_at: float
    ends_at: float
    created_by: str

    def summary(self) -> str:
        """The operator's confirmation: what is silenced, for how long, under which id."""
        what = (
            ", ".join(
                f"{m['name']}{'=' if m.get('isEqual', True) else '!='}{m['value']}"
                for m in self.matchers
                if m.get("name") in ("alertname", "service", "job", "instance")
            )
            or f"{len(self.matchers)} matchers"
        )
        return (
            f"silenced {what} for {format_duration(self.ends_at - self.starts_at)} "
            f"(silence {self.silence_id[:8]})"
        )


def format_matchers(matchers: Iterable[Mapping[str, Any]]) -> str:
    """API v2 matchers as Alertmanager writes them: `a="x", b=~"y|z"`."""
    ops = {(True, False): "=", (False, False): "!=", (True, True): "=~", (False, True): "!~"}
    return ", ".join(
        f"{m.get('name', '')}{ops[(bool(m.get('isEqual', True)), bool(m.get('isRegex')))]}"
        f'"{m.get("value", "")}"'
        for m in matchers
    )


@dataclass(frozen=True)
class Silence:
    """One silence as the pane lists it."""

    id: str
    matchers: tuple[dict[str, Any], ...]
    state: str  # active | pending | expired
    starts_at: float | None
    ends_at: float | None
    created_by: str
    comment: str

    @property
    def service(self) -> str:
        """The `service` an equality matcher names (the audit log's service field)."""
        for m in self.matchers:
            if m.get("name") == GROUP_LABEL and m.get("isEqual", True) and not m.get("isRegex"):
                return str(m.get("value", ""))
        return NO_SERVICE

    def remaining(self, now: float | None = None) -> float | None:
        if self.ends_at is None:
            return None
        return max(0.0, self.ends_at - (time.time() if now is None else now))

    @classmethod
    def from_api(cls, obj: Any) -> Silence:
        """A gettableSilence -> Silence; ValueError when it has no id or matchers."""
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            raise ValueError("silence has no id")
        matchers, status = obj.get("matchers"), obj.get("status") or {}
        if not isinstance(matchers, list) or not all(isinstance(m, dict) for m in matchers):
            raise ValueError("silence matchers are not a list of objects")
        if not isinstance(status, dict):
            raise ValueError("silence status is not an object")
        return cls(
            id=obj["id"],
            matchers=tuple(matchers),
            state=str(status.get("state", "")),
            starts_at=parse_time(obj.get("startsAt")),
            ends_at=parse_time(obj.get("endsAt")),
            created_by=str(obj.get("createdBy", "")),
            comment=str(obj.get("comment", "")),
        )
