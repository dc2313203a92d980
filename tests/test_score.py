"""C3-Score: the paper's Tables 1 and 2 are reproduced from their other columns; grouping by seed."""

from __future__ import annotations

import math

import pytest

from c3bench import DEFAULT_TEMPERATURE, c3_score
from c3bench.score import score_table
from tests.helpers import run_tiny

# (accuracy %, bandwidth GB, client TFLOPs, published C3); Bmax, Cmax as stated in Section 5.
TABLE1 = (84.64, 17.13, [
    (84.65, 84.54, 3.76, 0.72), (84.67, 84.64, 3.76, 0.73), (82.21, 2.39, 17.13, 0.72),
    (85.09, 2.39, 17.13, 0.75), (84.73, 4.78, 17.13, 0.74), (82.71, 2.39, 17.13, 0.73),
    (88.88, 9.71, 5.38, 0.85), (87.11, 2.43, 5.38, 0.85),
])
TABLE2 = (35.94, 11.77, [
    (67.90, 34.88, 1.66, 0.59), (71.46, 35.94, 1.66, 0.62), (91.31, 2.39, 11.77, 0.79),
    (92.54, 2.39, 11.77, 0.81), (87.30, 4.79, 11.77, 0.76), (88.94, 2.39, 11.77, 0.77),
    (91.92, 2.85, 2.38, 0.89), (92.91, 6.57, 2.38, 0.88),
])


def _errors(temperature: float) -> list[float]:
    return [c3_score(a, b, c, bmax, cmax, temperature) - published
            for bmax, cmax, rows in (TABLE1, TABLE2) for a, b, c, published in rows]


def test_default_temperature_reproduces_the_papers_c3_columns():
    errors = [abs(e) for e in _errors(DEFAULT_TEMPERATURE)]
    assert max(errors) < 0.016
    assert sum(e < 0.01 for e in errors) >= 15  # all but AdaSplit(kappa=0.75) on Mixed-NonIID
    # and the default is (close to) the best temperature for that purpose
    assert max(errors) <= min(max(abs(e) for e in _errors(t / 10)) for t in range(30, 200)) + 0.002
    # T far from 8 does not reproduce the tables
    assert max(abs(e) for e in _errors(4.0)) > 0.05


def test_c3_formula_and_bounds():
    assert c3_score(100, 0, 0, 1, 1) == 1.0
    assert c3_score(80, 10, 5, 10, 5, 2.0) == pytest.approx(0.8 * math.exp(-1.0))
    with pytest.raises(ValueError):
        c3_score(80, 1, 1, 0, 1)


def test_score_table_groups_seeds_and_defaults_budgets_to_the_maximum(tmp_path):
    records = [(f"s{s}", run_tiny(tmp_path / f"s{s}", rounds=1, seed=s)) for s in (0, 1)]
    records.append(("other", run_tiny(tmp_path / "o", rounds=1, seed=0, local_epochs="2")))
    rows, budgets = score_table(records)
    assert len(rows) == 2
    by_seeds = {r.seeds: r for r in rows}
    two = by_seeds[2]
    accs = [r["totals"]["accuracy"] for _, r in records[:2]]
    assert two.accuracy_mean == pytest.approx(sum(accs) / 2)
    assert budgets["cmax_tflops"] == pytest.approx(max(r.client_tflops for r in rows))
    assert by_seeds[1].params == "local_epochs=2"
    for row in rows:
        assert row.c3 == pytest.approx(c3_score(row.accuracy_mean, row.bandwidth_gb, row.client_tflops,
                                                budgets["bmax_gb"], budgets["cmax_tflops"]))
