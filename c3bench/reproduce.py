"""Reproduce a published table: run its named configuration's rows over seeds, then set c3bench's
numbers beside the published ones.

``plan_suite`` turns a configuration (``c3bench configs``) into one resolved run per row and seed;
the sweep runs them (what already has a result is skipped). ``build_report`` reads the records and
gives, per row: the published mean +- std, c3bench's mean +- std over the seeds found, the
difference, whether it lies within 2 published standard deviations (2 points where none is
published), and bandwidth and client/total compute in both conventions (the published ones are in
the paper's: non-zeros x 4 bytes, forward multiply-accumulates).

``probe_seconds`` estimates a run's wall time on this machine by running a slice of its real
rounds (the first and, for methods with a local phase, a global one) and its evaluation.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from c3bench.configs import FOLDER, ConfigRun, Reference, StudyConfig, get_config
from c3bench.conventions import CONVENTIONS
from c3bench.hparams import ConfigError
from c3bench.results import execution_flags
from c3bench.runner import ResolvedRun, Runner, RunSpec, evaluate, resolve
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
    delta: float | None = None
    tolerance: float | None = None
    within: bool | None = None
    c3: float | None = None
    paper: Measures | None = None
    c3bench: Measures | None = None
    note: str = ""
    files: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)  # numeric execution modes of its records, e.g. --flush-denormal


@dataclass
class ClaimResult:
    """A claim of the source in c3bench's numbers (costs in the paper's convention, as published)."""

    claim: str
    published: float | None
    ours: float | None
    verdict: str


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
    """One row: published values against the mean over the records found for it."""
    ref: Reference | None = row.reference
    found = [r for _, r in records if r["totals"].get("accuracy") is not None]
    out = RowReport(row.name, row.label, row.method, ref.as_dict() if ref else None,
                    sorted(r["config"]["seed"] for r in found), planned_seeds, [r["status"] for r in found],
                    sorted({r["totals"]["rounds_completed"] for r in found}), note=row.note,
                    files=[s for s, _ in records],
                    modes=sorted({f for r in found for f in execution_flags(r.get("execution", {}))}))
    if not found:
        return out
    accs = [r["totals"]["accuracy"] for r in found]
    out.accuracy_mean = statistics.fmean(accs)
    out.accuracy_std = statistics.stdev(accs) if len(accs) > 1 else None  # no spread from one seed
    out.paper, out.c3bench = _measures(found, "paper"), _measures(found, "c3bench")
    if ref is not None and ref.accuracy is not None:
        out.delta = out.accuracy_mean - ref.accuracy
        out.tolerance = 2 * ref.accuracy_std if ref.accuracy_std is not None else 2.0
        out.within = abs(out.delta) <= out.tolerance
    if {"bmax_gb", "cmax_tflops"} <= set(score):
        out.c3 = c3_score(out.accuracy_mean, out.paper.bandwidth_gb, out.paper.client_t, score["bmax_gb"],
                          score["cmax_tflops"], score.get("temperature", 8.0))
    return out


def _measure(row: RowReport, measure: str) -> float | None:
    if row.accuracy_mean is None:
        return None
    return {"accuracy": row.accuracy_mean, "c3": row.c3, "bandwidth_gb": row.paper.bandwidth_gb,
            "client_t": row.paper.client_t, "total_t": row.paper.total_t}[measure]


def check_claim(claim, rows: Sequence[RowReport]) -> ClaimResult:
    """Whether a claim holds in these rows: a difference or ratio in the claimed direction and at least half
    the published size holds; in the direction but smaller is weaker; otherwise it does not hold."""
    by_name = {r.name: r for r in rows}
    values = [_measure(by_name[n], claim.measure) if n in by_name else None for n in claim.rows]
    if any(v is None for v in values):
        return ClaimResult(claim.claim, claim.published, None, "not checked: a row has no result yet")
    if claim.compare == "best":
        higher_is_better = claim.measure in ("accuracy", "c3")
        ranked = sorted((r for r in rows if _measure(r, claim.measure) is not None),
                        key=lambda r: _measure(r, claim.measure), reverse=higher_is_better)
        best = ranked[0]
        if best.name != claim.rows[0]:
            return ClaimResult(claim.claim, None, values[0], f"does not hold: {best.label} is better "
                                                             f"({_measure(best, claim.measure):.3g})")
        pending = [r.label for r in rows if _measure(r, claim.measure) is None]
        if pending:  # best so far: a row without a result could still beat it
            return ClaimResult(claim.claim, None, values[0], f"holds so far: best of the {len(ranked)} rows with "
                                                             f"a result; none yet for {', '.join(pending)}")
        return ClaimResult(claim.claim, None, values[0], "holds")
    a, b = values
    ours = a - b if claim.compare == "difference" else (a / b if b else float("inf"))
    neutral = 0.0 if claim.compare == "difference" else 1.0
    if ours <= neutral:
        verdict = "does not hold"
    elif claim.published is not None and abs(ours - neutral) < abs(claim.published - neutral) / 2:
        verdict = "weaker: in the claimed direction, less than half the published size"
    else:
        verdict = "holds"
    return ClaimResult(claim.claim, claim.published, ours, verdict)


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


# ------------------------------------------------------------------------------------------ rendering
def _pm(mean: float | None, std: float | None, digits: int = 2) -> str:
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _num(v: float | None, spec: str = ".3g") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


HEADERS = ("row", "seeds", "published acc.", "c3bench acc.", "Δ", "within", "GB paper (pub.)", "GB paper",
           "GB as sent", "client T paper (pub.)", "client T paper", "total T paper (pub.)", "total T paper",
           "client TFLOPs", "total TFLOPs", "C3 (pub.)", "C3")


def row_cells(r: RowReport) -> list[str]:
    p = r.published or {}
    within = "-" if r.within is None else ("yes" if r.within else "no")
    seeds = f"{len(r.seeds)}/{len(r.planned_seeds)}"
    return [r.label, seeds, _pm(p.get("accuracy"), p.get("accuracy_std")), _pm(r.accuracy_mean, r.accuracy_std),
            _num(r.delta, "+.2f"), within,
            _num(p.get("bandwidth_gb")), _num(r.paper.bandwidth_gb if r.paper else None),
            _num(r.c3bench.bandwidth_gb if r.c3bench else None),
            _num(p.get("client_tflops")), _num(r.paper.client_t if r.paper else None),
            _num(p.get("total_tflops")), _num(r.paper.total_t if r.paper else None),
            _num(r.c3bench.client_t if r.c3bench else None), _num(r.c3bench.total_t if r.c3bench else None),
            _num(p.get("c3"), ".2f"), _num(r.c3, ".3f")]


COMPACT_HEADERS = ("row", "seeds", "accuracy: published → c3bench", "Δ", "ok", "GB: pub. → paper conv. (as sent)",
                   "client T: pub. → c3bench", "total T: pub. → c3bench", "C3: pub. → c3bench")


def compact_cells(r: RowReport) -> list[str]:
    """The row for a terminal: each published value beside c3bench's (costs in the paper's convention,
    bandwidth as sent in brackets)."""
    p = r.published or {}

    def pair(published: float | None, ours: float | None, spec: str = ".3g") -> str:
        return f"{_num(published, spec)} → {_num(ours, spec)}"

    bandwidth = pair(p.get("bandwidth_gb"), r.paper.bandwidth_gb if r.paper else None)
    if r.c3bench:
        bandwidth += f" ({r.c3bench.bandwidth_gb:.3g})"
    return [r.label, f"{len(r.seeds)}/{len(r.planned_seeds)}",
            f"{_pm(p.get('accuracy'), p.get('accuracy_std'))} → {_pm(r.accuracy_mean, r.accuracy_std)}",
            _num(r.delta, "+.2f"), "-" if r.within is None else ("yes" if r.within else "no"), bandwidth,
            pair(p.get("client_tflops"), r.paper.client_t if r.paper else None),
            pair(p.get("total_tflops"), r.paper.total_t if r.paper else None),
            f"{_num(p.get('c3'), '.2f')} → {_num(r.c3, '.3f')}"]


def caption(report: Report) -> str:
    shrunk = report.shrunk
    parts = [f"{report.title}", f"Source: {report.source}." if report.source else ""]
    parts.append("Accuracy: mean ± std over the seeds run (published: mean ± std of the source's runs); "
                 "'within': |Δ| ≤ 2 published std (2 points where none is published). Costs in the paper's "
                 "convention (non-zeros × 4 bytes; forward multiply-accumulates, 'TFLOPS') beside the published "
                 "ones, and in c3bench's (bytes as sent; forward + backward FLOPs).")
    if report.score:
        parts.append(f"C3 with the source's budgets: Bmax {report.score.get('bmax_gb'):g} GB, Cmax "
                     f"{report.score.get('cmax_tflops'):g} T, T = {report.score.get('temperature', 8.0):g}, paper convention.")
    if shrunk:
        parts.append("**Shrunk:** " + "; ".join(shrunk) + ".")
    return " ".join(p for p in parts if p)


def render_markdown(report: Report) -> str:
    lines = [f"### {report.config} ({report.protocol})", "", caption(report), "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in report.rows]
    notes = [f"- {r.label}: {r.note}" for r in report.rows if r.note]
    notes += [f"- {r.label}: run with {', '.join(r.modes)} (kept in its records' execution; its numbers differ "
              "from a run without it)." for r in report.rows if r.modes]
    if report.claims:
        notes += ["", "**The source's claims in c3bench's numbers** (costs in the paper's convention):", ""]
        for c in report.claims:
            shown = "-" if c.ours is None else f"{c.ours:.3g}"
            published = "" if c.published is None else f" (published: {c.published:.3g})"
            notes.append(f"- {c.claim}: c3bench {shown}{published}: **{c.verdict}**.")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def render_csv(reports: Sequence[Report]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["config", "row", "method", "seeds", "planned_seeds", "published_accuracy", "published_std",
                     "accuracy_mean", "accuracy_std", "delta", "tolerance", "within", "published_gb", "gb_paper",
                     "gb_c3bench", "published_client_t", "client_t_paper", "published_total_t", "total_t_paper",
                     "client_tflops", "total_tflops", "published_c3", "c3", "shrunk"])
    for report in reports:
        for r in report.rows:
            p = r.published or {}
            writer.writerow([report.config, r.name, r.method, len(r.seeds), len(r.planned_seeds), p.get("accuracy"),
                             p.get("accuracy_std"), r.accuracy_mean, r.accuracy_std, r.delta, r.tolerance, r.within,
                             p.get("bandwidth_gb"), r.paper and r.paper.bandwidth_gb, r.c3bench and r.c3bench.bandwidth_gb,
                             p.get("client_tflops"), r.paper and r.paper.client_t, p.get("total_tflops"),
                             r.paper and r.paper.total_t, r.c3bench and r.c3bench.client_t,
                             r.c3bench and r.c3bench.total_t, p.get("c3"), r.c3, "; ".join(report.shrunk)])
    return buffer.getvalue()


def render_json(reports: Sequence[Report]) -> str:
    return json.dumps([r.as_dict() for r in reports], indent=1)


# ------------------------------------------------------------------------------------------ estimates
class _ProbeDone(Exception):
    pass


def _probe_round(run: ResolvedRun, federation, round_index: int, seconds: float) -> float:
    """Seconds one training round takes here, from ``seconds`` of its real steps (progress rate)."""
    with tempfile.TemporaryDirectory() as tmp:
        _, ctx, method, _ = Runner(run, tmp, federation=federation).build()
    ticks: list[tuple[float, float]] = []

    def progress(fraction: float) -> None:
        ticks.append((time.perf_counter(), fraction))
        if len(ticks) > 2 and ticks[-1][0] - ticks[1][0] >= seconds:
            raise _ProbeDone

    ctx.progress = progress
    began = time.perf_counter()
    ctx.ledger.begin_round()
    try:
        method.run_round(round_index)
    except _ProbeDone:
        pass
    finally:
        ctx.clients.close()
    if len(ticks) < 3 or ticks[-1][1] <= ticks[1][1]:  # finished (or never reported): the whole round
        return time.perf_counter() - began
    (t1, f1), (t2, f2) = ticks[1], ticks[-1]  # from the second tick: the first step also counts FLOPs
    return (t2 - t1) / (f2 - f1)


def probe_seconds(run: ResolvedRun, federation, seconds: float = 1.0) -> float:
    """Estimated wall seconds of the whole run on this machine (training rounds and evaluations)."""
    with tempfile.TemporaryDirectory() as tmp:
        _, ctx, method, _ = Runner(run, tmp, federation=federation).build()
    local = method.describe().get("local_rounds")
    began = time.perf_counter()
    ctx.ledger.begin_round()
    evaluate(method, federation, ctx.device)
    eval_s = time.perf_counter() - began
    ctx.clients.close()
    first = _probe_round(run, federation, 0, seconds)
    if isinstance(local, int) and 0 < local < run.rounds:  # a local phase, then global rounds
        later = _probe_round(run, federation, run.rounds - 1, seconds)
        return local * first + (run.rounds - local) * later + run.rounds * eval_s
    return run.rounds * (first + eval_s)
