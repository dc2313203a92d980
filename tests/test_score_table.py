"""`c3bench score` as a reader meets it: runs of other protocol parameters get their own table and
scale, rows say what sets them apart, a 100-column terminal wraps cells instead of cutting them, one
seed shows no spread (null in JSON), and folders are read recursively."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from c3bench.cli import app

cli = CliRunner()
SMALL = ["--set", "num_clients=2", "--set", "train_per_client=64", "--set", "test_per_client=32"]
OTHER = ["--set", "num_clients=3", "--set", "train_per_client=48", "--set", "test_per_client=16"]


def _run(out, method, *extra):
    result = cli.invoke(app, ["run", "-m", method, "-p", "synthetic", "--rounds", "2", "-q", "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """AdaSplit at kappa 0.3 (two seeds) and 0.6 (one seed, and one budget-stopped), FedAvg on the same
    small federation and FedAvg on another one, in nested folders."""
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("score") / "results"
    for seed in ("0", "1"):
        _run(root / "small" / "kappa", "adasplit", *SMALL, "--set", "kappa=0.3", "--seed", seed)
    _run(root / "small" / "kappa", "adasplit", *SMALL, "--set", "kappa=0.6")
    _run(root / "small" / "budget", "adasplit", *SMALL, "--set", "kappa=0.6", "--budget-bandwidth", "150kB")
    _run(root / "small", "fedavg", *SMALL)
    _run(root / "other", "fedavg", *OTHER)
    return root


def test_mixed_protocol_parameters_get_separate_tables_and_scales(results):
    result = cli.invoke(app, ["score", str(results), "--json"])
    assert result.exit_code == 0, result.output
    blocks = json.loads(result.stdout)
    assert len(blocks) == 2  # never one Bmax for 2 clients x 64 images and 3 clients x 48
    by_clients = {b["protocol_params"]["num_clients"]: b for b in blocks}
    assert by_clients[3]["distinct"] == {"num_clients": 3, "test_per_client": 16, "train_per_client": 48}
    assert [r["method"] for r in by_clients[3]["rows"]] == ["fedavg"]
    assert by_clients[3]["budgets"]["bmax_gb"] == pytest.approx(by_clients[3]["rows"][0]["bandwidth_gb"])
    small = by_clients[2]["rows"]
    assert by_clients[2]["budgets"]["bmax_gb"] == pytest.approx(max(r["bandwidth_gb"] for r in small))
    settings = sorted(", ".join(r["settings"]) for r in small if r["method"] == "adasplit")
    assert settings == ["κ=0.3, encoding=dense, no bandwidth budget", "κ=0.6, encoding=dense, bandwidth budget 150 kB",
                        "κ=0.6, encoding=dense, no bandwidth budget"]
    stds = {(", ".join(r["settings"]), r["seeds"]): r["accuracy_std"] for r in small}
    assert all((std is None) == (seeds == 1) for (_, seeds), std in stds.items())  # one seed: null, not 0
    text = cli.invoke(app, ["score", str(results)]).stdout
    assert "C3 on synthetic (num_clients=3, test_per_client=16, train_per_client=48)" in text
    assert "± 0.00" not in text


def test_a_100_column_terminal_wraps_cells_and_cuts_none(results):
    env = {**os.environ, "COLUMNS": "100"}
    shown = subprocess.run([sys.executable, "-m", "c3bench.cli", "score", str(results / "small")], env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100 and "…" not in shown.stdout
    words = shown.stdout.split()
    for whole in ("adasplit", "fedavg", "κ=0.3,", "κ=0.6,", "budget-stopped", "completed", "C3"):
        assert whole in words, whole  # method, settings and status whole (wrapped between words)
    header = next(line for line in lines if "method" in line)
    assert header.rstrip().endswith("C3")  # the last column is there, not cropped
