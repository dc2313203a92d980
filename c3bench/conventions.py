"""The two ways c3bench counts cost, in one table: every part that reports bandwidth or compute
(score, leaderboards, plots, reproduction reports) reads it from here.

* ``c3bench`` (the headline): bytes as sent with the declared encoding, labels and handovers
  included; client compute as forward + backward FLOPs (2 per multiply-add).
* ``paper`` (the AdaSplit authors' tables): non-zero elements x 4 bytes, no index cost, labels and
  SL-basic's handover not counted; compute as forward multiply-accumulates (their "TFLOPS").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Convention:
    name: str
    bytes_key: str  # the totals field holding the bandwidth in bytes
    client_key: str  # ... the client compute
    server_key: str  # ... the server compute
    compute_unit: str  # what one unit of compute is
    text: str  # one sentence for tables and boards
    short: str  # a figure note

    def measures(self, totals: dict[str, Any]) -> tuple[float, float, float]:
        """(bandwidth GB, client tera-units, total tera-units) of a record's totals."""
        client = totals[self.client_key]
        return totals[self.bytes_key] / 1e9, client / 1e12, (client + totals[self.server_key]) / 1e12


CONVENTIONS: dict[str, Convention] = {
    "c3bench": Convention(
        "c3bench", "bytes_total", "client_flops", "server_flops", "FLOPs (forward + backward)",
        "c3bench convention: bytes as sent (encoding and indices included), client compute as forward+backward FLOPs",
        "bytes as sent; forward+backward FLOPs"),
    "paper": Convention(
        "paper", "paper_bytes_total", "client_fwd_macs", "server_fwd_macs", "forward multiply-accumulates",
        "AdaSplit authors' convention: bytes = non-zero elements x 4, client compute as forward multiply-accumulates "
        "(their 'TFLOPS')",
        "AdaSplit authors' convention: non-zeros×4 bytes; forward MACs"),
}


def get(name: str) -> Convention:
    from c3bench.hparams import ConfigError, did_you_mean

    if name not in CONVENTIONS:
        raise ConfigError(f"unknown convention '{name}'.{did_you_mean(name, CONVENTIONS)} Choose "
                          f"{' or '.join(CONVENTIONS)}.")
    return CONVENTIONS[name]
