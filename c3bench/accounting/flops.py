"""FLOPs counted from the real modules with torch's FlopCounterMode, cached per step and shape.

A method wraps each training computation in ``meter.count(...)``. The first time a (key, shape)
pair is seen, the real computation runs under ``FlopCounterMode``; the forward part (until
``mark_backward()``) and the rest are recorded. Every later occurrence charges the cached figures
without counting again, so metering costs nothing per batch.

Conventions: ``flops`` are forward + backward FLOPs as torch counts them (2 per multiply-add);
``fwd_macs`` are forward multiply-accumulates only (forward FLOPs / 2), which is how fvcore, and so
the AdaSplit authors' "TFLOPS", count. Element-wise operations (activations, normalisation, the
optimiser step) have no FLOP formula in torch and are not counted in either convention.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from c3bench.accounting.ledger import Ledger


@dataclass(frozen=True)
class StepCost:
    forward_flops: int
    backward_flops: int

    @property
    def flops(self) -> int:
        return self.forward_flops + self.backward_flops

    @property
    def fwd_macs(self) -> int:
        return self.forward_flops // 2


class _Section:
    """Handle given to the ``with`` body; ``mark_backward()`` separates forward from backward."""

    def __init__(self, counter: FlopCounterMode | None):
        self._counter = counter
        self.forward_flops: int | None = None

    @property
    def measuring(self) -> bool:
        """True the first time a (key, shape) is seen: the body must run the real computation."""
        return self._counter is not None

    def mark_backward(self) -> None:
        if self._counter is not None and self.forward_flops is None:
            self.forward_flops = self._counter.get_total_flops()


class FlopMeter:
    """Counts and caches the FLOPs of training computations and charges them to the ledger."""

    def __init__(self, ledger: Ledger | None = None):
        self.ledger = ledger
        self.cache: dict[Hashable, StepCost] = {}

    @contextmanager
    def count(
        self, key: Hashable, *, side: str, client: int, backward_only: bool = False
    ) -> Iterator[_Section]:
        """Meter the computation in the ``with`` body as work done on ``side`` for ``client``.

        ``key`` must identify the computation and its input shapes (e.g. ``("fl-step", x.shape)``).
        ``backward_only`` marks a body that only runs a backward pass (split learning's client
        backward after the server's gradient arrives).
        """
        cost = self.cache.get(key)
        if cost is not None:
            yield _Section(None)
        else:
            with FlopCounterMode(display=False) as counter:
                section = _Section(counter)
                yield section
                total = counter.get_total_flops()
            forward = 0 if backward_only else (total if section.forward_flops is None else section.forward_flops)
            cost = StepCost(forward_flops=forward, backward_flops=total - forward)
            self.cache[key] = cost
        if self.ledger is not None:
            self.ledger.charge_flops(client, side, cost.flops, cost.fwd_macs)


def forward_cost(module: torch.nn.Module, input_shape: tuple[int, ...]) -> StepCost:
    """Forward FLOPs of ``module`` on a zero input of ``input_shape`` (no ledger, no cache)."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(torch.zeros(input_shape))
    finally:
        module.train(was_training)
    return StepCost(forward_flops=counter.get_total_flops(), backward_flops=0)


def train_step_cost(module: torch.nn.Module, input_shape: tuple[int, ...], input_requires_grad: bool = False) -> StepCost:
    """Forward and backward FLOPs of one step of ``module`` on an input of ``input_shape``."""
    x = torch.zeros(input_shape, requires_grad=input_requires_grad)
    with FlopCounterMode(display=False) as counter:
        out = module(x)
        forward = counter.get_total_flops()
        out.float().sum().backward()
    module.zero_grad(set_to_none=True)
    return StepCost(forward_flops=forward, backward_flops=counter.get_total_flops() - forward)
