"""Reproduce a published table: run its named configuration's rows over seeds, then set c3bench's
numbers beside the published ones.

``plan_suite`` turns a configuration (``c3bench configs``) into one resolved run per row and seed;
the sweep runs them (what already has a result is skipped). ``build_report`` reads the records and
gives, per row: the published mean +- std, c3bench's mean +- std over the seeds found, the
difference, whether it lies within 2 published standard deviations (2 points where none is
published), and bandwidth and client/total compute in both conventions (the published ones are in
the paper's: non-zeros x 4 bytes, forward multiply-accumulates).

A plan's time estimate, which trains nothing, is :mod:`c3bench.estimate`'s.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from c3bench.configs import FOLDER, METRIC_TOTALS, METRICS, ConfigRun, Reference, StudyConfig, get_config
from c3bench.conventions import CONVENTIONS
from c3bench.hparams import ConfigError
from c3bench.results import config_hash, execution_flags, totals_from_rounds
from c3bench.runner import ResolvedRun, RunSpec, resolve
from c3bench.score import c3_score


@dataclass
class PlannedRun:
    row: ConfigRun
    seed: int
    run: ResolvedRun


def plan_suite(name: str, seeds: Sequence[int] | None = None, rounds: int | None = None, data_root: str | None = None,
               device: str = "cpu", rows: Sequence[str] | None = None,
               flush_denormal: bool = False) -> tuple[StudyConfig, list[PlannedRun]]:
    """Every (row, seed) of a configuration as a validated run, in table order."""
    config, row = get_config(name)
    if row is not None:
        rows = [row, *(rows or [])]
    chosen = [config.row(r) for r in rows] if rows else list(config.runs)
    seeds = list(dict.fromkeys(seeds)) if seeds else list(config.seeds)
    if rounds is not None and rounds < 1:
        raise ConfigError(f"--rounds must be at least 1, got {rounds}.")
    from c3bench.sweep import MAX_JOBS

    if len(chosen) * len(seeds) > MAX_JOBS:
        raise ConfigError(f"{config.name}: {len(chosen):,} rows x {len(seeds):,} seeds is more than {MAX_JOBS:,} runs; "
                          "reproduce fewer (--rows, --seeds) at a time (the same --out folder skips what is done).")
    shipped = config.path is not None and config.path.parent == FOLDER
    planned = []
    for r in chosen:
        for seed in seeds:
            reference = f"{config.name}/{r.name}" if shipped else f"{config.path}#{r.name}"
            spec = RunSpec(method=None, protocol=None, config=reference, seed=seed, rounds=rounds,
                           data_root=data_root, device=device, flush_denormal=flush_denormal)
            planned.append(PlannedRun(r, seed, resolve(spec)))
    return config, planned


# ------------------------------------------------------------------------------------------ report
@dataclass
class Measures:
    """Means over seeds, in GB and tera-units (FLOPs or forward MACs) of one convention."""

    bandwidth_gb: float
    client_t: float
    total_t: float


@dataclass
class RowReport:
    """One row. ``accuracy_*``, ``c3``: c3bench's headline (deployed model, last round; std over seeds);
    ``same_*``, ``delta``, ``within``: c3bench on the metric the published number measures
    (``metric``; mean and population std over seeds, as the source computed its own)."""

    name: str
    label: str
    method: str
    published: dict[str, Any] | None
    seeds: list[int]
    planned_seeds: list[int]
    statuses: list[str]
    rounds: list[int]
    accuracy_mean: float | None = None
    accuracy_std: float | None = None
    metric: str | None = None
    same_mean: float | None = None
    same_std: float | None = None
    same_missing: list[int] = field(default_factory=list)  # seeds whose records do not give ``metric``
    best_rounds: list[int] = field(default_factory=list)  # the round each seed's figure comes from (a best metric)
    delta: float | None = None
    tolerance: float | None = None
    within: bool | None = None
    c3: float | None = None
    c3_same: float | None = None
    paper: Measures | None = None
    c3bench: Measures | None = None
    note: str = ""
    files: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)  # numeric execution modes of its records, e.g. --flush-denormal
    # population std over seeds of each measure a claim reads (see _measure); absent with one seed
    spreads: dict[str, float] = field(default_factory=dict)


@dataclass
class ClaimResult:
    """A claim of the source in c3bench's numbers (costs in the paper's convention, as published).
    ``ours_std``: its spread, propagated from the rows' spreads over seeds (None where a row has one seed)."""

    claim: str
    published: float | None
    ours: float | None
    verdict: str
    ours_std: float | None = None


@dataclass
class Report:
    config: str
    title: str
    source: str
    protocol: str
    configured_rounds: int | None
    configured_seeds: list[int]
    score: dict[str, float]
    rows: list[RowReport]
    claims: list[ClaimResult] = field(default_factory=list)

    @property
    def shrunk(self) -> list[str]:
        """Why this report is smaller than the configuration (empty when it is the full suite)."""
        notes = []
        used_seeds = sorted({s for r in self.rows for s in r.seeds})
        if len(used_seeds) < len(self.configured_seeds):
            notes.append(f"{len(used_seeds)} of {len(self.configured_seeds)} seeds")
        rounds = sorted({n for r in self.rows for n in r.rounds})
        if self.configured_rounds is not None and rounds and min(rounds) < self.configured_rounds:
            notes.append(f"{'/'.join(map(str, rounds))} of {self.configured_rounds} rounds")
        missing = [r.name for r in self.rows if not r.seeds]
        if missing:
            notes.append(f"no result yet for {', '.join(missing)}")
        return notes

    def as_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "rows"}, "shrunk": self.shrunk,
                "rows": [asdict(r) for r in self.rows]}


def _measures(records: Sequence[dict[str, Any]], convention: str) -> Measures:
    values = [CONVENTIONS[convention].measures(r["totals"]) for r in records]
    return Measures(*(statistics.fmean(v[k] for v in values) for k in range(3)))


def row_report(row: ConfigRun, planned_seeds: list[int], records: Sequence[tuple[str, dict[str, Any]]],
               score: dict[str, float]) -> RowReport:
    """One row: published values against the records found for it, on the published metric and on
    c3bench's headline. Totals are recomputed from each record's log (records made before a figure
    existed give it too, where their log has what it needs)."""
    ref: Reference | None = row.reference
    found = [{**r, "totals": totals_from_rounds(r["rounds"])} for _, r in records if r["rounds"]]
    out = RowReport(row.name, row.label, row.method, ref.as_dict() if ref else None,
                    sorted(r["config"]["seed"] for r in found), planned_seeds, [r["status"] for r in found],
                    sorted({r["totals"]["rounds_completed"] for r in found}), note=row.note,
                    files=[s for s, _ in records], metric=ref.metric if ref else None,
                    modes=sorted({f for r in found for f in execution_flags(r.get("execution", {}))}))
    if not found:
        return out
    accs = [r["totals"]["accuracy"] for r in found]
    out.accuracy_mean = statistics.fmean(accs)
    out.accuracy_std = statistics.stdev(accs) if len(accs) > 1 else None  # no spread from one seed
    out.paper, out.c3bench = _measures(found, "paper"), _measures(found, "c3bench")
    has_budgets = {"bmax_gb", "cmax_tflops"} <= set(score)

    def c3(accuracy: float) -> float:
        return c3_score(accuracy, out.paper.bandwidth_gb, out.paper.client_t, score["bmax_gb"], score["cmax_tflops"],
                        score.get("temperature", 8.0))

    if has_budgets:
        out.c3 = c3(out.accuracy_mean)
    _spreads(out, found, score if has_budgets else None, accs)
    if ref is None:
        return out
    out.spreads.pop("accuracy", None)  # a claim reads the published metric's, set below where seeds give it
    key = METRIC_TOTALS[ref.metric]
    same = [r["totals"][key] for r in found]
    out.same_missing = sorted(r["config"]["seed"] for r, v in zip(found, same, strict=True) if v is None)
    if ref.metric.endswith("-best"):
        out.best_rounds = [r["totals"][f"{key}_round"] for r in found if r["totals"][key] is not None]
    same = [v for v in same if v is not None]  # seeds made before the figure existed are named, not guessed
    if not same:
        return out
    out.same_mean = statistics.fmean(same)
    out.same_std = statistics.pstdev(same) if len(same) > 1 else None
    if out.same_std is not None:
        out.spreads["accuracy"] = out.same_std
    if has_budgets:
        out.c3_same = c3(out.same_mean)
    if ref.accuracy is not None:
        out.delta = out.same_mean - ref.accuracy
        out.tolerance = 2 * ref.accuracy_std if ref.accuracy_std is not None else 2.0
        out.within = abs(out.delta) <= out.tolerance
    return out


def _spreads(out: RowReport, found: Sequence[dict[str, Any]], score: dict[str, float] | None,
             accuracies: Sequence[float]) -> None:
    """Each claim measure's population std over the row's seeds (as the source computed its own), where
    it has more than one: headline accuracy (replaced by the published metric's where there is one),
    costs in the paper's convention, and C3 from each seed's own accuracy and costs."""
    if len(found) < 2:
        return
    costs = [CONVENTIONS["paper"].measures(r["totals"]) for r in found]
    out.spreads = {"accuracy": statistics.pstdev(accuracies),
                   **{name: statistics.pstdev(c[k] for c in costs)
                      for k, name in enumerate(("bandwidth_gb", "client_t", "total_t"))}}
    if score is not None:
        out.spreads["c3"] = statistics.pstdev(
            c3_score(a, c[0], c[1], score["bmax_gb"], score["cmax_tflops"], score.get("temperature", 8.0))
            for a, c in zip(accuracies, costs, strict=True))


def _measure(row: RowReport, measure: str) -> float | None:
    """A row's value for a claim: accuracy on the published metric (the claims are about published
    numbers), costs and C3 on c3bench's headline."""
    if row.accuracy_mean is None:
        return None
    if measure == "accuracy":
        return row.same_mean if row.metric is not None else row.accuracy_mean
    return {"c3": row.c3, "bandwidth_gb": row.paper.bandwidth_gb, "client_t": row.paper.client_t,
            "total_t": row.paper.total_t}[measure]


def _spread(row: RowReport, measure: str) -> float | None:
    return row.spreads.get(measure)


def _propagated(compare: str, a: float, b: float, sa: float | None, sb: float | None) -> float | None:
    """The spread of a - b or a / b from the spreads over seeds of two independent rows (first order;
    None where one is unknown or b is 0). Like the source's ± std, it is the seed-to-seed spread, not the
    standard error of a mean."""
    if sa is None or sb is None or (compare != "difference" and not b):
        return None
    if compare == "difference":
        return math.hypot(sa, sb)
    return math.hypot(sa / b, a * sb / b**2)


def _apart(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` printed with 3 significant digits, or as many more (up to 8) as tell them apart."""
    digits = next((d for d in range(3, 9) if f"{a:.{d}g}" != f"{b:.{d}g}"), 8)
    return f"{a:.{digits}g}", f"{b:.{digits}g}"


def _within_noise(margin: float, std: float | None) -> bool:
    return std is not None and abs(margin) <= 2 * std


def check_claim(claim, rows: Sequence[RowReport]) -> ClaimResult:
    """Whether a claim holds in these rows: a difference or ratio in the claimed direction and at least half
    the published size holds; in the direction but smaller is weaker; otherwise it does not hold. With seeds
    enough for a spread, a verdict whose margin is within two of its stds says so."""
    by_name = {r.name: r for r in rows}
    values = [_measure(by_name[n], claim.measure) if n in by_name else None for n in claim.rows]
    if any(v is None for v in values):
        return ClaimResult(claim.claim, claim.published, None,
                           "not checked: a row has no result on the published metric yet")
    if claim.compare == "best":
        higher_is_better = claim.measure in ("accuracy", "c3")
        ranked = sorted((r for r in rows if _measure(r, claim.measure) is not None),
                        key=lambda r: _measure(r, claim.measure), reverse=higher_is_better)
        best, std = ranked[0], _spread(by_name[claim.rows[0]], claim.measure)
        if best.name != claim.rows[0]:
            gap_std = _propagated("difference", _measure(best, claim.measure), values[0],
                                  _spread(best, claim.measure), std)
            noise = ", within two std of it" if _within_noise(_measure(best, claim.measure) - values[0], gap_std) else ""
            better, ours = _apart(_measure(best, claim.measure), values[0])
            return ClaimResult(claim.claim, None, values[0], f"does not hold: {best.label} is better "
                                                             f"({better} against {ours}){noise}", std)
        pending = [r.label for r in rows if _measure(r, claim.measure) is None]
        if pending:  # best so far: a row without a result could still beat it
            return ClaimResult(claim.claim, None, values[0], f"holds so far: best of the {len(ranked)} rows with "
                                                             f"a result; none yet for {', '.join(pending)}", std)
        verdict = "holds"
        if len(ranked) > 1:
            second = ranked[1]
            margin_std = _propagated("difference", values[0], _measure(second, claim.measure), std,
                                     _spread(second, claim.measure))
            if _within_noise(values[0] - _measure(second, claim.measure), margin_std):
                verdict += f", though {second.label} is within two std of it"
        return ClaimResult(claim.claim, None, values[0], verdict, std)
    a, b = values
    if claim.compare != "difference" and not b:  # a ratio over 0 has no number to print or to write as JSON
        zero = by_name[claim.rows[1]].label
        verdict = (f"holds: {zero} measures 0, so the ratio is unbounded" if a > 0
                   else f"not checked: {by_name[claim.rows[0]].label} and {zero} both measure 0, so there is no ratio")
        return ClaimResult(claim.claim, claim.published, None, verdict)
    ours = a - b if claim.compare == "difference" else a / b
    std = _propagated(claim.compare, a, b, *(_spread(by_name[n], claim.measure) for n in claim.rows))
    neutral = 0.0 if claim.compare == "difference" else 1.0
    if ours <= neutral:
        verdict = "does not hold"
    elif claim.published is not None and abs(ours - neutral) < abs(claim.published - neutral) / 2:
        verdict = "weaker: in the claimed direction, less than half the published size"
    else:
        verdict = "holds"
    if _within_noise(ours - neutral, std):
        verdict += f", within two std of {'no difference' if claim.compare == 'difference' else 'a ratio of 1'}"
    return ClaimResult(claim.claim, claim.published, ours, verdict, std)


def build_report(config: StudyConfig, planned: Sequence[PlannedRun],
                 records: dict[str, tuple[str, dict[str, Any]]]) -> Report:
    """``records``: result name -> (file, record), for the planned runs that have one."""
    rows = []
    for row in {p.row.name: p.row for p in planned}.values():
        mine = [p for p in planned if p.row.name == row.name]
        found = [records[p.run.name] for p in mine if p.run.name in records]
        rows.append(row_report(row, [p.seed for p in mine], found, dict(config.score)))
    claims = [check_claim(c, rows) for c in config.claims if all(n in {r.name for r in rows} for n in c.rows)]
    return Report(config.name, config.description, config.source, config.protocol, config.rounds,
                  list(config.seeds), dict(config.score), rows, claims)


def _require_named(name: str) -> None:
    """Raise ConfigError unless ``name`` is a named configuration (never a file path: boards name suites)."""
    from c3bench.configs import named_configs
    from c3bench.hparams import did_you_mean

    if name not in named_configs():
        raise ConfigError(f"no configuration named {name!r} (see `c3bench reproduce --list`)."
                          f"{did_you_mean(name, named_configs())}")


def rows_of(names: Sequence[str], records: Sequence[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The records (any seed) that are rows of the named configurations: the same configuration as one of
    their planned runs, whichever table a record was run for."""
    wanted: set[str] = set()
    for name in names:
        _require_named(name)
        wanted |= {config_hash(p.run.config) for p in plan_suite(name, seeds=[0])[1]}
    return [(source, record) for source, record in records if config_hash(record["config"]) in wanted]


def report_from_records(name: str, seeds: Sequence[int], records: Sequence[tuple[str, dict[str, Any]]]) -> Report:
    """The report of the named configuration ``name`` over ``seeds`` from ``records`` ((source, record)
    pairs, e.g. a board's entries): each planned run takes the finished record of its configuration and
    seed, as a sweep finds what is done; the other records are not part of it."""
    from c3bench.sweep import DONE

    _require_named(name)
    config, planned = plan_suite(name, seeds)
    index: dict[str, tuple[str, dict[str, Any]]] = {}
    for source, record in sorted(records, key=lambda item: item[0]):
        if record.get("status") in DONE:
            index.setdefault(config_hash(record["config"], include_seed=True), (source, record))
    found = {p.run.name: index[key] for p in planned if (key := config_hash(p.run.config, include_seed=True)) in index}
    return build_report(config, planned, found)


# ------------------------------------------------------------------------------------------ rendering
def _pm(mean: float | None, std: float | None, digits: int = 2) -> str:
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _num(v: float | None, spec: str = ".3g") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def metric_text(r: RowReport) -> str:
    """What the published number measures, in words ('-' for a row without one)."""
    return METRICS[r.metric] if r.metric else "-"


def same_metric_text(r: RowReport) -> str:
    """c3bench on the published metric, or why it is missing."""
    if r.metric is None or not r.seeds:
        return "-"
    missing = ""
    if r.same_missing:
        seeds = ", ".join(map(str, r.same_missing))
        missing = f"needs a re-run: the record{'s' if len(r.same_missing) > 1 else ''} of seed " \
                  f"{seeds} predate{'' if len(r.same_missing) > 1 else 's'} local-model scoring"
    if r.same_mean is None:
        return missing
    rounds = f" (round{'s' if len(set(r.best_rounds)) > 1 else ''} {', '.join(map(str, r.best_rounds))})" \
        if r.best_rounds else ""
    if missing:  # short: it sits in a table cell
        have = [s for s in r.seeds if s not in r.same_missing]
        rounds += (f"; seed{'s' if len(have) > 1 else ''} {', '.join(map(str, have))} only (re-run "
                   f"{', '.join(map(str, r.same_missing))}: older records)")
    return _pm(r.same_mean, r.same_std) + rounds


def _within(r: RowReport) -> str:
    return "-" if r.within is None else ("yes" if r.within else "no")


HEADERS = ("row", "seeds", "published acc.", "it measures", "c3bench, same measure", "Δ", "within",
           "c3bench headline", "C3 (pub.)", "C3 same measure", "C3 headline")
COST_HEADERS = ("row", "GB paper (pub.)", "GB paper", "GB as sent", "client T paper (pub.)", "client T paper",
                "total T paper (pub.)", "total T paper", "client TFLOPs", "total TFLOPs")


def row_cells(r: RowReport) -> list[str]:
    p = r.published or {}
    return [r.label, f"{len(r.seeds)}/{len(r.planned_seeds)}", _pm(p.get("accuracy"), p.get("accuracy_std")),
            metric_text(r), same_metric_text(r), _num(r.delta, "+.2f"), _within(r), _pm(r.accuracy_mean, r.accuracy_std),
            _num(p.get("c3"), ".2f"), _num(r.c3_same, ".3f"), _num(r.c3, ".3f")]


def cost_cells(r: RowReport) -> list[str]:
    p = r.published or {}
    return [r.label, _num(p.get("bandwidth_gb")), _num(r.paper.bandwidth_gb if r.paper else None),
            _num(r.c3bench.bandwidth_gb if r.c3bench else None),
            _num(p.get("client_tflops")), _num(r.paper.client_t if r.paper else None),
            _num(p.get("total_tflops")), _num(r.paper.total_t if r.paper else None),
            _num(r.c3bench.client_t if r.c3bench else None), _num(r.c3bench.total_t if r.c3bench else None)]


COMPACT_HEADERS = ("row", "seeds", "published (it measures)", "c3bench, same measure", "Δ", "ok", "headline",
                   "GB: pub. → paper conv. (as sent)", "client T: pub. → c3bench", "C3: pub. → same → headline")


def compact_cells(r: RowReport) -> list[str]:
    """The row for a terminal: each published value beside c3bench's (costs in the paper's convention,
    bandwidth as sent in brackets)."""
    p = r.published or {}

    def pair(published: float | None, ours: float | None, spec: str = ".3g") -> str:
        return f"{_num(published, spec)} → {_num(ours, spec)}"

    bandwidth = pair(p.get("bandwidth_gb"), r.paper.bandwidth_gb if r.paper else None)
    if r.c3bench:
        bandwidth += f" ({r.c3bench.bandwidth_gb:.3g})"
    published = _pm(p.get("accuracy"), p.get("accuracy_std")) + (f" ({metric_text(r)})" if r.metric else "")
    return [r.label, f"{len(r.seeds)}/{len(r.planned_seeds)}", published, same_metric_text(r),
            _num(r.delta, "+.2f"), _within(r), _pm(r.accuracy_mean, r.accuracy_std), bandwidth,
            pair(p.get("client_tflops"), r.paper.client_t if r.paper else None),
            f"{_num(p.get('c3'), '.2f')} → {_num(r.c3_same, '.3f')} → {_num(r.c3, '.3f')}"]


def caption(report: Report) -> str:
    shrunk = report.shrunk
    parts = [f"{report.title}", f"Source: {report.source}." if report.source else ""]
    parts.append("Each published accuracy is compared like for like: c3bench's figure on the metric it measures "
                 "('it measures': which model, which round), mean ± population std over the seeds run, as the "
                 "source computed its own; 'within': |Δ| ≤ 2 published std (2 points where none is published). "
                 "Beside it, c3bench's headline, which boards and C3 rank: each client's deployed model after the "
                 "last round, mean ± std over seeds (the best round is chosen on the test split, so it is not a "
                 "figure to rank by). Costs in the paper's convention (non-zeros × 4 bytes; forward "
                 "multiply-accumulates, 'TFLOPS') beside the published ones, and in c3bench's (bytes as sent; "
                 "forward + backward FLOPs).")
    if report.score:
        parts.append(f"C3 with the source's budgets: Bmax {report.score.get('bmax_gb'):g} GB, Cmax "
                     f"{report.score.get('cmax_tflops'):g} T, T = {report.score.get('temperature', 8.0):g}, paper convention.")
    if shrunk:
        parts.append("**Shrunk:** " + "; ".join(shrunk) + ".")
    return " ".join(p for p in parts if p)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers), *("| " + " | ".join(c) + " |" for c in rows)]


def render_markdown(report: Report) -> str:
    lines = [f"### {report.config} ({report.protocol})", "", caption(report), "",
             *_table(HEADERS, [row_cells(r) for r in report.rows]), "", "Costs:", "",
             *_table(COST_HEADERS, [cost_cells(r) for r in report.rows])]
    notes = []
    for r in report.rows:
        reference_note = (r.published or {}).get("note")
        text = " ".join(t for t in (r.note, f"Reference: {reference_note}" if reference_note else "") if t)
        if text:
            notes.append(f"- {r.label}: {text}")
    notes += [f"- {r.label}: run with {', '.join(r.modes)} (kept in its records' execution; its numbers differ "
              "from a run without it)." for r in report.rows if r.modes]
    if report.claims:
        notes += ["", "**The source's claims in c3bench's numbers** (accuracy on the published metric; costs in the "
                  "paper's convention and C3 on the headline):", ""]
        for c in report.claims:
            shown = "-" if c.ours is None else f"{c.ours:.3g}" + (f" ± {c.ours_std:.2g}" if c.ours_std else "")
            published = "" if c.published is None else f" (published: {c.published:.3g})"
            notes.append(f"- {c.claim}: c3bench {shown}{published}: **{c.verdict}**.")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def render_csv(reports: Sequence[Report]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["config", "row", "method", "seeds", "planned_seeds", "published_accuracy", "published_std",
                     "published_metric", "same_metric_mean", "same_metric_std", "same_metric_missing_seeds", "delta",
                     "tolerance", "within", "headline_accuracy_mean", "headline_accuracy_std", "published_gb",
                     "gb_paper", "gb_c3bench", "published_client_t", "client_t_paper", "published_total_t",
                     "total_t_paper", "client_tflops", "total_tflops", "published_c3", "c3_same_metric", "c3_headline",
                     "shrunk"])
    for report in reports:
        for r in report.rows:
            p = r.published or {}
            writer.writerow([report.config, r.name, r.method, len(r.seeds), len(r.planned_seeds), p.get("accuracy"),
                             p.get("accuracy_std"), r.metric, r.same_mean, r.same_std,
                             " ".join(map(str, r.same_missing)), r.delta, r.tolerance, r.within, r.accuracy_mean,
                             r.accuracy_std, p.get("bandwidth_gb"), r.paper and r.paper.bandwidth_gb,
                             r.c3bench and r.c3bench.bandwidth_gb, p.get("client_tflops"), r.paper and r.paper.client_t,
                             p.get("total_tflops"), r.paper and r.paper.total_t, r.c3bench and r.c3bench.client_t,
                             r.c3bench and r.c3bench.total_t, p.get("c3"), r.c3_same, r.c3, "; ".join(report.shrunk)])
    return buffer.getvalue()


def render_json(reports: Sequence[Report]) -> str:
    return json.dumps([r.as_dict() for r in reports], indent=1, allow_nan=False)  # strict JSON: no Infinity
