"""`c3bench run`: train one method on one protocol and write its result record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from c3bench.console import err, esc, out, user_errors
from c3bench.units import human_bytes, human_duration, human_flops

MAX_THREADS = 4096  # --threads; beyond any machine's cores
MAX_WORKERS = 1024  # --client-workers


def _header(run, start_round: int) -> None:
    err.print(f"[bold]{esc(run.method_cls.name)}[/] on [bold]{esc(run.protocol_cls.name)}[/], {run.rounds} rounds, seed "
              f"{run.spec.seed}, backbone {esc(run.backbone)} -> {esc(run.name)}"
              + (f" (resuming at round {start_round + 1})" if start_round else ""), highlight=False)


def _stats(entry: dict[str, Any]) -> str:
    cum = entry["cumulative"]
    return (f"acc {entry['accuracy']['mean']:.1f}%  sent {human_bytes(cum['bytes_total'])}  "
            f"client {human_flops(cum['client_flops'])}  server {human_flops(cum['server_flops'])}")


class LiveProgress:
    """A progress bar per run on a terminal: the round, accuracy, bytes and FLOPs so far, time left."""

    def __init__(self) -> None:
        self.progress = None

    def on_start(self, run, start_round: int) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        _header(run, start_round)
        self.rounds = run.rounds
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]round {task.fields[round]}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[stats]}"), TimeRemainingColumn(), console=err, transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("run", total=run.rounds, completed=start_round,
                                           round=f"{start_round + 1}/{run.rounds}", stats="")

    def on_progress(self, round_index: int, fraction: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=round_index + min(fraction, 0.999),
                                 round=f"{round_index + 1}/{self.rounds}")

    def on_round(self, entry: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=entry["round"], stats=_stats(entry))

    def on_end(self, record: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.stop()


class LogLines:
    """One plain line per round (Slurm, nohup, CI: stderr is not a terminal): round, accuracy, bytes,
    FLOPs, elapsed time and the estimated time left."""

    def on_start(self, run, start_round: int) -> None:
        _header(run, start_round)
        self.rounds, self.start_round, self.began = run.rounds, start_round, time.monotonic()

    def on_progress(self, round_index: int, fraction: float) -> None:
        pass

    def on_round(self, entry: dict[str, Any]) -> None:
        elapsed = time.monotonic() - self.began
        done = entry["round"] - self.start_round
        eta = elapsed / done * (self.rounds - entry["round"]) if done else None
        err.print(f"round {entry['round']}/{self.rounds}  {_stats(entry)}  elapsed {human_duration(elapsed)}  "
                  f"ETA {human_duration(eta) if eta is not None else '-'}", highlight=False, soft_wrap=True)

    def on_end(self, record: dict[str, Any]) -> None:
        pass


class DataLines:
    """What the data layer is doing while a run starts ("reading cifar10", "building cache ..."), one
    line per step, so a real-data run does not sit at 0% for a minute without a word."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.began: dict[tuple[str, str], float] = {}

    def __call__(self, event) -> None:
        key = (event.stage, event.subject)
        if key not in self.seen:
            self.seen.add(key)
            self.began[key] = time.monotonic()
            err.print(f"[dim]{esc(event.stage)} {esc(str(event.subject))} ...[/]", highlight=False)
        elif event.finished and key in self.began:
            took = time.monotonic() - self.began.pop(key)
            if took >= 1.0:
                err.print(f"[dim]{esc(event.stage)} {esc(str(event.subject))}: done in {human_duration(took)}[/]",
                          highlight=False)


class Quiet:
    def on_start(self, run, start_round: int) -> None: ...
    def on_progress(self, round_index: int, fraction: float) -> None: ...
    def on_round(self, entry: dict[str, Any]) -> None: ...
    def on_end(self, record: dict[str, Any]) -> None: ...


def progress_display(quiet: bool):
    """The live bar on a terminal, plain log lines elsewhere, nothing with --quiet."""
    if quiet:
        return Quiet()
    return LiveProgress() if err.is_terminal else LogLines()


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def run(
        method: str | None = typer.Option(None, "--method", "-m", help="Method name; see `c3bench list methods` "
                                          "(may be left out when --config names a run)."),
        protocol: str | None = typer.Option(None, "--protocol", "-p", help="Protocol name; see `c3bench list "
                                            "protocols` (default: the config's, else synthetic)."),
        config: str | None = typer.Option(None, "--config", "-c", help="A configuration: NAME, NAME/RUN (see "
                                          "`c3bench configs`) or your own file.toml[#RUN]; --rounds, --backbone and "
                                          "--set override it."),
        rounds: int | None = typer.Option(None, "--rounds", "-r", help="Rounds to train (default: the protocol's)."),
        seed: int = typer.Option(0, "--seed", "-s", help="Seed for data splits, initialisation and batching, "
                                 "0 <= SEED < 2^32."),
        set_: list[str] = typer.Option([], "--set", help="Override a hyperparameter: --set lr=0.01 (repeatable). "
                                       "Prefix with protocol. or method. when a key exists in both."),
        backbone: str | None = typer.Option(None, help="Backbone (lenet, simple-cnn, resnet18, resnet50); default: "
                                            "the protocol's."),
        budget_bandwidth: str | None = typer.Option(None, help="Stop before the round that would send more than this, "
                                                    "e.g. 3GB."),
        budget_compute: str | None = typer.Option(None, help="Stop before the round that would exceed this client "
                                                  "compute, e.g. 5TFLOP."),
        data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Folder with the datasets (env "
                                              "C3BENCH_DATA)."),
        out_dir: Path = typer.Option(Path("results"), "--out", "-o", help="Folder for result records."),
        name: str | None = typer.Option(None, help="Result file name (without .json): a plain file name, no folder "
                                        "(it is written inside --out); default from the config."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run with the same options."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing result of the same name."),
        device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
        devices: str | None = typer.Option(None, "--devices", help="Client devices for simulated time: presets "
                                           "(raspberry-pi-4*2,laptop; one name = all clients), random[:SEED], or a "
                                           ".json/.toml fleet file. Default: the protocol's, else every client a phone."),
        threads: int | None = typer.Option(None, "--threads", min=1, max=MAX_THREADS, help="torch CPU threads (default: torch's). "
                                           "Use 1 per run when several runs share the cores."),
        client_workers: int = typer.Option(1, "--client-workers", min=1, max=MAX_WORKERS, help="Federated methods: train a round's "
                                           "clients in this many worker processes (one thread each on 2 cores); the "
                                           "same record for the same settings."),
        stack_clients: bool = typer.Option(False, "--stack-clients", help="Federated methods without per-step "
                                           "hooks (FedAvg, FedNova), equal-size clients: train a round's clients as "
                                           "one stacked model (torch.func.vmap), for GPUs; matches the serial "
                                           "record within float rounding."),
        flush_denormal: bool = typer.Option(False, "--flush-denormal", help="CPU, one thread (--threads 1): compute "
                                            "subnormal floats as zero, which keeps long sequential split runs "
                                            "(SL-basic, SplitFed) from slowing down; kept in the record, whose "
                                            "numbers then differ from a run without it."),
        charge_inference: bool = typer.Option(False, "--charge-inference", help="Charge evaluation to the ledger: "
                                              "split inference's activations up and logits down, and its FLOPs "
                                              "(the paper does not)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
        as_json: bool = typer.Option(False, "--json", help="Print the final record as JSON on stdout."),
    ) -> None:
        """Train one METHOD on one PROTOCOL and write results/<name>.json.

        Example: c3bench run -m fedavg -p synthetic --rounds 3 --set lr=0.001 --budget-bandwidth 50MB

        A published row in one option: c3bench run --config adasplit-table2/fedavg --data-root ../shared/data
        """
        from c3bench.accounting.ledger import Budgets
        from c3bench.hparams import parse_assignments

        budgets = Budgets.parse(budget_bandwidth or None, budget_compute or None)
        overrides = parse_assignments(set_)
        from c3bench.runner import NoRoundFits, Runner, RunSpec, resolve

        if threads is not None:
            import torch
            torch.set_num_threads(threads)
        spec = RunSpec(method=method, protocol=protocol or (None if config else "synthetic"), config=config,
                       overrides=overrides, rounds=rounds, seed=seed, budgets=budgets, backbone=backbone,
                       data_root=str(data_root) if data_root else None, device=device, name=name, devices=devices,
                       charge_inference=charge_inference, client_workers=client_workers,
                       stack_clients=stack_clients, flush_denormal=flush_denormal)
        resolved = resolve(spec)
        runner = Runner(resolved, out_dir, callbacks=progress_display(quiet))
        from contextlib import nullcontext

        from c3bench.data.progress import reporting

        try:
            with nullcontext() if quiet else reporting(DataLines()):
                record = runner.execute(resume=resume, overwrite=force)
        except NoRoundFits as exc:
            from c3bench.hparams import ConfigError
            raise ConfigError(str(exc)) from None
        except OSError as exc:
            from c3bench.hparams import ConfigError
            from c3bench.safe_files import describe_os_error

            kept = (f"The rounds written so far are in {runner.result_file}: continue with the same command plus "
                    "--resume." if runner.result_file.exists() else "No result was written.")
            raise ConfigError(describe_os_error(exc, then=kept)) from None
        except KeyboardInterrupt:
            if runner.result_file.exists():
                err.print(f"[yellow]interrupted[/]: partial result in {esc(str(runner.result_file))}; "
                          f"continue with the same command plus --resume", highlight=False)
            else:
                err.print("[yellow]interrupted[/] before the first round ended: nothing was written.")
            raise typer.Exit(130) from None
        t = record["totals"]
        if as_json:
            out.print_json(json.dumps(record))
        if record["status"] == "budget-stopped":
            stop = record["budget_stop"]
            err.print(f"[yellow]budget-stopped[/] before round {stop['round']}: the {stop['what']} budget would be "
                      "exceeded.")
        err.print(f"[green]{record['status']}[/]: accuracy {t['accuracy']:.2f}%  bandwidth {human_bytes(t['bytes_total'])}  "
                  f"client {human_flops(t['client_flops'])}  total {human_flops(t['total_flops'])}  -> "
                  f"{esc(str(runner.result_file))}",
                  highlight=False, soft_wrap=True)
