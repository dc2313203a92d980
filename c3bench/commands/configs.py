"""`c3bench configs [NAME]`: the named configurations that `c3bench run --config NAME[/RUN]` applies."""

from __future__ import annotations

import json

import typer

from c3bench.console import ViewFormat


def _settings(values: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items()) or "-"


def _reference_text(ref) -> str:
    if ref is None:
        return "-"
    parts = []
    if ref.accuracy is not None:
        parts.append(f"{ref.accuracy:g}" + (f" ± {ref.accuracy_std:g}" if ref.accuracy_std is not None else "") + " %")
    if ref.bandwidth_gb is not None:
        parts.append(f"{ref.bandwidth_gb:g} GB")
    if ref.client_tflops is not None:
        parts.append(f"{ref.client_tflops:g}" + (f" ({ref.total_tflops:g})" if ref.total_tflops is not None else "") + " T")
    return ", ".join(parts) or "-"


def show_configs(name: str | None = None, as_json: bool = False) -> None:
    """Print every named configuration, or one (or a file) in detail."""
    from rich.table import Table

    from c3bench.configs import get_config, named_configs
    from c3bench.console import cells, esc, out

    chosen = [get_config(name)[0]] if name else list(named_configs().values())
    if as_json:
        out.print_json(json.dumps([c.as_dict() for c in chosen]))
        return
    if name is None:
        table = Table(title="named configurations (c3bench run --config NAME/RUN; c3bench reproduce NAME)",
                      title_justify="left")
        for col in ("name", "protocol", "rounds", "runs", "description"):
            table.add_column(col)
        for c in chosen:
            table.add_row(*cells(c.name, c.protocol, c.rounds or "-", ", ".join(r.name for r in c.runs), c.description))
        out.print(table)
        return
    (c,) = chosen
    out.print(f"[bold]{esc(c.name)}[/]: {esc(c.description)}", highlight=False)
    if c.source:
        out.print(f"source: {c.source}", highlight=False, markup=False)
    out.print(f"protocol {c.protocol} {_settings(dict(c.protocol_params))}; rounds {c.rounds or 'protocol default'}, "
              f"backbone {c.backbone or 'protocol default'}, seeds {', '.join(map(str, c.seeds))}", highlight=False,
              markup=False)
    shared = {k: v for k, v in c.params.items() if not isinstance(v, dict)}
    out.print(f"shared settings (where a method declares them): {_settings(shared)}", highlight=False, markup=False)
    for family, values in ((k, v) for k, v in c.params.items() if isinstance(v, dict)):
        out.print(f"  {family} methods: {_settings(values)}", highlight=False, markup=False)
    table = Table(title="runs", title_justify="left")
    for col in ("run", "method", "settings", "published"):
        table.add_column(col)
    for r in c.runs:
        table.add_row(*cells(f"{c.name}/{r.name}", r.method, _settings(dict(r.params)), _reference_text(r.reference)))
    out.print(table)


def register(app: typer.Typer) -> None:
    from c3bench import completion
    from c3bench.console import ViewFormat, format_option, json_option, output_format, user_errors

    @app.command("configs")
    @user_errors
    def configs_command(
        name: str | None = typer.Argument(None, autocompletion=completion.config_names,
                                          help="Show one configuration (NAME or a .toml file) in detail."),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """List the named configurations (published settings) that `run --config NAME/RUN` applies.

        Example: c3bench configs adasplit-table2
        """
        show_configs(name, output_format(fmt, as_json, ViewFormat.table) == "json")
