"""The c3bench command line: parse, validate, call the core, print (data on stdout, messages on stderr)."""

from __future__ import annotations

import functools
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from c3bench import registry
from c3bench.accounting import Budgets
from c3bench.hparams import ConfigError, parse_assignments
from c3bench.results import ResultError, load_record
from c3bench.units import human_bytes, human_duration, human_flops, parse_bytes, parse_flops

app = typer.Typer(
    name="c3bench",
    help="Benchmark federated and split learning on accuracy, bandwidth and client compute (C3-Score).\n\n"
         "Start with:  c3bench run --method fedavg --protocol synthetic   then   c3bench score results/*.json",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Data. Piped output is not wrapped at rich's default 80 columns, so tables stay one row per line.
out = Console() if sys.stdout.isatty() else Console(width=200)
err = Console(stderr=True)  # messages, progress


def user_errors(fn):
    """Turn configuration and result problems into one clear line and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, ResultError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
    return wrapper


# ---------------------------------------------------------------------------------------- run
class _RunProgress:
    """Rich progress display per round: accuracy, bytes and FLOPs so far, time left."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.progress: Progress | None = None
        self.task = None

    def on_start(self, run, start_round: int) -> None:
        if self.quiet:
            return
        err.print(f"[bold]{run.method_cls.name}[/] on [bold]{run.protocol_cls.name}[/], {run.rounds} rounds, "
                  f"seed {run.spec.seed}, backbone {run.backbone}" + (f" (resuming at round {start_round + 1})" if start_round else ""))
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]round {task.fields[round]}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[stats]}"), TimeRemainingColumn(), console=err, transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("run", total=run.rounds, completed=start_round,
                                           round=f"{start_round + 1}/{run.rounds}", stats="")
        self.rounds = run.rounds

    def on_progress(self, round_index: int, fraction: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=round_index + min(fraction, 0.999),
                                 round=f"{round_index + 1}/{self.rounds}")

    def on_round(self, entry: dict[str, Any]) -> None:
        if self.progress is None:
            return
        cum = entry["cumulative"]
        stats = (f"acc {entry['accuracy']['mean']:.1f}%  sent {human_bytes(cum['bytes_total'])}  "
                 f"client {human_flops(cum['client_flops'])}  server {human_flops(cum['server_flops'])}")
        self.progress.update(self.task, completed=entry["round"], stats=stats)

    def on_end(self, record: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.stop()


@app.command()
@user_errors
def run(
    method: str | None = typer.Option(None, "--method", "-m", help="Method name; see `c3bench list methods` "
                                      "(may be left out when --config names a run)."),
    protocol: str | None = typer.Option(None, "--protocol", "-p", help="Protocol name; see `c3bench list protocols` "
                                        "(default: the config's, else synthetic)."),
    config: str | None = typer.Option(None, "--config", "-c", help="A configuration: NAME, NAME/RUN (see `c3bench "
                                      "configs`) or your own file.toml[#RUN]; --rounds, --backbone and --set override it."),
    rounds: int | None = typer.Option(None, "--rounds", "-r", help="Rounds to train (default: the protocol's)."),
    seed: int = typer.Option(0, "--seed", "-s", help="Seed for data splits, initialisation and batching."),
    set_: list[str] = typer.Option([], "--set", help="Override a hyperparameter: --set lr=0.01 (repeatable). "
                                   "Prefix with protocol. or method. when a key exists in both."),
    backbone: str | None = typer.Option(None, help="Backbone (lenet, simple-cnn); default: the protocol's."),
    budget_bandwidth: str | None = typer.Option(None, help="Stop before the round that would send more than this, e.g. 3GB."),
    budget_compute: str | None = typer.Option(None, help="Stop before the round that would exceed this client compute, e.g. 5TFLOP."),
    data_root: Path | None = typer.Option(None, envvar="C3BENCH_DATA", help="Folder with the datasets (env C3BENCH_DATA)."),
    out_dir: Path = typer.Option(Path("results"), "--out", "-o", help="Folder for result records."),
    name: str | None = typer.Option(None, help="Result file name (without .json); default from the config."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run with the same options."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing result of the same name."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
    devices: str | None = typer.Option(None, "--devices", help="Client devices for simulated time: presets "
                                       "(raspberry-pi-4*2,laptop; one name = all clients), random[:SEED], or a "
                                       ".json/.toml fleet file. Default: the protocol's, else every client a phone."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's). "
                                       "Use 1 per run when several runs share the cores."),
    client_workers: int = typer.Option(1, "--client-workers", min=1, help="Federated methods: train a round's clients "
                                       "in this many worker processes (one thread each on 2 cores); same record for "
                                       "the same settings."),
    charge_inference: bool = typer.Option(False, "--charge-inference", help="Charge evaluation to the ledger: split "
                                          "inference's activations up and logits down, and its FLOPs (the paper does not)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    as_json: bool = typer.Option(False, "--json", help="Print the final record as JSON on stdout."),
) -> None:
    """Train one METHOD on one PROTOCOL and write results/<name>.json.

    Example: c3bench run -m fedavg -p synthetic --rounds 3 --set lr=0.001 --budget-bandwidth 50MB

    A published row in one option: c3bench run --config adasplit-table2/fedavg --data-root ../shared/data
    """
    from c3bench.runner import Runner, RunSpec, resolve

    if threads is not None:
        import torch
        torch.set_num_threads(threads)
    budgets = Budgets(
        bandwidth_bytes=parse_bytes(budget_bandwidth) if budget_bandwidth else None,
        client_flops=parse_flops(budget_compute) if budget_compute else None,
    )
    spec = RunSpec(method=method, protocol=protocol or (None if config else "synthetic"), config=config,
                   overrides=parse_assignments(set_), rounds=rounds, seed=seed,
                   budgets=budgets, backbone=backbone, data_root=str(data_root) if data_root else None,
                   device=device, name=name, devices=devices, charge_inference=charge_inference,
                   client_workers=client_workers)
    resolved = resolve(spec)
    runner = Runner(resolved, out_dir, callbacks=_RunProgress(quiet))
    try:
        record = runner.execute(resume=resume, overwrite=force)
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/]: partial result in {runner.result_file}; "
                  f"continue with the same command plus --resume")
        raise typer.Exit(130) from None
    t = record["totals"]
    if as_json:
        out.print_json(json.dumps(record))
    if record["status"] == "budget-stopped":
        stop = record["budget_stop"]
        err.print(f"[yellow]budget-stopped[/] before round {stop['round']}: the {stop['what']} budget would be exceeded.")
        if not record["rounds"]:
            err.print("[red]The budget does not allow even one round; nothing was trained.[/]")
    if record["rounds"]:
        err.print(f"[green]{record['status']}[/]: accuracy {t['accuracy']:.2f}%  bandwidth {human_bytes(t['bytes_total'])}  "
                  f"client {human_flops(t['client_flops'])}  total {human_flops(t['total_flops'])}  -> {runner.result_file}")


# ---------------------------------------------------------------------------------------- list
class ListWhat(str, Enum):
    methods = "methods"
    protocols = "protocols"


@app.command("list")
@user_errors
def list_entries(
    what: ListWhat = typer.Argument(..., help="methods or protocols"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show registered methods or protocols with their hyperparameters (name, type, default, help)."""
    table_of = registry.methods() if what is ListWhat.methods else registry.protocols()
    entries = []
    for name, cls in table_of.items():
        entries.append({
            "name": name,
            "description": cls.description,
            **({"version": cls.version, "default_rounds": cls.default_rounds, "default_backbone": cls.default_backbone}
               if what is ListWhat.protocols else {}),
            "hyperparameters": [
                {"name": p.name, "type": p.type.__name__, "default": p.default, "help": p.help, "range": p.describe_range()}
                for p in cls.hparams
            ],
        })
    if as_json:
        out.print_json(json.dumps(entries))
        return
    for entry in entries:
        table = Table(title=f"[bold]{entry['name']}[/]: {entry['description']}", title_justify="left",
                      show_edge=False, expand=False)
        for col in ("hyperparameter", "type", "default", "range", "help"):
            table.add_column(col)
        for hp in entry["hyperparameters"]:
            table.add_row(hp["name"], hp["type"], repr(hp["default"]), hp["range"], hp["help"])
        out.print(table)
        out.print()


# ---------------------------------------------------------------------------------------- score
class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def _load_many(files: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    if not files:
        raise ConfigError("no result files given (example: c3bench score results/*.json).")
    return [(str(f), load_record(f)) for f in files]


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


@app.command()
@user_errors
def score(
    files: list[Path] = typer.Argument(..., help="Result records (results/*.json)."),
    bmax: float | None = typer.Option(None, help="Bandwidth budget Bmax in GB (default: the largest among the results)."),
    cmax: float | None = typer.Option(None, help="Client-compute budget Cmax in TFLOPs (default: the largest)."),
    temperature: float = typer.Option(8.0, "--temperature", "-T", help="C3 temperature T (8 reproduces the paper's tables)."),
    convention: str = typer.Option("c3bench", help="c3bench (bytes as sent, fwd+bwd FLOPs) or paper (non-zeros*4, forward MACs)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, markdown, csv or json."),
) -> None:
    """Print the C3 table: runs differing only in seed are grouped (accuracy mean ± std).

    C3 = A/100 * exp(-(B/Bmax + C/Cmax)/T), one table per protocol.
    """
    from c3bench.score import CONVENTIONS, score_table

    if convention not in CONVENTIONS:
        raise ConfigError(f"--convention must be one of {', '.join(CONVENTIONS)}.")
    if temperature <= 0 or (bmax is not None and bmax <= 0) or (cmax is not None and cmax <= 0):
        raise ConfigError("--temperature, --bmax and --cmax must be positive.")
    records = _load_many(files)
    unfinished = [s for s, r in records if r["status"] in ("running", "interrupted")]
    for s in unfinished:
        err.print(f"[yellow]note:[/] {s} is unfinished; it is scored on the rounds it completed.")
    by_protocol: dict[str, list] = {}
    for item in records:
        by_protocol.setdefault(item[1]["config"]["protocol"], []).append(item)
    payload = []
    for protocol_name, items in sorted(by_protocol.items()):
        rows, budgets = score_table(items, bmax, cmax, temperature, convention)
        payload.append({"protocol": protocol_name, "budgets": budgets, "convention": convention,
                        "rows": [r.as_dict() for r in rows]})
    _print_score(payload, fmt)


def _print_score(payload: list[dict[str, Any]], fmt: Format) -> None:
    headers = ["method", "params", "protocol", "seeds", "accuracy", "GB", "client TFLOPs", "total TFLOPs",
               "sim. time", "C3"]

    def cells(r: dict[str, Any]) -> list[str]:
        return [r["method"], r["params"] or "-", r["protocol"], str(r["seeds"]),
                f"{r['accuracy_mean']:.2f} ± {r['accuracy_std']:.2f}", f"{r['bandwidth_gb']:.3f}",
                f"{r['client_tflops']:.4f}", f"{r['total_tflops']:.4f}", human_duration(r["sim_time_s"]),
                _fmt(r["c3"], ".3f")]

    if fmt is Format.json:
        out.print_json(json.dumps(payload))
        return
    if fmt is Format.csv:
        import csv
        writer = csv.writer(sys.stdout)
        writer.writerow(["method", "params", "protocol", "seeds", "accuracy_mean", "accuracy_std", "bandwidth_gb",
                         "client_tflops", "total_tflops", "sim_time_s", "c3", "bmax_gb", "cmax_tflops", "temperature", "convention"])
        for block in payload:
            b = block["budgets"]
            for r in block["rows"]:
                writer.writerow([r["method"], r["params"], r["protocol"], r["seeds"], r["accuracy_mean"], r["accuracy_std"],
                                 r["bandwidth_gb"], r["client_tflops"], r["total_tflops"], r["sim_time_s"], r["c3"], b["bmax_gb"],
                                 b["cmax_tflops"], b["temperature"], block["convention"]])
        return
    for block in payload:
        b = block["budgets"]
        caption = (f"Bmax {b['bmax_gb']:.4g} GB, Cmax {b['cmax_tflops']:.4g} TFLOPs, T {b['temperature']:g}, "
                   f"{block['convention']} convention")
        if fmt is Format.markdown:
            print(f"**{block['protocol']}** ({caption})\n")
            print("| " + " | ".join(headers) + " |")
            print("|" + "---|" * len(headers))
            for r in block["rows"]:
                print("| " + " | ".join(cells(r)) + " |")
            print()
        else:
            table = Table(title=f"C3 on {block['protocol']}", caption=caption)
            for h in headers:
                table.add_column(h, justify="right" if h not in ("method", "params", "protocol") else "left")
            for r in block["rows"]:
                table.add_row(*cells(r))
            out.print(table)


# ---------------------------------------------------------------------------------------- show
@app.command()
@user_errors
def show(
    file: Path = typer.Argument(..., help="One result record."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-round log as JSON."),
) -> None:
    """Summarise one run: configuration, status, environment and the per-round table."""
    record = load_record(file)
    if as_json:
        out.print_json(json.dumps({k: record[k] for k in ("name", "status", "config", "totals", "rounds")}))
        return
    cfg, t = record["config"], record["totals"]
    out.print(f"[bold]{record['name']}[/]  status: [bold]{record['status']}[/]")
    out.print(f"method {cfg['method']} {cfg['method_params']}")
    out.print(f"protocol {cfg['protocol']} v{cfg['protocol_version']} {cfg['protocol_params']} hash {cfg['protocol_hash'][:12]}")
    out.print(f"backbone {cfg['backbone']}, rounds {cfg['rounds']}, seed {cfg['seed']}, budgets {cfg['budgets']}")
    if record.get("method_info"):
        out.print(f"method info {record['method_info']}")
    env = record["environment"]
    out.print(f"c3bench {env.get('c3bench')} ({env.get('git_commit')}), torch {env.get('torch')}, "
              f"python {env.get('python')}, {env.get('cpu')}")
    table = Table(title="per round")
    for h in ("round", "acc mean %", "per client %", "bytes up", "bytes down", "client FLOPs", "server FLOPs", "wall s"):
        table.add_column(h, justify="right")
    for r in record["rounds"]:
        c = r["cumulative"]
        table.add_row(str(r["round"]), f"{r['accuracy']['mean']:.2f}",
                      " ".join(f"{a:.0f}" for a in r["accuracy"]["per_client"]),
                      human_bytes(c["bytes_up"]), human_bytes(c["bytes_down"] + c["bytes_peer"]),
                      human_flops(c["client_flops"]), human_flops(c["server_flops"]), f"{r['wall_s']:.1f}")
    out.print(table)
    if t.get("accuracy") is not None:
        out.print(f"final: accuracy {t['accuracy']:.2f}%, bandwidth {human_bytes(t['bytes_total'])} "
                  f"(paper convention {human_bytes(t['paper_bytes_total'])}), client {human_flops(t['client_flops'])}, "
                  f"total {human_flops(t['total_flops'])} (forward MACs: client {t['client_fwd_macs'] / 1e12:.4f} T, "
                  f"total {t['total_fwd_macs'] / 1e12:.4f} T)")


from c3bench.commands import register_all  # noqa: E402

register_all(app)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()


if __name__ == "__main__":
    main()
