"""SplitFed (Thapa et al., 2020), variants V1 and V2.

V1: clients train in parallel, each against its own server-side copy; at the end of the round the
server copies are averaged on the server, and the client models are averaged by the federated
server (each client model up, the average down: both charged).
V2: one server model, updated by the clients in turn in a random order each round (a whole epoch
each, or one batch each with ``turns=batch``); client models averaged at the end of the round as in
V1. (In V1 the turns change nothing: each client has its own server copy and its own random stream.)
Each client's own model is scored right after training, before the averaging.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from c3bench.aggregation import weighted_average
from c3bench.hparams import HParam
from c3bench.method import Timing
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, TURNS, SplitMethod


@register_method
class SplitFed(SplitMethod):
    name = "splitfed"
    description = "SplitFed: split learning with client models averaged each round (V1 parallel, V2 sequential)."
    hparams = (*SPLIT_HPARAMS, HParam("variant", str, "v1", "v1: parallel, server copies averaged; "
                                      "v2: one server model, clients in random order", choices=("v1", "v2"), key=True),
               TURNS)
    transient = ("_order",)

    @property
    def v1(self) -> bool:
        return self.p["variant"] == "v1"

    def make_servers(self, part: nn.Module) -> list[nn.Module]:
        n = self.ctx.federation.num_clients
        return [copy.deepcopy(part) for _ in range(n)] if self.v1 else [part]

    def timing(self) -> Timing:
        return Timing("parallel" if self.v1 else "sequential")

    def turn_order(self, round_index: int) -> list[int]:
        n = self.ctx.federation.num_clients
        self._order = list(range(n)) if self.v1 else torch.randperm(n, generator=self.ctx.stream("order", round_index)).tolist()
        return self._order

    def begin_round(self, round_index: int) -> None:
        if self.v1:  # every server copy starts the round from the averaged server model
            for s in self.servers:
                s.load_state_dict(self.server_model.state_dict())

    def end_round(self, round_index: int) -> dict[str, Any]:
        self.score_own_models()
        sizes = [c.num_train for c in self.ctx.federation.clients]
        if self.v1:  # the server copies live on the server: averaging them moves nothing
            self.server_model.load_state_dict(weighted_average([s.state_dict() for s in self.servers], sizes))
        self.average_clients(sizes)
        return {"order": self._order}

    def deployed_parts(self, client: int) -> tuple[nn.Module, nn.Module]:
        """Every client deploys its client model with the one shared (averaged) server model."""
        return self.client_models[client], self.server_model

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut, "variant": self.p["variant"]}
