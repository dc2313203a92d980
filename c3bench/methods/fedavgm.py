"""FedAvgM (Hsu, Qi and Brown, 2019): FedAvg with momentum on the server.

The clients train as in FedAvg. The server treats the change the round's average makes as a
pseudo-gradient and applies it with momentum ``beta`` and a server learning rate ``eta``:

    delta = x - avg(y_i),    v <- beta * v + delta,    x <- x - eta * v

At ``beta = 0`` and ``eta = 1`` this is FedAvg (``x <- avg(y_i)``), bit for bit: the update is written as
``avg + (delta - eta * v)``, whose bracket is exactly zero there.
"""

from __future__ import annotations

import torch

from c3bench.federated import FL_HPARAMS, FederatedMethod
from c3bench.hparams import HParam
from c3bench.registry import register_method


@register_method
class FedAvgM(FederatedMethod):
    name = "fedavgm"
    description = "FedAvg with server momentum: the round's average change applied as a pseudo-gradient with momentum."
    hparams = (*FL_HPARAMS,
               HParam("server_lr", float, 1.0, "server learning rate eta", low=0.0, high=1e3, key=True),
               HParam("server_momentum", float, 0.9, "server momentum beta (0 with server_lr 1: FedAvg)",
                      low=0.0, high=1.0, key=True))

    def __init__(self, ctx):
        super().__init__(ctx)
        self.velocity: dict[str, torch.Tensor] = {}  # v, per floating-point tensor of the model

    def server_update(self, previous: dict[str, torch.Tensor], averaged: dict[str, torch.Tensor]
                      ) -> dict[str, torch.Tensor]:
        velocity, eta, beta, new = self.velocity, self.p["server_lr"], self.p["server_momentum"], {}
        for name, avg in averaged.items():
            if not avg.is_floating_point():  # counters and other integer buffers: the average
                new[name] = avg
                continue
            delta = previous[name] - avg
            velocity[name] = beta * velocity[name] + delta if name in velocity else delta.clone()
            new[name] = avg + (delta - eta * velocity[name])
        return new
