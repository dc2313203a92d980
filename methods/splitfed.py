"""SplitFed (Thapa et al., 2020), variants V1 and V2.

V1: clients train in parallel, each against its own server-side copy; at the end of the round the
server copies are averaged on the server, and the client models are averaged by the federated
server (each client model up, the average down: both charged).
V2: one server model, updated by the clients in turn in a random order each round; client models
averaged at the end of the round as in V1.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from c3bench.accounting import SERVER
from c3bench.data.batches import batch_indices, make_batch
from c3bench.hparams import HParam
from c3bench.method import Method
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, adam, set_round_lr, split_models, split_step, weighted_average


@register_method
class SplitFed(Method):
    name = "splitfed"
    description = "SplitFed: split learning with client models averaged each round (V1 parallel, V2 sequential)."
    hparams = (*SPLIT_HPARAMS, HParam("variant", str, "v1", "v1: parallel, server copies averaged; "
                                      "v2: one server model, clients in random order", choices=("v1", "v2"), key=True))

    def __init__(self, ctx):
        super().__init__(ctx)
        client_part, self.server_model, self.cut = split_models(ctx)
        n = ctx.federation.num_clients
        self.client_models = [copy.deepcopy(client_part) for _ in range(n)]  # same initial weights
        self.client_opts = [adam(m.parameters(), self.p) for m in self.client_models]
        if self.p["variant"] == "v1":
            self.server_copies = [copy.deepcopy(self.server_model) for _ in range(n)]
            self.server_opts = [adam(s.parameters(), self.p) for s in self.server_copies]
        else:
            self.server_copies = [self.server_model]
            self.server_opts = [adam(self.server_model.parameters(), self.p)]

    @property
    def schedule(self) -> str:  # type: ignore[override]
        return "parallel" if self.p["variant"] == "v1" else "sequential"

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx, p = self.ctx, self.p
        set_round_lr([*self.client_opts, *self.server_opts], p, round_index, ctx.rounds)
        n = ctx.federation.num_clients
        v1 = p["variant"] == "v1"
        order = list(range(n)) if v1 else torch.randperm(n, generator=ctx.rng).tolist()
        if v1:  # every server copy starts the round from the averaged server model
            for s in self.server_copies:
                s.load_state_dict(self.server_model.state_dict())
        for k, i in enumerate(order):
            server, server_opt = (self.server_copies[i], self.server_opts[i]) if v1 else (
                self.server_model, self.server_opts[0])
            data = ctx.federation.clients[i]
            batches = list(batch_indices(data.num_train, p["batch_size"], ctx.rng))
            for b, idx in enumerate(batches):
                x, y = make_batch(data.x_train, data.y_train, idx, data.normalization, ctx.federation.augment, ctx.rng)
                split_step(ctx, i, self.client_models[i], server, self.client_opts[i], server_opt,
                           x.to(ctx.device), y.to(ctx.device), tag=f"splitfed-{self.cut}")
                ctx.progress((k + (b + 1) / len(batches)) / n)
        sizes = [c.num_train for c in ctx.federation.clients]
        if v1:  # the server copies live on the server: averaging them moves nothing
            self.server_model.load_state_dict(weighted_average([s.state_dict() for s in self.server_copies], sizes))
        uploads = [ctx.channel.send(m.state_dict(), src=i, dst=SERVER) for i, m in enumerate(self.client_models)]
        averaged = weighted_average(uploads, sizes)
        for i, m in enumerate(self.client_models):
            m.load_state_dict(ctx.channel.send(averaged, src=SERVER, dst=i))
        return {"order": order}

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        model = torch.nn.Sequential(self.client_models[client], self.server_model)
        model.eval()
        out = model(x)
        model.train()
        return out

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut, "variant": self.p["variant"]}
