"""The investigation scripts under investigations/ run on a tiny real federation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from c3bench.runner import Runner, RunSpec, resolve

SCRIPT = Path(__file__).resolve().parents[1] / "investigations" / "fl_local_eval.py"
TINY = {"num_clients": "3", "train_per_client": "96", "test_per_client": "32", "batch_size": "16"}


def load_script():
    spec = importlib.util.spec_from_file_location("fl_local_eval", SCRIPT)
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
