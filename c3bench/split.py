"""What every split-learning method shares: choosing the cut, the split training step, optimisers.

The cut is a block index of the backbone (client = blocks[:cut]) or is derived from ``mu``, the
client's share of forward compute, measured on the real modules: the cut whose share is closest to
``mu`` (the AdaSplit paper's mu = 0.2 is the authors' LeNet cut after its first conv block, whose
share is 0.14, or 0.20 with AdaSplit's projection head on the client).

Note on the paper's Table 3: its mu = 0.2/0.4/0.6/0.8 are the fractions of the LeNet's five layers
on the client (cuts 1..4), not compute shares; ``--set cut=K`` reproduces those rows exactly.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from c3bench.accounting import SERVER, Encoding
from c3bench.accounting.flops import forward_cost
from c3bench.federated import make_optimizer
from c3bench.hparams import ConfigError, HParam
from c3bench.method import RunContext

SPLIT_HPARAMS: tuple[HParam, ...] = (
    HParam("cut", int, 0, "client part = the first CUT blocks of the backbone; 0 = choose from mu", low=0),
    HParam("mu", float, 0.2, "client's share of forward compute, used when cut=0", low=0.0, high=1.0),
    HParam("lr", float, 1e-3, "Adam learning rate (client and server)", low=0.0),
    HParam("batch_size", int, 32, "batch size", low=1),
    HParam("weight_decay", float, 1e-5, "Adam weight decay (the AdaSplit authors' code used 1e-5)", low=0.0),
    HParam("lr_schedule", str, "cosine", "per-round learning-rate schedule: cosine (T_max = rounds + 2, as the "
           "AdaSplit authors' code) or constant", choices=("cosine", "constant")),
)


def client_compute_shares(model: nn.Sequential, input_shape: tuple[int, ...]) -> list[float]:
    """Cumulative share of forward FLOPs after each block (cuts 1..len-1)."""
    total = forward_cost(model, (1, *input_shape)).forward_flops
    return [forward_cost(model[:cut], (1, *input_shape)).forward_flops / total for cut in range(1, len(model))]


def choose_cut(model: nn.Sequential, input_shape: tuple[int, ...], cut: int, mu: float) -> int:
    """Validate an explicit cut, or pick the cut whose client compute share is nearest ``mu``."""
    if cut:
        if not 1 <= cut < len(model):
            raise ConfigError(f"cut must be between 1 and {len(model) - 1} for this backbone, got {cut}.")
        return cut
    shares = client_compute_shares(model, input_shape)
    return 1 + min(range(len(shares)), key=lambda i: (abs(shares[i] - mu), i))


def split_models(ctx: RunContext) -> tuple[nn.Sequential, nn.Sequential, int]:
    """A fresh backbone cut by the method's ``cut``/``mu``: (client part, server part, cut)."""
    model = ctx.new_backbone()
    cut = choose_cut(model, ctx.federation.input_shape, ctx.params["cut"], ctx.params["mu"])
    return model[:cut], model[cut:], cut


def adam(params, p: dict[str, Any]) -> torch.optim.Optimizer:
    return make_optimizer(params, "adam", p["lr"], 0.0, p["weight_decay"])


def set_round_lr(optimizers, p: dict[str, Any], round_index: int, rounds: int) -> None:
    """Cosine annealing per round (T_max = rounds + 2), or constant."""
    lr = p["lr"]
    if p["lr_schedule"] == "cosine":
        lr = p["lr"] * 0.5 * (1.0 + math.cos(math.pi * round_index / (rounds + 2)))
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr


def split_step(
    ctx: RunContext,
    client: int,
    client_model: nn.Module,
    server_model: nn.Module,
    client_opt: torch.optim.Optimizer,
    server_opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    tag: str,
    encoding: Encoding = Encoding.DENSE,
) -> float:
    """One iteration of classic split learning for one client (Gupta & Raskar; SplitFed).

    Client forward -> activations (and labels) up -> server forward, loss, backward, step ->
    gradient of the activations down -> client backward, step.
    """
    with ctx.meter.count((tag, "client-fwd", tuple(x.shape)), side="client", client=client):
        activations = client_model(x)
    server_in = ctx.channel.send(activations, src=client, dst=SERVER, encoding=encoding).requires_grad_(True)
    labels = ctx.channel.send(y, src=client, dst=SERVER, paper_counted=False)
    with ctx.meter.count((tag, "server", tuple(activations.shape)), side="server", client=client) as m:
        loss = F.cross_entropy(server_model(server_in), labels)
        m.mark_backward()
        server_opt.zero_grad(set_to_none=True)
        loss.backward()
    server_opt.step()
    grad = ctx.channel.send(server_in.grad, src=SERVER, dst=client, encoding=encoding)
    with ctx.meter.count((tag, "client-bwd", tuple(x.shape)), side="client", client=client, backward_only=True):
        client_opt.zero_grad(set_to_none=True)
        activations.backward(grad)
    client_opt.step()
    ctx.ledger.charge_samples(client, int(y.shape[0]))
    return float(loss.detach())


def weighted_average(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    """Average state dicts with weights proportional to ``weights`` (client data sizes)."""
    total = float(sum(weights))
    return {name: sum(s[name] * (w / total) for s, w in zip(states, weights, strict=True)) for name in states[0]}
