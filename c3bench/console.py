"""What every command shares: the two consoles (data on stdout, messages and progress on stderr),
the turning of user errors into one line and exit code 2, and output formats.

Messages use rich markup (``[green]ok[/]``), so any text that comes from outside c3bench's own code
(a run or file name, a record's fields, a configuration's description, an error message quoting
them) is data: interpolate it through :func:`esc`, and give tables :func:`cells`. As a last line of
defence, a message whose markup does not parse is printed as plain text instead of failing.
Operating-system errors (disk full, read-only folder, a name too long) end a command like user errors:
one line saying what to do, exit code 2."""

from __future__ import annotations

import functools
import shutil
import sys
from enum import Enum

import typer
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.text import Text

from c3bench.hparams import ConfigError
from c3bench.results import ResultError
from c3bench.safe_files import describe_os_error

esc = escape  # text from outside, made safe to put inside markup: esc(name)


def _width(stream) -> int | None:
    """The terminal's width on a terminal; when piped, wide enough never to wrap a table row."""
    return None if stream.isatty() else max(shutil.get_terminal_size((250, 24)).columns, 250)


class SafeConsole(Console):
    """A console that prints a message whose markup does not parse (text from outside that was not
    escaped) as plain text rather than raising MarkupError."""

    def render_str(self, text: str, **kwargs) -> Text:
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **{**kwargs, "markup": False})


def cells(*values: object) -> list[Text]:
    """Table cells that show their text as it is (a rich Table reads a plain string as markup)."""
    return [value if isinstance(value, Text) else Text(str(value)) for value in values]


out = SafeConsole(width=_width(sys.stdout))  # data
err = SafeConsole(stderr=True, width=_width(sys.stderr))  # messages, progress


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def fail(message: str) -> typer.Exit:
    """Print ``message`` (plain text) as the command's error; the Exit(2) to raise."""
    err.print(f"[bold red]error:[/] {esc(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def user_errors(fn):
    """Turn configuration and result problems, and operating-system errors, into one clear line and
    exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, ResultError) as exc:
            raise fail(str(exc)) from None
        except OSError as exc:
            raise fail(describe_os_error(exc)) from None
        except RecursionError:
            raise fail("the input nests too deeply to be read.") from None
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
