"""Re-execution of leaderboard entries: a record's claims are checked by running it again.

An entry's configuration holds every setting (method and protocol parameters, rounds, seed, budgets,
backbone, fleet); its execution says how clients were scheduled. ``verify_entry`` re-runs it with the
same settings and compares the per-round logs. How strictly is never the record's choice:

* the configuration, the data digest, the status and the round count must be the same;
* where every number is identical, the verdict is **bit-identical**;
* otherwise the re-run ran on another platform, and the log must agree as far as re-runs on two
  platforms were measured to agree (:mod:`c3bench.platform_drift`: exact counts and dense bytes
  equal, accuracies whole numbers of test samples, round 1 close for the methods whose round 1
  agrees, value-dependent bytes within 5%); the verdict says **within tolerance** and how far;
* a record that claims this very platform (torch version, CPU model, threads) is held to
  bit-identical: a claim can only make the check stricter, never looser.

A record whose numbers were edited consistently (log, totals and digest) passes every static check
but not this one where the edit touches an exact count, dense bytes, or round 1 of a method whose
round 1 agrees across platforms (+1.5 points everywhere with bytes -1.5% fails). An edit confined to
accuracies that drift between platforms (later rounds; round 1 of SL-basic and SplitFed) cannot be
told from drift: only a bit-identical re-run on the entry's own platform reveals it.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c3bench.platform_drift import (  # noqa: F401 - the comparison's names, read from here by callers
    ADDED_ROUND_FIELDS,
    BYTE_COUNTERS,
    EXACT_COUNTERS,
    TOLERANCE,
    Tolerance,
    bit_identical,
    differences,
    mark,
)
from c3bench.results import (
    comparable_round,
    digest_repeats_shared,
    execution_flags,
    num_clients,
    strip_volatile,
)


@dataclass
class Verdict:
    """The outcome of re-running one entry. ``mode``: "bit-identical" or "within tolerance (...)" when it
    passed, else what it was held to ("bit-identical" for a record claiming this platform)."""

    file: str
    ok: bool
    mode: str
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


def compare(claimed: dict[str, Any], rerun: dict[str, Any], identical: bool,
            tolerance: Tolerance = TOLERANCE) -> list[str]:
    """Differences between a record's per-round log and a re-run's (empty: the claim holds). With
    ``identical`` every number must be equal; otherwise see the module doc."""
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
    claimed, rerun = {**claimed, "rounds": a}, {**rerun, "rounds": b}
    if bit_identical(claimed, rerun):
        return []
    if identical:
        diffs = []
        for i, (x, y) in enumerate(zip(strip_volatile(a), strip_volatile(b), strict=True)):
            for key in sorted(set(x) | set(y)):
                if key in ADDED_ROUND_FIELDS and key not in x:
                    continue
                if x.get(key) != y.get(key):
                    diffs.append(f"round {i + 1}: {key} is {_short(x.get(key))}, the re-run gives {_short(y.get(key))}")
        return diffs
    return differences(claimed, rerun, tolerance)


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
        held_to = "bit-identical (the record claims this platform)" if identical else f"tolerance: {TOLERANCE.text()}"
        return Verdict(str(path), not diffs, held_to if diffs else mark(claimed, rerun), diffs,
                       time.perf_counter() - began, len(claimed["rounds"]), len(record["rounds"]))
    finally:
        torch.set_num_threads(before)


def sample_entries(items: Sequence[tuple[Path, dict[str, Any]]], sample: int | None, seed: int) -> list[tuple[Path, dict]]:
    """All entries, or ``sample`` of them drawn with ``seed`` (in file order)."""
    if sample is None or sample >= len(items):
        return list(items)
    chosen = sorted(random.Random(seed).sample(range(len(items)), sample))
    return [items[i] for i in chosen]
