"""Batches drawn by index from in-memory uint8 tensors; normalisation and augmentation per batch.

No per-sample Python: a batch is one gather, one cast, and (for augmentation) two ``gather`` calls on
the padded batch for the random crops (rows, then columns) and one ``torch.where`` for the flips.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from c3bench.federation import Normalization


def batch_indices(n: int, batch_size: int, generator: torch.Generator, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Yield index tensors covering ``range(n)`` once (one epoch), shuffled with ``generator``."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    yield from order.split(batch_size)


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, for a whole uint8 batch [B,C,H,W]."""
    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator)
    rows = (offsets[0][:, None] + torch.arange(h)).view(b, 1, h, 1).expand(b, c, h, w + 2 * padding)
    cols = (offsets[1][:, None] + torch.arange(w)).view(b, 1, 1, w).expand(b, c, h, w)
    cropped = padded.gather(2, rows).gather(3, cols)
    flip = torch.rand(b, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], cropped.flip(-1), cropped)


def to_float(x: torch.Tensor, norm: Normalization) -> torch.Tensor:
    """uint8 [B,C,H,W] -> normalised float32."""
    mean = torch.tensor(norm.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x.float().div_(255.0) - mean) / std


def make_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    idx: torch.Tensor,
    norm: Normalization,
    augment: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather ``idx`` from uint8 images, augment if asked, and return (float images, labels)."""
    xb = x[idx]
    if augment:
        if generator is None:
            raise ValueError("augmentation needs a seeded generator")
        xb = random_crop_flip(xb, generator)
    return to_float(xb, norm), y[idx]
