"""CLI commands beyond the core ones, one module each, each exposing ``register(app)``.

Keeping them in their own modules lets plots, leaderboards, sweeps and the planner grow without
touching ``c3bench/cli.py``.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").register(app)
