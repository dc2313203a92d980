"""The paper's protocols on the real data: client sizes, disjoint classes, no overlap, seeding."""

from __future__ import annotations

import pytest
import torch

from c3bench.federation import ClientData, Federation
from c3bench.registry import get_protocol, space
from c3bench.runner import Runner, RunSpec, resolve
from tests.conftest import require_data

CIFAR = ("CIFAR-10-images/train.tar", "CIFAR-10-images/test.tar")
ALL = (*CIFAR, "CIFAR-100-images/train.tar", "MNIST/raw", "FashionMNIST/raw", "notMNIST_small/notMNIST_small.tar")


def _build(name: str, seed: int, **overrides) -> Federation:
    cls = get_protocol(name)
    root = require_data(*(CIFAR if name == "mixed-cifar" else ALL))
    return cls().build(space(cls).resolve(overrides, name), seed, root)


@pytest.fixture(scope="module")
def cifar() -> dict[int, Federation]:
    return {seed: _build("mixed-cifar", seed) for seed in (0, 1)}


@pytest.fixture(scope="module")
def noniid() -> dict[int, Federation]:
    return {seed: _build("mixed-noniid", seed) for seed in (0, 1)}


def _disjoint(*index_sets: torch.Tensor) -> bool:
    joined = torch.cat(index_sets)
    return len(torch.unique(joined)) == len(joined)


def test_mixed_cifar_sizes_classes_and_no_overlap(cifar):
    fed = cifar[0]
    assert fed.num_clients == 5 and fed.num_classes == 10 and fed.augment  # the authors' 10-way head
    assert [(c.num_train, c.num_test) for c in fed.clients] == [(10_800, 1_200)] * 5
    pairs = fed.notes["client_classes"]
    assert sorted(c for p in pairs for c in p) == list(range(10))  # 5 disjoint pairs cover CIFAR-10
    assert fed.notes["class_names"][0] == ["airplane", "automobile"]
    for i, client in enumerate(fed.clients):
        counts = torch.bincount(client.y_train, minlength=10).tolist()  # its two CIFAR-10 labels; a random 90/10 cut
        assert [k for k, c in enumerate(counts) if c] == [2 * i, 2 * i + 1] and min(counts[2 * i:2 * i + 2]) > 5_200
        assert set(client.y_test.tolist()) == {2 * i, 2 * i + 1}
        assert client.x_train.shape[1:] == (3, 32, 32)
    splits = fed.notes["indices"]
    assert _disjoint(*[s[part] for s in splits for part in ("train", "test")])  # 60,000 distinct images
    assert sum(len(s["train"]) + len(s["test"]) for s in splits) == 60_000
    relabelled = _build("mixed-cifar", 0, relabel=True)
    assert relabelled.num_classes == 2 and set(relabelled.clients[3].y_train.tolist()) == {0, 1}


def test_mixed_cifar_same_seed_same_split_other_seed_other_split(cifar):
    again = _build("mixed-cifar", 0)
    assert again.digest() == cifar[0].digest()
    assert cifar[1].digest() != cifar[0].digest()
    assert not torch.equal(cifar[0].notes["indices"][0]["train"], cifar[1].notes["indices"][0]["train"])
    # the pairs stay: a seed changes which images are held out, not who holds which class
    assert cifar[0].notes["client_classes"] == cifar[1].notes["client_classes"]


def test_mixed_cifar_can_keep_the_cifar10_labels():
    fed = _build("mixed-cifar", 0, relabel=False)
    assert fed.num_classes == 10
    assert [sorted(torch.unique(c.y_train).tolist()) for c in fed.clients] == [[2 * i, 2 * i + 1] for i in range(5)]


def test_mixed_noniid_sizes_tasks_and_no_overlap(noniid):
    fed = noniid[0]
    assert fed.num_clients == 5 and fed.num_classes == 5 and not fed.augment
    sizes = [(c.num_train, c.num_test, int(c.x_val.shape[0])) for c in fed.clients]
    assert sizes == [(1750, 500, 250), (21_000, 6_000, 3_000), (24_500, 7_000, 3_500), (23_985, 6_853, 3_427),
                     (6_552, 1_872, 936)]
    assert [t["dataset"] for t in fed.notes["tasks"]] == ["cifar100", "cifar10", "fashion-mnist", "mnist", "notmnist"]
    assert fed.notes["tasks"][0]["labels"] == [37, 4, 20, 38, 9]
    assert all(t["labels"] == [6, 8, 9, 7, 5] for t in fed.notes["tasks"][1:])
    for client, task in zip(fed.clients, fed.notes["tasks"], strict=True):
        for y in (client.y_train, client.y_test, client.y_val):
            assert sorted(torch.unique(y).tolist()) == [0, 1, 2, 3, 4]
        idx = task["indices"]
        assert _disjoint(idx["train"], idx["test"], idx["val"])
    # distinct normalisations: each client uses its own dataset's statistics
    assert len({c.normalization for c in fed.clients}) == 5


def test_mixed_noniid_same_seed_same_split_other_seed_other_split(noniid):
    assert _build("mixed-noniid", 0).digest() == noniid[0].digest()
    assert noniid[1].digest() != noniid[0].digest()


def _slice(fed: Federation, clients: int, n_train: int, n_test: int) -> Federation:
    kept = [ClientData(x_train=c.x_train[:n_train].clone(), y_train=c.y_train[:n_train].clone(),
                       x_test=c.x_test[:n_test].clone(), y_test=c.y_test[:n_test].clone(),
                       normalization=c.normalization, name=c.name) for c in fed.clients[:clients]]
    return Federation(clients=kept, num_classes=fed.num_classes, augment=fed.augment)


def test_fedavg_runs_on_a_slice_of_mixed_noniid(noniid, tmp_path):
    """A real two-round run on real images: two clients (CIFAR-100, CIFAR-10), 150 train images each."""
    spec = RunSpec(method="fedavg", protocol="mixed-noniid", rounds=2, seed=0, backbone="simple-cnn",
                   overrides={"batch_size": "50", "lr": "0.002"})
    record = Runner(resolve(spec), tmp_path, federation=_slice(noniid[0], 2, 150, 100)).execute()
    assert record["status"] == "completed" and len(record["rounds"]) == 2
    assert [c["train"] for c in record["data"]["clients"]] == [150, 150]
    assert record["totals"]["bytes_total"] > 0 and record["totals"]["client_flops"] > 0
