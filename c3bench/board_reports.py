"""The reports and figures a board keeps beside its README (``"reports"`` and ``"figures"`` in
``board.json``): a reproduction configuration's side-by-side comparison with its source, ``c3bench
reproduce NAME --report``, and ``c3bench plot tradeoff --config NAME`` of named configurations' rows
(the AdaSplit paper's Figure 1), made from the board's own entries. ``submit`` and ``leaderboard
render`` write them; ``leaderboard check`` compares each report with what the entries give, so a
committed report cannot drift from its board, and finds a figure missing (as it does tradeoff.png: a
PNG's bytes depend on the matplotlib that drew it, so they are not compared).

Matching a record to a configuration's row resolves that row's run, which loads the method's
declaration (and torch): this is why reports live here and not in :mod:`c3bench.leaderboard`, which
reads records and board files alone.
"""

from __future__ import annotations

from pathlib import Path

from c3bench.board import Board, BoardFigure, BoardReport, rows_figure_title
from c3bench.entry_checks import Problem
from c3bench.hparams import ConfigError
from c3bench.leaderboard import MAX_README_BYTES, entries
from c3bench.locks import FolderLock
from c3bench.record_log import totals_from_rounds
from c3bench.results import write_atomic
from c3bench.safe_files import read_own_file, refuse_links
from c3bench.series import check_vary


def _on_this_board(board: Board, names: tuple[str, ...], what: str) -> None:
    """Raise ConfigError when a named configuration runs on another protocol than the board's."""
    from c3bench.configs import named_configs

    for name in names:
        config = named_configs().get(name)
        if config is not None and config.protocol != board.protocol:
            raise ConfigError(f"{board.path / 'board.json'}: {what}: configuration {name} runs on {config.protocol}, "
                              f"not on this board's {board.protocol}.")


def _records(board: Board) -> list[tuple[str, dict]]:
    """The board's loadable entries, named relative to the board folder."""
    return [(str(path.relative_to(board.path)), record) for path, record in entries(board) if record is not None]


def render_report(board: Board, report: BoardReport) -> str:
    """The Markdown of one declared report, from the board's entries as they are now."""
    from c3bench.reproduce import render_markdown, report_from_records

    _on_this_board(board, (report.config,), f"reports: {report.file}")
    return render_markdown(report_from_records(report.config, report.seeds, _records(board))) + "\n"


def figure_rows(board: Board, figure: BoardFigure) -> list[tuple[str, dict]]:
    """The board's entries a declared figure draws: those that are rows of its configurations and have
    finished rounds, with totals recomputed from their per-round logs (as the README's and
    tradeoff.png's are)."""
    from c3bench.reproduce import rows_of

    _on_this_board(board, figure.configs, f"figures: {figure.file}")
    _vary_declared(board, figure)
    return [(s, {**r, "totals": totals_from_rounds(r["rounds"])})
            for s, r in rows_of(figure.configs, _records(board)) if r["rounds"]]


def _vary_declared(board: Board, figure: BoardFigure) -> None:
    """Raise ConfigError when a name in the figure's ``vary`` is a hyperparameter of none of its
    configurations' rows (a typo would draw no curve, whatever entries land)."""
    from c3bench.reproduce import plan_suite, rows_of

    if not figure.vary:
        return
    rows_of(figure.configs, [])  # an unknown configuration name is refused here first
    params = {k for name in figure.configs for p in plan_suite(name, seeds=[0])[1] for k in p.run.config["method_params"]}
    try:
        check_vary(figure.vary, params, f"the rows of {', '.join(figure.configs)}")
    except ValueError as exc:
        raise ConfigError(f"{board.path / 'board.json'}: figures: {figure.file}: {exc}") from None


def render_figure(board: Board, figure: BoardFigure, redraw: bool = False,
                  rows: list[tuple[str, dict]] | None = None) -> bytes | None:
    """The PNG of one declared figure from the board's entries as they are now; its title names the
    configurations it draws. None: nothing to draw, because no entry is a row of its configurations
    yet, or (unless ``redraw``) the file there already shows these entries, drawn by this code."""
    import matplotlib

    from c3bench.plots import figure_bytes, tradeoff_figure
    from c3bench.series import figure_is_current, figure_key

    records = figure_rows(board, figure) if rows is None else rows  # ``rows``: figure_rows, already found
    if not records:
        return None
    title = rows_figure_title(board.protocol, figure.configs, figure.vary, board.convention)
    key = figure_key(records, convention=board.convention, vary=list(figure.vary), min_seeds=board.min_seeds,
                     title=title)
    path = board.path / figure.file
    if not redraw and not path.is_symlink() and figure_is_current(path, key):
        return None
    with matplotlib.rc_context({"text.parse_math": False}):  # labels come from records: '$' is text
        fig = tradeoff_figure(records, board.convention, list(figure.vary) or None, title=title,
                              min_seeds=board.min_seeds)
        return figure_bytes(fig, figure.file, key=key)


def write_reports(board: Board) -> list[Path]:
    """Regenerate every report and figure ``board`` declares, and remove a declared figure none of whose
    rows is on the board any more (under the leaderboard folder's lock; links are refused and everything
    is rendered before anything is written); returns the files written."""
    with FolderLock(board.path.parent):
        for name in [r.file for r in board.reports] + [f.file for f in board.figures]:
            refuse_links(board.path.parent, board.path / name, "board")
        files: dict[Path, str | bytes] = {board.path / r.file: render_report(board, r) for r in board.reports}
        stale = []
        for figure in board.figures:
            rows = figure_rows(board, figure)
            if (drawn := render_figure(board, figure, rows=rows)) is not None:
                files[board.path / figure.file] = drawn
            elif not rows and (board.path / figure.file).exists():
                stale.append(board.path / figure.file)
        for path, content in files.items():
            write_atomic(path, content)
        for path in stale:
            path.unlink()
    return list(files)


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


def check_figures(board: Board) -> list[Problem]:
    """A problem for each declared figure whose declaration is wrong, that is missing while entries are
    rows of its configurations, that is there while none is, or that is not a file of its own."""
    problems = []
    for figure in board.figures:
        try:
            rows = figure_rows(board, figure)
        except ConfigError as exc:
            problems.append(Problem(str(board.path / "board.json"), f"figures: {figure.file}", str(exc)))
            continue
        path = board.path / figure.file
        if path.is_symlink():
            problems.append(Problem(str(path), "file", "is a symbolic link; a board's files are its own"))
        elif rows and not path.is_file():
            problems.append(Problem(str(path), "file", "missing; run `c3bench leaderboard render`"))
        elif not rows and path.exists():
            problems.append(Problem(str(path), "file", "no entry is a row of its configurations any more; run "
                                                       "`c3bench leaderboard render`"))
    return problems


def _first_difference(actual: str, expected: str) -> str:
    """Where two texts first differ, as 'line N' (or 'length' when one is a prefix of the other)."""
    for n, (a, e) in enumerate(zip(actual.splitlines(), expected.splitlines(), strict=False), 1):
        if a != e:
            return f"line {n}"
    return "length"
