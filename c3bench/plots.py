"""Figures from result records: the accuracy/cost trade-off (as in the AdaSplit paper's Figure 1) and
training curves. Every function returns a matplotlib Figure (Agg, no pyplot state) so that tests can
inspect its axes, series and points; :func:`save` writes it as PNG, SVG or PDF.

Trade-off figure, per protocol: accuracy against bandwidth and against client compute, side by side,
log-scale cost axes. One marker per configuration (runs that differ only in seed), at the mean over
seeds with error bars of one standard deviation. Configurations of one method that differ in exactly
one hyperparameter are joined into a curve, ordered by that hyperparameter. The Pareto front (no other
configuration is both cheaper and more accurate) is ringed and joined by a dashed line. Optional C3
iso-lines show, for given budgets and temperature, the accuracy a configuration needs to score C3 = s
at each cost, counting the other cost as zero.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import ticker  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from c3bench.results import canonical_json  # noqa: E402
from c3bench.score import DEFAULT_TEMPERATURE, _measures, c3_score  # noqa: E402

FORMATS = (".png", ".svg", ".pdf")
PREFERRED_KEYS = ("kappa", "eta", "mu", "beta")  # the paper's trade-off knobs, tried first
SYMBOLS = {"kappa": "κ", "eta": "η", "mu": "μ", "beta": "β", "lambda": "λ", "gamma": "γ", "lam": "λ"}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p")
PANELS = (("bandwidth", ("bandwidth", "GB")), ("compute", ("client compute", "TFLOPs")))
LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}
CONVENTION_NOTE = {
    "c3bench": "bytes as sent; forward+backward FLOPs",
    "paper": "AdaSplit authors' convention: non-zeros×4 bytes; forward MACs",
}

Records = Sequence[tuple[str, dict[str, Any]]]


# ------------------------------------------------------------------------------------------ data
@dataclass
class ConfigPoint:
    """One configuration aggregated over its seeds, in GB / TFLOPs / % (the score's units)."""

    config_hash: str
    method: str
    protocol: str
    label: str
    config: dict[str, Any]
    seeds: list[int]
    accuracy: float
    accuracy_std: float
    bandwidth: float
    bandwidth_std: float
    compute: float
    compute_std: float
    files: list[str] = field(default_factory=list)

    def value(self, key: str) -> Any:
        return self.config["rounds"] if key == "rounds" else self.config["method_params"].get(key)


@dataclass
class Series:
    """What one legend entry draws: a single configuration, or a curve over one hyperparameter."""

    label: str
    points: list[ConfigPoint]
    key: str | None = None  # the hyperparameter a curve varies

    @property
    def is_curve(self) -> bool:
        return self.key is not None


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def config_points(records: Records, convention: str = "c3bench") -> list[ConfigPoint]:
    """Group records by ``config_hash`` (the config without the seed) and average over seeds."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for source, record in records:
        if record["totals"].get("accuracy") is not None:
            groups.setdefault(record["config_hash"], []).append((source, record))
    points = []
    for chash, members in groups.items():
        measures = [_measures(r, convention) for _, r in members]
        first = members[0][1]
        points.append(ConfigPoint(
            config_hash=chash,
            method=first["config"]["method"],
            protocol=first["config"]["protocol"],
            label=first["config"]["method"],
            config={k: v for k, v in first["config"].items() if k != "seed"},
            seeds=sorted(r["config"]["seed"] for _, r in members),
            accuracy=statistics.fmean(m[0] for m in measures),
            accuracy_std=_std([m[0] for m in measures]),
            bandwidth=statistics.fmean(m[1] for m in measures),
            bandwidth_std=_std([m[1] for m in measures]),
            compute=statistics.fmean(m[2] for m in measures),
            compute_std=_std([m[2] for m in measures]),
            files=[s for s, _ in members],
        ))
    _distinguishing_labels(points)
    points.sort(key=lambda p: (p.protocol, p.method, p.label, p.config_hash))
    return points


def _flatten(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as ``name -> value``, without what names the group (method, protocol, hashes)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if key in ("method", "protocol", "protocol_hash", "protocol_version", "seed"):
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[sub if key.endswith("params") else f"{key}.{sub}"] = v
        else:
            flat[key] = value
    return flat


def distinguishing_settings(records: Sequence[dict[str, Any]]) -> dict[str, str]:
    """config_hash -> the settings (``k=v,...``) that differ among the configurations of the same
    method and protocol: short labels computed from the records alone."""
    configs: dict[str, dict[str, Any]] = {r["config_hash"]: r["config"] for r in records}
    groups: dict[tuple[str, str], list[str]] = {}
    for chash, cfg in configs.items():
        groups.setdefault((cfg["protocol"], cfg["method"]), []).append(chash)
    out: dict[str, str] = {}
    for members in groups.values():
        flats = {h: _flatten(configs[h]) for h in members}
        names = sorted({k for f in flats.values() for k in f})
        differing = [k for k in names if len({canonical_json(f.get(k)) for f in flats.values()}) > 1]
        for h, flat in flats.items():
            out[h] = ",".join(f"{k}={_short(flat.get(k))}" for k in differing)
    return out


def _distinguishing_labels(points: list[ConfigPoint]) -> None:
    """Label each configuration by its method plus its distinguishing settings (short legends)."""
    settings = distinguishing_settings([{"config_hash": p.config_hash, "config": p.config} for p in points])
    for p in points:
        shown = settings[p.config_hash]
        p.label = p.method + (f" {shown}" if shown else "")


def _without(config: dict[str, Any], key: str) -> str:
    """The configuration with ``key`` removed, as a comparable string."""
    reduced = dict(config)
    if key == "rounds":
        reduced.pop("rounds")
    else:
        reduced["method_params"] = {k: v for k, v in config["method_params"].items() if k != key}
    return canonical_json(reduced)


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _key_text(key: str) -> str:
    return SYMBOLS.get(key, key)


def build_series(points: Sequence[ConfigPoint], vary: Sequence[str] | None = None) -> list[Series]:
    """Join configurations that differ in one hyperparameter into curves; the rest stand alone.

    For each method, the hyperparameter chosen is the one (among ``vary``, default: any method
    hyperparameter or ``rounds``) whose curves cover the most of that method's configurations; ties
    go to the paper's knobs (kappa, eta, mu, beta) in that order, then by name.
    """
    series: list[Series] = []
    by_method: dict[str, list[ConfigPoint]] = {}
    for p in points:
        by_method.setdefault(p.method, []).append(p)
    for method, members in by_method.items():
        candidates = sorted({k for p in members for k in p.config["method_params"]} | {"rounds"})
        if vary is not None:
            candidates = [k for k in candidates if k in vary]
        best: tuple[tuple, str, list[list[ConfigPoint]]] | None = None
        for key in candidates:
            families: dict[str, list[ConfigPoint]] = {}
            for p in members:
                families.setdefault(_without(p.config, key), []).append(p)
            curves = [f for f in families.values() if len({canonical_json(p.value(key)) for p in f}) >= 2]
            covered = sum(len(f) for f in curves)
            if not covered:
                continue
            rank = (covered, -(PREFERRED_KEYS.index(key) if key in PREFERRED_KEYS else len(PREFERRED_KEYS)))
            if best is None or rank > best[0]:
                best = (rank, key, curves)
        used: set[str] = set()
        if best is not None:
            _, key, curves = best
            for family in curves:
                family = sorted(family, key=lambda p: p.value(key))
                used.update(p.config_hash for p in family)
                others = [s for s in family[0].label[len(method):].strip().split(",")
                          if s and not s.startswith(f"{key}=")]
                values = f"{_short(family[0].value(key))}…{_short(family[-1].value(key))}"
                label = f"{method}, {_key_text(key)} = {values}" + (f" ({','.join(others)})" if others else "")
                series.append(Series(label, family, key))
        series.extend(Series(p.label, [p]) for p in members if p.config_hash not in used)
    return series


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points (cost, accuracy) that no other point beats on both (cheaper or equal and more accurate,
    or cheaper and equally accurate); sorted by cost."""
    pts = sorted(set(points), key=lambda p: (p[0], -p[1]))
    front: list[tuple[float, float]] = []
    best = -math.inf
    for cost, acc in pts:
        if acc > best:
            front.append((cost, acc))
            best = acc
    return front


def auto_iso_levels(points: Sequence[ConfigPoint], bmax: float, cmax: float, temperature: float,
                    count: int = 3) -> list[float]:
    """A few round C3 levels spread over the scores of the plotted configurations."""
    scores = [c3_score(p.accuracy, p.bandwidth, p.compute, bmax, cmax, temperature) for p in points]
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    if hi - lo < 0.02:
        return [round(hi, 2)]
    return sorted({round(lo + (hi - lo) * (i + 0.5) / count, 2) for i in range(count)})


# ------------------------------------------------------------------------------------------ drawing
def _cost(p: ConfigPoint, panel: str) -> tuple[float, float]:
    return (p.bandwidth, p.bandwidth_std) if panel == "bandwidth" else (p.compute, p.compute_std)


def _place_labels(ax: Axes, items: list[tuple[float, float, str, str]], fig: Figure) -> None:
    """Small value labels beside curve points, moved to avoid each other (greedy, in display space)."""
    renderer = fig.canvas.get_renderer()
    taken = []
    offsets = ((6, 6), (6, -14), (-8, 8), (-8, -14), (10, -3), (-12, -3))
    for x, y, text, color in items:
        for dx, dy in offsets:
            ha = "left" if dx > 0 else "right"
            t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7.5,
                            color=color, ha=ha, va="bottom", zorder=5, bbox=LABEL_BOX)
            box = t.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in taken):
                taken.append(box)
                break
            t.remove()
        else:  # no free spot: keep the first position rather than lose the value
            t = ax.annotate(text, (x, y), xytext=offsets[0], textcoords="offset points", fontsize=7.5, color=color,
                            zorder=5, bbox=LABEL_BOX)
            taken.append(t.get_window_extent(renderer))


def _set_cost_scale(ax: Axes, values: Sequence[float], what: str, unit: str) -> None:
    """Log scale; symlog (linear below the smallest non-zero cost) when some cost is exactly zero."""
    positive = [v for v in values if v > 0]
    if not positive:
        ax.set_xlabel(f"{what} ({unit}; all zero)")
        return
    lo, hi = min(positive), max(positive)
    if any(v <= 0 for v in values):
        thresh = 10 ** math.floor(math.log10(lo))
        ax.set_xscale("symlog", linthresh=thresh, linscale=0.6)
        ax.set_xlim(-0.4 * thresh, hi * 1.6)
        ax.set_xlabel(f"{what} ({unit}, log scale; linear below {thresh:g})")
    else:
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.6, hi * 1.6)
        ax.set_xlabel(f"{what} ({unit}, log scale)")
        # plain numbers at 1-2-5 steps (fewer over many decades) instead of crowded 2x10^-3 minor labels
        decades = math.log10(hi * 1.6) - math.log10(lo / 1.6)
        subs = (1.0, 2.0, 3.0, 5.0) if decades < 1.5 else (1.0, 2.0, 5.0) if decades < 3 else (1.0,)
        ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def _color(i: int, n: int) -> Any:
    return f"C{i % 10}" if n <= 10 else matplotlib.colormaps["tab20"](i % 20)


def _draw_panel(ax: Axes, panel: str, series: list[Series], iso: tuple[list[float], float, float, float] | None,
                ) -> list[tuple[float, float, str, str]]:
    """Draw one cost panel; return the value labels still to place beside curve points."""
    labels = []
    for i, s in enumerate(series):
        color, marker = _color(i, len(series)), MARKERS[i % len(MARKERS)]
        xs = [_cost(p, panel)[0] for p in s.points]
        ax.errorbar(xs, [p.accuracy for p in s.points], xerr=[_cost(p, panel)[1] for p in s.points],
                    yerr=[p.accuracy_std for p in s.points], fmt=marker + ("-" if s.is_curve else ""), color=color,
                    ms=6.5, capsize=2.5, elinewidth=1, lw=1.4, label=s.label, zorder=3)
        if s.is_curve:
            for x, p in zip(xs, s.points, strict=True):
                labels.append((x, p.accuracy, f"{_key_text(s.key)}={_short(p.value(s.key))}", color))
    everything = [p for s in series for p in s.points]
    front = pareto_front((_cost(p, panel)[0], p.accuracy) for p in everything)
    fx, fy = zip(*front, strict=True)
    ax.plot(fx, fy, ls="--", color="0.25", lw=1.1, zorder=2, label="Pareto front")
    ax.scatter(fx, fy, s=190, facecolors="none", edgecolors="0.25", linewidths=1.2, zorder=4)
    _set_cost_scale(ax, [_cost(p, panel)[0] for p in everything], *dict(PANELS)[panel])
    ax.set_ylabel("accuracy (%, mean over clients)")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.08)
    low = min(p.accuracy - p.accuracy_std for p in everything)
    high = max(p.accuracy + p.accuracy_std for p in everything)
    ax.set_ylim(max(0.0, low - 5), min(102.0, high + 5))  # a little above 100 so top markers stay whole
    if iso is not None:
        _draw_iso(ax, panel, *iso)
    return labels


def _draw_iso(ax: Axes, panel: str, levels: list[float], bmax: float, cmax: float, temperature: float) -> None:
    """C3 = level  <=>  A = 100 * level * exp(cost / (budget * T)), with the other cost taken as zero."""
    budget = bmax if panel == "bandwidth" else cmax
    lo, hi = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    start = max(lo, hi * 1e-6)
    xs = sorted({max(lo, 0.0) + (hi - max(lo, 0.0)) * i / 100 for i in range(101)}
                | {start * (hi / start) ** (i / 199) for i in range(200)})
    for level in levels:
        ys = [100.0 * level * math.exp(x / (budget * temperature)) for x in xs]
        ax.plot(xs, ys, ls=":", color="0.55", lw=1.0, zorder=1, label="_iso")
        inside = [(x, y) for x, y in zip(xs, ys, strict=True) if y0 <= y <= y1]
        if inside:
            ax.annotate(f"C3={level:g}", inside[0], xytext=(2, 2), textcoords="offset points", fontsize=7,
                        color="0.4", va="bottom")
    ax.set_xlim(lo, hi)
    ax.set_ylim(y0, y1)


def tradeoff_figure(
    records: Records,
    convention: str = "c3bench",
    vary: Sequence[str] | None = None,
    iso_levels: Sequence[float] | None = None,
    bmax: float | None = None,
    cmax: float | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    title: str | None = None,
) -> Figure:
    """Accuracy against bandwidth (left) and client compute (right), one row per protocol.

    ``iso_levels``: None for no iso-lines, [] for levels chosen from the data, else the C3 levels.
    Bmax and Cmax default to the largest cost among the configurations (as `c3bench score` does).
    """
    by_protocol: dict[str, list[ConfigPoint]] = {}
    for p in config_points(records, convention):
        by_protocol.setdefault(p.protocol, []).append(p)
    if not by_protocol:
        raise ValueError("no finished rounds to plot: every record has an empty per-round log")
    rows = len(by_protocol)
    fig = Figure(figsize=(12.5, 4.6 * rows + 1.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 2, squeeze=False)
    handles: dict[str, Any] = {}
    iso_note = ""
    for row, (protocol, points) in enumerate(sorted(by_protocol.items())):
        series = build_series(points, vary)
        iso = None
        if iso_levels is not None:
            b = bmax if bmax is not None else max(p.bandwidth for p in points)
            c = cmax if cmax is not None else max(p.compute for p in points)
            if b > 0 and c > 0:
                levels = list(iso_levels) or auto_iso_levels(points, b, c, temperature)
                iso = (levels, b, c, temperature)
                iso_note = f"C3 iso-lines (Bmax {b:.3g} GB, Cmax {c:.3g} TFLOPs, T={temperature:g}; other cost = 0)"
        for col, (panel, _) in enumerate(PANELS):
            ax = axes[row][col]
            labels = _draw_panel(ax, panel, series, iso)
            what = "bandwidth" if panel == "bandwidth" else "client compute"
            ax.set_title(f"{protocol}: accuracy vs. {what}", fontsize=10.5)
            fig.canvas.draw()  # label placement needs the final axis limits
            _place_labels(ax, labels, fig)
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, handle)
    if iso_note:
        handles[iso_note] = Line2D([], [], ls=":", color="0.55")
    ordered = [k for k in handles if k != "Pareto front"] + (["Pareto front"] if "Pareto front" in handles else [])
    fig.legend([handles[k] for k in ordered], ordered, loc="outside lower center",
               ncols=min(3, len(ordered)), fontsize=8.5, frameon=False)
    fig.suptitle(title or f"Accuracy vs. cost: mean ± std over seeds ({CONVENTION_NOTE.get(convention, convention)})",
                 fontsize=11.5)
    return fig


def curves_figure(records: Records, convention: str = "c3bench", title: str | None = None) -> Figure:
    """Accuracy against round (left) and against cumulative bandwidth (right), mean ± std over seeds."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for _, record in records:
        if record["rounds"]:
            groups.setdefault(record["config_hash"], []).append(record)
    if not groups:
        raise ValueError("no finished rounds to plot: every record has an empty per-round log")
    labels = {p.config_hash: p.label for p in config_points(records, convention)}
    protocols = sorted({rs[0]["config"]["protocol"] for rs in groups.values()})
    entries = sorted(groups.items(), key=lambda kv: (kv[1][0]["config"]["protocol"], labels[kv[0]]))
    fig = Figure(figsize=(12.5, 5.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax_round, ax_bytes = fig.subplots(1, 2)
    byte_key = "paper_bytes_total" if convention == "paper" else "bytes_total"
    all_gb = []
    for i, (chash, members) in enumerate(entries):
        n = min(len(r["rounds"]) for r in members)
        acc = [[r["rounds"][k]["accuracy"]["mean"] for r in members] for k in range(n)]
        mean = [statistics.fmean(a) for a in acc]
        std = [_std(a) for a in acc]
        gb = [statistics.fmean(r["rounds"][k]["cumulative"][byte_key] / 1e9 for r in members) for k in range(n)]
        all_gb += gb
        label = (f"{members[0]['config']['protocol']}: " if len(protocols) > 1 else "") + labels[chash]
        label += f" ({len(members)} seed{'s' if len(members) > 1 else ''})"
        color, marker = _color(i, len(entries)), MARKERS[i % len(MARKERS)]
        for ax, xs in ((ax_round, list(range(1, n + 1))), (ax_bytes, gb)):
            ax.plot(xs, mean, marker=marker, ms=4, color=color, lw=1.4, label=label)
            if len(members) > 1:
                ax.fill_between(xs, [m - s for m, s in zip(mean, std, strict=True)],
                                [m + s for m, s in zip(mean, std, strict=True)], color=color, alpha=0.12, lw=0)
    ax_round.set_xlabel("round")
    ax_round.xaxis.get_major_locator().set_params(integer=True)
    _set_cost_scale(ax_bytes, all_gb, "cumulative bandwidth", "GB")
    for ax in (ax_round, ax_bytes):
        ax.set_ylabel("accuracy (%, mean over clients)")
        ax.grid(True, alpha=0.3)
    ax_round.set_title("accuracy vs. round", fontsize=10.5)
    ax_bytes.set_title("accuracy vs. bytes sent so far", fontsize=10.5)
    handles, names = ax_round.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=min(3, len(names)), fontsize=8.5, frameon=False)
    bytes_note = "bytes as sent" if convention == "c3bench" else "bytes = non-zeros×4 (AdaSplit authors' convention)"
    fig.suptitle(title or f"Training curves on {', '.join(protocols)}: mean over seeds, band = ±1 std ({bytes_note})",
                 fontsize=11.5)
    return fig


def save(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write a figure as PNG, SVG or PDF (chosen by the suffix), without timestamps in the file."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"unsupported figure format '{path.suffix}'; use one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    fig.savefig(path, dpi=dpi, metadata=metadata[path.suffix.lower()[1:]])
    return path
