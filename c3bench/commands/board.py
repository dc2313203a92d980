"""`c3bench submit` and `c3bench leaderboard check|render|new`: the leaderboard folder."""

from __future__ import annotations

from pathlib import Path

import typer

BOARD_DIR_HELP = "Folder holding one board per protocol."


def register(app: typer.Typer) -> None:
    from c3bench.console import err, out, user_errors
    from c3bench.hparams import ConfigError, parse_assignments

    def _report(problems) -> None:
        for problem in problems:
            err.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)

    @app.command()
    @user_errors
    def submit(
        files: list[Path] = typer.Argument(..., help="Result records to submit (results/*.json)."),
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
        replace: bool = typer.Option(False, "--replace", help="Replace an entry of the same configuration and seed."),
    ) -> None:
        """Validate result records and file them under their protocol's board; regenerate its README.

        Each record must be finished, untampered (digest), run with the registered protocol (hash) and
        the board's protocol parameters, have totals that its per-round log reproduces, and stay within
        the board's budgets. If any record is refused, nothing is filed (exit 1).
        """
        from c3bench.leaderboard import SubmissionError, summary
        from c3bench.leaderboard import submit as do_submit

        try:
            report = do_submit(files, board_dir, replace)
        except SubmissionError as exc:
            _report(exc.problems)
            err.print(f"[red]refused[/]: {len(exc.problems)} problem(s); nothing was filed.")
            raise typer.Exit(1) from None
        for path in report.unchanged:
            err.print(f"already on the board: {path}")
        for path in report.filed:
            out.print(str(path), highlight=False)
        for board in report.boards:
            s = summary(board)
            err.print(f"[green]{board.protocol}[/]: {s['entries']} entries in {s['configurations']} configurations "
                      f"({s['provisional']} provisional) -> {board.readme}")

    board_app = typer.Typer(help="Check, render or create leaderboards.", no_args_is_help=True)
    app.add_typer(board_app, name="leaderboard")

    @board_app.command("check")
    @user_errors
    def check(board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP)) -> None:
        """Recompute every number on every board from the raw per-round logs; exit 1 on any mismatch."""
        from c3bench.leaderboard import check as do_check

        boards, problems = do_check(board_dir)
        if problems:
            _report(problems)
            err.print(f"[red]leaderboard check failed[/]: {len(problems)} problem(s).")
            raise typer.Exit(1)
        from c3bench.leaderboard import summary

        for board in boards.values():
            s = summary(board)
            err.print(f"[green]ok[/] {board.protocol}: {s['entries']} entries, {s['configurations']} configurations")
        if not boards:
            err.print(f"no boards under {board_dir}")

    @board_app.command("render")
    @user_errors
    def render(
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
        protocol: list[str] = typer.Option([], "--protocol", "-p", help="Only these boards (repeatable)."),
    ) -> None:
        """Regenerate README.md and tradeoff.png of the boards from their entries."""
        from c3bench.leaderboard import find_boards, write_board

        boards = find_boards(board_dir)
        unknown = [p for p in protocol if p not in boards]
        if unknown:
            raise ConfigError(f"no board for {', '.join(unknown)} under {board_dir}; boards: {', '.join(boards)}.")
        for name, board in boards.items():
            if not protocol or name in protocol:
                write_board(board)
                err.print(f"rendered {board.readme}")

    @board_app.command("new")
    @user_errors
    def new(
        protocol: str = typer.Argument(..., help="Protocol the board ranks."),
        bmax: float = typer.Option(..., help="Bandwidth budget Bmax in GB."),
        cmax: float = typer.Option(..., help="Client-compute budget Cmax in TFLOPs."),
        temperature: float = typer.Option(8.0, "--temperature", "-T", help="C3 temperature."),
        convention: str = typer.Option("c3bench", help="c3bench or paper (how B and C are counted)."),
        set_: list[str] = typer.Option([], "--set", help="Protocol parameter entries must use, key=value (repeatable); "
                                       "the others are fixed at their defaults."),
        title: str = typer.Option("", help="Board title."),
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
    ) -> None:
        """Create leaderboards/<protocol>/board.json with fixed budgets, temperature and protocol parameters."""
        from c3bench.leaderboard import new_board, write_board

        board = new_board(board_dir, protocol, bmax, cmax, temperature, convention, parse_assignments(set_), title)
        write_board(board)
        err.print(f"created {board.path / 'board.json'}")
