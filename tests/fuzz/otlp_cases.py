"""OTLP fuzz inputs as a receiver gets them, and the valid request checked after a batch."""

from __future__ import annotations

import json
import math
import random
import time

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tests.fuzz.harness import compress, deflate, mutate
from tests.fuzz.strategies import kv
from tui.core.metrics.quantile import bucket_quantile
from tui.core.metrics.store import MetricStore

EXACT_SERVICE = "exact-check"
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
COUNTS = [50, 40, 0, 0, 0, 9, 0, 0, 1]


def to_json(req: ExportMetricsServiceRequest) -> bytes:
    text: str = json_format.MessageToJson(req, indent=None)
    return text.encode()


def mutate_json(text: bytes, rng: random.Random) -> bytes:
    """Byte-level changes, or a value swapped for one a JSON reader may choke on."""
    op = rng.randrange(6)
    if op == 0:
        return mutate(text, rng, protobuf=False)
    if op == 1:  # deep nesting
        depth = rng.choice([100, 5000, 200_000])
        return b'{"resourceMetrics":' + b"[" * depth + b"]" * depth + b"}"
    if op == 2:
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice([b"\xff", b"\\ud800", b'"', b"\x00", b",,", b"}"]) + text[i:]
    try:
        doc = json.loads(text)
    except ValueError:
        return mutate(text, rng, protobuf=False)
    odd = [
        10**400,
        -(10**30),
        2**64,
        "1e400",
        "NaN",
        "-Infinity",
        "0x10",
        1.5,
        -1,
        None,
        [],
        {},
        True,
        "x" * 1000,
    ]
    _swap(doc, rng, odd)
    return json.dumps(doc).encode()


def _swap(node: object, rng: random.Random, odd: list[object]) -> None:
    """Replace one random leaf (or container) somewhere in `node` by an odd value."""
    for _ in range(20):
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            if rng.random() < 0.3 or not isinstance(node[key], dict | list):
                node[key] = rng.choice(odd)
                return
            node = node[key]
        elif isinstance(node, list) and node:
            i = rng.randrange(len(node))
            if rng.random() < 0.3 or not isinstance(node[i], dict | list):
                node[i] = rng.choice(odd)
                return
            node = node[i]
        else:
            return


def body(
    req: ExportMetricsServiceRequest, rng: random.Random, mutated: bool = True
) -> tuple[bytes, bool, str]:
    """(bytes as sent, JSON?, Content-Encoding) for one request, usually damaged."""
    as_json = rng.random() < 0.4
    data = to_json(req) if as_json else req.SerializeToString()
    if mutated:
        data = mutate_json(data, rng) if as_json else mutate(data, rng)
    encoding = rng.choice(["identity", "identity", "gzip", "deflate"])
    if encoding == "gzip":
        data = compress(data, rng) if mutated else compress_plain(data)
    elif encoding == "deflate":
        data = deflate(data, rng) if mutated else deflate_plain(data)
    return data, as_json, encoding


def compress_plain(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


def deflate_plain(data: bytes) -> bytes:
    import zlib

    return zlib.compress(data)


def exact_request(start_ns: int) -> ExportMetricsServiceRequest:
    """One cumulative explicit histogram of a service no fuzz case names."""
    dp = metrics_pb2.HistogramDataPoint(
        attributes=[kv("http.response.status_code", 200)],
        start_time_unix_nano=start_ns,
        time_unix_nano=start_ns + 10**9,
        count=sum(COUNTS),
        sum=1.0,
        bucket_counts=COUNTS,
        explicit_bounds=BOUNDS,
    )
    m = metrics_pb2.Metric(
        name="http.server.request.duration",
        unit="s",
        histogram=metrics_pb2.Histogram(
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE, data_points=[dp]
        ),
    )
    rm = metrics_pb2.ResourceMetrics(
        resource=Resource(attributes=[kv("service.name", EXACT_SERVICE)]),
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[m])],
    )
    return ExportMetricsServiceRequest(resource_metrics=[rm])


def expected_p99() -> float:
    cum = [sum(COUNTS[: i + 1]) for i in range(len(COUNTS))]
    return bucket_quantile(0.99, [*BOUNDS, math.inf], cum).value


def check_exact(store: MetricStore) -> None:
    """The store holds the exact p99 and qps-free facts of `exact_request`."""
    last = store.latest(EXACT_SERVICE, "p99")
    assert last is not None, "the valid request after the fuzz was not stored"
    assert last[1] == expected_p99()
    er = store.latest(EXACT_SERVICE, "error_ratio")
    assert er is not None and er[1] == 0.0
    assert store.services[EXACT_SERVICE].observations == sum(COUNTS)


def now_ns() -> int:
    return int(time.time() * 1e9)
