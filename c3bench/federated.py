"""What every federated method shares: one local-training loop and one aggregation path.

A round: sample clients; send each the global model down the channel; each trains locally (in this
process or, with ``--client-workers``, in worker processes); each sends its model up; the server
averages what arrived, weighted by the clients' data sizes. Variants override small hooks:

* ``extra_down``: payloads the server sends with the model (SCAFFOLD's control variate),
* ``start_local`` / ``finish_local``: client-side work before and after the local loop;
  ``finish_local`` returns what the client uploads besides its model (SCAFFOLD's delta c_i,
  FedNova's normaliser). Client-side state that stays on the client lives in ``client_state``,
* ``local_penalty``: a term added to the local loss (FedProx's proximal term),
* ``before_step`` / ``after_step``: changes to the gradients before, or to the weights after, the
  optimiser step (SCAFFOLD's correction is applied after it, outside the optimiser's state),
* ``server_models``: what the server averages in place of the uploaded models (FedNova),
* ``server_update``: the new global model from the previous one and the average (FedAvgM's server
  momentum; by default the average itself),
* ``after_aggregate``: further server-side updates (SCAFFOLD's server control variate).

Server hooks see only :class:`Arrival` values, which hold exactly what came through the channel
(plus the client's data size, which the server knows from enrolment and which is not sent each
round). The aggregation weights are the clients' data sizes, normalised over the sampled clients.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from c3bench.accounting import SERVER
from c3bench.accounting.channel import payload_bytes
from c3bench.aggregation import weighted_average
from c3bench.data.batches import batch_indices, make_batch
from c3bench.hparams import HParam
from c3bench.method import Method
from c3bench.optim import make_optimizer

PER_STEP_HOOKS = ("local_penalty", "before_step", "after_step", "train_client")

FL_HPARAMS: tuple[HParam, ...] = (
    HParam("sample_fraction", float, 1.0, "fraction of clients sampled each round", low=1e-9, high=1.0),
    HParam("local_epochs", int, 1, "local epochs per round", low=1, high=10_000),
    HParam("optimizer", str, "adam", "local optimiser", choices=("adam", "sgd")),
    HParam("lr", float, 3.3e-4, "local learning rate", low=0.0, high=1e3),
    HParam("momentum", float, 0.9, "SGD momentum (ignored by Adam)", low=0.0, high=1.0),
    HParam("batch_size", int, 100, "local batch size", low=1, high=1_000_000),
    HParam("weight_decay", float, 1e-5, "L2 weight decay in the local optimiser (NIID-Bench's default, "
           "inherited by the AdaSplit authors' FL runs)", low=0.0, high=1e3),
)


@dataclass
class ClientJob:
    """One client's local training in one round: what it received, and its place in the round."""

    client: int
    round_index: int
    received: dict[str, Any]  # what came down the channel: "model" and the method's extras
    steps_before: int = 0  # local steps of the round's earlier clients, and of all (for progress)
    round_steps: int = 1


@dataclass
class LocalUpdate:
    """What a client's local training produced. Only ``model`` and ``upload`` leave the client."""

    client: int
    model: dict[str, torch.Tensor]
    upload: dict[str, Any]
    steps: int


@dataclass(frozen=True)
class Arrival:
    """What the server holds from one client after the upload: the channel's copies only."""

    client: int
    model: dict[str, torch.Tensor]
    extra: dict[str, Any]
    num_samples: int  # the client's training-set size, known to the server from enrolment


class FederatedMethod(Method):
    """FedAvg's skeleton; FedProx, SCAFFOLD and FedNova override hooks only."""

    family = "federated"
    hparams = FL_HPARAMS

    transient: tuple[str, ...] = ("_scratch",)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.global_model = ctx.new_backbone()
        self.local_model = ctx.new_backbone()  # the client's working copy, reloaded each visit
        self.client_state: dict[int, Any] = {}  # per client, kept on that client between rounds
        self._scratch: torch.nn.Module | None = None  # scores a client's local model (score_local)

    # ---------------------------------------------------------------- round structure
    def run_round(self, round_index: int) -> dict[str, Any]:
        selected = self.sample_clients(round_index)
        steps = [self.local_steps(client) for client in selected]
        jobs = []
        for k, client in enumerate(selected):
            received = self.ctx.channel.send(
                {"model": self.global_model.state_dict(), **self.extra_down(client)}, src=SERVER, dst=client
            )
            jobs.append(ClientJob(client, round_index, received, sum(steps[:k]), sum(steps)))
        arrivals = []
        for update in self.ctx.clients.train(self, jobs):  # in job order, whatever ran first
            self.score_local(update.client, self.local_predictor(update.client, update.model))
            uploaded = self.ctx.channel.send({"model": update.model, **update.upload}, src=update.client, dst=SERVER)
            model = uploaded.pop("model")
            arrivals.append(Arrival(update.client, model, uploaded,
                                    self.ctx.federation.clients[update.client].num_train))
        self.aggregate(arrivals)
        return {"selected": selected}

    def sample_clients(self, round_index: int) -> list[int]:
        n = self.ctx.federation.num_clients
        m = max(1, round(self.p["sample_fraction"] * n))
        if m == n:
            return list(range(n))
        return sorted(torch.randperm(n, generator=self.ctx.stream("sample", round_index))[:m].tolist())

    def local_steps(self, client: int) -> int:
        """Optimiser steps ``client`` takes in a round: local epochs x batches."""
        return self.p["local_epochs"] * -(-self.ctx.federation.clients[client].num_train // self.p["batch_size"])

    def train_client(self, job: ClientJob) -> LocalUpdate:
        """The client's side of a round: ``local_epochs`` passes over its data, from what it received."""
        client, ctx, p = job.client, self.ctx, self.p
        data = ctx.federation.clients[client]
        received = dict(job.received)
        model = self.local_model
        model.load_state_dict(received.pop("model"))
        model.train()
        rng = ctx.stream("client", client, job.round_index)
        opt = make_optimizer(model.parameters(), p["optimizer"], p["lr"], p["momentum"], p["weight_decay"])
        self.start_local(client, model, received)
        steps = 0
        for _ in range(p["local_epochs"]):
            for idx in batch_indices(data.num_train, p["batch_size"], rng):
                x, y = make_batch(data.x_train, data.y_train, idx, data.normalization, ctx.federation.augment, rng)
                x, y = x.to(ctx.device), y.to(ctx.device)
                with ctx.meter.count(("fl-step", ctx.backbone, tuple(x.shape)), side="client", client=client) as m:
                    loss = F.cross_entropy(model(x), y)
                    loss = loss + self.local_penalty(client, model)
                    m.mark_backward()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                self.before_step(client, model)
                opt.step()
                self.after_step(client, model)
                steps += 1
                ctx.ledger.charge_samples(client, int(y.shape[0]))
                ctx.progress((job.steps_before + steps) / job.round_steps)
        state = {name: t.detach().clone() for name, t in model.state_dict().items()}
        return LocalUpdate(client, state, self.finish_local(client, model, steps), steps)

    def stacking_refusal(self) -> str | None:
        """Why this run's clients cannot train as one stacked model (``train_clients_stacked``);
        None when they can."""
        changed = [h for h in PER_STEP_HOOKS if getattr(type(self), h) is not getattr(FederatedMethod, h)]
        if changed:
            return f"{self.name} changes the local step ({', '.join(changed)})"
        if any(True for _ in self.local_model.buffers()):
            return f"the {self.ctx.backbone} backbone has buffers (batch norm statistics)"
        if len({c.num_train for c in self.ctx.federation.clients}) > 1:
            return "the clients hold different amounts of data, so their batches do not line up"
        return None

    def train_clients_stacked(self, jobs: Sequence[ClientJob]) -> list[LocalUpdate]:
        """``train_client`` for all ``jobs`` at once: the clients' models stacked into one set of
        parameters and trained as one model under ``torch.func.vmap`` (one kernel per layer for every
        client). Each client keeps its own batches (drawn from its own random stream in the loop's
        order), its own loss and its own optimiser state (Adam and SGD act per element, so one
        optimiser over the stacked parameters is one per client); FLOPs and samples are charged per
        client, as in the loop. Results match the loop within float rounding (tests/test_federated.py).
        """
        ctx, p = self.ctx, self.p
        model = self.local_model
        model.train()
        starts = []
        for job in jobs:
            received = dict(job.received)
            model.load_state_dict(received.pop("model"))
            self.start_local(job.client, model, received)
            starts.append({name: t.detach().clone() for name, t in model.named_parameters()})
        params = {name: torch.stack([s[name] for s in starts]).requires_grad_() for name in starts[0]}
        opt = make_optimizer(params.values(), p["optimizer"], p["lr"], p["momentum"], p["weight_decay"])
        data = [ctx.federation.clients[job.client] for job in jobs]
        rngs = [ctx.stream("client", job.client, job.round_index) for job in jobs]
        batched_loss = vmap(lambda weights, x, y: F.cross_entropy(functional_call(model, weights, (x,)), y))
        scratch = copy.deepcopy(model)  # measures a step's FLOPs the first time its shape is seen
        steps = 0
        for _ in range(p["local_epochs"]):
            epochs = [batch_indices(d.num_train, p["batch_size"], rng) for d, rng in zip(data, rngs, strict=True)]
            for indices in zip(*epochs, strict=True):
                batches = [make_batch(d.x_train, d.y_train, idx, d.normalization, ctx.federation.augment, rng)
                           for d, idx, rng in zip(data, indices, rngs, strict=True)]
                x = torch.stack([b[0] for b in batches]).to(ctx.device)
                y = torch.stack([b[1] for b in batches]).to(ctx.device)
                opt.zero_grad(set_to_none=True)
                batched_loss(params, x, y).sum().backward()  # the clients' losses share no parameter
                opt.step()
                steps += 1
                for job in jobs:
                    with ctx.meter.count(("fl-step", ctx.backbone, tuple(x.shape[1:])), side="client",
                                         client=job.client) as m:
                        if m.measuring:
                            loss = F.cross_entropy(scratch(x[0]), y[0])
                            m.mark_backward()
                            loss.backward()
                    ctx.ledger.charge_samples(job.client, int(y.shape[1]))
                ctx.progress((jobs[0].steps_before + steps * len(jobs)) / jobs[0].round_steps)
        updates = []
        for k, job in enumerate(jobs):
            with torch.no_grad():
                for name, t in model.named_parameters():
                    t.copy_(params[name][k])
            state = {name: t.detach().clone() for name, t in model.state_dict().items()}
            updates.append(LocalUpdate(job.client, state, self.finish_local(job.client, model, steps), steps))
        return updates

    def aggregate(self, arrivals: list[Arrival]) -> None:
        """Weighted average of what the server holds per client, weights proportional to data size, then
        the server's update from the previous global model and that average."""
        weights = self.aggregation_weights(arrivals)
        averaged = weighted_average(self.server_models(arrivals, weights), weights)
        self.global_model.load_state_dict(self.server_update(self.global_model.state_dict(), averaged))
        self.after_aggregate(arrivals, weights)

    @staticmethod
    def aggregation_weights(arrivals: list[Arrival]) -> list[float]:
        """p_i = n_i / sum of n_j over the sampled clients."""
        total = sum(a.num_samples for a in arrivals)
        return [a.num_samples / total for a in arrivals]

    # ---------------------------------------------------------------- hooks (FedAvg: no-ops)
    def extra_down(self, client: int) -> dict[str, Any]:
        """Server side: what is sent to ``client`` besides the global model."""
        return {}

    def start_local(self, client: int, model: torch.nn.Module, received: dict[str, Any]) -> None:
        """Client side, before local training, with whatever came down besides the model."""

    def local_penalty(self, client: int, model: torch.nn.Module) -> torch.Tensor | float:
        return 0.0

    def before_step(self, client: int, model: torch.nn.Module) -> None:
        """Client side, after backward, before the optimiser step."""

    def after_step(self, client: int, model: torch.nn.Module) -> None:
        """Client side, after the optimiser step."""

    def finish_local(self, client: int, model: torch.nn.Module, steps: int) -> dict[str, Any]:
        """Client side, after the local loop: what the client sends up besides its model."""
        return {}

    def server_models(self, arrivals: list[Arrival], weights: list[float]) -> list[dict[str, torch.Tensor]]:
        """Server side: the per-client models it averages; by default the uploaded ones."""
        return [a.model for a in arrivals]

    def server_update(self, previous: dict[str, torch.Tensor], averaged: dict[str, torch.Tensor]
                      ) -> dict[str, torch.Tensor]:
        """Server side: the new global model from the previous one and the clients' weighted average
        (FedAvg: the average). ``previous`` holds the live global weights: read them, do not change them."""
        return averaged

    def after_aggregate(self, arrivals: list[Arrival], weights: list[float]) -> None:
        """Server side, once the new global model is in place."""

    # ---------------------------------------------------------------- evaluation
    def deployed_model_key(self, client: int) -> str:
        return "global"

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        self.global_model.eval()
        return self._infer(self.global_model, client, x)

    def deployed_model(self, client: int) -> torch.nn.Module:
        return copy.deepcopy(self.global_model).eval()

    def min_round_bytes(self) -> int | None:
        """Each selected client downloads the global model and uploads its own (dense state dicts)."""
        n = self.ctx.federation.num_clients
        selected = max(1, round(self.p["sample_fraction"] * n))
        return 2 * selected * payload_bytes(self.global_model.state_dict())[0]

    def local_predictor(self, client: int, state: dict[str, torch.Tensor]):
        """``client``'s local model right after its training (the state it is about to upload), as a
        predictor for :meth:`score_local`. Loaded into a scratch copy: no weights of the run change."""
        if self._scratch is None:
            self._scratch = copy.deepcopy(self.local_model)  # a copy, not a new init: the global RNG is untouched
        self._scratch.load_state_dict(state)
        self._scratch.eval()
        return lambda x: self._infer(self._scratch, client, x)

    def _infer(self, model: torch.nn.Module, client: int, x: torch.Tensor) -> torch.Tensor:
        """Inference on the client, metered (charged only when the run charges inference)."""
        with self.ctx.meter.count(("fl-infer", self.ctx.backbone, tuple(x.shape)), side="client", client=client):
            return model(x)
