"""EdgeSplit (Zhang, Cao, Sahni, Chen, Jiang, 2024): parallel split learning with a split point and a
share of the server's bandwidth chosen per device.

Before training, ``c3bench.edgesplit.planner.SplitPlanner`` picks each device's cut and bandwidth share by
the alternating optimisation (see that module for the round model and the algorithm), using the
run's fleet (``RunContext.fleet``: ``--devices``, the protocol's, or the default) and per-block FLOPs
and activation sizes measured on the real backbone. Then, each round:

1. every device ``i`` runs one local epoch of split steps (``c3bench.split.split_step``) with its
   client part ``blocks[:cut_i]`` against its own server-side copy of ``blocks[cut_i:]``:
   activations and labels up, activation gradients down, every batch; devices work in parallel
   (simulated schedule "parallel" with the planned bandwidth shares);
2. each device uploads its client part; the server averages every block over the copies that
   trained it (one per device: in its client part or in its server copy), weighted by data size;
3. each device downloads ``blocks[:cut_i]`` of the averaged model; the server copies restart from it.

Choices where the paper's description is silent: the plan is made once, before training (the
profiles do not change); optimisers (Adam) keep their state across rounds, as in SplitFed; the
first round starts from one shared initialisation without a download, as SplitFed here does.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from c3bench.accounting import SERVER
from c3bench.accounting.devices import default_fleet
from c3bench.aggregation import weighted_average
from c3bench.edgesplit.planner import SplitPlanner, profile_model
from c3bench.method import Method, Timing
from c3bench.registry import register_method
from c3bench.split import (
    SPLIT_HPARAMS,
    adam,
    round_epochs,
    set_round_lr,
    split_predictor,
    split_step,
    train_in_turns,
)


@register_method
class EdgeSplit(Method):
    name = "edgesplit"
    description = "EdgeSplit: parallel split learning, per-device split points and bandwidth by alternating optimisation."
    family = "split"
    hparams = tuple(h for h in SPLIT_HPARAMS if h.name not in ("cut", "mu"))

    def __init__(self, ctx):
        super().__init__(ctx)
        self.global_model = ctx.new_backbone()
        fed = ctx.federation
        fleet = ctx.fleet if ctx.fleet is not None else default_fleet(fed.num_clients, [c.device for c in fed.clients])
        profile = profile_model(self.global_model, fed.input_shape)
        plan = SplitPlanner(profile, fleet, [c.num_train for c in fed.clients], self.p["batch_size"]).solve()
        self.cuts: list[int] = plan.cuts
        self.shares: tuple[float, ...] = tuple(plan.shares)
        self.plan_info = {"cuts": plan.cuts, "bandwidth_shares": plan.shares, "planned_round_s": plan.makespan_s,
                          "plan_iterations": plan.iterations, "last_client_blocks": [profile.blocks[c - 1] for c in plan.cuts]}
        self.client_models = [copy.deepcopy(self.global_model[:c]) for c in self.cuts]
        self.server_copies = [copy.deepcopy(self.global_model[c:]) for c in self.cuts]
        self.client_opts = [adam(m.parameters(), self.p) for m in self.client_models]
        self.server_opts = [adam(m.parameters(), self.p) for m in self.server_copies]

    def timing(self) -> Timing:
        return Timing("parallel", self.shares)

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx = self.ctx
        set_round_lr([*self.client_opts, *self.server_opts], self.p, round_index, ctx.rounds)
        n = ctx.federation.num_clients

        def step(i: int, x: torch.Tensor, y: torch.Tensor) -> None:
            split_step(ctx, i, self.client_models[i], self.server_copies[i], self.client_opts[i], self.server_opts[i],
                       x, y, tag=f"edgesplit-{self.cuts[i]}")

        train_in_turns(ctx, round_epochs(ctx, round_index), range(n), step)
        for i, (model, server) in enumerate(zip(self.client_models, self.server_copies, strict=True)):
            self.score_local(i, split_predictor(ctx, i, model, server, f"edgesplit-{self.cuts[i]}", [server]))
        uploads = [ctx.channel.send(m.state_dict(), src=i, dst=SERVER) for i, m in enumerate(self.client_models)]
        # Every device's path holds one copy of every block: its upload below the cut, its server copy above.
        paths = [{**up, **server.state_dict()} for up, server in zip(uploads, self.server_copies, strict=True)]
        self.global_model.load_state_dict(weighted_average(paths, [c.num_train for c in ctx.federation.clients]))
        for i, cut in enumerate(self.cuts):
            self.client_models[i].load_state_dict(ctx.channel.send(self.global_model[:cut].state_dict(), src=SERVER, dst=i))
            self.server_copies[i].load_state_dict(self.global_model[cut:].state_dict())  # on the server: free
        return {}

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        server = self.server_copies[client]
        return split_predictor(self.ctx, client, self.client_models[client], server, f"edgesplit-{self.cuts[client]}",
                               [server])(x)

    def describe(self) -> dict[str, Any]:
        return dict(self.plan_info)
