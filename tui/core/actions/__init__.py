"""Operator actions, pure: what runs them is tui/sources/actions.py.

- spec: config -> `ResolvedAction` (built-ins, defaults, `resolve_action`, bindable keys);
- templating: placeholders, the SAFE_VALUE pattern, checked substitution;
- redact: secrets masked in argv, env, headers, URLs and output;
- audit: the append-only audit log's records;
- baseline_ops: what the baseline built-ins do.
"""

from tui.core.actions.spec import (
    REFRESH_BASELINE,
    ROLLBACK,
    ResolvedAction,
    bindable_actions,
    resolve_action,
)
from tui.core.actions.templating import SAFE_VALUE

__all__ = [
    "REFRESH_BASELINE",
    "ROLLBACK",
    "SAFE_VALUE",
    "ResolvedAction",
    "bindable_actions",
    "resolve_action",
]
