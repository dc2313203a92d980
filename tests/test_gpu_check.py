"""The one-call GPU check (benchmarks/gpu_check.py) runs end to end as its CPU dry run."""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

import torch

from c3bench.environment import environment

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_rows_carry_the_papers_settings():
    rows = {name: (method, params) for name, method, params in load_script().table_rows()}
    assert rows["fedprox"][0] == "fedprox" and rows["fedprox"][1]["mu"] == 0.01 and rows["fedprox-mu1"][1]["mu"] == 1.0
    assert rows["adasplit"][1]["beta"] == 1e-6 and rows["adasplit-kappa0.3"][1]["kappa"] == 0.3
    assert rows["fedavg"][1]["lr"] == 3.3e-4 and rows["sl-basic"][1]["batch_size"] == 32
    assert rows["splitfed"][0] == "sl-basic" and rows["splitfed"][1]["average_every"] == 3
    assert set(rows) >= {"sl-basic", "splitfed", "splitfed-v1", "splitfed-v2", "scaffold", "fednova", "edgesplit"}


def test_the_cpu_dry_run_compares_every_counter_and_runs_a_packed_suite(tmp_path):
    script = load_script()
    out, work = tmp_path / "out", tmp_path / "work"
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rc = script.main(["--out", str(out), "--work", str(work), "--pack", "--device", "cpu", "--rows",
                          "fedavg,sl-basic", "--rounds", "1", "--samples", "32", "--suite-table", "synthetic-quick",
                          "--jobs", "1"])
    finally:
        torch.set_num_threads(before)
    summary = json.loads((out / "gpu_check.json").read_text())
    assert rc == 0 and [r["row"] for r in summary["parity"]] == ["fedavg", "sl-basic"]
    assert all(r["accounting_equal"] and r["mismatched"] == {} for r in summary["parity"])
    assert summary["c3bench_commit"] == environment()["git_commit"]
    fedavg = summary["parity"][0]
    assert fedavg["stacked"]["accounting_equal"] and "stacked" not in summary["parity"][1]
    cpu = json.loads(next((work / "runs" / "cpu" / "fedavg").glob("*.json")).read_text())
    assert cpu["totals"]["bytes_total"] > 0 and cpu["execution"]["device"] == "cpu"
    [suite] = summary["suite"]
    assert suite["table"] == "synthetic-quick" and suite["returncode"] == 0, suite["stderr_tail"]
    assert not suite["interrupted_at_deadline"]
    rows = suite["report"][0]["rows"]
    assert all(row["statuses"] == ["completed"] for row in rows)
    records = sorted((work / "suite-synthetic-quick").glob("*.json"))
    assert len(records) == len(rows)
    # What comes back from the device is a few files: the summary and one archive of the records.
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json", "suite-records.tar.gz"]
    with tarfile.open(out / "suite-records.tar.gz") as tar:
        packed = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert packed == {f"suite-synthetic-quick/{r.name}": r.read_bytes() for r in records}


def test_the_suite_stops_cleanly_at_its_deadline(tmp_path):
    script = load_script()
    result = script.suite("cpu", 1, None, tmp_path, "synthetic-quick", "0-4", deadline_s=6)
    assert result["interrupted_at_deadline"] and result["returncode"] == 130, result["stderr_tail"]
    assert "interrupted: finished runs are kept" in result["stderr_tail"]
    # Whatever finished is a complete record; nothing half-written is reported as done.
    for record in (tmp_path / "suite-synthetic-quick").glob("*.json"):
        assert json.loads(record.read_text())["status"] in {"completed", "running", "interrupted"}


def test_a_suite_with_no_time_left_is_skipped_not_started(tmp_path):
    rc = load_script().main(["--out", str(tmp_path), "--device", "cpu", "--rows", "fedavg", "--rounds", "1",
                             "--samples", "32", "--suite-table", "synthetic-quick", "--deadline-s", "1"])
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 0 and summary["suite"] == [{"table": "synthetic-quick", "skipped": "no time left before --deadline-s"}]
    assert not list(tmp_path.glob("suite-*"))
