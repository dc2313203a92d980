"""Named configurations: they resolve, explicit options win over them, mistakes get clear errors."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from c3bench import registry
from c3bench.cli import app
from c3bench.configs import CONFIGS, FL_METHODS, get_config
from c3bench.hparams import ConfigError
from c3bench.results import load_record
from c3bench.runner import RunSpec, resolve

cli = CliRunner()


def test_unknown_config_suggests_the_close_name():
    with pytest.raises(ConfigError, match="Did you mean 'niid-bench-cifar10-dir0.5'"):
        get_config("niid-bench-cifar10-dir05")
    with pytest.raises(ConfigError, match="unknown config"):
        resolve(RunSpec(method="fedavg", protocol=None, config="no-such-config"))


def test_config_fills_the_spec_and_explicit_options_win():
    run = resolve(RunSpec(method="fedprox", protocol=None, config="synthetic-quick"))
    assert run.protocol_cls.name == "synthetic" and run.rounds == 2 and run.backbone == "simple-cnn"
    assert run.protocol_params["num_clients"] == 2 and run.protocol_params["train_per_client"] == 64
    assert run.method_params["optimizer"] == "sgd" and run.method_params["lr"] == 0.05
    assert run.method_params["mu"] == 0.01  # the per-method extra

    mine = resolve(RunSpec(method="fedprox", protocol="synthetic", config="synthetic-quick", rounds=5, backbone="lenet",
                           overrides={"lr": "0.2", "protocol.num_clients": "3", "method.mu": "0.5"}))
    assert mine.rounds == 5 and mine.backbone == "lenet"
    assert mine.method_params["lr"] == 0.2 and mine.method_params["mu"] == 0.5
    assert mine.protocol_params["num_clients"] == 3
    assert mine.method_params["optimizer"] == "sgd" and mine.protocol_params["train_per_client"] == 64  # kept


def test_config_refuses_another_protocol_and_methods_it_was_not_written_for():
    with pytest.raises(ConfigError, match="for protocol 'synthetic'"):
        resolve(RunSpec(method="fedavg", protocol="niid-bench", config="synthetic-quick"))
    other = next((m for m in registry.methods() if m not in FL_METHODS), None)
    if other is None:
        pytest.skip("no non-FL method registered")
    with pytest.raises(ConfigError, match="written for the methods"):
        resolve(RunSpec(method=other, protocol=None, config="synthetic-quick"))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_config_resolves_for_each_of_its_methods(name):
    config = get_config(name)
    if config.protocol not in registry.protocols():
        pytest.skip(f"protocol '{config.protocol}' is not registered")
    for method in config.methods:
        run = resolve(RunSpec(method=method, protocol=None, config=name))
        expected = {**config.method_params, **config.per_method.get(method, {})}
        assert {k: run.method_params[k] for k in expected} == pytest.approx(expected)
        assert {k: run.protocol_params[k] for k in config.protocol_params} == dict(config.protocol_params)
        assert run.rounds == config.rounds and run.backbone == config.backbone


def test_niid_bench_configs_hold_the_published_settings():
    for name, partition in (("niid-bench-cifar10-dir0.5", "dirichlet"), ("niid-bench-cifar10-c2", "label-k")):
        c = get_config(name)
        assert c.protocol == "niid-bench" and c.rounds == 50 and c.backbone == "simple-cnn"
        assert c.protocol_params["partition"] == partition and c.protocol_params["num_clients"] == 10
        assert c.protocol_params["dataset"] == "cifar10" and c.protocol_params["test"] == "global"
        p = c.method_params
        assert (p["local_epochs"], p["optimizer"], p["lr"], p["momentum"], p["batch_size"]) == (10, "sgd", 0.01, 0.9, 64)
        assert c.per_method["fedprox"]["mu"] == 0.01
    assert get_config("niid-bench-cifar10-dir0.5").protocol_params["alpha"] == 0.5
    assert get_config("niid-bench-cifar10-c2").protocol_params["k"] == 2


def test_cli_run_with_a_config_and_the_configs_command(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 64-image run: one thread avoids OpenMP waits on a shared machine
    try:
        result = cli.invoke(app, ["run", "--config", "synthetic-quick", "-m", "scaffold", "--set", "lr=0.01", "-q",
                                  "-o", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    (file,) = tmp_path.glob("*.json")
    record = load_record(file)
    assert record["config"]["method_params"]["lr"] == 0.01 and record["config"]["method_params"]["optimizer"] == "sgd"
    assert record["config"]["rounds"] == 2 and len(record["rounds"]) == 2

    bad = cli.invoke(app, ["run", "--config", "niid-bench-cifar10-dir05", "-m", "fedavg", "-o", str(tmp_path)])
    assert bad.exit_code == 2 and "Did you mean" in bad.output

    listed = cli.invoke(app, ["configs"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and all(name in listed.stdout for name in CONFIGS)
    one = cli.invoke(app, ["configs", "niid-bench-cifar10-c2", "--json"])
    (entry,) = json.loads(one.stdout)
    assert entry["reference"]["fedprox"] == 50.7 and entry["per_method"]["fedprox"]["mu"] == 0.01
    assert cli.invoke(app, ["configs", "nope"]).exit_code == 2
