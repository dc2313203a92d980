"""Mixed-CIFAR (AdaSplit, Section 4.1): five clients, two disjoint CIFAR-10 classes each.

CIFAR-10's train and test splits are pooled (60,000 images). Client ``i`` holds every image of
classes ``2i`` and ``2i+1`` (airplane/automobile, bird/cat, deer/dog, frog/horse, ship/truck):
12,000 images, split 90/10 into 10,800 train and 1,200 test with the seed.

Labels and head (``relabel``):

* ``relabel=false`` (default): the CIFAR-10 labels and a 10-way head, as the AdaSplit authors' code
  has it. A client's accuracy is 10-way top-1 on its own two-class test split: the model must learn
  which two classes a client holds as well as tell them apart, and FL's global model is judged on
  every client's pair. This is what produced the paper's Table 2.
* ``relabel=true``: each client's two classes become 0 and 1 and all clients share a 2-way head
  (a binary task per client; accuracies are higher, and FL's single model must answer "first or
  second class of my pair" without knowing the pair). The model is smaller (500x2 head).

Augmentation as the authors used: random crop with 4-pixel zero padding and horizontal flip.
Normalisation: mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010), as the authors used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from c3bench.data.clients import make_client, select_classes
from c3bench.data.datasets import load_dataset
from c3bench.data.partition import split_fractions
from c3bench.federation import Federation
from c3bench.hparams import HParam
from c3bench.protocol import Protocol
from c3bench.registry import register_protocol

NUM_CLIENTS = 5
TEST_FRACTION = 0.1


@register_protocol
class MixedCifar(Protocol):
    name = "mixed-cifar"
    description = "AdaSplit's Mixed-CIFAR: CIFAR-10 train+test pooled, 5 clients x 2 disjoint classes, 90/10 split."
    version = "1"
    default_rounds = 20
    default_backbone = "lenet"
    needs_data = True
    hparams = (
        HParam("relabel", bool, False, "true: each client's two classes become labels 0/1 (a shared 2-way head); "
               "false (the authors' code): the 10 CIFAR-10 labels and a 10-way head"),
    )

    def build(self, params: dict[str, Any], seed: int, data_root: Path | None) -> Federation:
        data = load_dataset("cifar10", data_root)
        pool = data.pooled()
        clients, pairs, indices = [], [], []
        for i in range(NUM_CLIENTS):
            pair = (2 * i, 2 * i + 1)
            idx = select_classes(pool, pair)
            train, test = split_fractions(idx, (1.0 - TEST_FRACTION, TEST_FRACTION), seed, tag=i)
            label_map = {pair[0]: 0, pair[1]: 1} if params["relabel"] else None
            names = "+".join(data.classes[c] for c in pair)
            clients.append(make_client(pool, train, test, data.normalization, f"client{i}:{names}",
                                       label_map=label_map))
            pairs.append(list(pair))
            indices.append({"train": train, "test": test})
        return Federation(
            clients=clients, num_classes=2 if params["relabel"] else data.num_classes, augment=True,
            notes={"dataset": "cifar10", "source": data.source, "client_classes": pairs,
                   "class_names": [[data.classes[c] for c in p] for p in pairs],
                   "indices": indices},  # into CIFAR-10 train+test pooled (train first), per client
        )

