"""Sweeps past one machine, on loopback only: a Ray address that does not answer is refused within a
minute with the address and what to check, and a real two-node Ray cluster (``ray.cluster_utils.Cluster``,
every node and the driver on 127.0.0.1) runs a sweep whose driver works in another folder and gets the
records back without a shared folder. Every wait here is bounded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from c3bench.results import load_record
from c3bench.sweep import task_resources

TINY = ["--set", "num_clients=2", "--set", "train_per_client=32", "--set", "test_per_client=16"]
CLUSTER = textwrap.dedent("""
    import os, sys
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray keeps 127.0.0.1 instead of the network address
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "node_ip_address": "127.0.0.1", "include_dashboard": False})  # the head runs no task
    cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes(timeout=120)
    print(cluster.address, flush=True)
    sys.stdin.readline()  # until the test is done
    cluster.shutdown()
""")


def _require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Ray is not installed: pip install 'c3bench[ray]'")
        pytest.skip("Ray is not installed: pip install 'c3bench[ray]'")


def _c3bench(*args: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "c3bench.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_ray_address_fails_within_a_minute_naming_it(tmp_path):
    _require_ray()
    address = f"127.0.0.1:{_closed_port()}"
    began = time.monotonic()
    result = _c3bench("sweep", "-m", "fedavg", "-p", "synthetic", "--rounds", "1", *TINY, "--executor", "ray",
                      "--ray-address", address, "-o", str(tmp_path / "results"), cwd=tmp_path, timeout=90)
    took = time.monotonic() - began
    assert result.returncode == 2, result.stderr[-2000:]
    assert took < 60
    assert f"cannot reach the Ray cluster at {address}" in result.stderr and "ray status" in result.stderr
    assert not list((tmp_path / "results").glob("*.json"))


def test_cuda_runs_ask_ray_for_gpus():
    assert task_resources("cuda") == {"num_cpus": 1, "num_gpus": 1.0}
    assert task_resources("cuda:1", 0.5) == {"num_cpus": 1, "num_gpus": 0.5}
    assert task_resources("cpu", 0.5) == {"num_cpus": 1, "num_gpus": 0.0}


@pytest.mark.slow
def test_a_sweep_on_a_two_node_cluster_brings_the_records_back_without_a_shared_folder(tmp_path):
    _require_ray()
    (tmp_path / "cluster").mkdir()
    driver = tmp_path / "driver"  # the driver works in another folder than the cluster's processes
    driver.mkdir()
    head = subprocess.Popen([sys.executable, "-c", CLUSTER], cwd=tmp_path / "cluster", stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        address = head.stdout.readline().strip()  # bounded: the script exits if the cluster cannot start
        assert address.startswith("127.0.0.1:"), address
        result = _c3bench("sweep", "-m", "fedavg,sl-basic", "-p", "synthetic", "--rounds", "1", "--seeds", "0-1",
                          *TINY, "--executor", "ray", "--ray-address", address, "-o", "results", "--json", "-q",
                          cwd=driver, timeout=420)
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        try:
            head.communicate("stop\n", timeout=120)
        except subprocess.TimeoutExpired:
            head.kill()
            head.communicate(timeout=30)
    listed = json.loads(result.stdout)
    assert len(listed) == 4 and {r["status"] for r in listed} == {"completed"}
    records = sorted((driver / "results").glob("*.json"))
    assert [str(p.relative_to(driver)) for p in records] == sorted(r["file"] for r in listed)
    assert {load_record(p)["config"]["method"] for p in records} == {"fedavg", "sl-basic"}
    # the runs ran on the worker node, in folders of their own: nothing of theirs was written here but the records
    assert not (driver / "results" / ".locks").exists() and not (driver / "results" / ".checkpoints").exists()
