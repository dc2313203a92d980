"""SL-basic: vanilla split learning (Gupta & Raskar, 2018).

Each round, clients take turns round-robin. At the start of its turn a client receives the client
model from the client before it (a peer-to-peer handover, charged), then runs one local epoch of
split steps against the single server model: activations and labels up, gradients down, every
iteration.
"""

from __future__ import annotations

from typing import Any

import torch

from c3bench.data.batches import batch_indices, make_batch
from c3bench.method import Method
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, adam, set_round_lr, split_models, split_step


@register_method
class SLBasic(Method):
    name = "sl-basic"
    description = "Vanilla split learning: clients in turn, one server model, client model handed client to client."
    hparams = SPLIT_HPARAMS
    schedule = "sequential"

    def __init__(self, ctx):
        super().__init__(ctx)
        client_part, self.server_model, self.cut = split_models(ctx)
        n = ctx.federation.num_clients
        # Every client holds its own copy; only the copy handed over is current.
        self.client_models = [client_part] + [self._fresh_copy(client_part) for _ in range(n - 1)]
        self.client_opts = [adam(m.parameters(), self.p) for m in self.client_models]
        self.server_opt = adam(self.server_model.parameters(), self.p)
        self.holder: int | None = None  # who trained last, and so holds the current client model

    @staticmethod
    def _fresh_copy(model: torch.nn.Module) -> torch.nn.Module:
        import copy
        return copy.deepcopy(model)

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx, p = self.ctx, self.p
        set_round_lr([*self.client_opts, self.server_opt], p, round_index, ctx.rounds)
        n = ctx.federation.num_clients
        for i in range(n):
            if self.holder is not None and self.holder != i:
                weights = ctx.channel.send(self.client_models[self.holder].state_dict(), src=self.holder, dst=i)
                self.client_models[i].load_state_dict(weights)
            data = ctx.federation.clients[i]
            batches = list(batch_indices(data.num_train, p["batch_size"], ctx.rng))
            for b, idx in enumerate(batches):
                x, y = make_batch(data.x_train, data.y_train, idx, data.normalization, ctx.federation.augment, ctx.rng)
                split_step(ctx, i, self.client_models[i], self.server_model, self.client_opts[i], self.server_opt,
                           x.to(ctx.device), y.to(ctx.device), tag=f"sl-{self.cut}")
                ctx.progress((i + (b + 1) / len(batches)) / n)
            self.holder = i
        return {}

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        self.client_models[client].eval()
        self.server_model.eval()
        out = self.server_model(self.client_models[client](x))
        self.client_models[client].train()
        self.server_model.train()
        return out

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut}
