"""One view of a board's ranking, the rows both the README (Markdown) and the web site (HTML) render:
rank, method, distinguishing settings, seeds, scores and costs, status marks, and the entries of each
configuration. The wording of every mark lives here, once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from c3bench.board import Board, board_rows, over_budget
from c3bench.results import totals_from_rounds
from c3bench.series import distinguishing_setting_lists

if TYPE_CHECKING:
    from c3bench.score import ScoreRow


@dataclass(frozen=True)
class Marks:
    """A configuration's status: fewer seeds than the board asks, how its runs ended, budgets crossed."""

    provisional: str  # "provisional (1 of 3 seeds)" or ""
    state: str  # the runs' statuses, "" for a provisional configuration whose runs all completed
    over: str  # "over budget (compute)" or ""

    def text(self) -> str:
        """The marks as one line (the README's status cell)."""
        return "; ".join(part for part in (self.provisional, self.state, self.over) if part)


@dataclass(frozen=True)
class ViewRow:
    rank: int
    score: ScoreRow
    settings: str  # what tells this configuration apart from the method's others, or "-"
    rounds: int
    marks: Marks
    entries: list[tuple[int, str]]  # (seed, source), by seed
    setting_list: tuple[str, ...] = ()  # the settings one by one (``settings`` joins them with ', ')

    @property
    def accuracy_std(self) -> float | None:
        """The std over seeds, None for a single seed (no spread to show)."""
        return self.score.accuracy_std if self.score.seeds > 1 else None


def marks(row: ScoreRow, board: Board, over: Sequence[str]) -> Marks:
    state = row.status.replace(",", ", ")
    provisional = f"provisional ({row.seeds} of {board.min_seeds} seeds)" if row.seeds < board.min_seeds else ""
    if provisional and state == "completed":
        state = ""
    return Marks(provisional, state, f"over budget ({', '.join(over)})" if over else "")


def board_view(board: Board, records: Sequence[tuple[str, dict[str, Any]]]) -> list[ViewRow]:
    """The ranked rows of ``board`` for these (source, record) entries."""
    by_source = dict(records)
    settings = distinguishing_setting_lists([r for _, r in records]) if records else {}
    view = []
    for rank, row in enumerate(board_rows(board, records) if records else [], 1):
        over = sorted({w for f in row.files for w in over_budget(totals_from_rounds(by_source[f]["rounds"]), board)})
        entries = sorted((by_source[f]["config"]["seed"], f) for f in row.files)
        parts = tuple(settings.get(row.config_hash) or ())
        view.append(ViewRow(rank, row, ", ".join(parts) or "-", by_source[row.files[0]]["config"]["rounds"],
                            marks(row, board, over), entries, parts))
    return view
