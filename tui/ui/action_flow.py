"""What an action key does: refuse, or confirm and run, as one worker; every outcome audited.

What can be refused at once (a disabled palette entry, unsafe template values, the action
already running) is refused and shown at once. Otherwise one worker of the "actions" group
asks with `push_screen_wait` (the modal is tui/ui/screens/confirm.py; `confirm: none` skips
it) and then runs the action through the ActionRunner, which audits it. The baseline
built-ins prepare their work and the dialog's lines first, in the same worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from tui.config import Config
from tui.core.actions.spec import ResolvedAction
from tui.core.baseline.route_samples import RouteSamples
from tui.errors import UserError
from tui.sources.actions import ActionResult, ActionRunner, BuiltinOutcome
from tui.ui.screens.confirm import OPEN_DEBOUNCE, ConfirmActionScreen
from tui.ui.widgets.action_log import ActionLog

log = logging.getLogger(__name__)
Report = Callable[[ActionResult], None]
RoutesFetch = Callable[[str, float, float], Awaitable[RouteSamples]]


def request_action(
    app: App[Any],
    action: ResolvedAction,
    runner: ActionRunner,
    log: ActionLog | None = None,
    *,
    builtin: Callable[[], BuiltinOutcome] | None = None,
    extra_lines: Sequence[str] = (),
    on_done: Report | None = None,
    debounce: float = OPEN_DEBOUNCE,
    disabled: str | None = None,
) -> None:
    """Refuse `action` at once, or start the worker that confirms and runs it.

    `action` comes from `bindable_actions` (resolved with the selected service's live
    labels); `disabled` is its reason there when a palette entry is not enabled (read-only
    mode): the attempt is refused and audited, never run.
    """
    report = _reporter(app, log, on_done)
    refusal = _refusal(action, runner, disabled)
    if refusal is not None:
        report(runner.refuse(action, refusal))
        return
    flow = confirm_and_run(app, action, runner, log, builtin, extra_lines, report, debounce)
    _start(app, action, flow)


def request_builtin(
    app: App[Any],
    action: ResolvedAction,
    runner: ActionRunner,
    log: ActionLog | None,
    *,
    cfg: Config,
    metric_store: Any,
    baseline_store: Any,
    now: float | None = None,
    on_done: Report | None = None,
    debounce: float = OPEN_DEBOUNCE,
    disabled: str | None = None,
    warning: str | None = None,
    running: tuple[str, str] | None = None,
    fetch_routes: RoutesFetch | None = None,
) -> None:
    """`b` (refresh baseline) or the palette's restore: confirm with what it replaces, run.
    `warning` is shown first in the dialog (the window holds an active incident). `running`:
    (version, source) the release detection sees; when the store has the baseline of the
    release before it, the dialog offers it too (`p`). `fetch_routes(service, start, end)`:
    the window's per-route samples (tui.sources.route_window), asked before the dialog so a
    refresh keeps the routes `warroom baseline refresh` would."""
    if disabled:
        request_action(app, action, runner, log, on_done=on_done, disabled=disabled)
        return
    when = time.time() if now is None else now
    report = _reporter(app, log, on_done)

    async def flow() -> None:
        from tui.core.actions.baseline_ops import prepare_builtin

        routes = await _routes_of(action, fetch_routes, when - float(cfg.window), when)
        try:
            work, lines = prepare_builtin(
                cfg, action, metric_store, baseline_store, when, running, routes
            )
        except UserError as exc:  # nothing to snapshot, or a damaged store: said, audited
            report(runner.refuse(action, str(exc)), "warning")
            return
        refusal = _refusal(action, runner, None)
        if refusal is not None:
            report(runner.refuse(action, refusal))
            return
        alt = _release_alternative(app, action, runner, log, baseline_store, running, on_done)
        shown = [*([f"⚠ {warning}"] if warning else []), *lines, *(alt[2] if alt else [])]
        await confirm_and_run(
            app, action, runner, log, work, shown, report, debounce, alt[:2] if alt else None
        )

    _start(app, action, flow())


async def _routes_of(
    action: ResolvedAction, fetch: RoutesFetch | None, start: float, end: float
) -> RouteSamples | None:
    """The refresh's routes; a source that fails them leaves the baseline without (said)."""
    from tui.core.actions.spec import REFRESH_BASELINE
    from tui.sources.prometheus import PrometheusError

    if fetch is None or action.name != REFRESH_BASELINE:
        return None
    try:
        return await fetch(action.service, start, end)
    except PrometheusError as exc:
        return RouteSamples(error=f"prometheus: {exc.detail}")
    except Exception:  # a bug must not take `b` away: the baseline is taken without routes
        log.exception("routes of %s for the baseline", action.service)
        return RouteSamples(error="the routes could not be read (see the log)")


async def confirm_and_run(
    app: App[Any],
    action: ResolvedAction,
    runner: ActionRunner,
    log: ActionLog | None,
    builtin: Callable[[], BuiltinOutcome] | None,
    extra_lines: Sequence[str],
    report: Report,
    debounce: float,
    alternative: tuple[str, Callable[[], None]] | None = None,
) -> None:
    """The dialog (unless `confirm: none`), then the run; a cancel is audited too. Runs in
    a worker: `push_screen_wait` needs one. `alternative`: the dialog's second answer (it
    starts its own action; this one is then audited as cancelled)."""
    if action.confirm != "none":
        dialog = ConfirmActionScreen(
            action, extra_lines=extra_lines, debounce=debounce, alternative=alternative
        )
        if not await app.push_screen_wait(dialog):
            report(runner.cancel(action))
            return
    if log is not None:
        log.begin(action)
    report(await runner.run(action, builtin))


def _release_alternative(
    app: App[Any],
    action: ResolvedAction,
    runner: ActionRunner,
    log: ActionLog | None,
    baseline_store: Any,
    running: tuple[str, str] | None,
    on_done: Report | None,
) -> tuple[str, Callable[[], None], list[str]] | None:
    """(button, what it does, dialog lines) for `b`'s "use the previous release's baseline":
    it runs as its own audited action, `use_release_baseline`."""
    import dataclasses

    from tui.core.actions.baseline_ops import (
        describe,
        release_alternative,
        use_release_baseline,
    )
    from tui.core.actions.spec import REFRESH_BASELINE

    if action.name != REFRESH_BASELINE:
        return None
    version = action.version or (running[0] if running else None)
    prev = release_alternative(baseline_store, action.service, version)
    if prev is None:
        return None
    use = dataclasses.replace(action, name="use_release_baseline", confirm="none", key=None)

    def work() -> BuiltinOutcome:
        return use_release_baseline(baseline_store, action.service, prev)

    def run() -> None:
        request_action(app, use, runner, log, builtin=work, on_done=on_done)

    lines = [f"or (p) use the previous release's baseline: {describe(prev)}"]
    return f"Use {prev.version} baseline", run, lines


def _refusal(action: ResolvedAction, runner: ActionRunner, disabled: str | None) -> str | None:
    if disabled:
        return disabled
    if action.refusal or action.config_error:
        return action.refusal or f"config: {action.config_error}"
    if runner.is_running(action.name, action.service):
        return f"already running: {action.title} for {action.service}"
    return None


def _reporter(app: App[Any], log: ActionLog | None, on_done: Report | None) -> Callable[..., None]:
    """The one place an outcome is shown: the action log, a toast, then `on_done`."""

    def report(res: ActionResult, severity: SeverityLevel | None = None) -> None:
        if log is not None:
            log.show_result(res)
        mild = res.status in ("busy", "cancelled")
        shown: SeverityLevel = "information" if res.ok else "warning" if mild else "error"
        app.notify(res.message, severity=severity or shown)
        if on_done is not None:
            on_done(res)

    return report


def _start(app: App[Any], action: ResolvedAction, flow: Any) -> None:
    app.run_worker(
        flow,
        group="actions",
        description=f"{action.name} {action.service}",
        exit_on_error=False,
    )
