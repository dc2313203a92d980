"""What every federated method shares: one local-training loop and one aggregation path.

A round: sample clients; for each, send the global model down the channel, train locally, send the
result up; then average, weighted by the clients' data sizes. Variants override small hooks:

* ``extra_down`` / ``extra_up``: payloads sent with the model (SCAFFOLD's control variates),
* ``start_local`` / ``finish_local``: client-side work before and after the local loop,
* ``local_penalty``: a term added to the local loss (FedProx's proximal term),
* ``before_step`` / ``after_step``: changes to the gradients before, or to the weights after, the
  optimiser step (SCAFFOLD's correction is applied after it, outside the optimiser's state),
* ``server_models``: what the server averages in place of the uploaded models (FedNova rescales
  each client's update by its normalised step count),
* ``after_aggregate``: further server-side updates (SCAFFOLD's server control variate).

The aggregation weights are always the clients' data sizes, normalised over the sampled clients.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from c3bench.accounting import SERVER
from c3bench.data.batches import batch_indices, make_batch
from c3bench.hparams import HParam
from c3bench.method import Method

FL_HPARAMS: tuple[HParam, ...] = (
    HParam("sample_fraction", float, 1.0, "fraction of clients sampled each round", low=1e-9, high=1.0),
    HParam("local_epochs", int, 1, "local epochs per round", low=1),
    HParam("optimizer", str, "adam", "local optimiser", choices=("adam", "sgd")),
    HParam("lr", float, 3.3e-4, "local learning rate", low=0.0),
    HParam("momentum", float, 0.9, "SGD momentum (ignored by Adam)", low=0.0, high=1.0),
    HParam("batch_size", int, 100, "local batch size", low=1),
    HParam("weight_decay", float, 0.0, "L2 weight decay in the local optimiser", low=0.0),
)


def make_optimizer(params, name: str, lr: float, momentum: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam (fused where the build supports it: one kernel instead of a loop per tensor) or SGD."""
    params = list(params)
    if name == "adam":
        try:
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
        except (RuntimeError, TypeError):
            return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


@dataclass
class LocalResult:
    """What a client's local training produced, before upload."""

    client: int
    state: dict[str, torch.Tensor]
    num_samples: int  # size of the client's training set (aggregation weight)
    steps: int  # local optimiser steps taken (tau_i)
    extra: dict[str, Any]


class FederatedMethod(Method):
    """FedAvg's skeleton; FedProx, SCAFFOLD and FedNova override hooks only."""

    hparams = FL_HPARAMS

    # attributes that only live within one client visit; left out of checkpoints
    transient: tuple[str, ...] = ("_progress_base",)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.global_model = ctx.new_backbone()
        self.local_model = ctx.new_backbone()  # the client's working copy, reloaded each visit
        self._progress_base = (0, 1)

    # ---------------------------------------------------------------- round structure
    def run_round(self, round_index: int) -> dict[str, Any]:
        selected = self.sample_clients()
        results = []
        for k, client in enumerate(selected):
            self._progress_base = (k, len(selected))
            received = self.ctx.channel.send(
                {"model": self.global_model.state_dict(), **self.extra_down(client)}, src=SERVER, dst=client
            )
            self.local_model.load_state_dict(received.pop("model"))
            result = self.train_client(client, received)
            uploaded = self.ctx.channel.send(
                {"model": result.state, **self.extra_up(client, result)}, src=client, dst=SERVER
            )
            result.state = uploaded.pop("model")
            result.extra.update(uploaded)
            results.append(result)
        self.aggregate(results)
        return {"selected": selected}

    def sample_clients(self) -> list[int]:
        n = self.ctx.federation.num_clients
        m = max(1, round(self.p["sample_fraction"] * n))
        if m == n:
            return list(range(n))
        return sorted(torch.randperm(n, generator=self.ctx.rng)[:m].tolist())

    def train_client(self, client: int, received: dict[str, Any]) -> LocalResult:
        """The shared local loop: ``local_epochs`` passes over the client's data."""
        data = self.ctx.federation.clients[client]
        model, p, ctx = self.local_model, self.p, self.ctx
        model.train()
        opt = make_optimizer(model.parameters(), p["optimizer"], p["lr"], p["momentum"], p["weight_decay"])
        self.start_local(client, model, received)
        steps = 0
        total_steps = p["local_epochs"] * -(-data.num_train // p["batch_size"])
        for _ in range(p["local_epochs"]):
            for idx in batch_indices(data.num_train, p["batch_size"], ctx.rng):
                x, y = make_batch(data.x_train, data.y_train, idx, data.normalization,
                                  ctx.federation.augment, ctx.rng)
                x, y = x.to(ctx.device), y.to(ctx.device)
                with ctx.meter.count(("fl-step", ctx.backbone, tuple(x.shape)), side="client", client=client) as m:
                    loss = F.cross_entropy(model(x), y)
                    loss = loss + self.local_penalty(client, model)
                    m.mark_backward()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                self.before_step(client, model)
                opt.step()
                self.after_step(client, model)
                steps += 1
                ctx.ledger.charge_samples(client, int(y.shape[0]))
                k, of = self._progress_base
                ctx.progress((k + steps / total_steps) / of)
        state = {name: t.detach().clone() for name, t in model.state_dict().items()}
        return LocalResult(client, state, data.num_train, steps, self.finish_local(client, model, steps))

    def aggregate(self, results: list[LocalResult]) -> None:
        """Weighted average of what the server holds per client, weights proportional to data size."""
        weights = self.aggregation_weights(results)
        models = self.server_models(results, weights)
        averaged = {
            name: sum(m[name] * w for m, w in zip(models, weights, strict=True))
            for name in models[0]
        }
        self.global_model.load_state_dict(averaged)
        self.after_aggregate(results, weights)

    @staticmethod
    def aggregation_weights(results: list[LocalResult]) -> list[float]:
        """p_i = n_i / sum of n_j over the sampled clients."""
        total = sum(r.num_samples for r in results)
        return [r.num_samples / total for r in results]

    # ---------------------------------------------------------------- hooks (FedAvg: no-ops)
    def extra_down(self, client: int) -> dict[str, Any]:
        return {}

    def extra_up(self, client: int, result: LocalResult) -> dict[str, Any]:
        return {}

    def start_local(self, client: int, model: torch.nn.Module, received: dict[str, Any]) -> None:
        """Called before local training with whatever came down besides the model."""

    def local_penalty(self, client: int, model: torch.nn.Module) -> torch.Tensor | float:
        return 0.0

    def before_step(self, client: int, model: torch.nn.Module) -> None:
        """Called after backward, before the optimiser step."""

    def after_step(self, client: int, model: torch.nn.Module) -> None:
        """Called after the optimiser step."""

    def finish_local(self, client: int, model: torch.nn.Module, steps: int) -> dict[str, Any]:
        """Client-side work after the local loop; returns facts kept in ``LocalResult.extra``."""
        return {}

    def server_models(self, results: list[LocalResult], weights: list[float]) -> list[dict[str, torch.Tensor]]:
        """The per-client models the server averages: by default the uploaded ones."""
        return [r.state for r in results]

    def after_aggregate(self, results: list[LocalResult], weights: list[float]) -> None:
        """Called once the new global model is in place."""

    # ---------------------------------------------------------------- evaluation
    def deployed_model_key(self, client: int) -> str:
        return "global"

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        self.global_model.eval()
        return self.global_model(x)

    def state_dict(self) -> dict[str, Any]:
        skip = {"ctx", *self.transient}
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in skip})
