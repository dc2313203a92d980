"""The ledger: per-round, per-client totals of bytes moved and FLOPs spent, and budget enforcement.

Two conventions are kept side by side for every quantity:

* c3bench (the headline): bytes as they would be sent with the declared encoding, FLOPs of forward
  *and* backward passes as `torch.utils.flop_counter` counts them (2 per multiply-accumulate).
* paper (the AdaSplit authors' tables): bytes = non-zero elements x 4, no index cost; compute =
  forward multiply-accumulates only (fvcore's "flops"), so c3bench figures can sit beside theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # records are read without torch; only the type names it
    import torch

DIRECTIONS = ("up", "down", "peer")  # client->server, server->client, client->client
SIDES = ("client", "server")


class BudgetExceeded(RuntimeError):
    """Raised by the ledger the moment a charge would push a total past its declared budget."""

    def __init__(self, what: str, used: float, budget: float):
        super().__init__(f"{what} budget exceeded: {used:.6g} > {budget:.6g}")
        self.what, self.used, self.budget = what, used, budget


@dataclass
class Counters:
    """Everything counted for one client in one round (or summed over many)."""

    bytes_up: int = 0
    bytes_down: int = 0
    bytes_peer: int = 0
    paper_bytes_up: int = 0
    paper_bytes_down: int = 0
    paper_bytes_peer: int = 0
    client_flops: int = 0
    client_fwd_macs: int = 0
    server_flops: int = 0
    server_fwd_macs: int = 0
    messages_up: int = 0
    messages_down: int = 0
    messages_peer: int = 0
    samples: int = 0  # training examples this client processed

    def add(self, other: Counters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def bytes_total(self) -> int:
        return self.bytes_up + self.bytes_down + self.bytes_peer

    @property
    def paper_bytes_total(self) -> int:
        return self.paper_bytes_up + self.paper_bytes_down + self.paper_bytes_peer

    def as_dict(self) -> dict[str, int]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["bytes_total"] = self.bytes_total
        d["paper_bytes_total"] = self.paper_bytes_total
        return d

    def resolved(self) -> Counters:
        """These counters with every count still held on a device (see the channel) read as an int."""
        return Counters(**{f.name: int(getattr(self, f.name)) for f in fields(self)})

    @classmethod
    def total(cls, items: Iterable[Counters]) -> Counters:
        out = cls()
        for item in items:
            out.add(item)
        return out


@dataclass(frozen=True)
class Budgets:
    """A run's declared limits; None means unlimited. Bandwidth in bytes as sent, compute as client
    compute in c3bench FLOPs. (The C3-Score's normalisers Bmax and Cmax are not budgets: they are the
    score's scale, ``c3bench.score.C3Scale``.) Build one with :meth:`parse` (what a user writes) or
    :meth:`from_config` (what a record holds)."""

    bandwidth_bytes: float | None = None
    client_flops: float | None = None

    @classmethod
    def parse(cls, bandwidth: str | float | None = None, compute: str | float | None = None) -> Budgets:
        """From a user's quantities: text with a unit (``"3GB"``, ``"20Mb"`` = megabits, ``"5TFLOP"``;
        :mod:`c3bench.units`), or numbers of bytes and FLOPs (None: no budget)."""
        from c3bench.units import parse_bytes, parse_flops, parse_quantity

        return cls(bandwidth_bytes=None if bandwidth is None else parse_quantity(bandwidth, parse_bytes),
                   client_flops=None if compute is None else parse_quantity(compute, parse_flops))

    @classmethod
    def from_config(cls, budgets: Mapping[str, Any] | None) -> Budgets:
        """From a run configuration's ``budgets`` (``as_dict``'s form, as records hold it)."""
        budgets = budgets or {}
        return cls(bandwidth_bytes=budgets.get("bandwidth_bytes"), client_flops=budgets.get("client_flops"))

    def declared(self) -> bool:
        return self.bandwidth_bytes is not None or self.client_flops is not None

    def as_dict(self) -> dict[str, float | None]:
        return {"bandwidth_bytes": self.bandwidth_bytes, "client_flops": self.client_flops}


@dataclass
class Ledger:
    """Totals of finished rounds plus the round being run, split by client. A round holds counters only
    for the clients charged in it, so its cost follows the clients that take part, not the federation."""

    num_clients: int
    budgets: Budgets = field(default_factory=Budgets)
    finished: Counters = field(default_factory=Counters)
    current: dict[int, Counters] = field(default_factory=dict)
    charging: bool = True
    in_round: bool = False

    @contextmanager
    def uncharged(self) -> Iterator[None]:
        """Within the block every charge is ignored (evaluation, unless the run charges inference)."""
        previous, self.charging = self.charging, False
        try:
            yield
        finally:
            self.charging = previous

    def begin_round(self) -> None:
        self.current = {}
        self.in_round = True

    def abort_round(self) -> None:
        """Drop the round being run, charged so far (a budget stop rolls it back)."""
        self.current = {}
        self.in_round = False

    def restore(self, finished: Counters) -> None:
        """Continue from the totals of the rounds a checkpoint finished."""
        self.finished = finished
        self.abort_round()

    def end_round(self) -> dict[int, Counters]:
        """Close the round, fold it into the totals and return the counters of the clients that took
        part (any counter non-zero), by client in ascending order."""
        resolved = {c: self.current[c].resolved() for c in sorted(self.current)}  # one wait for the device, at most
        per_client = {c: counters for c, counters in resolved.items() if counters != Counters()}
        self.finished.add(Counters.total(per_client.values()))
        self.abort_round()
        return per_client

    def running_total(self) -> Counters:
        out = Counters()
        out.add(self.finished)
        out.add(Counters.total(self.current.values()))
        return out.resolved()

    def _bucket(self, client: int) -> Counters:
        if not self.in_round:
            raise RuntimeError("charge outside a round: call Ledger.begin_round() first")
        if not 0 <= client < self.num_clients:
            raise IndexError(f"client {client} out of range 0..{self.num_clients - 1}")
        bucket = self.current.get(client)
        if bucket is None:
            bucket = self.current[client] = Counters()
        return bucket

    def _charge(self, client: int, amounts: dict[str, int], budget: tuple[str, str, float | None] | None) -> None:
        """Add ``amounts`` to the client's counters; then, if ``budget`` = (what, total field, limit)
        has a limit, raise BudgetExceeded when the running total crosses it."""
        bucket = self._bucket(client)
        for name, value in amounts.items():
            setattr(bucket, name, getattr(bucket, name) + value)
        if budget is not None and budget[2] is not None:
            what, field_name, limit = budget
            used = getattr(self.running_total(), field_name)
            if used > limit:
                raise BudgetExceeded(what, used, limit)

    def charge_bytes(self, client: int, direction: str, nbytes: int | torch.Tensor,
                     paper_bytes: int | torch.Tensor) -> None:
        """Charge one message; byte counts may be 0-dim device tensors, read when the round ends."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        if self.charging:
            self._charge(client, {f"bytes_{direction}": nbytes, f"paper_bytes_{direction}": paper_bytes,
                                  f"messages_{direction}": 1},
                         ("bandwidth", "bytes_total", self.budgets.bandwidth_bytes))

    def charge_flops(self, client: int, side: str, flops: int, fwd_macs: int) -> None:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}")
        if self.charging:
            self._charge(client, {f"{side}_flops": flops, f"{side}_fwd_macs": fwd_macs},
                         ("client compute", "client_flops", self.budgets.client_flops) if side == "client" else None)

    def charge_samples(self, client: int, n: int) -> None:
        if self.charging:
            self._bucket(client).samples += n

    def merge_compute(self, client: int, counters: Counters) -> None:
        """Charge the FLOPs and samples another process counted for ``client`` (bytes never come
        this way: payloads are counted by this process's channel)."""
        for side in SIDES:
            self.charge_flops(client, side, getattr(counters, f"{side}_flops"), getattr(counters, f"{side}_fwd_macs"))
        self.charge_samples(client, counters.samples)
