"""Figures from result records: the accuracy/cost trade-off (as in the AdaSplit paper's Figure 1) and
training curves. Every function returns a matplotlib Figure (Agg, no pyplot state) so that tests can
inspect its axes, series and points; :func:`save` writes it as PNG, SVG or PDF.

Trade-off figure, per protocol: accuracy against bandwidth and against client compute, side by side,
log-scale cost axes. One marker per configuration (runs that differ only in seed), at the mean over
seeds with error bars of one standard deviation. Configurations of one method that differ in exactly
one of its key hyperparameters (``record["hparams"]["key"]``; every differing hyperparameter for
records without it) are joined into a curve, ordered by that hyperparameter; runs that differ only in
the number of rounds are different budgets, not a sweep, and stay separate points. The Pareto front
(no other configuration is both cheaper and more accurate) is ringed and joined by a dashed line.
Optional C3 iso-lines show, for given budgets and temperature, the accuracy a configuration needs to
score C3 = s at each cost, counting the other cost as zero.

Every method has one colour and one marker in every figure (:func:`method_style`). Markers that would
hide each other are spread sideways and the figure says so; provisional configurations (fewer seeds
than ``min_seeds``) are drawn hollow.
"""

from __future__ import annotations

import hashlib
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
from matplotlib.transforms import Bbox  # noqa: E402

from c3bench.conventions import CONVENTIONS  # noqa: E402
from c3bench.results import (
    canonical_json,  # noqa: E402
    group_by_config,  # noqa: E402
)
from c3bench.score import DEFAULT_TEMPERATURE, c3_score, measures  # noqa: E402

FORMATS = (".png", ".svg", ".pdf")
# display only: how a hyperparameter's name is written in labels
SYMBOLS = {"kappa": "κ", "eta": "η", "mu": "μ", "beta": "β", "lambda": "λ", "gamma": "γ", "lam": "λ", "tau": "τ",
           "alpha": "α"}
# one (colour, marker) per built-in method, the same in every figure
METHOD_STYLES = {
    "fedavg": ("tab:blue", "o"),
    "fedprox": ("tab:orange", "s"),
    "scaffold": ("tab:green", "^"),
    "fednova": ("tab:purple", "D"),
    "sl-basic": ("tab:brown", "v"),
    "splitfed": ("tab:pink", "P"),
    "adasplit": ("tab:red", "*"),
    "edgesplit": ("tab:cyan", "X"),
}
# for other methods, chosen by a hash of the name: colours and markers the built-ins do not use first
EXTRA_COLORS = ("tab:olive", "tab:gray", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
                "navy", "maroon", "teal", "#e6ab02")
EXTRA_MARKERS = ("h", "p", "<", ">", "d", "H", "8", "o", "s", "^", "D", "v")
LINESTYLES = ("-", "-.", (0, (5, 1.5)), (0, (1, 1.2)))  # several curves of one method
MARKER_SIZE = 6.5
LABEL_MAX = 48  # characters in a legend label
PANELS = (("bandwidth", ("bandwidth", "GB")), ("compute", ("client compute", "TFLOPs")))
LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}
# markers closer than this (fraction of the axes) hide each other; spread them SPREAD apart
OVERLAP = (0.016, 0.024)
SPREAD = 0.018
CONVENTION_NOTE = {name: c.short for name, c in CONVENTIONS.items()}

Records = Sequence[tuple[str, dict[str, Any]]]


# ------------------------------------------------------------------------------------------ styles
def method_style(method: str) -> tuple[str, str]:
    """(colour, marker) of a method: fixed for the built-in methods, from a hash of the name otherwise,
    so that a method looks the same in every figure whatever else is plotted."""
    if method in METHOD_STYLES:
        return METHOD_STYLES[method]
    digest = hashlib.sha256(method.encode()).digest()  # not hash(): that changes between processes
    return EXTRA_COLORS[digest[0] % len(EXTRA_COLORS)], EXTRA_MARKERS[digest[1] % len(EXTRA_MARKERS)]


def _method_order(method: str) -> tuple[int, str]:
    builtin = list(METHOD_STYLES)
    return (builtin.index(method) if method in builtin else len(builtin), method)


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
    key_params: list[str] | None = None  # the method's key hyperparameters; None: the record does not say
    defaults: dict[str, Any] | None = None  # the method's defaults, where the record carries them
    settings: dict[str, str] = field(default_factory=dict)  # name -> shown text, what sets it apart
    provisional: bool = False

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

    @property
    def method(self) -> str:
        return self.points[0].method


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _hparams(records: Iterable[dict[str, Any]]) -> tuple[list[str] | None, dict[str, Any] | None]:
    """The key hyperparameters and defaults of the first record that carries them (older ones do not)."""
    for record in records:
        hp = record.get("hparams")
        if isinstance(hp, dict) and isinstance(hp.get("key"), list):
            defaults = hp.get("defaults")
            return [str(k) for k in hp["key"]], defaults if isinstance(defaults, dict) else None
    return None, None


def config_points(records: Records, convention: str = "c3bench", min_seeds: int | None = None) -> list[ConfigPoint]:
    """Group records by ``config_hash`` (the config without the seed) and average over seeds.

    A configuration with fewer than ``min_seeds`` seeds is marked provisional.
    """
    finished = [(s, r) for s, r in records if r["totals"].get("accuracy") is not None]
    points = []
    for chash, members in group_by_config(finished).items():
        values = [measures(r, convention) for _, r in members]
        first = members[0][1]
        key_params, defaults = _hparams(r for _, r in members)
        seeds = sorted(r["config"]["seed"] for _, r in members)
        points.append(ConfigPoint(
            config_hash=chash,
            method=first["config"]["method"],
            protocol=first["config"]["protocol"],
            label=first["config"]["method"],
            config={k: v for k, v in first["config"].items() if k != "seed"},
            seeds=seeds,
            accuracy=statistics.fmean(m[0] for m in values),
            accuracy_std=_std([m[0] for m in values]),
            bandwidth=statistics.fmean(m[1] for m in values),
            bandwidth_std=_std([m[1] for m in values]),
            compute=statistics.fmean(m[2] for m in values),
            compute_std=_std([m[2] for m in values]),
            files=[s for s, _ in members],
            key_params=key_params,
            defaults=defaults,
            provisional=min_seeds is not None and len(set(seeds)) < min_seeds,
        ))
    _label_points(points)
    points.sort(key=lambda p: (p.protocol, _method_order(p.method), p.label, p.config_hash))
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


def _setting_text(name: str, value: Any) -> str:
    if name == "rounds":
        return f"{value} round{'' if value == 1 else 's'}"
    return f"{_key_text(name)}={_short(value)}"


def _label_points(points: list[ConfigPoint]) -> None:
    """Set each point's ``settings`` and legend label: its method plus what differs between the
    configurations of that method and protocol. Differing key hyperparameters and rounds are always
    named; another setting only where it is off the method's default (when the record gives defaults),
    which keeps labels short and still tells every two configurations apart."""
    groups: dict[tuple[str, str], list[ConfigPoint]] = {}
    for p in points:
        groups.setdefault((p.protocol, p.method), []).append(p)
    for members in groups.values():
        keys = next((p.key_params for p in members if p.key_params is not None), None) or []
        defaults = next((p.defaults for p in members if p.defaults is not None), None) or {}
        flats = {p.config_hash: _flatten(p.config) for p in members}
        names = {k for f in flats.values() for k in f}
        differing = {k for k in names if len({canonical_json(f.get(k)) for f in flats.values()}) > 1}
        ordered = ([k for k in keys if k in differing] + (["rounds"] if "rounds" in differing else [])
                   + sorted(differing - set(keys) - {"rounds"}))
        for p in members:
            flat = flats[p.config_hash]
            p.settings = {}
            for k in ordered:
                is_method_param = k in p.config.get("method_params", {})
                if (k not in keys and k != "rounds" and is_method_param and k in defaults
                        and canonical_json(defaults[k]) == canonical_json(flat.get(k))):
                    continue
                p.settings[k] = _setting_text(k, flat.get(k))
            p.label = _compose(p.method, list(p.settings.values()), _seed_note(p))


def _seed_note(p: ConfigPoint) -> str:
    n = len(set(p.seeds))
    return f"({n} seed{'' if n == 1 else 's'})" if p.provisional else ""


def _compose(method: str, parts: Sequence[str], suffix: str = "") -> str:
    """``method part, part (suffix)``, at most LABEL_MAX characters: parts that do not fit become '…'."""
    budget = LABEL_MAX - len(method) - (len(suffix) + 1 if suffix else 0) - 1
    shown = ""
    for i, part in enumerate(parts):
        candidate = f"{shown}, {part}" if shown else part
        rest = i < len(parts) - 1
        if len(candidate) + (3 if rest else 0) <= budget:
            shown = candidate
            continue
        if not shown:  # even the first part is too long: cut it
            shown = part[: max(1, budget - 1)] + "…"
        else:
            shown += ", …"
        break
    label = f"{method} {shown}" if shown else method
    return f"{label} {suffix}" if suffix else label


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


def _sortable(value: Any) -> tuple[int, Any]:
    """Numbers in order, then anything else (a missing value, text) by its text: never a TypeError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _candidates(members: Sequence[ConfigPoint], vary: Sequence[str] | None) -> list[str]:
    """Hyperparameters a curve may vary, in order of preference."""
    params = {k for p in members for k in p.config["method_params"]}
    if vary is not None:  # asked for by name; rounds only when asked for
        return [k for k in dict.fromkeys(vary) if k in params or k == "rounds"]
    keys = next((p.key_params for p in members if p.key_params is not None), None)
    if keys is not None:
        return [k for k in keys if k in params]
    # an older record without its key hyperparameters: whichever differs
    return sorted(k for k in params if len({canonical_json(p.value(k)) for p in members}) > 1)


def build_series(points: Sequence[ConfigPoint], vary: Sequence[str] | None = None) -> list[Series]:
    """Join configurations that differ in one hyperparameter into curves; the rest stand alone.

    For each method, the hyperparameter chosen is the one whose curves cover the most of that method's
    configurations, among ``vary`` if given (``rounds`` only when named there), else among the method's
    key hyperparameters as the records declare them (every differing one for records that do not);
    ties go to the earlier in that list.
    """
    series: list[Series] = []
    by_method: dict[str, list[ConfigPoint]] = {}
    for p in points:
        by_method.setdefault(p.method, []).append(p)
    for method, members in by_method.items():
        best: tuple[int, str, list[list[ConfigPoint]]] | None = None
        for key in _candidates(members, vary):
            families: dict[str, list[ConfigPoint]] = {}
            for p in members:
                families.setdefault(_without(p.config, key), []).append(p)
            curves = [f for f in families.values() if len({canonical_json(p.value(key)) for p in f}) >= 2]
            covered = sum(len(f) for f in curves)
            if covered and (best is None or covered > best[0]):
                best = (covered, key, curves)
        used: set[str] = set()
        if best is not None:
            _, key, curves = best
            for family in curves:
                family = sorted(family, key=lambda p, k=key: _sortable(p.value(k)))
                used.update(p.config_hash for p in family)
                values = f"{_key_text(key)}={_short(family[0].value(key))}…{_short(family[-1].value(key))}"
                if key == "rounds":
                    values = f"rounds {family[0].value(key)}…{family[-1].value(key)}"
                others = [t for k, t in family[0].settings.items() if k != key]
                series.append(Series(_compose(method, [values, *others]), family, key))
        series.extend(Series(p.label, [p]) for p in members if p.config_hash not in used)
    series.sort(key=lambda s: (_method_order(s.method), not s.is_curve, s.label))
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


def spread_overlapping(ax: Axes, xy: Sequence[tuple[float, float]]) -> list[float]:
    """x positions (data units) that keep markers apart: points closer than OVERLAP (a fraction of the
    axes, so on any scale) are spread sideways SPREAD apart around their middle, in the given order.
    The axes' scales and limits must be final. Accuracy (y) is never moved."""
    if not xy:
        return []
    to_axes = ax.transScale + ax.transLimits
    frac = to_axes.transform(xy)
    parent = list(range(len(xy)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(xy)):
        for j in range(i):
            if abs(frac[i][0] - frac[j][0]) < OVERLAP[0] and abs(frac[i][1] - frac[j][1]) < OVERLAP[1]:
                parent[root(i)] = root(j)
    clusters: dict[int, list[int]] = {}
    for i in range(len(xy)):
        clusters.setdefault(root(i), []).append(i)
    xs = [x for x, _ in xy]
    for members in clusters.values():
        if len(members) < 2:
            continue
        middle = statistics.fmean(frac[i][0] for i in members)
        for rank, i in enumerate(members):
            fx = middle + (rank - (len(members) - 1) / 2) * SPREAD
            xs[i] = float(to_axes.inverted().transform((fx, frac[i][1]))[0])
    return xs


def _place_labels(ax: Axes, items: list[tuple[float, float, str, str]], fig: Figure,
                  markers: Sequence[tuple[float, float]] = ()) -> None:
    """Small labels beside points, moved to avoid each other and the markers (greedy, in display space)."""
    renderer = fig.canvas.get_renderer()
    half = MARKER_SIZE * fig.dpi / 72 / 2
    taken = []
    for x, y in ax.transData.transform(markers) if len(markers) else []:
        taken.append(Bbox.from_extents(x - half, y - half, x + half, y + half))
    offsets = ((6, 6), (6, -14), (-8, 8), (-8, -14), (10, -3), (-12, -3), (0, 12), (0, -20),
               (8, 20), (-8, 20), (8, -28), (-8, -28), (0, 30), (0, -38))
    for x, y, text, color in items:
        for dx, dy in offsets:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7.5,
                            color=color, ha=ha, va="bottom", zorder=5, bbox=LABEL_BOX)
            box = t.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in taken):
                taken.append(box)
                break
            t.remove()
        else:  # no free spot: keep the first position rather than lose the text
            t = ax.annotate(text, (x, y), xytext=offsets[0], textcoords="offset points", fontsize=7.5, color=color,
                            zorder=5, bbox=LABEL_BOX)
            taken.append(t.get_window_extent(renderer))


def _set_cost_scale(ax: Axes, values: Sequence[float], what: str, unit: str) -> None:
    """Log scale; symlog (linear below the smallest non-zero cost) when some cost is exactly zero."""
    positive = [v for v in values if v > 0]
    if not positive:
        ax.set_xlabel(f"{what} ({unit}; all zero)")
        ax.set_xlim(-1.0, 1.0)  # fixed, so that overlapping markers can be spread before drawing
        return
    lo, hi = min(positive), max(positive)
    if any(v <= 0 for v in values):
        thresh = 10 ** math.floor(math.log10(lo))
        ax.set_xscale("symlog", linthresh=thresh, linscale=0.6)
        ax.set_xlim(-0.4 * thresh, hi * 1.6)
        ax.set_xlabel(f"{what} ({unit}, log scale; linear below {thresh:g})")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
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


@dataclass
class _Panel:
    """What drawing one panel leaves to do once the layout is final, and what it moved."""

    labels: list[tuple[float, float, str, str]] = field(default_factory=list)
    markers: list[tuple[float, float]] = field(default_factory=list)
    moved: list[ConfigPoint] = field(default_factory=list)


def _draw_panel(ax: Axes, panel: str, series: list[Series], iso: tuple[list[float], float, float, float] | None,
                ) -> _Panel:
    """Draw one cost panel: scales first (the spreading of overlapping markers needs them), then the points."""
    out = _Panel()
    everything = [p for s in series for p in s.points]
    _set_cost_scale(ax, [_cost(p, panel)[0] for p in everything], *dict(PANELS)[panel])
    low = min(p.accuracy - p.accuracy_std for p in everything)
    high = max(p.accuracy + p.accuracy_std for p in everything)
    ax.set_ylim(max(0.0, low - 5), min(102.0, high + 5))  # a little above 100 so top markers stay whole
    spread = spread_overlapping(ax, [(_cost(p, panel)[0], p.accuracy) for p in everything])
    shown = {id(p): x for p, x in zip(everything, spread, strict=True)}
    out.moved = [p for p in everything if not math.isclose(shown[id(p)], _cost(p, panel)[0], rel_tol=1e-9)]
    curves_of: dict[str, int] = {}
    methods_with_many = {m for m in {s.method for s in series} if sum(s.method == m for s in series) > 1}
    for s in series:
        color, marker = method_style(s.method)
        xs = [shown[id(p)] for p in s.points]
        ys = [p.accuracy for p in s.points]
        ls = "none"
        if s.is_curve:
            ls = LINESTYLES[curves_of.get(s.method, 0) % len(LINESTYLES)]
            curves_of[s.method] = curves_of.get(s.method, 0) + 1
        hollow = not s.is_curve and s.points[0].provisional
        size = MARKER_SIZE * (1.35 if marker == "*" else 1.0)  # a star looks smaller than a disc
        ax.errorbar(xs, ys, xerr=[_cost(p, panel)[1] for p in s.points], yerr=[p.accuracy_std for p in s.points],
                    marker=marker, ls=ls, color=color, mfc="white" if hollow else color, mew=1.3 if hollow else 1.0,
                    ms=size, capsize=2.5, elinewidth=1, lw=1.4, label=s.label, zorder=3)
        out.markers += list(zip(xs, ys, strict=True))
        if s.is_curve:
            provisional = [(x, p) for x, p in zip(xs, s.points, strict=True) if p.provisional]
            if provisional:  # hollow markers over the curve's filled ones
                ax.plot([x for x, _ in provisional], [p.accuracy for _, p in provisional], ls="none",
                        marker=marker, ms=size, mfc="white", mec=color, mew=1.3, zorder=3.5, label="_provisional")
            for x, p in zip(xs, s.points, strict=True):
                text = _setting_text(s.key, p.value(s.key)) + (f" {_seed_note(p)}" if p.provisional else "")
                out.labels.append((x, p.accuracy, text, color))
        elif s.method in methods_with_many and s.points[0].settings:
            # several entries share this colour and marker: name the settings beside the point
            text = ", ".join(s.points[0].settings.values())
            out.labels.append((xs[0], ys[0], text[:28] + ("…" if len(text) > 28 else ""), color))
    # the front is computed on the true costs and drawn through the markers where they are shown
    front = set(pareto_front((_cost(p, panel)[0], p.accuracy) for p in everything))
    on_front = sorted((shown[id(p)], p.accuracy) for p in everything if (_cost(p, panel)[0], p.accuracy) in front)
    fx, fy = zip(*on_front, strict=True)
    ax.plot(fx, fy, ls="--", color="0.25", lw=1.1, zorder=2, label="Pareto front")
    ax.scatter(fx, fy, s=190, facecolors="none", edgecolors="0.25", linewidths=1.2, zorder=4)
    ax.set_ylabel("accuracy (%, mean over clients)")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.08)
    if iso is not None:
        _draw_iso(ax, panel, *iso)
    return out


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


def _legend_columns(labels: Sequence[str], width_in: float, fontsize: float = 8.5) -> int:
    """As many columns as the longest label allows across the figure (about 0.55 em per character)."""
    longest = max((len(s) for s in labels), default=1)
    per_column = (longest * 0.55 * fontsize + 40) / 72  # inches: text plus handle and padding
    return max(1, min(len(labels), int(width_in / per_column), 4))


def _legend_and_notes(fig: Figure, handles: Sequence[Any], labels: Sequence[str], notes: Sequence[str],
                      fontsize: float = 8.5) -> None:
    """The legend under the axes and small print under the legend. Both are measured and the layout
    keeps a strip of that height free (an "outside" legend would sit on top of any footnote)."""
    renderer = fig.canvas.get_renderer()
    foot = 0.0
    if notes:
        text = fig.text(0.008, 0.006, "\n".join(notes), fontsize=fontsize - 1, color="0.3", ha="left", va="bottom",
                        linespacing=1.3)
        foot = (text.get_window_extent(renderer).height + 8) / fig.bbox.height
    legend = fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, foot),
                        ncols=_legend_columns(labels, fig.get_figwidth()), fontsize=fontsize, frameon=False)
    bottom = foot + (legend.get_window_extent(renderer).height + 4) / fig.bbox.height
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))


def tradeoff_figure(
    records: Records,
    convention: str = "c3bench",
    vary: Sequence[str] | None = None,
    iso_levels: Sequence[float] | None = None,
    bmax: float | None = None,
    cmax: float | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    title: str | None = None,
    min_seeds: int | None = None,
) -> Figure:
    """Accuracy against bandwidth (left) and client compute (right), one row per protocol.

    ``iso_levels``: None for no iso-lines, [] for levels chosen from the data, else the C3 levels.
    Bmax and Cmax default to the largest cost among the configurations (as `c3bench score` does).
    ``min_seeds``: configurations with fewer seeds are provisional (hollow markers, seed count in the
    label); None marks nothing.
    """
    by_protocol: dict[str, list[ConfigPoint]] = {}
    for p in config_points(records, convention, min_seeds):
        by_protocol.setdefault(p.protocol, []).append(p)
    if not by_protocol:
        raise ValueError("no finished rounds to plot: every record has an empty per-round log")
    rows = len(by_protocol)
    width = 12.5
    fig = Figure(figsize=(width, 4.6 * rows + 1.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 2, squeeze=False)
    handles: dict[str, Any] = {}
    order: dict[str, tuple] = {}
    iso_note = ""
    moved: dict[str, set[str]] = {}
    any_provisional = False
    for row, (protocol, points) in enumerate(sorted(by_protocol.items())):
        series = build_series(points, vary)
        any_provisional |= any(p.provisional for p in points)
        iso = None
        if iso_levels is not None:
            b = bmax if bmax is not None else max(p.bandwidth for p in points)
            c = cmax if cmax is not None else max(p.compute for p in points)
            if b > 0 and c > 0:
                levels = list(iso_levels) or auto_iso_levels(points, b, c, temperature)
                iso = (levels, b, c, temperature)
                iso_note = (f"C3 iso-lines: the accuracy that scores C3 = s at each cost, with Bmax {b:.3g} GB, "
                            f"Cmax {c:.3g} TFLOPs, T={temperature:g}, counting the other cost as zero.")
        for col, (panel, _) in enumerate(PANELS):
            ax = axes[row][col]
            drawn = _draw_panel(ax, panel, series, iso)
            what = "bandwidth" if panel == "bandwidth" else "client compute"
            ax.set_title(f"{protocol}: accuracy vs. {what}", fontsize=10.5)
            if drawn.moved:
                moved.setdefault(protocol, set()).update(p.method for p in drawn.moved)
            fig.canvas.draw()  # label placement needs the final axis limits
            _place_labels(ax, drawn.labels, fig, drawn.markers)
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, handle)
            for i, s in enumerate(series):
                order.setdefault(s.label, (_method_order(s.method), i))
    if any_provisional:
        note = f"hollow: provisional (< {min_seeds} seeds)"
        handles[note] = Line2D([], [], ls="none", marker="o", ms=MARKER_SIZE, mfc="white", mec="0.3", mew=1.3)
    if iso_note:
        handles[f"C3 iso-lines (T={temperature:g})"] = Line2D([], [], ls=":", color="0.55")
    entries = sorted((k for k in handles if k in order), key=lambda k: order[k])
    entries += [k for k in handles if k not in order and k != "Pareto front"]
    entries += ["Pareto front"] if "Pareto front" in handles else []
    notes = [iso_note] if iso_note else []
    if moved:
        where = "; ".join(f"{', '.join(sorted(ms, key=_method_order))}" + (f" on {proto}" if rows > 1 else "")
                          for proto, ms in sorted(moved.items()))
        notes.append(f"Markers that would hide each other are spread sideways, {SPREAD:.1%} of the panel width "
                     f"apart ({where}): their drawn costs are slightly off; accuracies are exact.")
    _legend_and_notes(fig, [handles[k] for k in entries], entries, notes)
    fig.suptitle(title or f"Accuracy vs. cost: mean ± std over seeds ({CONVENTION_NOTE.get(convention, convention)})",
                 fontsize=11.5)
    return fig


def _nest_ranks(lines: Sequence[tuple[Sequence[float], Sequence[float], Sequence[float]]]) -> list[int]:
    """For each curve (rounds, GB, accuracy), how many earlier curves it coincides with somewhere
    (same round, accuracy within 0.5 points and bytes within 2 %): its rank in a nest of hollow markers."""
    ranks = []
    for i, (_, gb, acc) in enumerate(lines):
        rank = 0
        for _, gb2, acc2 in lines[:i]:
            if any(abs(a - b) < 0.5 and math.isclose(g, h, rel_tol=0.02, abs_tol=1e-12)
                   for a, b, g, h in zip(acc, acc2, gb, gb2, strict=False)):
                rank += 1
        ranks.append(rank)
    return ranks


def curves_figure(records: Records, convention: str = "c3bench", title: str | None = None) -> Figure:
    """Accuracy against round (left) and against cumulative bandwidth (right), mean ± std over seeds.

    Curves of different protocols do not share axes: a ValueError names them.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for _, record in records:
        if record["rounds"]:
            groups.setdefault(record["config_hash"], []).append(record)
    if not groups:
        raise ValueError("no finished rounds to plot: every record has an empty per-round log")
    protocols = sorted({rs[0]["config"]["protocol"] for rs in groups.values()})
    if len(protocols) > 1:
        raise ValueError(f"curves of different protocols cannot share axes: got {', '.join(protocols)}; "
                         "plot the records of one protocol at a time")
    labels = {p.config_hash: p.label for p in config_points(records, convention)}
    entries = sorted(groups.items(), key=lambda kv: (_method_order(kv[1][0]["config"]["method"]),
                                                     labels.get(kv[0], ""), kv[0]))
    fig = Figure(figsize=(12.5, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax_round, ax_bytes = fig.subplots(1, 2)
    byte_key = "paper_bytes_total" if convention == "paper" else "bytes_total"
    data = []
    for _, members in entries:
        n = min(len(r["rounds"]) for r in members)
        acc = [[r["rounds"][k]["accuracy"]["mean"] for r in members] for k in range(n)]
        gb = [statistics.fmean(r["rounds"][k]["cumulative"][byte_key] / 1e9 for r in members) for k in range(n)]
        data.append((list(range(1, n + 1)), gb, [statistics.fmean(a) for a in acc], [_std(a) for a in acc]))
    ranks = _nest_ranks([(r, g, m) for r, g, m, _ in data])
    per_method: dict[str, int] = {}
    for (chash, members), (rounds, gb, mean, std), rank in zip(entries, data, ranks, strict=True):
        method = members[0]["config"]["method"]
        color, marker = method_style(method)
        ls = LINESTYLES[per_method.get(method, 0) % len(LINESTYLES)]
        per_method[method] = per_method.get(method, 0) + 1
        label = labels.get(chash, method) + f" ({len(members)} seed{'s' if len(members) > 1 else ''})"
        # a curve that coincides with earlier ones gets a larger hollow marker, so that all stay visible
        style = {"ms": 4.0 + 2.4 * min(rank, 3), "mfc": "none" if rank else color, "mew": 1.2 if rank else 1.0}
        if marker == "*":
            style["ms"] *= 1.3
        for ax, xs in ((ax_round, rounds), (ax_bytes, gb)):
            ax.plot(xs, mean, marker=marker, color=color, ls=ls, lw=1.4, label=label, zorder=3 - 0.01 * rank,
                    **style)
            if len(members) > 1:
                ax.fill_between(xs, [m - s for m, s in zip(mean, std, strict=True)],
                                [m + s for m, s in zip(mean, std, strict=True)], color=color, alpha=0.12, lw=0)
    ax_round.set_xlabel("round")
    ax_round.xaxis.get_major_locator().set_params(integer=True)
    _set_cost_scale(ax_bytes, [g for _, gb, _, _ in data for g in gb], "cumulative bandwidth", "GB")
    for ax in (ax_round, ax_bytes):
        ax.set_ylabel("accuracy (%, mean over clients)")
        ax.grid(True, alpha=0.3)
    ax_round.set_title("accuracy vs. round", fontsize=10.5)
    ax_bytes.set_title("accuracy vs. bytes sent so far", fontsize=10.5)
    handles, names = ax_round.get_legend_handles_labels()
    notes = ["Curves that coincide are drawn with hollow markers of increasing size."] if any(ranks) else []
    _legend_and_notes(fig, handles, names, notes)
    bytes_note = "bytes as sent" if convention == "c3bench" else "bytes = non-zeros×4 (AdaSplit authors' convention)"
    fig.suptitle(title or f"Training curves on {protocols[0]}: mean over seeds, band = ±1 std ({bytes_note})",
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
