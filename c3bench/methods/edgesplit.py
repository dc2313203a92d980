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

from torch import nn

from c3bench.accounting import SERVER
from c3bench.accounting.devices import default_fleet
from c3bench.aggregation import weighted_average
from c3bench.edgesplit.planner import SplitPlanner, profile_model
from c3bench.method import Timing
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, SplitMethod


@register_method
class EdgeSplit(SplitMethod):
    name = "edgesplit"
    description = "EdgeSplit: parallel split learning, per-device split points and bandwidth by alternating optimisation."
    hparams = tuple(h for h in SPLIT_HPARAMS if h.name not in ("cut", "mu"))

    def cut_backbone(self) -> tuple[None, None, None]:
        """No single cut: plan one per device on a fresh whole model (the clients' and servers' parts
        come from it in ``make_client`` / ``make_servers``)."""
        ctx, fed = self.ctx, self.ctx.federation
        self.global_model = ctx.new_backbone()
        fleet = ctx.fleet if ctx.fleet is not None else default_fleet(fed.num_clients, [c.device for c in fed.clients])
        profile = profile_model(self.global_model, fed.input_shape)
        plan = SplitPlanner(profile, fleet, [c.num_train for c in fed.clients], self.p["batch_size"]).solve()
        self.cuts: list[int] = plan.cuts
        self.shares: tuple[float, ...] = tuple(plan.shares)
        self.plan_info = {"cuts": plan.cuts, "bandwidth_shares": plan.shares, "planned_round_s": plan.makespan_s,
                          "plan_iterations": plan.iterations, "last_client_blocks": [profile.blocks[c - 1] for c in plan.cuts]}
        return None, None, None

    def make_client(self, part: None, client: int) -> nn.Module:
        return copy.deepcopy(self.global_model[:self.cuts[client]])

    def make_servers(self, part: None) -> list[nn.Module]:
        return [copy.deepcopy(self.global_model[c:]) for c in self.cuts]

    def tag(self, client: int) -> str:
        return f"{self.name}-{self.cuts[client]}"

    def timing(self) -> Timing:
        return Timing("parallel", self.shares)

    def end_round(self, round_index: int) -> None:
        ctx = self.ctx
        self.score_own_models()  # each device's own path, before the averaging
        uploads = [ctx.channel.send(m.state_dict(), src=i, dst=SERVER) for i, m in enumerate(self.client_models)]
        # Every device's path holds one copy of every block: its upload below the cut, its server copy above.
        paths = [{**up, **server.state_dict()} for up, server in zip(uploads, self.servers, strict=True)]
        self.global_model.load_state_dict(weighted_average(paths, [c.num_train for c in ctx.federation.clients]))
        for i, cut in enumerate(self.cuts):
            self.client_models[i].load_state_dict(ctx.channel.send(self.global_model[:cut].state_dict(), src=SERVER, dst=i))
            self.servers[i].load_state_dict(self.global_model[cut:].state_dict())  # on the server: free

    def describe(self) -> dict[str, Any]:
        return dict(self.plan_info)
