"""What a protocol hands to a method: each client's data (as in-memory tensors) and shared facts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean and std applied to images scaled to [0, 1]."""

    mean: tuple[float, ...]
    std: tuple[float, ...]


TENSOR_FIELDS = ("x_train", "y_train", "x_test", "y_test", "x_val", "y_val")


@dataclass
class ClientData:
    """One client's images as uint8 tensors [N, C, H, W] and int64 labels, split train/test(/val)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    normalization: Normalization
    name: str = ""
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    device: Any = None  # a c3bench.accounting.devices.DeviceProfile, when the protocol declares one

    def __post_init__(self) -> None:
        for prefix in ("train", "test", "val"):
            x, y = getattr(self, f"x_{prefix}"), getattr(self, f"y_{prefix}")
            if x is None:
                continue
            if x.dtype != torch.uint8 or x.dim() != 4:
                raise ValueError(f"{self.name}: x_{prefix} must be uint8 [N, C, H, W], got {x.dtype} {tuple(x.shape)}")
            if y.dtype != torch.int64 or y.shape != (x.shape[0],):
                raise ValueError(f"{self.name}: y_{prefix} must be int64 [{x.shape[0]}]")

    @property
    def num_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.x_test.shape[0])


@dataclass
class Federation:
    """All clients of one protocol instance plus what every method needs to know about them."""

    clients: list[ClientData]
    num_classes: int
    augment: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def num_clients(self) -> int:
        return len(self.clients)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.clients[0].x_train.shape[1:])  # type: ignore[return-value]

    def digest(self, repeat_shared: bool = False) -> str:
        """sha256 over every client's tensors and how they are fed (normalisation, classes,
        augmentation), so two runs can prove they saw the same data.

        A tensor an earlier client already holds (the same view of the same storage: a global test
        set) is hashed once; later clients add a reference to where it first appeared instead of its
        bytes. Where no tensor is shared between clients the hashed stream, and so the value, is the
        one records of schema ``c3bench.result/1`` carry; ``repeat_shared=True`` hashes shared
        tensors again for every client, which gives those records' value for any federation.
        """
        h = hashlib.sha256(f"classes={self.num_classes}/augment={self.augment}".encode())
        first: dict[tuple[Any, ...], str] = {}
        for i, client in enumerate(self.clients):
            h.update(f"{client.name}/norm={client.normalization.mean},{client.normalization.std}".encode())
            for name in TENSOR_FIELDS:
                t = getattr(client, name)
                if t is None:
                    continue
                h.update(f"{client.name}/{name}/{tuple(t.shape)}/{t.dtype}".encode())
                view = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
                if view in first and t.numel() and not repeat_shared:
                    h.update(f"=>{first[view]}".encode())
                else:
                    first.setdefault(view, f"#{i}/{name}")
                    h.update(t.contiguous().numpy())  # the buffer itself, not a copy of it
        return h.hexdigest()

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "client": i,
                "name": c.name,
                "train": c.num_train,
                "test": c.num_test,
                "classes": sorted(set(c.y_train.tolist())),
            }
            for i, c in enumerate(self.clients)
        ]
