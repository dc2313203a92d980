"""c3bench: benchmark federated and split learning on accuracy, bandwidth and compute (C3-Score).

From Python: ``c3bench.run(...)`` trains a configuration and returns its record, ``c3bench.load(...)``
reads records, ``c3bench.scores(...)`` gives the C3 table (see :mod:`c3bench.api`). They are loaded
on first use, so ``import c3bench`` stays light.
"""

from __future__ import annotations

from typing import Any

from c3bench.score import DEFAULT_TEMPERATURE, c3_score
from c3bench.version import __version__

__all__ = ["__version__", "c3_score", "DEFAULT_TEMPERATURE", "run", "load", "scores"]


def __getattr__(name: str) -> Any:
    if name in ("run", "load", "scores"):
        from c3bench import api

        return getattr(api, name)
    raise AttributeError(f"module 'c3bench' has no attribute {name!r}")
