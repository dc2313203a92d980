"""Configuration files: a study (one or more runs sharing a protocol and settings) as TOML.

The named configurations shipped with c3bench (``c3bench configs``) are files in this folder, in the
same format a user writes for their own study (``c3bench run --config my.toml``), so a study is a
file that can be shared. One file::

    name = "adasplit-table2"                  # default: the file name
    description = "..."
    source = "Chopra et al., AdaSplit, Table 2"
    protocol = "mixed-cifar"
    rounds = 20                               # optional: default the protocol's
    backbone = "lenet"                        # optional
    seeds = [0, 1, 2, 3, 4]                   # what `c3bench reproduce` runs by default
    budgets = { bandwidth = "40GB", compute = "5TFLOP" }   # optional
    score = { bmax_gb = 35.94, cmax_tflops = 11.77, temperature = 8.0 }  # the source's C3 budgets, optional

    [protocol_params]
    relabel = false

    [params]                                  # every run whose method declares the key
    batch_size = 32
    [params.federated]                        # only runs of federated methods
    optimizer = "adam"

    [[runs]]
    name = "fedavg"                           # the row: `--config adasplit-table2/fedavg`
    label = "FedAvg"
    method = "fedavg"
    params = { lr = 3.3e-4 }
    reference = { accuracy = 91.31, accuracy_std = 0.49, bandwidth_gb = 2.39, client_tflops = 11.77 }

A file with one run may put ``method`` (and ``reference``) at the top level instead of ``[[runs]]``.
Precedence, lowest first: ``[params]``, ``[params.<family>]``, the run's ``params``, ``--set``.
Reference values are published numbers in the source's own convention (``reference_convention``,
default ``paper``: non-zeros x 4 bytes, forward multiply-accumulates). Which accuracy a published
number is (``reference_metric`` for the file, ``metric`` in one reference; :data:`METRICS`) decides
what the reproduction report compares it with; a reference may carry a ``note`` shown beside it::

    reference_metric = "deployed-best"
    [[runs]]
    reference = { accuracy = 82.21, accuracy_std = 0.19, metric = "local-best",
                  note = "84.21 +- 0.19 in the authors' notebook" }
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from c3bench.hparams import ConfigError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FOLDER = Path(__file__).resolve().parent
FAMILIES = ("federated", "split")
REFERENCE_FIELDS = ("accuracy", "accuracy_std", "bandwidth_gb", "client_tflops", "total_tflops", "c3")
# What a published accuracy measures: which model (each client's deployed one, or its local one right
# after its own training) at which round (the last, or the best of the run). A record's totals give each.
METRICS = {
    "deployed-last": "deployed model, last round",
    "deployed-best": "deployed model, best round",
    "local-last": "local model after training, last round",
    "local-best": "local model after training, best round",
}
METRIC_TOTALS = {"deployed-last": "accuracy", "deployed-best": "accuracy_best",
                 "local-last": "local_accuracy", "local-best": "local_accuracy_best"}
SCORE_FIELDS = ("bmax_gb", "cmax_tflops", "temperature")
CLAIM_MEASURES = ("accuracy", "bandwidth_gb", "client_t", "total_t", "c3")
CLAIM_COMPARISONS = ("difference", "ratio", "best")
_CLAIM_KEYS = ("claim", "measure", "compare", "rows", "published")
_TOP_KEYS = ("name", "description", "source", "protocol", "rounds", "backbone", "seeds", "budgets", "score", "claims",
             "protocol_params", "params", "runs", "method", "reference", "label", "note", "reference_convention",
             "reference_metric")
_RUN_KEYS = ("name", "label", "method", "params", "protocol_params", "reference", "note", "rounds")


@dataclass(frozen=True)
class Reference:
    """Published values for one row (any may be missing), in ``convention``."""

    accuracy: float | None = None
    accuracy_std: float | None = None
    bandwidth_gb: float | None = None
    client_tflops: float | None = None
    total_tflops: float | None = None
    c3: float | None = None
    convention: str = "paper"
    metric: str = "deployed-last"  # what the published accuracy measures (METRICS)
    note: str = ""  # e.g. where another source gives another figure

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*REFERENCE_FIELDS, "convention", "metric", "note")}


@dataclass(frozen=True)
class ConfigRun:
    """One row of a study: a method with its settings, and what the source published for it."""

    name: str
    label: str
    method: str
    params: Mapping[str, Any]
    protocol_params: Mapping[str, Any]
    rounds: int | None = None
    reference: Reference | None = None
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """A qualitative claim of the source, checked in c3bench's numbers: ``difference`` or ``ratio`` of a
    measure between ``rows[0]`` and ``rows[1]``, or ``best``: ``rows[0]`` has the best value of all rows
    (highest accuracy or C3, lowest cost). ``published`` is the source's own value of that comparison."""

    claim: str
    measure: str
    compare: str
    rows: tuple[str, ...]
    published: float | None = None


@dataclass(frozen=True)
class StudyConfig:
    """A configuration file: shared settings and its runs."""

    name: str
    description: str
    protocol: str
    runs: tuple[ConfigRun, ...]
    source: str = ""
    rounds: int | None = None
    backbone: str | None = None
    seeds: tuple[int, ...] = (0,)
    budgets: Mapping[str, str | float] = field(default_factory=dict)
    protocol_params: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)  # shared; family tables nested
    score: Mapping[str, float] = field(default_factory=dict)  # the source's C3 budgets (paper convention)
    claims: tuple[Claim, ...] = ()
    path: Path | None = None

    @cached_property
    def methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.method for r in self.runs))

    @cached_property
    def _by_name(self) -> dict[str, ConfigRun]:
        return {r.name: r for r in self.runs}

    def row(self, name: str) -> ConfigRun:
        if name in self._by_name:
            return self._by_name[name]
        names = [r.name for r in self.runs]
        raise ConfigError(f"config '{self.name}' has no run '{name}'.{did_you_mean(name, names)} "
                          f"Runs: {', '.join(names)}.")

    def select(self, row: str | None, method: str | None) -> ConfigRun:
        """The run named ``row``, else the one run of ``method``, else the only run."""
        if row is not None:
            chosen = self.row(row)
            if method is not None and method != chosen.method:
                raise ConfigError(f"run '{self.name}/{row}' is method '{chosen.method}', but -m '{method}' was given; "
                                  "drop -m or choose another run.")
            return chosen
        candidates = [r for r in self.runs if method is None or r.method == method]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise ConfigError(
                f"config '{self.name}' has no run of method '{method}'.{did_you_mean(method or '', self.methods)} "
                f"Its methods: {', '.join(self.methods)}.")
        names = ", ".join(f"{self.name}/{r.name}" for r in candidates)
        raise ConfigError(f"config '{self.name}' has {len(candidates)} runs" + (f" of '{method}'" if method else "")
                          + f"; name one: {names}.")

    def method_params_for(self, run: ConfigRun, family: str, declared: set[str]) -> dict[str, Any]:
        """Shared, family and run parameters for ``run`` (shared ones only where the method declares them)."""
        shared = {k: v for k, v in self.params.items() if k not in FAMILIES and k in declared}
        return {**shared, **dict(self.params.get(family, {})), **dict(run.params)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "source": self.source, "protocol": self.protocol,
            "protocol_params": dict(self.protocol_params), "params": _plain(self.params), "rounds": self.rounds,
            "backbone": self.backbone, "seeds": list(self.seeds), "budgets": dict(self.budgets),
            "score": dict(self.score),
            "claims": [vars(c) | {"rows": list(c.rows)} for c in self.claims],
            "runs": [{"name": r.name, "label": r.label, "method": r.method, "params": dict(r.params),
                      "protocol_params": dict(r.protocol_params), "rounds": r.rounds, "note": r.note,
                      "reference": r.reference.as_dict() if r.reference else None} for r in self.runs],
        }


def _plain(value: Any) -> Any:
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value


# ------------------------------------------------------------------------------------------ parsing
def _fail(source: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {message}")


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], source: str, where: str) -> None:
    for key in data:
        if key not in allowed:
            raise _fail(source, f"unknown key '{key}' in {where}.{did_you_mean(key, allowed)} "
                                f"Allowed: {', '.join(allowed)}.")


def _number(value: Any, source: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(source, f"{where} must be a finite number, got {value!r}.")
    return float(value)


def _table(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(source, f"{where} must be a table, got {type(value).__name__}.")
    return dict(value)


def _metric(value: Any, source: str, where: str) -> str:
    if value not in METRICS:
        raise _fail(source, f"{where} must be one of {', '.join(METRICS)}, got {value!r}."
                            + did_you_mean(str(value), METRICS))
    return value


def _reference(value: Any, convention: str, metric: str, source: str, where: str) -> Reference | None:
    if value is None:
        return None
    data = _table(value, source, where)
    _check_keys(data, (*REFERENCE_FIELDS, "metric", "note"), source, where)
    numbers = {k: _number(v, source, f"{where}.{k}") for k, v in data.items() if k in REFERENCE_FIELDS}
    return Reference(**numbers, convention=convention, metric=_metric(data.get("metric", metric), source,
                                                                       f"{where}.metric"),
                     note=str(data.get("note", "")))


def _run(data: Mapping[str, Any], convention: str, metric: str, source: str, index: int) -> ConfigRun:
    where = f"runs[{index}]"
    _check_keys(data, _RUN_KEYS, source, where)
    method = data.get("method")
    if not isinstance(method, str) or not method:
        raise _fail(source, f"{where}: 'method' (a method name) is required.")
    name = str(data.get("name") or method)
    rounds = data.get("rounds")
    if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1):
        raise _fail(source, f"{where}.rounds must be a positive integer, got {rounds!r}.")
    return ConfigRun(name=name, label=str(data.get("label") or name), method=method,
                     params=_table(data.get("params", {}), source, f"{where}.params"),
                     protocol_params=_table(data.get("protocol_params", {}), source, f"{where}.protocol_params"),
                     rounds=rounds, reference=_reference(data.get("reference"), convention, metric, source, f"{where}.reference"),
                     note=str(data.get("note", "")))


def _claims(items: Any, row_names: set[str], source: str) -> tuple[Claim, ...]:
    if not isinstance(items, list):
        raise _fail(source, "[[claims]] must be a list of tables.")
    out = []
    for i, item in enumerate(items):
        where = f"claims[{i}]"
        data = _table(item, source, where)
        _check_keys(data, _CLAIM_KEYS, source, where)
        rows = tuple(data.get("rows", ()))
        if data.get("measure") not in CLAIM_MEASURES or data.get("compare") not in CLAIM_COMPARISONS:
            raise _fail(source, f"{where}: measure must be one of {', '.join(CLAIM_MEASURES)} and compare one of "
                                f"{', '.join(CLAIM_COMPARISONS)}.")
        wanted = 1 if data["compare"] == "best" else 2
        if len(rows) != wanted or any(r not in row_names for r in rows):
            raise _fail(source, f"{where}: rows must name {wanted} of this file's runs, got {list(rows)}.")
        published = data.get("published")
        out.append(Claim(str(data.get("claim", "")), data["measure"], data["compare"], rows,
                         None if published is None else _number(published, source, f"{where}.published")))
    return tuple(out)


def parse_config(data: Mapping[str, Any], source: str, default_name: str, path: Path | None = None) -> StudyConfig:
    """Validate the TOML content of a configuration file."""
    _check_keys(data, _TOP_KEYS, source, "the file")
    protocol = data.get("protocol")
    if not isinstance(protocol, str) or not protocol:
        raise _fail(source, "'protocol' (a protocol name) is required.")
    convention = str(data.get("reference_convention", "paper"))
    metric = _metric(data.get("reference_metric", "deployed-last"), source, "reference_metric")
    if "runs" in data:
        if "method" in data:
            raise _fail(source, "give either 'method' at the top level or [[runs]], not both.")
        items = data["runs"]
        if not isinstance(items, list) or not items:
            raise _fail(source, "[[runs]] must hold at least one run.")
        runs = tuple(_run(_table(item, source, f"runs[{i}]"), convention, metric, source, i)
                     for i, item in enumerate(items))
    elif "method" in data:
        runs = (_run({k: data[k] for k in ("method", "reference", "label", "note", "name") if k in data},
                     convention, metric, source, 0),)
    else:
        raise _fail(source, "needs a 'method' or at least one [[runs]] entry.")
    names = [r.name for r in runs]
    duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicates:
        raise _fail(source, f"run names must be unique; repeated: {', '.join(duplicates)}.")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                            and 0 <= s < 2**32 for s in seeds):
        raise _fail(source, f"'seeds' must be a list of integers in [0, 2^32), got {seeds!r}.")
    rounds = data.get("rounds")
    if rounds is not None and (isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1):
        raise _fail(source, f"'rounds' must be a positive integer, got {rounds!r}.")
    budgets = _table(data.get("budgets", {}), source, "budgets")
    _check_keys(budgets, ("bandwidth", "compute"), source, "budgets")
    score = _table(data.get("score", {}), source, "score")
    _check_keys(score, SCORE_FIELDS, source, "score")
    score = {k: _number(v, source, f"score.{k}") for k, v in score.items()}
    if any(v <= 0 for v in score.values()):
        raise _fail(source, "score budgets and temperature must be positive.")
    params = _table(data.get("params", {}), source, "params")
    for key, value in params.items():
        if isinstance(value, Mapping) and key not in FAMILIES:
            raise _fail(source, f"[params.{key}] is not a section of a configuration: its sections are "
                                f"{' and '.join(f'[params.{f}]' for f in FAMILIES)}."
                                f"{did_you_mean(f'params.{key}', [f'params.{f}' for f in FAMILIES])} "
                                "(A hyperparameter's value is a number, text or true/false, not a table.)")
    for family in FAMILIES:
        if family in params:
            params[family] = _table(params[family], source, f"params.{family}")
    return StudyConfig(
        name=str(data.get("name") or default_name), description=str(data.get("description", "")),
        protocol=protocol, runs=runs, source=str(data.get("source", "")), rounds=rounds,
        backbone=data.get("backbone"), seeds=tuple(dict.fromkeys(seeds)), budgets=budgets,
        protocol_params=_table(data.get("protocol_params", {}), source, "protocol_params"), params=params,
        score=score, claims=_claims(data.get("claims", []), {r.name for r in runs}, source), path=path,
    )


MAX_FILE_BYTES = 16 * 2**20  # a configuration file of 10,000 runs is about 1 MB
MAX_DEPTH = 32  # tables and arrays inside each other; a configuration uses 4
_loaded: dict[tuple[str, int, int, int], StudyConfig] = {}  # (path, inode, size, mtime) -> parsed, for resolve


def load_file(path: str | Path) -> StudyConfig:
    """Read a configuration file; every problem is a ConfigError naming the file. A file is parsed once
    per content (a reproduction resolves each of its runs from it)."""
    from c3bench import strict_json
    from c3bench.safe_files import read_own_file

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file.")
    info = path.stat()
    key = (str(path.resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
    if key in _loaded:
        return _loaded[key]
    try:
        data = tomllib.loads(read_own_file(path, MAX_FILE_BYTES, "configuration file", follow_links=True)
                            .decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    except RecursionError:
        raise ConfigError(f"{path}: nests tables and arrays too deeply (at most {MAX_DEPTH} levels).") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}).") from None
    if strict_json.depth(data) > MAX_DEPTH:
        raise ConfigError(f"{path}: nests tables and arrays {strict_json.depth(data)} levels deep; at most "
                          f"{MAX_DEPTH} are allowed.")
    config = parse_config(data, str(path), path.stem, path)
    if len(_loaded) >= 16:
        _loaded.clear()
    _loaded[key] = config
    return config


# ------------------------------------------------------------------------------------------ named ones
def builtins() -> dict[str, StudyConfig]:
    """The configurations shipped with c3bench (this package's ``*.toml`` files), by name."""
    configs = (load_file(path) for path in sorted(FOLDER.glob("*.toml")))
    return {config.name: config for config in configs}


def named_configs() -> dict[str, StudyConfig]:
    """The named configurations, by name: the built-ins and plug-ins' (``c3bench.registry.CONFIGS``)."""
    from c3bench.registry import CONFIGS

    return CONFIGS.items()


def get_config(reference: str) -> tuple[StudyConfig, str | None]:
    """``NAME``, ``NAME/RUN``, ``path.toml`` or ``path.toml#RUN`` -> (configuration, run name or None)."""
    text = reference.strip()
    if ".toml" in text:
        path, _, row = text.partition("#")
        return load_file(path), (row or None)
    from c3bench.registry import CONFIGS

    name, _, row = text.partition("/")
    if name not in CONFIGS:
        raise ConfigError(f"unknown config '{name}'.{did_you_mean(name, CONFIGS.names())} Available: "
                          f"{', '.join(CONFIGS.names())} (see `c3bench configs`), or give a .toml file.")
    return CONFIGS.get(name), (row or None)
