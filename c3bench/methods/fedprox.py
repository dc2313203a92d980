"""FedProx (Li et al., 2020): FedAvg whose local loss carries a proximal term.

Each client minimises ``loss(w) + mu/2 * ||w - w_global||^2`` over its local steps, where ``w_global``
is the model it received this round. ``mu = 0`` is FedAvg. The term's gradient, ``mu * (w - w_global)``,
pulls the local model back towards the global one and so limits client drift.
"""

from __future__ import annotations

from typing import Any

import torch

from c3bench.federated import FL_HPARAMS, FederatedMethod
from c3bench.hparams import HParam
from c3bench.registry import register_method


@register_method
class FedProx(FederatedMethod):
    name = "fedprox"
    description = ("FedAvg plus a proximal term mu/2*||w - w_global||^2 in the local loss "
                   "(defaults as the AdaSplit authors ran it: mu=1, Adam lr 3.3e-4, batch 100, 1 local epoch).")
    hparams = (*FL_HPARAMS, HParam("mu", float, 1.0, "proximal coefficient mu (0 gives FedAvg)", low=0.0, key=True))
    transient = (*FederatedMethod.transient, "_anchor")

    def start_local(self, client: int, model: torch.nn.Module, received: dict[str, Any]) -> None:
        # the model was just loaded from what the server sent: that is w_global for this round
        self._anchor = [p.detach().clone() for p in model.parameters()]

    def local_penalty(self, client: int, model: torch.nn.Module) -> torch.Tensor:
        squared = sum((p - a).pow(2).sum() for p, a in zip(model.parameters(), self._anchor, strict=True))
        return 0.5 * self.p["mu"] * squared
