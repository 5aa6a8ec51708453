"""The dependency rules of ARCHITECTURE.md, checked by parsing imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "breachwatch"
SHELLS = ("cli", "web")
SHELL_ONLY = {"click", "rich", "starlette", "fastapi", "uvicorn", "jinja2", "granian"}
# Third-party libraries and the one place (module or package, as a path under the package) allowed to import each.
OWNERS = {
    "phonenumbers": ("phone",),
    "sqlalchemy": ("catalog",),
    "alembic": ("catalog",),
    "redis": ("guard",),
    "pysodium": ("private/oprf",),
    "matplotlib": ("analysis/charts",),
    "distributed": ("ingest/cluster",),
    "dask": ("ingest/cluster",),
    "httpcore": ("notify",),  # notify/outbound.py: bounded requests pinned to checked addresses
    "babel": ("i18n",),  # gettext catalogs and CLDR data
}


def _modules() -> list[tuple[tuple[str, ...], set[str]]]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        tree = ast.parse(path.read_text())
        imports: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imports |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                imports.add(base)
        found.append((parts, imports))
    return found


def _resolved(parts: tuple[str, ...], name: str) -> str:
    if not name.startswith("."):
        return name
    level = len(name) - len(name.lstrip("."))
    base = ["breachwatch", *parts[:-1]]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    rest = name.lstrip(".")
    return ".".join(base + ([rest] if rest else []))


def test_core_imports_no_web_or_cli_code() -> None:
    offenders = []
    for parts, imports in _modules():
        if parts[0] in SHELLS:
            continue
        for name in imports:
            full = _resolved(parts, name)
            top = full.split(".")[0]
            shell = full.split(".")[1] if full.count(".") else ""  # a package boundary: webhooks is not web
            if top in SHELL_ONLY or (top == "breachwatch" and shell in SHELLS):
                offenders.append(f"{'/'.join(parts)} imports {full}")
    assert offenders == []


def test_each_library_is_owned_by_one_place() -> None:
    offenders = []
    for parts, imports in _modules():
        for name in imports:
            top = _resolved(parts, name).split(".")[0]
            owners = OWNERS.get(top)
            here = "/".join(parts)
            if owners and not any(here == owner or here.startswith(owner + "/") for owner in owners):
                offenders.append(f"{'/'.join(parts)} imports {top}")
    assert offenders == []


# The ingest stages in the order data flows (ingest/__init__.py); each may import only those before it.
INGEST_ORDER = ("cluster", "taskkeys", "sources", "members", "columns", "jsondocs", "sqldumps", "tables", "sniff",
                "scan", "chunks", "rows", "records", "runs", "tasks",
                "runners", "pipeline", "synthlayouts", "synth")


def _ingest_imports(path: Path) -> set[str]:
    """The ingest modules a module of ingest/ imports (`from .x import y` and `from . import x` alike)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("breachwatch.ingest."):
            found.add((node.module or "").split(".")[2])
    return found


def test_ingest_stages_import_only_earlier_stages() -> None:
    folder = PACKAGE / "ingest"
    assert {p.stem for p in folder.glob("*.py")} - {"__init__"} == set(INGEST_ORDER)
    offenders = [f"ingest/{name} imports ingest/{other}" for name in INGEST_ORDER
                 for other in sorted(_ingest_imports(folder / f"{name}.py"))
                 if INGEST_ORDER.index(other) >= INGEST_ORDER.index(name)]
    assert offenders == []


def test_layers_and_no_cycles_hold() -> None:
    """The import contract in pyproject.toml (import-linter): shells -> composition -> domains -> stores ->
    foundations, and no cycle between sibling modules or packages at any depth, TYPE_CHECKING imports included."""
    # The use case, not the command: the command reconfigures logging for the whole process (dictConfig
    # disables every existing logger), which would silence breachwatch's loggers for the tests that follow.
    import importlinter.cli  # noqa: F401 - configures import-linter (its graph builder and printer)
    from importlinter.application import use_cases

    root = Path(__file__).resolve().parents[1]
    passed = use_cases.lint_imports(config_filename=str(root / "pyproject.toml"), cache_dir=None, no_logo=True)
    assert passed, "see `lint-imports` for what broke"
