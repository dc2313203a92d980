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

import math
import statistics
import textwrap
from collections.abc import Sequence
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

from c3bench.score import DEFAULT_TEMPERATURE  # noqa: E402
from c3bench.series import (  # noqa: E402 - the pure part of the figures, drawn here
    CONVENTION_NOTE,
    FIGURE_KEY,
    ConfigPoint,
    Records,
    Series,
    _method_order,
    _seed_note,
    _setting_text,
    _std,
    auto_iso_levels,
    build_series,
    config_points,
    method_style,
    pareto_front,
)

FORMATS = (".png", ".svg", ".pdf")
# several curves of one method: solid, dashed, dotted, dash-dot (patterns a legend swatch can show)
LINESTYLES = ("-", (0, (5, 2.5)), (0, (1, 1.6)), (0, (6, 2, 1.5, 2)))
HANDLE_LENGTH = 3.6  # legend swatches long enough to show a dash pattern on both sides of the marker
STOP_MARK = {"marker": "|", "ls": "none", "color": "black", "mew": 2.0}  # where a budget stopped a run
STOP_LABEL = "budget-stopped (the run ends here)"
MARKER_SIZE = 6.5
PANELS = (("bandwidth", ("bandwidth", "GB")), ("compute", ("client compute", "TFLOPs")))
LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}
# markers closer than this (fraction of the axes) hide each other; spread them SPREAD apart
OVERLAP = (0.016, 0.024)
SPREAD = 0.018


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
    panel = ax.get_window_extent(renderer)

    def overlap(a: Bbox, b: Bbox) -> float:
        return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))

    # the largest labels first: they have the fewest places to go, and short ones fit in between
    for x, y, text, color in sorted(items, key=lambda item: -len(item[2])):
        # the first spot that is free and inside the panel (outside, a label runs into the title or the
        # other panel); failing that, the one that covers the least of other labels, markers and the outside
        best: tuple[float, tuple[int, int]] | None = None
        for dx, dy in [*offsets, *((round(dx * f), round(dy * f)) for f in (2.5, 4) for dx, dy in offsets)]:
            t = _annotate(ax, x, y, text, color, dx, dy, leader=False)  # the text's own box, not its line's
            box = t.get_window_extent(renderer)
            t.remove()
            cost = sum(overlap(box, b) for b in taken) + box.width * box.height - overlap(box, panel)
            if best is None or cost < best[0]:
                best = (cost, (dx, dy))
            if cost == 0:
                break
        assert best is not None
        _annotate(ax, x, y, text, color, *best[1])
        taken.append(_annotate(ax, x, y, text, color, *best[1], leader=False).get_window_extent(renderer))
        ax.texts[-1].remove()


def _annotate(ax: Axes, x: float, y: float, text: str, color: str, dx: int, dy: int, leader: bool = True) -> Any:
    """A small label ``(dx, dy)`` points from the point, on the side it is offset to; one set further
    off than its neighbours' reach is tied to its point by a thin line."""
    ha = "left" if dx > 0 else "right" if dx < 0 else "center"
    line = dict(arrowstyle="-", color=color, lw=0.6, alpha=0.7) if leader and math.hypot(dx, dy) > 30 else None
    label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7.5,
                        color=color, ha=ha, va="bottom", zorder=5, bbox=LABEL_BOX, arrowprops=line)
    label.set_in_layout(False)  # placed in the final layout; it must not move the panels again
    return label


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
    swatches: dict[str, Line2D] = field(default_factory=dict)  # legend label -> its swatch, drawn as the series


def _draw_panel(ax: Axes, panel: str, series: list[Series], iso: tuple[list[float], float, float, float] | None,
                ) -> _Panel:
    """Draw one cost panel: scales first (the spreading of overlapping markers needs them), then the points."""
    out = _Panel()
    everything = [p for s in series for p in s.points]
    _set_cost_scale(ax, [_cost(p, panel)[0] for p in everything], *dict(PANELS)[panel])
    low = min(p.accuracy - p.accuracy_std for p in everything)
    high = max(p.accuracy + p.accuracy_std for p in everything)
    # room above the top markers for their labels (else they run into the title); never far past 100
    ax.set_ylim(max(0.0, low - 5), min(102.0, high + max(5.0, (high - low) / 4)))
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
        style = {"marker": marker, "ls": ls, "color": color, "mfc": "white" if hollow else color,
                 "mew": 1.3 if hollow else 1.0, "ms": size, "lw": 1.4}
        ax.errorbar(xs, ys, xerr=[_cost(p, panel)[1] for p in s.points], yerr=[p.accuracy_std for p in s.points],
                    capsize=2.5, elinewidth=1, label=s.label, zorder=3, **style)
        out.swatches[s.label] = Line2D([], [], **style)
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
            text = textwrap.fill(", ".join(s.points[0].settings.values()), 20, break_long_words=False)
            out.labels.append((xs[0], ys[0], text, color))
    stopped = [p for p in everything if p.stopped_at]
    if stopped:  # a bar through the point where a budget ended the run
        ax.plot([shown[id(p)] for p in stopped], [p.accuracy for p in stopped], ms=MARKER_SIZE * 2.6, zorder=4.5,
                label=STOP_LABEL, **STOP_MARK)
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
    longest = max((len(line) for s in labels for line in s.split("\n")), default=1)
    per_column = (longest * 0.55 * fontsize + (HANDLE_LENGTH + 1.5) * fontsize) / 72  # inches: text, swatch, padding
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
    legend = fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, foot), handlelength=HANDLE_LENGTH,
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
    to_label: list[tuple[Axes, _Panel]] = []
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
            to_label.append((ax, drawn))
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, drawn.swatches.get(label, handle))
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
    fig.canvas.draw()  # labels are placed in the final layout: with the legend, notes and titles in place
    for ax, drawn in to_label:
        _place_labels(ax, drawn.labels, fig, drawn.markers)
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
        seeds = f"{len(members)} seed{'s' if len(members) > 1 else ''}"
        label = labels.get(chash, method)
        label = f"{label[:-1]}, {seeds})" if label.endswith(")") else f"{label} ({seeds})"
        # a curve that coincides with earlier ones gets a larger hollow marker, so that all stay visible
        style = {"ms": 4.0 + 2.4 * min(rank, 3), "mfc": "none" if rank else color, "mew": 1.2 if rank else 1.0}
        if marker == "*":
            style["ms"] *= 1.3
        stopped = any(r["status"] == "budget-stopped" for r in members)
        for ax, xs in ((ax_round, rounds), (ax_bytes, gb)):
            ax.plot(xs, mean, marker=marker, color=color, ls=ls, lw=1.4, label=label, zorder=3 - 0.01 * rank,
                    **style)
            if stopped:  # the curve ends where a budget stopped the run
                ax.plot(xs[-1:], mean[-1:], ms=16, zorder=4, label=STOP_LABEL if ax is ax_round else "_stop",
                        **STOP_MARK)
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
    if STOP_LABEL in names:  # one entry for the stop marks, after the curves
        first = names.index(STOP_LABEL)
        kept = [(h, n) for i, (h, n) in enumerate(zip(handles, names, strict=True)) if n != STOP_LABEL or i == first]
        kept.sort(key=lambda hn: hn[1] == STOP_LABEL)
        handles, names = [h for h, _ in kept], [n for _, n in kept]
    notes = ["Curves that coincide are drawn with hollow markers of increasing size."] if any(ranks) else []
    _legend_and_notes(fig, handles, names, notes)
    bytes_note = "bytes as sent" if convention == "c3bench" else "bytes = non-zeros×4 (AdaSplit authors' convention)"
    fig.suptitle(title or f"Training curves on {protocols[0]}: mean over seeds, band = ±1 std ({bytes_note})",
                 fontsize=11.5)
    return fig


def figure_bytes(fig: Figure, name: str, dpi: int = 150, key: str | None = None) -> bytes:
    """A figure as the bytes of a PNG, SVG or PDF file (chosen by ``name``'s suffix), without timestamps;
    a PNG keeps ``key`` (``series.figure_key``) so that an unchanged figure is not drawn again."""
    import io

    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unsupported figure format '{suffix}'; use one of {', '.join(FORMATS)}")
    metadata = {"png": {"Software": None, **({FIGURE_KEY: key} if key else {})}, "svg": {"Date": None},
                "pdf": {"CreationDate": None}}
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix[1:], dpi=dpi, metadata=metadata[suffix[1:]])
    return buffer.getvalue()


def save(fig: Figure, path: str | Path, dpi: int = 150, key: str | None = None) -> Path:
    """Write a figure as PNG, SVG or PDF (chosen by the suffix) atomically: a link at ``path`` is
    replaced, never written through (see :func:`figure_bytes`)."""
    from c3bench.results import write_atomic

    path = Path(path)
    write_atomic(path, figure_bytes(fig, path.name, dpi, key))
    return path
