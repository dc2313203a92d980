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
import logging
import os
import sys
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.text import Text

from c3bench.hparams import ConfigError
from c3bench.log import log
from c3bench.results import ResultError
from c3bench.safe_files import describe_os_error

esc = escape  # text from outside, made safe to put inside markup: esc(name)


def _width(stream) -> int | None:
    """The terminal's width on a terminal; when piped, COLUMNS if set, else wide enough never to wrap
    a table row."""
    if stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 250


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


_PREFIX = {logging.WARNING: ("warning: ", "yellow"), logging.ERROR: ("error: ", "bold red"),
           logging.CRITICAL: ("error: ", "bold red")}


class ConsoleHandler(logging.Handler):
    """Writes c3bench's log records on the stderr console: warnings as ``warning: ...`` in yellow,
    errors as ``error: ...`` in red, debug dimmed; the text itself is never read as markup."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from rich.text import Text

            prefix, style = _PREFIX.get(record.levelno, ("", ""))
            text = Text(prefix, style=style) if prefix else Text()
            text.append(self.format(record), style="dim" if record.levelno < logging.INFO else "")
            err.print(text, soft_wrap=True, highlight=False)
        except Exception:  # a broken stream must not take the run down
            self.handleError(record)


class Format(str, Enum):
    """Output of the commands that print tables of results (score, reproduce)."""

    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


class ViewFormat(str, Enum):
    """Output of the commands that print a view for people or JSON (show, list, configs, plan, ...)."""

    table = "table"
    json = "json"


class PathFormat(str, Enum):
    """Output of the commands that write records (run, sweep): their paths, or JSON."""

    path = "path"
    json = "json"


# One convention for machine-readable output, on every command that prints data: --format (-f) NAME,
# and --json as its alias for --format json.
FORMAT_HELP = "Output on stdout: {} (default {}). --json is --format json."
JSON_HELP = "Machine-readable output: the same as --format json."


def format_option(kind: type[Enum], default: Enum) -> Any:
    """The ``--format/-f`` option of a command whose output formats are ``kind``'s members."""
    return typer.Option(None, "--format", "-f", show_default=False,
                        help=FORMAT_HELP.format(", ".join(m.value for m in kind), default.value))


def json_option() -> Any:
    """The ``--json`` option: an alias of ``--format json``."""
    return typer.Option(False, "--json", help=JSON_HELP)


def output_format(fmt: Enum | None, as_json: bool, default: Enum) -> str:
    """The chosen format's name: ``--json`` is ``--format json``; the two disagreeing is an error."""
    if as_json and fmt is not None and fmt.value != "json":
        raise ConfigError(f"--json means --format json, but --format {fmt.value} was given; give one of them.")
    return "json" if as_json else (fmt or default).value


def fail(message: str) -> typer.Exit:
    """Log ``message`` (plain text, never read as markup) as the command's error; the Exit(2) to raise."""
    log.error(message)
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


def _is_record_file(path) -> bool:
    """Whether a JSON file found in a folder is meant as a c3bench result (a damaged one too), as
    opposed to another JSON file kept beside results (a board's board.json, a tracker's file)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path.suffix == ".json" and not path.name.startswith(".")  # unreadable: let the reader name it
    return isinstance(data, dict) and str(data.get("schema", "")).startswith("c3bench.result")


def result_files(files) -> list:
    """The result files the user named: files as given, every result record under a folder
    (recursively, in name order, skipping hidden folders such as .checkpoints and JSON files that are
    not c3bench results), and ``-`` one path per line from stdin. Raises ConfigError when there are none."""
    from pathlib import Path

    paths: list[Path] = []
    for f in files:
        if str(f) == "-":
            paths += [Path(line.strip()) for line in sys.stdin if line.strip()]
        elif Path(f).is_dir():
            folder = Path(f)
            found = [p for p in sorted(folder.rglob("*.json"))
                     if not any(part.startswith(".") for part in p.relative_to(folder).parts) and _is_record_file(p)]
            if not found:
                raise ConfigError(f"{folder}: no c3bench result records in this folder or below it.")
            paths += found
        else:
            paths.append(Path(f))
    if not paths:
        raise ConfigError("no result files given (example: c3bench score results/, results/*.json, or - to read "
                          "names from stdin).")
    return list(dict.fromkeys(paths))


def load_records(files) -> list[tuple[str, dict]]:
    """(file name, record) for each result file :func:`result_files` finds. Raises ConfigError when no
    file is given, ResultError naming the first unusable file."""
    from c3bench.results import load_record

    return [(str(p), load_record(p)) for p in result_files(files)]
