"""The audit log: one JSON object per line, appended and fsynced per line, never rewritten.

Every action started, finished, refused or cancelled leaves a line, so after an incident the
log says who did what to which service, with which exact (redacted) command and outcome. A
kill -9 can tear at most the line being written (a write of a few KB is cut between pages).
Readers report a torn last line; the next append, under an exclusive lock, replaces the torn
bytes with an `interrupted` record that keeps them as `fragment`, so the log never holds an
unreadable line and the evidence of the interrupted write stays.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tui.config import parse_duration
from tui.core.atomic import append_json_line
from tui.errors import UserError

Event = Literal["started", "finished", "refused", "cancelled", "interrupted"]
EVENTS: tuple[str, ...] = ("started", "finished", "refused", "cancelled", "interrupted")
TAIL_LINES = 20


def user_at_host(user: str | None = None) -> str:
    from tui.core.actions.spec import current_user

    return f"{user or current_user()}@{os.uname().nodename}"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def make_record(
    event: Event,
    *,
    service: str,
    action: str,
    target: Mapping[str, Any],
    who: str | None = None,
    ts: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build one audit record; `target` is the redacted argv/URL from ResolvedAction."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    ts = time.time() if ts is None else ts
    rec: dict[str, Any] = {
        "time": iso(ts),
        "ts": round(ts, 3),
        "event": event,
        "user": who or user_at_host(),
        "service": service,
        "action": action,
    }
    rec.update(target)
    rec.update({k: v for k, v in extra.items() if v is not None})
    return rec


def append_record(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Append one record (fsynced). A torn last line left by a killed writer is first
    replaced by an `interrupted` record that keeps its bytes as `fragment`."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise UserError(f"audit.path {target} is a directory, not a file")

    def interrupted(fragment: bytes) -> dict[str, Any]:
        return make_record(
            "interrupted",
            service=str(record.get("service", "")),
            action="audit",
            target={},
            who=str(record.get("user", "")) or None,
            reason="a write to this log was cut off (its writer was killed)",
            fragment=fragment.decode("utf-8", "replace"),
        )

    append_json_line(target, dict(record), on_torn=interrupted)


@dataclass
class AuditLog:
    """Records read back; `bad_lines` (1-based) are complete but unreadable lines, a torn
    final write is flagged separately by `torn_last_line`."""

    records: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    torn_last_line: bool = False

    def warnings(self, path: str) -> list[str]:
        out = []
        if self.torn_last_line:
            out.append(f"{path}: last line is incomplete (a write was interrupted); skipped")
        if self.bad_lines:
            out.append(
                f"{path}: skipped {len(self.bad_lines)} unreadable line(s): "
                + ", ".join(str(n) for n in self.bad_lines[:10])
            )
        return out


def parse_lines(data: bytes, since: float | None = None) -> AuditLog:
    log = AuditLog()
    chunks = data.split(b"\n")
    last = chunks.pop()  # text after the final newline: empty unless the last write tore
    for n, raw in enumerate(chunks, start=1):
        if not raw.strip():
            continue
        rec = _parse(raw)
        if rec is None:
            log.bad_lines.append(n)
        elif since is None or float(rec.get("ts", 0)) >= since:
            log.records.append(rec)
    if last.strip():
        log.torn_last_line = True
    return log


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        rec = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(rec, dict) or "ts" not in rec or "event" not in rec:
        return None
    try:
        float(rec["ts"])
    except (TypeError, ValueError):
        return None
    return rec


def read_audit(path: str | os.PathLike[str], since: float | None = None) -> AuditLog:
    """Read the log; a missing file is an empty log, a torn last line is skipped and flagged."""
    target = Path(path).expanduser()
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        return AuditLog()
    except IsADirectoryError:
        raise UserError(f"audit log {target} is a directory, not a file") from None
    except OSError as exc:
        raise UserError(f"cannot read audit log {target}: {exc.strerror}") from None
    return parse_lines(data, since)


def parse_since(text: str, now: float | None = None) -> float:
    """`1h`, `30m`, `2d` ago, or an ISO date/time (UTC unless it says otherwise) -> epoch."""
    now = time.time() if now is None else now
    s = text.strip()
    try:
        return now - float(parse_duration(s))
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"--since {text!r}: expected a duration like 1h or 30m, or a time like "
            "2026-01-31T14:00:00Z"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _target_text(rec: Mapping[str, Any]) -> str:
    import shlex

    if isinstance(rec.get("argv"), list):
        return shlex.join(str(a) for a in rec["argv"])
    if rec.get("url"):
        return f"{rec.get('method', '')} {rec['url']}".strip()
    return str(rec.get("kind", ""))


def format_text(rec: Mapping[str, Any]) -> str:
    """One readable line: time, who, event, action, service, outcome, command."""
    parts = [
        str(rec.get("time", "?")),
        str(rec.get("user", "?")),
        f"{rec.get('event', '?'):<9}",
        f"{rec.get('action', '?')}",
        f"{rec.get('service', '?')}",
    ]
    outcome = []
    if "exit" in rec:
        outcome.append(f"exit={rec['exit']}")
    if "http_status" in rec:
        outcome.append(f"http={rec['http_status']}")
    if rec.get("status"):
        outcome.append(str(rec["status"]))
    if "duration_s" in rec:
        outcome.append(f"{float(rec['duration_s']):.2f}s")
    if rec.get("reason"):
        outcome.append(f"reason: {rec['reason']}")
    bv = rec.get("baseline_versions")
    if isinstance(bv, Mapping) and bv:
        outcome.append("baselines: " + ", ".join(f"{k}={v}" for k, v in sorted(bv.items())))
    parts.append(" ".join(outcome) if outcome else "-")
    parts.append(_target_text(rec))
    return "  ".join(parts)


def tail(lines: Sequence[str], n: int = TAIL_LINES) -> list[str]:
    return list(lines[-n:])


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(EVENTS, 0)
    for r in records:
        ev = str(r.get("event"))
        counts[ev] = counts.get(ev, 0) + 1
    return counts
