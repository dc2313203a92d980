"""`c3bench configs [NAME]`: the named configurations that `c3bench run --config NAME` applies."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from c3bench.configs import CONFIGS, get_config
from c3bench.hparams import ConfigError

out = Console()
err = Console(stderr=True)


def _settings(values: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items()) or "-"


def show_configs(name: str | None = None, as_json: bool = False) -> None:
    """Print every named configuration, or one in detail."""
    chosen = [get_config(name)] if name else list(CONFIGS.values())
    if as_json:
        out.print_json(json.dumps([c.as_dict() for c in chosen]))
        return
    if name is None:
        table = Table(title="named configurations (c3bench run --config NAME -m METHOD)", title_justify="left")
        for col in ("name", "protocol", "rounds", "backbone", "methods", "description"):
            table.add_column(col)
        for c in chosen:
            table.add_row(c.name, c.protocol, str(c.rounds or "-"), c.backbone or "-", ",".join(c.methods), c.description)
        out.print(table)
        return
    (c,) = chosen
    out.print(f"[bold]{c.name}[/]: {c.description}")
    out.print(f"protocol {c.protocol} {_settings(dict(c.protocol_params))}")
    out.print(f"rounds {c.rounds or 'protocol default'}, backbone {c.backbone or 'protocol default'}")
    out.print(f"methods {', '.join(c.methods)}; for each: {_settings(dict(c.method_params))}")
    for method, extra in c.per_method.items():
        out.print(f"  {method} also: {_settings(dict(extra))}")
    if c.reference:
        out.print("published accuracy %: " + ", ".join(f"{m} {a:g}" for m, a in c.reference.items()))
    if c.source:
        out.print(f"source: {c.source}")


def register(app: typer.Typer) -> None:
    @app.command("configs")
    def configs_command(
        name: str | None = typer.Argument(None, help="Show one configuration in detail."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """List the named configurations (published settings) that `run --config NAME` applies."""
        try:
            show_configs(name, as_json)
        except ConfigError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
