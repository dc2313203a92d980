"""Figures: the trade-off plot and the curves hold the right axes, series and points (read back from
the matplotlib Figure), computed from tiny real runs."""

from __future__ import annotations

import statistics

import pytest
from matplotlib.container import ErrorbarContainer
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.plots import ConfigPoint, build_series, curves_figure, pareto_front, save, tradeoff_figure
from c3bench.results import load_record
from c3bench.score import c3_score
from tests.helpers import run_tiny

LRS = (0.00033, 0.001, 0.003)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """FedAvg at three learning rates (two seeds at the default), FedProx once; 1 round each."""
    out = tmp_path_factory.mktemp("plot-results")
    for lr, seeds in zip(LRS, ((0, 1), (0,), (0,)), strict=True):
        for seed in seeds:
            run_tiny(out, rounds=1, seed=seed, lr=str(lr))
    run_tiny(out, method="fedprox", rounds=1, seed=0, mu="0.1")
    return [(str(p), load_record(p)) for p in sorted(out.glob("*.json"))]


def _containers(ax):
    return {c.get_label(): c for c in ax.containers if isinstance(c, ErrorbarContainer)}


def _expected(records, method, lr=None):
    rs = [r for _, r in records if r["config"]["method"] == method
          and (lr is None or r["config"]["method_params"]["lr"] == pytest.approx(lr))]
    accs = [r["totals"]["accuracy"] for r in rs]
    return (statistics.fmean(r["totals"]["bytes_total"] / 1e9 for r in rs),
            statistics.fmean(r["totals"]["client_flops"] / 1e12 for r in rs),
            statistics.fmean(accs), statistics.stdev(accs) if len(accs) > 1 else 0.0)


def test_tradeoff_axes_series_points_and_error_bars(records):
    fig = tradeoff_figure(records)
    bw_ax, cc_ax = fig.axes
    assert bw_ax.get_xscale() == cc_ax.get_xscale() == "log"
    assert "GB" in bw_ax.get_xlabel() and "TFLOPs" in cc_ax.get_xlabel() and "accuracy" in bw_ax.get_ylabel()
    for ax, col in ((bw_ax, 0), (cc_ax, 1)):
        series = _containers(ax)
        # FedAvg's three learning rates form one curve; FedProx is a single configuration
        assert set(series) == {"fedavg, lr = 0.00033…0.003", "fedprox"}
        curve = series["fedavg, lr = 0.00033…0.003"]
        xs, ys = curve.lines[0].get_data()
        assert curve.lines[0].get_linestyle() == "-" and len(xs) == 3
        for i, lr in enumerate(LRS):  # ordered by the varied hyperparameter
            exp = _expected(records, "fedavg", lr)
            assert xs[i] == pytest.approx(exp[col]) and ys[i] == pytest.approx(exp[2])
        # the y error bar of the two-seed point spans mean ± sample std
        y_bars = curve.lines[2][-1].get_segments()
        exp = _expected(records, "fedavg", LRS[0])
        assert exp[3] > 0 and y_bars[0][1][1] - y_bars[0][0][1] == pytest.approx(2 * exp[3])
        single = series["fedprox"]
        px, py = single.lines[0].get_data()
        exp = _expected(records, "fedprox")
        assert list(px) == pytest.approx([exp[col]]) and list(py) == pytest.approx([exp[2]])
        # the Pareto line joins exactly the non-dominated plotted points
        (front,) = [line for line in ax.get_lines() if line.get_label() == "Pareto front"]
        plotted = [(x, y) for c in series.values() for x, y in zip(*c.lines[0].get_data(), strict=True)]
        dominated = {p for p in plotted if any(q[0] <= p[0] and q[1] > p[1] for q in plotted)}
        assert sorted(zip(*front.get_data(), strict=True)) == sorted(set(plotted) - dominated)


def test_iso_lines_follow_the_c3_formula(records):
    fig = tradeoff_figure(records, iso_levels=[0.2, 0.3], bmax=0.01, cmax=0.02, temperature=4)
    bw_ax = fig.axes[0]
    iso = [line for line in bw_ax.get_lines() if line.get_label() == "_iso"]
    assert len(iso) == 2
    for line, level in zip(iso, (0.2, 0.3), strict=True):
        xs, ys = line.get_data()
        for x, y in list(zip(xs, ys, strict=True))[::40]:
            assert c3_score(y, x, 0.0, 0.01, 0.02, 4) == pytest.approx(level)
    assert "Bmax 0.01 GB" in " ".join(t.get_text() for t in fig.legends[0].get_texts())


def test_pareto_front_and_one_hyperparameter_curves():
    assert pareto_front([(1, 50), (2, 40), (3, 70), (0.5, 20), (3, 60), (4, 70)]) == [(0.5, 20), (1, 50), (3, 70)]

    def point(method, **params):
        cfg = {"method": method, "protocol": "p", "rounds": 5, "method_params": {"kappa": 0.6, "eta": 0.6, **params}}
        return ConfigPoint(str(sorted(params.items())), method, "p", method, cfg, [0], 50, 0, 1, 0, 1, 0)

    grid = [point("adasplit", kappa=k, eta=e) for k in (0.2, 0.5, 0.8) for e in (0.4, 0.6)]
    lone = point("adasplit", kappa=0.9, eta=0.9)  # differs from the others in two hyperparameters
    series = build_series([*grid, lone, point("fedavg")])
    curves = [s for s in series if s.is_curve]
    assert [s.key for s in curves] == ["kappa", "kappa"]  # kappa is preferred over eta at equal coverage
    assert sorted(len(s.points) for s in curves) == [3, 3]
    assert all([p.value("kappa") for p in s.points] == [0.2, 0.5, 0.8] for s in curves)
    assert {s.label for s in series if not s.is_curve} == {"adasplit", "fedavg"}
    only_eta = build_series(grid, vary=["eta"])
    assert {s.key for s in only_eta} == {"eta"} and len(only_eta) == 3


def test_curves_follow_rounds_and_cumulative_bytes(tmp_path):
    recs = []
    for seed in (0, 1):
        record = run_tiny(tmp_path, rounds=2, seed=seed)
        recs.append((f"s{seed}", record))
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


def test_plot_commands(records, tmp_path):
    cli = CliRunner()
    files = [s for s, _ in records]
    result = cli.invoke(app, ["plot", "tradeoff", *files, "-o", str(tmp_path / "t.svg"), "--iso"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.svg").read_text().count("<svg") == 1
    result = cli.invoke(app, ["plot", "curves", *files, "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 0 and (tmp_path / "c.png").stat().st_size > 10_000
    bad = cli.invoke(app, ["plot", "tradeoff", *files, "-o", str(tmp_path / "t.gif")])
    assert bad.exit_code == 2 and ".png" in bad.stderr
