"""Losses used by methods beyond plain cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def supervised_nt_xent(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Supervised NT-Xent (AdaSplit eq. 5, after Khosla et al.'s SupCon), vectorised.

    For every anchor with at least one same-class partner in the batch: the mean over its positives
    of -log(exp(q_i.q_p/t) / sum_{j != i} exp(q_i.q_j/t)), on L2-normalised embeddings; then the
    mean over anchors. (Eq. 5 writes sums; means only rescale it, which keeps the loss comparable
    across batch sizes.) A batch with no positive pair gives a zero loss that still has a graph.
    """
    z = F.normalize(embeddings, dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    counts = positives.sum(dim=1)
    anchors = counts > 0
    if not bool(anchors.any()):
        return embeddings.sum() * 0.0
    per_anchor = log_prob.masked_fill(~positives, 0.0).sum(dim=1)[anchors] / counts[anchors]
    return -per_anchor.mean()


class ProjectionHead(nn.Module):
    """AdaSplit's client projection head H: 1x1 conv to 128 channels, leaky ReLU, global max-pool,
    linear 128 -> 64 (for flat activations, a linear layer replaces the 1x1 conv)."""

    def __init__(self, activation_shape: tuple[int, ...], hidden: int = 128, out: int = 64):
        super().__init__()
        if len(activation_shape) == 3:
            self.body = nn.Sequential(nn.Conv2d(activation_shape[0], hidden, 1), nn.LeakyReLU(),
                                      nn.AdaptiveMaxPool2d(1), nn.Flatten())
        else:
            self.body = nn.Sequential(nn.Linear(activation_shape[0], hidden), nn.LeakyReLU())
        self.out = nn.Linear(hidden, out)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(a))
