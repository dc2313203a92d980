"""SL-basic: vanilla split learning (Gupta & Raskar, 2018).

Each round, clients take turns round-robin: a whole epoch each (``turns=epoch``, Gupta & Raskar) or
one batch each (``turns=batch``, the AdaSplit authors' code). At the start of its turn a client
receives the client model from the client before it (a peer-to-peer handover through the channel;
the AdaSplit authors did not count it, so it is outside their convention), then runs its split steps
against the single server model: activations and labels up, gradients down, every iteration.

At evaluation every client predicts with the latest client model, handed over from the last client
to train (charged, like all inference traffic, only when the run charges inference).

``average_every = k`` (0: never) adds what the AdaSplit authors' "SplitFed" row ran (``train.py
--avg_clients --vanilla``, ../shared/papers/implementation-facts.md): after every k-th round each
client uploads its own copy of the client model and gets the plain (unweighted) average back, both
charged. Each client's own copy is then also scored right after training, before the average.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

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
class SLBasic(Method):
    name = "sl-basic"
    description = "Vanilla split learning: clients in turn, one server model, client model handed client to client."
    family = "split"
    hparams = (*SPLIT_HPARAMS, TURNS,
               HParam("average_every", int, 0, "average the clients' own copies of the client model after every "
                      "k-th round, plainly, through the server (0: never; 3: the AdaSplit authors' SplitFed)",
                      low=0, high=100_000, key=True, record_default=False))

    def __init__(self, ctx):
        super().__init__(ctx)
        client_part, self.server_model, self.cut = split_models(ctx)
        n = ctx.federation.num_clients
        # Every client holds its own copy; only the holder's is current.
        self.client_models = [client_part] + [copy.deepcopy(client_part) for _ in range(n - 1)]
        self.client_opts = [adam(m.parameters(), self.p) for m in self.client_models]
        self.server_opt = adam(self.server_model.parameters(), self.p)
        self.holder: int | None = None  # who trained last, and so holds the current client model

    def timing(self) -> Timing:
        return Timing("sequential")

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx = self.ctx
        set_round_lr([*self.client_opts, self.server_opt], self.p, round_index, ctx.rounds)

        def step(i: int, x: torch.Tensor, y: torch.Tensor) -> None:
            split_step(ctx, i, self.client_models[i], self.server_model, self.client_opts[i], self.server_opt,
                       x, y, tag=f"sl-{self.cut}")

        n = ctx.federation.num_clients
        train_in_turns(ctx, round_epochs(ctx, round_index), range(n), step,
                       before_turn=self.receive_client_model, turns=self.p["turns"])
        every = self.p["average_every"]
        if every:
            for i, model in enumerate(self.client_models):  # each client's own copy, before any averaging
                self.score_local(i, split_predictor(ctx, i, model, self.server_model, f"sl-{self.cut}",
                                                    [self.server_model]))
            if (round_index + 1) % every == 0:
                average_client_models(ctx, self.client_models, [1.0] * n)
                return {"averaged": True}
        return {}

    def receive_client_model(self, i: int) -> None:
        """Client i takes the current client model from its holder (peer to peer)."""
        if self.holder is not None and self.holder != i:
            weights = self.ctx.channel.send(self.client_models[self.holder].state_dict(), src=self.holder, dst=i,
                                            paper_counted=False)
            self.client_models[i].load_state_dict(weights)
        self.holder = i

    def begin_evaluation(self) -> None:
        if self.holder is None:
            return
        holder = self.holder
        for i in range(self.ctx.federation.num_clients):
            if i != holder:
                weights = self.ctx.channel.send(self.client_models[holder].state_dict(), src=holder, dst=i,
                                                paper_counted=False)
                self.client_models[i].load_state_dict(weights)

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        return split_predictor(self.ctx, client, self.client_models[client], self.server_model, f"sl-{self.cut}",
                               [self.server_model])(x)

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut}
