"""Simulated time: a real run's times equal its bytes and FLOPs over the profile's rates; schedules
compose as documented; the share inverse is exact."""

from __future__ import annotations

import json
import math
import random

import pytest

from c3bench.accounting.devices import MBIT, DeviceProfile, Fleet, ServerProfile
from c3bench.accounting.flops import train_step_cost
from c3bench.accounting.ledger import Counters
from c3bench.accounting.simtime import client_time, min_share, register_schedule, round_time
from c3bench.models import build_backbone
from c3bench.registry import SCHEDULES
from c3bench.runner import Runner, resolve
from tests.helpers import run_tiny, tiny_spec


def test_fedavg_run_sim_time_is_its_bytes_and_flops_over_the_profile_rates(tmp_path):
    fleet_file = tmp_path / "fleet.json"
    fleet_file.write_text(json.dumps({
        "server": {"name": "srv", "gflops": 1000, "bandwidth_mbps": 40},  # 5e6 B/s, 2.5e6 each
        "devices": [
            {"name": "slow", "gflops": 2, "uplink_mbps": 8, "downlink_mbps": 16, "latency_ms": 10},
            {"name": "fast", "gflops": 50, "uplink_mbps": 80, "downlink_mbps": 80, "latency_ms": 2},
        ],
    }))
    spec = tiny_spec(rounds=2)
    spec.devices = str(fleet_file)
    record = Runner(resolve(spec), tmp_path / "r").execute()

    # Independent figures: the model's bytes and one local step's FLOPs (64 samples = one batch).
    model = build_backbone("simple-cnn", 10)
    model_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    step_flops = train_step_cost(model, (64, 3, 32, 32)).flops
    rates = {  # (flops, up rate, down rate, latency): links capped by half the server's bandwidth
        0: (2e9, min(1e6, 2.5e6), min(2e6, 2.5e6), 0.010),
        1: (50e9, min(10e6, 2.5e6), min(10e6, 2.5e6), 0.002),
    }
    expected = []
    for flops, up, down, latency in rates.values():
        expected.append(step_flops / flops + model_bytes / up + latency + model_bytes / down + latency)
    for entry in record["rounds"]:
        for c in entry["per_client"]:
            assert c["bytes_up"] == c["bytes_down"] == model_bytes
            assert c["client_flops"] == step_flops and c["server_flops"] == 0
        assert entry["sim_time_s"] == pytest.approx(max(expected), rel=1e-12)
    assert record["totals"]["sim_time_s"] == pytest.approx(2 * max(expected), rel=1e-12)
    assert record["simulation"]["schedule"] == "parallel"


def test_every_run_has_a_simulated_time_with_the_default_fleet(tmp_path):
    record = run_tiny(tmp_path, rounds=1)
    assert record["simulation"]["source"].startswith("default")
    assert [d["name"] for d in record["simulation"]["devices"]] == ["phone", "phone"]
    assert record["rounds"][0]["sim_time_s"] > 0
    assert record["totals"]["sim_time_s"] == record["rounds"][0]["sim_time_s"]


def _fleet(n: int, latency: float = 0.0) -> Fleet:
    device = DeviceProfile("d", flops=1e9, uplink=1e6, downlink=1e6, latency=latency)
    return Fleet((device,) * n, ServerProfile("s", flops=1e10, bandwidth=1e12), "test")


def test_schedules_compose_as_documented():
    fleet = _fleet(2)
    c0 = Counters(client_flops=2_000_000_000, server_flops=10_000_000_000, bytes_up=1_000_000, bytes_down=500_000)
    c1 = Counters(client_flops=1_000_000_000, server_flops=30_000_000_000)
    # chains: c0 = 2 + 1 + 1 + 0.5 = 4.5 s; c1 = 1 + 3 = 4 s; server work 1 + 3 = 4 s
    assert round_time([c0, c1], fleet, "parallel").total_s == pytest.approx(4.5)
    assert round_time([c0, c1], fleet, "sequential").total_s == pytest.approx(8.5)
    # async-local: c1 arrives at 1, served until 4; c0 arrives at 3, waits, served 4..5, download 0.5
    assert round_time([c0, c1], fleet, "async-local").total_s == pytest.approx(5.5)
    # the server's own work bounds a parallel round: 3 x (0.5 s client + 2 s server) -> 6 s
    busy = [Counters(client_flops=500_000_000, server_flops=20_000_000_000)] * 3
    assert round_time(busy, _fleet(3), "parallel").total_s == pytest.approx(6.0)
    # latency is charged per message
    msgs = Counters(bytes_up=1_000_000, messages_up=3, messages_down=2)
    assert client_time(msgs, _fleet(1, latency=0.1).devices[0], fleet.server).chain_s == pytest.approx(1.5)


def test_parallel_clients_share_the_server_bandwidth_and_idle_clients_take_none():
    device = DeviceProfile("d", flops=1e9, uplink=1e9, downlink=1e9, latency=0.0)
    fleet = Fleet((device,) * 3, ServerProfile("s", flops=1e12, bandwidth=3e6), "test")
    sending = Counters(bytes_up=3_000_000)
    rt = round_time([sending, sending, Counters()], fleet, "parallel")
    assert rt.shares == (0.5, 0.5, 0.0)
    assert rt.total_s == pytest.approx(2.0)  # 3 MB at 1.5 MB/s
    assert round_time([sending, sending, Counters()], fleet, "sequential").total_s == pytest.approx(2.0)  # 1 s each


def test_min_share_is_the_exact_inverse_of_the_chain_time():
    rng = random.Random(0)
    for _ in range(200):
        device = DeviceProfile("d", flops=rng.uniform(1e9, 1e11), uplink=rng.uniform(1, 100) * MBIT,
                               downlink=rng.uniform(1, 100) * MBIT, latency=rng.uniform(0, 0.05))
        server = ServerProfile("s", flops=5e12, bandwidth=rng.uniform(10, 500) * MBIT)
        c = Counters(client_flops=int(rng.uniform(1e9, 1e12)), server_flops=int(rng.uniform(0, 1e13)),
                     bytes_up=rng.choice([0, int(rng.uniform(1e5, 1e9))]), bytes_down=int(rng.uniform(1e5, 1e9)),
                     messages_up=rng.randint(0, 50), messages_down=rng.randint(1, 50))
        best = client_time(c, device, server, 1.0).chain_s
        deadline = best * rng.uniform(1.0001, 20.0)
        share = min_share(c, device, server, deadline)
        assert 0 < share <= 1.0
        assert client_time(c, device, server, share).chain_s == pytest.approx(deadline, rel=1e-9)
        assert client_time(c, device, server, share * 0.999).chain_s > deadline
        assert math.isinf(min_share(c, device, server, best * 0.999))


def test_a_new_schedule_can_be_registered():
    @register_schedule("test-client-only", shared_bandwidth=False)
    def _client_only(times):
        return max(t.compute_s for t in times)

    try:
        c = Counters(client_flops=3_000_000_000, bytes_up=10**9)
        assert round_time([c], _fleet(1), "test-client-only").total_s == pytest.approx(3.0)
        with pytest.raises(ValueError, match="unknown schedule"):
            round_time([c], _fleet(1), "no-such-schedule")
    finally:
        SCHEDULES.unregister("test-client-only")


def test_protocol_devices_are_used_and_a_devices_option_overrides_them_for_that_run_only(tmp_path):
    from c3bench.accounting.devices import DEVICE_PRESETS

    run = resolve(tiny_spec(rounds=1))
    federation = run.protocol_cls().build(run.protocol_params, 0)
    for client, name in zip(federation.clients, ("laptop", "raspberry-pi-4"), strict=True):
        client.device = DEVICE_PRESETS[name]
    first = Runner(run, tmp_path / "a", federation=federation).execute()
    assert first["simulation"]["source"] == "protocol"
    assert [d["name"] for d in first["simulation"]["devices"]] == ["laptop", "raspberry-pi-4"]
    spec = tiny_spec(rounds=1)
    spec.devices = "jetson-nano"
    second = Runner(resolve(spec), tmp_path / "b", federation=federation).execute()
    assert [d["name"] for d in second["simulation"]["devices"]] == ["jetson-nano"] * 2
    assert second["rounds"][0]["sim_time_s"] != first["rounds"][0]["sim_time_s"]
    third = Runner(run, tmp_path / "c", federation=federation).execute()
    assert third["simulation"] == first["simulation"]
