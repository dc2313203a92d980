"""NIID-Bench-style label skew over any dataset: IID, #C=k, or Dirichlet(alpha), for N clients.

The train split is partitioned with the rules of NIID-Bench (Li et al., 2022), implemented in
:mod:`c3bench.data.partition`:

* ``partition=iid``: equal random shares.
* ``partition=label-k``: client i holds label ``i mod K`` plus ``k-1`` random other labels; each
  label's samples are split evenly among its holders ("#C=k").
* ``partition=dirichlet``: per label, shares from Dir(alpha), resampled until every client has
  at least 10 samples.

Evaluation (``test``): ``global`` (default) gives every client the dataset's whole test split, the
same tensors shared, not copied; NIID-Bench reports the global model's accuracy on that split, so
for FL methods the runner's mean over clients equals it. ``local`` partitions the test split so
each client's test labels follow its train labels (for personalised methods). Datasets without a
test split here (notMNIST; CIFAR-100 in the shared copy) hold out a seeded ``holdout`` fraction.

Like NIID-Bench's code: CIFAR-10 images are augmented during training (random crop and
horizontal flip; NIID-Bench pads by reflection, c3bench's batcher pads with zeros) and so is
CIFAR-100 (NIID-Bench also rotates by up to 15 degrees, which is not done here); the grayscale
datasets are not augmented (``augment=auto``; ``on``/``off`` force it). NIID-Bench feeds MNIST,
Fashion-MNIST and CIFAR-10 as raw [0, 1] pixels and normalises CIFAR-100 with its train
statistics; the same is done here. Other datasets use their defaults from c3bench.data.datasets.

Its small CNN (``simple-cnn``) and 50 rounds are the defaults, as in NIID-Bench's CIFAR-10 runs.
A folder of the user's own images (``folder=/path``, a folder or tar of ``<class>/<file>``, with
optional ``train``/``test`` parts) replaces the named dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from c3bench.data import partition as P
from c3bench.data.clients import federation_from_parts
from c3bench.data.datasets import Dataset, Split, dataset_names, load_dataset, load_image_folder
from c3bench.federation import Federation, Normalization
from c3bench.hparams import HParam
from c3bench.protocol import Protocol
from c3bench.registry import register_protocol

_RAW = Normalization((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
NIID_BENCH_NORMALIZATION = {"mnist": _RAW, "fashion-mnist": _RAW, "cifar10": _RAW}
AUGMENTED = {"cifar10", "cifar100"}


def _splits(data: Dataset, holdout: float, seed: int) -> tuple[Split, Split]:
    """(train, test) of a dataset, holding out a seeded fraction when it has no test split."""
    if "test" in data.splits:
        return data.splits["train"], data.splits["test"]
    pool = data.splits["train"]
    kept, held = P.holdout(len(pool), holdout, seed)
    return Split(pool.x[kept], pool.y[kept]), Split(pool.x[held], pool.y[held])


@register_protocol
class NiidBench(Protocol):
    name = "niid-bench"
    description = "NIID-Bench label skew (iid, #C=k, Dirichlet) of any dataset over N clients; global test set."
    version = "1"
    default_rounds = 50
    default_backbone = "simple-cnn"
    needs_data = True
    hparams = (
        HParam("dataset", str, "cifar10", "dataset to partition", choices=tuple(dataset_names()), key=True),
        HParam("partition", str, "dirichlet", "iid | label-k (#C=k) | dirichlet (Dir(alpha))",
               choices=("iid", "label-k", "dirichlet"), key=True),
        HParam("num_clients", int, 10, "number of clients", low=1, high=10000),
        HParam("k", int, 2, "labels per client for partition=label-k", low=1),
        HParam("alpha", float, 0.5, "Dirichlet concentration for partition=dirichlet (smaller = more skew)", low=1e-3),
        HParam("test", str, "global", "global: every client tests on the whole test split; local: partitioned "
               "like train", choices=("global", "local")),
        HParam("holdout", float, 0.2, "test fraction held out when the dataset has no test split", low=0.01, high=0.9),
        HParam("augment", str, "auto", "crop+flip during training; auto = as NIID-Bench (CIFAR only)",
               choices=("auto", "on", "off")),
        HParam("folder", str, "", "a folder or tar of <class>/<file> images to use instead of 'dataset'"),
    )

    def build(self, params: dict[str, Any], seed: int, data_root: Path | None) -> Federation:
        if params["folder"]:
            data = load_image_folder(params["folder"])
            norm = data.normalization
        else:
            data = load_dataset(params["dataset"], data_root)
            norm = NIID_BENCH_NORMALIZATION.get(data.name, data.normalization)
        train, test = _splits(data, params["holdout"], seed)
        n = params["num_clients"]
        if params["partition"] == "iid":
            parts = P.iid(train.y, n, seed)
        elif params["partition"] == "label-k":
            parts = P.label_k(train.y, n, params["k"], seed)
        else:
            parts = P.dirichlet(train.y, n, params["alpha"], seed)
        augment = {"on": True, "off": False}.get(params["augment"], data.name in AUGMENTED)
        notes = {"dataset": data.name, "partition": params["partition"], "test": params["test"],
                 "test_size": len(test), "held_out": "test" not in data.splits, "train_parts": parts}
        if params["test"] == "global":
            return federation_from_parts(train, parts, norm, data.num_classes, global_test=test, augment=augment,
                                         notes=notes)
        test_parts = P.split_like(parts, train.y, test.y, seed)
        return federation_from_parts(train, parts, norm, data.num_classes, test=test, test_parts=test_parts,
                                     augment=augment, notes=notes)
