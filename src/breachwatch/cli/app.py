"""The root `breachwatch` command group, console helpers and the user-error boundary shared by all commands."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from .. import __version__
from ..errors import BreachwatchError

if TYPE_CHECKING:
    from ..services import Services

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # a path in an error is never cut


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn errors a user can cause into one clear line and exit code 1; Ctrl-C into exit 130."""
    try:
        yield
    except BreachwatchError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was changed")
        sys.exit(130)
    except SystemError as exc:  # Ctrl-C inside a compiled (numba) call surfaces as a SystemError caused by it
        if not _caused_by_interrupt(exc):
            raise
        err.print("interrupted; nothing was changed")
        sys.exit(130)


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _Invocation:
    """What the root command hands its subcommands: the --home given, and the Services built from it on first
    use (so `--help` and commands that need no data directory never load the catalog or create HOME)."""

    def __init__(self, home: Path | None) -> None:
        self.home = home
        self.services: Services | None = None


def services_of(ctx: click.Context) -> Services:
    """The Services object for this invocation, built on first use and closed when the command ends."""
    invocation: _Invocation = ctx.find_root().obj
    if invocation.services is None:
        from ..config import load_config
        from ..services import Services

        with user_errors():  # a bad setting or data directory is the user's to fix: one line, no traceback
            invocation.services = Services(load_config(home=invocation.home))
        ctx.find_root().call_on_close(invocation.services.close)
    return invocation.services


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory (catalog, index, secret key). Default: $BREACHWATCH_HOME or ./breachwatch-data.")
@click.version_option(__version__, prog_name="breachwatch")
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """breachwatch: load leaked phone-number dumps as keyed hashes and check numbers against them."""
    ctx.obj = _Invocation(home)
