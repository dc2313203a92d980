"""Leaderboards: one folder per protocol, ``leaderboards/<protocol>/``, holding

* ``board.json``: the declared budgets (Bmax in GB, Cmax in TFLOPs), temperature and cost convention,
  the protocol parameters entries must use, and what provenance they need (``"provenance":
  "committed"``: made by a clean checkout at a commit of this repository); fixed in advance, so that
  scores are comparable across submissions and do not move when a new entry arrives;
* ``entries/<method>_<protocol>_s<seed>_<hash>.json``: the submitted result records, verbatim,
  named from their validated content (never from a path inside a record);
* ``README.md`` and ``tradeoff.png``: generated from the entries, never edited by hand.

Submitting validates each record (:mod:`c3bench.entry_checks`: shape, values, log, status,
configuration, provenance and the data digest, recomputed from protocol + parameters + seed) and
files those that pass, reporting the others per file. An entry above a budget is filed and marked,
not refused. Everything is validated, and the new README and figure are rendered in memory, before
anything is written; the whole submit holds a lock on the leaderboard folder, so two submits at once
file one after the other. A board's files are its own: an entry, ``entries/``, README.md or
tradeoff.png that is a symbolic link is refused, never followed. Checking does all of that again for
every entry and compares every README number with what the entries give. Every text a README takes
from a record, a file name or a board declaration is escaped for Markdown (:func:`plain`).
Re-execution of entries is :mod:`c3bench.verify`.

Reading and rendering boards needs no method code and no torch; validating provenance loads the
protocol's and method's declarations (and, for the data digest, the protocol's data).
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c3bench.board import (  # noqa: F401 - the declaration's names, re-exported
    BOARD_FILE,
    CONVENTION_TEXT,
    ENTRIES,
    FIGURE,
    PROVENANCE,
    README,
    Board,
    board_rows,
    check_scale,
    exceeds,
    find_boards,
    over_budget,
)
from c3bench.board_view import ViewRow, board_view
from c3bench.conventions import CONVENTIONS
from c3bench.entry_checks import (
    Problem,
    check_distinct_runs,
    check_log,
    check_one_mode,
    check_provenance,
    check_shape,
    check_status,
    check_values,
    entry_name,
)
from c3bench.hparams import ConfigError
from c3bench.locks import FolderLock
from c3bench.markdown_text import code, link_target, plain
from c3bench.results import (
    ResultError,
    config_hash,
    parse_record,
    read_record_bytes,
    record_modes,
    strip_volatile,
    totals_from_rounds,
    write_atomic,
)
from c3bench.safe_files import read_own_file, refuse_links
from c3bench.series import figure_is_current, figure_key

ACCEPTED = ("completed", "budget-stopped")
DigestFn = Callable[[str, dict[str, Any], int, bool], "str | None"]

__all__ = ["Board", "Problem", "SubmitReport", "board_rows", "check", "check_board", "entries", "find_boards",
           "new_board", "over_budget", "render_readme", "submit", "summary", "validate_entry", "write_board"]


def new_board(board_dir: str | Path, protocol: str, bmax_gb: float, cmax_tflops: float, temperature: float = 8.0,
              convention: str = "c3bench", overrides: dict[str, str] | None = None, title: str = "",
              description: str = "", provenance: str = "any") -> Board:
    """Create ``board_dir/<protocol>/board.json``; protocol parameters are its defaults plus ``overrides``."""
    from c3bench import registry

    cls = registry.get_protocol(protocol)
    params = registry.space(cls).resolve(overrides or {}, f"protocol '{protocol}'")
    folder = Path(board_dir) / cls.name
    if (folder / BOARD_FILE).exists():
        raise ConfigError(f"{folder / BOARD_FILE} already exists; edit it by hand if you must (scores will move).")
    check_scale({"Bmax": bmax_gb, "Cmax": cmax_tflops, "temperature": temperature}, "")
    if convention not in CONVENTIONS:
        raise ConfigError(f"convention must be one of {', '.join(CONVENTIONS)}.")
    if provenance not in PROVENANCE:
        raise ConfigError(f"provenance must be one of {', '.join(PROVENANCE)}.")
    board = Board(folder, cls.name, bmax_gb, cmax_tflops, temperature, convention, params,
                  title or f"{cls.name} leaderboard", description or cls.description, provenance=provenance)
    _write_own(board, BOARD_FILE, json.dumps(board.as_json(), indent=2) + "\n")
    refuse_links(folder, folder / ENTRIES, "board")
    (folder / ENTRIES).mkdir(exist_ok=True)
    return board


# ------------------------------------------------------------------------------------------ validation
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool)
                and not isinstance(b, bool) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))
    return a == b


def data_digests(data_root: str | Path | None = None) -> DigestFn:
    """A (cached) function recomputing a run's data digest from protocol + parameters + seed (and
    ``repeat_shared``, see ``Federation.digest``), without training; None when the data cannot be
    loaded here."""
    cache: dict[str, str | None] = {}

    def digest(protocol: str, params: dict[str, Any], seed: int, repeat_shared: bool = False) -> str | None:
        key = json.dumps([protocol, params, seed, repeat_shared], sort_keys=True, default=str)
        if key not in cache:
            from c3bench import registry

            try:
                root = Path(data_root) if data_root else None
                cache[key] = registry.get_protocol(protocol)().build(params, seed, root).digest(repeat_shared)
            except ConfigError:
                cache[key] = None
        return cache[key]

    return digest


def validate_entry(record: dict[str, Any], source: str, board: Board, digests: DigestFn | None = None) -> list[Problem]:
    """Everything a board requires of a (loaded, hence well-formed) record; see the module doc."""
    problems: list[Problem] = []
    cfg = record["config"]
    if record["status"] not in ACCEPTED:
        problems.append(Problem(source, "status", f"is '{record['status']}'; only finished runs "
                                f"({' or '.join(ACCEPTED)}) can be submitted. Resume it with `c3bench run ... --resume`"))
    if not record["rounds"]:
        problems.append(Problem(source, "rounds", "empty: no round was trained"))
    if cfg["protocol"] != board.protocol:
        return [*problems, Problem(source, "config.protocol", f"is '{cfg['protocol']}', this board is '{board.protocol}'")]
    for key, value in board.protocol_params.items():
        if not _same(cfg["protocol_params"].get(key), value):
            problems.append(Problem(source, f"config.protocol_params.{key}",
                                    f"is {cfg['protocol_params'].get(key)!r}; this board requires {value!r}"))
    extra = sorted(set(cfg["protocol_params"]) - set(board.protocol_params))
    if extra and board.protocol_params:
        problems.append(Problem(source, "config.protocol_params",
                                f"has parameters this board does not declare: {', '.join(extra)}"))
    problems += check_status(record, source)
    if not problems:
        problems += check_provenance(record, source, board.provenance == "committed", digests)
    return problems


def _load(path: Path, follow_links: bool = False) -> tuple[dict[str, Any] | None, list[Problem], bytes]:
    """(record, [], its file's bytes) or (None, its problems field by field, b""). A board's own entries
    are read without following a link (``follow_links=False``); a file given to submit may be one."""
    try:
        data = read_record_bytes(path, follow_links)
        record = parse_record(data, str(path), check_content=False)
    except ResultError as exc:
        message = str(exc)
        prefix = f"{path}: "
        return None, [Problem(str(path), "record", message[len(prefix):] if message.startswith(prefix) else message)], b""
    problems = check_shape(record, str(path))
    if not problems:
        problems = check_values(record, str(path)) + check_log(record, str(path))
    return (None, problems, b"") if problems else (record, [], data)


def own_folders(board: Board) -> None:
    """Raise LinkRefused when the board's folder or its entries/ folder is a symbolic link: a board's
    content is its own files."""
    refuse_links(board.path.parent, board.entries_dir, "board")


def entries(board: Board) -> list[tuple[Path, dict[str, Any] | None]]:
    """Every entry file of a board with its record (None when it cannot be loaded or is a link)."""
    return [(path, record) for path, record, _ in _entries(board)]


def _entries(board: Board) -> list[tuple[Path, dict[str, Any] | None, list[Problem]]]:
    own_folders(board)
    if not board.entries_dir.is_dir():
        return []
    return [(path, *_load(path)[:2]) for path in sorted(board.entries_dir.glob("*.json"))]


# ------------------------------------------------------------------------------------------ submit
@dataclass
class SubmitReport:
    """Per file: filed, already on the board, or refused (with its problems)."""

    filed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    boards: list[Board] = field(default_factory=list)


def _seed_key(record: dict[str, Any]) -> str:
    return config_hash(record["config"], include_seed=True)


def _same_run(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Identical runs (same configuration, seed, numeric mode and per-round numbers), whatever their
    timestamps. A re-run in another mode is another run even where no number moved."""
    keys = ("config", "rounds", "data")
    return (all(strip_volatile(a.get(k)) == strip_volatile(b.get(k)) for k in keys)
            and record_modes(a) == record_modes(b))


@dataclass
class _Filing:
    """One record to file: where, its exact bytes, and the entry it replaces (if any)."""

    target: Path
    data: bytes
    replaces: Path | None
    source: str = ""  # the submitted file, as the user named it
    replaced: dict[str, Any] | None = None  # the entry it replaces


def submit(files: Sequence[str | Path], board_dir: str | Path = "leaderboards", replace: bool = False,
           data_root: str | Path | None = None) -> SubmitReport:
    """Validate each file and file the valid ones under their boards; regenerate the boards touched.

    An identical re-run of an entry (same configuration, seed and numbers) counts as already there;
    another record of the same configuration and seed is refused unless ``replace``. Nothing is written
    until every file is validated and every touched board's README and figure are rendered; the
    leaderboard folder is locked from the first read to the last write.
    """
    root = Path(board_dir)
    if not root.is_dir():
        raise ConfigError(f"no leaderboard folder at {root}.")
    with FolderLock(root):
        report, filings, present = _validate_submission(list(map(Path, files)), root, replace, data_root)
        rendered = {protocol: _render(board, [(str(p.relative_to(board.path)), r) for p, r in present[protocol]])
                    for protocol, board in ((b.protocol, b) for b in report.boards)}
        undo = _Undo()
        try:  # from here on only writes; a failed one (disk full) puts back what was written before it
            for board in report.boards:
                for filing in filings[board.protocol]:
                    undo.write(board, f"{ENTRIES}/{filing.target.name}", filing.data)
                _apply(board, rendered[board.protocol], undo)
        except BaseException:
            undo.rollback()
            raise
        for board in report.boards:  # replaced entries go last: until here the board was whole
            for filing in filings[board.protocol]:
                if filing.replaces is not None and filing.replaces != filing.target:
                    filing.replaces.unlink(missing_ok=True)
    return report


class _Undo:
    """Board files written by one submit, with what they held before, to put back when a later write
    fails: a board is never left with entries its README does not show."""

    def __init__(self) -> None:
        self.done: list[tuple[Path, bytes | None]] = []

    def write(self, board: Board, relative: str, data: str | bytes) -> None:
        target = board.path / relative
        refuse_links(board.path.parent, target, "board")
        before = target.read_bytes() if target.is_file() else None
        write_atomic(target, data)
        self.done.append((target, before))

    def remove(self, board: Board, path: Path) -> None:
        refuse_links(board.path.parent, path, "board")
        if path.is_file():
            self.done.append((path, path.read_bytes()))
            path.unlink()

    def rollback(self) -> None:
        for path, before in reversed(self.done):
            with contextlib.suppress(OSError):  # best effort: a full disk may refuse this too
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, before)


def _validate_submission(files: list[Path], root: Path, replace: bool, data_root: str | Path | None
                         ) -> tuple[SubmitReport, dict[str, list[_Filing]], dict[str, list[tuple[Path, dict[str, Any]]]]]:
    """Every check of :func:`submit`, nothing written: the report, what to file per board, and each
    touched board's entries as they will be."""
    boards = find_boards(root)
    report = SubmitReport()
    digests = data_digests(data_root)
    on_board: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    filings: dict[str, list[_Filing]] = {}
    for file in files:
        record, problems, data = _load(file, follow_links=True)
        if record is None:
            report.refused += problems
            continue
        board = boards.get(record["config"]["protocol"])
        if board is None:
            protocol = record["config"]["protocol"]
            report.refused.append(Problem(str(file), "config.protocol", f"no board for protocol '{protocol}' under "
                                          f"{root} (boards: {', '.join(boards) or 'none'}); create one with "
                                          f"`c3bench leaderboard new {protocol}`"))
            continue
        if board.protocol not in on_board:  # a board whose folders or outputs are links: nothing is filed (LinkRefused)
            on_board[board.protocol] = [(p, r) for p, r in entries(board) if r is not None]
            _own_outputs(board)
        present = on_board[board.protocol]
        problems = validate_entry(record, str(file), board, digests)
        holder = next((p for p, r in present if _seed_key(r) == _seed_key(record)), None)
        if holder is not None and _same_run(next(r for p, r in present if p == holder), record):
            report.unchanged.append(holder)
            continue
        if not problems:
            others = [(str(p), r) for p, r in present if p != holder]
            problems = [p for p in check_distinct_runs([*others, (str(file), record)]) if p.file == str(file)]
        if not problems and holder is not None and not replace:
            held = next(r for p, r in present if p == holder)
            other = "in another numeric mode" if _same_run({**held, "execution": {}}, {**record, "execution": {}}) \
                else "with other numbers"
            problems = [Problem(str(file), "config", f"{holder} already holds this configuration and seed {other}; "
                                                     "pass --replace to swap it")]
        if problems:
            report.refused += problems
            continue
        target = board.entries_dir / f"{entry_name(record)}.json"
        replaced = next((r for p, r in present if p == holder), None)
        present[:] = [(p, r) for p, r in present if p not in (holder, target)] + [(target, record)]
        filings.setdefault(board.protocol, []).append(_Filing(target, data, holder, str(file), replaced))
        report.filed.append(target)
        if board not in report.boards:
            report.boards.append(board)
    for board in list(report.boards):
        _one_mode_per_row(board, report, filings, on_board[board.protocol])
    return report, filings, on_board


def _one_mode_per_row(board: Board, report: SubmitReport, filings: dict[str, list[_Filing]],
                      present: list[tuple[Path, dict[str, Any]]]) -> None:
    """Refuse the filings that would leave a row's seeds in two numeric modes, judged on the board as the
    whole batch leaves it (so every seed of a row re-run in a new mode is filed together, with --replace);
    a refused filing gives back the entry it would have replaced, and the rest is judged again."""
    while True:
        mine = {str(f.target): f for f in filings.get(board.protocol, [])}
        problems = check_one_mode([(str(p), r) for p, r in present], new=set(mine))
        if not problems:
            return
        for problem in problems:
            filing = mine[problem.file]
            report.refused.append(Problem(filing.source, problem.field, problem.message))
            report.filed.remove(filing.target)
            filings[board.protocol].remove(filing)
            present[:] = [(p, r) for p, r in present if p != filing.target]
            if filing.replaces is not None and filing.replaced is not None:
                present.append((filing.replaces, filing.replaced))
        if not filings[board.protocol]:
            report.boards.remove(board)
            return


# ------------------------------------------------------------------------------------------ rendering
def _recomputed(record: dict[str, Any]) -> dict[str, Any]:
    """The record with totals recomputed from its per-round log (what every board number comes from)."""
    return {**record, "totals": totals_from_rounds(record["rounds"])}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADERS = ("rank", "method", "settings", "rounds", "seeds", "C3", "accuracy (%)", "GB", "client TFLOPs",
           "total TFLOPs", "sim. time (s)", "status", "entries")
NUMERIC = {"rank", "rounds", "seeds", "C3", "GB", "client TFLOPs", "total TFLOPs", "sim. time (s)"}


def _row_cells(view: ViewRow) -> list[str]:
    """A README row: every text from a record or a file name escaped (:func:`plain`, :func:`link_target`)."""
    row = view.score
    links = ", ".join(f"[s{seed}]({link_target(f'{ENTRIES}/{Path(source).name}')})" for seed, source in view.entries)
    accuracy = f"{row.accuracy_mean:.2f}" + (f" ± {view.accuracy_std:.2f}" if view.accuracy_std is not None else "")
    return [str(view.rank), plain(row.method), plain(view.settings), str(view.rounds), str(row.seeds),
            _fmt(row.c3, ".4f"), accuracy, f"{row.bandwidth_gb:.4g}", f"{row.client_tflops:.4g}",
            f"{row.total_tflops:.4g}", _fmt(row.sim_time_s, ".4g"), plain(view.marks.text()), links]


def render_readme(board: Board, records: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """The board's README.md, a pure function of the board declaration and its entries (not of the
    folder the boards sit in)."""
    rows = board_view(board, records)
    params = plain(", ".join(f"{k}={v}" for k, v in sorted(board.protocol_params.items())) or "defaults")
    lines = [
        "<!-- Generated by c3bench (submit / leaderboard render). Do not edit: `c3bench leaderboard check` "
        "regenerates it from entries/ and fails on any difference. -->",
        f"# {plain(board.title or board.protocol + ' leaderboard')}",
        "",
        plain(board.description),
        "",
        f"- Protocol: {code(board.protocol)}, parameters: {params}.",
        f"- Budgets: Bmax = {board.bmax_gb:g} GB, Cmax = {board.cmax_tflops:g} TFLOPs, temperature T = "
        f"{board.temperature:g}; {CONVENTION_TEXT[board.convention]}.",
        "- Score: C3 = A/100 · exp(−(B/Bmax + C/Cmax)/T), from the mean accuracy A, bandwidth B and client "
        "compute C over a configuration's seeds. An entry above a budget is filed, scored by the same formula "
        "and marked *over budget* (cost is not misconduct; refusals are for wrong or tampered records); a cost is "
        "over a budget when it exceeds it at the precision the budget is written with (11.773 is within 11.77).",
        "- Settings: the method's hyperparameters that differ between its configurations on this board "
        "(every setting is in the entry files).",
        f"- Ranked by C3. Configurations with fewer than {board.min_seeds} seeds are provisional."
        + (" Entries come from committed code: each names the commit that made it." if board.provenance == "committed"
           else ""),
        *(f"- {plain(note)}" for note in board.notes),
        *([f"- Where this board's numbers differ from published ones, and why: [{plain(Path(board.findings).name)}]"
           f"(<{plain(board.findings)}>)."] if board.findings else []),
        *(f"- [{plain(r.file)}]({link_target(r.file)}): the report of {code(r.config)} over these entries, "
          f"printed by {code(r.command(board))}." for r in board.reports),
        *(f"- [{plain(f.file)}]({link_target(f.file)}): the rows of {', '.join(code(c) for c in f.configs)} on this board (drawn once one "
          f"is here), as {code(f.command(board))} draws them." for f in board.figures),
        "",
    ]
    if rows:
        lines += [
            "| " + " | ".join(HEADERS) + " |",
            "|" + "|".join("---:" if h in NUMERIC else "---" for h in HEADERS) + "|",
            *("| " + " | ".join(_row_cells(view)) + " |" for view in rows),
            "",
            f"{len(records)} entr{'y' if len(records) == 1 else 'ies'} in {len(rows)} configuration"
            f"{'' if len(rows) == 1 else 's'}. Accuracy: mean ± std over seeds of the per-client mean test "
            "accuracy after the last round. Simulated time: total over rounds, from the run's device fleet.",
            "",
            f"![Accuracy against bandwidth and client compute]({FIGURE})",
            "",
        ]
    else:
        lines += ["No entries yet.", ""]
    lines += [
        "## Submit and verify",
        "",
        "From the folder that holds `leaderboards/` (add `--board-dir DIR` when the boards are elsewhere):",
        "",
        "```",
        "c3bench submit results/*.json",
        "c3bench leaderboard check",
        f"c3bench leaderboard verify {board.protocol} --sample 1",
        f"c3bench leaderboard verify {board.protocol} --sample 1 --rounds 1   # its first round only: quicker, partial",
        "```",
        "",
    ]
    return "\n".join(lines)


@dataclass
class _Rendered:
    """A board's generated files, in memory: README text and the figure (None: no entries, no figure;
    ``figure_current``: the PNG there already shows these entries)."""

    readme: str
    figure: bytes | None
    figure_current: bool = False


def _render(board: Board, records: Sequence[tuple[str, dict[str, Any]]]) -> _Rendered:
    """README and figure of ``board`` for these entries, drawn in memory (nothing written)."""
    readme = render_readme(board, records)
    finished = [(s, _recomputed(r)) for s, r in records if r["rounds"]]
    if not finished:
        return _Rendered(readme, None)
    settings = {"convention": board.convention, "bmax": board.bmax_gb, "cmax": board.cmax_tflops,
                "temperature": board.temperature, "min_seeds": board.min_seeds,
                "title": f"{board.protocol} leaderboard: mean ± std over seeds ({board.convention} convention)"}
    key = figure_key(finished, **settings)
    if not board.figure.is_symlink() and figure_is_current(board.figure, key):  # no need to load matplotlib
        return _Rendered(readme, None, figure_current=True)
    import matplotlib

    from c3bench.plots import figure_bytes, tradeoff_figure

    with matplotlib.rc_context({"text.parse_math": False}):  # labels come from records: '$' is text
        fig = tradeoff_figure(finished, board.convention, iso_levels=[], bmax=board.bmax_gb, cmax=board.cmax_tflops,
                              temperature=board.temperature, min_seeds=board.min_seeds, title=settings["title"])
        return _Rendered(readme, figure_bytes(fig, FIGURE, key=key))


def _own_outputs(board: Board) -> None:
    """Raise LinkRefused when a file render writes (README.md, tradeoff.png) is a symbolic link."""
    for path in (board.readme, board.figure):
        refuse_links(board.path.parent, path, "board")


def _write_own(board: Board, relative: str, data: str | bytes) -> None:
    """Write a board file atomically, refusing any symbolic link on the way (a board's files are its own)."""
    target = board.path / relative
    refuse_links(board.path.parent, target, "board")
    write_atomic(target, data)


def _apply(board: Board, rendered: _Rendered, undo: _Undo | None = None) -> None:
    """Write a board's rendered README and figure; a failed write puts back what was written before it
    (``undo``: the caller's, which then does that)."""
    own = undo is None
    undo = undo or _Undo()
    try:
        undo.write(board, README, rendered.readme)
        if rendered.figure is not None:
            undo.write(board, FIGURE, rendered.figure)
        elif not rendered.figure_current:
            undo.remove(board, board.figure)
    except BaseException:
        if own:
            undo.rollback()
        raise


def write_board(board: Board) -> None:
    """Regenerate README.md and the trade-off figure from the entries (under the leaderboard folder's
    lock; both are rendered before either is written)."""
    with FolderLock(board.path.parent):
        _write_board(board)


def _write_board(board: Board) -> None:
    own_folders(board)
    _own_outputs(board)
    records = [(str(p.relative_to(board.path)), r) for p, r in entries(board) if r is not None]
    _apply(board, _render(board, records))


# ------------------------------------------------------------------------------------------ check
MAX_README_BYTES = 16 * 2**20


def _guarded(check_fn: Callable[..., list[Problem]], record: dict[str, Any], source: str, *args: Any) -> list[Problem]:
    """``check_fn(record, source, *args)``; a record no check foresaw (its fault, not the board's) becomes
    a problem of its own instead of stopping the check of the other entries."""
    try:
        return check_fn(record, source, *args)
    except (RecursionError, OverflowError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return [Problem(source, "record", f"cannot be checked ({type(exc).__name__}: {str(exc)[:200]})")]


def _readme_diff(board: Board, actual: str, expected: str) -> list[Problem]:
    """Locate differences between the committed and the regenerated README by row and column."""
    source = str(board.readme)
    problems = []
    a_lines, e_lines = actual.splitlines(), expected.splitlines()
    for n, (a, e) in enumerate(zip(a_lines, e_lines, strict=False), 1):
        if a == e:
            continue
        if a.startswith("| ") and e.startswith("| "):
            a_cells, e_cells = a.strip("| ").split(" | "), e.strip("| ").split(" | ")
            if len(a_cells) == len(e_cells) == len(HEADERS):
                row = f"row {e_cells[0]} ({e_cells[1]} {e_cells[2]})"
                for header, x, y in zip(HEADERS, a_cells, e_cells, strict=True):
                    if x != y:
                        problems.append(Problem(source, f"line {n}, {row}, column '{header}'",
                                                f"has {x!r}, the entries give {y!r}"))
                continue
        problems.append(Problem(source, f"line {n}", f"has {a!r}, regeneration gives {e!r}"))
    if len(a_lines) != len(e_lines):
        problems.append(Problem(source, "length", f"{len(a_lines)} lines, regeneration gives {len(e_lines)}"))
    return problems


def check_board(board: Board, digests: DigestFn | None = None) -> list[Problem]:
    """Recompute everything on one board; an empty list means it is consistent."""
    problems: list[Problem] = []
    good: list[tuple[Path, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    try:
        found = _entries(board)
        _own_outputs(board)
    except ConfigError as exc:
        return [Problem(str(board.path), "board", str(exc))]
    for path, record, load_problems in found:
        if record is None:
            problems += load_problems
            continue
        entry_problems = _guarded(validate_entry, record, str(path), board, digests)
        if path.stem != entry_name(record):
            entry_problems.append(Problem(str(path), "file name", f"is '{path.stem}', its content gives "
                                                                 f"'{entry_name(record)}'"))
        key = _seed_key(record)
        if key in seen:
            entry_problems.append(Problem(str(path), "config", f"same configuration and seed as {seen[key]}"))
        seen[key] = str(path)
        problems += entry_problems
        if not entry_problems:
            good.append((path, record))
    problems += check_distinct_runs([(str(p), r) for p, r in good]) + check_one_mode([(str(p), r) for p, r in good])
    if problems:  # the README cannot be judged against entries that are themselves wrong
        return problems
    records = [(str(p.relative_to(board.path)), r) for p, r in good]
    if not board.readme.exists():
        return [Problem(str(board.readme), "file", "missing; run `c3bench leaderboard render`")]
    try:
        expected = render_readme(board, records)
        actual = read_own_file(board.readme, MAX_README_BYTES, "board README").decode("utf-8")
    except (ConfigError, OSError, UnicodeDecodeError) as exc:
        return [Problem(str(board.readme), "file", f"cannot be compared ({exc}); run `c3bench leaderboard render`")]
    problems += _readme_diff(board, actual, expected)
    if records and not board.figure.exists():
        problems.append(Problem(str(board.figure), "file", "missing; run `c3bench leaderboard render`"))
    return problems


def check(board_dir: str | Path = "leaderboards", data_root: str | Path | None = None,
          recompute_data: bool = True) -> tuple[dict[str, Board], list[Problem]]:
    """Check every board under ``board_dir`` (one bad board or entry never stops the others)."""
    root = Path(board_dir)
    problems: list[Problem] = []
    boards: dict[str, Board] = {}
    if not root.is_dir():
        raise ConfigError(f"no leaderboard folder at {root}.")
    digests = data_digests(data_root) if recompute_data else None
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            board = Board.load(folder)
        except ConfigError as exc:
            problems.append(Problem(str(folder / BOARD_FILE), "board", str(exc)))
            continue
        boards[board.protocol] = board
        problems += check_board(board, digests)
    return boards, problems


def summary(board: Board) -> dict[str, Any]:
    """Counts for messages: entries, configurations, provisional ones."""
    records = [(str(p), r) for p, r in entries(board) if r is not None]
    rows = board_rows(board, records) if records else []
    return {"entries": len(records), "configurations": len(rows),
            "provisional": sum(r.seeds < board.min_seeds for r in rows),
            "best_c3": max((r.c3 for r in rows if r.c3 is not None), default=None),
            "mean_c3": statistics.fmean(r.c3 for r in rows if r.c3 is not None) if rows else None}
