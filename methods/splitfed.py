"""SplitFed (Thapa et al., 2020), variants V1 and V2.

V1: clients train in parallel, each against its own server-side copy; at the end of the round the
server copies are averaged on the server, and the client models are averaged by the federated
server (each client model up, the average down: both charged).
V2: one server model, updated by the clients in turn in a random order each round (a whole epoch
each, or one batch each with ``turns=batch``); client models averaged at the end of the round as in
V1. (In V1 the turns change nothing: each client has its own server copy and its own random stream.)
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from c3bench.aggregation import weighted_average
from c3bench.hparams import HParam
from c3bench.method import Method, Timing
from c3bench.registry import register_method
from c3bench.split import (
    SPLIT_HPARAMS,
    TURNS,
    adam,
    average_client_models,
    round_epochs,
    set_round_lr,
    split_models,
    split_predictor,
    split_step,
    train_in_turns,
)


@register_method
class SplitFed(Method):
    name = "splitfed"
    description = "SplitFed: split learning with client models averaged each round (V1 parallel, V2 sequential)."
    family = "split"
    hparams = (*SPLIT_HPARAMS, HParam("variant", str, "v1", "v1: parallel, server copies averaged; "
                                      "v2: one server model, clients in random order", choices=("v1", "v2"), key=True),
               TURNS)

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

    def timing(self) -> Timing:
        return Timing("parallel" if self.p["variant"] == "v1" else "sequential")

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx = self.ctx
        set_round_lr([*self.client_opts, *self.server_opts], self.p, round_index, ctx.rounds)
        n = ctx.federation.num_clients
        v1 = self.p["variant"] == "v1"
        order = list(range(n)) if v1 else torch.randperm(n, generator=ctx.stream("order", round_index)).tolist()
        if v1:  # every server copy starts the round from the averaged server model
            for s in self.server_copies:
                s.load_state_dict(self.server_model.state_dict())

        def step(i: int, x: torch.Tensor, y: torch.Tensor) -> None:
            k = i if v1 else 0
            split_step(ctx, i, self.client_models[i], self.server_copies[k], self.client_opts[i], self.server_opts[k],
                       x, y, tag=f"splitfed-{self.cut}")

        train_in_turns(ctx, round_epochs(ctx, round_index), order, step, turns=self.p["turns"])
        for i, model in enumerate(self.client_models):  # each client's own model, before any averaging
            server = self.server_copies[i if v1 else 0]
            self.score_local(i, split_predictor(ctx, i, model, server, f"splitfed-{self.cut}", [server]))
        sizes = [c.num_train for c in ctx.federation.clients]
        if v1:  # the server copies live on the server: averaging them moves nothing
            self.server_model.load_state_dict(weighted_average([s.state_dict() for s in self.server_copies], sizes))
        average_client_models(ctx, self.client_models, sizes)
        return {"order": order}

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        return split_predictor(self.ctx, client, self.client_models[client], self.server_model, f"splitfed-{self.cut}",
                               [self.server_model])(x)

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut, "variant": self.p["variant"]}
