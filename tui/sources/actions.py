"""Run resolved actions: subprocesses in their own process group, HTTP webhooks, built-ins.

Knows nothing of Textual: output goes to a callback line by line, the result comes back as
an `ActionResult`, and every start, finish, refusal and cancellation is appended to the
audit log before the call returns. No shell is ever involved: argv goes straight to exec.

Where it lives: the runner, its audit trail and the process-group handling here; the result
types in action_results.py, the webhook request in webhook.py; what an action is (templating,
checks, redaction, the audit record) in tui/core/actions.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from tui.core.actions.audit import TAIL_LINES, append_record, make_record, user_at_host
from tui.core.actions.redact import redact_text
from tui.core.actions.spec import BuiltinOutcome, ResolvedAction
from tui.errors import UserError
from tui.sources.action_results import ActionOutput, ActionResult, OutputCallback, Status
from tui.sources.webhook import call_webhook

# the result types live in action_results; the UI and tests take them from here with the runner
__all__ = ["ActionOutput", "ActionResult", "ActionRunner", "BuiltinOutcome"]

TAIL_LINE_CHARS = 500  # an audited output line is cut here (the pane shows it whole)
KILL_REAP_S = 2.0  # after SIGKILL the kernel ends the leader at once; this bounds a stuck reap


class ActionRunner:
    """One run at a time per (action, service); every outcome audited.

    `grace` is how long a timed-out process group gets between SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        audit_path: str | os.PathLike[str],
        on_output: OutputCallback | None = None,
        *,
        grace: float = 3.0,
        who: str | None = None,
    ) -> None:
        self.audit_path = os.path.expanduser(os.fspath(audit_path))
        self.on_output = on_output
        self.grace = grace
        self.who = who or user_at_host()
        self._running: dict[tuple[str, str], asyncio.subprocess.Process | None] = {}
        self._cancelled: set[tuple[str, str]] = set()
        self._since: dict[tuple[str, str], float] = {}
        self._actions: dict[tuple[str, str], ResolvedAction] = {}
        self._abandoning: dict[tuple[str, str], asyncio.Future[None]] = {}

    # --- state -------------------------------------------------------------------------

    def is_running(self, action: str, service: str) -> bool:
        return (action, service) in self._running

    def running(self) -> list[tuple[str, str]]:
        return list(self._running)

    def running_for(self, now: float | None = None) -> list[tuple[str, str, float]]:
        """(action, service, seconds running) of every run in progress, oldest first."""
        now = time.monotonic() if now is None else now
        return [(a, s, now - self._since.get((a, s), now)) for a, s in self._running]

    def stoppable(self, action: str, service: str) -> bool:
        """Only a command can be stopped; a built-in is instant, a webhook ends at its timeout."""
        proc = self._running.get((action, service))
        return proc is not None and proc.returncode is None

    # --- audit helpers -----------------------------------------------------------------

    def _audit(self, event: Any, action: ResolvedAction, **extra: Any) -> None:
        versions = extra.pop("baseline_versions", None) or {
            k: v
            for k, v in (("running", action.version), ("baseline", action.baseline_version))
            if v is not None
        }
        rec = make_record(
            event,
            service=action.service,
            action=action.name,
            target=action.audit_fields(),
            who=self.who,
            baseline_versions=versions or None,
            **extra,
        )
        append_record(self.audit_path, rec)

    def _try_audit(self, event: Any, action: ResolvedAction, **extra: Any) -> str | None:
        """Audit, returning a message instead of raising when the log cannot be written."""
        try:
            self._audit(event, action, **extra)
        except (OSError, UserError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            msg = f"cannot write the audit log {self.audit_path}: {why}"
            self._emit(action, "info", msg)
            return msg
        return None

    def _emit(self, action: ResolvedAction, stream: Any, text: str) -> None:
        if self.on_output is not None:
            self.on_output(ActionOutput(action.name, action.service, stream, text))

    def refuse(self, action: ResolvedAction, reason: str) -> ActionResult:
        """Audit and report a refusal (unsafe value, read-only, already running)."""
        problem = self._try_audit("refused", action, reason=reason)
        self._emit(action, "info", f"refused: {reason}")
        status: Status = "busy" if reason.startswith("already running") else "refused"
        msg = f"{action.title} refused: {reason}" + (f" ({problem})" if problem else "")
        return ActionResult(action.name, action.service, status, msg)

    def cancel(
        self, action: ResolvedAction, reason: str = "cancelled at the confirm dialog"
    ) -> ActionResult:
        """Audit an operator's cancel at the confirm dialog (nothing ran)."""
        problem = self._try_audit("cancelled", action, reason=reason)
        msg = f"{action.title} cancelled" + (f" ({problem})" if problem else "")
        return ActionResult(action.name, action.service, "cancelled", msg)

    async def stop(self, action: str, service: str) -> bool:
        """Stop a running exec action: its process group gets TERM, then KILL after grace."""
        key = (action, service)
        proc = self._running.get(key)
        if proc is None or proc.returncode is not None:
            return False
        self._cancelled.add(key)
        await self._kill_group(proc)
        return True

    # --- running -----------------------------------------------------------------------

    async def run(
        self,
        action: ResolvedAction,
        builtin: Callable[[], BuiltinOutcome] | None = None,
    ) -> ActionResult:
        """Run `action` (a built-in needs `builtin`, the work to do); audited start to end."""
        key = (action.name, action.service)
        if action.config_error:
            return self.refuse(action, f"config: {action.config_error}")
        if action.refusal:
            return self.refuse(action, action.refusal)
        if key in self._running:
            return self.refuse(action, f"already running: {action.title} for {action.service}")
        if action.kind == "builtin" and builtin is None:
            return self.refuse(action, f"{action.title} needs the dashboard's current window")
        self._running[key] = None  # claimed before the first await: a second press sees it
        self._since[key] = time.monotonic()
        self._actions[key] = action
        self._cancelled.discard(key)
        try:
            problem = self._try_audit("started", action)
            if problem:  # no trail, no action
                return ActionResult(
                    action.name, action.service, "error", f"{action.title} not run: {problem}"
                )
            self._emit(action, "info", f"$ {' '.join(action.command_lines()[:1])}")
            t0 = time.monotonic()
            if action.kind in ("exec", "http"):
                try:
                    if action.kind == "exec":
                        result, extra = await self._run_exec(action)
                    else:
                        stdout = functools.partial(self._emit, action, "stdout")
                        result, extra = await call_webhook(action, stdout), {}
                except asyncio.CancelledError:
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.shield(self._abandon(action, key, time.monotonic() - t0))
                    raise
            else:
                assert builtin is not None
                result, extra = self._run_builtin(action, builtin)
            problem = self._try_audit(
                "finished",
                action,
                status=result.status,
                exit=result.exit_code,
                http_status=result.http_status,
                duration_s=round(result.duration, 3),
                output_tail=result.output_tail,
                **extra,
            )
            if problem:
                result.message += f" ({problem})"
            self._emit(action, "info", result.message)
            return result
        finally:
            self._running.pop(key, None)
            self._since.pop(key, None)
            self._actions.pop(key, None)
            self._cancelled.discard(key)

    def _run_builtin(
        self, action: ResolvedAction, builtin: Callable[[], BuiltinOutcome]
    ) -> tuple[ActionResult, dict[str, Any]]:
        t0 = time.monotonic()
        try:
            outcome = builtin()
        except Exception as exc:  # a UserError or IO error from the baseline store
            dur = time.monotonic() - t0
            msg = f"{action.title} failed: {exc}"
            return ActionResult(
                action.name, action.service, "error", msg, duration=dur, output_tail=[msg]
            ), {"reason": str(exc)}
        for line in outcome.lines:
            self._emit(action, "stdout", line)
        dur = time.monotonic() - t0
        res = ActionResult(
            action.name,
            action.service,
            "ok",
            f"{action.title} done",
            duration=dur,
            output_tail=outcome.lines[-TAIL_LINES:],
        )
        return res, {"baseline_versions": outcome.baseline_versions}

    async def _run_exec(self, action: ResolvedAction) -> tuple[ActionResult, dict[str, Any]]:
        key = (action.name, action.service)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        t0 = time.monotonic()
        try:
            proc = await _spawn(action)
        except OSError as exc:
            msg = f"cannot start {action.argv[0]}: {exc.strerror or exc}"
            return ActionResult(
                action.name,
                action.service,
                "error",
                msg,
                duration=time.monotonic() - t0,
                output_tail=[msg],
            ), {}
        self._running[key] = proc
        secrets = action.secret_values()

        def emit(stream: Literal["stdout", "stderr"], text: str) -> None:
            text = redact_text(text, secrets)
            short = text if len(text) <= TAIL_LINE_CHARS else text[:TAIL_LINE_CHARS] + "…"
            tail.append(short if stream == "stdout" else f"[stderr] {short}")
            self._emit(action, stream, text)

        assert proc.stdout is not None and proc.stderr is not None
        readers = asyncio.gather(
            _pump(proc.stdout, lambda t: emit("stdout", t)),
            _pump(proc.stderr, lambda t: emit("stderr", t)),
        )
        # warroom quitting mid-run cancels this task and, with it, the readers: their outcome
        # is read here, or asyncio prints "_GatheringFuture exception was never retrieved"
        readers.add_done_callback(_retrieve)
        timed_out = await self._wait(proc, readers, action.timeout, key)
        dur = time.monotonic() - t0
        code = proc.returncode
        status, msg, extra = self._exec_outcome(action, key, timed_out, code, dur)
        return ActionResult(
            action.name,
            action.service,
            status,
            msg,
            exit_code=code,
            duration=dur,
            output_tail=list(tail),
        ), extra

    async def _wait(
        self,
        proc: asyncio.subprocess.Process,
        readers: asyncio.Future[Any],
        timeout: float,
        key: tuple[str, str],
    ) -> bool:
        """Wait for the command and its output; True when it timed out (not when stopped)."""
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout=timeout)
        except TimeoutError:
            timed_out = key not in self._cancelled
            await self._kill_group(proc)
        # Leftover members of the group (background children) die with it: no orphans, and
        # the pipes they held close so the readers reach the end of the output.
        _signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(readers), timeout=2.0)
        if not readers.done():
            readers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await readers
        return timed_out

    def _exec_outcome(
        self,
        action: ResolvedAction,
        key: tuple[str, str],
        timed_out: bool,
        code: int | None,
        dur: float,
    ) -> tuple[Status, str, dict[str, Any]]:
        """The status, message and extra audit fields of a finished command."""
        extra: dict[str, Any] = {}
        if key in self._cancelled:
            status: Status = "cancelled"
            msg = f"{action.title} stopped by the operator after {dur:.1f}s"
            extra["reason"] = "stopped by the operator: process group sent TERM, then KILL"
        elif timed_out:
            status = "timeout"
            msg = f"{action.title} timed out after {action.timeout:g}s; process group killed"
        elif code == 0:
            status, msg = "ok", f"{action.title} finished: exit 0 in {dur:.1f}s"
        else:
            status = "failed"
            how = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
            msg = f"{action.title} failed: {how} in {dur:.1f}s"
        return status, msg, extra

    async def shutdown(self) -> None:
        """warroom is quitting: stop every running command and audit it. The workers that ran
        them are cancelled and may never resume, so this is what the app awaits on unmount."""
        now = time.monotonic()
        for key, action in list(self._actions.items()):
            if self._running.get(key) is not None:
                self._abandon(action, key, now - self._since.get(key, now))
        pending = list(self._abandoning.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _abandon(
        self, action: ResolvedAction, key: tuple[str, str], dur: float
    ) -> asyncio.Future[None]:
        """Kill and audit once per run, in a task of its own: the cancelled worker and the
        app's shutdown both wait for the same one, and neither can cut it short."""
        task = self._abandoning.get(key)
        if task is None or task.done():
            task = asyncio.ensure_future(self._kill_and_audit(action, key, dur))
            self._abandoning[key] = task
            task.add_done_callback(lambda _: self._abandoning.pop(key, None))
        return task

    async def _kill_and_audit(
        self, action: ResolvedAction, key: tuple[str, str], dur: float
    ) -> None:
        """The caller went away (warroom quitting) mid-run: kill the group, audit it."""
        proc = self._running.get(key)
        if proc is not None and proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(proc.wait()), timeout=self.grace)
            _signal_group(proc.pid, signal.SIGKILL)
            # the audit names the exit the KILL caused, not "still running" (None)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(proc.wait()), timeout=KILL_REAP_S)
        elif proc is not None:
            _signal_group(proc.pid, signal.SIGKILL)  # leftover group members
        self._try_audit(
            "finished",
            action,
            status="cancelled",
            duration_s=round(dur, 3),
            exit=proc.returncode if proc is not None else None,
            reason="warroom stopped while the action ran; process group killed",
        )

    async def _kill_group(self, proc: asyncio.subprocess.Process) -> None:
        """TERM the whole group, then KILL it if the leader is still there after grace."""
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), timeout=self.grace)
        _signal_group(proc.pid, signal.SIGKILL)
        await proc.wait()


async def _spawn(action: ResolvedAction) -> asyncio.subprocess.Process:
    """Exec the argv (no shell) in a process group of its own: a timeout kills them all."""
    return await asyncio.create_subprocess_exec(
        *action.argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **action.env},
        start_new_session=True,
    )


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _pump(stream: asyncio.StreamReader, sink: Callable[[str], None]) -> None:
    """Forward complete lines as they arrive; long lines are split rather than fatal."""
    buf = b""
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            sink(raw.rstrip(b"\r").decode("utf-8", "replace"))
        while len(buf) > 65536:
            sink(buf[:65536].decode("utf-8", "replace"))
            buf = buf[65536:]
    if buf:
        sink(buf.decode("utf-8", "replace"))
