"""AdaSplit (Chopra et al., Section 3): split learning that adapts to bandwidth and compute budgets.

for round r = 1..R (one local epoch per round):
    for each iteration t (one batch per client; see ``iteration`` for unbalanced clients):
        if r > kappa*R (global phase):
            the orchestrator picks round(eta * active) clients by discounted UCB       (eq. 6)
        every active client i:  a_i = M_i^c(x_i);  L_client = SupNT-Xent(H_i(a_i), y_i) [+ beta*|a_i|_1]
            if picked: (a_i, y_i) go up (zeros not sent when sparse); the server trains W and
                M_i on L_server = CE(M^s with W*sigmoid(M_i) on a_i, y_i) + lambda*|sigmoid(M_i)|_1
                                                                                        (eq. 7, 8)
            M_i^c and H_i take a step on L_client (eq. 5); with ``server_gradient`` (the paper's
            Table 5, row 2) a picked client also gets dL_server/da_i down and steps on
            L_client + L_server.
At inference client i uses its client model, the server model and its own mask (split inference:
activations up, logits down). Without ``server_gradient`` nothing goes server -> client in training.
Hyperparameter defaults are the paper's Section 4.4 (lambda 1e-5; Mixed-NonIID suggests 1e-3).
Not reproduced: the authors' optional per-client additive server term (used on Mixed-NonIID).

Where the authors' code departs from the paper's text (../shared/papers/implementation-facts.md), an
option reproduces the code; every default is the paper's text:

* ``shared_client``: one client model and projection head for all clients, handed from each client
  to the next after every step (their ``copy_params``); the handovers go through the channel as
  peer traffic, which the authors did not count;
* ``lr_schedule = "cosine-global"``: the rate stands still during the local rounds, then follows the
  cosine (T_max = rounds + 2) from the first global round, as their scheduler was stepped;
* ``mask_l1 = "all"``: the mask penalty sums every client's masks at every server step, under one
  Adam over the server and all masks;
* ``gamma = 0.75``: their orchestrator's discount (the paper states 0.87).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from c3bench.accounting import SERVER, Encoding
from c3bench.adasplit.losses import ProjectionHead, supervised_nt_xent
from c3bench.adasplit.masks import ClientMasks
from c3bench.adasplit.orchestrator import UCBOrchestrator
from c3bench.hparams import HParam
from c3bench.method import Timing
from c3bench.optim import adam, round_lr
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, SplitMethod, join_parts, split_predictor


@register_method
class AdaSplit(SplitMethod):
    name = "adasplit"
    description = "AdaSplit: local contrastive client loss, UCB-selected clients, per-client sparse server masks."
    hparams = (
        *(h for h in SPLIT_HPARAMS if h.name != "lr_schedule"),
        HParam("lr_schedule", str, "cosine", "per-round learning-rate schedule: cosine (T_max = rounds + 2), constant, "
               "or cosine-global (constant in the local rounds, then the cosine from the first global round: the "
               "authors' code)", choices=("cosine", "constant", "cosine-global")),
        HParam("kappa", float, 0.6, "share of rounds in the local phase (no communication)", low=0.0, high=1.0, key=True),
        HParam("eta", float, 0.6, "share of the active clients selected per iteration in the global phase",
               low=0.0, high=1.0, key=True),
        HParam("gamma", float, 0.87, "UCB discount of past losses and selections", low=0.0, high=1.0),
        HParam("lambda", float, 1e-5, "L1 weight on the masks (the paper: 1e-5 on Mixed-CIFAR, 1e-3 on Mixed-NonIID)",
               low=0.0, high=1e3, key=True),
        HParam("beta", float, 0.0, "L1 weight on the split activations (sparser payloads)", low=0.0, high=1e3, key=True),
        HParam("tau", float, 0.07, "NT-Xent temperature", low=1e-6, high=1e3),
        HParam("server_gradient", bool, False, "picked clients also train on the server loss's gradient, sent down "
               "(L_client + L_server, the paper's Table 5 row 2)", key=True),
        HParam("encoding", str, "auto", "activation encoding: auto (sparse when beta > 0), dense or sparse",
               choices=("auto", "dense", "sparse")),
        HParam("shared_client", bool, False, "one client model and head for all clients, handed to the next client "
               "after every step (the authors' code; the paper: one per client)", key=True, record_default=False),
        HParam("mask_l1", str, "own", "mask L1 penalty at a server step: own (the selected client's mask, the paper) "
               "or all (every client's masks under one optimiser, the authors' code)", choices=("own", "all"),
               key=True, record_default=False),
    )

    transient = ("_phase_global", "_tie_break", "_selected", "_active", "_losses", "_picked")

    @classmethod
    def finalize_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        if params["encoding"] == "auto":
            params["encoding"] = "sparse" if params["beta"] > 0 else "dense"
        return params

    def __init__(self, ctx):
        super().__init__(ctx)  # client models with their heads, the server part and their optimisers
        p, n = self.p, ctx.federation.num_clients
        self.masks = ClientMasks(self.server_model, n, ctx.stream("masks"))
        if p["mask_l1"] == "all":  # one optimiser over the server and every client's masks
            self.server_opts = [adam([*self.server_model.parameters(), *self.masks.parameters()], p)]
            self.mask_opts = []
        else:
            self.mask_opts = [adam(self.masks.logits[i].parameters(), p) for i in range(n)]
        self.orchestrator = UCBOrchestrator(n, p["gamma"])
        self.encoding = Encoding(p["encoding"])
        self.local_rounds = round(p["kappa"] * ctx.rounds)

    def make_client(self, part: nn.Module, client: int) -> nn.Module:
        """The client part and its projection head (the head's shape follows the activations)."""
        shape = tuple(part(torch.zeros(1, *self.ctx.federation.input_shape, device=self.ctx.device)).shape[1:])
        return nn.ModuleDict({"model": super().make_client(part, client), "head": ProjectionHead(shape)}).to(self.ctx.device)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [*super().optimizers(), *self.mask_opts]

    def relaying(self) -> bool:
        return self.p["shared_client"]

    def turns(self) -> str:
        return "batch"  # every iteration: one batch per active client

    def round_lr(self, round_index: int) -> float:
        if self.p["lr_schedule"] == "cosine-global":  # still in the local rounds, then the cosine from there
            return round_lr(self.p["lr"], "cosine", max(0, round_index - self.local_rounds), self.ctx.rounds)
        return super().round_lr(round_index)

    def timing(self) -> Timing:
        if self.p["shared_client"]:  # each step waits for the client model from the client before
            return Timing("sequential")
        # clients never wait for the server unless it sends gradients back
        return Timing("parallel" if self.p["server_gradient"] else "async-local")

    def picks(self, active: int) -> int:
        """Clients the orchestrator selects among ``active``: round(eta * active), halves up, at least one."""
        if self.p["eta"] <= 0 or active == 0:
            return 0
        return min(active, max(1, math.floor(self.p["eta"] * active + 0.5)))

    # ---------------------------------------------------------------- a round
    def begin_round(self, round_index: int) -> None:
        self._phase_global = round_index >= self.local_rounds
        self._tie_break = self.ctx.stream("orchestrator", round_index)
        self._picked = [0] * len(self.client_models)

    def before_iteration(self, k: int, clients: list[int]) -> None:
        """The orchestrator picks who sends activations in this iteration (none in the local phase)."""
        self._active, self._losses = clients, {}
        self._selected = (self.orchestrator.select(self.picks(len(clients)), clients, self._tie_break)
                          if self._phase_global else [])

    def step(self, client: int, x: torch.Tensor, y: torch.Tensor) -> None:
        loss = self.iteration(client, x, y, to_server=client in self._selected)
        if loss is not None:
            self._losses[client] = loss
            self._picked[client] += 1

    def after_iteration(self, k: int) -> None:
        if self._phase_global:
            self.orchestrator.update(self._losses, self._active)

    def end_round(self, round_index: int) -> dict[str, Any]:
        return {"phase": "global" if self._phase_global else "local", "selected_iterations": self._picked,
                "mask_mean_gate": [round(self.masks.mean_gate(i), 6) for i in range(len(self.client_models))]}

    def iteration(self, i: int, x: torch.Tensor, y: torch.Tensor, to_server: bool) -> float | None:
        """Client i's step on its own loss; if picked, the server's step on its activations first.
        Returns the server's cross-entropy when picked (the orchestrator's reward), else None."""
        client, meter, shape = self.client_models[i], self.ctx.meter, tuple(x.shape)
        with meter.count(("adasplit-client-fwd", self.cut, shape), side="client", client=i):
            activations = client["model"](x)
            loss = supervised_nt_xent(client["head"](activations), y, self.p["tau"])
            if self.p["beta"] > 0:
                loss = loss + self.p["beta"] * activations.abs().sum()
        ce = grad = None
        if to_server:
            ce, grad = self.server_step(i, activations.detach(), y, want_grad=self.p["server_gradient"])
        with meter.count(("adasplit-client-bwd", self.cut, shape, grad is not None), side="client", client=i,
                         backward_only=True):
            if grad is not None:
                loss = loss + (activations * grad).sum()
            self.client_opts[i].zero_grad(set_to_none=True)
            loss.backward()
        self.client_opts[i].step()
        self.ctx.ledger.charge_samples(i, int(y.shape[0]))
        return ce

    def server_step(self, i: int, activations: torch.Tensor, y: torch.Tensor,
                    want_grad: bool) -> tuple[float, torch.Tensor | None]:
        """Client i's activations and labels up; the server trains W and M_i on them. Returns the
        cross-entropy and, if asked, the gradient of the server loss w.r.t. the activations, sent down."""
        channel = self.ctx.channel
        a = channel.send(activations, src=i, dst=SERVER, encoding=self.encoding)
        labels = channel.send(y, src=i, dst=SERVER, paper_counted=False)
        a.requires_grad_(want_grad)
        every_mask = self.p["mask_l1"] == "all"
        with self.ctx.meter.count(("adasplit-server", self.cut, tuple(a.shape), want_grad, every_mask), side="server",
                                  client=i) as m:
            ce = F.cross_entropy(self.masks.masked_forward(self.server_model, i, a), labels)
            penalty = sum(self.masks.l1(j) for j in range(len(self.client_models))) if every_mask else self.masks.l1(i)
            loss = ce + self.p["lambda"] * penalty
            m.mark_backward()
            self.server_opts[0].zero_grad(set_to_none=True)
            if not every_mask:
                self.mask_opts[i].zero_grad(set_to_none=True)
            loss.backward()
        self.server_opts[0].step()
        if not every_mask:
            self.mask_opts[i].step()
        grad = channel.send(a.grad, src=SERVER, dst=i, encoding=self.encoding) if want_grad else None
        return float(ce.detach()), grad

    # ---------------------------------------------------------------- deployment
    def predictor(self, client: int):
        """Client ``client``'s model, the server and its own mask (split inference)."""
        model = self.client_models[client]["model"]
        return split_predictor(self.ctx, client, model, lambda a: self.masks.masked_forward(self.server_model, client, a),
                               f"adasplit-{self.cut}", [self.server_model], self.encoding)

    def deployed_model(self, client: int) -> nn.Module:
        """The client part, then the server part with the client's mask folded into its weights
        (W * sigmoid(M), as inference applies it)."""
        server = copy.deepcopy(self.server_model)
        with torch.no_grad():
            for weight, logits in zip(server.parameters(), self.masks.logits[client], strict=True):
                weight.mul_(torch.sigmoid(logits))
        return join_parts(copy.deepcopy(self.client_models[client]["model"]), server)

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut, "local_rounds": self.local_rounds,
                "mask_entries_per_client": self.masks.numel_per_client()}
