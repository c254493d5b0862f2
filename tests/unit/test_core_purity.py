"""tui/core is pure: no UI, no network. Walk every module and fail on a forbidden import."""

import ast
from pathlib import Path

FORBIDDEN = {
    "textual",
    "httpx",
    "aiohttp",
    "grpc",
    "requests",
    "urllib3",
    "socket",
    "http",
    "asyncio",
    "threading",
    "watchfiles",
    "rich",
}
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


def test_core_modules_exist() -> None:
    assert len(list(CORE.rglob("*.py"))) >= 5


def test_core_imports_no_ui_or_network() -> None:
    bad = {}
    for path in CORE.rglob("*.py"):
        hit = _imports(path) & FORBIDDEN
        if hit:
            bad[str(path.relative_to(CORE))] = sorted(hit)
    assert bad == {}, f"tui/core must stay pure; offending imports: {bad}"


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import json\nfrom textual.app import App\n")
    assert _imports(f) & FORBIDDEN == {"textual"}


def test_importing_all_of_core_loads_no_ui_or_network_module() -> None:
    """The static check misses an indirect import (a core module importing tui.sources, which
    imports httpx): import every core module in a fresh interpreter and look at sys.modules."""
    import json
    import subprocess
    import sys

    modules = sorted(
        ".".join(("tui", "core", *p.relative_to(CORE).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for p in CORE.rglob("*.py")
    )
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=CORE.parents[1],
    )
    loaded = set(json.loads(out.stdout))
    # protobuf's runtime imports threading itself; core's own code never does (checked above)
    bad = loaded & (FORBIDDEN - {"threading"})
    assert bad == set(), f"importing tui.core loads {sorted(bad)}"
