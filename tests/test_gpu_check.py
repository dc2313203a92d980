"""The one-call GPU check (benchmarks/gpu_check.py) runs end to end as its CPU dry run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_rows_carry_the_papers_settings():
    rows = {name: (method, params) for name, method, params in load_script().table_rows()}
    assert rows["fedprox"][0] == "fedprox" and rows["fedprox"][1]["mu"] == 1.0
    assert rows["adasplit"][1]["beta"] == 1e-6 and rows["adasplit-kappa0.3"][1]["kappa"] == 0.3
    assert rows["fedavg"][1]["lr"] == 3.3e-4 and rows["sl-basic"][1]["batch_size"] == 32
    assert set(rows) >= {"sl-basic", "splitfed", "splitfed-v2", "scaffold", "fednova", "edgesplit"}


def test_the_cpu_dry_run_compares_every_counter_and_runs_a_packed_suite(tmp_path):
    script = load_script()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rc = script.main(["--out", str(tmp_path), "--device", "cpu", "--rows", "fedavg,sl-basic", "--rounds", "1",
                          "--samples", "32", "--suite-table", "synthetic-quick", "--jobs", "1"])
    finally:
        torch.set_num_threads(before)
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 0 and [r["row"] for r in summary["parity"]] == ["fedavg", "sl-basic"]
    assert all(r["accounting_equal"] and r["mismatched"] == {} for r in summary["parity"])
    fedavg = summary["parity"][0]
    assert fedavg["stacked"]["accounting_equal"] and "stacked" not in summary["parity"][1]
    cpu = json.loads(next((tmp_path / "runs" / "cpu" / "fedavg").glob("*.json")).read_text())
    assert cpu["totals"]["bytes_total"] > 0 and cpu["execution"]["device"] == "cpu"
    suite = summary["suite"]
    assert suite["returncode"] == 0, suite["stderr_tail"]
    assert all(row["statuses"] == ["completed"] for row in suite["report"][0]["rows"])
    assert len(list((tmp_path / "suite-synthetic-quick").glob("*.json"))) == len(suite["report"][0]["rows"])
