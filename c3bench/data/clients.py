"""Turn index sets over a loaded dataset into clients and a federation (gathers, relabelling)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from c3bench.data.datasets import Split
from c3bench.federation import ClientData, Federation, Normalization


def take(split: Split, idx: torch.Tensor, label_map: Mapping[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Contiguous copies of ``split``'s images and labels at ``idx`` (labels renumbered by ``label_map``)."""
    x = split.x[idx].contiguous()
    y = split.y[idx].clone()
    if label_map is not None:
        table = torch.full((int(split.y.max()) + 1 if len(split.y) else 1,), -1, dtype=torch.int64)
        for old, new in label_map.items():
            table[old] = new
        y = table[y]
        if bool((y < 0).any()):
            raise ValueError("label_map does not cover every selected label")
    return x, y


def select_classes(split: Split, labels: Sequence[int]) -> torch.Tensor:
    """Indices (sorted) of the samples whose label is in ``labels``."""
    return torch.nonzero(torch.isin(split.y, torch.tensor(list(labels), dtype=torch.int64))).flatten()


def make_client(split: Split, train_idx: torch.Tensor, test_idx: torch.Tensor, normalization: Normalization,
                name: str, val_idx: torch.Tensor | None = None,
                label_map: Mapping[int, int] | None = None) -> ClientData:
    """One client whose train/test(/val) sets are the given indices of ``split``."""
    x_train, y_train = take(split, train_idx, label_map)
    x_test, y_test = take(split, test_idx, label_map)
    x_val = y_val = None
    if val_idx is not None:
        x_val, y_val = take(split, val_idx, label_map)
    return ClientData(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, normalization=normalization,
                      name=name, x_val=x_val, y_val=y_val)


def federation_from_parts(train: Split, parts: Sequence[torch.Tensor], normalization: Normalization, num_classes: int,
                          *, global_test: Split | None = None, test: Split | None = None,
                          test_parts: Sequence[torch.Tensor] | None = None, augment: bool = False,
                          notes: dict[str, Any] | None = None) -> Federation:
    """Clients from train index sets, evaluated either on one shared ``global_test`` split (the same
    tensors for every client, not copies) or on their own ``test_parts`` of ``test``."""
    if (global_test is None) == (test_parts is None):
        raise ValueError("give either global_test or test and test_parts")
    shared = None
    if global_test is not None:
        shared = (global_test.x.contiguous(), global_test.y.contiguous())
    clients = []
    for i, idx in enumerate(parts):
        x, y = take(train, idx)
        if shared is not None:
            xt, yt = shared
        else:
            assert test is not None and test_parts is not None
            xt, yt = take(test, test_parts[i])
        clients.append(ClientData(x_train=x, y_train=y, x_test=xt, y_test=yt, normalization=normalization,
                                  name=f"client{i}"))
    return Federation(clients=clients, num_classes=num_classes, augment=augment, notes=dict(notes or {}))
