"""Partitioners (NIID-Bench rules) on real label vectors and on small hand-made ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from c3bench.data import partition as P
from c3bench.data.datasets import load_dataset
from c3bench.hparams import ConfigError
from tests.conftest import require_data


@pytest.fixture(scope="module")
def cifar_labels() -> torch.Tensor:
    return load_dataset("cifar10", require_data("CIFAR-10-images/train.tar"), download=False).splits["train"].y


def _assert_exact_cover(parts: list[torch.Tensor], n: int) -> None:
    everything = torch.cat(parts)
    assert len(everything) == n and torch.equal(everything.sort().values, torch.arange(n))


def _entropy(y: torch.Tensor, num_labels: int) -> float:
    p = torch.bincount(y, minlength=num_labels).double()
    p = p[p > 0] / p.sum()
    return float(-(p * p.log()).sum())


def test_iid_uses_every_index_once_in_equal_shares(cifar_labels):
    parts = P.iid(cifar_labels, 7, seed=0)
    _assert_exact_cover(parts, len(cifar_labels))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert all(len(torch.unique(cifar_labels[p])) == 10 for p in parts)


def test_label_k_gives_each_client_k_labels_including_its_own(cifar_labels):
    parts = P.label_k(cifar_labels, 10, k=2, seed=0)
    _assert_exact_cover(parts, len(cifar_labels))  # with 10 clients every label has a holder
    held = [sorted(torch.unique(cifar_labels[p]).tolist()) for p in parts]
    assert all(len(h) == 2 and i in h for i, h in enumerate(held))
    for c in range(10):  # each label's samples split evenly among the clients holding it
        counts = [int((cifar_labels[p] == c).sum()) for p, h in zip(parts, held, strict=True) if c in h]
        assert sum(counts) == 5000 and max(counts) - min(counts) <= 1


def test_label_k_leaves_out_labels_nobody_holds():
    y = torch.arange(10).repeat_interleave(30)
    parts = P.label_k(y, 3, k=1, seed=0)
    assert [torch.unique(y[p]).tolist() for p in parts] == [[0], [1], [2]]
    assert sum(len(p) for p in parts) == 90  # labels 3..9: no holder, not used
    with pytest.raises(ConfigError, match="k=11"):
        P.label_k(y, 3, k=11, seed=0)


def test_dirichlet_covers_everything_with_a_minimum_size_and_more_skew_for_small_alpha(cifar_labels):
    skewed = P.dirichlet(cifar_labels, 10, alpha=0.1, seed=0)
    _assert_exact_cover(skewed, len(cifar_labels))
    assert min(len(p) for p in skewed) >= 10
    mild = P.dirichlet(cifar_labels, 10, alpha=100.0, seed=0)
    mean_entropy = {a: np.mean([_entropy(cifar_labels[p], 10) for p in parts])
                    for a, parts in (("skewed", skewed), ("mild", mild))}
    assert mean_entropy["skewed"] < 1.5 < mean_entropy["mild"]  # ln 10 = 2.30 is uniform


def test_dirichlet_resamples_until_every_client_has_enough():
    y = torch.tensor([0] * 60 + [1] * 60)
    parts = P.dirichlet(y, 4, alpha=0.05, seed=3, min_size=10)
    assert min(len(p) for p in parts) >= 10
    with pytest.raises(ConfigError, match="cannot give"):
        P.dirichlet(y, 20, alpha=0.5, seed=0)


@pytest.mark.parametrize("make", [lambda y, s: P.iid(y, 5, s), lambda y, s: P.label_k(y, 5, 3, s),
                                  lambda y, s: P.dirichlet(y, 5, 0.5, s)], ids=["iid", "label-k", "dirichlet"])
def test_same_seed_same_parts_other_seed_other_parts(make):
    y = torch.arange(10).repeat(200)
    a, b, c = make(y, 0), make(y, 0), make(y, 1)
    assert all(torch.equal(x, z) for x, z in zip(a, b, strict=True))
    assert not all(torch.equal(x, z) for x, z in zip(a, c, strict=True))


def test_split_like_follows_each_clients_train_labels():
    ytrain = torch.arange(4).repeat_interleave(100)
    parts = P.label_k(ytrain, 4, 2, seed=0)
    ytest = torch.arange(4).repeat_interleave(21)
    tests = P.split_like(parts, ytrain, ytest, seed=0)
    _assert_exact_cover(tests, 84)
    for p, t in zip(parts, tests, strict=True):
        assert set(ytest[t].tolist()) == set(ytrain[p].tolist())


def test_fraction_splits_use_fedweit_rounding():
    train, test, val = P.split_fractions(torch.arange(3001), (0.7, 0.2, 0.1), seed=0)
    assert (len(train), len(test), len(val)) == (2100, 600, 301)
    _assert_exact_cover([train, test, val], 3001)
    kept, held = P.holdout(1000, 0.2, seed=0)
    assert (len(kept), len(held)) == (800, 200)
