"""Partitioners: labels + number of clients + seed -> one index tensor per client. Pure functions.

The label-skew rules are NIID-Bench's (Li et al., "Federated Learning on Non-IID Data Silos"),
written anew on a seeded numpy Generator (no global random state):

* :func:`iid` - a random permutation cut into ``n`` near-equal parts ("homo").
* :func:`label_k` - "#C=k": client ``i`` holds label ``i mod K`` plus ``k-1`` other distinct labels
  drawn at random; each label's samples are split evenly among the clients holding it. Samples of
  a label that no client drew are left out (only possible when ``n * k < K`` or by chance when
  ``n < K``; NIID-Bench would stop with an error there).
* :func:`dirichlet` - per label, proportions over clients from Dir(alpha); a client that already
  holds ``N / n`` samples gets no more; resampled until every client has at least ``min_size``
  (10) samples.

Helpers: :func:`split_fractions` (seeded train/test(/val) cuts of one client's data),
:func:`holdout`, and :func:`split_like` (a test split partitioned with each client's train label
mix). Every function returns sorted int64 index tensors.

A user-defined protocol is one small file (``my_protocols/dir_fmnist.py``, registered through the
``c3bench.protocols`` entry point or placed in ``c3bench/protocols/``)::

    from c3bench.data.clients import federation_from_parts
    from c3bench.data.datasets import load_dataset
    from c3bench.data.partition import dirichlet
    from c3bench.hparams import HParam
    from c3bench.protocol import Protocol
    from c3bench.registry import register_protocol

    @register_protocol
    class DirichletFashion(Protocol):
        name = "dir-fmnist"
        description = "Fashion-MNIST, Dirichlet(alpha) label skew, global test set"
        default_backbone = "simple-cnn"
        hparams = (HParam("alpha", float, 0.3, "Dirichlet concentration", low=1e-3),)

        def build(self, params, seed, data_root):
            data = load_dataset("fashion-mnist", data_root)
            train, test = data.splits["train"], data.splits["test"]
            parts = dirichlet(train.y, 8, params["alpha"], seed)
            return federation_from_parts(train, parts, data.normalization, data.num_classes,
                                         global_test=test)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from c3bench.hparams import ConfigError


def _rng(seed: int, tag: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, tag])


def _labels(labels: torch.Tensor | np.ndarray) -> np.ndarray:
    return labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)


def _out(parts: Sequence[np.ndarray]) -> list[torch.Tensor]:
    return [torch.from_numpy(np.sort(np.asarray(p, dtype=np.int64))) for p in parts]


def _check_clients(n: int, num_clients: int) -> None:
    if num_clients < 1:
        raise ConfigError(f"num_clients must be at least 1, got {num_clients}.")
    if num_clients > n:
        raise ConfigError(f"{num_clients} clients for {n} samples: some clients would get nothing.")


def iid(labels: torch.Tensor | np.ndarray, num_clients: int, seed: int) -> list[torch.Tensor]:
    """A seeded permutation cut into ``num_clients`` near-equal parts."""
    n = len(labels)
    _check_clients(n, num_clients)
    return _out(np.array_split(_rng(seed, 1).permutation(n), num_clients))


def label_k(labels: torch.Tensor | np.ndarray, num_clients: int, k: int, seed: int) -> list[torch.Tensor]:
    """NIID-Bench's #C=k label skew; see the module docstring."""
    y = _labels(labels)
    classes = np.unique(y)
    num_labels = len(classes)
    if not 1 <= k <= num_labels:
        raise ConfigError(f"k={k} labels per client, but the data has {num_labels} labels; choose 1..{num_labels}.")
    _check_clients(len(y), num_clients)
    rng = _rng(seed, 2)
    held = []
    for i in range(num_clients):
        own = i % num_labels
        others = np.delete(np.arange(num_labels), own)
        held.append([own, *rng.choice(others, size=k - 1, replace=False).tolist()])
    parts: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
    for c in range(num_labels):
        holders = [i for i in range(num_clients) if c in held[i]]
        if not holders:
            continue
        idx = rng.permutation(np.flatnonzero(y == classes[c]))
        for i, chunk in zip(holders, np.array_split(idx, len(holders)), strict=True):
            parts[i].append(chunk)
    return _out([np.concatenate(p) if p else np.empty(0, np.int64) for p in parts])


def dirichlet(labels: torch.Tensor | np.ndarray, num_clients: int, alpha: float, seed: int,
              min_size: int = 10, max_tries: int = 1000) -> list[torch.Tensor]:
    """NIID-Bench's Dirichlet(alpha) label skew; see the module docstring."""
    y = _labels(labels)
    n = len(y)
    _check_clients(n, num_clients)
    if alpha <= 0:
        raise ConfigError(f"alpha must be positive, got {alpha}.")
    if num_clients * min_size > n:
        raise ConfigError(f"{n} samples cannot give {num_clients} clients at least {min_size} each.")
    rng = _rng(seed, 3)
    by_label = [np.flatnonzero(y == c) for c in np.unique(y)]
    for _ in range(max_tries):
        parts: list[list[int]] = [[] for _ in range(num_clients)]
        for idx in by_label:
            idx = rng.permutation(idx)
            p = rng.dirichlet(np.full(num_clients, alpha))
            p = p * np.array([len(part) < n / num_clients for part in parts])
            p = p / p.sum()
            cuts = (np.cumsum(p) * len(idx)).astype(int)[:-1]
            for part, chunk in zip(parts, np.split(idx, cuts), strict=True):
                part.extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return _out(parts)
    raise ConfigError(f"no Dirichlet({alpha}) partition gave all {num_clients} clients at least {min_size} samples "
                      f"in {max_tries} draws; raise alpha or lower num_clients.")


def split_fractions(indices: torch.Tensor | np.ndarray, fractions: Sequence[float], seed: int,
                    tag: int = 0) -> list[torch.Tensor]:
    """Shuffle ``indices`` and cut them: part j gets ``int(n * fractions[j])`` items, the last part
    the rest (FedWeIT's rounding: 70/20/10 of 3,001 gives 2,100 / 600 / 301)."""
    idx = _labels(indices).astype(np.int64)
    order = _rng(seed, 100 + tag).permutation(len(idx))
    sizes = [int(len(idx) * f) for f in fractions[:-1]]
    cuts = np.cumsum(sizes)
    return _out(np.split(idx[order], cuts))


def holdout(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held out) indices of ``range(n)``: a seeded ``fraction`` is held out."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"holdout fraction must be in (0, 1), got {fraction}.")
    rest, held = split_fractions(np.arange(n), (1.0 - fraction, fraction), seed, tag=7)
    return rest, held


def split_like(train_parts: Sequence[torch.Tensor], train_labels: torch.Tensor | np.ndarray,
               test_labels: torch.Tensor | np.ndarray, seed: int) -> list[torch.Tensor]:
    """Partition a test split so each client's test label mix follows its train label mix.

    Per label, the test samples are shuffled and shared among clients in proportion to their
    train counts of that label (largest remainders); labels no client trains on are left out.
    """
    ytr, yte = _labels(train_labels), _labels(test_labels)
    rng = _rng(seed, 4)
    parts: list[list[np.ndarray]] = [[] for _ in train_parts]
    for c in np.unique(yte):
        counts = np.array([(ytr[_labels(p)] == c).sum() for p in train_parts], dtype=np.float64)
        idx = rng.permutation(np.flatnonzero(yte == c))
        if counts.sum() == 0:
            continue
        share = counts / counts.sum() * len(idx)
        sizes = np.floor(share).astype(int)
        for j in np.argsort(-(share - sizes), kind="stable")[: len(idx) - sizes.sum()]:
            sizes[j] += 1
        for part, chunk in zip(parts, np.split(idx, np.cumsum(sizes)[:-1]), strict=True):
            part.append(chunk)
    return _out([np.concatenate(p) if p else np.empty(0, np.int64) for p in parts])
