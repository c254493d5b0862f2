"""The demo service: a small load generator instrumented with the OpenTelemetry Python SDK.

It runs as its own process (`python -m tui.demo.service`), like a real service would: one
MeterProvider per simulated service (each with its own `service.name` resource), recording
`http.server.request.duration` histograms (seconds, the semantic-convention buckets) with
`http.response.status_code`, pushed by the SDK's OTLP/HTTP exporter to warroom's embedded
receiver. Latencies are lognormal per route, as request latencies usually are; each service
has a worker thread that really executes its route handlers (a little CPU per request) so the
stack sampler writes real CPU profiles of it. An optional incident multiplies one service's
latency for a while, so a spike can be watched arriving. In the demo these are the services
around the Go one (tui/demo/gosvc, read through Prometheus): the OTLP path of the dashboard.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# semantic conventions: http.server.request.duration advisory bucket boundaries (seconds)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
DEFAULT_SERVICES = ("checkout", "payments", "search", "inventory", "auth")
TICK = 0.05  # seconds between request batches of a worker


@dataclass
class Route:
    path: str
    median: float  # seconds
    sigma: float  # lognormal shape
    weight: float
    error_rate: float


def routes_for(index: int) -> list[Route]:
    """A few routes per service, medians spread so services look different."""
    base = 0.012 * (1 + 0.6 * (index % 5))
    return [
        Route("/api/items", base, 0.35, 0.6, 0.002),
        Route("/api/items/{id}", base * 0.6, 0.3, 0.3, 0.001),
        Route("/api/orders", base * 3.0, 0.5, 0.1, 0.01),
    ]


# Route handlers: real (tiny) work, so that sampled CPU profiles have a recognisable shape.
def _burn(units: int) -> int:
    acc = 0
    for i in range(units):
        acc = (acc * 31 + i) & 0xFFFF
    return acc


def parse_request(units: int) -> int:
    return _burn(units)


def query_db(units: int) -> int:
    return _burn(units * 3)


def render_json(units: int) -> int:
    return _burn(units * 2)


def handle(route: Route, latency: float) -> None:
    """Work for one request, in proportion to its latency."""
    units = max(1, min(400, int(latency * 4000)))
    parse_request(units)
    if route.path != "/api/items/{id}":
        query_db(units)
    render_json(units)


class ServiceLoad:
    """One simulated service: its own MeterProvider, histogram, and worker thread."""

    def __init__(
        self,
        name: str,
        index: int,
        endpoint: str,
        rate: float,
        interval: float,
        incident: tuple[float, float, float] | None,
        seed: int,
    ):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
        from opentelemetry.sdk.resources import Resource

        self.name = name
        self.rate = rate
        self.routes = routes_for(index)
        self.incident = incident  # (start offset s, duration s, latency factor)
        self.rng = random.Random(seed)
        exporter = OTLPMetricExporter(endpoint=f"{endpoint.rstrip('/')}/v1/metrics", timeout=5)
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=int(interval * 1e3))
        view = View(
            instrument_name="http.server.request.duration",
            aggregation=ExplicitBucketHistogramAggregation(boundaries=BUCKETS),
        )
        self.provider = MeterProvider(
            resource=Resource.create({"service.name": name, "service.version": "1.4.2"}),
            metric_readers=[reader],
            views=[view],
        )
        meter = self.provider.get_meter("warroom.demo")
        self.duration = meter.create_histogram(
            "http.server.request.duration", unit="s", description="HTTP server request duration"
        )
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"worker-{name}", daemon=True)
        self.started = time.monotonic()

    def factor(self) -> float:
        if self.incident is None:
            return 1.0
        start, length, mult = self.incident
        elapsed = time.monotonic() - self.started
        return mult if start <= elapsed < start + length else 1.0

    def run(self) -> None:
        weights = [r.weight for r in self.routes]
        while not self.stop_event.wait(TICK):
            # Poisson arrivals in this tick (Knuth; rates here are small)
            lam, n, p = self.rate * TICK, 0, self.rng.random()
            limit = math.exp(-lam)
            while p > limit:
                n += 1
                p *= self.rng.random()
            factor = self.factor()
            for _ in range(n):
                route = self.rng.choices(self.routes, weights)[0]
                latency = self.rng.lognormvariate(math.log(route.median * factor), route.sigma)
                handle(route, latency)
                status = 500 if self.rng.random() < route.error_rate * factor else 200
                self.duration.record(
                    latency,
                    {
                        "http.request.method": "GET",
                        "http.route": route.path,
                        "http.response.status_code": status,
                    },
                )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=2)

    def shutdown(self) -> None:
        """Flush the last export (quickly: the receiver may already be gone)."""
        self.provider.shutdown(timeout_millis=500)


def service_names(spec: str) -> list[str]:
    """'checkout,payments' -> names; a number N -> service-00 .. service-(N-1)."""
    if spec.isdigit():
        n = int(spec)
        if not 1 <= n <= 500:
            raise ValueError("the number of services must be between 1 and 500")
        return (
            list(DEFAULT_SERVICES[:n])
            if n <= len(DEFAULT_SERVICES)
            else [f"service-{i:02d}" for i in range(n)]
        )
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise ValueError("no service names given")
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tui.demo.service", description="warroom demo load: OTel SDK -> OTLP/HTTP"
    )
    p.add_argument("--endpoint", default="http://127.0.0.1:4318")
    p.add_argument(
        "--services", default=",".join(DEFAULT_SERVICES), help="comma-separated names, or a count"
    )
    p.add_argument("--rate", type=float, default=40.0, help="requests per second per service")
    p.add_argument("--interval", type=float, default=1.0, help="export interval, seconds")
    p.add_argument(
        "--incident", default="", help="SERVICE:START:DURATION:FACTOR, e.g. payments:60:30:4"
    )
    p.add_argument("--profiles", default="", help="write CPU profiles of the workers here")
    p.add_argument(
        "--profile-every", type=float, default=10.0, help="seconds of samples per written profile"
    )
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    # Hand the GIL over within 0.5 ms (default 5): a worker's request burst is shorter than
    # 5 ms, so with the default the stack sampler only ever got the GIL once a burst had
    # ended and its profiles showed idle waits instead of the handlers.
    sys.setswitchinterval(0.0005)
    try:
        names = service_names(args.services)
        incident_for, incident = None, None
        if args.incident:
            svc, start, length, mult = args.incident.split(":")
            incident_for, incident = svc, (float(start), float(length), float(mult))
    except ValueError as exc:
        print(f"demo service: {exc}", file=sys.stderr)
        return 2
    loads = [
        ServiceLoad(
            n,
            i,
            args.endpoint,
            args.rate,
            args.interval,
            incident if n == incident_for else None,
            args.seed + i,
        )
        for i, n in enumerate(names)
    ]
    samplers = []
    if args.profiles:
        from tui.demo.sampler import StackSampler

        for n in names[:5]:
            s = StackSampler(
                Path(args.profiles), n, every=args.profile_every, thread_names=(f"worker-{n}",)
            )
            s.start()
            samplers.append(s)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    parent = os.getppid()
    for load in loads:
        load.start()
    print(f"demo service: {len(loads)} services -> {args.endpoint}", flush=True)
    # Also stop when the parent (warroom) is gone, even if it was killed: never linger.
    while not done.wait(1.0):
        if os.getppid() != parent:
            break
    for s in samplers:
        s.stop()
    for load in loads:
        load.stop_event.set()
    for load in loads:
        load.stop()
    flushers = [threading.Thread(target=load.shutdown, daemon=True) for load in loads]
    for t in flushers:
        t.start()
    for t in flushers:
        t.join(timeout=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
