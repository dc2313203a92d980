"""Figures: the trade-off plot and the curves hold the right axes, series, points, colours and labels
(read back from the matplotlib Figure), computed from tiny real runs."""

from __future__ import annotations

import copy
import itertools
import statistics

import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.container import ErrorbarContainer
from matplotlib.text import Text
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.plots import (
    OVERLAP,
    SPREAD,
    curves_figure,
    figure_bytes,
    save,
    tradeoff_figure,
)
from c3bench.results import config_hash, load_record, write_record
from c3bench.score import c3_score
from c3bench.series import (
    LABEL_MAX,
    METHOD_STYLES,
    ConfigPoint,
    build_series,
    config_points,
    distinguishing_settings,
    method_style,
    pareto_front,
)
from tests.helpers import run_tiny

KAPPAS = (0.25, 0.5, 0.75)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """An AdaSplit kappa sweep over 4 rounds (two seeds at kappa=0.5), FedAvg over 2 rounds and over 1
    round (a rounds-only difference), FedProx and FedNova over 2 rounds."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("plot-results")
    for kappa in KAPPAS:
        for seed in (0, 1) if kappa == 0.5 else (0,):
            run_tiny(out, method="adasplit", rounds=4, seed=seed, kappa=str(kappa))
    for rounds in (1, 2):
        run_tiny(out, rounds=rounds)
    run_tiny(out, method="fedprox", rounds=2, mu="0.1")
    run_tiny(out, method="fednova", rounds=2)
    return [(str(p), load_record(p)) for p in sorted(out.glob("*.json"))]


def _pick(records, method, **where):
    return [(s, r) for s, r in records if r["config"]["method"] == method
            and all((r["config"] if k == "rounds" else r["config"]["method_params"])[k] == pytest.approx(v)
                    for k, v in where.items())]


def _variant(record, method=None, protocol=None, rounds=None, seed=None, drop_hparams=False, **params):
    """A copy of a real record with a changed configuration (and so another config hash)."""
    new = copy.deepcopy(record)
    cfg = new["config"]
    cfg["method"] = method or cfg["method"]
    cfg["protocol"] = protocol or cfg["protocol"]
    cfg["rounds"] = cfg["rounds"] if rounds is None else rounds
    cfg["seed"] = cfg["seed"] if seed is None else seed
    cfg["method_params"].update(params)
    new["config_hash"] = config_hash(cfg)
    if drop_hparams:
        new.pop("hparams")
    return new


def _containers(ax):
    return {c.get_label(): c for c in ax.containers if isinstance(c, ErrorbarContainer)}


def _markers(ax):
    """(x, y) of every plotted configuration marker on the axes."""
    return [(x, y) for c in _containers(ax).values() for x, y in zip(*c.lines[0].get_data(), strict=True)]


def _to_axes(ax, xy):
    return (ax.transScale + ax.transLimits).transform(xy)


def _expected(rs):
    accs = [r["totals"]["accuracy"] for _, r in rs]
    return (statistics.fmean(r["totals"]["bytes_total"] / 1e9 for _, r in rs),
            statistics.fmean(r["totals"]["client_flops"] / 1e12 for _, r in rs),
            statistics.fmean(accs), statistics.stdev(accs) if len(accs) > 1 else 0.0)


def _legend_texts(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_tradeoff_axes_series_points_and_error_bars(records):
    fig = tradeoff_figure(records)
    bw_ax, cc_ax = fig.axes
    assert bw_ax.get_xscale() == cc_ax.get_xscale() == "log"
    assert "GB" in bw_ax.get_xlabel() and "TFLOPs" in cc_ax.get_xlabel() and "accuracy" in bw_ax.get_ylabel()
    n_points = len(config_points(records))
    for ax, col in ((bw_ax, 0), (cc_ax, 1)):
        series = _containers(ax)
        # AdaSplit's kappa sweep (a key hyperparameter) is one curve; FedAvg's two budgets stay apart
        assert set(series) == {"adasplit κ=0.25…0.75", "fedavg 1 round", "fedavg 2 rounds", "fedprox", "fednova"}
        curve = series["adasplit κ=0.25…0.75"]
        xs, ys = curve.lines[0].get_data()
        assert curve.lines[0].get_linestyle() == "-" and len(xs) == 3
        for i, kappa in enumerate(KAPPAS):  # ordered by the varied hyperparameter
            exp = _expected(_pick(records, "adasplit", kappa=kappa))
            # accuracy exact; the cost exact unless spread apart from a coinciding marker (a few % of the axes)
            assert ys[i] == pytest.approx(exp[2])
            shown, true = _to_axes(ax, [(xs[i], ys[i]), (exp[col], exp[2])])
            assert abs(shown[0] - true[0]) <= SPREAD * n_points / 2
        # the y error bar of the two-seed point spans mean ± sample std
        y_bars = curve.lines[2][-1].get_segments()
        exp = _expected(_pick(records, "adasplit", kappa=0.5))
        assert exp[3] > 0 and y_bars[1][1][1] - y_bars[1][0][1] == pytest.approx(2 * exp[3])
        # the Pareto line joins exactly the non-dominated configurations (by their true costs)
        (front,) = [line for line in ax.get_lines() if line.get_label() == "Pareto front"]
        true = [(e[col], e[2]) for e in (_expected(_pick(records, "adasplit", kappa=k)) for k in KAPPAS)] + [
            (e[col], e[2]) for e in (_expected([sr]) for sr in records if sr[1]["config"]["method"] != "adasplit")]
        best = set(pareto_front(true))
        assert sorted(front.get_ydata()) == sorted(y for x, y in true if (x, y) in best)


def test_iso_lines_follow_the_c3_formula(records):
    fig = tradeoff_figure(records, iso_levels=[0.2, 0.3], bmax=0.01, cmax=0.02, temperature=4)
    bw_ax = fig.axes[0]
    iso = [line for line in bw_ax.get_lines() if line.get_label() == "_iso"]
    assert len(iso) == 2
    for line, level in zip(iso, (0.2, 0.3), strict=True):
        xs, ys = line.get_data()
        for x, y in list(zip(xs, ys, strict=True))[::40]:
            assert c3_score(y, x, 0.0, 0.01, 0.02, 4) == pytest.approx(level)
    assert "C3 iso-lines (T=4)" in _legend_texts(fig)
    assert any("Bmax 0.01 GB" in t.get_text() for t in fig.texts)  # the footnote gives the budgets


def test_colours_and_markers_are_per_method_and_the_same_in_every_figure(records):
    few = [sr for sr in records if sr[1]["config"]["method"] in ("adasplit", "fednova")]
    styles = []
    for subset in (few, records):
        fig = tradeoff_figure(subset)
        seen = {}
        for ax in fig.axes:
            for label, c in _containers(ax).items():
                method = label.split()[0]
                style = (to_rgba(c.lines[0].get_color()), c.lines[0].get_marker())
                assert seen.setdefault(method, style) == style  # one style per method across panels and entries
        styles.append(seen)
    assert set(styles[0]) == {"adasplit", "fednova"} and len(styles[1]) == 4
    for method, style in styles[0].items():
        assert styles[1][method] == style
    # the built-in methods are told apart by colour and by marker; others get a stable hashed choice
    assert len({c for c, _ in METHOD_STYLES.values()}) == len({m for _, m in METHOD_STYLES.values()}) == 8
    assert method_style("my-method") == method_style("my-method") != method_style("another-method")
    assert method_style("fednova") == METHOD_STYLES["fednova"]


def test_coinciding_points_are_spread_and_the_figure_says_so(records):
    (_, fedavg), = _pick(records, "fedavg", rounds=2)
    twins = [_variant(fedavg, method=m) for m in ("scaffold", "splitfed")]  # the same costs and accuracy
    recs = [*records, *((f"twin{i}", r) for i, r in enumerate(twins))]
    fig = tradeoff_figure(recs)
    for ax in fig.axes:
        shown = _markers(ax)
        assert len(shown) == len(set(shown)) == len(config_points(recs))  # no two markers coincide
        frac = _to_axes(ax, shown)
        for (x1, y1), (x2, y2) in itertools.combinations(frac, 2):
            if abs(y1 - y2) < 1e-9:  # the twins (equal accuracy) sit apart by a marker's width or more
                assert abs(x1 - x2) >= min(SPREAD, OVERLAP[0]) * 0.99
        assert all(y == pytest.approx(fedavg["totals"]["accuracy"]) for label, c in _containers(ax).items()
                   if label.split()[0] in ("scaffold", "splitfed") for y in c.lines[0].get_ydata())
    notes = " ".join(t.get_text() for t in fig.texts)
    assert "spread sideways" in notes and "scaffold" in notes and "splitfed" in notes
    alone = tradeoff_figure(_pick(records, "fedavg"))  # two points, far apart: nothing moved, no note
    assert not any("spread" in t.get_text() for t in alone.texts)


def test_legend_labels_name_only_what_differs_and_are_short(records):
    (_, base), = _pick(records, "adasplit", kappa=0.25)
    many = _variant(base, eta=0.3, gamma=0.5, tau=0.2, lr=0.01, weight_decay=0.001, batch_size=8,
                    lr_schedule="constant", iteration="longest", server_gradient=True)
    recs = [*records, ("many", many)]
    fig = tradeoff_figure(recs)
    labels = list(_containers(fig.axes[0]))
    assert all(len(line) <= LABEL_MAX for label in _legend_texts(fig) for line in label.split("\n"))
    (long,) = [label for label in labels if "η=0.3" in label]
    # key settings first, wrapped over lines; what does not fit is counted, never cut mid-word
    assert long.startswith("adasplit κ=0.25, η=0.3") and "…" not in long and long.count("\n") <= 2
    assert all(word in long for word in ("batch_size=8", "lr_schedule=constant", "τ=0.2", "weight_decay=0.001"))
    # only the settings that differ: nothing about the protocol, the seed or unchanged hyperparameters
    assert not any(word in label for label in labels for word in ("num_clients", "seed=", "cut=", "mu=", "{"))
    points = {p.config_hash: p for p in config_points(recs)}
    # a differing key hyperparameter is always named, another setting only where it is off its default
    assert points[base["config_hash"]].label == "adasplit κ=0.25, η=0.6, server_gradient=False"
    assert {p.config_hash: p for p in config_points(records)}[base["config_hash"]].label == "adasplit κ=0.25"
    # the leaderboard's labels keep their meaning: every differing setting, as the figures name it
    settings = distinguishing_settings([r for _, r in recs])
    assert settings[base["config_hash"]].startswith("batch_size=32, η=0.6, γ=0.87")
    (_, one_round), = _pick(records, "fedavg", rounds=1)
    assert "round" not in settings[base["config_hash"]] and settings[one_round["config_hash"]] == "1 round"


def test_a_setting_a_record_leaves_out_reads_as_its_default_not_unset(records):
    """A record leaves out a quiet default (``record_default=False``) and parameters newer than itself;
    the run behaved as the default does, and tables and legends say so."""
    (_, base), = _pick(records, "adasplit", kappa=0.25)
    assert "shared_client" not in base["config"]["method_params"]  # a quiet default: not in the config
    assert base["hparams"]["defaults"]["shared_client"] is False
    older = copy.deepcopy(base)  # as a record made before the parameter existed declares its defaults
    del older["hparams"]["defaults"]["shared_client"]
    shared = _variant(base, shared_client=True)
    recs = [("older", older), ("shared", shared)]
    settings = distinguishing_settings([r for _, r in recs])
    assert settings == {base["config_hash"]: "shared_client=False", shared["config_hash"]: "shared_client=True"}
    labels = {p.config_hash: p.label for p in config_points(recs)}
    assert labels == {base["config_hash"]: "adasplit shared_client=False",
                      shared["config_hash"]: "adasplit shared_client=True"}
    # a record's own declared default comes first; the others' only fill what it predates
    from c3bench.settings_text import completed, declared_defaults

    own = copy.deepcopy(older)
    own["hparams"]["defaults"]["shared_client"] = True  # as if the default had been another then
    assert completed(own, declared_defaults([shared, own]))["method_params"]["shared_client"] is True
    assert completed(older, declared_defaults([shared, older]))["method_params"]["shared_client"] is False
    # with no record declaring a default, the figure still does not invent one
    bare = [(s, {**r, "hparams": {}}) for s, r in recs]
    assert "shared_client unset" in distinguishing_settings([r for _, r in bare])[base["config_hash"]]


def test_point_labels_sit_inside_their_panel_in_the_saved_figure(records):
    """Labels are placed in the final layout (legend and notes in place), so in the saved figure each one
    lies inside its panel, clear of the panel's title and of the other labels."""
    (_, base), = _pick(records, "adasplit", kappa=0.25)
    crowd = [(f"v{i}", _variant(base, eta=eta, lr_schedule="cosine-global", iteration="longest", gamma=0.75))
             for i, eta in enumerate((0.3, 0.4, 0.5))]
    fig = tradeoff_figure([*records, *crowd])
    seen = []

    def measure(event):  # while the PNG is drawn, at the dpi it is saved with
        for ax in fig.axes:
            # each label's text box (a label set far off has a leader line to its point, which may cross things)
            boxes = [Text.get_window_extent(t, event.renderer).frozen() for t in ax.texts
                     if t.get_text() and "C3=" not in t.get_text()]
            seen.append((ax.get_window_extent(event.renderer).frozen(),
                         ax.title.get_window_extent(event.renderer).frozen(), boxes))

    fig.canvas.mpl_connect("draw_event", measure)
    figure_bytes(fig, "labels.png")
    assert len(seen) >= 2
    for panel, title, boxes in seen[-2:]:  # the last drawing is the one saved
        assert len(boxes) >= 4
        for box in boxes:
            assert panel.x0 - 1 <= box.x0 and box.x1 <= panel.x1 + 1 and panel.y0 - 1 <= box.y0
            assert box.y1 <= panel.y1 + 1 and not box.overlaps(title)
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[:i])


def test_curves_refuse_to_mix_protocols(records, tmp_path):
    (source, fedavg), = _pick(records, "fedavg", rounds=2)
    other = _variant(fedavg, protocol="niid-bench")
    with pytest.raises(ValueError, match="different protocols.*niid-bench, synthetic"):
        curves_figure([(source, fedavg), ("other", other)])
    write_record(tmp_path / "other.json", other)
    result = CliRunner().invoke(app, ["plot", "curves", source, str(tmp_path / "other.json"),
                                      "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 2 and "different protocols" in result.stderr and not (tmp_path / "c.png").exists()
    # the trade-off figure keeps one row per protocol instead
    fig = tradeoff_figure([(source, fedavg), ("other", other)])
    assert [ax.get_title() for ax in fig.axes] == [
        "niid-bench: accuracy vs. bandwidth", "niid-bench: accuracy vs. client compute",
        "synthetic: accuracy vs. bandwidth", "synthetic: accuracy vs. client compute"]


def test_rounds_only_differences_are_separate_points(records):
    fedavg = [p for p in config_points(records) if p.method == "fedavg"]
    series = build_series(fedavg)
    assert not any(s.is_curve for s in series)
    assert sorted(s.label for s in series) == ["fedavg 1 round", "fedavg 2 rounds"]
    fig = tradeoff_figure(records)
    for ax in fig.axes:
        for label in ("fedavg 1 round", "fedavg 2 rounds"):
            assert len(_containers(ax)[label].lines[0].get_xdata()) == 1
        texts = [t.get_text() for t in ax.texts]  # same colour and marker: the points say which is which
        assert "1 round" in texts and "2 rounds" in texts
    # joined only when asked for by name
    (joined,) = build_series(fedavg, vary=["rounds"])
    assert joined.key == "rounds" and [p.value("rounds") for p in joined.points] == [1, 2]


def test_provisional_entries_are_hollow_and_say_how_many_seeds(records):
    fig = tradeoff_figure(records, min_seeds=2)
    series = _containers(fig.axes[0])
    assert "fedprox (1 seed)" in series and "fedavg 2 rounds (1 seed)" in series
    line = series["fedprox (1 seed)"].lines[0]
    assert to_rgba(line.get_markerfacecolor()) == to_rgba("white")
    assert to_rgba(line.get_markeredgecolor()) == to_rgba(method_style("fedprox")[0])
    assert "hollow: provisional (< 2 seeds)" in _legend_texts(fig)
    # the curve's one-seed points are drawn over hollow, the two-seed point stays filled and unlabelled
    (hollow,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "_provisional"]
    assert len(hollow.get_xdata()) == 2
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "κ=0.25 (1 seed)" in texts and "κ=0.5" in texts
    plain = tradeoff_figure(records)
    assert not any("seed" in label for label in _containers(plain.axes[0]))
    assert not any("provisional" in t for t in _legend_texts(plain))


def test_curves_use_the_records_key_hyperparameters(records):
    fedavg = _pick(records, "fedavg", rounds=2)[0][1]
    sweep = [fedavg, _variant(fedavg, lr=0.001), _variant(fedavg, lr=0.003)]  # lr is not a FedAvg key
    with_keys = build_series(config_points([(str(i), r) for i, r in enumerate(sweep)]))
    assert not any(s.is_curve for s in with_keys) and len(with_keys) == 3
    assert {s.label for s in with_keys} == {"fedavg", "fedavg lr=0.001", "fedavg lr=0.003"}  # off-default only
    old = [_variant(r, drop_hparams=True) for r in sweep]  # older records: any differing setting may join
    (curve,) = build_series(config_points([(str(i), r) for i, r in enumerate(old)]))
    assert curve.key == "lr" and curve.label == "fedavg lr=0.00033…0.003"

    def point(method, keys, **params):
        cfg = {"method": method, "protocol": "p", "rounds": 5, "method_params": {"kappa": 0.6, "eta": 0.6, **params}}
        return ConfigPoint(str(sorted(params.items())), method, "p", method, cfg, [0], 50, 0, 1, 0, 1, 0,
                           key_params=keys)

    for keys, first in ((["kappa", "eta"], "kappa"), (["eta", "kappa"], "eta"), (["eta"], "eta")):
        grid = [point("m", keys, kappa=k, eta=e) for k in (0.2, 0.5, 0.8) for e in (0.4, 0.6, 0.9)]
        curves = [s for s in build_series(grid) if s.is_curve]
        assert {s.key for s in curves} == {first} and len(curves) == 3  # equal coverage: the earlier key
    grid = [point("m", ["eta", "kappa"], kappa=k, eta=e) for k in (0.2, 0.5, 0.8) for e in (0.4, 0.6)]
    grid.append(point("m", ["eta", "kappa"], kappa=0.9, eta=0.4))
    assert {s.key for s in build_series(grid) if s.is_curve} == {"kappa"}  # kappa curves cover more (7 of 7)
    assert {s.key for s in build_series(grid, vary=["eta"]) if s.is_curve} == {"eta"}


def test_pareto_front():
    assert pareto_front([(1, 50), (2, 40), (3, 70), (0.5, 20), (3, 60), (4, 70)]) == [(0.5, 20), (1, 50), (3, 70)]


def test_curves_follow_rounds_and_cumulative_bytes(records, tmp_path):
    (_, r0), = _pick(records, "fedavg", rounds=2)
    recs = [("s0", r0), ("s1", _variant(r0, seed=1))]
    recs[1][1]["rounds"][1]["accuracy"]["mean"] += 10.0  # a second seed that differs
    fig = curves_figure(recs)
    by_round, by_bytes = fig.axes
    (line,) = [ln for ln in by_round.get_lines() if ln.get_label().startswith("fedavg")]
    assert line.get_label() == "fedavg (2 seeds)"
    xs, ys = line.get_data()
    assert list(xs) == [1, 2]
    for k in range(2):
        assert ys[k] == pytest.approx(statistics.fmean(r["rounds"][k]["accuracy"]["mean"] for _, r in recs))
    (bline,) = [ln for ln in by_bytes.get_lines() if ln.get_label().startswith("fedavg")]
    assert list(bline.get_xdata()) == pytest.approx(
        [statistics.fmean(r["rounds"][k]["cumulative"]["bytes_total"] / 1e9 for _, r in recs) for k in range(2)])
    assert by_bytes.get_xscale() == "log" and by_round.get_xlabel() == "round"
    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")):
        assert save(fig, tmp_path / f"c{suffix}").read_bytes().startswith(magic)


def test_coinciding_curves_get_nested_hollow_markers(records):
    (_, fedavg), = _pick(records, "fedavg", rounds=2)
    recs = [("a", fedavg), ("b", _variant(fedavg, method="fedprox")), ("c", _variant(fedavg, method="scaffold"))]
    fig = curves_figure(recs)
    lines = {ln.get_label().split()[0]: ln for ln in fig.axes[0].get_lines()}
    sizes = [lines[m].get_markersize() for m in ("fedavg", "fedprox", "scaffold")]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    assert lines["fedprox"].get_markerfacecolor() == "none" != lines["fedavg"].get_markerfacecolor()
    assert {to_rgba(lines[m].get_color()) for m in lines} == {to_rgba(method_style(m)[0]) for m in lines}
    assert any("hollow markers of increasing size" in t.get_text() for t in fig.texts)
    assert not any("hollow" in t.get_text() for t in curves_figure([("a", fedavg)]).texts)


def test_plot_commands(records, tmp_path):
    cli = CliRunner()
    files = [s for s, _ in records]
    result = cli.invoke(app, ["plot", "tradeoff", *files, "-o", str(tmp_path / "t.svg"), "--iso", "--min-seeds", "2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.svg").read_text().count("<svg") == 1
    result = cli.invoke(app, ["plot", "curves", *files, "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 0 and (tmp_path / "c.png").stat().st_size > 10_000
    bad = cli.invoke(app, ["plot", "tradeoff", *files, "-o", str(tmp_path / "t.gif")])
    assert bad.exit_code == 2 and ".png" in bad.stderr
    bad = cli.invoke(app, ["plot", "tradeoff", *files, "-o", str(tmp_path / "t.png"), "--min-seeds", "0"])
    assert bad.exit_code == 2 and "--min-seeds" in bad.stderr


def test_figures_name_settings_for_people_with_distinct_entries_dashed_swatches_and_budget_stops(records, tmp_path):
    from c3bench.accounting import Budgets
    from c3bench.plots import HANDLE_LENGTH, STOP_LABEL

    out = tmp_path / "budgeted"
    stopped = run_tiny(out, rounds=3, budgets=Budgets.parse("12Mb"))  # 1.5 MB: one round of two fits
    assert stopped["status"] == "budget-stopped"
    (fedavg_source, fedavg), = _pick(records, "fedavg", rounds=2)
    # a second AdaSplit kappa curve (eta=0.3), drawn dashed
    twins = [_variant(r, eta=0.3) for _, r in _pick(records, "adasplit") if r["config"]["seed"] == 0]
    mixed = [*records, *((f"eta{i}", r) for i, r in enumerate(twins)),
             *((str(p), load_record(p)) for p in out.glob("*.json"))]
    for fig in (tradeoff_figure(mixed), curves_figure([(fedavg_source, fedavg), *((str(p), load_record(p))
                                                                                for p in out.glob("*.json"))])):
        legend = fig.legends[0]
        texts = [t.get_text() for t in legend.get_texts()]
        assert len(texts) == len(set(texts))  # distinct entries
        for word in ("budgets.", "bandwidth_bytes", "client_flops", "=None", "charge_inference"):
            assert not any(word in t for t in texts), (word, texts)
        assert any("bandwidth budget 1.5 MB" in t for t in texts) and any("no bandwidth budget" in t for t in texts)
        assert legend.handlelength >= HANDLE_LENGTH and STOP_LABEL in texts
        bars = [line for ax in fig.axes for line in ax.get_lines() if line.get_label() in (STOP_LABEL, "_stop")]
        assert bars and all(line.get_ydata()[-1] == pytest.approx(stopped["totals"]["accuracy"]) for line in bars)
    fig = tradeoff_figure(mixed)
    legend = fig.legends[0]
    swatches = dict(zip((t.get_text() for t in legend.get_texts()), legend.legend_handles, strict=True))
    curves = [label for label in swatches if label.startswith("adasplit κ=0.25…0.75")]
    assert len(curves) == 2
    drawn = {c.get_label(): c.lines[0].get_linestyle() for c in fig.axes[0].containers}
    assert {swatches[c].get_linestyle() for c in curves} == {drawn[c] for c in curves}
    assert len({drawn[c] for c in curves}) == 2 and "-" in {drawn[c] for c in curves}  # one solid, one dashed
