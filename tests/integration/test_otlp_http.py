"""The OTLP/HTTP receiver on a free loopback port, fed by the real OpenTelemetry SDK exporter
and by a real HTTP client (httpx) sending bad input."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import (
    Aggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from opentelemetry.sdk.resources import Resource

from tests.servers import free_port
from tui.config import Config, OTLPConfig, Secret
from tui.core.metrics.otlp import OTLPSink
from tui.core.metrics.quantile import bucket_quantile
from tui.core.metrics.store import MetricStore
from tui.errors import UserError
from tui.sources.otlp_http import OTLPHttpReceiver

pytestmark = pytest.mark.integration
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
PB = {"Content-Type": "application/x-protobuf"}


class Rig:
    def __init__(self, **otlp: object) -> None:
        self.cfg = Config(
            otlp=OTLPConfig(http="127.0.0.1:0", grpc="", **otlp),  # type: ignore[arg-type]
            max_series=2000,
        )
        self.store = MetricStore()
        self.sink = OTLPSink(self.store, self.cfg, started_at=time.time() - 1)
        self.receiver = OTLPHttpReceiver(self.cfg.otlp, self.sink)

    @property
    def url(self) -> str:
        host, port = self.receiver.bound_address
        return f"http://{host}:{port}/v1/metrics"


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    await r.receiver.start()
    yield r
    await r.receiver.stop()


def provider_for(
    url: str,
    service: str,
    temporality: AggregationTemporality,
    aggregation: Aggregation,
    **exporter_kw: Any,
) -> MeterProvider:
    exporter = OTLPMetricExporter(
        endpoint=url,
        preferred_temporality={Histogram: temporality},
        preferred_aggregation={Histogram: aggregation},
        **exporter_kw,
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    return MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": service})
    )


async def flush(provider: MeterProvider) -> None:
    assert await asyncio.to_thread(provider.force_flush, 10_000)


async def test_sdk_cumulative_explicit_histogram_gzip(rig: Rig) -> None:
    p = provider_for(
        rig.url,
        "checkout",
        AggregationTemporality.CUMULATIVE,
        ExplicitBucketHistogramAggregation(BOUNDS),
        compression=Compression.Gzip,
    )
    h = p.get_meter("test").create_histogram("http.server.request.duration", unit="s")
    for i in range(200):
        h.record(
            0.002 + (i % 10) * 0.01, {"http.response.status_code": 500 if i % 20 == 0 else 200}
        )
    await flush(p)
    rig.sink.tick(1000.0)
    vals = [0.002 + (i % 10) * 0.01 for i in range(200)]
    cum = [sum(v <= b for v in vals) for b in BOUNDS] + [200]
    last = rig.store.latest("checkout", "p99")
    assert last is not None
    assert last[1] == pytest.approx(bucket_quantile(0.99, [*BOUNDS, math.inf], cum).value)
    er = rig.store.latest("checkout", "error_ratio")
    assert er is not None and er[1] == pytest.approx(10 / 200)
    assert rig.receiver.status.counters["accepted"] == 2
    assert rig.receiver.status.state == "listening"
    assert rig.receiver.status.detail.startswith("127.0.0.1:")
    # Second push of the same cumulative histogram: only the delta counts.
    for _ in range(50):
        h.record(0.7, {"http.response.status_code": 200})
    await flush(p)
    rig.sink.tick(1100.0)  # the first slice (t=1000) is out of the 60 s window
    last = rig.store.latest("checkout", "p50")
    assert last is not None and 0.5 < last[1] <= 1.0
    await asyncio.to_thread(p.shutdown)


async def test_sdk_delta_exponential_histogram_deflate(rig: Rig) -> None:
    p = provider_for(
        rig.url,
        "search",
        AggregationTemporality.DELTA,
        ExponentialBucketHistogramAggregation(max_size=160),
        compression=Compression.Deflate,
    )
    h = p.get_meter("test").create_histogram("search.latency", unit="ms")
    vals = [5.0 + i for i in range(100)]
    for v in vals:
        h.record(v)
    await flush(p)
    rig.sink.tick(10.0)
    last = rig.store.latest("search", "p50")
    assert last is not None
    assert last[1] == pytest.approx(sorted(vals)[49] * 1e-3, rel=0.05)
    await asyncio.to_thread(p.shutdown)


async def test_bearer_token_required() -> None:
    r = Rig(bearer_token=Secret("s3cret", "test"))
    await r.receiver.start()
    try:
        async with httpx.AsyncClient() as c:
            resp = await c.post(
                r.url, content=ExportMetricsServiceRequest().SerializeToString(), headers=PB
            )
            assert resp.status_code == 401
            st = status_pb2.Status.FromString(resp.content)
            assert "bearer token" in st.message
        p = provider_for(
            r.url,
            "auth",
            AggregationTemporality.CUMULATIVE,
            ExplicitBucketHistogramAggregation(BOUNDS),
            headers={"Authorization": "Bearer s3cret"},
        )
        p.get_meter("t").create_histogram("http.server.request.duration", unit="s").record(0.1)
        await flush(p)
        assert r.receiver.status.counters["accepted"] == 1
        await asyncio.to_thread(p.shutdown)
    finally:
        await r.receiver.stop()


def one_point_request(service: str = "svc", n_series: int = 1) -> ExportMetricsServiceRequest:
    pts = [
        metrics_pb2.HistogramDataPoint(
            attributes=[KeyValue(key="id", value=AnyValue(int_value=i))],
            start_time_unix_nano=int(time.time() * 1e9),
            count=3,
            bucket_counts=[1, 2, 0],
            explicit_bounds=[0.1, 0.2],
        )
        for i in range(n_series)
    ]
    m = metrics_pb2.Metric(
        name="http.server.request.duration",
        unit="s",
        histogram=metrics_pb2.Histogram(
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE, data_points=pts
        ),
    )
    return ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=resource_pb2.Resource(
                    attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))]
                ),
                scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[m])],
            )
        ]
    )


async def test_json_body_with_camel_case_enum_ints_and_string_int64(rig: Rig) -> None:
    now = str(int(time.time() * 1e9))
    body = {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]
                },
                "scopeMetrics": [
                    {
                        "scope": {"name": "x"},
                        "metrics": [
                            {
                                "name": "http.server.request.duration",
                                "unit": "s",
                                "histogram": {
                                    "aggregationTemporality": 2,
                                    "dataPoints": [
                                        {
                                            "startTimeUnixNano": now,
                                            "timeUnixNano": now,
                                            "count": "4",
                                            "bucketCounts": ["1", "3", 0],
                                            "explicitBounds": [0.1, 0.2],
                                            "exemplars": [
                                                {
                                                    "traceId": "5b8efff798038103d269b633813fc60c",
                                                    "spanId": "eee19b7ec3c1b174",
                                                    "asDouble": 0.15,
                                                    "timeUnixNano": now,
                                                }
                                            ],
                                            "somethingNew": True,
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        ]
    }
    async with httpx.AsyncClient() as c:
        resp = await c.post(rig.url, json=body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {}
    rig.sink.tick(5.0)
    last = rig.store.latest("js", "p50")
    assert last is not None and 0.1 < last[1] <= 0.2


async def test_bad_inputs_get_clear_4xx_and_nothing_is_stored(rig: Rig) -> None:
    good = one_point_request().SerializeToString()
    async with httpx.AsyncClient() as c:
        cases = [
            (b"\xff\xff\xff\xff garbage", PB, 400, "not an OTLP ExportMetricsServiceRequest"),
            (good[: len(good) // 2], PB, 400, "protobuf"),  # truncated
            (b"\x1f\x8b\x08\x00garbage", {**PB, "Content-Encoding": "gzip"}, 400, "bad gzip body"),
            (gzip.compress(good)[:-8], {**PB, "Content-Encoding": "gzip"}, 400, "bad gzip body"),
            (good, {"Content-Type": "text/plain"}, 415, "unsupported Content-Type"),
            (good, {**PB, "Content-Encoding": "br"}, 415, "unsupported Content-Encoding"),
            (b"\x28\x01", PB, 400, "only unknown fields"),  # field 5, varint: unknown
        ]
        for body, headers, code, text in cases:
            resp = await c.post(rig.url, content=body, headers=headers)
            assert resp.status_code == code, (body[:20], resp.status_code, resp.content)
            st = status_pb2.Status.FromString(resp.content)
            assert text in st.message, st.message
        resp = await c.post(
            rig.url, content=b'{"resourceMetrics": [', headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 400
        assert "JSON" in resp.json()["message"]
        resp = await c.get(rig.url)
        assert resp.status_code == 405
    assert rig.store.names() == []
    assert rig.receiver.status.counters["bad_requests"] == 8


async def test_oversized_bodies_get_413() -> None:
    r = Rig(max_body=1024)
    await r.receiver.start()
    try:
        async with httpx.AsyncClient() as c:
            big = one_point_request(n_series=100).SerializeToString()
            assert len(big) > 1024
            resp = await c.post(r.url, content=big, headers=PB)
            assert resp.status_code == 413
            assert "max_body (1024 bytes)" in status_pb2.Status.FromString(resp.content).message
            # Small on the wire, big once inflated: refused after at most max_body bytes.
            bomb = zlib.compress(b"\x00" * 1_000_000)
            resp = await c.post(r.url, content=bomb, headers={**PB, "Content-Encoding": "deflate"})
            assert resp.status_code == 413

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked upload
                for _ in range(10):
                    yield b"\x00" * 512

            resp = await c.post(r.url, content=chunks(), headers=PB)
            assert resp.status_code == 413
    finally:
        await r.receiver.stop()


async def test_full_queue_answers_429_with_retry_after() -> None:
    r = Rig(queue_size=1)
    await r.receiver.start()
    try:
        body = one_point_request(n_series=1500).SerializeToString()
        resps: list[httpx.Response] = []
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=40)) as c:
            for _ in range(20):  # rounds of 40 concurrent posts until one is refused
                resps += await asyncio.gather(
                    *[c.post(r.url, content=body, headers=PB) for _ in range(40)]
                )
                if any(x.status_code == 429 for x in resps):
                    break
        codes = [x.status_code for x in resps]
        assert set(codes) <= {200, 429}
        assert 429 in codes and 200 in codes
        for x in resps:
            if x.status_code == 429:
                assert x.headers["Retry-After"] == "1"
                assert "queue full" in status_pb2.Status.FromString(x.content).message
        assert r.receiver.status.counters["throttled"] == codes.count(429)
        # Every 200 was stored: the first request made 1500 series, later ones reuse them.
        assert r.receiver.status.counters["accepted"] == 1500 * codes.count(200)
    finally:
        await r.receiver.stop()


async def test_ten_thousand_series_hit_the_cap_with_partial_success(rig: Rig) -> None:
    body = one_point_request(n_series=10_000).SerializeToString()
    async with httpx.AsyncClient() as c:
        resp = await c.post(rig.url, content=body, headers=PB)
    assert resp.status_code == 200
    out = ExportMetricsServiceResponse.FromString(resp.content)
    assert out.partial_success.rejected_data_points == 8000
    assert "series cap reached (2000 series)" in out.partial_success.error_message
    assert rig.sink.dropped_series == 8000 and rig.store.dropped == 8000
    assert rig.receiver.status.counters["rejected"] == 8000
    rig.sink.tick(5.0)
    assert rig.store.services["svc"].observations == 2000 * 3


async def test_json_partial_success_is_json(rig: Rig) -> None:
    rig.sink.max_series = 1
    body = json.loads(
        __import__("google.protobuf.json_format", fromlist=["x"]).MessageToJson(
            one_point_request(n_series=3)
        )
    )
    async with httpx.AsyncClient() as c:
        resp = await c.post(rig.url, json=body)
    assert resp.status_code == 200
    assert resp.json()["partialSuccess"]["rejectedDataPoints"] == "2"


async def test_port_in_use_is_a_user_error(rig: Rig) -> None:
    host, port = rig.receiver.bound_address
    cfg = OTLPConfig(http=f"{host}:{port}", grpc="")
    other = OTLPHttpReceiver(cfg, rig.sink)
    with pytest.raises(UserError) as e:
        await other.start()
    assert str(e.value) == f"otlp.http: cannot listen on 127.0.0.1:{port}: address in use"
    assert other.status.state == "error"


def test_free_port_helper_is_loopback() -> None:
    assert 0 < free_port() < 65536


async def test_points_per_second_counts_the_points_stored_in_the_last_ten_seconds(
    rig: Rig,
) -> None:
    body = one_point_request(n_series=300).SerializeToString()
    async with httpx.AsyncClient() as c:
        for _ in range(3):
            assert (await c.post(rig.url, content=body, headers=PB)).status_code == 200
    counters = rig.receiver.status.counters
    assert counters["accepted"] == 900
    # 900 points over the time since the receiver started, counted as at least 1 s, at most 10
    assert 90 <= counters["points_per_s"] <= 900
