"""`c3bench reproduce NAME`: run a published table's configurations over seeds, then print it beside
the published numbers."""

from __future__ import annotations

from pathlib import Path

import typer

from c3bench import completion
from c3bench.commands.sweep import MAX_PARALLEL, Executor, stopped_by_os_error
from c3bench.console import Format, format_option, json_option, output_format
from c3bench.log import log


def register(app: typer.Typer) -> None:
    from c3bench.console import out, user_errors

    @app.command()
    @user_errors
    def reproduce(
        names: list[str] = typer.Argument(None, autocompletion=completion.suite_names,
                                          help="Configurations to reproduce, e.g. adasplit-table2 (see --list); "
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
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan with each run's counted FLOPs and a time "
                                     "estimate from this machine's calibration (and -j); trains nothing."),
        calibrate: bool = typer.Option(False, "--calibrate", help="Measure this machine's speed for each method of "
                                       "the plan (a few seconds of real training each), keep it for later dry runs, "
                                       "then print the dry run."),
        report_only: bool = typer.Option(False, "--report", help="Print the report from the results already there; "
                                         "run nothing."),
        fmt: Format | None = format_option(Format, Format.table),
        as_json: bool = json_option(),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    ) -> None:
        """Reproduce a published table: its rows over seeds, as a resumable sweep, then the side-by-side report.

        Examples:
          c3bench reproduce --list
          c3bench reproduce adasplit-table2 --data-root ../shared/data --seeds 0-2 -j 2
          c3bench reproduce adasplit-table1 --dry-run -j 2
          c3bench reproduce adasplit-table2 --report --format markdown > REPRODUCTION.md

        Records go to results/<NAME>/ (score, show, plot and submit take that folder).
        """
        from c3bench.configs import named_configs
        from c3bench.hparams import ConfigError
        from c3bench.reproduce import build_report, plan_suite, render_csv, render_json, render_markdown
        from c3bench.results import ResultError, load_record
        from c3bench.sweep import parse_seeds, plan, run_sweep

        chosen = Format(output_format(fmt, as_json, Format.table))
        if list_suites:
            _list(out, named_configs(), chosen)
            return
        if not names:
            raise ConfigError("name a configuration to reproduce (see `c3bench reproduce --list`).")
        seed_list = parse_seeds(seeds) if seeds else None
        row_list = [r.strip() for r in rows.split(",") if r.strip()] if rows else None
        reports, dry = [], []
        suites = []  # every suite planned (and refused, where it must be) before any trains
        for name in names:
            config, planned = plan_suite(name, seed_list, rounds, str(data_root) if data_root else None, device, row_list,
                                         flush_denormal)
            folder = out_dir or Path("results") / config.name
            sweep_plan = plan([p.run for p in planned], folder)
            if not report_only:
                sweep_plan.refuse_other_modes()
            suites.append((config, planned, folder))
        for config, planned, folder in suites:
            runs = [p.run for p in planned]
            sweep_plan = plan(runs, folder)  # again: an earlier suite of this command may have run a shared row
            log.info(f"{config.name}: {len(config.runs) if not row_list else len(row_list)} rows x "
                     f"{len({p.seed for p in planned})} seeds = {len(runs)} runs, {len(sweep_plan.done)} already done, "
                     f"{len(sweep_plan.todo)} to run -> {folder}")
            if dry_run or calibrate:
                dry.append(_estimate(config.name, planned, sweep_plan, jobs, device, calibrate))
                continue
            if sweep_plan.todo and not report_only:
                from c3bench.commands.sweep import SweepProgress

                how = executor.value if executor else ("serial" if (jobs or 1) == 1 else "process")
                display = SweepProgress(sweep_plan, quiet)
                try:
                    outcome = run_sweep(sweep_plan, folder, how, jobs, ray_address, display)
                finally:
                    display.stop()
                if outcome.interrupted:
                    log.warning("interrupted: finished runs are kept; the same command resumes.")
                    raise typer.Exit(130)
                for failure in outcome.failed:
                    log.error(f"failed {failure.name}: {failure.error}")
                stopped_by_os_error(outcome)
                sweep_plan = plan(runs, folder)
            records = {}
            for run_name, path in sweep_plan.done.items():
                try:
                    records[run_name] = (str(path), load_record(path))
                except ResultError as exc:
                    log.warning(str(exc))
            reports.append(build_report(config, planned, records))
        if dry_run or calibrate:
            _print_plans(out, dry, chosen, jobs)
            return
        if chosen is Format.json:
            print(render_json(reports))
        elif chosen is Format.csv:
            print(render_csv(reports), end="")
        elif chosen is Format.markdown:
            print("\n".join(render_markdown(r) for r in reports))
        else:
            for report in reports:
                _print_table(out, report)


def _list(out, configs, fmt: Format) -> None:
    from rich.table import Table

    if fmt is Format.json:
        import json

        out.print_json(json.dumps([{"name": c.name, "protocol": c.protocol, "rows": len(c.runs), "seeds": len(c.seeds),
                                    "runs": len(c.runs) * len(c.seeds), "description": c.description}
                                   for c in configs.values()]))
        return
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


def _estimate(suite: str, planned, sweep_plan, jobs, device: str, calibrate: bool) -> list[dict]:
    """Each planned run's action, counted FLOPs and estimated seconds, without training (``calibrate``:
    first measure each method's speed here, which trains a few seconds each)."""
    from c3bench.estimate import calibrate as measure
    from c3bench.estimate import estimate

    todo = {j.name: j for j in sweep_plan.todo}
    federations: dict[tuple, object] = {}
    measured: set[tuple[str, str]] = set()
    rows = []
    for p in planned:
        run = p.run
        action = "skip (done)" if run.name in sweep_plan.done else (
            f"resume at round {todo[run.name].start_round + 1}" if todo[run.name].resume else "run")
        row = {"suite": suite, "row": p.row.name, "run": run.name, "seed": p.seed, "rounds": run.rounds,
               "action": action, "flops": None, "seconds": None, "rate_from": None}
        if run.name in todo:
            key = (run.protocol_cls.name, repr(sorted(run.protocol_params.items())))
            if key not in federations:  # the data sizes: built (read from the cache), never trained on
                federations[key] = run.protocol_cls().build(run.protocol_params, p.seed,
                                                            run.spec.data_root and Path(run.spec.data_root))
            if calibrate and (run.method_cls.name, run.backbone) not in measured:
                log.info(f"calibrating {run.method_cls.name} on {run.backbone} (a few seconds of real training) ...")
                measure(run, federations[key])
                measured.add((run.method_cls.name, run.backbone))
            left = todo[run.name].rounds - todo[run.name].start_round
            found = estimate(run, federations[key], left, jobs, device)
            row.update(flops=found.flops, seconds=found.seconds, rate_from=found.rate and found.rate.source)
        rows.append(row)
    return rows


def _print_plans(out, plans: list[list[dict]], fmt, jobs: int | None) -> None:
    """The dry run: per run its action, FLOPs and time; the total run one at a time and with -j."""
    import json

    from rich.table import Table

    from c3bench.console import Format, cells
    from c3bench.estimate import makespan, threads_per_run
    from c3bench.units import human_duration, human_flops

    rows = [r for plan in plans for r in plan]
    todo = [r for r in rows if r["flops"] is not None]
    known = [r["seconds"] for r in todo if r["seconds"] is not None]
    missing = len(todo) - len(known)
    total = {"runs": len(todo), "flops": sum(r["flops"] for r in todo), "serial_s": sum(known) if not missing else None,
             "jobs": jobs or 1, "threads_per_run": threads_per_run(jobs),
             "wall_s": makespan(known, jobs) if not missing else None, "uncalibrated_runs": missing}
    if missing:
        log.warning(f"{missing} of {len(todo)} runs have no speed measured on this machine yet, so no time: run the "
                    "same command with --calibrate (a few seconds per method), or any real run of the method "
                    "calibrates it.")
    if fmt is Format.json:
        out.print_json(json.dumps({"runs": rows, "total": total}))
        return
    table = Table(title="plan (FLOPs counted, time from this machine's calibration; nothing trained)",
                  title_justify="left")
    for col in ("run", "seed", "rounds", "action", "FLOPs", "estimate"):
        table.add_column(col, justify="right" if col in ("seed", "rounds", "FLOPs", "estimate") else "left")
    for r in rows:
        table.add_row(*cells(r["row"], r["seed"], r["rounds"], r["action"],
                             human_flops(r["flops"]) if r["flops"] is not None else "-",
                             human_duration(r["seconds"]) if r["seconds"] is not None else "-"))
    out.print(table)
    if known and not missing:
        log.info(f"estimated total: {human_duration(total['serial_s'])} run one at a time"
                 + (f"; with -j {total['jobs']} ({total['threads_per_run']} torch thread(s) each), about "
                    f"{human_duration(total['wall_s'])}" if (jobs or 1) > 1 else ""))
