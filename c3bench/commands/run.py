"""`c3bench run`: train one method on one protocol and write its result record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from c3bench import completion
from c3bench.console import PathFormat, err, format_option, json_option, out, output_format, user_errors
from c3bench.log import log, quiet_level
from c3bench.units import human_bytes, human_duration, human_flops

MAX_THREADS = 4096  # --threads; beyond any machine's cores
MAX_WORKERS = 1024  # --client-workers


def _header(run, start_round: int) -> None:
    log.info(f"{run.method_cls.name} on {run.protocol_cls.name}, {run.rounds} rounds, seed {run.spec.seed}, backbone "
             f"{run.backbone} -> {run.name}" + (f" (resuming at round {start_round + 1})" if start_round else ""))


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
        log.info(f"round {entry['round']}/{self.rounds}  {_stats(entry)}  elapsed {human_duration(elapsed)}  "
                 f"ETA {human_duration(eta) if eta is not None else '-'}")

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
            log.info(f"{event.stage} {event.subject} ...")
        elif event.finished and key in self.began:
            took = time.monotonic() - self.began.pop(key)
            if took >= 1.0:
                log.info(f"{event.stage} {event.subject}: done in {human_duration(took)}")


class Quiet:
    def on_start(self, run, start_round: int) -> None: ...
    def on_progress(self, round_index: int, fraction: float) -> None: ...
    def on_round(self, entry: dict[str, Any]) -> None: ...
    def on_end(self, record: dict[str, Any]) -> None: ...


def progress_display(quiet: bool):
    """The live bar on a terminal, plain log lines elsewhere, nothing with --quiet (or c3bench -q)."""
    if quiet or quiet_level():
        return Quiet()
    return LiveProgress() if err.is_terminal else LogLines()


def _finished(record: dict[str, Any], path: Path) -> None:
    """The closing message of a run (stderr)."""
    t = record["totals"]
    if record["status"] == "budget-stopped":
        stop = record["budget_stop"]
        log.warning(f"budget-stopped before round {stop['round']}: the {stop['what']} budget would be exceeded.")
    log.info(f"{record['status']}: accuracy {t['accuracy']:.2f}%  bandwidth {human_bytes(t['bytes_total'])}  "
             f"client {human_flops(t['client_flops'])}  total {human_flops(t['total_flops'])}  -> {path}")
    for entry in record.get("models", {}).get("files", []):
        log.info(f"model of client{'s' if len(entry['clients']) > 1 else ''} "
                 f"{','.join(map(str, entry['clients']))}: {path.parent / entry['path']}")


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def run(
        method: str | None = typer.Option(None, "--method", "-m", autocompletion=completion.method_names,
                                          help="Method name; see `c3bench list methods` (may be left out when "
                                          "--config names a run)."),
        protocol: str | None = typer.Option(None, "--protocol", "-p", autocompletion=completion.protocol_names,
                                            help="Protocol name; see `c3bench list protocols` (default: the "
                                            "config's, else synthetic)."),
        config: str | None = typer.Option(None, "--config", "-c", autocompletion=completion.config_names,
                                          help="A configuration: NAME, NAME/RUN (see `c3bench configs`) or your own "
                                          "file.toml[#RUN]; --rounds, --backbone and --set override it."),
        rounds: int | None = typer.Option(None, "--rounds", "-r", help="Rounds to train (default: the protocol's)."),
        seed: int = typer.Option(0, "--seed", "-s", help="Seed for data splits, initialisation and batching, "
                                 "0 <= SEED < 2^32."),
        set_: list[str] = typer.Option([], "--set", help="Override a hyperparameter: --set lr=0.01 (repeatable). "
                                       "Prefix with protocol. or method. when a key exists in both."),
        backbone: str | None = typer.Option(None, help="Backbone (lenet, simple-cnn, resnet18, resnet50); default: "
                                            "the protocol's."),
        budget_bandwidth: str | None = typer.Option(None, help="Stop before the round that would send more than this: "
                                                    "a number with a unit, B = byte and b = bit (SI or IEC "
                                                    "prefixes), e.g. 3GB, 500MiB, 20Mb."),
        budget_compute: str | None = typer.Option(None, help="Stop before the round that would exceed this client "
                                                  "compute, e.g. 5TFLOP or 2.5e12FLOP."),
        data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Folder with the datasets (env "
                                              "C3BENCH_DATA)."),
        out_dir: Path = typer.Option(Path("results"), "--out", "-o", help="Folder for result records."),
        name: str | None = typer.Option(None, help="Result file name (without .json): a plain file name, no folder "
                                        "(it is written inside --out); default from the config."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run with the same options."),
        force: bool = typer.Option(False, "--force", help="Run again and overwrite an existing result of the same "
                                   "name (a finished one is otherwise kept: 'already completed')."),
        save_model: bool = typer.Option(False, "--save-model", help="Also write the deployed model(s) under "
                                        "OUT/models/<name>/ (state dicts; one per client where clients deploy "
                                        "different models), named in the record with their sha256; load them "
                                        "with c3bench.load_model."),
        tensorboard: Path | None = typer.Option(None, "--tensorboard", help="Log every round (accuracy, bytes, "
                                                "FLOPs) and the configuration as hyperparameters to TensorBoard "
                                                "event files under this folder (needs c3bench[tensorboard])."),
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
        fmt: PathFormat | None = format_option(PathFormat, PathFormat.path),
        as_json: bool = json_option(),
    ) -> None:
        """Train one METHOD on one PROTOCOL, write results/<name>.json and print its path on stdout.

        Example: c3bench run -m fedavg -p synthetic --rounds 3 --set lr=0.001 --budget-bandwidth 50MB

        A published row in one option: c3bench run --config adasplit-table2/fedavg --data-root ../shared/data

        Keep the trained model and follow the run in TensorBoard:
        c3bench run -m adasplit -p synthetic --save-model --tensorboard runs/

        The same command again prints "already completed: PATH" and exits 0; --force runs it again.
        """
        from c3bench.accounting.ledger import Budgets
        from c3bench.hparams import parse_assignments

        chosen = output_format(fmt, as_json, PathFormat.path)
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
        callbacks = [progress_display(quiet)]
        if tensorboard is not None:
            from c3bench.trackers import TensorBoardTracker

            TensorBoardTracker.check_installed()
            callbacks.append(TensorBoardTracker(tensorboard))
        runner = Runner(resolved, out_dir, callbacks=callbacks, save_model=save_model)
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
                log.warning(f"interrupted: partial result in {runner.result_file}; continue with the same command "
                            "plus --resume")
            else:
                log.warning("interrupted before the first round ended: nothing was written.")
            raise typer.Exit(130) from None
        if runner.reused:
            log.info(f"already {record['status']}: {runner.result_file} (run it again with --force)")
            if save_model and "models" not in record:
                log.warning("that run saved no models; add --force to run it again with --save-model.")
        else:
            _finished(record, runner.result_file)
        if chosen == "json":
            out.print_json(json.dumps(record))
        else:
            print(runner.result_file)
