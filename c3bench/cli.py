"""The c3bench command line: the app and its commands, one module each under ``c3bench.commands``
(parse, validate, call the core, print: data on stdout, messages on stderr)."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
import typer.rich_utils
from typer.core import TyperGroup, TyperOption

import c3bench
from c3bench.commands import register_all
from c3bench.console import ConsoleHandler
from c3bench.log import configure, log

# the top-level command list follows a study's workflow; the rest (reference, tools) after it
WORKFLOW = ("run", "score", "show", "plot", "reproduce", "sweep", "submit", "leaderboard",
            "list", "configs", "plan", "data")

_type_of = TyperOption.display_type_rich


def _flag_without_type(self: TyperOption, ctx) -> str | None:
    """Help shows ``--resume``, not ``--resume <bool>``: a flag takes no value."""
    return None if self.is_flag else _type_of(self, ctx)


TyperOption.display_type_rich = _flag_without_type  # typer 0.29 labels every flag with its Python type
if not sys.stdout.isatty() and not os.environ.get("TERMINAL_WIDTH"):
    typer.rich_utils.MAX_WIDTH = 250  # piped help is not wrapped at 80 columns

class WorkflowGroup(TyperGroup):
    """Lists the commands in workflow order (:data:`WORKFLOW`), not in the order they were registered."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: (WORKFLOW.index(n) if n in WORKFLOW else len(WORKFLOW), n))


app = typer.Typer(
    name="c3bench",
    cls=WorkflowGroup,
    help="Benchmark federated and split learning on accuracy, bandwidth and client compute (C3-Score).\n\n"
         "Start with:  c3bench run --method fedavg --protocol synthetic   then   c3bench score results/*.json",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"c3bench {c3bench.__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit."),
          verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Also show debug messages."),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="Show only warnings and errors (messages go "
                                     "through Python logging, logger 'c3bench').")) -> None:
    """Benchmark federated and split learning on accuracy, bandwidth and client compute (C3-Score)."""
    configure(ConsoleHandler(), -1 if quiet else min(verbose, 1))


register_all(app)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C while starting up or between steps: no traceback
        log.warning("interrupted")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
