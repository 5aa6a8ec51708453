"""Docs stay true to the code: every setting and every command is documented, and the generated references
(docs/settings.md, docs/cli.md) are what the code renders now."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import click
import pytest

from breachwatch.cli import main
from breachwatch.cli.reference import REGENERATE, generated
from breachwatch.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def _docs_text() -> str:
    parts = [(ROOT / "README.md").read_text()]
    parts += [p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(parts)


def test_every_setting_is_documented_with_its_environment_variable() -> None:
    text = _docs_text()
    missing = [s.env for s in SETTINGS if s.env not in text]
    assert missing == []
    assert all(s.help for s in SETTINGS)


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found += _commands(command, full + " ")
    return found


def test_every_command_has_help_and_options_have_help() -> None:
    for name, command in _commands(main):
        assert command.help, f"{name} has no help"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{name} {param.opts} has no help"


def test_every_command_has_its_line_in_the_readme() -> None:
    """One line per top-level command, naming the subcommands of a group (`breachwatch keys create | list`)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    for name, command in main.commands.items():
        own = [line for line in lines if re.search(rf"`breachwatch {re.escape(name)}\b", line)]
        assert own, f"README does not mention `breachwatch {name}`"
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert any(re.search(rf"\b{re.escape(sub)}\b", line) for line in own), \
                    f"README's line for `breachwatch {name}` does not name its subcommand {sub!r}"


@pytest.mark.parametrize("name", sorted(generated(main)))
def test_generated_reference_is_up_to_date(name: str) -> None:
    path = ROOT / "docs" / name
    expected = generated(main)[name]
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed != expected:
        lines = difflib.unified_diff(committed.splitlines(keepends=True), expected.splitlines(keepends=True),
                                     f"docs/{name} (committed)", f"docs/{name} (from the code)")
        diff = "".join(list(lines)[:40])
        pytest.fail(f"docs/{name} differs from what the code generates: run `{REGENERATE}` and commit it.\n{diff}")


def test_generated_references_say_so_on_their_first_line() -> None:
    for name, text in generated(main).items():
        first = text.splitlines()[0]
        assert "Generated" in first and "Do not edit" in first and REGENERATE in first, name
