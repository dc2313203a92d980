"""`c3bench sweep`: a grid of runs over methods, hyperparameters and seeds, resumable, optionally parallel."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from c3bench import completion
from c3bench.console import PathFormat, format_option, json_option, output_format
from c3bench.log import log

MAX_PARALLEL = 4096  # -j: runs at once


def stopped_by_os_error(report) -> None:
    """Raise ConfigError (exit 2) when runs failed on an operating-system error (disk full, read-only
    folder): the machine, not a configuration, stopped them, and the same command resumes them."""
    from c3bench.hparams import ConfigError

    failed = [o for o in report.failed if o.os_error]
    if failed:
        raise ConfigError(f"{len(failed)} run(s) stopped on an operating-system error: {failed[0].error} Finished "
                          "runs are kept; once that is fixed, the same command resumes the others.")


class Executor(str, Enum):
    serial = "serial"
    process = "process"
    ray = "ray"


class SweepProgress:
    """One overall progress display on stderr: rounds done out of all rounds the sweep must run."""

    def __init__(self, sweep_plan, quiet: bool):
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from c3bench.console import err, esc

        self.err, self.esc = err, esc
        self.quiet = quiet
        self.total_runs = len(sweep_plan.todo)
        self.ended = 0
        self.running: dict[str, str] = {}
        self.progress = None
        if quiet or not sweep_plan.todo:
            return
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]sweep[/] runs {task.fields[runs]}"), BarColumn(),
            TaskProgressColumn(), TextColumn("rounds {task.completed:.0f}/{task.total:.0f}"),
            TimeElapsedColumn(), TextColumn("{task.fields[now]}"), console=self.err,
        )
        self.task = self.progress.add_task("sweep", total=sweep_plan.rounds_todo, runs=self._runs(), now="")
        self.progress.start()

    def _runs(self) -> str:
        return f"{self.ended}/{self.total_runs}"

    def _refresh(self, **kwargs) -> None:
        now = ", ".join(list(self.running.values())[:3]) + (" ..." if len(self.running) > 3 else "")
        self.progress.update(self.task, runs=self._runs(), now=f"[dim]{self.esc(now)}[/]", **kwargs)

    def on_run_start(self, job, start_round: int) -> None:
        if self.progress is not None:
            self.running[job.name] = job.label
            self._refresh()

    def on_round(self, job, round_number: int, accuracy: float) -> None:
        if self.progress is not None:
            self._refresh(advance=1)

    def on_run_end(self, job, outcome) -> None:
        self.ended += 1
        self.running.pop(job.name, None)
        if outcome.status == "failed":
            log.error(f"failed {job.label}: {outcome.error}")
        elif not self.quiet and self.progress is not None:
            acc = "-" if outcome.accuracy is None else f"{outcome.accuracy:.2f}%"
            self.progress.console.print(f"[green]{outcome.status}[/] {self.esc(job.label)}: accuracy {acc}",
                                        highlight=False)
        if self.progress is not None:
            self._refresh()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def register(app: typer.Typer) -> None:
    from rich.table import Table

    from c3bench.accounting import Budgets
    from c3bench.console import cells, out, user_errors
    from c3bench.hparams import parse_assignments

    @app.command()
    @user_errors
    def sweep(
        methods: str = typer.Option(..., "--methods", "-m", autocompletion=completion.method_lists,
                                    help="Comma-separated method names, e.g. fedavg,adasplit."),
        protocol: str = typer.Option("synthetic", "--protocol", "-p", autocompletion=completion.protocol_names,
                                     help="Protocol name."),
        seeds: str = typer.Option("0", "--seeds", "-s", help="Seeds: a range 0-2, a list 0,3,5, or both 0-2,7."),
        grid: list[str] = typer.Option([], "--grid", "-g", help="key=v1,v2,... (repeatable). A key applies to the "
                                       "methods that declare it; the others run once without it."),
        set_: list[str] = typer.Option([], "--set", help="Fixed override key=value for every run that declares the key (repeatable)."),
        rounds: int | None = typer.Option(None, "--rounds", "-r", help="Rounds per run (default: the protocol's)."),
        backbone: str | None = typer.Option(None, help="Backbone; default: the protocol's."),
        budget_bandwidth: str | None = typer.Option(None, help="Bandwidth budget per run, e.g. 3GB."),
        budget_compute: str | None = typer.Option(None, help="Client-compute budget per run, e.g. 5TFLOP."),
        data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Dataset folder (env C3BENCH_DATA)."),
        out_dir: Path = typer.Option(Path("results"), "--out", "-o", help="Folder for result records (also where finished runs are looked up)."),
        jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, max=MAX_PARALLEL, help="Runs at once: local worker processes "
                                        "(default 1), or the CPUs of a local Ray instance (default: all)."),
        executor: Executor | None = typer.Option(None, help="serial, process or ray (default: serial for -j 1, else process)."),
        ray_address: str | None = typer.Option(None, help="Join this Ray cluster (HOST:6379, ray://HOST:10001 or auto) "
                                               "instead of starting a local one; an address that does not answer is "
                                               "refused within seconds. Without a shared folder, records of runs on "
                                               "other nodes come back to --out."),
        device: str = typer.Option("cpu", help="torch device for every run."),
        gpus_per_run: float | None = typer.Option(None, "--gpus-per-run", min=0.0, help="With --device cuda and the "
                                                  "Ray executor: GPUs each run asks Ray for (default 1; 0.5 packs "
                                                  "two runs a GPU)."),
        devices: str | None = typer.Option(None, "--devices", help="Client devices for simulated time, as in "
                                           "`c3bench run --devices` (default: the protocol's)."),
        flush_denormal: bool = typer.Option(False, "--flush-denormal", help="CPU, one torch thread per run: compute "
                                            "subnormal floats as zero (as `c3bench run --flush-denormal`); kept in "
                                            "each record."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would run or be skipped, then stop."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
        fmt: PathFormat | None = format_option(PathFormat, PathFormat.path),
        as_json: bool = json_option(),
    ) -> None:
        """Run every METHOD x grid point x seed; skip finished ones; resume after an interruption.

        Example: c3bench sweep -m fedavg,fedprox -p synthetic --seeds 0-2 --grid lr=0.001,0.003 -j 2

        On a Ray cluster: c3bench sweep -m fedavg,adasplit --seeds 0-4 --executor ray --ray-address HEAD:6379

        Prints the result files on stdout (pipe them to `c3bench score -`), or with --json each run's
        name, status, file and accuracy.
        """
        from c3bench.sweep import RAY_HINT, expand, parse_grid, parse_seeds, plan, ray_available, run_sweep

        shown = output_format(fmt, as_json, PathFormat.path)
        chosen = executor.value if executor else ("serial" if (jobs or 1) == 1 else "process")
        if chosen == "ray" and not ray_available():
            log.error(f"--executor ray needs Ray, which is not installed. Install it with: {RAY_HINT}")
            raise typer.Exit(2)
        budgets = Budgets.parse(budget_bandwidth or None, budget_compute or None)
        runs = expand([m.strip() for m in methods.split(",") if m.strip()], protocol, parse_seeds(seeds),
                      parse_grid(grid), parse_assignments(set_), rounds, budgets, backbone,
                      str(data_root) if data_root else None, device, devices, flush_denormal)
        sweep_plan = plan(runs, out_dir)
        for note in sweep_plan.notes:
            log.warning(note)
        sweep_plan.refuse_other_modes()
        resuming = sum(j.resume for j in sweep_plan.todo)
        log.info(f"sweep: {len(runs)} runs, {len(sweep_plan.done)} already done, {len(sweep_plan.todo)} to run"
                 + (f" ({resuming} resumed from checkpoints)" if resuming else "")
                 + (f", executor {chosen}" + (f" x{jobs}" if jobs and chosen != "serial" else "") if sweep_plan.todo else ""))
        if dry_run:
            planned = []
            done_names = set(sweep_plan.done)
            todo = {j.name: j for j in sweep_plan.todo}
            for run in runs:
                job = todo.get(run.name)
                action = ("skip (done)" if run.name in done_names else
                          f"resume at round {job.start_round + 1}" if job and job.resume else "run")
                planned.append({"run": run.name, "method": run.method_cls.name, "varied": sweep_plan.varied[run.name],
                                "seed": run.spec.seed, "action": action})
            if shown == "json":
                out.print_json(json.dumps(planned))
                return
            table = Table(show_edge=False)
            for col in ("run", "method", "varied", "seed", "action"):
                table.add_column(col)
            for p in planned:
                varied = ",".join(f"{k}={v}" for k, v in sorted(p["varied"].items()))
                table.add_row(*cells(p["run"], p["method"], varied or "-", p["seed"], p["action"]))
            out.print(table)
            return
        display = SweepProgress(sweep_plan, quiet)
        try:
            report = run_sweep(sweep_plan, out_dir, chosen, jobs, ray_address, display, gpus_per_run)
        finally:
            display.stop()
        outcomes = {o.name: o for o in report.outcomes}
        listed = []
        for run in runs:
            path = sweep_plan.done.get(run.name) or (out_dir / f"{run.name}.json")
            if path.exists():
                outcome = outcomes.get(run.name)
                listed.append({"run": run.name, "file": str(path),
                               "status": outcome.status if outcome else "skipped (done)",
                               "accuracy": outcome.accuracy if outcome else None})
        if shown == "json":
            out.print_json(json.dumps(listed))
        else:
            for item in listed:
                print(item["file"])
        if report.interrupted:
            log.warning("sweep interrupted: finished runs are kept; run the same command again to resume.")
            raise typer.Exit(130)
        finished = sum(o.status in ("completed", "budget-stopped") for o in report.outcomes)
        log.info(f"sweep done: {finished} run, {len(report.skipped)} skipped (already done), "
                 f"{len(report.failed)} failed -> {out_dir}")
        stopped_by_os_error(report)
        if report.failed:
            raise typer.Exit(1)
