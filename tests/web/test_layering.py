"""The web stack stays inside breachwatch.web: no other module imports Starlette, uvicorn, granian, Jinja2 or
prometheus_client, and core modules import nothing from web or cli."""

from __future__ import annotations

import ast
from pathlib import Path

import breachwatch

PACKAGE = Path(breachwatch.__file__).parent
WEB_ONLY = {"starlette", "uvicorn", "granian", "jinja2", "markupsafe", "prometheus_client"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("." * node.level + (node.module or ""))
    return names


def test_web_libraries_are_imported_only_by_web() -> None:
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "web":
            continue
        third = {name.split(".")[0] for name in _imports(path) if not name.startswith(".")}
        assert not third & WEB_ONLY, f"{rel} imports {third & WEB_ONLY}"


def test_guard_and_catalog_import_no_web_or_cli() -> None:
    for sub in ("guard", "catalog"):
        for path in (PACKAGE / sub).rglob("*.py"):
            for name in _imports(path):
                assert name.lstrip(".").split(".")[0] not in ("web", "cli"), f"{path.name} imports {name}"
