"""The generated references: docs/settings.md from the settings table (breachwatch.config.SETTINGS) and
docs/cli.md from the click command tree (breachwatch.cli.main).

`make docs` runs `python -m breachwatch.cli.reference docs` to write them; tests/test_docs.py renders both in
memory and fails when the committed files differ. The text is built from the settings and the click objects
themselves (not from click's terminal help), so it does not depend on the terminal's width."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from ..config import SETTINGS, Setting

REGENERATE = "make docs"
SETTINGS_FILE = "settings.md"
CLI_FILE = "cli.md"


def _banner(source: str) -> str:
    return (f"<!-- Generated from {source} by `{REGENERATE}` (python -m breachwatch.cli.reference docs). "
            "Do not edit: change the code, then run `make docs`. -->")


def _cell(text: str) -> str:
    """Text fit for one cell of a Markdown table."""
    return " ".join(text.split()).replace("|", "\\|")


# ---------------------------------------------------------------------------------------------- settings

def _default(setting: Setting) -> str:
    return f"`{setting.default}`" if setting.default not in (None, "") else "none"


def settings_markdown(settings: Sequence[Setting] = SETTINGS) -> str:
    """docs/settings.md: every setting's environment variable, default and meaning, secrets marked."""
    lines = [
        _banner("the settings table in src/breachwatch/config.py"),
        "",
        "# Settings",
        "",
        "Every setting is an environment variable, read in one place (`breachwatch.config.load_config`).",
        "`--home DIR` on the command line overrides `BREACHWATCH_HOME`. \"none\" means unset; what that does is",
        "in the meaning column. Settings marked **secret** hold credentials: set them from a secret store, never",
        "in a file others can read.",
        "",
        "| environment variable | default | meaning |",
        "|---|---|---|",
    ]
    for s in settings:
        name = f"`{s.env}`" + (" **secret**" if s.secret else "")
        lines.append(f"| {name} | {_cell(_default(s))} | {_cell(s.help)} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- commands

def _commands(ctx: click.Context) -> Iterator[click.Context]:
    """`ctx` and the contexts of every command below it, depth first, subcommands in listing order."""
    yield ctx
    command = ctx.command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(click.Context(sub, info_name=name, parent=ctx))


def _help(command: click.Command) -> str:
    text = inspect.cleandoc(command.help or "").split("\f", 1)[0]
    return "\n".join(line for line in text.splitlines() if line.strip() != "\b")


def _short_help(command: click.Command) -> str:
    first = _help(command).split("\n\n", 1)[0]
    return " ".join(first.split())


def _metavar(info: dict[str, Any], option: click.Option) -> str:
    if info["is_flag"] or info["count"]:
        return ""
    if option.metavar:
        return f" {option.metavar}"
    kind = info["type"]
    if kind["param_type"] == "Choice":
        return " [" + "|".join(str(c) for c in kind["choices"]) + "]"
    return " " + str(kind["name"]).upper()


def _range(kind: dict[str, Any]) -> str:
    if "min" not in kind or (kind["min"] is None and kind["max"] is None):
        return ""
    low, high = kind["min"], kind["max"]
    lop, hop = ("<" if kind["min_open"] else "<="), ("<" if kind["max_open"] else "<=")
    if low is None:
        return f"x{hop}{high}"
    if high is None:
        return f"x{'>' if kind['min_open'] else '>='}{low}"
    return f"{low}{lop}x{hop}{high}"


def _option_default(info: dict[str, Any]) -> str | None:
    default = info["default"]
    if info["is_flag"]:
        if info["secondary_opts"] and isinstance(default, bool):
            return str((info["opts"] if default else info["secondary_opts"])[0])
        return None
    if default is None or default == "" or default == () or callable(default):
        return None
    if isinstance(default, list | tuple):
        return ", ".join(str(d) for d in default)
    return str(default)


def _option_line(option: click.Option) -> str:
    info = option.to_info_dict()
    spelling = " / ".join([", ".join(info["opts"]), *([", ".join(info["secondary_opts"])]
                                                      if info["secondary_opts"] else [])])
    notes = ["required"] if info["required"] else []
    if bounds := _range(info["type"]):
        notes.append(f"`{bounds}`")
    if info["multiple"]:
        notes.append("repeatable")
    line = f"- `{spelling}{_metavar(info, option)}`" + (f" ({', '.join(notes)})" if notes else "")
    line += f": {' '.join((option.help or '').split())}"
    default = _option_default(info)
    if default is not None:
        line += f" Default: `{default}`."
    if info["envvar"]:
        envvars = info["envvar"] if isinstance(info["envvar"], list | tuple) else [info["envvar"]]
        line += " Environment: " + ", ".join(f"`{e}`" for e in envvars) + "."
    return line


def _anchor(path: str) -> str:
    return "#" + path.lower().replace(" ", "-")


def cli_markdown(root: click.Command, name: str = "breachwatch") -> str:
    """docs/cli.md: every command and subcommand of `root` with its usage line, help text and options."""
    contexts = list(_commands(click.Context(root, info_name=name)))
    lines = [
        _banner("the click command tree (breachwatch.cli.main)"),
        "",
        "# Command-line reference",
        "",
        "Every command also takes `-h` / `--help`. Settings read from the environment are in",
        "[settings.md](settings.md). A user error (bad file, unknown breach, unreadable number) prints one line",
        "naming the file, row and reason, and exits 1.",
        "",
    ]
    lines += [f"- [`{c.command_path}`]({_anchor(c.command_path)}): {_short_help(c.command)}" for c in contexts]
    for ctx in contexts:
        command = ctx.command
        usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
        lines += ["", f"## {ctx.command_path}", "", "```text", f"Usage: {usage}", "```", "", _help(command)]
        options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
        if options:
            lines += ["", "Options:", ""]
            lines += [_option_line(o) for o in options]
        if isinstance(command, click.Group):
            subs = [f"[`{n}`]({_anchor(ctx.command_path + ' ' + n)})" for n in command.list_commands(ctx)
                    if (sub := command.get_command(ctx, n)) is not None and not sub.hidden]
            lines += ["", "Commands: " + ", ".join(subs) + "."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- writing

def generated(root: click.Command) -> dict[str, str]:
    """The generated files' names (under docs/) and their text."""
    return {SETTINGS_FILE: settings_markdown(), CLI_FILE: cli_markdown(root)}


def write(directory: Path) -> list[Path]:
    """Write the generated references into `directory`; returns the files that changed."""
    from . import main  # the whole command tree: every area's commands are registered by the package

    changed = []
    for name, text in generated(main).items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    for path in write(target):
        print(f"wrote {path}")
