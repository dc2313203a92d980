"""Clients trained in worker processes give the record serial training gives, payloads still through
the channel of the main process."""

from __future__ import annotations

import pytest
import torch

from c3bench.results import strip_volatile
from tests.helpers import run_tiny


@pytest.mark.slow
def test_client_workers_give_the_serial_record_with_one_thread(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers run one thread each: the same kernels, the same sums
    try:
        for method in ("fedavg", "scaffold"):  # SCAFFOLD: client state kept between rounds, across processes
            common = {"method": method, "rounds": 2, "num_clients": "3", "sample_fraction": "0.67"}
            serial = run_tiny(tmp_path / f"{method}-1", **common)
            parallel = run_tiny(tmp_path / f"{method}-2", client_workers=2, **common)
            assert strip_volatile(parallel["rounds"]) == strip_volatile(serial["rounds"])
            assert parallel["execution"]["client_workers"] == 2 and parallel["execution"]["worker_threads"] >= 1
            assert serial["execution"]["client_workers"] == 1
            assert parallel["totals"]["client_flops"] == serial["totals"]["client_flops"] > 0
    finally:
        torch.set_num_threads(before)
