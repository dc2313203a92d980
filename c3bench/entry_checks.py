"""What a result record must satisfy before a leaderboard trusts it, check by check.

Each function returns a list of :class:`Problem` (file, field, message); none raises on a
malformed record, so one bad entry never takes down the check of the others. In order of cost:

* :func:`check_shape`: every field a board reads is there, with the right type.
* :func:`check_values`: numbers a run can produce: finite, accuracies in [0, 100], counters
  non-negative integers that never decrease from one round to the next.
* :func:`check_log`: the per-round log adds up (cumulative = previous + this round's per-client
  counters; mean accuracy = mean of the per-client ones) and the totals are what it implies.
* :func:`check_status`: the status agrees with the log and the budgets.
* :func:`check_provenance`: the protocol (version, content hash), the method's parameters and the
  code version are what the named protocol, method and repository give now; optionally the data
  digest, recomputed from protocol + parameters + seed without training.
* :func:`check_distinct_runs`: one run is not filed as several seeds.

The digest in a record is an unkeyed sha256: it proves a file was not damaged, not that it was
not forged. Forgery that keeps every number consistent is caught only by re-execution
(``c3bench leaderboard verify``, :mod:`c3bench.verify`).
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c3bench.results import TOTAL_COUNTERS, config_hash, strip_volatile, totals_from_rounds

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # what a method or protocol name may be in a file name
SHA = re.compile(r"^[0-9a-f]{40}$")
BUDGET_OF = {"bandwidth": ("bandwidth_bytes", "bytes_total"), "client compute": ("client_flops", "client_flops")}


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located by file and field."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def _is_number(v: Any) -> bool:
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
        if budgets.get(key) is not None and not _is_number(budgets.get(key)):
            bad(f"config.budgets.{key}", f"must be a number or null, got {budgets.get(key)!r}")
    if not isinstance(record.get("environment"), dict):
        bad("environment", "missing or not an object")
    if not isinstance(record.get("data"), dict) or not isinstance(record["data"].get("digest"), str):
        bad("data.digest", "missing")
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
        if not isinstance(acc, dict) or not _is_number(acc.get("mean")) or not isinstance(acc.get("per_client"), list) \
                or not all(_is_number(a) for a in acc["per_client"]):
            bad(f"{where}.accuracy", "must hold a numeric mean and a list of numeric per-client accuracies")
        local = entry.get("local_accuracy")
        if local is not None and (not isinstance(local, dict) or not _is_number(local.get("mean"))
                                  or not isinstance(local.get("per_client"), list)
                                  or not all(_is_number(a) for a in local["per_client"])
                                  or not isinstance(local.get("clients"), list)
                                  or not all(_is_int(c) for c in local["clients"])):
            bad(f"{where}.local_accuracy", "must hold the scored clients, their numeric accuracies and a numeric mean")
        for key in ("cumulative",):
            block = entry.get(key)
            if not isinstance(block, dict) or not all(isinstance(block.get(k), int | float) for k in TOTAL_COUNTERS):
                bad(f"{where}.{key}", f"must hold every counter ({', '.join(TOTAL_COUNTERS)}) as a number")
        clients = entry.get("per_client")
        if not isinstance(clients, list) or not all(isinstance(c, dict) for c in clients):
            bad(f"{where}.per_client", "must be a list of objects")
        elif any(not all(isinstance(c.get(k), int | float) for k in TOTAL_COUNTERS) for c in clients):
            bad(f"{where}.per_client", "every client must hold every counter as a number")
        if not _is_number(entry.get("wall_s")):
            bad(f"{where}.wall_s", "missing or not a number")
        if entry.get("sim_time_s") is not None and not _is_number(entry.get("sim_time_s")):
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
    for i, entry in enumerate(record["rounds"]):
        where = f"rounds[{i}]"
        for label, block in (("accuracy", entry["accuracy"]), ("local_accuracy", entry.get("local_accuracy"))):
            for value in (block["mean"], *block["per_client"]) if block else ():
                if not 0.0 <= value <= 100.0:
                    problems.append(Problem(source, f"{where}.{label}", f"{value!r} is outside [0, 100]"))
                    break
        local = entry.get("local_accuracy")
        clients = len(entry["accuracy"]["per_client"])
        if local and (local["clients"] != sorted(set(local["clients"]))
                      or any(not 0 <= c < clients for c in local["clients"])):
            problems.append(Problem(source, f"{where}.local_accuracy.clients",
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
    return problems


# ------------------------------------------------------------------------------------------ log
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (_is_number(a) and _is_number(b) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))
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
    for i, entry in enumerate(record["rounds"]):
        where = f"rounds[{i}]"
        if entry["round"] != i + 1:
            problems.append(Problem(source, f"{where}.round", f"is {entry['round']}, expected {i + 1}"))
        per_acc = entry["accuracy"]["per_client"]
        if not per_acc or not _same(entry["accuracy"]["mean"], sum(per_acc) / len(per_acc)):
            problems.append(Problem(source, f"{where}.accuracy.mean",
                                    f"is {entry['accuracy']['mean']!r}, the per-client accuracies give "
                                    f"{(sum(per_acc) / len(per_acc)) if per_acc else None!r}"))
        local = entry.get("local_accuracy")
        if local is not None and (not local["per_client"] or len(local["per_client"]) != len(local["clients"])
                                  or not _same(local["mean"], sum(local["per_client"]) / len(local["per_client"]))):
            problems.append(Problem(source, f"{where}.local_accuracy",
                                    "needs one accuracy per scored client and their mean"))
        clients = entry["per_client"]
        if len(clients) != len(per_acc):
            problems.append(Problem(source, f"{where}.per_client",
                                    f"{len(clients)} clients but {len(per_acc)} per-client accuracies"))
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


# ------------------------------------------------------------------------------------------ status
def check_status(record: dict[str, Any], source: str) -> list[Problem]:
    """The status agrees with the log: a completed run has every round; a budget stop names a declared
    budget that the next round would have crossed; no declared budget is below what was used."""
    problems: list[Problem] = []
    cfg, status, rounds = record["config"], record.get("status"), record["rounds"]
    budgets = cfg["budgets"]
    used = totals_from_rounds(rounds)
    for budget_key, used_key in BUDGET_OF.values():
        limit = budgets.get(budget_key)
        if limit is not None and used[used_key] > limit:
            problems.append(Problem(source, f"config.budgets.{budget_key}",
                                    f"declares {limit:g} but the log uses {used[used_key]:g}"))
    if status == "completed" and len(rounds) != cfg["rounds"]:
        problems.append(Problem(source, "status", f"is 'completed' with {len(rounds)} of {cfg['rounds']} rounds"))
    if status == "budget-stopped":
        stop = record.get("budget_stop")
        if not isinstance(stop, dict) or stop.get("what") not in BUDGET_OF:
            return [*problems, Problem(source, "budget_stop", "a budget-stopped run must say which budget stopped it")]
        budget_key, used_key = BUDGET_OF[stop["what"]]
        limit = budgets.get(budget_key)
        if limit is None:
            problems.append(Problem(source, "status", f"is 'budget-stopped' by the {stop['what']} budget, "
                                                      "but the run declares none"))
        elif stop.get("budget") != limit or not _is_number(stop.get("would_use")) or not stop["would_use"] > limit:
            problems.append(Problem(source, "budget_stop", f"does not show the {stop['what']} budget of {limit:g} "
                                                           "being crossed"))
        if len(rounds) >= cfg["rounds"] or stop.get("round") != len(rounds) + 1:
            problems.append(Problem(source, "budget_stop.round", f"is {stop.get('round')!r} after {len(rounds)} of "
                                                                 f"{cfg['rounds']} rounds"))
    return problems


# ------------------------------------------------------------------------------------------ provenance
def known_commit(sha: str, repository: Path) -> bool | None:
    """Whether ``sha`` is a commit of ``repository`` (None when that is not a git checkout)."""
    try:
        result = subprocess.run(["git", "-C", str(repository), "cat-file", "-e", f"{sha}^{{commit}}"],
                                capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0 and b"not a git repository" in result.stderr:
        return None
    return result.returncode == 0


def check_provenance(record: dict[str, Any], source: str, require_clean_commit: bool = False,
                     data_digest: Callable[[str, dict[str, Any], int], str | None] | None = None) -> list[Problem]:
    """The record was made by a registered protocol and method as they are now, by committed code.

    ``data_digest(protocol, params, seed)``, when given, recomputes the data digest without training
    (None when it cannot, e.g. data missing: then that is reported).
    """
    from c3bench import registry
    from c3bench.hparams import ConfigError

    problems: list[Problem] = []
    cfg = record["config"]
    if record.get("config_hash") != config_hash(cfg):
        problems.append(Problem(source, "config_hash", "does not match the record's config"))
    for key in ("method", "protocol"):
        if not NAME.match(cfg[key]):
            problems.append(Problem(source, f"config.{key}", f"{cfg[key]!r} is not a valid name"))
            return problems
    try:
        protocol = registry.get_protocol(cfg["protocol"])
        method = registry.get_method(cfg["method"])
    except ConfigError as exc:
        return [*problems, Problem(source, "config", str(exc))]
    if cfg["protocol_version"] != protocol.version:
        problems.append(Problem(source, "config.protocol_version", f"is {cfg['protocol_version']!r}, the registered "
                                                                   f"protocol is version {protocol.version!r}"))
    try:
        params = registry.space(protocol).resolve(cfg["protocol_params"], f"protocol '{protocol.name}'")
    except ConfigError as exc:
        return [*problems, Problem(source, "config.protocol_params", str(exc))]
    if params != cfg["protocol_params"]:
        problems.append(Problem(source, "config.protocol_params", "do not match what the protocol declares now "
                                f"(missing: {', '.join(sorted(set(params) - set(cfg['protocol_params']))) or '-'})"))
    elif cfg["protocol_hash"] != protocol.content_hash(params):
        problems.append(Problem(source, "config.protocol_hash",
                                f"is {cfg['protocol_hash'][:12]}..., the registered protocol '{protocol.name}' gives "
                                f"{protocol.content_hash(params)[:12]}... (run with this version of the protocol)"))
    try:
        space = registry.space(method)
        resolved = space.recorded(method.finalize_params(space.resolve(cfg["method_params"], f"method '{method.name}'")))
    except (ConfigError, ValueError, TypeError) as exc:
        problems.append(Problem(source, "config.method_params", str(exc)))
    else:
        if resolved != cfg["method_params"]:
            missing = sorted(set(resolved) - set(cfg["method_params"]))
            problems.append(Problem(source, "config.method_params", "do not match what the method declares now"
                                    + (f" (missing: {', '.join(missing)})" if missing else "")))
    problems += _check_commit(record, source, require_clean_commit)
    if data_digest is not None and not problems:
        digest = data_digest(protocol.name, params, cfg["seed"])
        if digest is None:
            problems.append(Problem(source, "data.digest", "cannot be recomputed here (is the protocol's data "
                                                           "available? pass --data-root)"))
        elif digest != record["data"]["digest"]:
            problems.append(Problem(source, "data.digest", f"is {record['data']['digest'][:12]}..., protocol "
                                    f"'{protocol.name}' with these parameters and seed {cfg['seed']} gives "
                                    f"{digest[:12]}..."))
    return problems


def _check_commit(record: dict[str, Any], source: str, require_clean: bool) -> list[Problem]:
    commit = record["environment"].get("git_commit")
    if not require_clean:
        return []
    if not isinstance(commit, str) or commit.endswith("-dirty") or not SHA.match(commit):
        return [Problem(source, "environment.git_commit",
                        f"is {commit!r}: entries on this board must come from committed code (a clean checkout)")]
    repository = Path(__file__).resolve().parent.parent
    known = known_commit(commit, repository)
    if known is None:
        return [Problem(source, "environment.git_commit", f"cannot be checked: {repository} is not a git checkout")]
    if not known:
        return [Problem(source, "environment.git_commit", f"{commit[:12]} is not a commit of this repository")]
    return []


# ------------------------------------------------------------------------------------------ seeds
def check_distinct_runs(entries: Sequence[tuple[str, dict[str, Any]]]) -> list[Problem]:
    """Runs of one configuration under different seeds must differ: the same per-round log (or data
    digest) twice means one run filed as several seeds."""
    problems: list[Problem] = []
    seen_logs: dict[tuple[str, str], str] = {}
    seen_data: dict[tuple[str, str], tuple[int, str]] = {}
    for source, record in entries:
        group = record["config_hash"]
        log = repr(strip_volatile(record["rounds"]))
        if (group, log) in seen_logs:
            problems.append(Problem(source, "rounds", f"the same per-round log as {seen_logs[(group, log)]} under "
                                                      "another seed: one run filed as several seeds"))
        seen_logs.setdefault((group, log), source)
        digest = record["data"]["digest"]
        earlier = seen_data.get((group, digest))
        if earlier is not None and earlier[0] != record["config"]["seed"]:
            problems.append(Problem(source, "data.digest", f"the same data as {earlier[1]} under seed "
                                                           f"{earlier[0]}: one run filed as several seeds"))
        seen_data.setdefault((group, digest), (record["config"]["seed"], source))
    return problems


def entry_name(record: dict[str, Any]) -> str:
    """The file name a board gives an entry: from validated content, never a path from the record."""
    cfg = record["config"]
    return f"{cfg['method']}_{cfg['protocol']}_s{cfg['seed']}_{config_hash(cfg, include_seed=True)[:12]}"
