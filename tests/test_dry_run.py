"""`c3bench reproduce --dry-run` trains nothing: FLOPs are counted from the configuration and the time
comes from this machine's calibration (kept from real runs or measured by --calibrate), packed on -j
workers; it finishes in seconds."""

from __future__ import annotations

import json
import time

import pytest
import torch
from typer.testing import CliRunner

from c3bench.cli import app

cli = CliRunner()


@pytest.fixture
def no_training(monkeypatch):
    """Any training step from here on fails the test."""
    from c3bench.federated import FederatedMethod
    from c3bench.split import SplitMethod

    def trained(*args, **kwargs):
        raise AssertionError("a training step ran")

    for cls in (FederatedMethod, SplitMethod):
        monkeypatch.setattr(cls, "run_round", trained)
    monkeypatch.setattr(torch.optim.Optimizer, "step", trained)


def _dry(tmp_path, *extra):
    began = time.monotonic()
    result = cli.invoke(app, ["reproduce", "synthetic-quick", "--dry-run", "-o", str(tmp_path / "out"), "--json", *extra])
    return result, time.monotonic() - began


def test_the_dry_run_counts_flops_trains_nothing_and_says_how_to_calibrate(isolated_data_env, no_training, one_thread):
    result, took = _dry(isolated_data_env)
    assert result.exit_code == 0, result.output
    assert took < 30  # seconds, not the minutes a real probe took
    plan = json.loads(result.stdout)
    assert len(plan["runs"]) == 16 and all(r["flops"] > 0 and r["seconds"] is None for r in plan["runs"])
    assert plan["total"]["uncalibrated_runs"] == 16 and plan["total"]["wall_s"] is None
    assert "--calibrate" in result.stderr
    assert not (isolated_data_env / "out").exists() or not list((isolated_data_env / "out").glob("*.json"))


def test_a_real_run_calibrates_and_the_dry_run_then_estimates_honouring_j(isolated_data_env, monkeypatch, one_thread):
    real = cli.invoke(app, ["run", "--config", "synthetic-quick/fedavg", "-q", "-o", str(isolated_data_env / "real")])
    assert real.exit_code == 0, real.output
    record = json.loads(open(real.stdout.strip()).read())
    counted = record["totals"]["client_flops"] + record["totals"]["server_flops"]
    assert (isolated_data_env / "xdg" / "c3bench" / "calibration.json").is_file()

    from c3bench.federated import FederatedMethod

    def trained(*args, **kwargs):
        raise AssertionError("a training step ran")

    monkeypatch.setattr(FederatedMethod, "run_round", trained)
    monkeypatch.setattr(torch.optim.Optimizer, "step", trained)
    one, _ = _dry(isolated_data_env, "--rows", "fedavg", "-j", "1")
    two, took = _dry(isolated_data_env, "--rows", "fedavg", "-j", "2")
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    assert took < 30
    serial, packed = json.loads(one.stdout), json.loads(two.stdout)
    runs = serial["runs"]
    assert len(runs) == 2 and all(r["flops"] == pytest.approx(counted) for r in runs)  # FedAvg's FLOPs, exactly
    assert all(r["seconds"] is not None and r["seconds"] > 0 and r["rate_from"].startswith("run ") for r in runs)
    assert serial["total"]["wall_s"] == pytest.approx(serial["total"]["serial_s"])
    assert packed["total"]["jobs"] == 2
    assert packed["total"]["wall_s"] == pytest.approx(max(r["seconds"] for r in packed["runs"]))  # two at once
    assert packed["total"]["wall_s"] < packed["total"]["serial_s"]


def test_a_rate_is_kept_per_numeric_mode(isolated_data_env):
    """--flush-denormal changes a sequential split run's speed several times over on CPU: a rate learnt in
    one mode does not estimate a run in the other (falling back to another method in the same mode)."""
    from c3bench import calibration

    machine = calibration.this_machine()
    calibration.store(machine, "sl-basic", "lenet", 1, 3e12, 1000.0, "run plain")
    calibration.store(machine, "sl-basic", "lenet", 1, 2e13, 1000.0, "run flushed", modes=["--flush-denormal"])
    assert calibration.lookup(machine, "sl-basic", "lenet", 1).source == "run plain"
    flushed = calibration.lookup(machine, "sl-basic", "lenet", 1, ["--flush-denormal"])
    assert flushed.source == "run flushed" and flushed.flops_per_s == pytest.approx(2e10)
    assert calibration.lookup(machine, "splitfed", "lenet", 1, ["--flush-denormal"]).flops_per_s == pytest.approx(2e10)
    assert calibration.lookup(machine, "splitfed", "lenet", 1).flops_per_s == pytest.approx(3e9)
    assert calibration.lookup(machine, "sl-basic", "lenet", 1, ["--stack-clients"]) is None
    record = {"name": "r", "config": {"method": "splitfed", "backbone": "lenet"}, "execution": {"flush_denormal": True},
              "environment": {"cpu": "c", "torch": "t", "torch_threads": 1},
              "rounds": [{"wall_s": 10.0, "cumulative": {"client_flops": 5e10, "server_flops": 5e10}}]}
    calibration.record_run(record)
    learnt = calibration.lookup(calibration.machine_key("c", "t", "cpu"), "splitfed", "lenet", 1, ["--flush-denormal"])
    assert learnt.source == "run r" and learnt.flops_per_s == pytest.approx(1e10)
    assert calibration.lookup(calibration.machine_key("c", "t", "cpu"), "splitfed", "lenet", 1) is None


def test_the_tests_do_not_write_the_users_calibration():
    """conftest points the user cache of this test session at a temporary folder."""
    from c3bench import calibration

    assert "c3bench-tests-cache-" in str(calibration.path())
