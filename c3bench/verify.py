"""Re-execution of leaderboard entries: a record's claims are checked by running it again.

An entry's configuration holds every setting (method and protocol parameters, rounds, seed, budgets,
backbone, fleet); its environment says where and with how many torch threads it ran, and its
execution how clients were scheduled. ``verify_entry`` re-runs it with the same settings and
compares the per-round logs:

* same platform (torch version, CPU model) and thread settings: every number must be identical
  (c3bench runs are bit-reproducible there);
* otherwise: FLOPs, samples and message counts must be identical (they depend on shapes only), bytes
  within ``bytes_rtol`` (sparse payloads and the paper's non-zero count depend on float values) and
  accuracies within ``accuracy_atol`` points.

A record whose numbers were edited consistently (log, totals and digest) passes every static check
but not this one.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c3bench.results import (
    comparable_round,
    digest_repeats_shared,
    execution_flags,
    num_clients,
    strip_volatile,
)

EXACT_COUNTERS = ("client_flops", "server_flops", "client_fwd_macs", "server_fwd_macs", "samples",
                  "messages_up", "messages_down", "messages_peer")
BYTE_COUNTERS = ("bytes_up", "bytes_down", "bytes_peer", "bytes_total", "paper_bytes_up", "paper_bytes_down",
                 "paper_bytes_peer", "paper_bytes_total")
# Per-round fields a later c3bench added to what it evaluates (never to what it trains): an entry made
# before them is compared on the rest, and a re-run that has them is not a difference.
ADDED_ROUND_FIELDS = ("local_accuracy",)


@dataclass
class Verdict:
    """The outcome of re-running one entry."""

    file: str
    ok: bool
    mode: str  # "identical" (same platform and threads) or "tolerance"
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rounds: int = 0  # rounds compared
    of_rounds: int = 0  # rounds the entry claims


def same_platform(record: dict[str, Any], here: dict[str, Any]) -> bool:
    """Whether a re-run here should reproduce ``record`` bit for bit."""
    env = record.get("environment", {})
    keys = ("torch", "cpu", "torch_threads")
    return all(env.get(k) == here.get(k) for k in keys)


def spec_of(record: dict[str, Any], data_root: str | None = None):
    """The RunSpec that repeats a record: every setting from its configuration."""
    from c3bench.accounting.ledger import Budgets
    from c3bench.runspec import RunSpec

    cfg = record["config"]
    budgets = Budgets.from_config(cfg["budgets"])
    execution = record.get("execution", {})
    return RunSpec(method=cfg["method"], protocol=cfg["protocol"], method_params=dict(cfg["method_params"]),
                   protocol_params=dict(cfg["protocol_params"]), rounds=cfg["rounds"],
                   seed=cfg["seed"], budgets=budgets, backbone=cfg["backbone"], data_root=data_root,
                   devices=cfg.get("devices"), charge_inference=bool(cfg.get("charge_inference")),
                   client_workers=int(execution.get("client_workers", 1)),
                   stack_clients=bool(execution.get("client_stacking")),
                   flush_denormal=bool(execution.get("flush_denormal")))


def compare(claimed: dict[str, Any], rerun: dict[str, Any], identical: bool, bytes_rtol: float = 0.02,
            accuracy_atol: float = 2.0) -> list[str]:
    """Differences between a record's per-round log and a re-run's (empty: the claim holds)."""
    if claimed["config"] != rerun["config"]:
        return ["the configuration resolves differently now (method or protocol declarations changed)"]
    if claimed["data"]["digest"] != rerun["data"]["digest"]:
        return ["the data digest differs: the run did not see this data"]
    modes = [execution_flags(r.get("execution", {})) for r in (claimed, rerun)]
    if modes[0] != modes[1]:
        return [f"the entry ran with {' '.join(modes[0]) or 'no numeric execution mode'}, the re-run with "
                f"{' '.join(modes[1]) or 'none'}"]
    a, b = claimed["rounds"], rerun["rounds"]
    if len(a) != len(b) or claimed["status"] != rerun["status"]:
        return [f"{len(a)} rounds ({claimed['status']}) claimed, the re-run gives {len(b)} ({rerun['status']})"]
    # entries of either schema, in one form: every client's accuracy, the counters of those that took part
    a = [comparable_round(x, num_clients(claimed)) for x in a]
    b = [comparable_round(y, num_clients(rerun)) for y in b]
    if identical:
        diffs = []
        for i, (x, y) in enumerate(zip(strip_volatile(a), strip_volatile(b), strict=True)):
            for key in sorted(set(x) | set(y)):
                if key in ADDED_ROUND_FIELDS and key not in x:
                    continue
                if x.get(key) != y.get(key):
                    diffs.append(f"round {i + 1}: {key} is {_short(x.get(key))}, the re-run gives {_short(y.get(key))}")
        return diffs
    diffs = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for key in EXACT_COUNTERS:
            if x["cumulative"][key] != y["cumulative"][key]:
                diffs.append(f"round {i + 1}: {key} is {x['cumulative'][key]}, the re-run gives {y['cumulative'][key]}")
        for key in BYTE_COUNTERS:
            u, v = x["cumulative"][key], y["cumulative"][key]
            if abs(u - v) > bytes_rtol * max(abs(v), 1):
                diffs.append(f"round {i + 1}: {key} is {u}, the re-run gives {v} (beyond {bytes_rtol:.0%})")
        for k, (u, v) in enumerate(zip(x["accuracy"]["per_client"], y["accuracy"]["per_client"], strict=True)):
            if abs(u - v) > accuracy_atol:
                diffs.append(f"round {i + 1}: client {k} accuracy {u:.2f}, the re-run gives {v:.2f} "
                             f"(beyond {accuracy_atol:g} points)")
        if "local_accuracy" in x:
            diffs += _local_differences(i, x["local_accuracy"], y.get("local_accuracy"), accuracy_atol)
    return diffs


def _local_differences(i: int, claimed: dict[str, Any], rerun: dict[str, Any] | None, atol: float) -> list[str]:
    if rerun is None or claimed.get("clients") != rerun.get("clients"):
        return [f"round {i + 1}: local accuracy of clients {claimed.get('clients')}, the re-run scores "
                f"{None if rerun is None else rerun.get('clients')}"]
    return [f"round {i + 1}: client {c} local accuracy {u:.2f}, the re-run gives {v:.2f} (beyond {atol:g} points)"
            for c, u, v in zip(claimed["clients"], claimed["per_client"], rerun["per_client"], strict=True)
            if abs(u - v) > atol]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def verify_entry(path: Path, record: dict[str, Any], data_root: str | None = None,
                 rounds: int | None = None) -> Verdict:
    """Re-run one entry here and compare (see the module doc). With ``rounds``, only its first ``rounds``
    rounds are re-run (every setting still the entry's) and compared: a check of that prefix alone."""
    import time

    import torch

    from c3bench.environment import environment
    from c3bench.runner import Runner, resolve

    threads = record.get("environment", {}).get("torch_threads")
    before = torch.get_num_threads()
    if isinstance(threads, int) and threads > 0:
        torch.set_num_threads(threads)
    try:
        identical = same_platform(record, environment())
        began = time.perf_counter()
        prefix = rounds is not None and rounds < len(record["rounds"])
        run = resolve(spec_of(record, data_root))
        federation = run.protocol_cls().build(run.protocol_params, run.spec.seed, Path(data_root) if data_root else None)
        with tempfile.TemporaryDirectory() as tmp:
            rerun = Runner(run, tmp, federation=federation, stop_after=rounds if prefix else None).execute()
        if digest_repeats_shared(record):  # the entry's digest hashes shared tensors per client (schema /1)
            rerun = {**rerun, "data": {**rerun["data"], "digest": federation.digest(repeat_shared=True)}}
        claimed = {**record, "rounds": record["rounds"][:rounds], "status": rerun["status"]} if prefix else record
        diffs = compare(claimed, rerun, identical)
        return Verdict(str(path), not diffs, "identical" if identical else "tolerance", diffs,
                       time.perf_counter() - began, len(claimed["rounds"]), len(record["rounds"]))
    finally:
        torch.set_num_threads(before)


def sample_entries(items: Sequence[tuple[Path, dict[str, Any]]], sample: int | None, seed: int) -> list[tuple[Path, dict]]:
    """All entries, or ``sample`` of them drawn with ``seed`` (in file order)."""
    if sample is None or sample >= len(items):
        return list(items)
    chosen = sorted(random.Random(seed).sample(range(len(items)), sample))
    return [items[i] for i in chosen]
