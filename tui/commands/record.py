"""`warroom record -c FILE --duration 30s --out FILE.jsonl`: run the sources headless, log JSON lines.

Lines: `{"t", "type": "point", "service", "signal", "value"}` for every new observation
(Prometheus steps and OTLP refreshes from the start of the recording on; a Go service's
runtime signals too, as `go.*` signals), plus
`{"t", "type": "spike", ...}` from the spike detector, `{"t", "type": "routes", "service",
"label", "routes", "other", "rows": {route: {signal: value}}}` once per refresh for each OTLP
service that had requests (the route view's rows; `baseline refresh --from-record` and
`check --from-record --by route` read them), and with `alertmanager` configured
`{"t", "type": "alerts", "alerts": [...]}` (API v2 alert objects) whenever the set of alerts
changes, and `{"t", "type": "action", "record": {...}}` for each line appended to the audit log
(`audit.path`) while recording.

Durability: the file is opened in append mode and each line goes out in one `write()` of a
complete line, with one fsync per refresh. An interrupted recording (Ctrl-C, SIGTERM, a kill)
keeps every line already written and never ends in a partial line; recording twice into the
same file appends. SIGINT/SIGTERM stop it cleanly (exit 130/143) after flushing.

A name ending in .gz writes a gzip recording (tui/core/recording.py: flushed per refresh, so
a killed recorder leaves every finished batch readable). `--max-size` bounds either kind: one
`{"type": "truncated"}` line marks where writing stopped. `warroom replay` reads both.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("record", help="run every source headless and write JSON lines")
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="YAML config (default: ./warroom.yaml when present)",
    )
    p.add_argument(
        "--duration",
        metavar="DURATION",
        default="30s",
        help="how long to record, e.g. 30s, 15m (default 30s)",
    )
    p.add_argument(
        "--out",
        metavar="FILE.jsonl",
        required=True,
        help="JSON-lines file to append to; a name ending in .gz is gzip-compressed",
    )
    p.add_argument(
        "--max-size",
        metavar="SIZE",
        default="256MiB",
        help="stop writing (and mark the recording truncated) beyond this file size "
        "(default 256MiB)",
    )
    p.set_defaults(func=run)


class LineWriter:
    """Appends complete JSON lines to a file: one write per line, one fsync per batch."""

    def __init__(self, path: str, max_bytes: int = 256 * 1024 * 1024):
        from tui.errors import UserError

        self.path = path
        self.lines = 0
        self.dropped = 0
        self.max_bytes = max_bytes
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._size = os.fstat(self._fd).st_size
        except OSError as exc:
            raise UserError(f"{path}: cannot open for writing: {exc.strerror}") from None
        self._full = False

    def write(self, events: list[dict[str, Any]]) -> None:
        from tui.errors import UserError

        if not events:
            return
        if self._full:
            self.dropped += len(events)
            return
        try:
            for i, e in enumerate(events):
                line = (json.dumps(e, separators=(",", ":"), allow_nan=False) + "\n").encode()
                if self._size + len(line) > self.max_bytes - 64:
                    # Bounded: one marker line, then later events are counted, not written.
                    self._full = True
                    self.dropped += len(events) - i
                    line = (json.dumps({"t": e["t"], "type": "truncated"}) + "\n").encode()
                self._size += len(line)
                view = memoryview(line)
                while view:  # a short write (full disk) is finished or fails, never left torn
                    n = os.write(self._fd, view)
                    view = view[n:]
                if self._full:
                    break
                self.lines += 1
            os.fsync(self._fd)
        except OSError as exc:
            raise UserError(
                f"{self.path}: write failed after {self.lines} lines: {exc.strerror}"
            ) from None

    def close(self) -> None:
        os.close(self._fd)


class AuditTail:
    """New lines of the actions audit log since the recording started, as
    `{"t", "type": "action", "record": {...}}` lines: what operators did during the incident,
    shown by replay (which itself can run nothing)."""

    def __init__(self, path: str):
        from pathlib import Path

        self.path = Path(path).expanduser()
        self.problem: str | None = None
        try:
            self.offset = self.path.stat().st_size  # older lines are not this recording's
        except OSError:
            self.offset = 0

    def read_new(self) -> list[dict[str, Any]]:
        from tui.core.actions.audit import parse_lines
        from tui.core.events import AuditLine

        try:
            size = self.path.stat().st_size
            if size < self.offset:  # rotated or truncated: its lines are all new
                self.offset = 0
            if size == self.offset:
                return []
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read(size - self.offset)
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problem = f"audit log {self.path}: not read: {exc.strerror}"
            return []
        whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits its turn
        self.offset += len(whole)
        return [AuditLine(float(rec["ts"]), rec).to_record() for rec in parse_lines(whole).records]


def run(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from tui.config import format_duration, load_config, parse_duration, parse_size
    from tui.core.recording import GZIP_SUFFIXES, RecordingWriter
    from tui.errors import UserError

    cfg = load_config(getattr(args, "config", None))
    try:
        duration = float(parse_duration(args.duration))
    except ValueError as exc:
        raise UserError(f"--duration: {exc}") from None
    if duration <= 0:
        raise UserError("--duration: must be positive")
    if cfg.prometheus is None and not (cfg.otlp.http or cfg.otlp.grpc):
        raise UserError(
            "nothing to record: no prometheus section and both OTLP receivers "
            "disabled (otlp.http and otlp.grpc are empty)"
        )
    try:
        max_bytes = int(parse_size(args.max_size))
    except ValueError as exc:
        raise UserError(f"--max-size: {exc}") from None
    # where the audit log ends before the output exists: a line appended once the recording's
    # file is there is this recording's, however long the hub takes to start
    audit = AuditTail(cfg.audit.path)
    writer: LineWriter | RecordingWriter
    if args.out.endswith(GZIP_SUFFIXES):
        writer = RecordingWriter(args.out, max_bytes=max_bytes)
    else:
        writer = LineWriter(args.out, max_bytes=max_bytes)
    try:
        code = asyncio.run(record(cfg, duration, writer, audit))
    finally:
        writer.close()
    lines = writer.lines if isinstance(writer, LineWriter) else writer.written
    print(
        f"warroom: recorded {lines} lines in {format_duration(duration)} to {args.out}",
        file=sys.stderr,
    )
    if writer.dropped:
        print(
            f"warroom: warning: --max-size reached; {writer.dropped} later events were not written",
            file=sys.stderr,
        )
    return code


async def record(cfg: Any, duration: float, writer: Any, audit: AuditTail | None = None) -> int:
    """Run the hub for `duration` seconds writing events; return the exit code."""
    import asyncio
    import contextlib
    import math
    import signal
    import time

    from tui.commands.receivers import start_hub
    from tui.core.events import RecordLines
    from tui.core.metrics.store import MetricStore, retention_capacity
    from tui.errors import UserError
    from tui.sources.hub import Hub

    started = time.time()
    pending: list[dict[str, Any]] = []
    store = MetricStore(capacity=retention_capacity(float(cfg.refresh)), max_series=cfg.max_series)
    hub_lines = RecordLines(on_batch=lambda: flush())  # the hub's events as lines, in order
    # with the Go runtime signals: a replay shows them beside the latency, and a release's
    # before/after line carries their rows
    hub = Hub(cfg, store, hub_lines, emit_points=True, go_runtime=True)
    # Prometheus' first answer covers the whole window: keep only steps (and the spikes
    # they raise) from the start of the recording on.
    step = hub.prometheus.step if hub.prometheus is not None else float(cfg.refresh)
    since = math.floor(started / step) * step

    failed: list[UserError] = []

    audit = audit or AuditTail(cfg.audit.path)

    def flush() -> None:
        pending.extend(hub_lines.take())
        pending.extend(audit.read_new())
        batch = [e for e in pending if e["t"] >= since]
        pending.clear()
        if failed:
            return
        try:
            writer.write(batch)
        except UserError as exc:  # runs inside the hub's loop: stop, re-raise below
            failed.append(exc)
            stop.set()

    alerts = _alerts_recorder(cfg, pending, flush)
    stop = asyncio.Event()
    code = 0
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        nonlocal code
        code = 128 + signum
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    at_end: list[tuple[str, str, str]] = []
    never: str | None = None
    try:
        await start_hub(hub)
        if alerts is not None:
            await alerts.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        # before stop(): stopping marks every receiver "down", which is no news
        at_end, never = _end_states(hub, alerts)
        if alerts is not None:
            await alerts.stop()
        await hub.stop()
        flush()
    if failed:
        raise failed[0]
    return _report(code, audit, at_end, never)


def _end_states(hub: Any, alerts: Any) -> tuple[list[tuple[str, str, str]], str | None]:
    """Each source's (name, state, detail) at the end, and Prometheus' detail when it never
    answered during the whole recording (else None)."""
    sources = [*hub.statuses(), *([alerts.status] if alerts is not None else [])]
    prom = hub.prometheus.status if hub.prometheus is not None else None
    never = None
    if prom is not None and prom.last_ok is None and prom.state in ("down", "error"):
        never = str(prom.detail)
    return [(st.name, st.state, st.detail) for st in sources], never


def _report(
    code: int, audit: AuditTail, at_end: list[tuple[str, str, str]], never: str | None
) -> int:
    """Warnings on stderr; a recording in which Prometheus never answered is a failure."""
    import sys

    if audit.problem:
        print(f"warroom: warning: {audit.problem}", file=sys.stderr)
    if never is not None:
        # nothing from the main source for the whole run: a recording of nothing is a failure
        print(
            f"warroom: error: prometheus never answered during the recording: {never}",
            file=sys.stderr,
        )
        return code or 1
    for name, state, detail in at_end:
        if state in ("down", "error"):
            print(f"warroom: warning: {name} {state} at the end: {detail}", file=sys.stderr)
    return code


def _alerts_recorder(cfg: Any, pending: list[dict[str, Any]], flush: Any) -> Any:
    """With `alertmanager` configured: an AlertmanagerSource whose answers become
    `{"t", "type": "alerts", "alerts": [...]}` lines, one each time the set changes (the
    first answer included). A failed refresh changes nothing: the last set stands."""
    if cfg.alertmanager is None:
        return None
    import time

    from tui.core.events import Alerts
    from tui.sources.alertmanager import AlertmanagerSource
    from tui.sources.replay import alert_record

    last: list[Any] | None = None

    def on_alerts(alerts: list[Any]) -> None:
        nonlocal last
        if source.status.state != "up":  # the source's last good list, repeated: no news
            return
        records = sorted(
            (alert_record(a) for a in alerts),
            key=lambda r: (r["fingerprint"], sorted(r["labels"].items())),
        )
        if records != last:
            last = records
            pending.append(Alerts(time.time(), tuple(records)).to_record())
            flush()

    source = AlertmanagerSource(cfg.alertmanager, on_update=on_alerts, with_silences=False)
    return source
