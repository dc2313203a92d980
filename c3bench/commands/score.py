"""`c3bench score FILES`: the C3 table of result records (runs that differ only in seed grouped)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import typer

from c3bench.console import (
    Format,
    cells,
    format_option,
    json_option,
    load_records,
    out,
    output_format,
    user_errors,
)
from c3bench.log import log
from c3bench.units import human_duration


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _positive(name: str, value: float | None) -> None:
    from c3bench.hparams import ConfigError

    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive finite number, got {value}.")


HEADERS = ["method", "settings", "rounds", "seeds", "status", "accuracy", "published", "Δ", "GB", "client TFLOPs",
           "total TFLOPs", "sim. time", "C3"]
# the terminal's table: seeds, rounds and status in one column and the published accuracy under c3bench's,
# so that it fits 100 columns with every cell whole (text wraps between words)
TERMINAL_HEADERS = ["method", "settings", "runs", "accuracy %", "GB", "client TFLOPs", "total TFLOPs", "sim. time",
                    "C3"]
TEXT_COLUMNS = ("method", "settings", "runs", "accuracy %")


def _pm(mean: float, std: float | None, digits: int = 2) -> str:
    """'71.20 ± 0.31', or '71.20' without a spread (one seed)."""
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _cells(r: dict[str, Any]) -> list[str]:
    published = "-" if r["published_accuracy"] is None else _pm(r["published_accuracy"], r["published_std"])
    return [r["method"], ", ".join(r["settings"]) or "-", str(r["rounds"]), str(r["seeds"]),
            r["status"].replace(",", ", "), _pm(r["accuracy_mean"], r["accuracy_std"]), published,
            _fmt(r["delta"], "+.2f"), f"{r['bandwidth_gb']:.3f}", f"{r['client_tflops']:.4f}",
            f"{r['total_tflops']:.4f}", human_duration(r["sim_time_s"]), _fmt(r["c3"], ".3f")]


def _terminal_cells(r: dict[str, Any]) -> list[str]:
    c = dict(zip(HEADERS, _cells(r), strict=True))
    runs = (f"{r['seeds']} seed{'s' if r['seeds'] != 1 else ''} x {r['rounds']} round{'s' if r['rounds'] != 1 else ''}, "
            f"{c['status']}")
    accuracy = c["accuracy"] + ("" if r["published_accuracy"] is None else f" (published {c['published']}, Δ {c['Δ']})")
    return [c["method"], c["settings"], runs, accuracy, c["GB"], c["client TFLOPs"], c["total TFLOPs"],
            c["sim. time"], c["C3"]]


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
        writer.writerow(["protocol", "method", "params", "settings", "rounds", "seeds", "status", "accuracy_mean",
                         "accuracy_std", "published_accuracy", "published_std", "delta", "bandwidth_gb",
                         "client_tflops", "total_tflops", "sim_time_s", "c3", "bmax_gb", "cmax_tflops", "temperature",
                         "convention", "protocol_params"])
        for block in payload:
            b = block["budgets"]
            for r in block["rows"]:
                writer.writerow([r["protocol"], r["method"], r["params"], "; ".join(r["settings"]), r["rounds"],
                                 r["seeds"], r["status"],
                                 r["accuracy_mean"], r["accuracy_std"], r["published_accuracy"], r["published_std"],
                                 r["delta"], r["bandwidth_gb"], r["client_tflops"], r["total_tflops"], r["sim_time_s"],
                                 r["c3"], b["bmax_gb"], b["cmax_tflops"], b["temperature"], block["convention"],
                                 json.dumps(block["protocol_params"], sort_keys=True)])
        return
    from rich import box
    from rich.table import Table

    for block in payload:
        show = [h for h in HEADERS if h not in ("published", "Δ") or any(r["published_accuracy"] is not None
                                                                         for r in block["rows"])]
        if fmt is Format.markdown:
            from c3bench.markdown_text import plain

            print(f"**{plain(block['title'])}** ({_caption(block)})\n")
            print("| " + " | ".join(show) + " |")
            print("|" + "---|" * len(show))
            for r in block["rows"]:
                row = dict(zip(HEADERS, _cells(r), strict=True))
                print("| " + " | ".join(plain(row[h]) for h in show) + " |")
            print()
        else:
            from rich.text import Text

            # on a narrow terminal text columns wrap between words (a method name never breaks) and no
            # cell is cut short: a reader tells a kappa = 0.3 row from a kappa = 0.6 one
            table = Table(title=Text(f"C3 on {block['title']}"), box=box.SIMPLE_HEAD, padding=(0, 1),
                          collapse_padding=True, pad_edge=False, title_justify="left")
            rows = [_terminal_cells(r) for r in block["rows"]]
            for i, h in enumerate(TERMINAL_HEADERS):
                header_word = max(len(word) for word in h.split())
                if h in TEXT_COLUMNS:  # as wide as its longest word at least: wraps between words
                    longest = max((len(word) for row in rows for word in row[i].split()), default=1)
                    table.add_column(h, overflow="fold", no_wrap=h == "method",
                                     min_width=max(min(longest, 16), header_word))
                else:  # a number keeps its width; its header wraps over two lines where it must
                    width = max(max((len(row[i]) for row in rows), default=1), header_word)
                    table.add_column(h, justify="right", width=width)
            for row in rows:
                table.add_row(*cells(*row))  # text from records, shown as it is
            out.print(table)
            out.print(_caption(block), highlight=False, markup=False)  # wrapped at the console width, between words


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def score(
        files: list[Path] = typer.Argument(..., help="Result records or folders of them (results/, searched "
                                           "recursively); '-' reads file names from stdin (c3bench sweep ... | "
                                           "c3bench score -)."),
        bmax: float | None = typer.Option(None, help="The C3 scale's bandwidth normaliser Bmax in GB (default: the "
                                          "largest among the results; a board's, for comparable scores)."),
        cmax: float | None = typer.Option(None, help="The C3 scale's client-compute normaliser Cmax in TFLOPs "
                                          "(default: the largest)."),
        temperature: float = typer.Option(8.0, "--temperature", "-T", help="C3 temperature T (8 reproduces the paper's tables)."),
        convention: str = typer.Option("c3bench", help="c3bench (bytes as sent, fwd+bwd FLOPs) or paper (non-zeros*4, "
                                       "forward MACs)."),
        fmt: Format | None = format_option(Format, Format.table),
        as_json: bool = json_option(),
    ) -> None:
        """Print the C3 table: runs differing only in seed are grouped (accuracy mean ± std over seeds;
        no spread for one seed, null in JSON).

        C3 = A/100 * exp(-(B/Bmax + C/Cmax)/T), one table per protocol and protocol parameters, each on
        its own scale. The settings column names what tells a row apart (key hyperparameters, those off
        their defaults, differing budgets). Runs of a named configuration (c3bench run --config NAME/RUN)
        are shown beside the accuracy their source published.

        Example: c3bench score results/ --format markdown
        """
        from c3bench import conventions
        from c3bench.score import score_blocks

        conventions.get(convention)
        for name, value in (("--temperature", temperature), ("--bmax", bmax), ("--cmax", cmax)):
            _positive(name, value)
        records = load_records(files)
        for s, r in records:
            if r["status"] in ("running", "interrupted"):
                log.warning(f"{s} is unfinished; it is scored on the rounds it completed.")
        payload = [{"protocol": b.protocol, "protocol_params": b.protocol_params, "distinct": b.distinct,
                    "title": b.title, "budgets": b.scale, "convention": convention, "rows": [r.as_dict() for r in b.rows]}
                   for b in score_blocks(records, bmax, cmax, temperature, convention)]
        if len({b["protocol"] for b in payload}) < len(payload):
            log.info("runs of one protocol with different protocol parameters are scored in separate tables, each "
                     "on its own scale.")
        print_score(payload, Format(output_format(fmt, as_json, Format.table)))
