"""Local response normalisation as a channel-window sum.

Same math as ``torch.nn.LocalResponseNorm`` (which goes through ``avg_pool3d`` and is slow on CPU):
b_c = a_c / (k + alpha/n * sum_{c' in window(c)} a_{c'}^2) ** beta, where the window spans channels
c - n//2 .. c + (n-1)//2, clipped at the edges. Summing ``n`` shifted slices is about twice as fast
on CPU for the small n used here (measured in benchmarks/bench_training.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FastLocalResponseNorm(nn.Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        sq = F.pad(x * x, (0, 0, 0, 0, self.size // 2, (self.size - 1) // 2))
        window = sq[:, 0:channels]
        for offset in range(1, self.size):
            window = window + sq[:, offset : offset + channels]
        return x / (self.k + (self.alpha / self.size) * window).pow(self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
