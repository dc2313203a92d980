"""Configuration files and the named ones: they resolve, explicit options win, mistakes get clear errors."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from c3bench import registry
from c3bench.cli import app
from c3bench.configs import get_config, load_file, named_configs
from c3bench.hparams import ConfigError
from c3bench.results import load_record
from c3bench.runner import RunSpec, resolve

cli = CliRunner()


def test_unknown_config_suggests_the_close_name():
    with pytest.raises(ConfigError, match="Did you mean 'niid-bench-cifar10-dir0.5'"):
        get_config("niid-bench-cifar10-dir05")
    with pytest.raises(ConfigError, match="unknown config"):
        resolve(RunSpec(method="fedavg", protocol=None, config="no-such-config"))
    with pytest.raises(ConfigError, match="no run 'fedavgg'.*Did you mean 'fedavg'"):
        resolve(RunSpec(method=None, protocol=None, config="adasplit-table2/fedavgg"))


def test_config_fills_the_spec_and_explicit_options_win():
    run = resolve(RunSpec(method="fedprox", protocol=None, config="synthetic-quick"))
    assert run.protocol_cls.name == "synthetic" and run.rounds == 2 and run.backbone == "simple-cnn"
    assert run.protocol_params["num_clients"] == 2 and run.protocol_params["train_per_client"] == 64
    assert run.method_params["optimizer"] == "sgd" and run.method_params["lr"] == 0.05  # [params.federated]
    assert run.method_params["batch_size"] == 16  # [params], declared by every method
    assert run.method_params["mu"] == 0.01  # the run's own
    assert run.reference["config"] == "synthetic-quick/fedprox" and run.reference["overridden"] == []

    mine = resolve(RunSpec(method="fedprox", protocol="synthetic", config="synthetic-quick", rounds=5, backbone="lenet",
                           overrides={"lr": "0.2", "protocol.num_clients": "3", "method.mu": "0.5"}))
    assert mine.rounds == 5 and mine.backbone == "lenet"
    assert mine.method_params["lr"] == 0.2 and mine.method_params["mu"] == 0.5
    assert mine.protocol_params["num_clients"] == 3
    assert mine.method_params["optimizer"] == "sgd" and mine.protocol_params["train_per_client"] == 64  # kept
    assert mine.reference["overridden"] == ["lr", "method.mu", "protocol.num_clients"]

    split = resolve(RunSpec(method="sl-basic", protocol=None, config="synthetic-quick"))
    assert split.method_params["lr"] == 3e-3 and split.method_params["batch_size"] == 16  # [params.split]


def test_config_refuses_another_protocol_and_methods_it_does_not_have():
    with pytest.raises(ConfigError, match="for protocol 'synthetic'"):
        resolve(RunSpec(method="fedavg", protocol="niid-bench", config="synthetic-quick"))
    with pytest.raises(ConfigError, match="no run of method 'sl-basic'"):
        resolve(RunSpec(method="sl-basic", protocol=None, config="niid-bench-cifar10-c2"))
    with pytest.raises(ConfigError, match="has 2 runs of 'adasplit'; name one"):
        resolve(RunSpec(method="adasplit", protocol=None, config="adasplit-table2"))
    with pytest.raises(ConfigError, match="is method 'fedavg', but -m 'fedprox'"):
        resolve(RunSpec(method="fedprox", protocol=None, config="adasplit-table2/fedavg"))


@pytest.mark.parametrize("name", sorted(named_configs()))
def test_every_run_of_every_named_config_resolves(name):
    config = named_configs()[name]
    for run in config.runs:
        resolved = resolve(RunSpec(method=None, protocol=None, config=f"{name}/{run.name}"))
        assert resolved.method_cls.name == run.method
        for key, value in run.params.items():
            assert resolved.method_params[key] == pytest.approx(value)
        for key, value in {**config.protocol_params, **run.protocol_params}.items():
            assert resolved.protocol_params[key] == value
        assert resolved.rounds == (run.rounds or config.rounds or resolved.protocol_cls.default_rounds)
        assert resolved.reference["config"] == f"{name}/{run.name}"
        if run.reference is not None:
            assert resolved.reference["values"]["accuracy"] == run.reference.accuracy


def test_the_paper_tables_hold_the_published_settings():
    t1, t2 = named_configs()["adasplit-table1"], named_configs()["adasplit-table2"]
    ada = resolve(RunSpec(method=None, protocol=None, config="adasplit-table2/adasplit"))
    assert (ada.method_params["beta"], ada.method_params["lambda"], ada.method_params["cut"]) == (1e-6, 1e-5, 1)
    assert ada.protocol_params["relabel"] is False  # the authors' 10-way head
    fed = resolve(RunSpec(method=None, protocol=None, config="adasplit-table1/fedavg"))
    assert (fed.method_params["lr"], fed.method_params["batch_size"], fed.method_params["weight_decay"]) == (3.3e-4, 100, 1e-5)
    sl = resolve(RunSpec(method=None, protocol=None, config="adasplit-table1/sl-basic"))
    assert sl.method_params["iteration"] == "longest" and sl.method_params["batch_size"] == 32
    # every registered method but FedAvgM (which shows the server_update hook; not in the paper)
    assert {r.method for r in t1.runs} == {r.method for r in t2.runs} == set(registry.methods()) - {"fedavgm"}
    grad = resolve(RunSpec(method=None, protocol=None, config="adasplit-table5/kappa0.45-server-gradient"))
    assert grad.method_params["server_gradient"] is True and grad.method_params["kappa"] == 0.45
    assert len(named_configs()["adasplit-table6"].runs) == 7 and len(named_configs()["adasplit-table3"].runs) == 4


def test_protocols_suggest_method_defaults_and_explicit_values_win():
    ada = resolve(RunSpec(method="adasplit", protocol="mixed-noniid"))
    assert ada.method_params["lambda"] == 1e-3 and ada.method_params["iteration"] == "longest"
    assert resolve(RunSpec(method="adasplit", protocol="mixed-cifar")).method_params["lambda"] == 1e-5
    mine = resolve(RunSpec(method="adasplit", protocol="mixed-noniid", overrides={"lambda": "0.01", "iteration": "own"}))
    assert mine.method_params["lambda"] == 0.01 and mine.method_params["iteration"] == "own"
    assert "iteration" not in resolve(RunSpec(method="fedavg", protocol="mixed-noniid")).method_params


def test_niid_bench_configs_hold_the_published_settings():
    for name, partition in (("niid-bench-cifar10-dir0.5", "dirichlet"), ("niid-bench-cifar10-c2", "label-k")):
        for method in ("fedavg", "fedprox", "scaffold", "fednova"):
            run = resolve(RunSpec(method=method, protocol=None, config=name))
            assert run.rounds == 50 and run.backbone == "simple-cnn"
            assert run.protocol_params["partition"] == partition and run.protocol_params["num_clients"] == 10
            p = run.method_params
            assert (p["local_epochs"], p["optimizer"], p["lr"], p["momentum"], p["batch_size"]) == (10, "sgd", 0.01, 0.9, 64)
        assert resolve(RunSpec(method="fedprox", protocol=None, config=name)).method_params["mu"] == 0.01
    assert get_config("niid-bench-cifar10-c2")[0].row("fedprox").reference.accuracy == 50.7


def test_a_users_own_file_runs_and_its_mistakes_are_named(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text('protocol = "synthetic"\nrounds = 1\nbackbone = "simple-cnn"\nseeds = [3]\n'
                     '[protocol_params]\nnum_clients = 2\ntrain_per_client = 32\ntest_per_client = 16\n'
                     '[params]\nbatch_size = 16\n'
                     '[[runs]]\nname = "a"\nmethod = "fedavg"\n[[runs]]\nname = "b"\nmethod = "fedprox"\n'
                     'params = { mu = 0.1 }\nreference = { accuracy = 50.0 }\n')
    run = resolve(RunSpec(method=None, protocol=None, config=f"{study}#b", seed=3))
    assert run.method_params["mu"] == 0.1 and run.method_params["batch_size"] == 16 and run.rounds == 1
    assert load_file(study).seeds == (3,)
    bad = tmp_path / "bad.toml"
    bad.write_text('protocol = "synthetic"\nmethod = "fedavg"\nroudns = 3\n')
    with pytest.raises(ConfigError, match="unknown key 'roudns'.*Did you mean 'rounds'"):
        load_file(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text('protocol = "synthetic"\nmethod = "fedavg"\n[params]\nlrr = 0.1\n')
    with pytest.raises(ConfigError, match="'lrr' is a hyperparameter of none"):
        resolve(RunSpec(method=None, protocol=None, config=str(typo)))
    broken = tmp_path / "broken.toml"
    broken.write_text('protocol = "synthetic"\nmethod = \n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_file(broken)


def test_cli_run_with_a_config_and_the_configs_command(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 64-image run: one thread avoids OpenMP waits on a shared machine
    try:
        result = cli.invoke(app, ["run", "--config", "synthetic-quick/scaffold", "--set", "lr=0.01", "-q",
                                  "-o", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    (file,) = tmp_path.glob("*.json")
    record = load_record(file)
    assert record["config"]["method_params"]["lr"] == 0.01 and record["config"]["method_params"]["optimizer"] == "sgd"
    assert record["config"]["rounds"] == 2 and len(record["rounds"]) == 2
    assert record["reference"]["config"] == "synthetic-quick/scaffold" and record["reference"]["overridden"] == ["lr"]

    bad = cli.invoke(app, ["run", "--config", "niid-bench-cifar10-dir05", "-m", "fedavg", "-o", str(tmp_path)])
    assert bad.exit_code == 2 and "Did you mean" in bad.output

    listed = cli.invoke(app, ["configs"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and all(name in listed.stdout for name in named_configs())
    one = cli.invoke(app, ["configs", "niid-bench-cifar10-c2", "--json"])
    (entry,) = json.loads(one.stdout)
    fedprox = next(r for r in entry["runs"] if r["name"] == "fedprox")
    assert fedprox["reference"]["accuracy"] == 50.7 and fedprox["params"]["mu"] == 0.01
    assert cli.invoke(app, ["configs", "nope"]).exit_code == 2
