"""`c3bench list methods|protocols|configs`: what is registered, with descriptions and hyperparameters."""

from __future__ import annotations

import json
from enum import Enum

import typer

from c3bench.console import (
    ViewFormat,
    cells,
    esc,
    format_option,
    json_option,
    out,
    output_format,
    user_errors,
)
from c3bench.hparams import ConfigError
from c3bench.log import log


class ListWhat(str, Enum):
    methods = "methods"
    protocols = "protocols"
    configs = "configs"


def _value(v) -> str:
    return "-" if v is None else str(v).lower() if isinstance(v, bool) else repr(v)


def register(app: typer.Typer) -> None:
    @app.command("list")
    @user_errors
    def list_entries(
        what: ListWhat = typer.Argument(..., help="methods, protocols or configs"),
        fmt: ViewFormat | None = format_option(ViewFormat, ViewFormat.table),
        as_json: bool = json_option(),
    ) -> None:
        """Show registered methods or protocols with their hyperparameters (name, type, default, range, help),
        or the named configurations (the same as `c3bench configs`).

        Example: c3bench list methods --json
        """
        as_json = output_format(fmt, as_json, ViewFormat.table) == "json"
        if what is ListWhat.configs:
            from c3bench.commands.configs import show_configs

            show_configs(None, as_json)
            return
        from rich.table import Table

        from c3bench.registry import METHODS, PROTOCOLS

        registry = METHODS if what is ListWhat.methods else PROTOCOLS
        entries, broken = [], []
        for name in registry.names():
            try:
                cls = registry.get(name)
            except ConfigError as exc:  # a plug-in that does not import: say so, list the others
                broken.append({"name": name, "error": str(exc)})
                continue
            entries.append({
                "name": name,
                "description": cls.description,
                **({"version": cls.version, "default_rounds": cls.default_rounds,
                    "default_backbone": cls.default_backbone, "suggested_params": dict(cls.suggested_params)}
                   if what is ListWhat.protocols else {"family": cls.family}),
                "hyperparameters": [
                    {"name": p.name, "type": p.type.__name__, "default": p.default, "help": p.help,
                     "range": p.describe_range(), "key": p.key}
                    for p in cls.hparams
                ],
            })
        if as_json:
            out.print_json(json.dumps(entries + [{**b, "description": None, "hyperparameters": []} for b in broken]))
            return
        for entry in entries:
            table = Table(title=f"[bold]{esc(entry['name'])}[/]: {esc(str(entry['description']))}", title_justify="left",
                          show_edge=False, expand=False)
            for col in ("hyperparameter", "type", "default", "range", "help"):
                table.add_column(col)
            for hp in entry["hyperparameters"]:
                table.add_row(*cells(hp["name"] + (" *" if hp["key"] else ""), hp["type"], _value(hp["default"]),
                                     hp["range"], hp["help"]))
            out.print(table)
            if entry.get("suggested_params"):
                out.print("  suggests for methods that declare them: "
                          + ", ".join(f"{k}={_value(v)}" for k, v in entry["suggested_params"].items()), highlight=False,
                          markup=False)
            out.print()
        for entry in broken:
            log.error(f"cannot load {entry['error']}")
        if what is ListWhat.methods:
            out.print("* a key hyperparameter (shown in score tables). Set any of them with --set key=value.",
                      highlight=False)
