"""A result record's per-round log: what it must hold, the checks that it does, and the totals it
implies. Pure functions of a record (no file, no torch), below both the record's reader
(:mod:`c3bench.results`) and the board's checks (:mod:`c3bench.entry_checks`).

* :func:`check_shape`: every field a reader uses exists, with the right type.
* :func:`check_values`: numbers a run can produce: finite, accuracies in [0, 100], counters
  non-negative integers that never decrease from one round to the next, times per round in
  [0, :data:`MAX_ROUND_SECONDS`] (so that no sum a board computes overflows).
* :func:`check_log`: the log adds up (cumulative = previous + this round's per-client counters; mean
  accuracy = mean of the per-client ones) and the totals are what it implies.

Each returns a list of :class:`Problem` and never raises on a malformed record.

A round entry's size follows the work done (schema ``c3bench.result/2``; records of ``/1`` are the
case where every client is listed):

* ``per_client`` holds the counters of the clients that took part (any counter non-zero), in client
  order; ``clients`` names them, and is left out when every client of the federation took part.
* ``accuracy`` holds ``per_client``, one accuracy per client, or, when one evaluation served every
  client (a global test set and one deployed model), ``all_clients``: that one value.

The number of clients is the length of the record's ``data.clients``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Fields that legitimately differ between two runs of the same config on the same machine.
# (Simulated time is not one of them: it is computed from the counters and must reproduce.)
VOLATILE = ("created", "updated", "wall_s")
# The longest a round may take, wall-clock or simulated (about 31,700 years): any longer is no run's, and
# it keeps every sum and mean a board takes over rounds and seeds far inside float range.
MAX_ROUND_SECONDS = 1e12

TOTAL_COUNTERS = ("bytes_up", "bytes_down", "bytes_peer", "bytes_total", "paper_bytes_up", "paper_bytes_down",
                  "paper_bytes_peer", "paper_bytes_total", "client_flops", "server_flops", "client_fwd_macs",
                  "server_fwd_macs", "messages_up", "messages_down", "messages_peer", "samples")


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located by file and field."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def strip_volatile(obj: Any) -> Any:
    """The record without timestamps and wall times, for reproducibility comparisons."""
    if isinstance(obj, dict):
        return {k: strip_volatile(v) for k, v in obj.items() if k not in VOLATILE and k != "digest"}
    if isinstance(obj, list):
        return [strip_volatile(v) for v in obj]
    return obj


def num_clients(record: dict[str, Any]) -> int:
    """How many clients the record's federation has (its ``data.clients`` summary, one per client)."""
    return len(record["data"]["clients"])


def took_part(counters: dict[str, Any]) -> bool:
    """Whether a client's counters of a round show any work (the clients a round entry lists)."""
    return any(counters.get(k) for k in TOTAL_COUNTERS)


def counters_entry(per_client: dict[int, dict[str, Any]], n: int) -> dict[str, Any]:
    """The ``clients`` / ``per_client`` fields of a round entry from the counters of the clients that
    took part (client -> counters, in client order) in a federation of ``n``."""
    if len(per_client) == n:
        return {"per_client": list(per_client.values())}
    return {"clients": list(per_client), "per_client": list(per_client.values())}


def accuracy_entry(per_client: list[float], evaluations: int) -> dict[str, Any]:
    """A round's ``accuracy``: the mean over clients and either every client's accuracy or, when one
    evaluation served every client, that one value."""
    mean = sum(per_client) / len(per_client)
    if evaluations == 1 and len(per_client) > 1:
        return {"mean": mean, "all_clients": per_client[0]}
    return {"mean": mean, "per_client": per_client}


def client_accuracies(accuracy: dict[str, Any], n: int) -> list[float]:
    """Every client's accuracy from a round's ``accuracy`` (either form)."""
    return [accuracy["all_clients"]] * n if "all_clients" in accuracy else list(accuracy["per_client"])


def round_clients(entry: dict[str, Any], n: int) -> list[int]:
    """The clients a round entry's ``per_client`` counters belong to, in order."""
    return list(entry["clients"]) if "clients" in entry else list(range(n))


def comparable_round(entry: dict[str, Any], n: int) -> dict[str, Any]:
    """One form for round entries of either schema: every client's accuracy, and the counters of the
    clients that took part, named (a ``/1`` entry lists every client, zeros included)."""
    pairs = [(c, k) for c, k in zip(round_clients(entry, n), entry["per_client"], strict=True) if took_part(k)]
    out = {key: value for key, value in entry.items() if key not in ("clients", "per_client", "accuracy")}
    out["accuracy"] = {"mean": entry["accuracy"]["mean"], "per_client": client_accuracies(entry["accuracy"], n)}
    out["clients"] = [c for c, _ in pairs]
    out["per_client"] = [k for _, k in pairs]
    return out


def best_round(means: list[float | None], prefix: str) -> dict[str, Any]:
    """``<prefix>_best`` (the highest per-round mean; the earliest round on a tie) and
    ``<prefix>_best_round`` (1-based), over the rounds that have a value; None when none has."""
    scored = [(m, i) for i, m in enumerate(means) if m is not None]
    if not scored:
        return {f"{prefix}_best": None, f"{prefix}_best_round": None}
    value, index = max(scored, key=lambda pair: (pair[0], -pair[1]))
    return {f"{prefix}_best": value, f"{prefix}_best_round": index + 1}


def local_totals(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The local-after-training accuracy at the last round and at its best round (None for a method
    that scores no local model, and for records made before c3bench scored them)."""
    means = [r["local_accuracy"]["mean"] if r.get("local_accuracy") else None for r in rounds]
    return {"local_accuracy": means[-1] if means else None, **best_round(means, "local_accuracy")}


def totals_from_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals are a pure function of the per-round log (so a leaderboard can recompute them)."""
    if not rounds:
        return {"rounds_completed": 0, "accuracy": None, "accuracy_per_client": [], "wall_s": 0.0,
                **best_round([], "accuracy"), **local_totals([]),
                "bytes_total": 0, "paper_bytes_total": 0, "client_flops": 0, "server_flops": 0,
                "total_flops": 0, "client_fwd_macs": 0, "server_fwd_macs": 0, "total_fwd_macs": 0,
                "sim_time_s": 0.0}
    last = rounds[-1]
    cum = dict(last["cumulative"])
    return {
        "rounds_completed": len(rounds),
        "accuracy": last["accuracy"]["mean"],
        **({"accuracy_all_clients": last["accuracy"]["all_clients"]} if "all_clients" in last["accuracy"]
           else {"accuracy_per_client": last["accuracy"]["per_client"]}),
        **best_round([r["accuracy"]["mean"] for r in rounds], "accuracy"),
        **local_totals(rounds),
        "wall_s": sum(r["wall_s"] for r in rounds),
        "sim_time_s": sum(r["sim_time_s"] for r in rounds) if all("sim_time_s" in r for r in rounds) else None,
        **cum,
        "total_flops": cum["client_flops"] + cum["server_flops"],
        "total_fwd_macs": cum["client_fwd_macs"] + cum["server_fwd_macs"],
    }


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# ------------------------------------------------------------------------------------------ shape
_CONFIG_TYPES: dict[str, Callable[[Any], bool]] = {
    "method": lambda v: isinstance(v, str), "method_params": lambda v: isinstance(v, dict),
    "protocol": lambda v: isinstance(v, str), "protocol_version": lambda v: isinstance(v, str),
    "protocol_params": lambda v: isinstance(v, dict), "protocol_hash": lambda v: isinstance(v, str),
    "backbone": lambda v: isinstance(v, str), "rounds": lambda v: _is_int(v) and v >= 1,
    "seed": lambda v: _is_int(v) and v >= 0, "budgets": lambda v: isinstance(v, dict),
}


def check_shape(record: dict[str, Any], source: str) -> list[Problem]:
    """Every field a board reads exists with the right type (a record that passes can be read safely)."""
    problems: list[Problem] = []

    def bad(field: str, message: str) -> None:
        problems.append(Problem(source, field, message))

    cfg = record.get("config")
    if not isinstance(cfg, dict):
        return [Problem(source, "config", "missing or not an object")]
    for key, ok in _CONFIG_TYPES.items():
        if key not in cfg:
            bad(f"config.{key}", "missing")
        elif not ok(cfg[key]):
            bad(f"config.{key}", f"has the wrong type or value ({cfg[key]!r})")
    budgets = cfg.get("budgets") if isinstance(cfg.get("budgets"), dict) else {}
    for key in ("bandwidth_bytes", "client_flops"):
        if budgets.get(key) is not None and not is_number(budgets.get(key)):
            bad(f"config.budgets.{key}", f"must be a number or null, got {budgets.get(key)!r}")
    if not isinstance(record.get("environment"), dict):
        bad("environment", "missing or not an object")
    declared = record.get("hparams", {})  # older records do not declare their hyperparameters
    if (not isinstance(declared, dict) or not isinstance(declared.get("defaults", {}), dict)
            or not isinstance(declared.get("key", []), list)):
        bad("hparams", "must be an object with a defaults object and a key list")
    if not isinstance(record.get("data"), dict) or not isinstance(record["data"].get("digest"), str):
        bad("data.digest", "missing")
    elif not isinstance(record["data"].get("clients"), list) or not record["data"]["clients"]:
        bad("data.clients", "must list the federation's clients (one summary each)")
    rounds = record.get("rounds")
    if not isinstance(rounds, list):
        return [*problems, Problem(source, "rounds", "must be a list")]
    for i, entry in enumerate(rounds):
        where = f"rounds[{i}]"
        if not isinstance(entry, dict):
            bad(where, "must be an object")
            continue
        if not _is_int(entry.get("round")):
            bad(f"{where}.round", "missing or not an integer")
        acc = entry.get("accuracy")
        if not isinstance(acc, dict) or not is_number(acc.get("mean")) or ("per_client" in acc) == ("all_clients" in acc) \
                or ("all_clients" in acc and not is_number(acc["all_clients"])) \
                or ("per_client" in acc and (not isinstance(acc["per_client"], list)
                                             or not all(is_number(a) for a in acc["per_client"]))):
            bad(f"{where}.accuracy", "must hold a numeric mean and either a list of numeric per-client accuracies "
                                     "or one numeric accuracy of all clients")
        local = entry.get("local_accuracy")
        if local is not None and (not isinstance(local, dict) or not is_number(local.get("mean"))
                                  or not isinstance(local.get("per_client"), list)
                                  or not all(is_number(a) for a in local["per_client"])
                                  or not isinstance(local.get("clients"), list)
                                  or not all(_is_int(c) for c in local["clients"])):
            bad(f"{where}.local_accuracy", "must hold the scored clients, their numeric accuracies and a numeric mean")
        for key in ("cumulative",):
            block = entry.get(key)
            if not isinstance(block, dict) or not all(isinstance(block.get(k), int | float) for k in TOTAL_COUNTERS):
                bad(f"{where}.{key}", f"must hold every counter ({', '.join(TOTAL_COUNTERS)}) as a number")
        if "clients" in entry and (not isinstance(entry["clients"], list) or not all(_is_int(c) for c in entry["clients"])):
            bad(f"{where}.clients", "must be a list of client indices")
        clients = entry.get("per_client")
        if not isinstance(clients, list) or not all(isinstance(c, dict) for c in clients):
            bad(f"{where}.per_client", "must be a list of objects")
        elif any(not all(isinstance(c.get(k), int | float) for k in TOTAL_COUNTERS) for c in clients):
            bad(f"{where}.per_client", "every client must hold every counter as a number")
        if not is_number(entry.get("wall_s")):
            bad(f"{where}.wall_s", "missing or not a number")
        if entry.get("sim_time_s") is not None and not is_number(entry.get("sim_time_s")):
            bad(f"{where}.sim_time_s", "must be a number or null")
    if not isinstance(record.get("totals"), dict):
        bad("totals", "must be an object")
    return problems


# ------------------------------------------------------------------------------------------ values
def _non_finite(obj: Any, path: str) -> Iterable[str]:
    if isinstance(obj, float) and not math.isfinite(obj):
        yield path
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _non_finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _non_finite(v, f"{path}[{i}]")


def check_values(record: dict[str, Any], source: str) -> list[Problem]:
    """Numbers no run can produce (call after :func:`check_shape` passed)."""
    problems = [Problem(source, where, "is NaN or infinite") for where in _non_finite(record, "")]
    previous: dict[str, Any] = {}
    clients = num_clients(record)
    for i, entry in enumerate(record["rounds"]):
        where = f"rounds[{i}]"
        for label, block in (("accuracy", entry["accuracy"]), ("local_accuracy", entry.get("local_accuracy"))):
            values = (block["mean"], *block.get("per_client", ()),
                      *([block["all_clients"]] if "all_clients" in block else [])) if block else ()
            for value in values:
                if not 0.0 <= value <= 100.0:
                    problems.append(Problem(source, f"{where}.{label}", f"{value!r} is outside [0, 100]"))
                    break
        for label, listed in (("local_accuracy.clients", (entry.get("local_accuracy") or {}).get("clients")),
                              ("clients", entry.get("clients"))):
            if listed is not None and (listed != sorted(set(listed)) or any(not 0 <= c < clients for c in listed)):
                problems.append(Problem(source, f"{where}.{label}",
                                        f"must be distinct client indices in [0, {clients}), in order"))
        for label, counters in (("cumulative", [entry["cumulative"]]), ("per_client", entry["per_client"])):
            for c in counters:
                wrong = sorted(k for k in TOTAL_COUNTERS if not _is_int(c[k]) or c[k] < 0)
                if wrong:
                    problems.append(Problem(source, f"{where}.{label}", f"{', '.join(wrong)} must be non-negative "
                                                                      "integers (bytes, FLOPs and counts are whole)"))
                    break
        decreasing = sorted(k for k in TOTAL_COUNTERS if k in previous and entry["cumulative"][k] < previous[k])
        if decreasing:
            problems.append(Problem(source, f"{where}.cumulative", f"{', '.join(decreasing)} decrease from the round "
                                                                  "before"))
        previous = entry["cumulative"]
        for key in ("wall_s", "sim_time_s"):
            value = entry.get(key)
            if is_number(value) and not 0 <= value <= MAX_ROUND_SECONDS:
                problems.append(Problem(source, f"{where}.{key}", f"{value!r} seconds is outside [0, "
                                                                  f"{MAX_ROUND_SECONDS:g}]"))
    return problems


# ------------------------------------------------------------------------------------------ log
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (is_number(a) and is_number(b) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))
    return a == b


def _same_deep(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return _same(a, b)


def check_log(record: dict[str, Any], source: str) -> list[Problem]:
    """The per-round log is self-consistent and the totals are exactly what it implies (call after
    :func:`check_shape` passed)."""
    problems: list[Problem] = []
    running: dict[str, Any] = {}
    n = num_clients(record)
    for i, entry in enumerate(record["rounds"]):
        where = f"rounds[{i}]"
        if entry["round"] != i + 1:
            problems.append(Problem(source, f"{where}.round", f"is {entry['round']}, expected {i + 1}"))
        per_acc = client_accuracies(entry["accuracy"], n)
        if len(per_acc) != n:
            problems.append(Problem(source, f"{where}.accuracy.per_client",
                                    f"{len(per_acc)} accuracies for {n} clients"))
        elif not _same(entry["accuracy"]["mean"], sum(per_acc) / n):
            problems.append(Problem(source, f"{where}.accuracy.mean",
                                    f"is {entry['accuracy']['mean']!r}, the per-client accuracies give "
                                    f"{sum(per_acc) / n!r}"))
        local = entry.get("local_accuracy")
        if local is not None and (not local["per_client"] or len(local["per_client"]) != len(local["clients"])
                                  or not _same(local["mean"], sum(local["per_client"]) / len(local["per_client"]))):
            problems.append(Problem(source, f"{where}.local_accuracy",
                                    "needs one accuracy per scored client and their mean"))
        clients = entry["per_client"]
        listed = len(entry["clients"]) if "clients" in entry else n
        if len(clients) != listed:
            problems.append(Problem(source, f"{where}.per_client",
                                    f"{len(clients)} clients' counters for {listed} clients "
                                    f"({'listed in clients' if 'clients' in entry else 'every client'})"))
        for key, value in entry["cumulative"].items():
            expected = running.get(key, 0) + sum(c.get(key, 0) for c in clients)
            if not _same(value, expected):
                problems.append(Problem(source, f"{where}.cumulative.{key}",
                                        f"is {value!r}, previous rounds plus this round's per-client counters "
                                        f"give {expected!r}"))
        for c_index, c in enumerate(clients):
            for total, parts in (("bytes_total", ("bytes_up", "bytes_down", "bytes_peer")),
                                 ("paper_bytes_total", ("paper_bytes_up", "paper_bytes_down", "paper_bytes_peer"))):
                if c[total] != sum(c[p] for p in parts):
                    problems.append(Problem(source, f"{where}.per_client[{c_index}].{total}",
                                            f"is {c[total]!r}, not the sum of {', '.join(parts)}"))
        running = dict(entry["cumulative"])
    expected_totals = totals_from_rounds(record["rounds"])
    totals = record["totals"]
    for key in sorted(set(expected_totals) | set(totals)):
        if key not in totals:
            continue  # a board uses the recomputed value anyway
        if key not in expected_totals:
            problems.append(Problem(source, f"totals.{key}", "is not derived from the per-round log"))
        elif not _same_deep(totals[key], expected_totals[key]):
            problems.append(Problem(source, f"totals.{key}",
                                    f"is {totals[key]!r}, the per-round log gives {expected_totals[key]!r}"))
    return problems
