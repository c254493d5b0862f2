"""tui/core is pure: no UI, no network. Walk every module and fail on a forbidden import."""

import ast
from pathlib import Path

FORBIDDEN = {"textual", "httpx", "aiohttp", "grpc", "requests", "urllib3", "socket", "http",
             "asyncio", "threading", "watchfiles", "rich"}
CORE = Path(__file__).resolve().parents[2] / "tui" / "core"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_modules_exist():
    assert len(list(CORE.rglob("*.py"))) >= 5


def test_core_imports_no_ui_or_network():
    bad = {}
    for path in CORE.rglob("*.py"):
        hit = _imports(path) & FORBIDDEN
        if hit:
            bad[str(path.relative_to(CORE))] = sorted(hit)
    assert bad == {}, f"tui/core must stay pure; offending imports: {bad}"


def test_the_check_catches_a_forbidden_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import json\nfrom textual.app import App\n")
    assert _imports(f) & FORBIDDEN == {"textual"}
