"""Test accuracy, outside the ledger unless the run charges inference.

Two figures per round, both on each client's own test split:

* **deployed** (:func:`evaluate`, every method, every round): what each client would use after the
  round, the model a federation ships (FL: the global model; split: the client part with the server).
  Scores, boards and C3 rank this figure at the last round.
* **local after training** (:class:`LocalScores`): for methods whose clients train a model other than
  the one they deploy (FL's local models, SplitFed's and EdgeSplit's client models before averaging),
  each client's model right after its own training in the round. This is what the AdaSplit authors'
  FL code reported (``../shared/papers/implementation-facts.md``), so it is the like-for-like figure
  for their tables. The method says when (right after a client's training) and how to predict; this
  module scores it. Nothing here touches a model's weights, the random streams or the training data
  order, so training is the same whether or not it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from c3bench.data.batches import to_float
from c3bench.record_log import accuracy_entry

if TYPE_CHECKING:
    from c3bench.accounting import Ledger
    from c3bench.federation import ClientData, Federation

Predict = Callable[[torch.Tensor], torch.Tensor]


def client_accuracy(client: ClientData, predict: Predict, device: torch.device, batch_size: int = 1000) -> float:
    """Top-1 accuracy (%) of ``predict`` (normalised images -> logits) on ``client``'s test split."""
    correct = 0
    with torch.no_grad():
        for start in range(0, client.num_test, batch_size):
            x = to_float(client.x_test[start:start + batch_size], client.normalization).to(device)
            y = client.y_test[start:start + batch_size].to(device)
            correct += int((predict(x).argmax(dim=1) == y).sum())
    return 100.0 * correct / max(client.num_test, 1)


@dataclass(frozen=True)
class Accuracies:
    """A round's deployed-model accuracy of every client, and how many evaluations gave them."""

    per_client: list[float]
    evaluations: int

    def entry(self) -> dict[str, Any]:
        """The round's ``accuracy`` log entry (``c3bench.record_log.accuracy_entry``)."""
        return accuracy_entry(self.per_client, self.evaluations)


def evaluate(method: Any, federation: Federation, device: torch.device, charged: bool = False,
             batch_size: int = 1000) -> Accuracies:
    """Per-client test accuracy (%) of each client's deployed model (``method``: a
    :class:`c3bench.method.Method`).

    Inference moves through the channel like training; its bytes and FLOPs are charged to the
    round only when ``charged`` (``--charge-inference``). A test set shared by clients that deploy
    the same model (a global test set under FL) is evaluated once.
    """
    accuracies: list[float] = []
    done: dict[tuple[Any, ...], float] = {}
    with torch.no_grad(), (nullcontext() if charged else method.ctx.ledger.uncharged()):
        method.begin_evaluation()
        for i, client in enumerate(federation.clients):
            key = (method.deployed_model_key(i), id(client.x_test), id(client.y_test), client.normalization)
            if key not in done:
                done[key] = client_accuracy(client, lambda x, i=i: method.predict(i, x), device, batch_size)
            accuracies.append(done[key])
    return Accuracies(accuracies, len(done))


class LocalScores:
    """One round's local-after-training accuracies, filled by the method as its clients finish."""

    def __init__(self, federation: Federation, ledger: Ledger, device: torch.device, charged: bool = False):
        self.federation = federation
        self.ledger = ledger
        self.device = device
        self.charged = charged
        self.scores: dict[int, float] = {}

    def record(self, client: int, predict: Predict) -> None:
        """Score ``client``'s model, as it is now, on the client's own test split."""
        with torch.no_grad(), (nullcontext() if self.charged else self.ledger.uncharged()):
            self.scores[client] = client_accuracy(self.federation.clients[client], predict, self.device)

    def entry(self) -> dict[str, Any] | None:
        """The round's log entry: the clients scored (in order), their accuracies and the mean; None
        when the method scored no local model."""
        if not self.scores:
            return None
        clients = sorted(self.scores)
        per_client = [self.scores[c] for c in clients]
        return {"clients": clients, "per_client": per_client, "mean": sum(per_client) / len(per_client)}
