"""`c3bench reproduce NAME`: run a published table's configurations over seeds, then print it beside
the published numbers."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from c3bench.commands.sweep import MAX_PARALLEL, Executor, stopped_by_os_error


class ReportFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    from c3bench.console import err, esc, out, user_errors

    @app.command()
    @user_errors
    def reproduce(
        names: list[str] = typer.Argument(None, help="Configurations to reproduce, e.g. adasplit-table2 (see --list); "
                                          "NAME/RUN for one row, or your own file.toml."),
        list_suites: bool = typer.Option(False, "--list", help="List the reproducible configurations and stop."),
        seeds: str | None = typer.Option(None, "--seeds", "-s", help="Seeds to run, e.g. 0-2 (default: the "
                                         "configuration's; fewer makes a shrunk report)."),
        rounds: int | None = typer.Option(None, "--rounds", "-r", help="Rounds per run (default: the configuration's; "
                                          "fewer makes a shrunk report)."),
        rows: str | None = typer.Option(None, "--rows", help="Only these rows, comma-separated (e.g. fedavg,adasplit)."),
        data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Dataset folder (env C3BENCH_DATA)."),
        out_dir: Path | None = typer.Option(None, "--out", "-o", help="Folder for the records (default: "
                                            "results/<NAME>); what already has a result there is skipped."),
        jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, max=MAX_PARALLEL, help="Runs at once (worker processes with "
                                        "cores/N threads each, or Ray CPUs)."),
        executor: Executor | None = typer.Option(None, help="serial, process or ray (default: serial for -j 1, "
                                                 "else process)."),
        ray_address: str | None = typer.Option(None, help="Join this Ray cluster instead of starting a local one."),
        device: str = typer.Option("cpu", help="torch device for every run."),
        flush_denormal: bool = typer.Option(False, "--flush-denormal", help="CPU, one torch thread per run: compute "
                                            "subnormal floats as zero (as `c3bench run --flush-denormal`); kept in "
                                            "each record."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan with a time estimate per run, measured "
                                     "on this machine from a slice of each run's real rounds; run nothing."),
        report_only: bool = typer.Option(False, "--report", help="Print the report from the results already there; "
                                         "run nothing."),
        fmt: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f", help="table, markdown, csv or json."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    ) -> None:
        """Reproduce a published table: its rows over seeds, as a resumable sweep, then the side-by-side report.

        Examples:
          c3bench reproduce --list
          c3bench reproduce adasplit-table2 --data-root ../shared/data --seeds 0-2 -j 2
          c3bench reproduce adasplit-table1 --dry-run
          c3bench reproduce adasplit-table2 --report --format markdown > REPRODUCTION.md
        """
        from c3bench.configs import named_configs
        from c3bench.hparams import ConfigError
        from c3bench.reproduce import build_report, plan_suite, render_csv, render_json, render_markdown
        from c3bench.results import ResultError, load_record
        from c3bench.sweep import parse_seeds, plan, run_sweep

        if list_suites:
            _list(out, named_configs())
            return
        if not names:
            raise ConfigError("name a configuration to reproduce (see `c3bench reproduce --list`).")
        seed_list = parse_seeds(seeds) if seeds else None
        row_list = [r.strip() for r in rows.split(",") if r.strip()] if rows else None
        reports = []
        for name in names:
            config, planned = plan_suite(name, seed_list, rounds, str(data_root) if data_root else None, device, row_list,
                                         flush_denormal)
            folder = out_dir or Path("results") / config.name
            runs = [p.run for p in planned]
            sweep_plan = plan(runs, folder)
            err.print(f"{esc(config.name)}: {len(config.runs) if not row_list else len(row_list)} rows x "
                      f"{len({p.seed for p in planned})} seeds = {len(runs)} runs, {len(sweep_plan.done)} already done, "
                      f"{len(sweep_plan.todo)} to run -> {esc(str(folder))}", highlight=False)
            if dry_run:
                _estimate(out, err, planned, sweep_plan, jobs)
                continue
            if sweep_plan.todo and not report_only:
                from c3bench.commands.sweep import SweepProgress

                chosen = executor.value if executor else ("serial" if (jobs or 1) == 1 else "process")
                display = SweepProgress(sweep_plan, quiet)
                try:
                    outcome = run_sweep(sweep_plan, folder, chosen, jobs, ray_address, display)
                finally:
                    display.stop()
                if outcome.interrupted:
                    err.print("[yellow]interrupted[/]: finished runs are kept; the same command resumes.")
                    raise typer.Exit(130)
                for failure in outcome.failed:
                    err.print(f"[red]failed[/] {esc(failure.name)}: {esc(str(failure.error))}", highlight=False)
                stopped_by_os_error(outcome)
                sweep_plan = plan(runs, folder)
            records = {}
            for run_name, path in sweep_plan.done.items():
                try:
                    records[run_name] = (str(path), load_record(path))
                except ResultError as exc:
                    err.print(f"[yellow]note:[/] {esc(str(exc))}", highlight=False)
            reports.append(build_report(config, planned, records))
        if dry_run:
            return
        if fmt is ReportFormat.json:
            print(render_json(reports))
        elif fmt is ReportFormat.csv:
            print(render_csv(reports), end="")
        elif fmt is ReportFormat.markdown:
            print("\n".join(render_markdown(r) for r in reports))
        else:
            for report in reports:
                _print_table(out, report)


def _list(out, configs) -> None:
    from rich.table import Table

    from c3bench.console import cells

    table = Table(title="reproducible configurations (c3bench reproduce NAME)", title_justify="left")
    for col in ("name", "protocol", "rows", "seeds", "runs", "description"):
        table.add_column(col)
    for c in configs.values():
        table.add_row(*cells(c.name, c.protocol, len(c.runs), len(c.seeds), len(c.runs) * len(c.seeds), c.description))
    out.print(table)


def _print_table(out, report) -> None:
    from rich.table import Table
    from rich.text import Text

    from c3bench.console import cells
    from c3bench.reproduce import COMPACT_HEADERS, caption, compact_cells

    table = Table(title=Text(f"{report.config} ({report.protocol})"), caption=Text(caption(report)), caption_justify="left")
    for h in COMPACT_HEADERS:
        table.add_column(h, justify="left" if h in ("row", "ok") else "right")
    for r in report.rows:
        table.add_row(*cells(*compact_cells(r)))
    out.print(table)


def _estimate(out, err, planned, sweep_plan, jobs) -> None:
    """Measure each distinct run's speed here and print the plan with its time estimate."""
    import os

    from rich.table import Table

    from c3bench.console import cells
    from c3bench.reproduce import probe_seconds
    from c3bench.units import human_duration

    todo = {j.name: j for j in sweep_plan.todo}
    federations: dict[tuple, object] = {}
    estimates: dict[str, float] = {}
    table = Table(title="plan (estimates measured on this machine)", title_justify="left")
    for col in ("run", "seed", "rounds", "action", "estimate"):
        table.add_column(col, justify="right" if col in ("seed", "rounds", "estimate") else "left")
    total = 0.0
    for p in planned:
        run = p.run
        action = "skip (done)" if run.name in sweep_plan.done else (
            f"resume at round {todo[run.name].start_round + 1}" if todo[run.name].resume else "run")
        estimate = None
        if run.name in todo:
            key = (run.protocol_cls.name, repr(sorted(run.protocol_params.items())), p.seed)
            speed_key = repr((run.method_cls.name, sorted(run.method_params.items()), run.rounds, key[:2]))
            if speed_key not in estimates:
                if key not in federations:
                    federations[key] = run.protocol_cls().build(run.protocol_params, p.seed, run.spec.data_root and Path(run.spec.data_root))
                err.print(f"measuring {p.row.name} ...", highlight=False, markup=False)
                estimates[speed_key] = probe_seconds(run, federations[key])
            left = todo[run.name].rounds - todo[run.name].start_round
            estimate = estimates[speed_key] * left / run.rounds
            total += estimate
        table.add_row(*cells(p.row.name, p.seed, run.rounds, action, human_duration(estimate) if estimate else "-"))
    out.print(table)
    cores = os.cpu_count() or 1
    parallel = min(jobs or 1, cores)
    err.print(f"estimated total: {human_duration(total)} run one at a time"
              + (f"; with -j {parallel}, about {human_duration(total / parallel)} at best (cores shared)"
                 if parallel > 1 else ""), highlight=False)
