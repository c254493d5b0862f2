"""Embedded OTLP/HTTP metrics receiver: `POST /v1/metrics` on loopback (aiohttp).

Follows the OTLP/HTTP spec: protobuf (`application/x-protobuf`) and JSON (`application/json`)
bodies, gzip or deflate `Content-Encoding`, and answers in the request's encoding:
200 with an ExportMetricsServiceResponse (`partial_success` counts the points refused, e.g. by
the series cap), 400 with a google.rpc.Status for a body that does not decode, 401 without the
configured bearer token, 413 above `otlp.max_body` as sent or `otlp.max_inflated` (default
max_body) once inflated (checked while inflating, so a zip bomb costs at most that), 415 for another content type or encoding, 429 with Retry-After when
`otlp.queue_size` requests already wait to be stored (the exporter retries later; nothing is
silently lost).

Decoding happens in the handler; a single worker task feeds the sink so that ingest and the
hub's tick never interleave.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.rpc import status_pb2

from tui.config import OTLPConfig
from tui.core.metrics.otlp import IngestResult, OTLPSink
from tui.core.metrics.otlp_body import BodyError, decode_body
from tui.errors import UserError
from tui.sources.otlp_common import RETRY_AFTER_S, OTLPReceiver, split_host_port

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_INVALID_ARGUMENT, _UNAUTHENTICATED, _RESOURCE_EXHAUSTED, _UNIMPLEMENTED = 3, 16, 8, 12


class OTLPHttpReceiver(OTLPReceiver):
    """`OTLPHttpReceiver(cfg.otlp, sink)`; `await start()` binds `cfg.http` (port 0 allowed)."""

    status_name = "otlp/http"

    def __init__(self, cfg: OTLPConfig, sink: OTLPSink) -> None:
        super().__init__(cfg, sink)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        host, port = split_host_port(self.cfg.http)
        app = web.Application()
        app.router.add_post("/v1/metrics", self._handle)
        # auto_decompress=False: we decompress ourselves, with a size limit and a clear 400.
        # shutdown_timeout: exporters keep connections alive; stopping must not wait a minute.
        runner = web.AppRunner(app, auto_decompress=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            why = "address in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            self.status.failed(f"cannot listen on {self.cfg.http}: {why}", "error")
            raise UserError(f"otlp.http: cannot listen on {self.cfg.http}: {why}") from None
        self._runner = runner
        addrs = runner.addresses
        self._listening(*((str(addrs[0][0]), int(addrs[0][1])) if addrs else (host, port)))

    async def stop(self) -> None:
        await self._queue.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.status.state = "down"

    # -- request handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ctype = request.content_type.lower()
        as_json = ctype == JSON
        if not self.authorized(request.headers.get("Authorization", "")):
            return self._status(
                401,
                _UNAUTHENTICATED,
                "missing or wrong bearer token",
                as_json,
                {"WWW-Authenticate": "Bearer"},
            )
        if ctype == "application/protobuf":  # what some clients send; same bytes
            ctype = PROTOBUF
        if ctype not in (PROTOBUF, JSON):
            self._queue.bad_request()
            return self._status(
                415,
                _INVALID_ARGUMENT,
                f"unsupported Content-Type {ctype or '(none)'!r}; use {PROTOBUF} or {JSON}",
                False,
            )
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            self._queue.bad_request()
            return self._status(
                415,
                _INVALID_ARGUMENT,
                f"unsupported Content-Encoding {encoding!r}; use gzip or deflate",
                as_json,
            )
        if request.content_length is not None and request.content_length > self.max_body:
            return self._too_large(as_json)
        raw = bytearray()
        async for chunk in request.content.iter_any():
            raw += chunk
            if len(raw) > self.max_body:
                return self._too_large(as_json)
        try:
            req = decode_body(bytes(raw), as_json, encoding, self.max_inflated)
        except BodyError as exc:
            self._queue.bad_request()
            return self._status(exc.http, _INVALID_ARGUMENT, str(exc), as_json)
        fut = self._queue.submit(req)
        if fut is None:
            return self._status(
                429,
                _RESOURCE_EXHAUSTED,
                self.queue_full(),
                as_json,
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        try:
            res: IngestResult = await fut
        except Exception as exc:
            return self._status(500, 13, f"internal error while storing: {exc}", as_json)
        return self._message(200, self.reply(res), as_json)

    def _too_large(self, as_json: bool) -> web.Response:
        self._queue.bad_request()
        return self._status(
            413,
            _INVALID_ARGUMENT,
            f"body larger than otlp.max_body ({self.max_body} bytes)",
            as_json,
        )

    def _status(
        self,
        http: int,
        code: int,
        message: str,
        as_json: bool,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        return self._message(http, status_pb2.Status(code=code, message=message), as_json, headers)

    @staticmethod
    def _message(
        http: int, msg: Any, as_json: bool, headers: dict[str, str] | None = None
    ) -> web.Response:
        if as_json:
            return web.Response(
                status=http,
                body=json_format.MessageToJson(msg, indent=None),
                content_type=JSON,
                headers=headers,
            )
        return web.Response(
            status=http, body=msg.SerializeToString(), content_type=PROTOBUF, headers=headers
        )
