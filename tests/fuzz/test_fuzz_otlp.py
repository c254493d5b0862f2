"""Fuzz OTLP ExportMetricsServiceRequest bodies through the receivers' decoder and the sink.

Valid requests from hypothesis (explicit and exponential histograms, sums, gauges, summaries,
odd numbers: NaN, infinities, counts near 2**64), sent as protobuf or JSON, identity, gzip or
deflate, then damaged at the wire level. Each case runs what a receiver runs: decode_body
(HTTP; gRPC is its protobuf half, `parse`), then the sink's ingest and tick. Only BodyError
may escape decoding and nothing may escape the sink; each case under 2 s of CPU; memory
bounded; unmutated requests decode to exactly what was sent, and a valid request after the
batch gives exact numbers.
"""

from __future__ import annotations

import functools
import math
import random
import time

import pytest
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from tests.fuzz.harness import FUZZ_INFLATE_CAP, Tracker, cases, run_examples
from tests.fuzz.otlp_cases import body, check_exact, exact_request, now_ns, to_json
from tests.fuzz.strategies import otlp_requests
from tui.config import Config
from tui.core.metrics.otlp import OTLPSink
from tui.core.metrics.otlp_body import decode_body, parse
from tui.core.metrics.store import MetricStore

pytestmark = pytest.mark.fuzz

MUTANTS = 4
SINK_CASES = 500  # a fresh sink (and store) every so many cases, so caps do not fill up


class Pipeline:
    """decode -> ingest -> tick, as the receivers and the hub run them."""

    def __init__(self) -> None:
        self.cases = 0
        self._new()

    def _new(self) -> None:
        self.store = MetricStore()
        self.sink = OTLPSink(self.store, Config(), started_at=time.time() - 1)
        self.now = 1000.0

    def __call__(self, raw: bytes, as_json: bool, encoding: str) -> ExportMetricsServiceRequest:
        self.cases += 1
        if self.cases % SINK_CASES == 0:
            self._new()
        req = decode_body(raw, as_json, encoding, FUZZ_INFLATE_CAP)
        self.sink.ingest(req)
        self.now += 1.0
        self.sink.tick(self.now)
        return req


def test_fuzz_otlp_bodies() -> None:
    tr = Tracker("otlp body (protobuf/JSON, gzip/deflate)", cases(800))
    examples = math.ceil(tr.target / (1 + MUTANTS))
    run = Pipeline()

    def one(req: ExportMetricsServiceRequest, seed: int) -> None:
        rng = random.Random(seed)
        raw, as_json, enc = body(req, rng, mutated=False)
        got = tr.case(lambda: run(raw, as_json, enc))
        if req.resource_metrics:  # an empty request is refused as protobuf (no resource_metrics)
            assert got is not None
            if as_json:  # JSON has one NaN: NaN payloads and signs do not survive it
                assert to_json(got) == to_json(req)
            else:
                want = req.SerializeToString(deterministic=True)
                assert got.SerializeToString(deterministic=True) == want
        for _ in range(MUTANTS):
            bad = body(req, rng)
            tr.case(functools.partial(run, *bad))

    run_examples(tr, examples, one, req=otlp_requests(), seed=st.integers(0, 2**32 - 1))
    tr.finish()
    assert tr.refused and tr.accepted
    # the sink that took the last cases still computes exact numbers
    run.sink.ingest(exact_request(now_ns()))
    run.sink.tick(run.now + 1)
    check_exact(run.store)


def test_fuzz_otlp_grpc_messages() -> None:
    """The gRPC receiver's half: raw protobuf messages through `parse`."""
    from tests.fuzz.harness import mutate

    tr = Tracker("otlp gRPC message", cases(500))
    examples = math.ceil(tr.target / (1 + MUTANTS))
    sink = OTLPSink(MetricStore(), Config(), started_at=time.time() - 1)

    def one(req: ExportMetricsServiceRequest, seed: int) -> None:
        rng = random.Random(seed)
        data = req.SerializeToString()
        for raw in [data, *(mutate(data, rng) for _ in range(MUTANTS))]:
            got = tr.case(functools.partial(parse, raw, as_json=False))
            if got is not None:
                sink.ingest(got)

    run_examples(tr, examples, one, req=otlp_requests(), seed=st.integers(0, 2**32 - 1))
    tr.finish()
