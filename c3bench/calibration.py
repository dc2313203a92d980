"""How fast this machine trains, kept in the user cache so that a plan can be estimated without training
(``c3bench reproduce --dry-run``).

A rate is the FLOPs a run counts (client + server, forward + backward, c3bench's convention) per
second of its wall time, for one method and backbone on one machine: CPU model, torch version, device
and torch threads, and the run's numeric execution mode (``--flush-denormal`` makes a long sequential
split run several times faster on CPU, so a rate measured in one mode does not estimate the other). It is measured on real work only: every run that completes a round records its
rate here (the longest run measured so far is kept, as the most representative), and
``c3bench reproduce NAME --calibrate`` measures a few seconds of each of a suite's methods explicitly.
The file is ``<user cache dir>/calibration.json`` (``$XDG_CACHE_HOME/c3bench`` on Linux).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FILE = "calibration.json"


@dataclass(frozen=True)
class Rate:
    """Counted FLOPs per wall second, and what it was measured on."""

    flops_per_s: float
    seconds: float  # wall seconds measured
    source: str  # the run (or "calibrate") it comes from
    measured: str  # UTC date and time
    threads: int


def path() -> Path:
    from c3bench.data.root import user_cache_dir

    return user_cache_dir() / FILE


def machine_key(cpu: str, torch_version: str, device: str) -> str:
    return f"{cpu} | torch {torch_version} | {device}"


def this_machine(device: str = "cpu") -> str:
    import torch

    from c3bench.environment import environment

    return machine_key(str(environment()["cpu"]), torch.__version__, device.split(":")[0])


def _load() -> dict[str, Any]:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _method_key(method: str, modes: Sequence[str] = ()) -> str:
    """The method and the run's numeric modes (its ``c3bench run`` flags), e.g. 'sl-basic --flush-denormal'."""
    return " ".join([method, *sorted(modes)])


def _entry_key(method: str, backbone: str, threads: int, modes: Sequence[str] = ()) -> str:
    return f"{_method_key(method, modes)}/{backbone}/{threads}"


def store(machine: str, method: str, backbone: str, threads: int, flops: float, seconds: float, source: str,
          replace: bool = False, modes: Sequence[str] = ()) -> Rate | None:
    """Keep a measurement unless a longer one is already there (``replace``: keep this one anyway)."""
    from c3bench.results import write_atomic

    if flops <= 0 or seconds <= 0:
        return None
    data = _load()
    entries = data.setdefault(machine, {})
    key = _entry_key(method, backbone, threads, modes)
    old = entries.get(key)
    if old is not None and not replace and float(old.get("seconds", 0)) >= seconds:
        return None
    rate = Rate(flops / seconds, seconds, source, datetime.now(timezone.utc).isoformat(timespec="seconds"), threads)
    entries[key] = asdict(rate)
    write_atomic(path(), json.dumps(data, indent=1, sort_keys=True) + "\n")
    return rate


def record_run(record: dict[str, Any]) -> Rate | None:
    """Learn from a run's record: its counted FLOPs over its rounds' wall time, in its numeric mode."""
    from c3bench.results import execution_flags

    rounds = record.get("rounds") or []
    if not rounds:
        return None
    env, cfg = record.get("environment", {}), record["config"]
    cum = rounds[-1]["cumulative"]
    machine = machine_key(str(env.get("cpu")), str(env.get("torch")),
                          str(record.get("execution", {}).get("device", "cpu")).split(":")[0])
    seconds = sum(float(r.get("wall_s") or 0.0) for r in rounds)
    return store(machine, cfg["method"], cfg["backbone"], int(env.get("torch_threads") or 1),
                 float(cum["client_flops"] + cum["server_flops"]), seconds, f"run {record.get('name')}",
                 modes=execution_flags(record.get("execution", {})))


def lookup(machine: str, method: str, backbone: str, threads: int, modes: Sequence[str] = ()) -> Rate | None:
    """The rate for a method and backbone in this numeric mode at this thread count; else the nearest
    thread count; else the same backbone and mode with another method (the mean); None when nothing was
    measured on this machine."""
    entries = _load().get(machine, {})
    rates = {}
    for key, value in entries.items():
        try:
            m, b, t = key.rsplit("/", 2)
            rates[(m, b, int(t))] = Rate(**value)
        except (TypeError, ValueError):
            continue
    wanted = _method_key(method, modes)
    same = [(t, r) for (m, b, t), r in rates.items() if m == wanted and b == backbone]
    if same:
        return min(same, key=lambda tr: (abs(tr[0] - threads), -tr[0]))[1]
    mode = sorted(modes)
    others = [r for (m, b, _), r in rates.items() if b == backbone and sorted(m.split(" ")[1:]) == mode]
    if others:
        mean = sum(r.flops_per_s for r in others) / len(others)
        return Rate(mean, sum(r.seconds for r in others), "other methods on this backbone",
                    max(r.measured for r in others), others[0].threads)
    return None
