"""Sweeps: grid expansion, skipping finished work, resuming after an interruption, and the local-process
and Ray executors, on tiny real runs."""

from __future__ import annotations

import os
import sys

import pytest
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.hparams import ConfigError
from c3bench.results import config_hash, load_record
from c3bench.sweep import SweepEvents, expand, parse_grid, parse_seeds, plan, run_sweep
from tests.helpers import TINY

TINY_SET = [f"--set={k}={v}" for k, v in TINY.items()]


class Recorder(SweepEvents):
    """Counts what the sweep really executes; optionally stops it (as Ctrl-C would) at a given round."""

    def __init__(self, stop_at: tuple[int, int] | None = None):
        self.starts: list[tuple[str, int]] = []
        self.rounds: list[tuple[str, int]] = []
        self.ends: dict[str, str] = {}
        self.stop_at = stop_at  # (index of the run among starts, round number)

    def on_run_start(self, job, start_round):
        self.starts.append((job.name, start_round))

    def on_round(self, job, round_number, accuracy):
        self.rounds.append((job.name, round_number))
        if self.stop_at and (len(self.starts) - 1, round_number) == self.stop_at:
            self.stop_at = None
            raise KeyboardInterrupt

    def on_run_end(self, job, outcome):
        self.ends[job.name] = outcome.status


def test_parsing_and_grid_expansion():
    assert parse_seeds("0-2") == [0, 1, 2] and parse_seeds("3,0-1") == [3, 0, 1]
    assert parse_grid(["mu=0.1,1", "lr=0.01"]) == {"mu": ["0.1", "1"], "lr": ["0.01"]}
    for bad in ("a-b", "2-0", ""):
        with pytest.raises(ConfigError):
            parse_seeds(bad)
    with pytest.raises(ConfigError, match="key=v1,v2"):
        parse_grid(["mu"])
    # mu belongs to FedProx only: FedAvg runs once per seed without it; lr applies to both
    runs = expand(["fedavg", "fedprox"], "synthetic", [0, 1], {"mu": ["0.1", "1"], "lr": ["0.001"]}, dict(TINY), rounds=1)
    counts = {m: sum(r.spec.method == m for r in runs) for m in ("fedavg", "fedprox")}
    assert counts == {"fedavg": 2, "fedprox": 4}
    assert len({config_hash(r.config, include_seed=True) for r in runs}) == 6
    assert {r.method_params["mu"] for r in runs if r.spec.method == "fedprox"} == {0.1, 1.0}
    assert all(r.method_params["lr"] == 0.001 for r in runs)
    with pytest.raises(ConfigError, match="Did you mean 'mu'"):
        expand(["fedavg", "fedprox"], "synthetic", [0], {"muu": ["1"]})
    with pytest.raises(ConfigError, match="bad value for 'mu'"):
        expand(["fedprox"], "synthetic", [0], {"mu": ["-1"]})


def test_an_interrupted_sweep_resumes_without_redoing_finished_work(tmp_path):
    runs = expand(["fedavg"], "synthetic", [0, 1, 2], None, dict(TINY), rounds=2)
    first = Recorder(stop_at=(2, 1))  # Ctrl-C after round 1 of the third run
    report = run_sweep(plan(runs, tmp_path), tmp_path, events=first)
    assert report.interrupted and list(first.ends.values()) == ["completed", "completed", "interrupted"]
    statuses = {load_record(tmp_path / f"{r.name}.json")["status"] for r in runs[:2]}
    assert statuses == {"completed"}
    partial = load_record(tmp_path / f"{runs[2].name}.json")
    assert partial["status"] == "interrupted" and len(partial["rounds"]) == 1

    again = plan(runs, tmp_path)
    assert set(again.done) == {runs[0].name, runs[1].name}
    (job,) = again.todo
    assert job.resume and job.start_round == 1
    second = Recorder()
    report = run_sweep(again, tmp_path, events=second)
    assert not report.interrupted and second.starts == [(runs[2].name, 1)]
    assert second.rounds == [(runs[2].name, 2)]  # one round left, nothing else redone
    assert load_record(tmp_path / f"{runs[2].name}.json")["status"] == "completed"
    assert plan(runs, tmp_path).todo == []


@pytest.mark.slow
def test_process_executor_runs_each_job_once_in_workers(tmp_path):
    runs = expand(["fedavg"], "synthetic", [0, 1], None, dict(TINY), rounds=1)
    events = Recorder()
    report = run_sweep(plan(runs, tmp_path), tmp_path, "process", workers=2, events=events)
    assert sorted(o.status for o in report.outcomes) == ["completed", "completed"]
    assert sorted(events.rounds) == sorted((r.name, 1) for r in runs)
    for run in runs:
        record = load_record(tmp_path / f"{run.name}.json")
        assert config_hash(record["config"], include_seed=True) == config_hash(run.config, include_seed=True)


def _require_ray():
    try:
        import ray
    except ImportError:
        msg = "Ray is not installed: pip install 'c3bench[ray]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return ray


@pytest.mark.slow
def test_ray_executor_runs_a_tiny_sweep_on_a_local_instance(tmp_path):
    ray = _require_ray()
    runs = expand(["fedavg", "fedprox"], "synthetic", [0], None, dict(TINY), rounds=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        events = Recorder()
        report = run_sweep(plan(runs, tmp_path), tmp_path, "ray", events=events)
    finally:
        ray.shutdown()
    assert sorted(o.status for o in report.outcomes) == ["completed", "completed"]
    assert sorted(events.rounds) == sorted((r.name, 1) for r in runs)
    assert {load_record(tmp_path / f"{r.name}.json")["config"]["method"] for r in runs} == {"fedavg", "fedprox"}
    assert plan(runs, tmp_path).todo == []


def test_sweep_command_skips_finished_runs_and_explains_a_missing_ray(tmp_path, monkeypatch):
    cli = CliRunner()
    args = ["sweep", "-m", "fedavg", "-p", "synthetic", "--seeds", "0-1", "-r", "1", "-o", str(tmp_path), "-q", *TINY_SET]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 2 and "2 to run" in result.stderr
    again = cli.invoke(app, args)
    assert again.exit_code == 0 and "2 already done, 0 to run" in again.stderr
    assert again.stdout == result.stdout
    bad = cli.invoke(app, [*args, "--grid", "lrr=0.1"])
    assert bad.exit_code == 2 and "Did you mean 'lr'" in bad.stderr
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    no_ray = cli.invoke(app, [*args, "--seeds", "5", "--executor", "ray"])
    assert no_ray.exit_code == 2 and "pip install 'c3bench[ray]'" in no_ray.stderr
    assert not list(tmp_path.glob("*_s5_*.json"))


def test_a_finished_run_in_another_numeric_mode_is_not_counted_as_done(tmp_path):
    """A sweep asked for --flush-denormal must not take a plain run's record as its own (a report would
    then name a mode its numbers never had), nor overwrite it: it stops with exit 2 and touches nothing."""
    cli = CliRunner()
    args = ["sweep", "-m", "fedavg", "-p", "synthetic", "--seeds", "0", "-r", "1", "-o", str(tmp_path), "-q", *TINY_SET]
    assert cli.invoke(app, args).exit_code == 0
    (plain,) = tmp_path.glob("*.json")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    flushed = cli.invoke(app, [*args, "--flush-denormal"])
    assert flushed.exit_code == 2, flushed.output
    assert plain.name in flushed.stderr and "no numeric mode" in flushed.stderr and "--out" in flushed.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
