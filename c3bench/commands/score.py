"""`c3bench score FILES`: the C3 table of result records (runs that differ only in seed grouped)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer

from c3bench.console import Format, cells, err, esc, load_records, out, user_errors
from c3bench.units import human_duration


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _positive(name: str, value: float | None) -> None:
    from c3bench.hparams import ConfigError

    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive finite number, got {value}.")


HEADERS = ["method", "params", "rounds", "seeds", "status", "accuracy", "published", "Δ", "GB", "client TFLOPs",
           "total TFLOPs", "sim. time", "C3"]


def _cells(r: dict[str, Any]) -> list[str]:
    published = "-" if r["published_accuracy"] is None else (
        f"{r['published_accuracy']:.2f}" + (f" ± {r['published_std']:.2f}" if r["published_std"] is not None else ""))
    return [r["method"], r["params"] or "-", str(r["rounds"]), str(r["seeds"]), r["status"].replace(",", ", "),
            f"{r['accuracy_mean']:.2f} ± {r['accuracy_std']:.2f}", published, _fmt(r["delta"], "+.2f"),
            f"{r['bandwidth_gb']:.3f}", f"{r['client_tflops']:.4f}", f"{r['total_tflops']:.4f}",
            human_duration(r["sim_time_s"]), _fmt(r["c3"], ".3f")]


def _caption(block: dict[str, Any]) -> str:
    b = block["budgets"]
    text = (f"Bmax {b['bmax_gb']:.4g} GB, Cmax {b['cmax_tflops']:.4g} TFLOPs, T {b['temperature']:g}, "
            f"{block['convention']} convention")
    if b["defaulted"]:
        text += (f". {' and '.join(b['defaulted'])} default to the largest among these runs, so the same run scores "
                 "differently beside other files; pass --bmax/--cmax (e.g. a board's) for comparable scores")
    return text


def print_score(payload: list[dict[str, Any]], fmt: Format) -> None:
    if fmt is Format.json:
        out.print_json(json.dumps(payload))
        return
    if fmt is Format.csv:
        import csv
        writer = csv.writer(sys.stdout)
        writer.writerow(["protocol", "method", "params", "rounds", "seeds", "status", "accuracy_mean", "accuracy_std",
                         "published_accuracy", "published_std", "delta", "bandwidth_gb", "client_tflops",
                         "total_tflops", "sim_time_s", "c3", "bmax_gb", "cmax_tflops", "temperature", "convention"])
        for block in payload:
            b = block["budgets"]
            for r in block["rows"]:
                writer.writerow([r["protocol"], r["method"], r["params"], r["rounds"], r["seeds"], r["status"],
                                 r["accuracy_mean"], r["accuracy_std"], r["published_accuracy"], r["published_std"],
                                 r["delta"], r["bandwidth_gb"], r["client_tflops"], r["total_tflops"], r["sim_time_s"],
                                 r["c3"], b["bmax_gb"], b["cmax_tflops"], b["temperature"], block["convention"]])
        return
    from rich.table import Table

    for block in payload:
        show = [h for h in HEADERS if h not in ("published", "Δ") or any(r["published_accuracy"] is not None
                                                                         for r in block["rows"])]
        if fmt is Format.markdown:
            from c3bench.markdown_text import plain

            print(f"**{plain(block['protocol'])}** ({_caption(block)})\n")
            print("| " + " | ".join(show) + " |")
            print("|" + "---|" * len(show))
            for r in block["rows"]:
                row = dict(zip(HEADERS, _cells(r), strict=True))
                print("| " + " | ".join(plain(row[h]) for h in show) + " |")
            print()
        else:
            from rich.text import Text

            table = Table(title=Text(f"C3 on {block['protocol']}"), caption=_caption(block))
            for h in show:
                table.add_column(h, justify="left" if h in ("method", "params", "status") else "right")
            for r in block["rows"]:
                row = dict(zip(HEADERS, _cells(r), strict=True))
                table.add_row(*cells(*(row[h] for h in show)))
            out.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def score(
        files: list[Path] = typer.Argument(..., help="Result records (results/*.json); '-' reads file names from stdin "
                                           "(c3bench sweep ... | c3bench score -)."),
        bmax: float | None = typer.Option(None, help="The C3 scale's bandwidth normaliser Bmax in GB (default: the "
                                          "largest among the results; a board's, for comparable scores)."),
        cmax: float | None = typer.Option(None, help="The C3 scale's client-compute normaliser Cmax in TFLOPs "
                                          "(default: the largest)."),
        temperature: float = typer.Option(8.0, "--temperature", "-T", help="C3 temperature T (8 reproduces the paper's tables)."),
        convention: str = typer.Option("c3bench", help="c3bench (bytes as sent, fwd+bwd FLOPs) or paper (non-zeros*4, "
                                       "forward MACs)."),
        fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, markdown, csv or json."),
    ) -> None:
        """Print the C3 table: runs differing only in seed are grouped (accuracy mean ± std).

        C3 = A/100 * exp(-(B/Bmax + C/Cmax)/T), one table per protocol. Runs of a named configuration
        (c3bench run --config NAME/RUN) are shown beside the accuracy their source published.
        """
        from c3bench import conventions
        from c3bench.score import score_table

        conventions.get(convention)
        for name, value in (("--temperature", temperature), ("--bmax", bmax), ("--cmax", cmax)):
            _positive(name, value)
        records = load_records(files)
        for s, r in records:
            if r["status"] in ("running", "interrupted"):
                err.print(f"[yellow]note:[/] {esc(s)} is unfinished; it is scored on the rounds it completed.",
                          highlight=False)
        by_protocol: dict[str, list] = {}
        for item in records:
            by_protocol.setdefault(item[1]["config"]["protocol"], []).append(item)
        payload = []
        for protocol_name, items in sorted(by_protocol.items()):
            rows, scale = score_table(items, bmax, cmax, temperature, convention)
            payload.append({"protocol": protocol_name, "budgets": scale, "convention": convention,
                            "rows": [r.as_dict() for r in rows]})
        print_score(payload, fmt)
