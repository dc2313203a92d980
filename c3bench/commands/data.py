"""`c3bench data prepare|verify`: fill the tensor cache ahead of time, and check dataset files.

``prepare`` loads each dataset twice and prints the two load times (``--cold`` decodes into a
temporary cache, removed afterwards, so the first figure is that of a fresh machine). ``verify``
hashes every dataset file whose md5 is known and prints ok or MISMATCH per file (exit 1 on a
mismatch). :class:`DataProgress` draws the data layer's progress events with rich; any command
that loads data can use it::

    with DataProgress(err) as show, progress.reporting(show):
        load_dataset("cifar10", data_root)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import typer
from rich.markup import escape

from c3bench.console import ViewFormat, format_option, json_option, output_format
from c3bench.data.integrity import FileCheck
from c3bench.data.progress import Event
from c3bench.log import log


def _amount(event: Event) -> str:
    """The count of an event as shown beside its bar."""
    if not event.unit:
        return ""
    if event.unit == "bytes":
        from c3bench.units import human_bytes

        total = f"/{human_bytes(event.total)}" if event.total is not None else ""
        return f"{human_bytes(event.done)}{total}"
    total = f"/{event.total:,}" if event.total is not None else ""
    return f"{event.done:,}{total} {event.unit}"


class DataProgress:
    """Draws the data layer's progress events on a rich console: one bar per stage and subject."""

    def __init__(self, console, transient: bool = True):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[amount]}"),
                   TimeElapsedColumn())
        self._progress = Progress(*columns, console=console, transient=transient)
        self._tasks: dict[tuple[str, str], int] = {}

    def __enter__(self) -> DataProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def __call__(self, event: Event) -> None:
        key = (event.stage, event.subject)
        total = event.total if event.unit or event.finished else None  # a stage without a measure pulses
        if key not in self._tasks:
            description = escape(f"{event.stage} {event.subject}")  # a file name is not rich markup
            self._tasks[key] = self._progress.add_task(description, total=total, amount="")
        self._progress.update(self._tasks[key], completed=event.done, total=total, amount=_amount(event))


@dataclass(frozen=True)
class LoadTiming:
    """One dataset loaded twice: split sizes and the two wall times."""

    dataset: str
    splits: dict[str, int]
    first_s: float
    first_was_cached: bool
    second_s: float
    second_was_cached: bool
    skipped: int


def _timed_load(name: str, data_root: str | None):
    from c3bench.data.datasets import load_dataset

    start = time.perf_counter()
    data = load_dataset(name, data_root)
    return data, time.perf_counter() - start


def time_loads(names: list[str], data_root: str | None) -> list[LoadTiming]:
    """Load each dataset twice; return sizes and the two wall times."""
    rows = []
    for name in names:
        data, first = _timed_load(name, data_root)
        again, second = _timed_load(name, data_root)
        rows.append(LoadTiming(name, {k: len(v) for k, v in data.splits.items()}, first, data.cache_hit,
                               second, again.cache_hit, len(data.skipped)))
    return rows


@contextmanager
def _temporary_cache() -> Iterator[str]:
    """Point the tensor cache (env C3BENCH_CACHE) at a fresh temporary folder inside the block."""
    from c3bench.data.root import ENV_CACHE

    tmp = tempfile.mkdtemp(prefix="c3bench-cold-")
    previous = os.environ.get(ENV_CACHE)
    os.environ[ENV_CACHE] = tmp
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if previous is None:
            os.environ.pop(ENV_CACHE, None)
        else:
            os.environ[ENV_CACHE] = previous


def _names(datasets: str | None) -> list[str]:
    from c3bench.data.datasets import dataset_names, get_spec

    if not datasets:
        return dataset_names()
    names = [n.strip() for n in datasets.split(",") if n.strip()]
    for name in names:
        get_spec(name)  # ConfigError for an unknown name, before anything is loaded
    return names


def _timing_table(rows: list[LoadTiming]):
    from rich.table import Table

    table = Table(title="dataset load times")
    for head in ("dataset", "splits", "first load", "second load", "skipped"):
        table.add_column(head, justify="left" if head in ("dataset", "splits") else "right")
    for r in rows:
        splits = ", ".join(f"{k} {v:,}" for k, v in r.splits.items())
        first = f"{r.first_s:.2f} s" + (" (cached)" if r.first_was_cached else "")
        table.add_row(r.dataset, splits, first, f"{r.second_s * 1000:.1f} ms", str(r.skipped))
    return table


def _verify_lines(checks: list[FileCheck]) -> list[str]:
    lines = []
    for c in checks:
        if c.ok:
            lines.append(f"[green]ok[/]        {escape(str(c.path))}")
        else:
            lines.append(f"[red]MISMATCH[/]  {escape(str(c.path))}  md5 {c.found}, expected {c.expected}")
    return lines


def register(app: typer.Typer) -> None:
    from c3bench.console import err, out, user_errors

    data_app = typer.Typer(help="Prepare the tensor cache and check dataset files.", no_args_is_help=True)
    app.add_typer(data_app, name="data")
    root_help = "Folder with the datasets (env C3BENCH_DATA; default: the user cache directory)."

    @data_app.command("prepare")
    @user_errors
    def prepare(
        data_root: Path | None = typer.Option(None, "--data-root", envvar="C3BENCH_DATA", help=root_help),
        datasets: str | None = typer.Option(None, "--datasets",
                                            help="Comma-separated dataset names (default: all)."),
        cold: bool = typer.Option(False, "--cold", help="Decode into a temporary cache to time a first run."),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """Load datasets (downloading what is missing) into the tensor cache and print load times.

        Example: c3bench data prepare --data-root ../shared/data --datasets cifar10,mnist
        """
        from c3bench.data import progress
        from c3bench.data.root import tensor_cache_dir

        names = _names(datasets)
        root = str(data_root) if data_root else None
        cache = _temporary_cache() if cold else nullcontext()
        with cache, DataProgress(err) as show, progress.reporting(show):
            rows = time_loads(names, root)
        if output_format(fmt, as_json, ViewFormat.table) == "json":
            out.print_json(json.dumps([asdict(r) for r in rows]))
        else:
            out.print(_timing_table(rows))
        log.info(f"tensor cache: {'(temporary, removed)' if cold else tensor_cache_dir()}")

    @data_app.command("verify")
    @user_errors
    def verify(
        data_root: Path | None = typer.Option(None, "--data-root", envvar="C3BENCH_DATA", help=root_help),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """Hash every dataset file whose md5 is known; print ok or MISMATCH per file (exit 1 on a mismatch).

        Looks in the data root and in the user cache directory (where downloads land).

        Example: c3bench data verify --data-root ../shared/data
        """
        from c3bench.data import progress
        from c3bench.data.datasets import known_checksums, usable_cache_dir
        from c3bench.data.integrity import verify_known
        from c3bench.data.root import search_roots
        from c3bench.hparams import ConfigError

        roots, table = search_roots(data_root), known_checksums()
        if not any((r / rel).is_file() for r in roots for rel in table):
            searched = ", ".join(str(r) for r in roots)
            raise ConfigError(f"no dataset file with a known md5 under {searched}; pass --data-root DIR "
                              "(or set C3BENCH_DATA) to the folder that holds the datasets.")
        with DataProgress(err) as show, progress.reporting(show):
            checks = verify_known(roots, table, usable_cache_dir())
        if output_format(fmt, as_json, ViewFormat.table) == "json":
            out.print_json(json.dumps([{"path": str(c.path), "expected": c.expected, "found": c.found, "ok": c.ok}
                                       for c in checks]))
        else:
            for line in _verify_lines(checks):
                out.print(line, highlight=False, soft_wrap=True)
        bad = [c for c in checks if not c.ok]
        if bad:
            log.error(f"{len(bad)} of {len(checks)} files do not match: download them again (delete a downloaded "
                      "file and the next load fetches it) or restore them from the shared data folder or your backup.")
            raise typer.Exit(1)
        log.info(f"all {len(checks)} files match their known md5.")
