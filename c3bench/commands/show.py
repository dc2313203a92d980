"""`c3bench show FILES`: one run's configuration, environment and per-round log, for each file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from c3bench.console import (
    ViewFormat,
    esc,
    format_option,
    json_option,
    load_records,
    out,
    output_format,
    user_errors,
)
from c3bench.units import human_bytes, human_flops


def _per_client(accuracy: dict) -> str:
    if "all_clients" in accuracy:
        return f"all {accuracy['all_clients']:.0f}"
    shown = " ".join(f"{a:.0f}" for a in accuracy["per_client"][:20])
    return shown + (f" ... ({len(accuracy['per_client'])} clients)" if len(accuracy["per_client"]) > 20 else "")


def _show_one(source: str, record: dict) -> None:
    from rich.table import Table

    cfg, t = record["config"], record["totals"]
    out.print(f"[bold]{esc(str(record['name']))}[/]  status: [bold]{esc(str(record['status']))}[/]  ({esc(source)})",
              highlight=False)
    plain = {"highlight": False, "markup": False}  # everything below is the record's text
    out.print(f"method {cfg['method']} {cfg['method_params']}", **plain)
    out.print(f"protocol {cfg['protocol']} v{cfg['protocol_version']} {cfg['protocol_params']} "
              f"hash {str(cfg['protocol_hash'])[:12]}", **plain)
    out.print(f"backbone {cfg['backbone']}, rounds {cfg['rounds']}, seed {cfg['seed']}, budgets {cfg['budgets']}",
              **plain)
    if record.get("command"):
        out.print(f"re-run: {record['command']}", soft_wrap=True, **plain)
    if record.get("reference"):
        ref = record["reference"]
        values = ref.get("values") or {}
        out.print(f"reproduces {ref.get('config')} ({ref.get('label')}); published accuracy "
                  f"{values.get('accuracy', '-')}", **plain)
    if record.get("method_info"):
        out.print(f"method info {record['method_info']}", **plain)
    env = record["environment"]
    out.print(f"c3bench {env.get('c3bench')} ({env.get('git_commit')}), torch {env.get('torch')}, "
              f"python {env.get('python')}, {env.get('cpu')}, {env.get('torch_threads')} threads", **plain)
    table = Table(title="per round")
    for h in ("round", "acc mean %", "per client %", "bytes up", "bytes down", "client FLOPs", "server FLOPs", "wall s"):
        table.add_column(h, justify="right")
    for r in record["rounds"]:
        c = r["cumulative"]
        table.add_row(str(r["round"]), f"{r['accuracy']['mean']:.2f}",
                      _per_client(r["accuracy"]),
                      human_bytes(c["bytes_up"]), human_bytes(c["bytes_down"] + c["bytes_peer"]),
                      human_flops(c["client_flops"]), human_flops(c["server_flops"]), f"{r['wall_s']:.1f}")
    out.print(table)
    if t.get("accuracy") is not None:
        out.print(f"final: accuracy {t['accuracy']:.2f}%, bandwidth {human_bytes(t['bytes_total'])} "
                  f"(paper convention {human_bytes(t['paper_bytes_total'])}), client {human_flops(t['client_flops'])}, "
                  f"total {human_flops(t['total_flops'])} (forward MACs: client {t['client_fwd_macs'] / 1e12:.4f} T, "
                  f"total {t['total_fwd_macs'] / 1e12:.4f} T)", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def show(
        files: list[Path] = typer.Argument(..., help="Result records or folders of them (searched recursively); "
                                           "several show each in turn; '-' reads file names from stdin."),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """Summarise runs: configuration, status, environment and the per-round table (JSON: name, status,
        config, totals, rounds).

        Example: c3bench show results/fedavg_synthetic_s0_*.json
        """
        records = load_records(files)
        if output_format(fmt, as_json, ViewFormat.table) == "json":
            keys = ("name", "status", "config", "totals", "rounds")
            out.print_json(json.dumps([{k: r.get(k) for k in keys} for _, r in records]))
            return
        for i, (source, record) in enumerate(records):
            if i:
                out.print()
            _show_one(source, record)
