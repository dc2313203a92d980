"""Device profiles, presets and fleets: parsing, files, seeded draws, clear errors."""

from __future__ import annotations

import json
import math

import pytest

from c3bench.accounting.devices import (
    DEVICE_PRESETS,
    MBIT,
    SERVER_PRESETS,
    DeviceProfile,
    draw_fleet,
    normalize_spec,
    parse_fleet,
    parse_rate,
)
from c3bench.hparams import ConfigError
from c3bench.runner import Runner, resolve
from tests.helpers import tiny_spec


def test_presets_are_their_datasheets_times_the_stated_efficiency():
    mbit = 1e6 / 8
    expected = {  # (sustained GFLOP/s = peak x efficiency, uplink Mbit/s, downlink Mbit/s, latency ms)
        "raspberry-pi-4": (48 * 0.1, 60, 80, 5), "jetson-nano": (236 * 0.3, 60, 80, 5),
        "jetson-xavier-nx": (845 * 0.3, 60, 80, 5), "phone": (144 * 0.1, 60, 80, 5),
        "phone-lte": (144 * 0.1, 10, 30, 30), "laptop": (358 * 0.3, 150, 250, 3),
    }
    assert set(DEVICE_PRESETS) == set(expected)
    for name, (gflops, up, down, ms) in expected.items():
        d = DEVICE_PRESETS[name]
        assert d.flops == pytest.approx(gflops * 1e9) and d.uplink == pytest.approx(up * mbit)
        assert d.downlink == pytest.approx(down * mbit) and d.latency == pytest.approx(ms / 1e3)
    p = DEVICE_PRESETS
    assert p["raspberry-pi-4"].flops < p["phone"].flops < p["jetson-nano"].flops < p["laptop"].flops < p["jetson-xavier-nx"].flops
    assert p["phone-lte"].uplink < p["phone"].uplink and p["phone-lte"].latency > p["phone"].latency
    assert all(s.flops > p["jetson-xavier-nx"].flops for s in SERVER_PRESETS.values())


def test_preset_list_with_counts_and_broadcast():
    fleet = parse_fleet("raspberry-pi-4*2, laptop")
    assert [d.name for d in fleet.devices] == ["raspberry-pi-4", "raspberry-pi-4", "laptop"]
    assert fleet.server.name == "edge-gpu"
    assert [d.name for d in parse_fleet("phone", num_devices=4).devices] == ["phone"] * 4
    assert parse_fleet("phone", server="cloud-gpu").server == SERVER_PRESETS["cloud-gpu"]


def test_clear_errors_for_unknown_presets_and_wrong_counts():
    with pytest.raises(ConfigError, match="Did you mean 'raspberry-pi-4'"):
        parse_fleet("rasberry-pi-4")
    with pytest.raises(ConfigError, match="3 devices but there are 2 clients"):
        parse_fleet("phone,phone,laptop", num_devices=2)
    with pytest.raises(ConfigError, match="positive"):
        DeviceProfile("x", flops=0.0, uplink=1.0, downlink=1.0, latency=0.0)


def test_random_fleet_is_seeded_heterogeneous_and_within_its_spread():
    a = draw_fleet(12, seed=5, spread=0.3)
    assert a == draw_fleet(12, seed=5, spread=0.3)
    assert a.devices != draw_fleet(12, seed=6, spread=0.3).devices
    assert len({d.name.split("#")[0] for d in a.devices}) > 2
    for d in a.devices:
        base = DEVICE_PRESETS[d.name.split("#")[0]]
        for what in ("flops", "uplink", "downlink"):
            ratio = getattr(d, what) / getattr(base, what)
            assert math.exp(-0.3) - 1e-12 <= ratio <= math.exp(0.3) + 1e-12
    only = draw_fleet(6, seed=1, presets=["laptop", "phone"])
    assert {d.name.split("#")[0] for d in only.devices} <= {"laptop", "phone"}
    assert parse_fleet("random:5", num_devices=12) == draw_fleet(12, 5)


def test_json_and_toml_files_give_the_same_fleet(tmp_path):
    doc = {
        "server": {"preset": "edge-gpu", "bandwidth_mbps": 400},
        "devices": [
            "raspberry-pi-4*2",
            {"preset": "phone", "uplink_mbps": 5, "count": 2},
            {"name": "board", "gflops": 10, "uplink_mbps": 20, "downlink_mbps": 40, "latency_ms": 7},
        ],
    }
    (tmp_path / "f.json").write_text(json.dumps(doc))
    (tmp_path / "f.toml").write_text(
        'server = {preset = "edge-gpu", bandwidth_mbps = 400}\n'
        'devices = ["raspberry-pi-4*2", {preset = "phone", uplink_mbps = 5, count = 2},\n'
        '  {name = "board", gflops = 10, uplink_mbps = 20, downlink_mbps = 40, latency_ms = 7}]\n')
    a = parse_fleet(str(tmp_path / "f.json"))
    b = parse_fleet(str(tmp_path / "f.toml"))
    assert a.devices == b.devices and a.server == b.server
    assert len(a) == 5 and a.server.bandwidth == 400 * MBIT
    assert a.devices[2].uplink == 5 * MBIT and a.devices[2].flops == DEVICE_PRESETS["phone"].flops
    assert a.devices[4] == DeviceProfile("board", 10e9, 20 * MBIT, 40 * MBIT, 0.007)


def test_file_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"devices": [{"preset": "phone", "uplink_mpbs": 5}]}))
    with pytest.raises(ConfigError, match="Did you mean 'uplink_mbps'"):
        parse_fleet(str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        parse_fleet(str(tmp_path / "missing.toml"))
    drawn = tmp_path / "draw.json"
    drawn.write_text(json.dumps({"draw": {"seed": 2, "presets": ["laptop", "raspberry-pi-4"]}}))
    assert parse_fleet(str(drawn), num_devices=3).devices == draw_fleet(3, 2, ["laptop", "raspberry-pi-4"]).devices


def test_rates_parse_bits_and_bytes():
    assert parse_rate("200Mbps") == parse_rate("25MB/s") == 25e6
    assert parse_rate("1Gbit/s") == 125e6
    with pytest.raises(ConfigError):
        parse_rate("fast")


def test_run_records_the_fleet_it_was_given(tmp_path):
    fleet_file = tmp_path / "fleet.json"
    fleet_file.write_text(json.dumps({"devices": ["raspberry-pi-4", "laptop"], "server": "cloud-gpu"}))
    spec = tiny_spec(rounds=1)
    spec.devices = str(fleet_file)
    run = resolve(spec)
    # the file's content, not its path, is part of the configuration
    assert run.config["devices"] == normalize_spec(str(fleet_file)) == json.loads(fleet_file.read_text())
    record = Runner(run, tmp_path / "r").execute()
    assert [d["name"] for d in record["simulation"]["devices"]] == ["raspberry-pi-4", "laptop"]
    assert record["simulation"]["server"]["name"] == "cloud-gpu"
    spec.devices = "laptop,phone,phone"
    with pytest.raises(ConfigError, match="3 devices but there are 2 clients"):
        Runner(resolve(spec), tmp_path / "s").execute()
