"""AdaSplit's orchestrator: which clients send activations to the server at each iteration.

UCB with discounting (AdaSplit eq. 6). For client i after T iterations:
    l_i = sum_t gamma^(T-1-t) L_i^t,   s_i = sum_t gamma^(T-1-t) S_i^t,
    A_i = l_i / s_i + sqrt(2 ln T / s_i),
and the top eta*N clients by A_i are selected (random tie-break). L_i^t is the server loss on the
client's activations when it was selected; otherwise the mean of its previous two values; both
start at 100. A client never selected (s_i = 0) has an infinite score, so it is explored.
The discounted sums are kept recursively: l <- gamma*l + L, s <- gamma*s + S.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


class UCBOrchestrator:
    def __init__(self, num_clients: int, gamma: float, initial_loss: float = 100.0):
        self.gamma = gamma
        self.loss_sum = [0.0] * num_clients
        self.pick_sum = [0.0] * num_clients
        self.history = [[initial_loss, initial_loss] for _ in range(num_clients)]  # L^{t-2}, L^{t-1}
        self.iterations = 0
        self.times_selected = [0] * num_clients

    def scores(self) -> list[float]:
        t = max(self.iterations, 1)
        return [
            math.inf if picks <= 0 else losses / picks + math.sqrt(2.0 * math.log(t) / picks)
            for losses, picks in zip(self.loss_sum, self.pick_sum, strict=True)
        ]

    def select(self, k: int, active: Sequence[int], generator: torch.Generator) -> list[int]:
        """Top-k active clients by score; ties broken by a seeded random order."""
        k = min(k, len(active))
        scores = self.scores()
        jitter = torch.rand(len(active), generator=generator).tolist()
        ranked = sorted(zip(active, jitter, strict=True), key=lambda cj: (-scores[cj[0]], cj[1]))
        return sorted(c for c, _ in ranked[:k])

    def update(self, losses: dict[int, float], active: Sequence[int]) -> None:
        """Record one iteration: ``losses`` of the selected clients; others get their 2-step mean."""
        for i in active:
            picked = i in losses
            loss = losses[i] if picked else 0.5 * (self.history[i][0] + self.history[i][1])
            self.history[i] = [self.history[i][1], loss]
            self.loss_sum[i] = self.gamma * self.loss_sum[i] + loss
            self.pick_sum[i] = self.gamma * self.pick_sum[i] + (1.0 if picked else 0.0)
            self.times_selected[i] += int(picked)
        self.iterations += 1
