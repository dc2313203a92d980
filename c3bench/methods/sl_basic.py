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

from typing import Any

from c3bench.hparams import HParam
from c3bench.registry import register_method
from c3bench.split import SPLIT_HPARAMS, TURNS, SplitMethod


@register_method
class SLBasic(SplitMethod):
    name = "sl-basic"
    description = "Vanilla split learning: clients in turn, one server model, client model handed client to client."
    hparams = (*SPLIT_HPARAMS, TURNS,
               HParam("average_every", int, 0, "average the clients' own copies of the client model after every "
                      "k-th round, plainly, through the server (0: never; 3: the AdaSplit authors' SplitFed)",
                      low=0, high=100_000, key=True, record_default=False))
    relay = True

    def end_round(self, round_index: int) -> dict[str, Any] | None:
        every = self.p["average_every"]
        if not every:
            return None
        self.score_own_models()  # each client's own copy, before any averaging
        if (round_index + 1) % every:
            return None
        self.average_clients([1.0] * len(self.client_models))
        return {"averaged": True}
