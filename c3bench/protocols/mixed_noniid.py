"""Mixed-NonIID (AdaSplit, Section 4.1): five clients, one dataset each, one 5-class task each.

Clients, in order: CIFAR-100, CIFAR-10, Fashion-MNIST, MNIST, notMNIST. Each holds every image of
five classes of its dataset (train and test pooled where both exist), relabelled 0-4 so that all
clients share one 5-way head, split 70/20/10 into train/test/validation with the seed (sizes
``int(0.7 n)``, ``int(0.2 n)``, rest, as FedWeIT cuts them).

Which classes. The AdaSplit authors took "task 0" of FedWeIT's NonIID-50 for each dataset. FedWeIT
shuffles each dataset's label list with Python's ``random.seed(1); random.shuffle`` and cuts it
into tasks of five, relabelling in that shuffled order. That gives labels [6, 8, 9, 7, 5] for
every 10-class dataset, kept here exactly:

* CIFAR-10: frog, ship, truck, horse, dog
* Fashion-MNIST: Shirt, Bag, Ankle boot, Sneaker, Sandal
* MNIST: 6, 8, 9, 7, 5
* notMNIST: G, I, J, H, F

For CIFAR-100 task 0 is fine labels [53, 37, 65, 51, 4] (orange, house, rabbit, mushroom,
beaver), but only fine classes 0-49 exist in the shared data copy (and no test split). We keep
FedWeIT's shuffled order and take its first five labels below 50: [37, 4, 20, 38, 9] = house,
beaver, chair, kangaroo, bottle (two of the original five plus the next three in that order).
Classes are chosen by name and fixed, so a full CIFAR-100 gives the same task, with its test
images pooled in too (600 instead of 500 images per class).

Sizes with the shared data (``c3bench`` reports them per run): CIFAR-100 2,500 images (1,750 /
500 / 250), CIFAR-10 30,000 (21,000 / 6,000 / 3,000), Fashion-MNIST 35,000 (24,500 / 7,000 / 3,500),
MNIST 34,265 (23,985 / 6,853 / 3,427), notMNIST 9,360 (6,552 / 1,872 / 936); 111,125 in all, 77,787
for training. The authors report about 78.6k training images; the difference is mostly
CIFAR-100's missing test split (their notMNIST copy was also resized, not padded).

Preprocessing: 32x32x3; the grayscale datasets are zero-padded from 28 to 32 and copied to three
channels. Each client normalises with its own dataset's statistics (see c3bench.data.datasets).
No augmentation (flips would change letters and digits).

Suggested method settings (``suggested_params``), as the AdaSplit authors ran this protocol: split
methods iterate up to the longest client (``iteration=longest``: a client with less data cycles
through it again, so every client processes 24,500 samples a round), and AdaSplit's mask penalty
is lambda = 1e-3 (the paper's Section 4.4).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from c3bench.data.clients import make_client, select_classes
from c3bench.data.datasets import load_dataset, require_datasets
from c3bench.data.partition import split_fractions
from c3bench.federation import Federation
from c3bench.protocol import Protocol
from c3bench.registry import register_protocol

FRACTIONS = (0.7, 0.2, 0.1)  # train, test, validation
TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cifar100", ("house", "beaver", "chair", "kangaroo", "bottle")),
    ("cifar10", ("frog", "ship", "truck", "horse", "dog")),
    ("fashion-mnist", ("Shirt", "Bag", "Ankle boot", "Sneaker", "Sandal")),
    ("mnist", ("6", "8", "9", "7", "5")),
    ("notmnist", ("G", "I", "J", "H", "F")),
)


@register_protocol
class MixedNonIID(Protocol):
    name = "mixed-noniid"
    description = ("AdaSplit's Mixed-NonIID: 5 clients, one dataset each (CIFAR-100, CIFAR-10, FMNIST, MNIST, "
                   "notMNIST), a 5-class task relabelled 0-4, 70/20/10 split.")
    version = "1"
    default_rounds = 20
    default_backbone = "lenet"
    needs_data = True
    hparams = ()
    suggested_params = {"iteration": "longest", "lambda": 1e-3}

    def build(self, params: dict[str, Any], seed: int, data_root: Path | None) -> Federation:
        require_datasets([dataset for dataset, _ in TASKS], data_root)  # one message for all that are missing
        clients, notes = [], []
        for i, (dataset, class_names) in enumerate(TASKS):
            data = load_dataset(dataset, data_root)
            pool = data.pooled()
            labels = [data.label(c) for c in class_names]
            idx = select_classes(pool, labels)
            train, test, val = split_fractions(idx, FRACTIONS, seed, tag=i)
            clients.append(make_client(pool, train, test, data.normalization, f"client{i}:{dataset}",
                                       val_idx=val, label_map={c: j for j, c in enumerate(labels)}))
            notes.append({"dataset": dataset, "classes": list(class_names), "labels": labels,
                          "splits": [s for s in ("train", "test") if s in data.splits],
                          "indices": {"train": train, "test": test, "val": val}})  # into the pooled dataset
        return Federation(clients=clients, num_classes=5, augment=False, notes={"tasks": notes})
