"""OTLP through the real receivers: histogram points/s, request latency and RSS, side by side.

Two processes: this one is the client (aiohttp, keep-alive connections, real OTLP protobuf
bodies as the SDK sends them, built once before the clock starts), and a server process that
is either warroom's receiver (`OTLPHttpReceiver` or `OTLPGrpcReceiver` feeding `OTLPSink` and
a MetricStore, with `tick` once a second as the hub does) or the reference: an aiohttp server
that only parses the same bodies (`ExportMetricsServiceRequest.FromString`) and answers an
empty ExportMetricsServiceResponse. The reference is the ceiling of any Python receiver on
aiohttp: HTTP plus protobuf decode, no storage.

Workloads: `1000`: 20 services x 50 attribute sets of `http.server.request.duration`
(15 buckets, cumulative) per request, as a collector forwarding many services sends them;
`100`: 2 services x 50; `1000x1` and `100x1`: one service a request, as an SDK sends its own
metrics (1,000 or 100 attribute sets); `100k`: 100,000 distinct series
(100 services x 1,000 attribute sets, one service a request), RSS of the server after the
first pass over every series and at the end. Successive requests carry growing counts, so
points go through the delta path; every `--steps` requests the counts start again (a reset).

Figures: points/s (accepted points over wall time), p50/p99 request latency, medians of
`--runs` runs. `--profile FILE` runs the warroom server under cProfile (one run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
WORKLOADS = {
    "1000": (20, 50, 1),
    "100": (2, 50, 1),
    "1000x1": (1, 1000, 1),
    "100x1": (1, 100, 1),
    "100k": (100, 1000, 100),
}
# name -> (services, attribute sets per service, requests to cover every series once)


def build(services: range, series: int, step: int, start_ns: int) -> bytes:
    rms = []
    for s in services:
        pts = []
        for a in range(series):
            counts = [(step + 1) * ((a + i) % 7 + 1) for i in range(len(BOUNDS) + 1)]
            pts.append(
                metrics_pb2.HistogramDataPoint(
                    attributes=[
                        KeyValue(key="http.route", value=AnyValue(string_value=f"/api/v1/r{a}")),
                        KeyValue(key="http.request.method", value=AnyValue(string_value="GET")),
                        KeyValue(
                            key="http.response.status_code",
                            value=AnyValue(int_value=500 if a % 10 == 0 else 200),
                        ),
                    ],
                    start_time_unix_nano=start_ns,
                    time_unix_nano=start_ns + step * 10**9,
                    count=sum(counts),
                    sum=0.1 * sum(counts),
                    bucket_counts=counts,
                    explicit_bounds=BOUNDS,
                )
            )
        m = metrics_pb2.Metric(
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
                        KeyValue(key="service.name", value=AnyValue(string_value=f"svc-{s}"))
                    ]
                ),
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[m])],
            )
        )
    body: bytes = ExportMetricsServiceRequest(resource_metrics=rms).SerializeToString()
    return body


def bodies_for(workload: str, steps: int) -> list[bytes]:
    services, series, per_pass = WORKLOADS[workload]
    start_ns = time.time_ns() - 10**9  # started before the receiver: first points are baselines
    per_req = services // per_pass
    return [
        build(range(r * per_req, (r + 1) * per_req), series, step, start_ns)
        for step in range(steps)
        for r in range(per_pass)
    ]


# --- server side ------------------------------------------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def serve(kind: str, port_file: str, max_series: int) -> None:
    from aiohttp import web

    stop = asyncio.Event()
    rss_app = web.Application()

    async def rss(_: web.Request) -> web.Response:
        return web.json_response({"rss_mib": rss_mib(), "cpu_s": time.process_time()})

    async def quit_(_: web.Request) -> web.Response:
        stop.set()
        return web.Response(text="bye")

    rss_app.router.add_get("/rss", rss)
    rss_app.router.add_post("/quit", quit_)
    ctl = web.AppRunner(rss_app, access_log=None)
    await ctl.setup()
    ctl_site = web.TCPSite(ctl, "127.0.0.1", 0)
    await ctl_site.start()
    ctl_port = ctl.addresses[0][1]
    receiver = None
    if kind == "parse":
        empty = ExportMetricsServiceResponse().SerializeToString()

        async def handle(request: web.Request) -> web.Response:
            req = ExportMetricsServiceRequest.FromString(await request.read())
            del req
            return web.Response(body=empty, content_type="application/x-protobuf")

        app = web.Application(client_max_size=16 << 20)
        app.router.add_post("/v1/metrics", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
    else:
        from tui.config import Config, OTLPConfig
        from tui.core.metrics.otlp import OTLPSink
        from tui.core.metrics.store import MetricStore
        from tui.sources.otlp_grpc import OTLPGrpcReceiver
        from tui.sources.otlp_http import OTLPHttpReceiver

        grpc = kind == "warroom-grpc"
        cfg = Config(
            otlp=OTLPConfig(http="" if grpc else "127.0.0.1:0", grpc="127.0.0.1:0" if grpc else ""),
            max_series=max_series,
        )
        store = MetricStore(max_series=max_series)
        sink = OTLPSink(store, cfg)
        receiver = (OTLPGrpcReceiver if grpc else OTLPHttpReceiver)(cfg.otlp, sink)
        await receiver.start()
        port = receiver.bound_address[1]

        async def ticker() -> None:
            while True:
                await asyncio.sleep(1.0)
                sink.tick(time.time())

        asyncio.get_running_loop().create_task(ticker())
    Path(port_file).write_text(json.dumps({"port": port, "ctl": ctl_port}))
    await stop.wait()
    if receiver is not None:
        await receiver.stop()


def serve_main(kind: str, port_file: str, max_series: int, profile: str | None) -> None:
    if profile:
        import cProfile

        prof = cProfile.Profile(time.process_time)  # CPU time: preemption by others not counted
        prof.enable()
        try:
            asyncio.run(serve(kind, port_file, max_series))
        finally:
            prof.disable()
            prof.dump_stats(profile)
    else:
        asyncio.run(serve(kind, port_file, max_series))


# --- client side ------------------------------------------------------------------------------


async def client_http(
    port: int, bodies: list[bytes], conns: int, seconds: float, warm: int, after_warm: Any
) -> tuple[int, float, list[float]]:
    import aiohttp

    url = f"http://127.0.0.1:{port}/v1/metrics"
    hdrs = {"Content-Type": "application/x-protobuf"}
    lat: list[float] = []
    points = 0
    nxt = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns)) as session:

        async def post(body: bytes) -> int:
            async with session.post(url, data=body, headers=hdrs) as r:
                data = await r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}: {data[:200]!r}")
            resp = ExportMetricsServiceResponse.FromString(data)
            if resp.partial_success.rejected_data_points:
                raise RuntimeError(f"rejected: {resp.partial_success.error_message}")
            return 0

        for i in range(warm):  # every series seen once: the timed part is the steady state
            await post(bodies[i])
        nxt = warm
        after_warm()
        deadline = time.perf_counter() + seconds
        half = deadline - seconds / 2

        async def worker() -> None:
            nonlocal nxt, points
            nonlocal half
            while time.perf_counter() < deadline:
                if time.perf_counter() > half:  # the RSS half way, once
                    half = math.inf
                    after_warm()
                body, npts = bodies[nxt % len(bodies)], POINTS[nxt % len(bodies)]
                nxt += 1
                t = time.perf_counter()
                await post(body)
                lat.append(time.perf_counter() - t)
                points += npts

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conns)))
        dt = time.perf_counter() - t0
    return points, dt, lat


async def client_grpc(
    port: int, bodies: list[bytes], conns: int, seconds: float, warm: int, after_warm: Any
) -> tuple[int, float, list[float]]:
    import grpc

    lat: list[float] = []
    points = 0
    nxt = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        export = ch.unary_unary(
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            request_serializer=None,
            response_deserializer=ExportMetricsServiceResponse.FromString,
        )
        for i in range(warm):
            await export(bodies[i])
        nxt = warm
        after_warm()
        deadline = time.perf_counter() + seconds
        half = deadline - seconds / 2

        async def worker() -> None:
            nonlocal nxt, points
            nonlocal half
            while time.perf_counter() < deadline:
                if time.perf_counter() > half:  # the RSS half way, once
                    half = math.inf
                    after_warm()
                body, npts = bodies[nxt % len(bodies)], POINTS[nxt % len(bodies)]
                nxt += 1
                t = time.perf_counter()
                resp = await export(body)
                if resp.partial_success.rejected_data_points:
                    raise RuntimeError(f"rejected: {resp.partial_success.error_message}")
                lat.append(time.perf_counter() - t)
                points += npts

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conns)))
        dt = time.perf_counter() - t0
    return points, dt, lat


POINTS: list[int] = []


def count_points(body: bytes) -> int:
    req = ExportMetricsServiceRequest.FromString(body)
    return sum(
        len(m.histogram.data_points)
        for rm in req.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    )


def start_server(
    kind: str, max_series: int, profile: str | None, tmp: Path
) -> tuple[subprocess.Popen[bytes], int, int]:
    port_file = tmp / f"port-{os.getpid()}-{kind}"
    port_file.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--serve", kind, "--port-file", str(port_file)]
    cmd += ["--max-series", str(max_series)]
    if profile:
        cmd += ["--profile", profile]
    proc = subprocess.Popen(cmd)
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"bench_otlp_http: the {kind} server did not start")
        time.sleep(0.05)
    info = json.loads(port_file.read_text())
    port_file.unlink()
    return proc, int(info["port"]), int(info["ctl"])


def ctl(port: int, method: str, path: str) -> dict[str, float]:
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return json.loads(body) if path == "/rss" else {}


def run_once(
    kind: str,
    bodies: list[bytes],
    conns: int,
    seconds: float,
    warm: int,
    max_series: int,
    profile: str | None = None,
) -> dict[str, float]:
    proc, port, ctl_port = start_server(kind, max_series, profile, Path("/tmp"))
    try:
        client = client_grpc if kind == "warroom-grpc" else client_http
        warmed: list[dict[str, float]] = []

        def after_warm() -> None:
            warmed.append(ctl(ctl_port, "GET", "/rss"))

        points, dt, lat = asyncio.run(client(port, bodies, conns, seconds, warm, after_warm))
        end = ctl(ctl_port, "GET", "/rss")
        ctl(ctl_port, "POST", "/quit")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lat.sort()
    return {
        "points_per_s": points / dt,
        "p50_ms": 1e3 * lat[len(lat) // 2],
        "p99_ms": 1e3 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "requests": len(lat),
        # points per CPU second of the server process: what one core would do, less sensitive
        # than wall time to other work on a shared machine
        "points_per_cpu_s": points / max(end["cpu_s"] - warmed[0]["cpu_s"], 1e-9),
        "rss_start_mib": warmed[0]["rss_mib"],
        "rss_half_mib": warmed[-1]["rss_mib"],
        "rss_end_mib": end["rss_mib"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--serve", choices=("warroom", "warroom-grpc", "parse"), help=argparse.SUPPRESS)
    ap.add_argument("--port-file", help=argparse.SUPPRESS)
    ap.add_argument("--profile", help="cProfile the warroom server into FILE (one run)")
    ap.add_argument("--max-series", type=int, default=200_000)
    ap.add_argument("--workload", choices=tuple(WORKLOADS), action="append")
    ap.add_argument("--server", choices=("warroom", "warroom-grpc", "parse"), action="append")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0, help="per run (100k: at least 15)")
    ap.add_argument("--conns", type=int, default=2, help="keep-alive connections (in flight)")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.serve:
        serve_main(args.serve, args.port_file, args.max_series, args.profile)
        return 0
    rows = []
    for workload in args.workload or list(DEFAULT_PLAN):
        steps = 3 if workload == "100k" else args.steps
        bodies = bodies_for(workload, steps)
        POINTS[:] = [count_points(b) for b in bodies]
        warm = WORKLOADS[workload][2]  # one pass over every series before the clock starts
        res: dict[str, dict[str, float]] = {}
        for kind in args.server or DEFAULT_PLAN[workload]:
            n = 1 if args.profile or workload == "100k" else args.runs
            seconds = max(args.seconds, 15.0) if workload == "100k" else args.seconds
            runs = [
                run_once(kind, bodies, args.conns, seconds, warm, args.max_series, args.profile)
                for _ in range(n)
            ]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            each = ", ".join(f"{r['points_per_s']:,.0f}" for r in runs)
            res[kind] = med
            if not args.json:
                print(
                    f"{workload:>6}-point requests  {kind:<12} {med['points_per_s']:>10,.0f} "
                    f"points/s ({med['points_per_cpu_s']:>10,.0f} per server CPU s)  "
                    f"p50 {med['p50_ms']:6.1f} ms  p99 {med['p99_ms']:6.1f} ms  "
                    f"RSS {med['rss_start_mib']:.0f} -> {med['rss_half_mib']:.0f} -> "
                    f"{med['rss_end_mib']:.0f} MiB  "
                    f"({n} runs x {seconds:g} s, {args.conns} connections; each: {each})",
                    flush=True,
                )
        rows.extend(json_rows(workload, res))
    if args.json:
        print(json.dumps(rows))
    return 0


# workload -> servers measured by default (`make bench`)
DEFAULT_PLAN = {
    "1000": ("warroom", "warroom-grpc", "parse"),
    "1000x1": ("warroom", "warroom-grpc", "parse"),
    "100": ("warroom", "warroom-grpc", "parse"),
    "100x1": ("warroom", "warroom-grpc", "parse"),
    "100k": ("warroom",),
}
LIMITS = {"1000": ">= 300000", "1000x1": ">= 300000", "100": ">= 100000", "100x1": ">= 100000"}


def json_rows(workload: str, res: dict[str, dict[str, float]]) -> list[dict[str, object]]:
    """Rows for run_all.py: the receivers' points/s, the parse-only server as reference."""
    services, series, _ = WORKLOADS[workload]
    shape = f"{services} service{'s' if services > 1 else ''} x {series} series"
    if workload == "100k":
        shape = "100,000 series, 1,000"
    ref = res.get("parse")
    out: list[dict[str, object]] = []
    for kind in ("warroom", "warroom-grpc"):
        med = res.get(kind)
        if med is None:
            continue
        proto = "gRPC" if kind == "warroom-grpc" else "HTTP"
        reference = f"p99 {med['p99_ms']:.1f} ms"
        if ref is not None and kind == "warroom":
            reference += f"; parse-only aiohttp server {ref['points_per_s']:.3g}/s"
        if workload == "100k":
            reference += (
                f"; RSS {med['rss_start_mib']:.0f} -> {med['rss_half_mib']:.0f} -> "
                f"{med['rss_end_mib']:.0f} MiB"
            )
        out.append(
            {
                "figure": f"OTLP/{proto} through the receiver, {shape} per request (points/s)",
                "value": round(med["points_per_s"]),
                "unit": "points/s",
                "limit": LIMITS.get(workload, ""),
                "reference": reference,
            }
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
