"""The OTLP/gRPC receiver on a free loopback port: the real SDK gRPC exporter, and a raw gRPC
client sending garbage, no token, oversized messages and more requests than the queue holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import error_details_pb2
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import (
    Aggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)
from opentelemetry.sdk.resources import Resource

from tests.integration.test_otlp_http import one_point_request
from tui.config import Config, OTLPConfig, Secret
from tui.core.metrics.otlp import OTLPSink
from tui.core.metrics.store import MetricStore
from tui.errors import UserError
from tui.sources.otlp_grpc import SERVICE, OTLPGrpcReceiver

pytestmark = pytest.mark.integration
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]


class Rig:
    def __init__(self, **otlp: object) -> None:
        self.cfg = Config(otlp=OTLPConfig(grpc="127.0.0.1:0", http="", **otlp))  # type: ignore[arg-type]
        self.store = MetricStore()
        self.sink = OTLPSink(self.store, self.cfg, started_at=time.time() - 1)
        self.receiver = OTLPGrpcReceiver(self.cfg.otlp, self.sink)

    @property
    def target(self) -> str:
        host, port = self.receiver.bound_address
        return f"{host}:{port}"


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    await r.receiver.start()
    yield r
    await r.receiver.stop()


async def push(
    target: str,
    service: str,
    temporality: AggregationTemporality,
    aggregation: Aggregation,
    values: list[float],
    unit: str = "s",
    headers: dict[str, str] | None = None,
    compression: grpc.Compression | None = None,
) -> None:
    exporter = OTLPMetricExporter(
        endpoint=f"http://{target}",
        insecure=True,
        headers=headers,
        compression=compression,
        preferred_temporality={Histogram: temporality},
        preferred_aggregation={Histogram: aggregation},
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": service})
    )
    h = provider.get_meter("t").create_histogram("http.server.request.duration", unit=unit)
    for v in values:
        h.record(v)
    assert await asyncio.to_thread(provider.force_flush, 10_000)
    await asyncio.to_thread(provider.shutdown)


def raw_export(channel: grpc.aio.Channel) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(
        f"/{SERVICE}/Export",
        request_serializer=None,
        response_deserializer=ExportMetricsServiceResponse.FromString,
    )


async def test_sdk_grpc_exporter_cumulative_and_exponential(rig: Rig) -> None:
    await push(
        rig.target,
        "orders",
        AggregationTemporality.CUMULATIVE,
        ExplicitBucketHistogramAggregation(BOUNDS),
        [0.02] * 99 + [0.4],
    )
    await push(
        rig.target,
        "expo",
        AggregationTemporality.DELTA,
        ExponentialBucketHistogramAggregation(),
        [10.0 + i for i in range(100)],
        unit="ms",
        compression=grpc.Compression.Gzip,
    )
    rig.sink.tick(100.0)
    p50 = rig.store.latest("orders", "p50")
    assert p50 is not None and 0.01 < p50[1] <= 0.025
    e50 = rig.store.latest("expo", "p50")
    assert e50 is not None and e50[1] == pytest.approx(0.059, rel=0.05)
    # flush + the final export at shutdown for cumulative (the same totals again, delta 0);
    # the delta provider has nothing new to send at shutdown.
    assert rig.receiver.status.counters["accepted"] == 3
    assert rig.store.services["orders"].observations == 100
    assert rig.receiver.status.detail == rig.target


async def test_garbage_and_oversized_messages() -> None:
    r = Rig(max_body=4096)
    await r.receiver.start()
    try:
        async with grpc.aio.insecure_channel(r.target) as ch:
            call = raw_export(ch)
            for body, text in (
                (b"\xff\xff\xff\xffgarbage", "not an OTLP"),
                (b"\x28\x01", "only unknown fields"),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as e:
                    await call(body)
                assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert text in (e.value.details() or "")
            big = one_point_request(n_series=200).SerializeToString()
            assert len(big) > 4096
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await call(big)
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            ok = await call(one_point_request().SerializeToString())
            assert not ok.HasField("partial_success")
        assert r.receiver.status.counters["bad_requests"] == 2
        assert r.receiver.status.counters["accepted"] == 1
    finally:
        await r.receiver.stop()


async def test_token_required() -> None:
    r = Rig(bearer_token=Secret("tok", "test"))
    await r.receiver.start()
    try:
        async with grpc.aio.insecure_channel(r.target) as ch:
            call = raw_export(ch)
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await call(one_point_request().SerializeToString())
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
            ok = await call(
                one_point_request().SerializeToString(), metadata=(("authorization", "Bearer tok"),)
            )
            assert isinstance(ok, ExportMetricsServiceResponse)
        await push(
            r.target,
            "authd",
            AggregationTemporality.CUMULATIVE,
            ExplicitBucketHistogramAggregation(BOUNDS),
            [0.1],
            headers={"authorization": "Bearer tok"},
        )
        assert r.receiver.status.counters["accepted"] == 3  # + the export at shutdown
    finally:
        await r.receiver.stop()


async def test_full_queue_is_resource_exhausted_with_retry_info() -> None:
    r = Rig(queue_size=1)
    await r.receiver.start()
    try:
        body = one_point_request(n_series=1500).SerializeToString()
        channels = [grpc.aio.insecure_channel(r.target) for _ in range(8)]
        calls = [raw_export(ch) for ch in channels]
        results: list[object] = []
        for _ in range(20):  # rounds of 40 concurrent calls on 8 connections until one is refused
            results += await asyncio.gather(
                *[calls[i % 8](body) for i in range(40)], return_exceptions=True
            )
            if any(isinstance(x, BaseException) for x in results):
                break
        for ch in channels:
            await ch.close()
        errors = [x for x in results if isinstance(x, BaseException)]
        assert errors and len(errors) < len(results)
        for err in errors:
            assert isinstance(err, grpc.aio.AioRpcError)
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            md = dict(err.trailing_metadata() or ())
            info = error_details_pb2.RetryInfo.FromString(md["google.rpc.retryinfo-bin"])
            assert info.retry_delay.seconds == 1
        assert r.receiver.status.counters["throttled"] == len(errors)
        assert r.receiver.status.counters["accepted"] == 1500 * (len(results) - len(errors))
    finally:
        await r.receiver.stop()


async def test_ten_thousand_series_partial_success(rig: Rig) -> None:
    async with grpc.aio.insecure_channel(rig.target) as ch:
        resp = await raw_export(ch)(one_point_request(n_series=10_000).SerializeToString())
    assert resp.partial_success.rejected_data_points == 8000
    assert "series cap reached" in resp.partial_success.error_message


async def test_port_in_use_is_a_user_error(rig: Rig) -> None:
    other = OTLPGrpcReceiver(OTLPConfig(grpc=rig.target, http=""), rig.sink)
    with pytest.raises(UserError) as e:
        await other.start()
    assert str(e.value) == f"otlp.grpc: cannot listen on {rig.target}: address in use"
