"""AdaSplit (Chopra et al., Section 3): split learning that adapts to bandwidth and compute budgets.

for round r = 1..R (one local epoch per round):
    for each iteration t (one batch per client):
        every client i:  a_i = M_i^c(x_i);  loss = SupNT-Xent(H_i(a_i), y_i) [+ beta*|a_i|_1]
                         update M_i^c, H_i locally; never receives a server gradient      (eq. 5)
        if r > kappa*R (global phase):
            the orchestrator picks eta*N clients by discounted UCB over server losses     (eq. 6)
            each picked client sends (a_i, y_i) up (zeros not sent when sparse)
            server: loss = CE(M^s with W*sigmoid(M_i) on a_i, y_i) + lambda*|sigmoid(M_i)|_1
                    update W and M_i only                                                  (eq. 7, 8)
At inference client i uses its client model, the server model and its own mask.
Nothing ever goes server -> client. Hyperparameter defaults are the paper's Section 4.4.
Not reproduced: the authors' optional per-client additive server term (used on Mixed-NonIID).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from c3bench.accounting import SERVER, Encoding
from c3bench.data.batches import batch_indices, make_batch
from c3bench.hparams import HParam
from c3bench.losses import ProjectionHead, supervised_nt_xent
from c3bench.masks import ClientMasks
from c3bench.method import Method
from c3bench.orchestrator import UCBOrchestrator
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, adam, set_round_lr, split_models

LAMBDA_BY_PROTOCOL = {"mixed-noniid": 1e-3, "mixed-cifar": 1e-5}


@register_method
class AdaSplit(Method):
    name = "adasplit"
    description = "AdaSplit: local contrastive client loss, UCB-selected clients, per-client sparse server masks."
    schedule = "async-local"  # clients never wait for the server (no gradient comes back)
    hparams = (
        *SPLIT_HPARAMS,
        HParam("kappa", float, 0.6, "share of rounds in the local phase (no communication)", low=0.0, high=1.0, key=True),
        HParam("eta", float, 0.6, "share of clients selected per iteration in the global phase", low=0.0, high=1.0, key=True),
        HParam("gamma", float, 0.87, "UCB discount of past losses and selections", low=0.0, high=1.0),
        HParam("lambda", float, None, "L1 weight on the masks (default 1e-3 on mixed-noniid, 1e-5 elsewhere)", low=0.0, key=True),
        HParam("beta", float, 0.0, "L1 weight on the split activations (sparser payloads)", low=0.0, key=True),
        HParam("tau", float, 0.07, "NT-Xent temperature", low=1e-6),
        HParam("encoding", str, "auto", "activation encoding: auto (sparse when beta > 0), dense or sparse",
               choices=("auto", "dense", "sparse")),
    )

    @classmethod
    def finalize_params(cls, params: dict[str, Any], protocol: str) -> dict[str, Any]:
        params = dict(params)
        if params["lambda"] is None:
            params["lambda"] = LAMBDA_BY_PROTOCOL.get(protocol, 1e-5)
        if params["encoding"] == "auto":
            params["encoding"] = "sparse" if params["beta"] > 0 else "dense"
        return params

    def __init__(self, ctx):
        super().__init__(ctx)
        p, n = self.p, ctx.federation.num_clients
        client_part, self.server, self.cut = split_models(ctx)
        activation_shape = tuple(client_part(torch.zeros(1, *ctx.federation.input_shape, device=ctx.device)).shape[1:])
        self.clients = [torch.nn.ModuleDict({"model": _copy(client_part), "head": ProjectionHead(activation_shape)})
                        .to(ctx.device) for _ in range(n)]
        self.client_opts = [adam(c.parameters(), p) for c in self.clients]
        self.masks = ClientMasks(self.server, n, ctx.rng)
        self.server_opt = adam(self.server.parameters(), p)
        self.mask_opts = [adam(self.masks.logits[i].parameters(), p) for i in range(n)]
        self.orchestrator = UCBOrchestrator(n, p["gamma"])
        self.encoding = Encoding(p["encoding"])
        self.local_rounds = round(p["kappa"] * ctx.rounds)
        self.picks_per_iteration = max(1, round(p["eta"] * n))

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx, p, n = self.ctx, self.p, self.ctx.federation.num_clients
        set_round_lr([*self.client_opts, self.server_opt, *self.mask_opts], p, round_index, ctx.rounds)
        global_phase = round_index >= self.local_rounds
        data = ctx.federation.clients
        batches = [list(batch_indices(d.num_train, p["batch_size"], ctx.rng)) for d in data]
        iterations = max(len(b) for b in batches)
        picked = [0] * n
        for t in range(iterations):
            active = [i for i in range(n) if t < len(batches[i])]
            sent = {}
            for i in active:
                x, y = make_batch(data[i].x_train, data[i].y_train, batches[i][t], data[i].normalization,
                                  ctx.federation.augment, ctx.rng)
                sent[i] = (self.client_step(i, x.to(ctx.device), y.to(ctx.device)), y.to(ctx.device))
            if global_phase:
                selected = self.orchestrator.select(self.picks_per_iteration, active, ctx.rng)
                losses = {i: self.server_step(i, *sent[i]) for i in selected}
                self.orchestrator.update(losses, active)
                for i in selected:
                    picked[i] += 1
            ctx.progress((t + 1) / iterations)
        return {"phase": "global" if global_phase else "local", "selected_iterations": picked,
                "mask_density": [round(self.masks.density(i), 6) for i in range(n)]}

    def client_step(self, i: int, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Local update with the client's own loss; returns the activations it could send."""
        client = self.clients[i]
        with self.ctx.meter.count(("adasplit-client", self.cut, tuple(x.shape)), side="client", client=i) as m:
            activations = client["model"](x)
            loss = supervised_nt_xent(client["head"](activations), y, self.p["tau"])
            if self.p["beta"] > 0:
                loss = loss + self.p["beta"] * activations.abs().sum()
            m.mark_backward()
            self.client_opts[i].zero_grad(set_to_none=True)
            loss.backward()
        self.client_opts[i].step()
        self.ctx.ledger.charge_samples(i, int(y.shape[0]))
        return activations.detach()

    def server_step(self, i: int, activations: torch.Tensor, y: torch.Tensor) -> float:
        """Client i's activations up; the server trains W and M_i on them; returns the CE loss."""
        a = self.ctx.channel.send(activations, src=i, dst=SERVER, encoding=self.encoding)
        labels = self.ctx.channel.send(y, src=i, dst=SERVER, paper_counted=False)
        with self.ctx.meter.count(("adasplit-server", self.cut, tuple(a.shape)), side="server", client=i) as m:
            ce = F.cross_entropy(self.masks.masked_forward(self.server, i, a), labels)
            loss = ce + self.p["lambda"] * self.masks.l1(i)
            m.mark_backward()
            self.server_opt.zero_grad(set_to_none=True)
            self.mask_opts[i].zero_grad(set_to_none=True)
            loss.backward()
        self.server_opt.step()
        self.mask_opts[i].step()
        return float(ce.detach())

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        model = self.clients[client]["model"]
        model.eval()
        self.server.eval()
        out = self.masks.masked_forward(self.server, client, model(x))
        model.train()
        self.server.train()
        return out

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut, "local_rounds": self.local_rounds, "picks_per_iteration": self.picks_per_iteration,
                "mask_entries_per_client": self.masks.numel_per_client()}


def _copy(module: torch.nn.Module) -> torch.nn.Module:
    import copy
    return copy.deepcopy(module)
