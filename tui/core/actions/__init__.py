"""Operator actions: specs and templating (spec), redaction (redact), audit log (audit)."""

from tui.core.actions.spec import (
    REFRESH_BASELINE,
    ROLLBACK,
    SAFE_VALUE,
    ResolvedAction,
    bindable_actions,
    resolve_action,
)

__all__ = [
    "REFRESH_BASELINE",
    "ROLLBACK",
    "SAFE_VALUE",
    "ResolvedAction",
    "bindable_actions",
    "resolve_action",
]
