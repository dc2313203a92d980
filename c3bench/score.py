"""The C3-Score (AdaSplit paper, eq. 9) and the score table, computed from result records alone.

    C3 = A/100 * exp(-(B/Bmax + C/Cmax) / T)

A: mean accuracy (%), B: bandwidth, C: client compute, Bmax/Cmax: the budgets, T: temperature.
The paper does not state T; T = 8 reproduces its Tables 1 and 2 C3 columns from their other
columns within 0.01 on 15 of 16 rows (worst: 0.015), see tests/test_score.py.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_TEMPERATURE = 8.0
CONVENTIONS = ("c3bench", "paper")


def c3_score(accuracy: float, bandwidth: float, compute: float, bmax: float, cmax: float,
             temperature: float = DEFAULT_TEMPERATURE) -> float:
    """C3-Score of one method: accuracy in %, bandwidth and compute in the same units as the budgets."""
    if bmax <= 0 or cmax <= 0:
        raise ValueError("budgets Bmax and Cmax must be positive")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    if bandwidth < 0 or compute < 0:
        raise ValueError("bandwidth and compute cannot be negative")
    return accuracy / 100.0 * math.exp(-(bandwidth / bmax + compute / cmax) / temperature)


@dataclass
class ScoreRow:
    """One configuration, aggregated over the seeds it was run with."""

    method: str
    params: str
    protocol: str
    seeds: int
    accuracy_mean: float
    accuracy_std: float
    bandwidth_gb: float
    client_tflops: float
    total_tflops: float
    sim_time_s: float | None
    c3: float | None
    status: str
    config_hash: str
    files: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def key_params(record: dict[str, Any]) -> str:
    """The method's key hyperparameters plus any that differ from its defaults, as ``k=v`` text."""
    from c3bench import registry  # local import: scoring otherwise needs no method code

    params = record["config"].get("method_params", {})
    try:
        declared = registry.get_method(record["config"]["method"]).hparams
    except Exception:  # an unknown (third-party) method: show everything
        declared = ()
    defaults = {p.name: p.default for p in declared}
    keys = {p.name for p in declared if p.key}
    shown = {k: v for k, v in params.items() if k in keys or k not in defaults or defaults[k] != v}
    return ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(shown.items()))


def _measures(record: dict[str, Any], convention: str) -> tuple[float, float, float, float]:
    t = record["totals"]
    if convention == "paper":
        return (t["accuracy"], t["paper_bytes_total"] / 1e9, t["client_fwd_macs"] / 1e12,
                (t["client_fwd_macs"] + t["server_fwd_macs"]) / 1e12)
    return t["accuracy"], t["bytes_total"] / 1e9, t["client_flops"] / 1e12, t["total_flops"] / 1e12


def score_table(
    records: Sequence[tuple[str, dict[str, Any]]],
    bmax: float | None = None,
    cmax: float | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    convention: str = "c3bench",
) -> tuple[list[ScoreRow], dict[str, float]]:
    """Group records that differ only in seed, average them, and score each group.

    ``records`` are (source name, record) pairs. Bmax and Cmax default to the largest bandwidth
    and client compute among the groups, as in the paper. Returns the rows (best C3 first) and
    the budgets used.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}")
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for source, record in records:
        if record["totals"].get("accuracy") is None:
            continue
        groups.setdefault(record["config_hash"], []).append((source, record))
    rows = []
    for chash, members in groups.items():
        measures = [_measures(r, convention) for _, r in members]
        accs = [m[0] for m in measures]
        first = members[0][1]
        sims = [r["totals"].get("sim_time_s") for _, r in members]
        rows.append(ScoreRow(
            method=first["config"]["method"],
            params=key_params(first),
            protocol=first["config"]["protocol"],
            seeds=len({r["config"]["seed"] for _, r in members}),
            accuracy_mean=statistics.fmean(accs),
            accuracy_std=statistics.stdev(accs) if len(accs) > 1 else 0.0,
            bandwidth_gb=statistics.fmean(m[1] for m in measures),
            client_tflops=statistics.fmean(m[2] for m in measures),
            total_tflops=statistics.fmean(m[3] for m in measures),
            sim_time_s=statistics.fmean(sims) if all(s is not None for s in sims) else None,
            c3=None,
            status=",".join(sorted({r["status"] for _, r in members})),
            config_hash=chash,
            files=[s for s, _ in members],
        ))
    budgets = {
        "bmax_gb": bmax if bmax is not None else max((r.bandwidth_gb for r in rows), default=0.0),
        "cmax_tflops": cmax if cmax is not None else max((r.client_tflops for r in rows), default=0.0),
        "temperature": temperature,
    }
    for row in rows:
        if budgets["bmax_gb"] > 0 and budgets["cmax_tflops"] > 0:
            row.c3 = c3_score(row.accuracy_mean, row.bandwidth_gb, row.client_tflops,
                              budgets["bmax_gb"], budgets["cmax_tflops"], temperature)
    rows.sort(key=lambda r: (-(r.c3 if r.c3 is not None else -1), r.method))
    return rows, budgets


def protocols_of(records: Iterable[tuple[str, dict[str, Any]]]) -> set[str]:
    return {r["config"]["protocol"] for _, r in records}
