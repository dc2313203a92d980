"""The command line as a user meets it: exit codes, messages on stderr, data on stdout."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from c3bench.cli import app

cli = CliRunner()
TINY = ["--set", "num_clients=2", "--set", "train_per_client=64", "--set", "test_per_client=32"]


def _run(tmp_path, *extra):
    return cli.invoke(app, ["run", "-m", "fedavg", "-p", "synthetic", "--rounds", "2", "-q", "-o", str(tmp_path), *TINY, *extra])


def test_run_then_score_show_in_every_format(tmp_path):
    result = _run(tmp_path, "--seed", "0")
    assert result.exit_code == 0, result.output
    assert _run(tmp_path, "--seed", "1").exit_code == 0
    files = sorted(str(p) for p in tmp_path.glob("*.json"))
    assert len(files) == 2

    as_json = cli.invoke(app, ["score", *files, "--format", "json"])
    assert as_json.exit_code == 0
    (block,) = json.loads(as_json.stdout)
    (row,) = block["rows"]  # two seeds, one group
    assert row["seeds"] == 2 and row["method"] == "fedavg" and 0 <= row["c3"] <= 1

    rows = list(csv.DictReader(io.StringIO(cli.invoke(app, ["score", *files, "-f", "csv", "-T", "4"]).stdout)))
    assert rows[0]["temperature"] == "4.0" and float(rows[0]["c3"]) < row["c3"]  # lower T, lower score

    md = cli.invoke(app, ["score", *files, "-f", "markdown", "--bmax", "1", "--cmax", "1"]).stdout
    assert "| fedavg |" in md and "Bmax 1 GB" in md

    shown = cli.invoke(app, ["show", files[0]])
    assert shown.exit_code == 0 and "per round" in shown.stdout and "completed" in shown.stdout


def test_list_shows_hyperparameters_with_types_defaults_and_help():
    result = cli.invoke(app, ["list", "methods", "--json"])
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    lr = next(h for h in entries["fedavg"]["hyperparameters"] if h["name"] == "lr")
    assert lr["type"] == "float" and lr["default"] == 3.3e-4 and lr["help"]
    text = cli.invoke(app, ["list", "protocols"]).stdout
    assert "synthetic" in text and "num_clients" in text


def test_unknown_names_exit_2_with_suggestions_and_no_result(tmp_path):
    r = cli.invoke(app, ["run", "-m", "fedavgg", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "Did you mean 'fedavg'" in r.stderr
    r = cli.invoke(app, ["run", "-m", "fedavg", "--set", "lrr=1", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "'lr'" in r.stderr
    r = cli.invoke(app, ["run", "-m", "fedavg", "--set", "lr", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "key=value" in r.stderr
    r = cli.invoke(app, ["run", "-m", "fedavg", "--budget-bandwidth", "3 parsecs", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "3GB" in r.stderr
    assert not tmp_path.exists() or not list(tmp_path.glob("*.json"))


def test_score_refuses_malformed_and_tampered_files_naming_them(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = cli.invoke(app, ["score", str(bad)])
    assert r.exit_code == 2 and "bad.json" in r.stderr and "malformed JSON" in r.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    r = cli.invoke(app, ["score", str(other)])
    assert r.exit_code == 2 and "missing field" in r.stderr
    r = cli.invoke(app, ["score", str(tmp_path / "nope.json")])
    assert r.exit_code == 2 and "no such file" in r.stderr


def test_budget_flag_marks_the_run_budget_stopped(tmp_path):
    r = _run(tmp_path, "--budget-bandwidth", "1.5MB")  # one round of 2 x 2 x 248 kB fits, not two
    assert r.exit_code == 0, r.output
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "budget-stopped" and record["config"]["budgets"]["bandwidth_bytes"] == 1.5e6
    assert record["totals"]["bytes_total"] <= 1.5e6 and len(record["rounds"]) == 1


def test_a_budget_that_admits_no_round_is_an_error_that_writes_nothing(tmp_path):
    for flag, value, what in (("--budget-bandwidth", "300kB", "bandwidth"), ("--budget-compute", "100MFLOP", "client compute")):
        r = _run(tmp_path, flag, value)
        assert r.exit_code == 2, r.output
        assert f"the {what}" in r.stderr and "admits no round" in r.stderr and flag in r.stderr
        assert not list(tmp_path.glob("*.json")) and not list(tmp_path.glob(".checkpoints/*.pt"))


def test_score_has_rounds_and_status_reads_stdin_and_notes_defaulted_budgets(tmp_path):
    assert _run(tmp_path / "a", "--seed", "0").exit_code == 0
    assert _run(tmp_path / "b", "--budget-bandwidth", "1.5MB").exit_code == 0
    files = sorted(str(p) for p in tmp_path.glob("*/*.json"))
    table = cli.invoke(app, ["score", "-"], input="\n".join(files) + "\n")
    assert table.exit_code == 0, table.output
    assert "1 seed x 2 rounds, completed" in table.stdout and "1 seed x 1 round, budget-stopped" in table.stdout
    assert "completed" in table.stdout and "budget-stopped" in table.stdout  # the two runs look different
    assert "default to the largest among these runs" in table.stdout
    pinned = cli.invoke(app, ["score", *files, "--bmax", "1", "--cmax", "1"])
    assert "default to the largest" not in pinned.stdout
    (block,) = json.loads(cli.invoke(app, ["score", *files, "-f", "json"]).stdout)
    assert sorted((r["rounds"], r["status"]) for r in block["rows"]) == [(1, "budget-stopped"), (2, "completed")]
    for bad in (["-T", "nan"], ["--bmax", "inf"], ["--cmax", "-1"]):
        r = cli.invoke(app, ["score", *files, *bad])
        assert r.exit_code == 2 and "positive finite" in r.stderr


def test_show_takes_several_files_and_help_version_and_list_configs(tmp_path):
    assert _run(tmp_path, "--seed", "0").exit_code == 0 and _run(tmp_path, "--seed", "1").exit_code == 0
    files = sorted(str(p) for p in tmp_path.glob("*.json"))
    shown = cli.invoke(app, ["show", *files])
    assert shown.exit_code == 0 and shown.stdout.count("per round") == 2
    assert len(json.loads(cli.invoke(app, ["show", *files, "--json"]).stdout)) == 2
    help_text = cli.invoke(app, ["run", "--help"]).stdout
    assert "--resume" in help_text and "<bool>" not in help_text  # a flag takes no value
    assert cli.invoke(app, ["--version"]).stdout.startswith("c3bench ")
    listed = cli.invoke(app, ["list", "configs"])
    assert listed.exit_code == 0 and "adasplit-table2" in listed.stdout


def test_flush_denormal_from_the_command_line_needs_one_thread_and_is_recorded(tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        refused = _run(tmp_path / "two", "--flush-denormal", "--threads", "2")
        assert refused.exit_code == 2 and "--threads 1" in refused.stderr and not (tmp_path / "two").exists()
        assert _run(tmp_path, "--flush-denormal", "--threads", "1").exit_code == 0
    finally:
        torch.set_num_threads(before)
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert record["execution"]["flush_denormal"] is True and "--flush-denormal" in record["command"]
