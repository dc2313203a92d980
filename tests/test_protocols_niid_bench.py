"""niid-bench on the real data: partitions, global vs local test sets, datasets without a test split."""

from __future__ import annotations

import pytest
import torch

from c3bench.federation import Federation
from c3bench.hparams import ConfigError
from c3bench.registry import get_protocol, space
from tests.conftest import require_data

CIFAR = ("CIFAR-10-images/train.tar", "CIFAR-10-images/test.tar")


def _build(seed: int = 0, **overrides) -> Federation:
    cls = get_protocol("niid-bench")
    root = require_data(*CIFAR, "notMNIST_small/notMNIST_small.tar", "MNIST/raw")
    return cls().build(space(cls).resolve({k: str(v) for k, v in overrides.items()}, "niid-bench"), seed, root)


def _disjoint_cover(parts: list[torch.Tensor], n: int) -> bool:
    joined = torch.cat(parts)
    return len(joined) == n and len(torch.unique(joined)) == n


def test_defaults_dirichlet_cifar10_with_the_global_test_set():
    fed = _build()
    cls = get_protocol("niid-bench")
    assert cls.default_backbone == "simple-cnn" and cls.default_rounds == 50
    assert fed.num_clients == 10 and fed.num_classes == 10 and fed.augment
    assert _disjoint_cover(fed.notes["train_parts"], 50_000)
    assert sum(c.num_train for c in fed.clients) == 50_000 and min(c.num_train for c in fed.clients) >= 10
    test = fed.clients[0].x_test
    assert test.shape == (10_000, 3, 32, 32)
    assert all(c.x_test is test for c in fed.clients)  # one shared tensor, not ten copies
    assert fed.clients[0].normalization.mean == (0.0, 0.0, 0.0)  # NIID-Bench feeds raw [0, 1] CIFAR-10
    assert _build().digest() == fed.digest() and _build(seed=1).digest() != fed.digest()


def test_label_k_with_local_test_sets():
    fed = _build(partition="label-k", k=2, test="local")
    for i, client in enumerate(fed.clients):
        labels = sorted(torch.unique(client.y_train).tolist())
        assert len(labels) == 2 and i in labels
        assert sorted(torch.unique(client.y_test).tolist()) == labels
    assert sum(c.num_test for c in fed.clients) == 10_000


def test_a_dataset_without_test_split_holds_out_part_of_it():
    fed = _build(dataset="notmnist", partition="iid", num_clients=4, holdout=0.25)
    assert not fed.augment and fed.notes["held_out"]
    assert sum(c.num_train for c in fed.clients) == 18_724 - 4_681
    assert fed.clients[0].num_test == 4_681


def test_mnist_iid_and_user_errors():
    fed = _build(dataset="mnist", partition="iid", num_clients=3)
    assert [c.num_train for c in fed.clients] == [20_000] * 3
    with pytest.raises(ConfigError, match="k=11"):
        _build(dataset="mnist", partition="label-k", k=11)
    with pytest.raises(ConfigError, match="choose one of"):
        _build(dataset="svhn")
