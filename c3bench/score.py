"""The C3-Score (AdaSplit paper, eq. 9) and the score table, computed from result records alone.

    C3 = A/100 * exp(-(B/Bmax + C/Cmax) / T)

A: mean accuracy (%), B: bandwidth, C: client compute, Bmax/Cmax: the scale (normalisers, :class:`C3Scale`), T: temperature.
The paper does not state T; T = 8 reproduces its Tables 1 and 2 C3 columns from their other
columns within 0.01 on 15 of 16 rows (worst: 0.015), see tests/test_score.py.

Nothing here imports a method, the runner or torch: a record carries what the table needs (its
configuration, the method's key hyperparameters and defaults, the per-round totals and, for a run
of a named configuration, the published values it reproduces).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from c3bench.conventions import CONVENTIONS
from c3bench.results import canonical_json, group_by_config
from c3bench.settings_text import flatten, setting_text

DEFAULT_TEMPERATURE = 8.0


def c3_score(accuracy: float, bandwidth: float, compute: float, bmax: float, cmax: float,
             temperature: float = DEFAULT_TEMPERATURE) -> float:
    """C3-Score of one method: accuracy in %, bandwidth and compute in the same units as Bmax and Cmax."""
    values = (accuracy, bandwidth, compute, bmax, cmax, temperature)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        raise ValueError("C3 needs finite numbers")
    if bmax <= 0 or cmax <= 0:
        raise ValueError("the scale Bmax and Cmax must be positive")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    if bandwidth < 0 or compute < 0:
        raise ValueError("bandwidth and compute cannot be negative")
    return accuracy / 100.0 * math.exp(-(bandwidth / bmax + compute / cmax) / temperature)


@dataclass(frozen=True)
class C3Scale:
    """The C3-Score's scale: the normalisers Bmax (GB) and Cmax (TFLOPs, in a convention's compute unit)
    and the temperature T. Not budgets: nothing stops a run that exceeds them (a run's own limits are
    ``c3bench.accounting.Budgets``); they set how fast the score falls with cost."""

    bmax_gb: float
    cmax_tflops: float
    temperature: float = DEFAULT_TEMPERATURE

    def score(self, accuracy: float, bandwidth_gb: float, client_t: float) -> float:
        return c3_score(accuracy, bandwidth_gb, client_t, self.bmax_gb, self.cmax_tflops, self.temperature)


@dataclass
class ScoreRow:
    """One configuration, aggregated over the seeds it was run with."""

    method: str
    params: str
    protocol: str
    seeds: int
    rounds: int
    accuracy_mean: float
    accuracy_std: float | None  # None for a single seed: no spread to show
    bandwidth_gb: float
    client_tflops: float
    total_tflops: float
    sim_time_s: float | None
    c3: float | None
    status: str
    config_hash: str
    files: list[str]
    published_accuracy: float | None = None  # from the named configuration the runs reproduce
    published_std: float | None = None
    reference: str | None = None
    settings: list[str] = field(default_factory=list)  # what tells this row apart, as people read it

    @property
    def delta(self) -> float | None:
        return None if self.published_accuracy is None else self.accuracy_mean - self.published_accuracy

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delta": self.delta}


def _format(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def key_params(record: dict[str, Any]) -> str:
    """The method's key hyperparameters plus any that differ from its defaults, as ``k=v`` text, from the
    record alone (records without the method's declaration show every parameter)."""
    params = record["config"].get("method_params", {})
    declared = record.get("hparams") if isinstance(record.get("hparams"), dict) else {}
    defaults, keys = declared.get("defaults"), set(declared.get("key", ()))
    if defaults is None:
        shown = dict(params)
    else:
        shown = {k: v for k, v in params.items() if k in keys or k not in defaults or defaults[k] != v}
    return ",".join(f"{k}={_format(v)}" for k, v in sorted(shown.items()))


# configuration fields a row's settings may name besides the method's hyperparameters (rounds has its
# own column; the protocol's parameters are its table's)
_RUN_SETTINGS = ("backbone", "budgets.bandwidth_bytes", "budgets.client_flops", "devices", "charge_inference")


def row_settings(records: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """config_hash -> what a score row shows in its settings column, in words
    (:func:`c3bench.settings_text.setting_text`): the method's key hyperparameters that differ among the
    rows of the same method, every hyperparameter off its default, then the run settings (budgets,
    backbone, devices, charged inference) that differ among the rows of the same method. Records that
    do not declare their defaults show every hyperparameter."""
    configs = {r["config_hash"]: r for r in records}
    by_method: dict[str, list[str]] = {}
    for chash, record in configs.items():
        by_method.setdefault(record["config"]["method"], []).append(chash)
    out: dict[str, list[str]] = {}
    for members in by_method.values():
        flats = {h: flatten(configs[h]["config"]) for h in members}
        differing = [k for k in _RUN_SETTINGS if len({canonical_json(f.get(k)) for f in flats.values()}) > 1]
        varied = {k for k in {k for f in flats.values() for k in f}
                  if len({canonical_json(f.get(k)) for f in flats.values()}) > 1}
        for h in members:
            record = configs[h]
            params = record["config"].get("method_params", {})
            declared = record.get("hparams") if isinstance(record.get("hparams"), dict) else {}
            defaults, keys = declared.get("defaults"), list(declared.get("key", ()))
            off = [k for k in params if defaults is not None and (k not in defaults or defaults[k] != params[k])]
            shown = list(params) if defaults is None else (
                [k for k in keys if k in params and (k in varied or k in off)]
                + sorted(k for k in off if k not in keys))
            out[h] = [setting_text(k, params[k]) for k in shown] + [setting_text(k, flats[h].get(k)) for k in differing]
    return out


def measures(record: dict[str, Any], convention: str) -> tuple[float, float, float, float]:
    """(accuracy %, bandwidth GB, client tera-units, total tera-units) of one record."""
    return (record["totals"]["accuracy"], *CONVENTIONS[convention].measures(record["totals"]))


def _published(members: Sequence[tuple[str, dict[str, Any]]]) -> tuple[float | None, float | None, str | None]:
    refs = [r.get("reference") for _, r in members]
    first = refs[0]
    if not first or any(ref != first for ref in refs) or first.get("overridden") or first.get("shrunk"):
        return None, None, None  # only a faithful run of a published row is compared with it
    values = first.get("values") or {}
    return values.get("accuracy"), values.get("accuracy_std"), first.get("config")


def score_table(
    records: Sequence[tuple[str, dict[str, Any]]],
    bmax: float | None = None,
    cmax: float | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    convention: str = "c3bench",
) -> tuple[list[ScoreRow], dict[str, Any]]:
    """Group records that differ only in seed, average them, and score each group.

    ``records`` are (source name, record) pairs. Bmax and Cmax, the C3 scale (:class:`C3Scale`), default
    to the largest bandwidth and client compute among the groups, as in the paper (``scale["defaulted"]``
    says which). Returns the rows (best C3 first) and the scale used.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {tuple(CONVENTIONS)}")
    finished = [(s, r) for s, r in records if r["totals"].get("accuracy") is not None]
    settings = row_settings([r for _, r in finished])
    rows = []
    for chash, members in group_by_config(finished).items():
        values = [measures(r, convention) for _, r in members]
        accs = [v[0] for v in values]
        first = members[0][1]
        sims = [r["totals"].get("sim_time_s") for _, r in members]
        published, published_std, reference = _published(members)
        rows.append(ScoreRow(
            method=first["config"]["method"],
            params=key_params(first),
            protocol=first["config"]["protocol"],
            seeds=len({r["config"]["seed"] for _, r in members}),
            rounds=max(r["totals"]["rounds_completed"] for _, r in members),
            accuracy_mean=statistics.fmean(accs),
            accuracy_std=statistics.stdev(accs) if len(accs) > 1 else None,
            bandwidth_gb=statistics.fmean(v[1] for v in values),
            client_tflops=statistics.fmean(v[2] for v in values),
            total_tflops=statistics.fmean(v[3] for v in values),
            sim_time_s=statistics.fmean(sims) if all(s is not None for s in sims) else None,
            c3=None,
            status=",".join(sorted({r["status"] for _, r in members})),
            config_hash=chash,
            files=[s for s, _ in members],
            published_accuracy=published, published_std=published_std, reference=reference,
            settings=settings.get(chash, []),
        ))
    scale = {
        "bmax_gb": bmax if bmax is not None else max((r.bandwidth_gb for r in rows), default=0.0),
        "cmax_tflops": cmax if cmax is not None else max((r.client_tflops for r in rows), default=0.0),
        "temperature": temperature,
        "defaulted": [name for name, given in (("Bmax", bmax), ("Cmax", cmax)) if given is None],
    }
    for row in rows:
        if scale["bmax_gb"] > 0 and scale["cmax_tflops"] > 0:
            row.c3 = c3_score(row.accuracy_mean, row.bandwidth_gb, row.client_tflops,
                              scale["bmax_gb"], scale["cmax_tflops"], temperature)
    rows.sort(key=lambda r: (-(r.c3 if r.c3 is not None else -1), r.method))
    return rows, scale


@dataclass
class ScoreBlock:
    """One table: the runs of one protocol with the same protocol parameters, under one C3 scale.
    ``distinct``: the protocol parameters that set this table apart from others of the same protocol."""

    protocol: str
    protocol_params: dict[str, Any]
    distinct: dict[str, Any]
    rows: list[ScoreRow]
    scale: dict[str, Any]

    @property
    def title(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.distinct.items())
        return f"{self.protocol} ({shown})" if shown else self.protocol


def score_blocks(
    records: Sequence[tuple[str, dict[str, Any]]],
    bmax: float | None = None,
    cmax: float | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    convention: str = "c3bench",
) -> list[ScoreBlock]:
    """The score tables of ``records``: one per protocol and protocol parameters, each scored on its own
    (a default Bmax or Cmax is the largest within its table), so that runs on 2 clients x 64 images never
    share a scale, or a ranking, with runs on the defaults."""
    groups: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for item in records:
        cfg = item[1]["config"]
        groups.setdefault((cfg["protocol"], canonical_json(cfg.get("protocol_params", {}))), []).append(item)
    blocks = []
    for (protocol, _), items in sorted(groups.items()):
        params = items[0][1]["config"].get("protocol_params", {})
        siblings = [i[0][1]["config"].get("protocol_params", {}) for (p, _), i in groups.items() if p == protocol]
        distinct = {k: v for k, v in params.items()
                    if len(siblings) > 1 and len({canonical_json(o.get(k)) for o in siblings}) > 1}
        rows, scale = score_table(items, bmax, cmax, temperature, convention)
        blocks.append(ScoreBlock(protocol, dict(params), distinct, rows, scale))
    return blocks
