"""The one weighted average of models, shared by federated and split methods."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def weighted_average(states: Sequence[dict[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Average state dicts tensor by tensor, with weights proportional to ``weights`` (e.g. data sizes)."""
    if not states or len(states) != len(weights):
        raise ValueError("one weight per state, at least one state")
    total = float(sum(weights))
    shares = [w / total for w in weights]
    return {name: sum(s[name] * share for s, share in zip(states, shares, strict=True)) for name in states[0]}
