"""SCAFFOLD (Karimireddy et al., 2020), control variates with the paper's option II.

The server holds a control variate ``c`` and each client ``i`` its own ``c_i`` (kept on the client,
zero at the start). A round, for each sampled client:

1. the server sends the global model ``x`` and ``c`` (both through the channel);
2. the client runs its local steps ``y <- y - lr * (g(y) + c - c_i)``;
3. option II: ``c_i+ = c_i - c + (x - y) / (K * lr)`` with ``K`` the local steps taken; the client
   sends ``y`` and ``delta c_i = c_i+ - c_i`` up (so the payload is twice FedAvg's) and keeps ``c_i+``.

The server then averages the models (global learning rate 1, weights by data size, as every method
here) and updates ``c += |S|/N * mean(delta c_i)``.

With momentum SGD or Adam the correction ``-lr * (c - c_i)`` is applied to the weights right after
each optimiser step, outside the optimiser's state (as NIID-Bench does). Fed through the momentum
buffer it would be amplified by about 1/(1 - momentum) on top of the amplification already inside
``c_i`` (estimated from the actual model movement) and the control variates would oscillate and
diverge. With plain SGD both placements are the paper's update.
Control variates cover the trainable parameters; buffers (if a backbone had any) are averaged only.
"""

from __future__ import annotations

from typing import Any

import torch

from c3bench.federated import Arrival, FederatedMethod
from c3bench.hparams import ConfigError
from c3bench.registry import register_method


def _zeros_like_params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: torch.zeros_like(p) for name, p in model.named_parameters()}


@register_method
class Scaffold(FederatedMethod):
    name = "scaffold"
    description = ("Control variates (option II) correct client drift; c goes down and delta c_i comes up "
                   "with the model, so twice FedAvg's bytes (AdaSplit authors' defaults: Adam lr 3.3e-4, "
                   "batch 100, 1 local epoch).")
    transient = (*FederatedMethod.transient, "_anchor", "_correction", "_received_c")

    def __init__(self, ctx):
        super().__init__(ctx)
        self.server_c = _zeros_like_params(self.global_model)  # each client's c_i is in client_state

    @classmethod
    def finalize_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        if params["lr"] <= 0:
            raise ConfigError("scaffold needs lr > 0: option II divides the model change by K * lr.")
        return params

    def extra_down(self, client: int) -> dict[str, Any]:
        return {"c": self.server_c}

    def start_local(self, client: int, model: torch.nn.Module, received: dict[str, Any]) -> None:
        own = self.client_state.setdefault(client, _zeros_like_params(model))
        self._received_c = received["c"]
        self._anchor = {name: p.detach().clone() for name, p in model.named_parameters()}
        self._correction = [received["c"][name] - own[name] for name, _ in model.named_parameters()]

    def after_step(self, client: int, model: torch.nn.Module) -> None:
        with torch.no_grad():
            torch._foreach_add_(list(model.parameters()), self._correction, alpha=-self.p["lr"])

    def finish_local(self, client: int, model: torch.nn.Module, steps: int) -> dict[str, Any]:
        own, c = self.client_state[client], self._received_c
        scale = 1.0 / (steps * self.p["lr"])
        new = {name: own[name] - c[name] + (self._anchor[name] - p.detach()) * scale
               for name, p in model.named_parameters()}
        delta = {name: new[name] - own[name] for name in new}
        self.client_state[client] = new
        return {"delta_c": delta}  # sent up with the model

    def after_aggregate(self, arrivals: list[Arrival], weights: list[float]) -> None:
        share = len(arrivals) / self.ctx.federation.num_clients  # |S| / N
        for name, c in self.server_c.items():
            mean_delta = sum(a.extra["delta_c"][name] for a in arrivals) / len(arrivals)
            c.add_(mean_delta * share)
