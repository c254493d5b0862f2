"""Command palette: per-service commands for any service, by name.

`ctrl+p`, then `roll back payments`, `flame payments`, `routes payments`: what selecting the
service and pressing the key does, through the same confirm dialog, refusals and audit. The
selected service's actions stay among the app's system commands (`WarroomApp._action_commands`);
this provider adds each service's flame graph, diff flame graph and routes, and every other
service's actions (`WarroomApp.action_entries`), resolved only for a service whose titles
match what is typed: 50 services make 300 entries a keystroke.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from textual.command import Hit, Hits, Provider

ACTION_TITLES = {
    "rollback": "Roll back {s}",
    "refresh_baseline": "Refresh baseline of {s}",
    "restore_baseline": "Restore previous baseline of {s}",
}


def action_title(name: str, service: str) -> str:
    """`Roll back checkout`, `Restore previous baseline of checkout`, `Run purge cache for checkout`."""
    return ACTION_TITLES.get(name, "Run {t} for {s}").format(s=service, t=name.replace("_", " "))


def view_commands(app: Any) -> Iterator[tuple[str, str, Callable[[], None]]]:
    """(title, help, run): each listed service's flame graph, diff flame graph and routes."""
    for service, _, _ in app.service_list():
        yield (
            f"Flame graph of {service}",
            "its newest CPU profile (else the newest of any kind)",
            partial(app.action_profile, False, service),
        )
        yield (
            f"Diff flame graph of {service}",
            "its newest profile against its baseline's",
            partial(app.action_profile, True, service),
        )
        yield (
            f"Routes of {service}",
            "latency per route, from its Prometheus histogram",
            partial(app.action_open_routes, service),
        )


def other_services(app: Any) -> Iterator[tuple[str, list[str]]]:
    """(service, its action names) for each listed service but the selected one."""
    from tui.core.actions.spec import action_configs, find_service

    for service, _, _ in app.service_list():
        if service != app.selected_service:
            yield service, list(action_configs(app.cfg, find_service(app.cfg, service)))


class ServiceCommands(Provider):
    """The palette's per-service entries (on the dashboard only, like the action keys)."""

    async def search(self, query: str) -> Hits:
        app: Any = self.app
        if self.screen is not getattr(app, "dashboard", None):
            return
        matcher = self.matcher(query)
        entries = list(view_commands(app))
        for service, names in other_services(app):
            # resolved (labels, refusals) only for a service whose titles match at all
            if any(matcher.match(action_title(name, service)) > 0 for name in names):
                entries += app.action_entries(service)
        for title, help_text, run in entries:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title, help=help_text)
