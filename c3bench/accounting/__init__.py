"""Exact accounting: the channel (bytes), the FLOP meter, the ledger and budgets.

The names are loaded on first use, so that ``from c3bench.accounting.ledger import Budgets`` (the CLI,
reading records) does not import torch, which the channel and the meter need.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SERVER": "channel", "Channel": "channel", "Encoding": "channel", "payload_bytes": "channel",
    "tensor_bytes": "channel", "FlopMeter": "flops", "StepCost": "flops", "forward_cost": "flops",
    "train_step_cost": "flops", "Budgets": "ledger", "BudgetExceeded": "ledger", "Counters": "ledger",
    "Ledger": "ledger",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"c3bench.accounting.{_EXPORTS[name]}"), name)
    if name == "simtime":
        return importlib.import_module("c3bench.accounting.simtime")
    raise AttributeError(f"module 'c3bench.accounting' has no attribute {name!r}")
