"""Optimisers and per-round learning-rate schedules, shared by the federated and the split families."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch


def make_optimizer(params: Iterable[Any], name: str, lr: float, momentum: float, weight_decay: float
                   ) -> torch.optim.Optimizer:
    """Adam (fused where the build supports it: one kernel instead of a loop per tensor) or SGD."""
    params = list(params)
    if name == "adam":
        try:
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
        except (RuntimeError, TypeError):
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def adam(params: Iterable[Any], p: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam with a method's ``lr`` and ``weight_decay``."""
    return make_optimizer(params, "adam", p["lr"], 0.0, p["weight_decay"])


def round_lr(lr: float, schedule: str, round_index: int, rounds: int) -> float:
    """The learning rate of a round: ``cosine`` anneals per round with T_max = rounds + 2 (the AdaSplit
    authors' code), ``constant`` keeps ``lr``."""
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * round_index / (rounds + 2)))
    if schedule == "constant":
        return lr
    raise ValueError(f"unknown learning-rate schedule {schedule!r}")


def set_lr(optimizers: Iterable[torch.optim.Optimizer], lr: float) -> None:
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr
