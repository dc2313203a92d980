"""Refactors leave records unchanged: tiny runs of every method give the records stored in
tests/golden/records.json (apart from timestamps, wall times and the code version). On the machine
and torch build the golden file was written with, the numbers must be identical; elsewhere FLOPs,
samples and messages must be, bytes within 2% and accuracies within 2 points (float kernels differ).

A change that is meant to change records regenerates the file:
    python -m tests.test_records_stable --regenerate
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from c3bench.environment import environment
from c3bench.results import strip_volatile
from c3bench.runner import Runner, RunSpec, resolve
from c3bench.verify import compare

GOLDEN = Path(__file__).resolve().parent / "golden" / "records.json"
TINY = {"num_clients": "2", "train_per_client": "48", "test_per_client": "16", "batch_size": "16"}
CASES = {
    "fedavg": ("fedavg", {}), "fedprox": ("fedprox", {"mu": "0.1"}),
    "scaffold": ("scaffold", {"optimizer": "sgd", "lr": "0.05"}), "fednova": ("fednova", {"optimizer": "sgd", "lr": "0.05"}),
    "sl-basic": ("sl-basic", {"turns": "batch"}), "splitfed-v1": ("splitfed", {}), "splitfed-v2": ("splitfed", {"variant": "v2"}),
    "adasplit": ("adasplit", {"kappa": "0.5", "beta": "1e-4"}), "edgesplit": ("edgesplit", {}),
}
KEPT = ("config", "data", "rounds", "totals", "method_info", "status")


def run_case(method: str, extra: dict[str, str]) -> dict:
    spec = RunSpec(method, "synthetic", overrides={**TINY, **extra}, rounds=2, seed=3, backbone="simple-cnn")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            record = Runner(resolve(spec), tmp).execute()
    finally:
        torch.set_num_threads(before)
    return {k: record[k] if k == "data" else strip_volatile(record[k]) for k in KEPT}  # keep the data digest


def _platform() -> dict:
    env = environment()
    return {"cpu": env["cpu"], "torch": env["torch"], "torch_threads": 1}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_tiny_run_gives_the_golden_record(case):
    golden = json.loads(GOLDEN.read_text())
    method, extra = CASES[case]
    fresh = run_case(method, extra)
    expected = golden["records"][case]
    identical = golden["platform"] == _platform()
    differences = compare(expected, fresh, identical)
    assert not differences, f"{case} ({'identical' if identical else 'tolerance'} mode): {differences[:5]}"
    assert fresh["totals"]["client_flops"] == expected["totals"]["client_flops"]


def regenerate() -> None:
    records = {case: run_case(method, extra) for case, (method, extra) in CASES.items()}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({"platform": _platform(), "records": records}, indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__" and "--regenerate" in sys.argv:
    regenerate()
