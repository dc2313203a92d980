"""What every command shares: the two consoles (data on stdout, messages and progress on stderr),
the turning of user errors into one line and exit code 2, and output formats."""

from __future__ import annotations

import functools
import shutil
import sys
from enum import Enum

import typer
from rich.console import Console

from c3bench.hparams import ConfigError
from c3bench.results import ResultError


def _width(stream) -> int | None:
    """The terminal's width on a terminal; when piped, wide enough never to wrap a table row."""
    return None if stream.isatty() else max(shutil.get_terminal_size((250, 24)).columns, 250)


out = Console(width=_width(sys.stdout))  # data
err = Console(stderr=True, width=_width(sys.stderr))  # messages, progress


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def user_errors(fn):
    """Turn configuration and result problems into one clear line and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, ResultError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    return wrapper


def load_records(files) -> list[tuple[str, dict]]:
    """(file name, record) for each path; ``-`` reads one path per line from stdin. Raises
    ConfigError when no file is given, ResultError naming the first unusable file."""
    from pathlib import Path

    from c3bench.results import load_record

    paths: list[Path] = []
    for f in files:
        if str(f) == "-":
            paths += [Path(line.strip()) for line in sys.stdin if line.strip()]
        else:
            paths.append(Path(f))
    if not paths:
        raise ConfigError("no result files given (example: c3bench score results/*.json, or - to read names "
                          "from stdin).")
    return [(str(p), load_record(p)) for p in paths]
