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

from c3bench.accounting import SERVER, Encoding
from c3bench.adasplit.losses import ProjectionHead, supervised_nt_xent
from c3bench.adasplit.masks import ClientMasks
from c3bench.adasplit.orchestrator import UCBOrchestrator
from c3bench.hparams import HParam
from c3bench.method import Method, Timing
from c3bench.registry import register_method
from c3bench.split import (
    SPLIT_HPARAMS,
    adam,
    evaluating,
    round_epochs,
    set_round_lr,
    split_models,
    split_predict,
)


@register_method
class AdaSplit(Method):
    name = "adasplit"
    description = "AdaSplit: local contrastive client loss, UCB-selected clients, per-client sparse server masks."
    family = "split"
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

    @classmethod
    def finalize_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        if params["encoding"] == "auto":
            params["encoding"] = "sparse" if params["beta"] > 0 else "dense"
        return params

    def __init__(self, ctx):
        super().__init__(ctx)
        p, n = self.p, ctx.federation.num_clients
        client_part, self.server, self.cut = split_models(ctx)
        activation_shape = tuple(client_part(torch.zeros(1, *ctx.federation.input_shape, device=ctx.device)).shape[1:])
        self.clients = [torch.nn.ModuleDict({"model": copy.deepcopy(client_part), "head": ProjectionHead(activation_shape)})
                        .to(ctx.device) for _ in range(n)]
        self.client_opts = [adam(c.parameters(), p) for c in self.clients]
        self.masks = ClientMasks(self.server, n, ctx.stream("masks"))
        if p["mask_l1"] == "all":  # one optimiser over the server and every client's masks
            self.server_opt = adam([*self.server.parameters(), *self.masks.parameters()], p)
            self.mask_opts = []
        else:
            self.server_opt = adam(self.server.parameters(), p)
            self.mask_opts = [adam(self.masks.logits[i].parameters(), p) for i in range(n)]
        self.orchestrator = UCBOrchestrator(n, p["gamma"])
        self.encoding = Encoding(p["encoding"])
        self.local_rounds = round(p["kappa"] * ctx.rounds)
        self.holder: int | None = None  # shared_client: who stepped last, and so holds the current client model

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

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx, n = self.ctx, self.ctx.federation.num_clients
        optimizers = [*self.client_opts, self.server_opt, *self.mask_opts]
        if self.p["lr_schedule"] == "cosine-global":  # still in the local rounds, then the cosine from there
            set_round_lr(optimizers, {**self.p, "lr_schedule": "cosine"}, max(0, round_index - self.local_rounds),
                         ctx.rounds)
        else:
            set_round_lr(optimizers, self.p, round_index, ctx.rounds)
        global_phase = round_index >= self.local_rounds
        epochs = round_epochs(ctx, round_index)
        iterations = max(len(e) for e in epochs)
        tie_break = ctx.stream("orchestrator", round_index)
        picked = [0] * n
        for t in range(iterations):
            active = [i for i in range(n) if t < len(epochs[i])]
            selected = (self.orchestrator.select(self.picks(len(active)), active, tie_break)
                        if global_phase else [])
            losses = {}
            for i in active:
                x, y = epochs[i].batch(ctx, t)
                loss = self.iteration(i, x, y, to_server=i in selected)
                if loss is not None:
                    losses[i] = loss
                    picked[i] += 1
            if global_phase:
                self.orchestrator.update(losses, active)
            ctx.progress((t + 1) / iterations)
        return {"phase": "global" if global_phase else "local", "selected_iterations": picked,
                "mask_mean_gate": [round(self.masks.mean_gate(i), 6) for i in range(n)]}

    def iteration(self, i: int, x: torch.Tensor, y: torch.Tensor, to_server: bool) -> float | None:
        """Client i's step on its own loss; if picked, the server's step on its activations first.
        Returns the server's cross-entropy when picked (the orchestrator's reward), else None."""
        if self.p["shared_client"]:
            self.receive_client_model(i)
        client, meter, shape = self.clients[i], self.ctx.meter, tuple(x.shape)
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
            ce = F.cross_entropy(self.masks.masked_forward(self.server, i, a), labels)
            penalty = sum(self.masks.l1(j) for j in range(len(self.clients))) if every_mask else self.masks.l1(i)
            loss = ce + self.p["lambda"] * penalty
            m.mark_backward()
            self.server_opt.zero_grad(set_to_none=True)
            if not every_mask:
                self.mask_opts[i].zero_grad(set_to_none=True)
            loss.backward()
        self.server_opt.step()
        if not every_mask:
            self.mask_opts[i].step()
        grad = channel.send(a.grad, src=SERVER, dst=i, encoding=self.encoding) if want_grad else None
        return float(ce.detach()), grad

    def receive_client_model(self, i: int) -> None:
        """``shared_client``: client i takes the client model and head from the client that stepped last
        (peer to peer; the authors' code copied them and did not count it)."""
        if self.holder is not None and self.holder != i:
            weights = self.ctx.channel.send(self.clients[self.holder].state_dict(), src=self.holder, dst=i,
                                            paper_counted=False)
            self.clients[i].load_state_dict(weights)
        self.holder = i

    def begin_evaluation(self) -> None:
        """``shared_client``: every client deploys the latest shared client model (handed over from its holder)."""
        if not self.p["shared_client"] or self.holder is None:
            return
        for i in range(len(self.clients)):
            if i != self.holder:
                weights = self.ctx.channel.send(self.clients[self.holder].state_dict(), src=self.holder, dst=i,
                                                paper_counted=False)
                self.clients[i].load_state_dict(weights)

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        model = self.clients[client]["model"]
        with evaluating(model, self.server):
            return split_predict(self.ctx, client, model, lambda a: self.masks.masked_forward(self.server, client, a),
                                 x, f"adasplit-{self.cut}", self.encoding)

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut, "local_rounds": self.local_rounds,
                "mask_entries_per_client": self.masks.numel_per_client()}
