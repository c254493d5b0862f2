"""The real OTLP/HTTP receiver on loopback under a batch of damaged bodies (issue 17).

Every answer is a well-formed 200, 400 or 413 in the request's encoding (never a 500, never a
dropped connection), the receiver keeps listening, and a valid body sent after the batch is
stored with exact numbers.
"""

from __future__ import annotations

import functools
import random
import time

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from tests.fuzz.harness import Tracker, cases
from tests.fuzz.otlp_cases import body, check_exact, exact_request, now_ns
from tests.fuzz.strategies import otlp_requests
from tui.config import Config, OTLPConfig, Size
from tui.core.metrics.otlp import OTLPSink
from tui.core.metrics.store import MetricStore
from tui.sources.otlp_http import JSON, PROTOBUF, OTLPHttpReceiver

pytestmark = [pytest.mark.fuzz, pytest.mark.integration]


def seed_requests(n: int) -> list[ExportMetricsServiceRequest]:
    """n valid requests drawn by the hypothesis strategy."""
    out: list[ExportMetricsServiceRequest] = []

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(req=otlp_requests())
    def draw(req: ExportMetricsServiceRequest) -> None:
        out.append(req)

    draw()
    return out


def answer(resp: httpx.Response, as_json: bool) -> str:
    """The response parsed as what it must be; its message (or '' for a 200)."""
    assert resp.status_code in (200, 400, 413), (resp.status_code, resp.text[:300])
    assert resp.headers["content-type"].startswith(JSON if as_json else PROTOBUF)
    cls = ExportMetricsServiceResponse if resp.status_code == 200 else status_pb2.Status
    msg = cls()
    if as_json:
        json_format.Parse(resp.text, msg)
    else:
        msg.ParseFromString(resp.content)
    return "" if resp.status_code == 200 else str(msg.message)


async def test_fuzz_bodies_against_the_real_http_receiver() -> None:
    otlp = OTLPConfig(http="127.0.0.1:0", grpc="", max_inflated=Size(4 * 2**20))
    # fuzzed service names must not fill the service cap before the exact check
    cfg = Config(otlp=otlp, max_series=10**6)
    store = MetricStore()
    sink = OTLPSink(store, cfg, started_at=time.time() - 1)
    receiver = OTLPHttpReceiver(cfg.otlp, sink)
    await receiver.start()
    tr = Tracker("otlp over real HTTP", cases(200, 20_000))
    seeds = seed_requests(40)
    rng = random.Random(17)
    host, port = receiver.bound_address
    url = f"http://{host}:{port}/v1/metrics"
    statuses: dict[int, int] = {}
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            while not tr.done:
                raw, as_json, enc = body(rng.choice(seeds), rng)
                headers = {"Content-Type": JSON if as_json else PROTOBUF, "Content-Encoding": enc}
                t0 = time.perf_counter()
                resp = await client.post(url, content=raw, headers=headers)
                wall = time.perf_counter() - t0  # the receiver runs in this loop: all of it
                tr.case(functools.partial(answer, resp, as_json))
                tr.worst_wall = max(tr.worst_wall, wall)
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            assert receiver.status.state == "listening"
            tr.refused = sum(n for code, n in statuses.items() if code != 200)  # 400, 413
            tr.accepted = statuses.get(200, 0)
            assert statuses.get(400) and statuses.get(200), statuses
            resp = await client.post(
                url,
                content=exact_request(now_ns()).SerializeToString(),
                headers={"Content-Type": PROTOBUF},
            )
            assert resp.status_code == 200 and answer(resp, False) == ""
        sink.tick(time.time() + 1)
        check_exact(store)
    finally:
        await receiver.stop()
    tr.finish()
