"""Per-client masks over a shared server model (AdaSplit eq. 7 and 8).

Client i sees the server model with effective weights W * sigmoid(M_i): one real-valued mask
logit per server weight and bias, per client (randomly initialised from N(0, 1), as the authors'
code). The server loss adds lambda * sum(sigmoid(M_i)), an L1 penalty that makes each client use a
sparse part of the server. Only the selected client's mask and the shared weights get gradients,
and each mask has its own optimiser, so a step for client i never touches another client's mask.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


class ClientMasks(nn.Module):
    def __init__(self, server: nn.Module, num_clients: int, generator: torch.Generator):
        super().__init__()
        self.names = [name for name, _ in server.named_parameters()]
        self.logits = nn.ModuleList()
        for _ in range(num_clients):
            per_client = nn.ParameterList(
                nn.Parameter(torch.randn(p.shape, generator=generator).to(p.device)) for _, p in server.named_parameters()
            )
            self.logits.append(per_client)

    def masked_forward(self, server: nn.Module, client: int, x: torch.Tensor) -> torch.Tensor:
        """Server forward for ``client`` with weights W * sigmoid(M_client)."""
        weights = {
            name: w * torch.sigmoid(m)
            for (name, w), m in zip(server.named_parameters(), self.logits[client], strict=True)
        }
        return functional_call(server, weights, (x,))

    def l1(self, client: int) -> torch.Tensor:
        return sum(torch.sigmoid(m).sum() for m in self.logits[client])

    def mean_gate(self, client: int) -> float:
        """Mean of sigmoid(M) over the client's mask entries: the share of the server it uses, as the
        L1 penalty measures it and as inference applies it (a soft mask, no threshold)."""
        with torch.no_grad():
            total = sum(float(torch.sigmoid(m).sum()) for m in self.logits[client])
            count = sum(m.numel() for m in self.logits[client])
        return total / count

    def numel_per_client(self) -> int:
        return sum(m.numel() for m in self.logits[0])
