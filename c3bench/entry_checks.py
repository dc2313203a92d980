"""What a result record must satisfy before a leaderboard trusts it, check by check.

Each function returns a list of :class:`Problem` (file, field, message); none raises on a
malformed record, so one bad entry never takes down the check of the others. The record's own
checks (shape, values, the log and its totals) are :mod:`c3bench.record_log`'s; on top of them:

* :func:`check_status`: the status agrees with the log and the budgets.
* :func:`check_config`: the configuration holds only what c3bench writes there (no key that no
  method or protocol declares, a registered backbone, budgets and a fleet in their recorded form), so
  nothing a record invents reaches a README or a web page.
* :func:`check_provenance`: the protocol (version, content hash), the method's parameters and the
  code version are what the named protocol, method and repository give now; optionally the data
  digest, recomputed from protocol + parameters + seed without training.
* :func:`check_distinct_runs`: one run is not filed as several seeds, nor twice under two
  configurations.
* :func:`check_one_mode`: the seeds of one configuration share one numeric execution mode, so a
  mean and a spread over them never mix, say, flushed and plain arithmetic.

The digest in a record is an unkeyed sha256: it proves a file was not damaged, not that it was
not forged. Forgery that keeps every number consistent is caught only by re-execution
(``c3bench leaderboard verify``, :mod:`c3bench.verify`).
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from c3bench.record_log import (  # noqa: F401 - check_shape/values/log re-exported for the board's callers
    Problem,
    check_log,
    check_shape,
    check_values,
    is_number,
    strip_volatile,
    totals_from_rounds,
)
from c3bench.results import config_hash, digest_repeats_shared, mode_text, record_modes

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # what a method or protocol name may be in a file name
SHA = re.compile(r"^[0-9a-f]{40}$")
# What c3bench's resolver writes into a record's configuration (c3bench.runspec.resolve): always, and
# only when set. Parameters inside method_params / protocol_params are checked against declarations.
CONFIG_KEYS = ("method", "method_params", "protocol", "protocol_version", "protocol_params", "protocol_hash",
               "backbone", "rounds", "seed", "budgets")
OPTIONAL_CONFIG_KEYS = ("devices", "charge_inference")
BUDGET_KEYS = ("bandwidth_bytes", "client_flops")
BUDGET_OF = {"bandwidth": ("bandwidth_bytes", "bytes_total"), "client compute": ("client_flops", "client_flops")}


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
        elif stop.get("budget") != limit or not is_number(stop.get("would_use")) or not stop["would_use"] > limit:
            problems.append(Problem(source, "budget_stop", f"does not show the {stop['what']} budget of {limit:g} "
                                                           "being crossed"))
        if len(rounds) >= cfg["rounds"] or stop.get("round") != len(rounds) + 1:
            problems.append(Problem(source, "budget_stop.round", f"is {stop.get('round')!r} after {len(rounds)} of "
                                                                 f"{cfg['rounds']} rounds"))
    return problems


# ------------------------------------------------------------------------------------------ config
def check_config(record: dict[str, Any], source: str) -> list[Problem]:
    """The configuration holds only what c3bench writes there (call after ``check_shape`` passed)."""
    from c3bench import registry

    cfg = record["config"]
    problems: list[Problem] = []
    unknown = sorted(set(cfg) - set(CONFIG_KEYS) - set(OPTIONAL_CONFIG_KEYS))
    if unknown:
        problems.append(Problem(source, "config", f"has keys no method or protocol declares: {', '.join(map(repr, unknown))} "
                                                  "(c3bench writes none of them; re-run with `c3bench run`)"))
    extra = sorted(set(cfg["budgets"]) - set(BUDGET_KEYS))
    if extra:
        problems.append(Problem(source, "config.budgets", f"has keys that are no budget: {', '.join(map(repr, extra))} "
                                                          f"(budgets are {', '.join(BUDGET_KEYS)})"))
    if cfg["backbone"] not in registry.BACKBONES:
        problems.append(Problem(source, "config.backbone", f"{cfg['backbone']!r} is not a registered backbone "
                                                           f"({', '.join(registry.BACKBONES.names())})"))
    if "charge_inference" in cfg and cfg["charge_inference"] is not True:
        problems.append(Problem(source, "config.charge_inference", "is recorded only as true (when inference is charged)"))
    if "devices" in cfg:
        problems += _check_devices(cfg["devices"], source)
    return problems


def _check_devices(devices: Any, source: str) -> list[Problem]:
    """A fleet as a run records it: preset text in its normal form, or a fleet file's parsed content."""
    from c3bench.accounting.devices import fleet_from_mapping, is_fleet_file, normalize_spec
    from c3bench.hparams import ConfigError

    try:
        if isinstance(devices, dict):
            fleet_from_mapping(devices, "config.devices", None, 0)
            return []
        if isinstance(devices, str) and not is_fleet_file(devices) and normalize_spec(devices) == devices:
            return []
    except (ConfigError, ValueError, TypeError) as exc:
        return [Problem(source, "config.devices", str(exc))]
    return [Problem(source, "config.devices", "is not a fleet as c3bench records one (preset names such as "
                                              "'phone*2,laptop', or a fleet file's parsed content)")]


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
                     data_digest: Callable[[str, dict[str, Any], int, bool], str | None] | None = None
                     ) -> list[Problem]:
    """The record was made by a registered protocol and method as they are now, by committed code.

    ``data_digest(protocol, params, seed, repeat_shared)``, when given, recomputes the data digest
    without training (None when it cannot, e.g. data missing: then that is reported), as the record's
    schema computes it (:func:`c3bench.results.digest_repeats_shared`).
    """
    from c3bench import registry
    from c3bench.hparams import ConfigError

    problems: list[Problem] = check_config(record, source)
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
        digest = data_digest(protocol.name, params, cfg["seed"], digest_repeats_shared(record))
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
    """Every entry is a run of its own: the same per-round log (or data digest) under two seeds of one
    configuration is one run filed as several seeds, and the same method settings, data and per-round log
    under two configurations (say, one with a budget that never bound) is one run filed twice. (Two
    methods, or two settings of one, may give the same log in a tiny run: those are two runs.)"""
    problems: list[Problem] = []
    seen_logs: dict[tuple[str, str], str] = {}
    seen_runs: dict[tuple[str, str, str], tuple[str, str]] = {}
    seen_data: dict[tuple[str, str], tuple[int, str]] = {}
    for source, record in entries:
        group = record["config_hash"]
        log = repr(strip_volatile(record["rounds"]))
        if (group, log) in seen_logs:
            problems.append(Problem(source, "rounds", f"the same per-round log as {seen_logs[(group, log)]} under "
                                                      "another seed: one run filed as several seeds"))
        seen_logs.setdefault((group, log), source)
        digest = record["data"]["digest"]
        run = (digest, log, config_hash({k: record["config"][k] for k in ("method", "method_params")}))
        earlier_run = seen_runs.get(run)
        if earlier_run is not None and earlier_run[0] != group:
            problems.append(Problem(source, "config", f"the same method settings, data and per-round log as "
                                                      f"{earlier_run[1]} under another configuration: one run filed "
                                                      "twice"))
        seen_runs.setdefault(run, (group, source))
        earlier = seen_data.get((group, digest))
        if earlier is not None and earlier[0] != record["config"]["seed"]:
            problems.append(Problem(source, "data.digest", f"the same data as {earlier[1]} under seed "
                                                           f"{earlier[0]}: one run filed as several seeds"))
        seen_data.setdefault((group, digest), (record["config"]["seed"], source))
    return problems


def check_one_mode(entries: Sequence[tuple[str, dict[str, Any]]], new: Collection[str] = ()) -> list[Problem]:
    """The seeds of one configuration run in one numeric execution mode (``--flush-denormal``,
    ``--stack-clients``): its row averages them, and a mode changes the numbers. A row's mode is that of
    most of its seeds (a tie: its lowest seed's); with ``new`` (the sources being filed), that of the
    seeds already there, and only new entries are blamed."""
    groups: dict[str, list[tuple[str, tuple[str, ...], Any]]] = {}
    for source, record in entries:
        groups.setdefault(record["config_hash"], []).append((source, tuple(record_modes(record)), record["config"]["seed"]))
    problems: list[Problem] = []
    for members in groups.values():
        if len({flags for _, flags, _ in members}) < 2:
            continue
        kept = [m for m in members if m[0] not in new] or members
        counts = Counter(flags for _, flags, _ in kept)
        reference = max(counts, key=lambda f: (counts[f], -min(_seed_order(s) for _, g, s in kept if g == f)))
        seeds = ", ".join(str(s) for s in sorted((s for _, g, s in kept if g == reference), key=_seed_order))
        for source, flags, _ in members:
            if flags != reference and (not new or source in new):
                problems.append(Problem(source, "execution", f"runs with {mode_text(flags)}, but its row (seed "
                                        f"{seeds} of the same configuration) runs with {mode_text(reference)}: a "
                                        "row's seeds share one mode. Re-run this seed in that mode, or re-run every "
                                        "seed of the row in this one and submit them together with --replace"))
    return problems


def _seed_order(seed: Any) -> float:
    return seed if isinstance(seed, int | float) and not isinstance(seed, bool) else float("inf")


def entry_name(record: dict[str, Any]) -> str:
    """The file name a board gives an entry: from validated content, never a path from the record."""
    cfg = record["config"]
    return f"{cfg['method']}_{cfg['protocol']}_s{cfg['seed']}_{config_hash(cfg, include_seed=True)[:12]}"
