"""The reports a board keeps beside its README (``"reports"`` in ``board.json``): a reproduction
configuration's side-by-side comparison with its source, ``c3bench reproduce NAME --report``, made from
the board's own entries. ``submit`` and ``leaderboard render`` write them; ``leaderboard check`` compares
them with what the entries give, so a committed report cannot drift from its board.

Matching a record to a configuration's row resolves that row's run, which loads the method's
declaration (and torch): this is why reports live here and not in :mod:`c3bench.leaderboard`, which
reads records and board files alone.
"""

from __future__ import annotations

from pathlib import Path

from c3bench.board import Board, BoardReport
from c3bench.entry_checks import Problem
from c3bench.hparams import ConfigError
from c3bench.leaderboard import MAX_README_BYTES, entries
from c3bench.locks import FolderLock
from c3bench.results import write_atomic
from c3bench.safe_files import read_own_file, refuse_links


def render_report(board: Board, report: BoardReport) -> str:
    """The Markdown of one declared report, from the board's entries as they are now."""
    from c3bench.configs import named_configs
    from c3bench.reproduce import render_markdown, report_from_records

    config = named_configs().get(report.config)
    if config is not None and config.protocol != board.protocol:
        raise ConfigError(f"{board.path / 'board.json'}: reports: {report.file}: configuration {report.config} runs "
                          f"on {config.protocol}, not on this board's {board.protocol}.")
    records = [(str(path), record) for path, record in entries(board) if record is not None]
    return render_markdown(report_from_records(report.config, report.seeds, records)) + "\n"


def write_reports(board: Board) -> list[Path]:
    """Regenerate every report ``board`` declares (under the leaderboard folder's lock; all are rendered
    before any is written); returns the files written."""
    with FolderLock(board.path.parent):
        texts = {board.path / r.file: render_report(board, r) for r in board.reports}
        for path, text in texts.items():
            refuse_links(board.path.parent, path, "board")
            write_atomic(path, text)
    return list(texts)


def check_reports(board: Board) -> list[Problem]:
    """A problem for each declared report that is missing or differs from what the entries give."""
    problems = []
    for report in board.reports:
        path = board.path / report.file
        try:
            expected = render_report(board, report)
        except ConfigError as exc:
            problems.append(Problem(str(board.path / "board.json"), f"reports: {report.file}", str(exc)))
            continue
        if not path.is_file():
            problems.append(Problem(str(path), "file", "missing; run `c3bench leaderboard render`"))
            continue
        try:
            actual = read_own_file(path, MAX_README_BYTES, "board report").decode("utf-8")
        except (ConfigError, OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), "file", f"cannot be compared ({exc}); run `c3bench leaderboard render`"))
            continue
        if actual != expected:
            problems.append(Problem(str(path), _first_difference(actual, expected),
                                    f"is not what the entries give (c3bench reproduce {report.config} --report); "
                                    "run `c3bench leaderboard render`"))
    return problems


def _first_difference(actual: str, expected: str) -> str:
    """Where two texts first differ, as 'line N' (or 'length' when one is a prefix of the other)."""
    for n, (a, e) in enumerate(zip(actual.splitlines(), expected.splitlines(), strict=False), 1):
        if a != e:
            return f"line {n}"
    return "length"
