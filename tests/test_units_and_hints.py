"""Quantities and hints as a user types them: budgets in SI/IEC units (b = bit, B = byte; a bare
number refused), a budget below one round refused before training, and did-you-mean for --set keys,
TOML keys and sections, with protocol-parameter errors naming their file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from c3bench.cli import app

cli = CliRunner()
TINY = ["--set", "num_clients=2", "--set", "train_per_client=64", "--set", "test_per_client=32"]


def _run(out, *extra):
    return cli.invoke(app, ["run", "-m", "fedavg", "-p", "synthetic", "--rounds", "2", "-q", "-o", str(out), *TINY,
                            *extra])


@pytest.mark.parametrize(("text", "bytes_"), [("20Mb", 2.5e6), ("20MB", 2e7), ("20 megabits", None), ("1.5MiB", 1572864),
                                              ("400kb", 5e4), ("4Gb", 5e8), ("3GB", 3e9)])
def test_bandwidth_budgets_read_b_as_bit_and_B_as_byte(tmp_path, text, bytes_):
    from c3bench.accounting import Budgets
    from c3bench.hparams import ConfigError

    if bytes_ is None:
        with pytest.raises(ConfigError, match="unknown unit"):
            Budgets.parse(text)
    else:
        assert Budgets.parse(text).bandwidth_bytes == pytest.approx(bytes_)


def test_the_command_line_records_megabits_as_bits_and_refuses_bare_or_ambiguous_quantities(tmp_path, one_thread):
    ok = _run(tmp_path / "ok", "--budget-bandwidth", "12Mb")  # 1.5 MB: one round of 2 x 2 x 248 kB fits, not two
    assert ok.exit_code == 0, ok.output
    (path,) = (tmp_path / "ok").glob("*.json")
    record = json.loads(path.read_text())
    assert record["config"]["budgets"]["bandwidth_bytes"] == 1.5e6 and record["status"] == "budget-stopped"
    assert "--budget-bandwidth 1500000.0B" in record["command"]  # the re-run command keeps the unit
    for flag, value, message in (("--budget-bandwidth", "20", "has no unit"),
                                 ("--budget-bandwidth", "20mb", "write 20MB (bytes) or 20Mb (bits)"),
                                 ("--budget-bandwidth", "20M", "ambiguous"),
                                 ("--budget-compute", "5", "has no unit")):
        refused = _run(tmp_path / "bad", flag, value)
        assert refused.exit_code == 2 and message in refused.stderr, (value, refused.output)
    assert not (tmp_path / "bad").exists()


def test_a_bandwidth_budget_below_one_fl_round_is_refused_before_training(tmp_path, one_thread, monkeypatch):
    from c3bench.federated import FederatedMethod

    def no_training(self, round_index):
        raise AssertionError("a round trained")

    monkeypatch.setattr(FederatedMethod, "run_round", no_training)
    refused = _run(tmp_path, "--budget-bandwidth", "900kB")  # FedAvg sends 2 x 2 clients x 248 kB a round
    assert refused.exit_code == 2, refused.output
    assert "admits no round" in refused.stderr and "at least 992.10 kB" in refused.stderr and "nothing was trained" in refused.stderr
    assert not tmp_path.exists() or not list(tmp_path.rglob("*.json"))


@pytest.mark.parametrize(("args", "hint"), [
    (["--set", "learning_rate=0.1"], "Did you mean 'lr'?"),
    (["--set", "wd=0.1"], "Did you mean 'weight_decay'?"),
    (["--set", "mu=0.1"], "'mu' is a hyperparameter of adasplit, fedprox, sl-basic and splitfed, not of fedavg"),
])
def test_set_keys_get_a_did_you_mean_or_the_methods_that_take_them(tmp_path, args, hint):
    refused = _run(tmp_path, *args)
    assert refused.exit_code == 2 and hint in refused.stderr, refused.output


@pytest.mark.parametrize(("toml", "message"), [
    ("[params]\nlearning_rate = 0.1\n", "[params] key 'learning_rate' is a hyperparameter of none of its methods "
                                        "(fedavg). Did you mean 'lr'?"),
    ("[params.federate]\nlr = 0.1\n", "[params.federate] is not a section of a configuration"),
    ("[params.federated]\nmu = 0.1\n", "'mu' is a hyperparameter of adasplit, fedprox"),
    ("[protocol_params]\nnum_clientz = 3\n", "[protocol_params]: protocol 'synthetic' has no hyperparameter "
                                             "'num_clientz'. Did you mean 'num_clients'?"),
    ("[protocol_params]\nnum_clients = 0\n", "[protocol_params]: bad value for 'num_clients'"),
])
def test_configuration_files_name_themselves_and_suggest_the_key(tmp_path, toml, message):
    study = tmp_path / "study.toml"
    study.write_text(f'protocol = "synthetic"\n{toml}[[runs]]\nmethod = "fedavg"\nparams = {{ batch_size = 16 }}\n')
    refused = cli.invoke(app, ["run", "--config", str(study), "-o", str(tmp_path / "out")])
    assert refused.exit_code == 2, refused.output
    assert f"{study}" in refused.stderr and message in refused.stderr, refused.stderr
    row = tmp_path / "row.toml"
    row.write_text('protocol = "synthetic"\n[[runs]]\nmethod = "fedavg"\nparams = { lrr = 0.1 }\n')
    refused = cli.invoke(app, ["run", "--config", str(row), "-o", str(tmp_path / "out")])
    assert f"{row}, run 'fedavg': method 'fedavg' has no hyperparameter 'lrr'. Did you mean 'lr'?" in refused.stderr
