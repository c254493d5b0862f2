"""OTLP exemplars on latency histogram points -> the store's ExemplarLog.

An exemplar is one measurement the SDK kept with its trace context (the OTel SDKs keep one per
bucket, from sampled spans). Its value is in the metric's unit, its time in nanoseconds, its ids
as raw bytes; the log checks the ids (a 16-byte, non-zero trace id) and counts the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.metrics.v1.metrics_pb2 import Exemplar as ExemplarProto

from tui.core.metrics.exemplars import ExemplarLog

MAX_PER_POINT = 64  # exemplars read from one point (SDK reservoirs hold one per bucket)


def add_exemplars(
    log: ExemplarLog, service: str, route: str, exemplars: Iterable[Any], factor: float
) -> int:
    """Add a point's exemplars (messages or serialized bytes); returns how many were kept."""
    kept = 0
    for i, ex in enumerate(exemplars):
        if i >= MAX_PER_POINT:
            break
        if isinstance(ex, bytes):
            try:
                ex = ExemplarProto.FromString(ex)
            except Exception:  # a damaged exemplar: the point itself was fine
                log.rejected += 1
                continue
        which = ex.WhichOneof("value")
        value = float(ex.as_int if which == "as_int" else ex.as_double) * factor
        t = ex.time_unix_nano / 1e9
        kept += log.add_raw(service, t, value, bytes(ex.trace_id), bytes(ex.span_id), route)
    return kept
