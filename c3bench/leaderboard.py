"""Leaderboards: one folder per protocol, ``leaderboards/<protocol>/``, holding

* ``board.json``: the declared budgets (Bmax in GB, Cmax in TFLOPs), temperature and cost convention,
  and the protocol parameters entries must use; fixed in advance, so that scores are comparable across
  submissions and do not move when a new entry arrives;
* ``entries/<name>.json``: the submitted result records, verbatim;
* ``README.md`` and ``tradeoff.png``: generated from the entries, never edited by hand.

Submitting validates each record (schema and digest, the protocol hash against the registered
protocol, the per-round log against the totals, the board's protocol parameters and budgets) and
files it. Checking recomputes every total from the per-round logs and every README number from those
totals, and reports each mismatch with the file and the field.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c3bench import registry
from c3bench.conventions import CONVENTIONS
from c3bench.hparams import ConfigError
from c3bench.plots import distinguishing_settings, save, tradeoff_figure
from c3bench.results import ResultError, config_hash, load_record, totals_from_rounds, write_atomic
from c3bench.score import ScoreRow, score_table

BOARD_FILE = "board.json"
ENTRIES = "entries"
README = "README.md"
FIGURE = "tradeoff.png"
ACCEPTED = ("completed", "budget-stopped")
CONVENTION_TEXT = {name: c.text for name, c in CONVENTIONS.items()}


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located by file and field."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class SubmissionError(Exception):
    """Raised by :func:`submit` when any record is refused; nothing has been filed."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


# ------------------------------------------------------------------------------------------ boards
@dataclass
class Board:
    """A board's declaration (``board.json``) and where its files live."""

    path: Path
    protocol: str
    bmax_gb: float
    cmax_tflops: float
    temperature: float
    convention: str
    protocol_params: dict[str, Any]
    title: str = ""
    description: str = ""
    min_seeds: int = 3

    @property
    def entries_dir(self) -> Path:
        return self.path / ENTRIES

    @property
    def readme(self) -> Path:
        return self.path / README

    @property
    def figure(self) -> Path:
        return self.path / FIGURE

    def as_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "title": self.title, "description": self.description,
                "bmax_gb": self.bmax_gb, "cmax_tflops": self.cmax_tflops, "temperature": self.temperature,
                "convention": self.convention, "min_seeds": self.min_seeds, "protocol_params": self.protocol_params}

    @classmethod
    def load(cls, folder: Path) -> Board:
        """Read and validate ``folder/board.json``; raise ConfigError naming the file and field."""
        source = folder / BOARD_FILE
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: missing; create it with `c3bench leaderboard new`.") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: malformed JSON at line {exc.lineno}: {exc.msg}.") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: must be a JSON object.")
        for key in ("protocol", "bmax_gb", "cmax_tflops", "temperature", "convention", "protocol_params"):
            if key not in data:
                raise ConfigError(f"{source}: {key}: missing.")
        for key in ("bmax_gb", "cmax_tflops", "temperature"):
            if not isinstance(data[key], int | float) or isinstance(data[key], bool) or not data[key] > 0:
                raise ConfigError(f"{source}: {key}: must be a positive number, got {data[key]!r}.")
        if data["convention"] not in CONVENTIONS:
            raise ConfigError(f"{source}: convention: must be one of {', '.join(CONVENTIONS)}.")
        if data["protocol"] != folder.name:
            raise ConfigError(f"{source}: protocol: '{data['protocol']}' does not match the folder name '{folder.name}'.")
        if not isinstance(data["protocol_params"], dict):
            raise ConfigError(f"{source}: protocol_params: must be an object.")
        return cls(folder, data["protocol"], float(data["bmax_gb"]), float(data["cmax_tflops"]),
                   float(data["temperature"]), data["convention"], data["protocol_params"],
                   data.get("title", ""), data.get("description", ""), int(data.get("min_seeds", 3)))


def find_boards(board_dir: str | Path) -> dict[str, Board]:
    """Every board under ``board_dir`` (folders holding a board.json), by protocol name."""
    root = Path(board_dir)
    if not root.is_dir():
        raise ConfigError(f"no leaderboard folder at {root}.")
    return {b.protocol: b for b in (Board.load(f.parent) for f in sorted(root.glob(f"*/{BOARD_FILE}")))}


def new_board(board_dir: str | Path, protocol: str, bmax_gb: float, cmax_tflops: float, temperature: float = 8.0,
              convention: str = "c3bench", overrides: dict[str, str] | None = None, title: str = "",
              description: str = "") -> Board:
    """Create ``board_dir/<protocol>/board.json``; protocol parameters are its defaults plus ``overrides``."""
    cls = registry.get_protocol(protocol)
    params = registry.space(cls).resolve(overrides or {}, f"protocol '{protocol}'")
    folder = Path(board_dir) / cls.name
    if (folder / BOARD_FILE).exists():
        raise ConfigError(f"{folder / BOARD_FILE} already exists; edit it by hand if you must (scores will move).")
    for name, value in (("Bmax", bmax_gb), ("Cmax", cmax_tflops), ("temperature", temperature)):
        if not value > 0:
            raise ConfigError(f"{name} must be positive, got {value}.")
    if convention not in CONVENTIONS:
        raise ConfigError(f"convention must be one of {', '.join(CONVENTIONS)}.")
    board = Board(folder, cls.name, bmax_gb, cmax_tflops, temperature, convention, params,
                  title or f"{cls.name} leaderboard", description or cls.description)
    write_atomic(folder / BOARD_FILE, json.dumps(board.as_json(), indent=2) + "\n")
    (folder / ENTRIES).mkdir(exist_ok=True)
    return board


# ------------------------------------------------------------------------------------------ validation
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (isinstance(a, int | float) and isinstance(b, int | float)
                and not isinstance(a, bool) and not isinstance(b, bool) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))
    return a == b


def verify_log(record: dict[str, Any], source: str) -> list[Problem]:
    """The per-round log is self-consistent and the totals are exactly what it implies.

    Each round's cumulative counters equal the previous round's plus the sum of its per-client
    counters; its mean accuracy is the mean of the per-client accuracies; the totals equal
    ``results.totals_from_rounds(rounds)`` field by field.
    """
    problems: list[Problem] = []
    rounds = record["rounds"]
    running: dict[str, Any] = {}
    for i, entry in enumerate(rounds):
        where = f"rounds[{i}]"
        try:
            if entry["round"] != i + 1:
                problems.append(Problem(source, f"{where}.round", f"is {entry['round']}, expected {i + 1}"))
            per_acc = entry["accuracy"]["per_client"]
            if not per_acc or not _same(entry["accuracy"]["mean"], sum(per_acc) / len(per_acc)):
                problems.append(Problem(source, f"{where}.accuracy.mean",
                                        f"is {entry['accuracy']['mean']!r}, the per-client accuracies give "
                                        f"{(sum(per_acc) / len(per_acc)) if per_acc else None!r}"))
            clients = entry["per_client"]
            if len(clients) != len(per_acc):
                problems.append(Problem(source, f"{where}.per_client",
                                        f"{len(clients)} clients but {len(per_acc)} per-client accuracies"))
            for key, value in entry["cumulative"].items():
                expected = running.get(key, 0) + sum(c.get(key, 0) for c in clients)
                if not _same(value, expected):
                    problems.append(Problem(source, f"{where}.cumulative.{key}",
                                            f"is {value!r}, previous rounds plus this round's per-client "
                                            f"counters give {expected!r}"))
            for c_index, c in enumerate(clients):
                for total, parts in (("bytes_total", ("bytes_up", "bytes_down", "bytes_peer")),
                                     ("paper_bytes_total", ("paper_bytes_up", "paper_bytes_down", "paper_bytes_peer"))):
                    if total in c and c[total] != sum(c.get(p, 0) for p in parts):
                        problems.append(Problem(source, f"{where}.per_client[{c_index}].{total}",
                                                f"is {c[total]!r}, not the sum of {', '.join(parts)}"))
            running = dict(entry["cumulative"])
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            problems.append(Problem(source, where, f"malformed round entry ({type(exc).__name__}: {exc})"))
            return problems
    try:
        expected_totals = totals_from_rounds(rounds)
    except (KeyError, TypeError) as exc:
        return [*problems, Problem(source, "rounds", f"cannot recompute the totals ({type(exc).__name__}: {exc})")]
    totals = record["totals"]
    for key in sorted(set(expected_totals) | set(totals)):
        if key not in totals:
            continue  # written by an older c3bench; the board uses the recomputed value anyway
        if key not in expected_totals:
            problems.append(Problem(source, f"totals.{key}", "is not derived from the per-round log"))
        elif not _same_deep(totals[key], expected_totals[key]):
            problems.append(Problem(source, f"totals.{key}",
                                    f"is {totals[key]!r}, the per-round log gives {expected_totals[key]!r}"))
    return problems


def _same_deep(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return _same(a, b)


def _measures(totals: dict[str, Any], convention: str) -> tuple[float, float]:
    """(bandwidth in GB, client compute in TFLOPs) in the board's convention."""
    return CONVENTIONS[convention].measures(totals)[:2]


def validate_entry(record: dict[str, Any], source: str, board: Board) -> list[Problem]:
    """Everything a board requires of a record beyond its schema and digest (see the module doc)."""
    problems: list[Problem] = []
    cfg = record["config"]
    if record["status"] not in ACCEPTED:
        problems.append(Problem(source, "status", f"is '{record['status']}'; only finished runs "
                                f"({' or '.join(ACCEPTED)}) can be submitted. Resume it with `c3bench run ... --resume`"))
    if not record["rounds"]:
        problems.append(Problem(source, "rounds", "empty: no round was trained"))
    if cfg.get("protocol") != board.protocol:
        problems.append(Problem(source, "config.protocol", f"is '{cfg.get('protocol')}', this board is '{board.protocol}'"))
        return problems
    if record["config_hash"] != config_hash(cfg):
        problems.append(Problem(source, "config_hash", "does not match the record's config"))
    try:
        expected_hash = registry.get_protocol(board.protocol).content_hash(cfg["protocol_params"])
    except ConfigError as exc:
        problems.append(Problem(source, "config.protocol", str(exc)))
    else:
        if cfg.get("protocol_hash") != expected_hash:
            problems.append(Problem(source, "config.protocol_hash",
                                    f"is {str(cfg.get('protocol_hash'))[:12]}..., the registered protocol "
                                    f"'{board.protocol}' gives {expected_hash[:12]}... (run with this version "
                                    "of the protocol)"))
    for key, value in board.protocol_params.items():
        if not _same(cfg["protocol_params"].get(key), value):
            problems.append(Problem(source, f"config.protocol_params.{key}",
                                    f"is {cfg['protocol_params'].get(key)!r}; this board requires {value!r}"))
    extra = sorted(set(cfg["protocol_params"]) - set(board.protocol_params))
    if extra and board.protocol_params:
        problems.append(Problem(source, "config.protocol_params",
                                f"has parameters this board does not declare: {', '.join(extra)}"))
    problems += verify_log(record, source)
    return problems


def over_budget(totals: dict[str, Any], board: Board) -> list[str]:
    """Which of the board's budgets an entry exceeds ("bandwidth", "compute"): cost is not misconduct,
    so such an entry is filed, scored by the formula (which has no cutoff) and marked."""
    gb, tflops = _measures(totals, board.convention)
    return [what for what, used, limit in (("bandwidth", gb, board.bmax_gb), ("compute", tflops, board.cmax_tflops))
            if used > limit]


def _load(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        return load_record(path), []
    except ResultError as exc:
        message = str(exc)
        prefix = f"{path}: "
        return None, [Problem(str(path), "record", message[len(prefix):] if message.startswith(prefix) else message)]


# ------------------------------------------------------------------------------------------ submit
@dataclass
class SubmitReport:
    filed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    boards: list[Board] = field(default_factory=list)


def _seed_key(record: dict[str, Any]) -> str:
    return config_hash(record["config"], include_seed=True)


def submit(files: Sequence[str | Path], board_dir: str | Path = "leaderboards", replace: bool = False) -> SubmitReport:
    """Validate every file, then file them all under their boards and regenerate those boards.

    Raises SubmissionError (and files nothing) when any record is refused. A record already on the
    board (same digest) is left as it is; another record of the same configuration and seed is
    refused unless ``replace``.
    """
    boards = find_boards(board_dir)
    problems: list[Problem] = []
    accepted: list[tuple[Path, dict[str, Any], Board]] = []
    for file in map(Path, files):
        record, load_problems = _load(file)
        if record is None:
            problems += load_problems
            continue
        protocol = record["config"].get("protocol")
        board = boards.get(protocol)
        if board is None:
            problems.append(Problem(str(file), "config.protocol",
                                    f"no board for protocol '{protocol}' under {board_dir} (boards: "
                                    f"{', '.join(boards) or 'none'}); create one with `c3bench leaderboard new {protocol}`"))
            continue
        problems += validate_entry(record, str(file), board)
        accepted.append((file, record, board))
    report = SubmitReport()
    on_board: dict[str, dict[str, Path]] = {}  # protocol -> config+seed hash -> entry file
    copies: list[tuple[Path, Path]] = []
    removals: list[Path] = []
    submitted: dict[str, str] = {}
    for file, record, board in accepted:
        if board.protocol not in on_board:
            on_board[board.protocol] = {_seed_key(r): p for p, r in _entries(board) if r is not None}
        target = board.entries_dir / f"{record['name']}.json"
        key = _seed_key(record)
        if key in submitted:
            problems.append(Problem(str(file), "config", f"same configuration and seed as {submitted[key]}"))
            continue
        submitted[key] = str(file)
        holder = on_board[board.protocol].get(key)
        if holder is not None:
            current, _ = _load(holder)
            if current is not None and current["digest"] == record["digest"] and holder == target:
                report.unchanged.append(target)
                continue
            if not replace:
                problems.append(Problem(str(file), "config", f"{holder} already holds this configuration and "
                                        "seed with different content; pass --replace to swap it"))
                continue
            if holder != target:
                removals.append(holder)
        elif target.exists() and not replace:
            problems.append(Problem(str(file), "name", f"{target} exists (another run of that name); "
                                    "pass --replace to overwrite it"))
            continue
        copies.append((file, target))
        if board not in report.boards:
            report.boards.append(board)
    if problems:
        raise SubmissionError(problems)
    for source, target in copies:
        write_atomic(target, source.read_bytes())
        report.filed.append(target)
    for old in removals:
        old.unlink(missing_ok=True)
    for board in report.boards:
        write_board(board)
    return report


# ------------------------------------------------------------------------------------------ rendering
def _entries(board: Board) -> list[tuple[Path, dict[str, Any] | None]]:
    out = []
    for path in sorted(board.entries_dir.glob("*.json")):
        record, _ = _load(path)
        out.append((path, record))
    return out


def _recomputed(record: dict[str, Any]) -> dict[str, Any]:
    """The record with totals recomputed from its per-round log (what every board number comes from)."""
    return {**record, "totals": totals_from_rounds(record["rounds"])}


def board_rows(board: Board, records: Sequence[tuple[str, dict[str, Any]]]) -> list[ScoreRow]:
    rows, _ = score_table([(s, _recomputed(r)) for s, r in records], board.bmax_gb, board.cmax_tflops,
                          board.temperature, board.convention)
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADERS = ("rank", "method", "settings", "rounds", "seeds", "C3", "accuracy (%)", "GB", "client TFLOPs",
           "total TFLOPs", "sim. time (s)", "status", "entries")
NUMERIC = {"rank", "rounds", "seeds", "C3", "GB", "client TFLOPs", "total TFLOPs", "sim. time (s)"}


def _row_cells(rank: int, row: ScoreRow, board: Board, records: dict[str, dict[str, Any]],
               settings: dict[str, str]) -> list[str]:
    first = records[row.files[0]]
    links = ", ".join(f"[s{records[f]['config']['seed']}]({ENTRIES}/{Path(f).name})"
                      for f in sorted(row.files, key=lambda f: records[f]["config"]["seed"]))
    status = row.status.replace(",", ", ")
    if row.seeds < board.min_seeds:
        status = f"provisional ({row.seeds} of {board.min_seeds} seeds)" + ("" if status == "completed" else f"; {status}")
    over = sorted({w for f in row.files for w in over_budget(_recomputed(records[f])["totals"], board)})
    if over:
        status += f"; over budget ({', '.join(over)})"
    return [str(rank), row.method, settings.get(row.config_hash) or "-", str(first["config"]["rounds"]), str(row.seeds),
            _fmt(row.c3, ".4f"), f"{row.accuracy_mean:.2f} ± {row.accuracy_std:.2f}", f"{row.bandwidth_gb:.4g}",
            f"{row.client_tflops:.4g}", f"{row.total_tflops:.4g}", _fmt(row.sim_time_s, ".4g"), status, links]


def render_readme(board: Board, records: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """The board's README.md, a pure function of the board declaration and its entries."""
    by_source = {s: r for s, r in records}
    rows = board_rows(board, records)
    params = ", ".join(f"{k}={v}" for k, v in sorted(board.protocol_params.items())) or "defaults"
    option = "" if board.path.parent.name == "leaderboards" else f" --board-dir {board.path.parent.name}"
    lines = [
        "<!-- Generated by c3bench (submit / leaderboard render). Do not edit: `c3bench leaderboard check` "
        "regenerates it from entries/ and fails on any difference. -->",
        f"# {board.title or board.protocol + ' leaderboard'}",
        "",
        board.description,
        "",
        f"- Protocol: `{board.protocol}`, parameters: {params}.",
        f"- Budgets: Bmax = {board.bmax_gb:g} GB, Cmax = {board.cmax_tflops:g} TFLOPs, temperature T = "
        f"{board.temperature:g}; {CONVENTION_TEXT[board.convention]}.",
        "- Score: C3 = A/100 · exp(−(B/Bmax + C/Cmax)/T), from the mean accuracy A, bandwidth B and client "
        "compute C over a configuration's seeds. An entry above a budget is filed, scored by the same formula "
        "and marked *over budget* (cost is not misconduct; refusals are for wrong or tampered records).",
        "- Settings: the method's hyperparameters that differ between its configurations on this board "
        "(every setting is in the entry files).",
        f"- Ranked by C3. Configurations with fewer than {board.min_seeds} seeds are provisional.",
        "",
    ]
    if rows:
        settings = distinguishing_settings([r for _, r in records])
        lines += [
            "| " + " | ".join(HEADERS) + " |",
            "|" + "|".join("---:" if h in NUMERIC else "---" for h in HEADERS) + "|",
            *("| " + " | ".join(_row_cells(rank, row, board, by_source, settings)) + " |"
              for rank, row in enumerate(rows, 1)),
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
        "```",
        f"c3bench submit results/*.json{option}",
        f"c3bench leaderboard check{option}",
        "```",
        "",
    ]
    return "\n".join(lines)


def write_board(board: Board) -> None:
    """Regenerate README.md and the trade-off figure from the entries."""
    records = [(str(p.relative_to(board.path)), r) for p, r in _entries(board) if r is not None]
    write_atomic(board.readme, render_readme(board, records))
    finished = [(s, _recomputed(r)) for s, r in records if r["rounds"]]
    if finished:
        fig = tradeoff_figure(finished, board.convention, iso_levels=[], bmax=board.bmax_gb,
                              cmax=board.cmax_tflops, temperature=board.temperature,
                              title=f"{board.protocol} leaderboard: mean ± std over seeds "
                                    f"({board.convention} convention)")
        save(fig, board.figure)
    else:
        board.figure.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------ check
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


def check_board(board: Board) -> list[Problem]:
    """Recompute everything on one board; an empty list means it is consistent."""
    problems: list[Problem] = []
    records: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for path, record in _entries(board):
        if record is None:
            problems += _load(path)[1]
            continue
        entry_problems = validate_entry(record, str(path), board)
        if record["name"] != path.stem:
            entry_problems.append(Problem(str(path), "name", f"is '{record['name']}', the file is named '{path.stem}'"))
        key = _seed_key(record)
        if key in seen:
            entry_problems.append(Problem(str(path), "config", f"same configuration and seed as {seen[key]}"))
        seen[key] = str(path)
        problems += entry_problems
        if not entry_problems:
            records.append((str(path.relative_to(board.path)), record))
    if problems:  # the README cannot be judged against entries that are themselves wrong
        return problems
    if not board.readme.exists():
        return [Problem(str(board.readme), "file", "missing; run `c3bench leaderboard render`")]
    problems += _readme_diff(board, board.readme.read_text(encoding="utf-8"), render_readme(board, records))
    if records and not board.figure.exists():
        problems.append(Problem(str(board.figure), "file", "missing; run `c3bench leaderboard render`"))
    return problems


def check(board_dir: str | Path = "leaderboards") -> tuple[dict[str, Board], list[Problem]]:
    """Check every board under ``board_dir``."""
    root = Path(board_dir)
    problems: list[Problem] = []
    boards: dict[str, Board] = {}
    if not root.is_dir():
        raise ConfigError(f"no leaderboard folder at {root}.")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            board = Board.load(folder)
        except ConfigError as exc:
            problems.append(Problem(str(folder / BOARD_FILE), "board", str(exc)))
            continue
        boards[board.protocol] = board
        problems += check_board(board)
    return boards, problems


def summary(board: Board) -> dict[str, Any]:
    """Counts for messages: entries, configurations, provisional ones."""
    records = [(str(p), r) for p, r in _entries(board) if r is not None]
    rows = board_rows(board, records) if records else []
    return {"entries": len(records), "configurations": len(rows),
            "provisional": sum(r.seeds < board.min_seeds for r in rows),
            "best_c3": max((r.c3 for r in rows if r.c3 is not None), default=None),
            "mean_c3": statistics.fmean(r.c3 for r in rows if r.c3 is not None) if rows else None}
