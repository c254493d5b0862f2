"""The webhook kind of action: one HTTP request, bounded in time and in what it reads.

The runner (tui.sources.actions) audits around it; the result type is in
tui.sources.action_results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from tui.core.actions.audit import TAIL_LINES
from tui.core.actions.redact import redact_text
from tui.core.actions.spec import ResolvedAction
from tui.sources.action_results import ActionResult

BODY_EXCERPT = 500  # characters of a webhook's answer shown and audited
BODY_READ_LIMIT = 64 * 1024  # bytes read from a webhook's answer at most


async def call_webhook(action: ResolvedAction, emit: Callable[[str], None]) -> ActionResult:
    """Send the action's request; its answer's status and first lines go to `emit`.

    Never raises for the network: a timeout or a refused connection is a result too.
    """
    assert action.url is not None and action.method is not None
    secrets = action.secret_values()
    t0 = time.monotonic()
    try:
        # httpx's timeout bounds each phase (connect, each read), not the request: a
        # server trickling a byte per read would never trip it. The wall-clock limit
        # covers connect, send and the bounded body read together.
        async with (
            asyncio.timeout(action.timeout),
            httpx.AsyncClient(timeout=action.timeout) as client,
            client.stream(
                action.method, action.url, headers=dict(action.headers), json=action.json
            ) as resp,
        ):
            raw = b""
            async for chunk in resp.aiter_bytes():
                raw += chunk
                if len(raw) >= BODY_READ_LIMIT:
                    break  # a webhook that answers with megabytes: the start is enough
    except (httpx.TimeoutException, TimeoutError):
        dur = time.monotonic() - t0
        msg = (
            f"{action.title} timed out after {action.timeout:g}s: no complete answer "
            f"from {action.redacted_url()}"
        )
        return ActionResult(
            action.name, action.service, "timeout", msg, duration=dur, output_tail=[msg]
        )
    except httpx.HTTPError as exc:
        dur = time.monotonic() - t0
        msg = f"{action.title}: request to {action.redacted_url()} failed: {type(exc).__name__}: {redact_text(str(exc), secrets)}"
        return ActionResult(
            action.name, action.service, "error", msg, duration=dur, output_tail=[msg]
        )
    dur = time.monotonic() - t0
    body = redact_text(_decode(raw, resp.charset_encoding)[:BODY_EXCERPT], secrets)
    lines = [f"HTTP {resp.status_code} {resp.reason_phrase}", *body.splitlines()]
    for line in lines:
        emit(line)
    ok = resp.is_success
    msg = (
        f"{action.title}: HTTP {resp.status_code} in {dur:.1f}s"
        if ok
        else f"{action.title} failed: HTTP {resp.status_code} in {dur:.1f}s"
    )
    return ActionResult(
        action.name,
        action.service,
        "ok" if ok else "failed",
        msg,
        http_status=resp.status_code,
        duration=dur,
        output_tail=lines[-TAIL_LINES:],
        body_excerpt=body,
    )


def _decode(raw: bytes, charset: str | None) -> str:
    """Decode a webhook answer; an unknown charset falls back to UTF-8 with replacements."""
    try:
        return raw.decode(charset or "utf-8", "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")
