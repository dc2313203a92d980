"""EdgeSplit's planner: profiles from the real modules, the alternating optimisation's properties,
and brute-force checks on small cases."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from typer.testing import CliRunner

from c3bench.accounting.devices import MBIT, DeviceProfile, Fleet, ServerProfile, draw_fleet, parse_fleet
from c3bench.accounting.flops import train_step_cost
from c3bench.cli import app
from c3bench.edgesplit.planner import SplitPlanner, profile_backbone
from c3bench.models import build_backbone


@pytest.fixture(scope="module")
def r18():
    return profile_backbone("resnet18", 10, (3, 32, 32))


@pytest.fixture(scope="module")
def cnn():
    return profile_backbone("simple-cnn", 10, (3, 32, 32))


def test_block_profile_adds_up_to_the_whole_model_on_real_tensors(r18):
    model = build_backbone("resnet18", 10, image_size=32)
    assert r18.blocks == tuple(name for name, _ in model.named_children()) and list(r18.cuts) == list(range(1, 10))
    whole = train_step_cost(model, (2, 3, 32, 32))  # batch 2 against the profile's batch-1 figures
    assert 2 * sum(r18.forward_flops) == whole.forward_flops
    assert 2 * sum(r18.backward_flops) == whole.backward_flops
    x = torch.zeros(1, 3, 32, 32)
    with torch.no_grad():
        for cut in r18.cuts:
            x = model[cut - 1](x)
            assert r18.activation_bytes(cut) == x.numel() * 4
    assert r18.client_state_bytes(10) == sum(t.numel() * t.element_size() for t in model.state_dict().values())
    big = build_backbone("resnet50", 1000, image_size=224)
    assert len(big) == 18 and sum(p.numel() for p in big.parameters()) == 25_557_032
    assert big[:1](torch.zeros(1, 3, 224, 224)).shape == (1, 64, 56, 56)  # ImageNet stem: /4


def test_identical_devices_get_the_same_cut_and_equal_bandwidth(r18):
    for preset in ("raspberry-pi-4", "jetson-nano", "laptop"):
        fleet = parse_fleet(preset, num_devices=5)
        plan = SplitPlanner(r18, fleet, [300] * 5, 32).solve()
        assert len(set(plan.cuts)) == 1, (preset, plan.cuts)
        assert plan.shares == pytest.approx([0.2] * 5, rel=1e-9)


def _fleet_differing_in_speed(speeds_gflops, server_mbps):
    devices = tuple(DeviceProfile(f"d{k}", g * 1e9, 50 * MBIT, 80 * MBIT, 0.005) for k, g in enumerate(speeds_gflops))
    return Fleet(devices, ServerProfile("s", 5e12, server_mbps * MBIT), "test")


def test_under_equal_bandwidth_a_slower_device_never_gets_a_deeper_client_part(r18):
    speeds = [1, 3, 10, 30, 100, 300, 1000, 3000]
    for server_mbps in (50, 400, 5000):
        fleet = _fleet_differing_in_speed(speeds, server_mbps)
        planner = SplitPlanner(r18, fleet, [400] * len(speeds), 32)
        cuts = [planner.best_cut(i, 1 / len(speeds)) for i in range(len(speeds))]
        assert cuts == sorted(cuts), (server_mbps, cuts)
        deeper = planner.choose_cuts([1] * len(speeds), planner.equal_shares())
        assert deeper == sorted(deeper), (server_mbps, deeper)
    assert len(set(cuts)) > 1  # the check is not vacuous: speeds do change the cut


def test_alternating_steps_never_increase_the_makespan_and_stop(r18):
    for seed in range(6):
        fleet = draw_fleet(7, seed=seed, spread=0.5)
        planner = SplitPlanner(r18, fleet, [200 + 50 * i for i in range(7)], 32)
        plan = planner.solve(max_iterations=50)
        values = [m for _, m in plan.history]
        assert all(b <= a for a, b in itertools.pairwise(values)), values
        assert plan.converged and plan.iterations < 50
        assert plan.makespan_s == pytest.approx(planner.makespan(plan.cuts, plan.shares), rel=0, abs=0)
        assert sum(plan.shares) == pytest.approx(1.0)
        assert plan.makespan_s <= planner.uniform(optimise_bandwidth=False)[2]


def _grid(n: int, steps: int):
    """All shares on a grid of 1/steps summing to 1 (n = 2 or 3)."""
    if n == 2:
        return [(k / steps, 1 - k / steps) for k in range(1, steps)]
    return [(a / steps, b / steps, (steps - a - b) / steps) for a in range(1, steps) for b in range(1, steps - a)]


@pytest.mark.parametrize("case", range(4))
def test_planner_is_no_worse_than_every_uniform_split_by_brute_force(cnn, case):
    names = [["raspberry-pi-4", "laptop"], ["phone-lte", "jetson-nano", "raspberry-pi-4"],
             ["raspberry-pi-4", "jetson-xavier-nx"], ["phone", "phone-lte", "laptop"]][case]
    server_mbps = [20, 200, 1000, 100][case]
    fleet = parse_fleet(",".join(names))
    fleet = Fleet(fleet.devices, ServerProfile("s", 5e12, server_mbps * MBIT), "test")
    samples = [300, 500, 400][: len(names)]
    planner = SplitPlanner(cnn, fleet, samples, 25)
    grid = _grid(len(names), 500 if len(names) == 2 else 40)
    plan = planner.solve()
    for c in planner.candidates:
        best_on_grid = min(planner.makespan([c] * len(names), s) for s in grid)
        assert plan.makespan_s <= best_on_grid * (1 + 1e-9), (c, plan.makespan_s, best_on_grid)
    # the bandwidth step alone is optimal for any fixed cuts (no grid point beats it)
    for cuts in itertools.product(planner.candidates, repeat=len(names)):
        allocated = planner.makespan(list(cuts), planner.allocate(list(cuts)))
        assert allocated <= min(planner.makespan(list(cuts), s) for s in grid) * (1 + 1e-9)


def test_plan_command_prints_a_consistent_plan():
    result = CliRunner().invoke(app, ["plan", "--model", "resnet18", "--input-size", "32", "--devices",
                                      "raspberry-pi-4*2,laptop", "--samples", "200", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    es = report["edgesplit"]
    assert [d["device"] for d in es["devices"]] == ["raspberry-pi-4", "raspberry-pi-4", "laptop"]
    assert max(d["time_s"] for d in es["devices"]) <= es["makespan_s"] + 1e-9
    for key in ("uniform", "uniform_bandwidth", "fl"):
        assert report[key]["speedup"] == pytest.approx(report[key]["makespan_s"] / es["makespan_s"])
    for key in ("uniform", "uniform_bandwidth"):  # EdgeSplit's search includes every uniform split
        assert report[key]["speedup"] >= 1.0 - 1e-9
    # FL trains the whole model on the slowest device: its round lasts at least that device's forward and
    # backward pass over its 200 samples plus the whole model's upload and download at its link rates
    from c3bench.accounting.devices import DEVICE_PRESETS
    profile = profile_backbone("resnet18", 10, (3, 32, 32))
    pi = DEVICE_PRESETS["raspberry-pi-4"]
    state = profile.client_state_bytes(len(profile.blocks))
    floor = 200 * profile.total_flops / pi.flops + state / pi.uplink + state / pi.downlink
    assert floor <= report["fl"]["makespan_s"] <= 1.05 * floor + 1.0
    bad = CliRunner().invoke(app, ["plan", "--model", "resnet5", "--devices", "laptop"])
    assert bad.exit_code == 2 and "Did you mean" in bad.output
