"""FedNova (Wang et al., 2020): normalised averaging by each client's amount of local progress.

Client ``i`` takes ``tau_i`` local steps from the global model ``x`` and ends at ``y_i``. Its update
is normalised by ``||a_i||_1``, the total weight its local solver gave to the gradients it computed,
and the server applies the weighted normalised updates scaled by an effective step count:

    d_i = (x - y_i) / ||a_i||_1,    tau_eff = sum_i p_i ||a_i||_1,    x <- x - tau_eff * sum_i p_i d_i

with ``p_i`` the data-size weights (as the FedNova reference code and NIID-Bench do).

``||a_i||_1`` per local solver:

* SGD: ``tau_i``.
* SGD with momentum ``rho`` (the paper's momentum case): the gradient of step ``k`` keeps acting
  in every later step, so ``a_i = [1 - rho^tau_i, ..., 1 - rho^2, 1 - rho] / (1 - rho)`` and
  ``||a_i||_1 = sum_{k=1..tau_i} (1 - rho^k) / (1 - rho) = [tau_i - rho (1 - rho^tau_i) / (1 - rho)] / (1 - rho)``.
* Adam (not covered by the paper; our choice): ``tau_i``. With bias correction each Adam step
  applies a convex combination of past gradients (first-moment weights summing to one), so the
  accumulated weights total the number of steps; the per-coordinate scaling is not part of ``a_i``.

Weight decay is part of the gradient and does not change ``a_i`` (as in the reference code). The
client sends ``||a_i||_1`` up with its model: one float32, counted like everything else.
With equal ``a_i`` for every client the update equals FedAvg's.
"""

from __future__ import annotations

from typing import Any

import torch

from c3bench.federated import Arrival, FederatedMethod
from c3bench.registry import register_method


def normalizer(steps: int, optimizer: str, momentum: float) -> float:
    """``||a_i||_1`` for ``steps`` local steps of the given optimiser (see the module docstring)."""
    if optimizer != "sgd" or momentum == 0.0:
        return float(steps)
    # running form of the closed formula; also valid at momentum = 1 (where it is steps*(steps+1)/2)
    weight = total = 0.0
    for _ in range(steps):
        weight = weight * momentum + 1.0  # (1 - rho^k) / (1 - rho)
        total += weight
    return total


@register_method
class FedNova(FederatedMethod):
    name = "fednova"
    description = ("Normalised averaging: each client's update divided by its local progress ||a_i||_1 "
                   "(tau_i; momentum-corrected for SGD with momentum; tau_i for Adam) and rescaled by "
                   "tau_eff (AdaSplit authors' defaults: Adam lr 3.3e-4, batch 100, 1 local epoch).")

    def finish_local(self, client: int, model: torch.nn.Module, steps: int) -> dict[str, Any]:
        """The client sends ||a_i||_1 up with its model."""
        return {"a": torch.tensor(normalizer(steps, self.p["optimizer"], self.p["momentum"]), dtype=torch.float32)}

    def server_models(self, arrivals: list[Arrival], weights: list[float]) -> list[dict[str, torch.Tensor]]:
        """Each client's model rewritten as ``x + (tau_eff / ||a_i||_1) (y_i - x)``; their weighted
        average is then exactly the FedNova update."""
        x = self.global_model.state_dict()
        norms = [float(a.extra["a"]) for a in arrivals]
        tau_eff = sum(p * a for p, a in zip(weights, norms, strict=True))
        rewritten = []
        for arrival, a in zip(arrivals, norms, strict=True):
            scale = tau_eff / a
            rewritten.append({name: (x[name] + scale * (y - x[name])) if y.is_floating_point() else y
                              for name, y in arrival.model.items()})
        return rewritten
