"""Profile warroom itself with pyinstrument and print the hot spots of three workloads.

    .venv/bin/python benchmarks/profile_self.py [big] [dashboard] [otlp] [--top N] [--tree]

- big: opening the 1,000,000-sample profile the way `warroom profile .bench/big.pb.gz` does
  (decode, filters, call tree, flame layout and its warm-up, function table), on one thread.
  The file comes from benchmarks/gen_big_profile.py (written when missing).
- dashboard: the live dashboard with 50 services, 15 min of history each, a new point per
  service and signal every second (the 1 s refresh), running in a real pty with the real
  Linux driver for --seconds, so rendering to escape sequences is included. The profiler runs
  in that child process and saves its session; idle time in the event loop's select is
  reported separately and left out of the percentages.
- otlp: OTLPSink.ingest on export requests shaped like the OpenTelemetry Go/Python SDK's: 50
  services x 30 attribute sets of `http.server.request.duration` (cumulative, 16 buckets),
  one request a second for a minute, decode included, plus one `tick` per second.

For each: wall time, the functions with the most self time, and warroom's own functions
(tui/...) with the most inclusive time. Not a benchmark (no medians, sampling overhead of a
few per cent): a map of where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import select
import struct
import sys
import tempfile
import termios
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pyinstrument import Profiler  # noqa: E402
from pyinstrument.frame import Frame  # noqa: E402
from pyinstrument.session import Session  # noqa: E402

BIG = ROOT / ".bench" / "big.pb.gz"
# Built-ins an event loop blocks in while it has nothing to do.
IDLE = {"epoll.poll", "poll.poll", "select", "select.select", "kqueue.control", "sleep"}


# --- reporting --------------------------------------------------------------------------------


def _key(frame: Frame) -> tuple[str, str, int]:
    return frame.function, frame.file_path_short or "", frame.line_no or 0


def _walk(
    frame: Frame, stack: frozenset[tuple[str, str, int]] = frozenset()
) -> Iterator[tuple[Frame, bool]]:
    """Every frame, with whether the same function is already on the stack above it."""
    key = _key(frame)
    yield frame, key in stack
    inner = stack | {key}
    for child in frame.children:
        yield from _walk(child, inner)


def _is_idle(frame: Frame) -> bool:
    return frame.function in IDLE and all(c.is_synthetic for c in frame.children)


def hot_spots(session: Session, top: int) -> dict[str, Any]:
    """Self time per function, inclusive time per warroom function (recursion counted once)."""
    root = session.root_frame()
    if root is None:
        return {"total": 0.0, "idle": 0.0, "self": [], "tui": []}
    self_t: dict[tuple[str, str, int], float] = defaultdict(float)
    incl: dict[tuple[str, str, int], float] = defaultdict(float)
    idle = 0.0
    for frame, recursive in _walk(root):
        if frame.is_synthetic:
            continue
        own = frame.total_self_time
        if _is_idle(frame):
            idle += frame.time
            continue
        self_t[_key(frame)] += own
        if not recursive and "tui/" in (frame.file_path or "").replace(os.sep, "/"):
            incl[_key(frame)] += frame.time
    busy = max(root.time - idle, 1e-9)
    return {
        "total": root.time,
        "idle": idle,
        "busy": busy,
        "self": sorted(self_t.items(), key=lambda kv: -kv[1])[:top],
        "tui": sorted(incl.items(), key=lambda kv: -kv[1])[:top],
    }


def report(title: str, session: Session, top: int, tree: bool, note: str = "") -> None:
    spots = hot_spots(session, top)
    print(f"\n=== {title} ===")
    if note:
        print(note)
    print(
        f"profiled {spots['total']:.2f} s, of which idle (waiting in select) "
        f"{spots['idle']:.2f} s; percentages are of the {spots['busy']:.2f} s busy"
    )
    print(f"\n  top {top} by self time")
    for (fn, path, line), t in spots["self"]:
        print(f"  {t:8.3f} s {100 * t / spots['busy']:5.1f}%  {fn}  {path}:{line}")
    print("\n  warroom functions (tui/) by inclusive time")
    for (fn, path, line), t in spots["tui"]:
        print(f"  {t:8.3f} s {100 * t / spots['busy']:5.1f}%  {fn}  {path}:{line}")
    if tree:
        from pyinstrument.renderers import ConsoleRenderer

        print(
            ConsoleRenderer(unicode=True, color=False, show_all=False, time="seconds").render(
                session
            )
        )


# --- scenario: the 1M-sample profile -----------------------------------------------------------


def scenario_big(top: int, tree: bool) -> None:
    if not BIG.exists():
        import gen_big_profile

        print(f"writing {BIG} (1,000,000 samples) ...", file=sys.stderr)
        gen_big_profile.generate(1_000_000, BIG)

    from tui.core.pprof import apply_filters, function_table, load_profile
    from tui.core.pprof.flametree import FlameTree

    profiler = Profiler(interval=0.001, async_mode="disabled")
    t0 = time.perf_counter()
    profiler.start()
    prof = load_profile(BIG)
    t = prof.default_index
    cur = apply_filters(prof)  # the viewer always passes through its (empty) filters
    flame = FlameTree.from_call_tree(cur.tree, t)
    flame.warm()
    rows = function_table(cur, t)
    session = profiler.stop()
    wall = time.perf_counter() - t0
    report(
        "1M-sample profile: decode, call tree, flame layout, function table",
        session,
        top,
        tree,
        f"{BIG.name}: {len(flame)} flame nodes, {len(rows)} functions, wall {wall:.2f} s",
    )


# --- scenario: the 50-service dashboard --------------------------------------------------------

SERVICES = 50
HISTORY = 900  # seconds of 1 s points already in the store when the dashboard opens


def _dashboard_config() -> str:
    lines = ["refresh: 1s", "otlp: {http: '', grpc: ''}", "services:"]
    lines += [f"  - name: svc-{i:02d}" for i in range(SERVICES)]
    return "\n".join(lines) + "\n"


def _points(t: float, i: int, k: int) -> Iterator[tuple[str, float]]:
    base = 0.02 + 0.004 * i
    spike = 5.0 if i % 10 == 3 and 600 <= k % 900 < 640 else 1.0
    p99 = base * spike * (1.0 + 0.1 * ((k * 7 + i) % 13) / 13)
    yield from (
        ("p50", p99 / 3),
        ("p95", p99 / 1.5),
        ("p99", p99),
        ("qps", 100.0 + (k + i) % 17),
        ("error_ratio", 0.001 * (1 + i % 3)),
    )


def dashboard_child(out: Path, seconds: float) -> None:
    """In the pty: fill the store, run the real app with the real driver, save the session."""
    from tui.config import parse_config
    from tui.core.metrics.store import MetricStore
    from tui.ui.app import WarroomApp

    cfg = parse_config(_dashboard_config())
    store = MetricStore(capacity=3600, max_series=10_000)
    now = time.time()
    for k in range(HISTORY):
        t = now - HISTORY + k
        for i in range(SERVICES):
            for signal, value in _points(t, i, k):
                store.add(f"svc-{i:02d}", signal, t, value)
    app = WarroomApp(cfg, store=store, start_sources=False)
    profiler = Profiler(interval=0.001, async_mode="disabled")
    step = [HISTORY]

    def tick() -> None:
        t = time.time()
        for i in range(SERVICES):
            for signal, value in _points(t, i, step[0]):
                store.add(f"svc-{i:02d}", signal, t, value)
        step[0] += 1
        app.notify_store_updated()

    def begin() -> None:
        profiler.start()
        app.set_interval(1.0, tick)
        app.set_timer(seconds, app.exit)

    app.call_later(lambda: app.call_after_refresh(begin))
    app.run()
    session = profiler.stop()
    session.save(str(out))


def scenario_dashboard(top: int, tree: bool, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "dashboard.pyisession"
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.environ.update({"TERM": "xterm-256color", "COLORTERM": "truecolor"})
                os.execv(
                    sys.executable,
                    [sys.executable, __file__, "--dashboard-child", str(out), str(seconds)],
                )
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        written = 0
        t0 = time.perf_counter()
        while True:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                written += len(data)
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            if time.perf_counter() - t0 > seconds + 120:
                os.kill(pid, 9)
                raise SystemExit("dashboard child did not finish")
        os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        if not out.exists():
            raise SystemExit("dashboard child wrote no profile (it crashed?)")
        session = Session.load(str(out))
    report(
        f"dashboard: {SERVICES} services, 1 s refresh, 200x50 pty",
        session,
        top,
        tree,
        f"{seconds:g} s of live refresh after the first frame; {written / 1024:.0f} KiB "
        f"written to the terminal in all",
    )


# --- scenario: OTLP ingest ---------------------------------------------------------------------

OTLP_SERVICES, OTLP_SERIES, OTLP_REQUESTS = 50, 30, 60
BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5]


def otlp_requests() -> list[bytes]:
    """Cumulative histograms with growing counts, as an SDK's periodic reader sends them."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1 import metrics_pb2
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    start = 1_800_000_000 * 10**9
    routes = [f"/api/v1/{w}" for w in ("cart", "pay", "search", "user", "stock", "ship")]
    bodies = []
    for step in range(1, OTLP_REQUESTS + 1):
        rms = []
        for s in range(OTLP_SERVICES):
            pts = []
            for a in range(OTLP_SERIES):
                counts = [step * ((a + i) % 7 + 1) for i in range(len(BOUNDS) + 1)]
                status = (200, 404, 500)[a % 3]
                pts.append(
                    metrics_pb2.HistogramDataPoint(
                        attributes=[
                            KeyValue(
                                key="http.route",
                                value=AnyValue(string_value=routes[a % len(routes)]),
                            ),
                            KeyValue(
                                key="http.request.method",
                                value=AnyValue(string_value=("GET", "POST")[a // 15]),
                            ),
                            KeyValue(
                                key="http.response.status_code", value=AnyValue(int_value=status)
                            ),
                            KeyValue(key="server.address", value=AnyValue(string_value=f"pod-{a}")),
                        ],
                        start_time_unix_nano=start,
                        time_unix_nano=start + step * 10**9,
                        count=sum(counts),
                        sum=0.05 * sum(counts),
                        bucket_counts=counts,
                        explicit_bounds=BOUNDS,
                        min=0.0005,
                        max=6.0,
                    )
                )
            metric = metrics_pb2.Metric(
                name="http.server.request.duration",
                unit="s",
                histogram=metrics_pb2.Histogram(
                    aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE,
                    data_points=pts,
                ),
            )
            rms.append(
                metrics_pb2.ResourceMetrics(
                    resource=Resource(
                        attributes=[
                            KeyValue(
                                key="service.name", value=AnyValue(string_value=f"svc-{s:02d}")
                            ),
                            KeyValue(key="service.version", value=AnyValue(string_value="1.4.2")),
                            KeyValue(
                                key="telemetry.sdk.language", value=AnyValue(string_value="go")
                            ),
                        ]
                    ),
                    scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[metric])],
                )
            )
        bodies.append(ExportMetricsServiceRequest(resource_metrics=rms).SerializeToString())
    return bodies


def scenario_otlp(top: int, tree: bool) -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    from tui.config import Config
    from tui.core.metrics.otlp import OTLPSink
    from tui.core.metrics.store import MetricStore

    bodies = otlp_requests()
    store = MetricStore(capacity=3600, max_series=10_000)
    sink = OTLPSink(store, Config(max_series=10_000), started_at=1_800_000_000.0)
    accepted = 0
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    t0 = time.perf_counter()
    profiler.start()
    for step, body in enumerate(bodies, 1):
        accepted += sink.ingest(ExportMetricsServiceRequest.FromString(body)).accepted
        sink.tick(1_800_000_000.0 + step)
    session = profiler.stop()
    wall = time.perf_counter() - t0
    report(
        "OTLP ingest: decode + OTLPSink.ingest + tick",
        session,
        top,
        tree,
        f"{len(bodies)} requests x {OTLP_SERVICES * OTLP_SERIES} histogram points, "
        f"{accepted} accepted, wall {wall:.2f} s ({accepted / wall:,.0f} points/s "
        f"under the profiler)",
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "scenarios",
        nargs="*",
        metavar="big|dashboard|otlp",
        help="which workloads (default: all three)",
    )
    ap.add_argument("--top", type=int, default=15, help="rows per table (default 15)")
    ap.add_argument("--tree", action="store_true", help="also print pyinstrument's call tree")
    ap.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="dashboard: seconds of live refresh to profile (default 20)",
    )
    ap.add_argument(
        "--dashboard-child", nargs=2, metavar=("OUT", "SECONDS"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.dashboard_child:
        dashboard_child(Path(args.dashboard_child[0]), float(args.dashboard_child[1]))
        return 0
    chosen = args.scenarios or ["big", "dashboard", "otlp"]
    unknown = set(chosen) - {"big", "dashboard", "otlp"}
    if unknown:
        ap.error(f"unknown scenario {sorted(unknown)[0]!r}: choose big, dashboard or otlp")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load "
        f"{os.getloadavg()[0]:.1f} (figures are inflated by whatever else runs)"
    )
    for name in chosen:
        if name == "big":
            scenario_big(args.top, args.tree)
        elif name == "dashboard":
            scenario_dashboard(args.top, args.tree, args.seconds)
        else:
            scenario_otlp(args.top, args.tree)
    return 0


if __name__ == "__main__":
    sys.exit(main())
