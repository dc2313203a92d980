"""`c3bench submit` and `c3bench leaderboard check|verify|render|new`: the leaderboard folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from c3bench import completion
from c3bench.console import (
    PathFormat,
    ViewFormat,
    esc,
    format_option,
    json_option,
    out,
    output_format,
    result_files,
    user_errors,
)
from c3bench.log import log

BOARD_DIR_HELP = "Folder holding one board per protocol."


def _report(problems) -> None:
    for problem in problems:
        log.error(str(problem))


def _problems(problems) -> list[dict[str, str]]:
    return [{"file": p.file, "field": p.field, "message": p.message} for p in problems]


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def submit(
        files: list[Path] = typer.Argument(..., help="Result records to submit, or folders of them (searched "
                                           "recursively, e.g. results/adasplit-table2/); '-' reads names from stdin."),
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
        replace: bool = typer.Option(False, "--replace", help="Replace an entry of the same configuration and seed."),
        data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Dataset folder, to recompute each "
                                              "record's data digest (env C3BENCH_DATA)."),
        fmt: PathFormat | None = format_option(PathFormat, PathFormat.path),
        as_json: bool = json_option(),
    ) -> None:
        """Validate result records and file the valid ones under their protocol's board; regenerate its README.

        Each record must be finished, well-formed and self-consistent (its totals are what its per-round
        log gives), run with the registered protocol (version, content hash) and the board's protocol
        parameters, on the data its seed gives (the digest is recomputed), by committed code where the
        board asks for it. An identical re-run of an entry counts as already there; an entry over a
        budget is filed and marked. Refusals are reported per file (exit 1 when any). The boards' README,
        figure and declared reports and figures (board.json "reports", "figures") are regenerated. Prints the filed entries' paths
        on stdout.

        Example: c3bench submit results/adasplit-table2/ --data-root ../shared/data
        """
        from c3bench.board_reports import write_reports
        from c3bench.leaderboard import submit as do_submit
        from c3bench.leaderboard import summary

        chosen = output_format(fmt, as_json, PathFormat.path)
        report = do_submit(result_files(files), board_dir, replace, data_root)
        for board in report.boards:
            for path in write_reports(board):
                log.info(f"regenerated {path}")
        for path in report.unchanged:
            log.info(f"already on the board: {path}")
        if chosen == "json":
            out.print_json(json.dumps({"filed": [str(p) for p in report.filed],
                                       "unchanged": [str(p) for p in report.unchanged],
                                       "refused": _problems(report.refused)}))
        else:
            for path in report.filed:
                print(path)
        for board in report.boards:
            s = summary(board)
            log.info(f"{board.protocol}: {s['entries']} entries in {s['configurations']} configurations "
                     f"({s['provisional']} provisional) -> {board.readme}")
        if report.refused:
            _report(report.refused)
            refused_files = len({p.file for p in report.refused})
            log.error(f"refused {refused_files} file(s); {len(report.filed)} filed, {len(report.unchanged)} already "
                      "there.")
            raise typer.Exit(1)

    board_app = typer.Typer(help="Check, verify, render or create leaderboards (e.g. c3bench leaderboard check).",
                            no_args_is_help=True)
    app.add_typer(board_app, name="leaderboard")

    @board_app.command("check")
    @user_errors
    def check(
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
        data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Dataset folder, to recompute "
                                              "the entries' data digests (env C3BENCH_DATA)."),
        no_data: bool = typer.Option(False, "--no-data", help="Skip recomputing data digests (no dataset here)."),
        html: Path | None = typer.Option(None, "--html", help="When every board passes, also write the web site "
                                         "of the boards to this folder."),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """Recompute every number on every board from the raw per-round logs and check every entry's
        values, status and provenance, the README, each declared report (board.json "reports") and that
        each declared figure ("figures") is there; exit 1 on any problem (JSON: each board's counts and the problems).

        Example: c3bench leaderboard check --data-root ../shared/data --html site/
        """
        from c3bench.board_reports import check_figures, check_reports
        from c3bench.leaderboard import check as do_check
        from c3bench.leaderboard import summary

        chosen = output_format(fmt, as_json, ViewFormat.table)
        boards, problems = do_check(board_dir, data_root, recompute_data=not no_data)
        for board in boards.values():
            problems += check_reports(board) + check_figures(board)
        if chosen == "json":
            out.print_json(json.dumps({"boards": {b.protocol: summary(b) for b in boards.values()},
                                       "problems": _problems(problems)}))
        if problems:
            _report(problems)
            log.error(f"leaderboard check failed: {len(problems)} problem(s).")
            raise typer.Exit(1)
        for board in boards.values():
            s = summary(board)
            log.info(f"ok {board.protocol}: {s['entries']} entries, {s['configurations']} configurations")
        if not boards:
            log.warning(f"no boards under {board_dir}")
        if html is not None:
            from c3bench.site import write_site

            written = write_site(board_dir, html)
            log.info(f"wrote {len(written)} files; open {html / 'index.html'}")

    @board_app.command("verify")
    @user_errors
    def verify(
        boards: list[str] = typer.Argument(None, autocompletion=completion.protocol_names,
                                           help="Boards (protocol names) to verify; default: all."),
        sample: int | None = typer.Option(None, "--sample", "-n", min=1, help="Re-run only this many entries per "
                                          "board, drawn with --seed."),
        seed: int = typer.Option(0, "--seed", help="Seed for drawing the sample."),
        method: list[str] = typer.Option([], "--method", "-m", autocompletion=completion.method_names,
                                         help="Only entries of this method (repeatable)."),
        rounds: int | None = typer.Option(None, "--rounds", "-r", min=1, help="Re-run only each entry's first N "
                                          "rounds (its settings unchanged) and compare those: a quicker, partial check."),
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
        data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Dataset folder (env C3BENCH_DATA)."),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """Re-run entries from their recorded configuration and seed and compare the per-round logs:
        identical where the platform and threads match the record's, within stated tolerances
        otherwise. A consistently forged record fails here. Exit 1 when any entry fails.

        Examples:
        c3bench leaderboard verify synthetic --sample 2
        c3bench leaderboard verify mixed-cifar --method fedavg --rounds 1   # the first round of a real entry"""
        from c3bench.hparams import ConfigError
        from c3bench.leaderboard import entries, find_boards
        from c3bench.verify import sample_entries, verify_entry

        chosen = output_format(fmt, as_json, ViewFormat.table)
        found = find_boards(board_dir)
        unknown = [b for b in boards or [] if b not in found]
        if unknown:
            raise ConfigError(f"no board for {', '.join(unknown)} under {board_dir}; boards: {', '.join(found)}.")
        failed = 0
        verdicts = []
        for name in boards or list(found):
            items = [(p, r) for p, r in entries(found[name])
                     if r is not None and (not method or r["config"]["method"] in method)]
            if method and not items:
                raise ConfigError(f"board {name} has no entry of {', '.join(method)}.")
            for path, record in sample_entries(items, sample, seed):
                log.info(f"re-running {path} ...")
                verdict = verify_entry(path, record, str(data_root) if data_root else None, rounds)
                verdicts.append(verdict)
                failed += not verdict.ok
                if chosen == "json":
                    continue
                part = "" if verdict.rounds == verdict.of_rounds else f", first {verdict.rounds} of {verdict.of_rounds} rounds"
                if verdict.ok:
                    out.print(f"[green]ok[/] {esc(str(path))} ({esc(verdict.mode)}{part}, {verdict.seconds:.1f} s)",
                              highlight=False)
                else:
                    out.print(f"[red]FAILED[/] {esc(str(path))} ({esc(verdict.mode)}{part})", highlight=False)
                    for line in verdict.differences[:10]:
                        out.print(f"    {line}", highlight=False, soft_wrap=True, markup=False)
        if chosen == "json":
            out.print_json(json.dumps([{k: getattr(v, k) for k in ("file", "ok", "mode", "differences", "seconds",
                                                                  "rounds", "of_rounds")} for v in verdicts]))
        if failed:
            log.error(f"verify failed: {failed} entr{'y' if failed == 1 else 'ies'} not reproduced.")
            raise typer.Exit(1)

    @board_app.command("render")
    @user_errors
    def render(
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
        protocol: list[str] = typer.Option([], "--protocol", "-p", autocompletion=completion.protocol_names,
                                           help="Only these boards (repeatable)."),
        html: Path | None = typer.Option(None, "--html", help="Also write a static web site of the boards to this "
                                         "folder (open its index.html; no server needed)."),
        fmt: PathFormat | None = format_option(PathFormat, PathFormat.path),
        as_json: bool = json_option(),
    ) -> None:
        """Regenerate README.md, tradeoff.png and the declared reports and figures (board.json "reports",
        "figures") of the boards from their entries (and, with --html, a web site); prints the READMEs' paths.

        Example: c3bench leaderboard render --html site/
        """
        from c3bench.board_reports import write_reports
        from c3bench.hparams import ConfigError
        from c3bench.leaderboard import find_boards, write_board

        chosen = output_format(fmt, as_json, PathFormat.path)
        boards = find_boards(board_dir)
        unknown = [p for p in protocol if p not in boards]
        if unknown:
            raise ConfigError(f"no board for {', '.join(unknown)} under {board_dir}; boards: {', '.join(boards)}.")
        rendered = []
        for name, board in boards.items():
            if not protocol or name in protocol:
                write_board(board)
                rendered.append(board.readme)
                log.info(f"rendered {board.readme}")
                for path in write_reports(board):
                    log.info(f"rendered {path}")
        written = []
        if html is not None:
            from c3bench.site import write_site

            written = write_site(board_dir, html)
            log.info(f"wrote {len(written)} files; open {html / 'index.html'}")
        if chosen == "json":
            out.print_json(json.dumps({"readmes": [str(p) for p in rendered], "site": [str(p) for p in written]}))
        else:
            for path in rendered:
                print(path)

    @board_app.command("new")
    @user_errors
    def new(
        protocol: str = typer.Argument(..., autocompletion=completion.protocol_names, help="Protocol the board ranks."),
        bmax: float = typer.Option(..., help="Bandwidth budget Bmax in GB."),
        cmax: float = typer.Option(..., help="Client-compute budget Cmax in TFLOPs."),
        temperature: float = typer.Option(8.0, "--temperature", "-T", help="C3 temperature."),
        convention: str = typer.Option("c3bench", help="c3bench or paper (how B and C are counted)."),
        set_: list[str] = typer.Option([], "--set", help="Protocol parameter entries must use, key=value (repeatable); "
                                       "the others are fixed at their defaults."),
        title: str = typer.Option("", help="Board title."),
        committed: bool = typer.Option(False, "--committed", help="Accept only entries made by committed code of this "
                                       "repository (as the shipped boards do)."),
        board_dir: Path = typer.Option(Path("leaderboards"), "--board-dir", help=BOARD_DIR_HELP),
        fmt: PathFormat | None = format_option(PathFormat, PathFormat.path),
        as_json: bool = json_option(),
    ) -> None:
        """Create leaderboards/<protocol>/board.json with fixed budgets, temperature and protocol parameters;
        prints its path.

        Example: c3bench leaderboard new niid-bench --bmax 10 --cmax 5 --set partition=dirichlet
        """
        from c3bench.hparams import parse_assignments
        from c3bench.leaderboard import new_board, write_board

        board = new_board(board_dir, protocol, bmax, cmax, temperature, convention, parse_assignments(set_), title,
                          provenance="committed" if committed else "any")
        chosen = output_format(fmt, as_json, PathFormat.path)
        write_board(board)
        log.info(f"created {board.path / 'board.json'}")
        if chosen == "json":
            out.print_json(json.dumps({"board": str(board.path / "board.json")}))
        else:
            print(board.path / "board.json")
