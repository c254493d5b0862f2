"""Operator actions on the dashboard: one binding per configured action key (the selected
service decides what it runs), refusals (read-only, broken config), the confirm-and-run flow
of tui/ui/action_flow.py, ctrl+k, and the palette's per-action entries."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from textual.actions import SkipAction
from textual.app import SystemCommand
from textual.binding import Binding
from textual.keys import format_key
from textual.widgets import TabbedContent

from tui.config_keys import ACTION_PREFIX, normalize
from tui.errors import UserError
from tui.ui.app_base import WarroomBase
from tui.ui.palette import action_title


class OperatorActions(WarroomBase):
    def _running_version(self, service: str) -> tuple[str, str] | None:
        """(version, source) the release detection sees for `service` (a replay: the newest
        recorded release), for `b`'s new baseline and its "previous release" offer. None while
        the version flaps: a baseline must not be keyed by whichever flip came last."""
        if service in self.release_history.flapping:
            return None
        releases = getattr(self.hub, "releases", None)
        log = getattr(getattr(releases, "timeline", None), "log", None)
        for source in ("build_info", "otlp"):
            version = log.current(service, source) if log is not None else None
            if version:
                return version, source
        notes = self.release_history.of(service)
        return (notes[-1].release.version, notes[-1].release.source) if notes else None

    def _routes_fetch(self) -> Any:
        """`b`'s per-route samples: the live sources' (Prometheus' route queries, the OTLP
        sink's breakdown), the same code as `warroom baseline refresh`; none in a replay."""
        if self.hub is None:
            return None
        from tui.sources.route_window import route_samples

        return partial(route_samples, self.hub.prometheus, self.hub.sink)

    def _baseline_warning(self, action: Any) -> str | None:
        """A refresh taken during a SUSTAINED spike would make the incident the baseline."""
        from tui.core.actions import REFRESH_BASELINE

        if action.name != REFRESH_BASELINE or self._spike_states().get(action.service) != (
            "SUSTAINED"
        ):
            return None
        return (
            f"{action.service} is in a SUSTAINED P99 spike: this window would make the "
            "incident its baseline"
        )

    def _declared_bindings(self) -> list[Binding]:
        """The app's own bindings (its class and the classes it extends) and the service
        table's, as declared: the keys an action's key must not take."""
        from tui.ui.widgets.service_table import ServiceTable

        classes = [*type(self).__mro__, ServiceTable]
        found = [b for cls in classes for b in cls.__dict__.get("BINDINGS", ())]
        return [b for b in found if isinstance(b, Binding)]

    def _keys_of(self, binding: Binding) -> list[str]:
        """A binding's keys under the keymap (`keys:`), as Textual names them."""
        keys = self.keymap.get(binding.id, binding.key) if binding.id else binding.key
        return normalize(keys)

    def key_display(self, binding_id: str) -> str:
        """How the footer shows the first key of one of the app's bindings (after `keys:`)."""
        binding = next(b for b in self._declared_bindings() if b.id == binding_id)
        return self.get_key_display(Binding(self._keys_of(binding)[0], binding.action))

    def _reserved_keys(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for b in self._declared_bindings():
            for key in self._keys_of(b):  # both spellings: an action's key may be `?` or `plus`
                out[key] = out[format_key(key)] = b.description or b.action
        return out

    def _action_bindings(self) -> list[Binding]:
        """One dashboard binding per configured action key (rollback `r`, baseline refresh
        `b`, ...): the selected service decides what it runs (`action_service_action`).
        A key the dashboard keeps (`keys:` may have moved one onto it) gets none."""
        from tui.core.actions.spec import configured_keys

        reserved = self._reserved_keys()
        return [
            Binding(
                key,
                f"app.service_action({name!r}, {key!r})",
                name.replace("_", " "),
                show=False,
                id=f"{ACTION_PREFIX}{name}",
            )
            for name, key in configured_keys(self.cfg)
            if key not in reserved
        ]

    def service_actions(self, service: str) -> list[tuple[Any, bool, str | None]]:
        """(action, bindable, reason) for `service`, [] when its actions cannot be resolved."""
        from tui.core.actions.spec import bindable_actions

        info = self.store.services.get(service)
        labels = dict(info.labels) if info is not None else {}
        try:
            return bindable_actions(self.cfg, service, labels, reserved=self._reserved_keys())
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return []

    def _action_refusal(
        self, service: str, action: Any, ok: bool, reason: str | None
    ) -> str | None:
        """Why `action` must not run at all (read-only, broken config), else None.

        A key clash only leaves the key unbound: the action still runs from the palette.
        """
        if ok:
            return None
        from tui.core.actions.spec import find_service, is_read_only

        read_only, _ = is_read_only(self.cfg, find_service(self.cfg, service))
        return reason if action.config_error or (action.dangerous and read_only) else None

    def action_service_action(self, name: str, key: str) -> None:
        """An action key on the dashboard: the selected service's action `name` when its key
        is `key`; a disabled one keeps its key to say why. Otherwise the key is let by."""
        service = self._selected_service()
        for action, ok, reason in self.service_actions(service) if service else []:
            if action.name != name or action.key != key:
                continue
            refusal = self._action_refusal(action.service, action, ok, reason)
            if ok or refusal:
                self.run_service_action(action, refusal)
                return
            # the key belongs to a dashboard binding or an earlier action: leave it there
        raise SkipAction()

    def run_service_action(self, action: Any, disabled: str | None = None) -> None:
        from tui.sources.actions import ActionRunner
        from tui.ui.action_flow import request_action, request_builtin

        app: Any = self  # App[int]: the helpers take App[object]
        log = self.dashboard.pane("tab-actions")
        if self.runner is None:
            self.runner = ActionRunner(
                self.cfg.audit.path,
                on_output=lambda out: log.write_output(out) if log is not None else None,
            )
        if log is not None:
            with contextlib.suppress(Exception):
                self.dashboard.query_one("#detail", TabbedContent).active = "tab-actions"
        if action.kind == "builtin":
            from tui.core.baseline import BaselineStore

            request_builtin(
                app,
                action,
                self.runner,
                log,
                cfg=self.cfg,
                metric_store=self.store,
                baseline_store=BaselineStore(self.cfg.baseline.dir),
                now=self.clock(),  # the window the dashboard shows, not wall time
                disabled=disabled,
                warning=self._baseline_warning(action),
                running=self._running_version(action.service),
                fetch_routes=self._routes_fetch(),
            )
        else:
            request_action(app, action, self.runner, log, disabled=disabled)

    def action_stop_action(self) -> None:
        """ctrl+k: stop the running command (the selected service's, else the oldest): TERM to
        its process group, KILL after the grace time; audited as cancelled by the operator."""
        running = self.runner.running() if self.runner is not None else []
        if not running:
            self.notify("no action is running")
            return
        service = self._selected_service()
        name, svc = next(((a, s) for a, s in running if s == service), running[0])
        if not self.runner.stoppable(name, svc):
            self.notify(f"{name} for {svc} cannot be stopped: it ends at its timeout")
            return
        self.notify(f"stopping {name} for {svc}: TERM, then KILL after {self.runner.grace:g}s")
        self.run_worker(self.runner.stop(name, svc), group="action-stop", exit_on_error=False)

    def _action_commands(self) -> Iterable[SystemCommand]:
        """Every action of the selected service, through the same confirm and refusal as
        its key: the only way to actions without a key (restore previous baseline), and a
        disabled one says why (choosing it is refused and audited, as its key is)."""
        service = self._selected_service()
        for title, help_text, run in self.action_entries(service) if service else []:
            yield SystemCommand(title, help_text, run)

    def action_entries(self, service: str) -> Iterator[tuple[str, str, Callable[[], None]]]:
        """(palette title, help, run) of each of `service`'s actions, resolved now."""
        for action, ok, reason in self.service_actions(service):
            refusal = self._action_refusal(service, action, ok, reason)
            title = action_title(action.name, action.service)
            if refusal:
                title, help_text = f"{title} (disabled)", f"disabled: {refusal}"
            else:
                what = action.description if action.kind == "builtin" else action.command_lines()[0]
                notes = [
                    f"key {action.key}" if ok and action.key else "",
                    f"{action.confirm} confirm",
                ]
                help_text = " · ".join([what, *[n for n in notes if n]])
            yield title, help_text, partial(self.run_service_action, action, refusal)
