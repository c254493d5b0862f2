"""Decode an OTLP ExportMetricsServiceRequest body (HTTP or gRPC), bounded, with one error type.

Both receivers call this, and the fuzz tests call it directly: whatever the bytes, it returns
a request or raises `BodyError` (a UserError carrying the HTTP status to answer), never
anything else. Inflation is bounded while inflating (a zip bomb costs at most `max_inflated`).
"""

from __future__ import annotations

import zlib

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from tui.errors import UserError


class BodyError(UserError):
    """A body the receiver refuses; `http` is the status to answer (400 or 413)."""

    def __init__(self, message: str, http: int = 400) -> None:
        super().__init__(message)
        self.http = http


def inflate(raw: bytes, encoding: str, max_inflated: int) -> bytes:
    """The body with `Content-Encoding` undone (gzip, x-gzip, deflate or identity)."""
    if encoding in ("", "identity"):
        return raw
    try:
        if encoding in ("gzip", "x-gzip"):
            return _inflate(raw, 16 + zlib.MAX_WBITS, max_inflated)
        try:  # deflate: zlib-wrapped per RFC 9110, raw deflate from some clients
            return _inflate(raw, zlib.MAX_WBITS, max_inflated)
        except zlib.error:
            return _inflate(raw, -zlib.MAX_WBITS, max_inflated)
    except zlib.error as exc:
        raise BodyError(f"bad {encoding} body: {exc}") from None


def _inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(raw, limit + 1)  # stops at limit + 1 bytes: never inflates past it
    if len(out) > limit:
        raise BodyError(
            f"body inflates past {limit} bytes (otlp.max_inflated, by default otlp.max_body)",
            413,
        )
    if not d.eof:
        raise zlib.error("truncated stream")
    return out


def parse(body: bytes, as_json: bool) -> ExportMetricsServiceRequest:
    """The request in `body` (protobuf, or OTLP/JSON when `as_json`)."""
    req = ExportMetricsServiceRequest()
    what = "JSON" if as_json else "protobuf"
    try:
        if as_json:
            json_format.Parse(body.decode("utf-8"), req, ignore_unknown_fields=True)
        else:
            req.ParseFromString(body)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, RecursionError) as exc:
        raise BodyError(
            f"body is not an OTLP ExportMetricsServiceRequest ({what}): {_one_line(exc)}"
        ) from None
    if body and not req.resource_metrics and not as_json:
        raise BodyError(
            "body is not an OTLP ExportMetricsServiceRequest (protobuf): "
            "no resource_metrics, only unknown fields"
        )
    return req


def decode_body(
    raw: bytes, as_json: bool, encoding: str, max_inflated: int
) -> ExportMetricsServiceRequest:
    """`raw` as received (Content-Encoding not yet undone) to a request, or BodyError."""
    return parse(inflate(raw, encoding, max_inflated), as_json)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:200] + "...") if len(text) > 200 else (text or type(exc).__name__)
