"""EdgeSplit (Zhang, Cao, Sahni, Chen, Jiang, 2024): parallel split learning with a split point and a
share of the server's bandwidth chosen per device.

Before training, ``c3bench.planner.SplitPlanner`` picks each device's cut and bandwidth share by
the alternating optimisation (see that module for the round model and the algorithm), using the
clients' device profiles (``--devices``, the protocol's, or the default fleet) and per-block FLOPs
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
from torch import nn

from c3bench.accounting import SERVER
from c3bench.accounting.devices import Fleet, default_fleet
from c3bench.data.batches import batch_indices, make_batch
from c3bench.method import Method
from c3bench.planner import SplitPlanner, profile_model
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, adam, set_round_lr, split_step, weighted_average


def run_fleet(federation) -> Fleet:
    """The fleet the runner attached to the federation (else the protocol's devices or the default)."""
    fleet = federation.notes.get("fleet")
    return fleet if fleet is not None else default_fleet(federation.num_clients, [c.device for c in federation.clients])


@register_method
class EdgeSplit(Method):
    name = "edgesplit"
    description = "EdgeSplit: parallel split learning, per-device split points and bandwidth by alternating optimisation."
    hparams = tuple(h for h in SPLIT_HPARAMS if h.name not in ("cut", "mu"))
    schedule = "parallel"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.global_model = ctx.new_backbone()
        fed = ctx.federation
        profile = profile_model(self.global_model, fed.input_shape)
        planner = SplitPlanner(profile, run_fleet(fed), [c.num_train for c in fed.clients], self.p["batch_size"])
        plan = planner.solve()
        self.cuts: list[int] = plan.cuts
        self.bandwidth_shares: list[float] = plan.shares  # read by the simulated-time model
        self.plan_info = {"cuts": plan.cuts, "bandwidth_shares": plan.shares, "planned_round_s": plan.makespan_s,
                          "plan_iterations": plan.iterations, "last_client_blocks": [profile.blocks[c - 1] for c in plan.cuts]}
        self.client_models = [copy.deepcopy(self.global_model[:c]) for c in self.cuts]
        self.server_copies = [copy.deepcopy(self.global_model[c:]) for c in self.cuts]
        self.client_opts = [adam(m.parameters(), self.p) for m in self.client_models]
        self.server_opts = [adam(m.parameters(), self.p) for m in self.server_copies]

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx, p = self.ctx, self.p
        set_round_lr([*self.client_opts, *self.server_opts], p, round_index, ctx.rounds)
        n = ctx.federation.num_clients
        for i in range(n):
            data = ctx.federation.clients[i]
            batches = list(batch_indices(data.num_train, p["batch_size"], ctx.rng))
            for b, idx in enumerate(batches):
                x, y = make_batch(data.x_train, data.y_train, idx, data.normalization, ctx.federation.augment, ctx.rng)
                split_step(ctx, i, self.client_models[i], self.server_copies[i], self.client_opts[i],
                           self.server_opts[i], x.to(ctx.device), y.to(ctx.device), tag=f"edgesplit-{self.cuts[i]}")
                ctx.progress((i + (b + 1) / len(batches)) / n)
        uploads = [ctx.channel.send(m.state_dict(), src=i, dst=SERVER) for i, m in enumerate(self.client_models)]
        # Every device's path holds one copy of every block: its upload below the cut, its server copy above.
        paths = [{**up, **server.state_dict()} for up, server in zip(uploads, self.server_copies, strict=True)]
        self.global_model.load_state_dict(weighted_average(paths, [c.num_train for c in ctx.federation.clients]))
        for i, cut in enumerate(self.cuts):
            self.client_models[i].load_state_dict(ctx.channel.send(self.global_model[:cut].state_dict(), src=SERVER, dst=i))
            self.server_copies[i].load_state_dict(self.global_model[cut:].state_dict())  # on the server: free
        return {}

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        model = nn.Sequential(self.client_models[client], self.server_copies[client])
        model.eval()
        out = model(x)
        model.train()
        return out

    def describe(self) -> dict[str, Any]:
        return dict(self.plan_info)
