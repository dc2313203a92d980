"""The one way a tensor crosses between a client and the server (or between clients).

`Channel.send` returns what the receiver gets: a detached copy, so the two sides never share storage,
and charges the ledger from the real tensors.

Encodings (bytes in the c3bench convention):

* ``DENSE``: every element, numel x element size, zeros included.
* ``SPARSE``: the non-zero values (nnz x element size) plus where they are: the cheaper of a bitmap
  (one bit per element) and int32 flat indices (4 bytes per non-zero); never more than dense,
  because a sender would then send dense. This is what a real sparse transfer costs.

Independently of the encoding, the AdaSplit authors' convention is recorded next to it:
non-zero elements x 4 bytes, with no index cost (``paper_bytes``).

Counting non-zeros reads values. For a tensor on an accelerator, ``Channel.send`` keeps such counts
on the device (0-dim tensors) and the ledger turns them into integers at the end of the round, so a
training step never waits for the device; sizes from shapes (dense bytes, messages) are integers at
once. Only a declared bandwidth budget with the sparse encoding makes a send wait (the budget is
checked at every charge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

import torch

from c3bench.accounting.ledger import Ledger

SERVER = "server"


class Encoding(str, Enum):
    DENSE = "dense"
    SPARSE = "sparse"


def tensor_bytes(t: torch.Tensor, encoding: Encoding) -> tuple[int, int]:
    """(bytes in c3bench's convention, bytes in the authors' convention) for one tensor."""
    numel, elem = t.numel(), t.element_size()
    nnz = int(torch.count_nonzero(t)) if numel else 0
    dense = numel * elem
    if encoding is Encoding.DENSE:
        honest = dense
    else:
        index_cost = min(math.ceil(numel / 8), 4 * nnz)
        honest = min(dense, nnz * elem + index_cost)
    return honest, nnz * 4


def deferred_tensor_bytes(t: torch.Tensor, encoding: Encoding) -> tuple[int | torch.Tensor, torch.Tensor | int]:
    """``tensor_bytes`` without reading a value on the host: what depends on values stays a 0-dim
    tensor on ``t``'s device (the same integers once read)."""
    numel, elem = t.numel(), t.element_size()
    if not numel:
        return 0, 0
    nnz = torch.count_nonzero(t)
    dense = numel * elem
    if encoding is Encoding.DENSE:
        return dense, nnz * 4
    return torch.clamp(nnz * elem + torch.clamp(4 * nnz, max=math.ceil(numel / 8)), max=dense), nnz * 4


def _tensors(payload: Any) -> list[torch.Tensor]:
    if isinstance(payload, torch.Tensor):
        return [payload]
    if isinstance(payload, Mapping):
        return [t for v in payload.values() for t in _tensors(v)]
    if isinstance(payload, list | tuple):
        return [t for v in payload for t in _tensors(v)]
    raise TypeError(f"the channel carries tensors, dicts and lists of tensors, not {type(payload).__name__}")


def _copy(payload: Any) -> Any:
    if isinstance(payload, torch.Tensor):
        return payload.detach().clone()
    if isinstance(payload, Mapping):
        return {k: _copy(v) for k, v in payload.items()}
    if isinstance(payload, list | tuple):
        return type(payload)(_copy(v) for v in payload)
    raise TypeError(type(payload).__name__)


def payload_bytes(payload: Any, encoding: Encoding = Encoding.DENSE,
                  defer: bool | None = False) -> tuple[int | torch.Tensor, int | torch.Tensor]:
    """Bytes of a whole payload in both conventions, without sending it. ``defer``: keep what depends
    on values as device tensors (``deferred_tensor_bytes``); None does so for tensors off the CPU."""
    honest: int | torch.Tensor = 0
    paper: int | torch.Tensor = 0
    for t in _tensors(payload):
        lazy = t.device.type != "cpu" if defer is None else defer
        h, p = deferred_tensor_bytes(t, encoding) if lazy else tensor_bytes(t, encoding)
        honest, paper = honest + h, paper + p
    return honest, paper


class Channel:
    """Moves payloads between endpoints (a client index or ``SERVER``) and charges the ledger.

    ``defer_counts``: keep value-dependent counts on the device until the round ends (default: for
    tensors that are not on the CPU, where reading a count would stall the device).
    """

    def __init__(self, ledger: Ledger, defer_counts: bool | None = None):
        self.ledger = ledger
        self.defer_counts = defer_counts

    def send(
        self,
        payload: Any,
        *,
        src: int | str,
        dst: int | str,
        encoding: Encoding = Encoding.DENSE,
        paper_counted: bool = True,
    ) -> Any:
        """Deliver ``payload`` from ``src`` to ``dst``; returns the receiver's copy.

        ``paper_counted=False`` marks payloads the AdaSplit authors did not count (labels sent
        with activations); they still count in the c3bench convention.
        """
        if src == dst:
            raise ValueError("a send needs two different endpoints")
        if src == SERVER:
            direction, client = "down", dst
        elif dst == SERVER:
            direction, client = "up", src
        else:
            direction, client = "peer", src  # charged to the sender
        honest, paper = payload_bytes(payload, encoding, self.defer_counts)
        self.ledger.charge_bytes(int(client), direction, honest, paper if paper_counted else 0)
        return _copy(payload)
