"""The investigation scripts under investigations/ run on a tiny real federation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from c3bench.runner import Callbacks, Runner, RunSpec, checkpoint_path, resolve

INVESTIGATIONS = Path(__file__).resolve().parents[1] / "investigations"
TINY = {"num_clients": "3", "train_per_client": "96", "test_per_client": "32", "batch_size": "16"}


def load_script(name: str = "fl_local_eval"):
    spec = importlib.util.spec_from_file_location(name, INVESTIGATIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_record(tmp_path: Path, method: str) -> dict:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        spec = RunSpec(method, "synthetic", overrides=TINY, rounds=3, seed=1, backbone="simple-cnn")
        return Runner(resolve(spec), tmp_path).execute()
    finally:
        torch.set_num_threads(before)


def test_local_evaluation_replays_the_record_and_scores_each_clients_local_model(tmp_path):
    script = load_script()
    record = tiny_record(tmp_path, "fedavg")
    files = sorted(tmp_path.rglob("*"))
    before = torch.get_num_threads()
    try:
        out = script.local_evaluation(record)
    finally:
        torch.set_num_threads(before)
    # the replay of rounds 1-2 reproduces the record's round-2 accuracy exactly
    assert out["replay_matches_record"] is True and out["round"] == 3
    assert out["global_mean"] == pytest.approx(record["rounds"][1]["accuracy"]["mean"], abs=1e-9)
    assert len(out["local_after_training"]) == 3
    assert all(0.0 <= a <= 100.0 for a in out["local_after_training"])
    assert sorted(tmp_path.rglob("*")) == files  # the script writes nothing


def test_local_evaluation_refuses_a_split_method(tmp_path):
    script = load_script()
    record = tiny_record(tmp_path, "sl-basic")
    with pytest.raises(SystemExit, match="not a federated method"):
        script.local_evaluation(record)


def test_subnormal_count_counts_only_nonzero_values_below_the_smallest_normal_float():
    script = load_script("denormals")
    values = torch.tensor([1e-40, -1e-39, 0.0, 1.2e-38, 1.0])
    assert script.subnormal_count([values, torch.tensor([1, 2])]) == (2, 5)  # integer tensors are skipped


def test_adam_weight_decay_drives_weights_without_gradient_into_subnormals():
    script = load_script("denormals")
    assert script.mechanism(steps=2000) > 0.05


class KeepCheckpoint(Callbacks):
    """Copies the run's checkpoint after each round (the runner deletes its own when the run ends)."""

    def __init__(self, source: Path, keep: Path):
        self.source, self.keep = source, keep

    def on_round(self, entry):
        self.keep.write_bytes(self.source.read_bytes())


def test_checkpoint_report_reads_a_real_split_runs_checkpoint_and_times_its_server(tmp_path, capsys, one_thread):
    script = load_script("denormals")
    run = resolve(RunSpec("sl-basic", "synthetic", overrides=TINY, rounds=2, seed=1, backbone="simple-cnn"))
    keep = tmp_path / "kept.pt"
    try:
        Runner(run, tmp_path / "out", callbacks=KeepCheckpoint(checkpoint_path(tmp_path / "out", run.name), keep)).execute()
        client = torch.load(keep, weights_only=False)["method"]["client_models"][0]
        cut_shape = tuple(client(torch.zeros(1, 3, 32, 32)).shape[1:])
        timings = script.checkpoint(str(keep), cut_shape)
    finally:
        torch.set_flush_denormal(False)
    out = capsys.readouterr().out
    assert "server_model[0] (Sequential):" in out and "server_opts[0] (Adam):" in out and "subnormal" in out
    assert set(timings) <= {"flush=False", "flush=True"} and timings["flush=False"] > 0
