"""What every split-learning method shares: the cut, the batches of a round, one loop that runs a
method's step over them, the classic split step, and split inference through the channel.

The cut is a block index of the backbone (client = blocks[:cut]) or is derived from ``mu``, the
client's share of forward compute, measured on the real modules: the cut whose share is closest to
``mu`` (the AdaSplit paper's mu = 0.2 is the authors' LeNet cut after its first conv block, whose
share is 0.14, or 0.20 with AdaSplit's projection head on the client).

Note on the paper's Table 3: its mu = 0.2/0.4/0.6/0.8 are the fractions of the LeNet's five layers
on the client (cuts 1..4), not compute shares; ``--set cut=K`` reproduces those rows exactly.

A round's batches (``iteration``):

* ``own``: each client makes one pass over its own data; on an unbalanced federation the clients
  with less data finish early.
* ``longest``: each client processes as many samples as the client with the most data holds; a
  client with less data cycles through its data again, reshuffled on each pass. This is how the
  AdaSplit authors' code iterated (their published compute implies it: SL-basic's 3.76 T on
  Mixed-NonIID is 1.536M MACs x 5 x 24,500 samples x 20 rounds), and what their Mixed-NonIID
  numbers were produced with; Mixed-NonIID suggests it as the default for split methods.

How clients take turns (``turns``, for methods whose clients share a model: SL-basic, SplitFed V2):

* ``epoch``: a client runs all its batches, then the next client takes over (Gupta & Raskar).
* ``batch``: clients take turns batch by batch, round-robin: one step each, then the next client
  (the AdaSplit authors' code, which copied the client weights to the next client after every step).
  Under label skew this is far less forgetful: the shared server sees every client's classes
  every few steps instead of only the last client's at the end of a round.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from c3bench.accounting import SERVER, Encoding
from c3bench.accounting.flops import forward_cost
from c3bench.aggregation import weighted_average
from c3bench.data.batches import make_batch
from c3bench.hparams import ConfigError, HParam
from c3bench.method import Method, RunContext, Timing
from c3bench.optim import adam, round_lr, set_lr

SPLIT_HPARAMS: tuple[HParam, ...] = (
    HParam("cut", int, 0, "client part = the first CUT blocks of the backbone; 0 = choose from mu", low=0, high=1000),
    HParam("mu", float, 0.2, "client's share of forward compute, used when cut=0", low=0.0, high=1.0),
    HParam("lr", float, 1e-3, "Adam learning rate (client and server)", low=0.0, high=1e3),
    HParam("batch_size", int, 32, "batch size", low=1, high=1_000_000),
    HParam("weight_decay", float, 1e-5, "Adam weight decay (the AdaSplit authors' code used 1e-5)", low=0.0, high=1e3),
    HParam("lr_schedule", str, "cosine", "per-round learning-rate schedule: cosine (T_max = rounds + 2, as the "
           "AdaSplit authors' code) or constant", choices=("cosine", "constant")),
    HParam("iteration", str, "own", "batches per round: own (one pass over each client's data) or longest "
           "(every client as many samples as the largest client, short ones cycling; the AdaSplit authors' way)",
           choices=("own", "longest")),
)
TURNS = HParam("turns", str, "epoch", "clients sharing a model take turns: epoch (all of a client's batches, then "
               "the next client; Gupta & Raskar) or batch (one step each, round-robin; the AdaSplit authors' code)",
               choices=("epoch", "batch"), key=True)


# ------------------------------------------------------------------------------------------ the cut
def client_compute_shares(model: nn.Sequential, input_shape: tuple[int, ...]) -> list[float]:
    """Cumulative share of forward FLOPs after each block (cuts 1..len-1)."""
    total = forward_cost(model, (1, *input_shape)).forward_flops
    return [forward_cost(model[:cut], (1, *input_shape)).forward_flops / total for cut in range(1, len(model))]


def choose_cut(model: nn.Sequential, input_shape: tuple[int, ...], cut: int, mu: float) -> int:
    """Validate an explicit cut, or pick the cut whose client compute share is nearest ``mu``."""
    if cut:
        if not 1 <= cut < len(model):
            raise ConfigError(f"cut must be between 1 and {len(model) - 1} for this backbone, got {cut}.")
        return cut
    shares = client_compute_shares(model, input_shape)
    return 1 + min(range(len(shares)), key=lambda i: (abs(shares[i] - mu), i))


def split_models(ctx: RunContext) -> tuple[nn.Sequential, nn.Sequential, int]:
    """A fresh backbone cut by the method's ``cut``/``mu``: (client part, server part, cut)."""
    model = ctx.new_backbone()
    cut = choose_cut(model, ctx.federation.input_shape, ctx.params["cut"], ctx.params["mu"])
    return model[:cut], model[cut:], cut


# ------------------------------------------------------------------------------------------ batches
@dataclass
class ClientEpoch:
    """One client's batches in one round, drawn (and augmented) from the client's own random stream."""

    client: int
    indices: list[torch.Tensor]
    rng: torch.Generator

    def __len__(self) -> int:
        return len(self.indices)

    def batch(self, ctx: RunContext, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``k`` as normalised float images and labels on the run's device (call in order of k)."""
        data = ctx.federation.clients[self.client]
        x, y = make_batch(data.x_train, data.y_train, self.indices[k], data.normalization,
                          ctx.federation.augment, self.rng)
        return x.to(ctx.device), y.to(ctx.device)


def round_epochs(ctx: RunContext, round_index: int) -> list[ClientEpoch]:
    """Every client's batches for this round, by the method's ``iteration`` mode."""
    p = ctx.params
    sizes = [c.num_train for c in ctx.federation.clients]
    target = max(sizes)
    epochs = []
    for i, n in enumerate(sizes):
        rng = ctx.stream("client", i, round_index)
        passes = 1 if p["iteration"] == "own" else -(-target // n)
        order = torch.cat([torch.randperm(n, generator=rng) for _ in range(passes)])
        if p["iteration"] == "longest":
            order = order[:target]
        epochs.append(ClientEpoch(i, list(order.split(p["batch_size"])), rng))
    return epochs


def train_in_turns(ctx: RunContext, epochs: Sequence[ClientEpoch], order: Sequence[int],
                   step: Callable[[int, torch.Tensor, torch.Tensor], Any],
                   before_turn: Callable[[int], None] | None = None, turns: str = "epoch",
                   before_iteration: Callable[[int, list[int]], None] | None = None,
                   after_iteration: Callable[[int], None] | None = None) -> None:
    """The one split-learning loop: clients take turns in ``order``, each turn running
    ``step(client, x, y)`` on the client's next batches (``before_turn(client)`` first): all of them
    (``turns="epoch"``) or one (``turns="batch"``, round-robin until every client is done). In batch
    turns, iteration k is one step of every client that still has a k-th batch: ``before_iteration(k,
    those clients)`` runs before its first step and ``after_iteration(k)`` after its last (AdaSplit's
    orchestrator). Parallel methods (SplitFed V1, EdgeSplit) run their clients' independent turns through
    the same loop."""
    total = sum(len(epochs[i]) for i in order) or 1
    done = 0
    if turns == "epoch":
        iterations = [[(i, k) for i in order for k in range(len(epochs[i]))]]
    else:
        iterations = [[(i, k) for i in order if k < len(epochs[i])]
                      for k in range(max((len(epochs[i]) for i in order), default=0))]
    for k, steps in enumerate(iterations):
        if turns == "batch" and before_iteration is not None:
            before_iteration(k, [i for i, _ in steps])
        for i, b in steps:
            if before_turn is not None and (turns == "batch" or b == 0):
                before_turn(i)
            x, y = epochs[i].batch(ctx, b)
            step(i, x, y)
            done += 1
            ctx.progress(done / total)
        if turns == "batch" and after_iteration is not None:
            after_iteration(k)


# ------------------------------------------------------------------------------------------ steps
def split_step(
    ctx: RunContext,
    client: int,
    client_model: nn.Module,
    server_model: nn.Module,
    client_opt: torch.optim.Optimizer,
    server_opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    tag: str,
    encoding: Encoding = Encoding.DENSE,
) -> torch.Tensor:
    """One iteration of classic split learning for one client (Gupta & Raskar; SplitFed).

    Client forward -> activations (and labels) up -> server forward, loss, backward, step ->
    gradient of the activations down -> client backward, step. Returns the (detached) loss.
    """
    with ctx.meter.count((tag, "client-fwd", tuple(x.shape)), side="client", client=client):
        activations = client_model(x)
    server_in = ctx.channel.send(activations, src=client, dst=SERVER, encoding=encoding).requires_grad_(True)
    labels = ctx.channel.send(y, src=client, dst=SERVER, paper_counted=False)
    with ctx.meter.count((tag, "server", tuple(activations.shape)), side="server", client=client) as m:
        loss = F.cross_entropy(server_model(server_in), labels)
        m.mark_backward()
        server_opt.zero_grad(set_to_none=True)
        loss.backward()
    server_opt.step()
    grad = ctx.channel.send(server_in.grad, src=SERVER, dst=client, encoding=encoding)
    with ctx.meter.count((tag, "client-bwd", tuple(x.shape)), side="client", client=client, backward_only=True):
        client_opt.zero_grad(set_to_none=True)
        activations.backward(grad)
    client_opt.step()
    ctx.ledger.charge_samples(client, int(y.shape[0]))
    return loss.detach()


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Put modules in eval mode for the block and restore their previous modes."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


def split_predict(ctx: RunContext, client: int, client_model: nn.Module, server_forward: Callable[[torch.Tensor], torch.Tensor],
                  x: torch.Tensor, tag: str, encoding: Encoding = Encoding.DENSE) -> torch.Tensor:
    """Split inference: client forward, activations up, server forward, logits down, through the
    channel like training traffic (charged only when the run charges inference)."""
    with ctx.meter.count((tag, "infer-client", tuple(x.shape)), side="client", client=client):
        activations = client_model(x)
    server_in = ctx.channel.send(activations, src=client, dst=SERVER, encoding=encoding)
    with ctx.meter.count((tag, "infer-server", tuple(server_in.shape)), side="server", client=client):
        logits = server_forward(server_in)
    return ctx.channel.send(logits, src=SERVER, dst=client)


def split_predictor(ctx: RunContext, client: int, client_model: nn.Module, server_forward: Callable[[torch.Tensor], torch.Tensor],
                    tag: str, modules: Sequence[nn.Module] = (), encoding: Encoding = Encoding.DENSE
                    ) -> Callable[[torch.Tensor], torch.Tensor]:
    """Split inference for ``client`` as a function of a batch: ``client_model`` and ``modules`` (the
    server part behind ``server_forward``) in eval mode for the call, their modes restored after."""
    def predict(x: torch.Tensor) -> torch.Tensor:
        with evaluating(client_model, *modules):
            return split_predict(ctx, client, client_model, server_forward, x, tag, encoding)
    return predict


def join_parts(client_part: nn.Module, server_part: nn.Module) -> nn.Sequential:
    """The client part's blocks then the server part's, under the backbone's block names (so the
    state dict loads into a fresh backbone), in eval mode."""
    return nn.Sequential(OrderedDict([*client_part.named_children(), *server_part.named_children()])).eval()


# ------------------------------------------------------------------------------------------ averaging
def average_client_models(ctx: RunContext, models: Sequence[nn.Module], weights: Sequence[float]) -> None:
    """Federated averaging of the client parts: each client's model up, the weighted average down to
    every client, all through the channel (so the bytes are charged: 2 x parameters per client)."""
    uploads = [ctx.channel.send(m.state_dict(), src=i, dst=SERVER) for i, m in enumerate(models)]
    averaged = weighted_average(uploads, weights)
    for i, m in enumerate(models):
        m.load_state_dict(ctx.channel.send(averaged, src=SERVER, dst=i))


# ------------------------------------------------------------------------------------------ the family
class SplitMethod(Method):
    """The split family's skeleton: the cut, a client model and an optimiser per client, the server
    part(s), the per-round schedule, the one loop (:func:`train_in_turns`), split inference and the
    averaging of client models. A method adds its piece through small hooks:

    * ``make_client(part, i)`` / ``make_servers(part)``: what each client trains (AdaSplit adds a
      projection head) and the server parts (SplitFed V1: a copy per client);
    * ``relay`` (or ``relaying()``): clients share one client model, handed through the channel to the
      next client before its turn and deployed to every client for evaluation (SL-basic);
    * ``turns()``, ``turn_order(round)``, ``round_lr(round)``: how the clients take turns, in what order,
      at what learning rate;
    * ``begin_round(round)``, ``step(client, x, y)``, ``before_iteration(k, clients)`` /
      ``after_iteration(k)`` (batch turns), ``end_round(round)``: the round itself; ``end_round``
      returns the round's facts for the log and is where clients score their own models
      (``score_own_models``) and average them (``average_clients``);
    * ``predictor(client)``: the deployed model's split inference.

    Server hooks see only what came through the channel; every training computation is metered.
    """

    family = "split"
    hparams = SPLIT_HPARAMS
    relay: bool = False

    def __init__(self, ctx: RunContext):
        super().__init__(ctx)
        client_part, server_part, self.cut = self.cut_backbone()
        n = ctx.federation.num_clients
        self.client_models: list[nn.Module] = [self.make_client(client_part, i) for i in range(n)]
        self.client_opts = [adam(m.parameters(), self.p) for m in self.client_models]
        self.server_model = server_part
        self.servers: list[nn.Module] = self.make_servers(server_part)
        self.server_opts = [adam(s.parameters(), self.p) for s in self.servers]
        self.holder: int | None = None  # relaying: who trained last, and so holds the current client model

    # ---------------------------------------------------------------- models
    def cut_backbone(self) -> tuple[nn.Module, nn.Module, int]:
        """(client part, server part, cut) of a fresh backbone (by default cut by ``cut``/``mu``)."""
        return split_models(self.ctx)

    def make_client(self, part: nn.Module, client: int) -> nn.Module:
        """What ``client`` trains: by default its own copy of the client part."""
        return copy.deepcopy(part)

    def make_servers(self, part: nn.Module) -> list[nn.Module]:
        """The server parts clients train against: by default one, shared."""
        return [part]

    def server_for(self, client: int) -> nn.Module:
        """The server part ``client`` trains against (its own copy, or the shared one)."""
        return self.servers[client if len(self.servers) > 1 else 0]

    def server_opt_for(self, client: int) -> torch.optim.Optimizer:
        return self.server_opts[client if len(self.server_opts) > 1 else 0]

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [*self.client_opts, *self.server_opts]

    def tag(self, client: int) -> str:
        """The FLOP meter's name for this method's steps at ``client``'s cut."""
        return f"{self.name}-{self.cut}"

    # ---------------------------------------------------------------- a round
    def relaying(self) -> bool:
        return self.relay

    def turns(self) -> str:
        return self.p.get("turns", "epoch")

    def turn_order(self, round_index: int) -> list[int]:
        return list(range(self.ctx.federation.num_clients))

    def round_lr(self, round_index: int) -> float:
        return round_lr(self.p["lr"], self.p["lr_schedule"], round_index, self.ctx.rounds)

    def run_round(self, round_index: int) -> dict[str, Any]:
        ctx = self.ctx
        set_lr(self.optimizers(), self.round_lr(round_index))
        self.begin_round(round_index)
        train_in_turns(ctx, round_epochs(ctx, round_index), self.turn_order(round_index), self.step,
                       before_turn=self.before_turn, turns=self.turns(), before_iteration=self.before_iteration,
                       after_iteration=self.after_iteration)
        return self.end_round(round_index) or {}

    def begin_round(self, round_index: int) -> None:
        """Before the round's first step."""

    def before_turn(self, client: int) -> None:
        """Before ``client``'s turn: a relayed client model comes from its holder."""
        if self.relaying():
            self.receive_client_model(client)

    def step(self, client: int, x: torch.Tensor, y: torch.Tensor) -> Any:
        """One training step for ``client``: by default the classic split step."""
        return split_step(self.ctx, client, self.client_models[client], self.server_for(client),
                          self.client_opts[client], self.server_opt_for(client), x, y, tag=self.tag(client))

    def before_iteration(self, k: int, clients: list[int]) -> None:
        """Batch turns: before iteration ``k``, in which ``clients`` take one step each."""

    def after_iteration(self, k: int) -> None:
        """Batch turns: after iteration ``k``."""

    def end_round(self, round_index: int) -> dict[str, Any] | None:
        """After the round's last step: the round's facts for the log."""
        return None

    # ---------------------------------------------------------------- relay, averaging, scoring
    def receive_client_model(self, client: int) -> None:
        """``client`` takes the current client model from its holder (peer to peer)."""
        if self.holder is not None and self.holder != client:
            weights = self.ctx.channel.send(self.client_models[self.holder].state_dict(), src=self.holder,
                                            dst=client, paper_counted=False)
            self.client_models[client].load_state_dict(weights)
        self.holder = client

    def average_clients(self, weights: Sequence[float]) -> None:
        """Federated averaging of the client models through the server (charged)."""
        average_client_models(self.ctx, self.client_models, weights)

    def score_own_models(self) -> None:
        """Each client's own model right after its training, with the server part it trained against."""
        for i, model in enumerate(self.client_models):
            server = self.server_for(i)
            self.score_local(i, split_predictor(self.ctx, i, model, server, self.tag(i), [server]))

    # ---------------------------------------------------------------- deployment
    def begin_evaluation(self) -> None:
        """Relaying: every client deploys the latest client model, handed over from its holder."""
        if not self.relaying() or self.holder is None:
            return
        for i in range(len(self.client_models)):
            if i != self.holder:
                weights = self.ctx.channel.send(self.client_models[self.holder].state_dict(), src=self.holder,
                                                dst=i, paper_counted=False)
                self.client_models[i].load_state_dict(weights)

    def deployed_parts(self, client: int) -> tuple[nn.Module, nn.Module]:
        """(client part, server part) of ``client``'s deployed model: by default its client model and
        the server part it trains against."""
        return self.client_models[client], self.server_for(client)

    def predictor(self, client: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """Split inference with ``client``'s deployed model."""
        client_part, server = self.deployed_parts(client)
        return split_predictor(self.ctx, client, client_part, server, self.tag(client), [server])

    def deployed_model(self, client: int) -> nn.Module:
        """The client part followed by the server part, as one module of the backbone's blocks."""
        client_part, server = self.deployed_parts(client)
        return join_parts(copy.deepcopy(client_part), copy.deepcopy(server))

    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        return self.predictor(client)(x)

    def timing(self) -> Timing:
        return Timing("sequential" if self.relaying() else "parallel")

    def describe(self) -> dict[str, Any]:
        return {"cut": self.cut}
