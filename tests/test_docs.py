"""Docs stay true to the code: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

import click

from breachwatch.cli import main
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


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, command in _commands(main):
        assert command.help, f"{name} has no help"
        assert f"breachwatch {name}" in readme, f"README does not mention `breachwatch {name}`"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{name} {param.opts} has no help"
