"""c3bench: benchmark federated and split learning on accuracy, bandwidth and compute (C3-Score).

From Python: ``c3bench.run(...)`` trains a configuration and returns its record, ``c3bench.load(...)``
reads records, ``c3bench.scores(...)`` gives the C3 table, ``c3bench.load_model(...)`` the models a run
saved (see :mod:`c3bench.api`); ``c3bench.Callbacks`` follows a run while it trains
(:mod:`c3bench.callbacks`). They are loaded on first use, so ``import c3bench`` stays light.
"""

from __future__ import annotations

from typing import Any

from c3bench.score import DEFAULT_TEMPERATURE, c3_score
from c3bench.version import __version__

__all__ = ["__version__", "c3_score", "DEFAULT_TEMPERATURE", "run", "load", "scores", "load_model", "Callbacks"]


def __getattr__(name: str) -> Any:
    if name in ("run", "load", "scores", "load_model"):
        from c3bench import api

        return getattr(api, name)
    if name == "Callbacks":
        from c3bench.callbacks import Callbacks

        return Callbacks
    raise AttributeError(f"module 'c3bench' has no attribute {name!r}")
