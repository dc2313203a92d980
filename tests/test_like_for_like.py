"""The paper's rows scored as the authors scored them (local models, best round), beside c3bench's headline,
and the options that run the baselines and AdaSplit as the authors' code did. All on tiny real runs."""

from __future__ import annotations

import copy
import json
import math
import statistics
from pathlib import Path

import pytest
import torch

from c3bench.cli import app
from c3bench.configs import FOLDER
from c3bench.entry_checks import check_log, check_provenance, check_values
from c3bench.leaderboard import Board, exceeds, over_budget
from c3bench.results import best_round, totals_from_rounds
from c3bench.runner import Runner, RunSpec, resolve
from tests.helpers import run_tiny
from tests.test_investigations import load_script

TINY3 = {"num_clients": "3", "train_per_client": "48", "test_per_client": "16", "batch_size": "16"}


def tiny_run(tmp_path: Path, method: str, rounds: int = 3, **overrides: str) -> tuple[dict, Runner]:
    spec = RunSpec(method, "synthetic", overrides={**TINY3, **overrides}, rounds=rounds, seed=2, backbone="simple-cnn")
    runner = Runner(resolve(spec), tmp_path)
    return runner.execute(), runner


# ------------------------------------------------------------------------------------------ local accuracy
def test_fedavgs_recorded_local_accuracy_is_what_a_replay_of_its_last_round_scores(tmp_path, one_thread):
    """investigations/fl_local_eval.py replays the record's first rounds and trains the last by hand, scoring
    each client's model right after its local training: the runner's record must say the same."""
    record = run_tiny(tmp_path, method="fedavg", rounds=3, num_clients="3", train_per_client="96",
                      test_per_client="32", batch_size="16")
    replay = load_script().local_evaluation(record)
    assert replay["replay_matches_record"] is True
    local = record["rounds"][-1]["local_accuracy"]
    assert local["clients"] == [0, 1, 2]
    assert local["per_client"] == replay["local_after_training"]
    assert local["mean"] == pytest.approx(replay["local_mean"])
    # the local figure is not the deployed one (label skew), so the test can tell them apart
    assert local["per_client"] != record["rounds"][-1]["accuracy"]["per_client"]


def test_local_scores_are_the_same_with_serial_worker_and_stacked_clients(tmp_path, one_thread):
    serial = run_tiny(tmp_path / "serial", method="fedavg", rounds=2)
    workers = run_tiny(tmp_path / "workers", method="fedavg", rounds=2, client_workers=2)
    stacked = run_tiny(tmp_path / "stacked", method="fedavg", rounds=2, stack_clients=True)
    for a, b in zip(serial["rounds"], workers["rounds"], strict=True):
        assert a["local_accuracy"] == b["local_accuracy"]
    for a, b in zip(serial["rounds"], stacked["rounds"], strict=True):  # stacked: weights within float rounding
        assert a["local_accuracy"]["clients"] == b["local_accuracy"]["clients"]
        assert a["local_accuracy"]["per_client"] == pytest.approx(b["local_accuracy"]["per_client"], abs=7.0)


def test_local_scoring_is_outside_the_ledger_unless_inference_is_charged(tmp_path, one_thread):
    plain = run_tiny(tmp_path / "plain", method="fedavg", rounds=1)
    charged = run_tiny(tmp_path / "charged", method="fedavg", rounds=1, charge_inference=True)
    fwd = plain["totals"]["client_fwd_macs"]
    # charged: each client's local model and the global model are each run once over its test split
    test_images = sum(c["test"] for c in plain["data"]["clients"])
    per_image = charged["totals"]["client_fwd_macs"] - fwd
    assert per_image > 0 and per_image % (2 * test_images) == 0
    assert plain["rounds"][0]["local_accuracy"] == charged["rounds"][0]["local_accuracy"]


@pytest.mark.parametrize(("method", "extra"), [("splitfed", {}), ("splitfed", {"variant": "v2"}), ("edgesplit", {}),
                                               ("sl-basic", {"average_every": "2", "turns": "batch"})])
def test_split_methods_that_average_client_models_score_each_clients_own_model(tmp_path, one_thread, method, extra):
    record, _ = tiny_run(tmp_path, method, rounds=2, **extra)
    for entry in record["rounds"]:
        local = entry["local_accuracy"]
        assert local["clients"] == [0, 1, 2] and len(local["per_client"]) == 3
        assert local["mean"] == pytest.approx(statistics.fmean(local["per_client"]))
    assert not check_values(record, "r") and not check_log(record, "r")


def test_methods_that_deploy_what_they_train_record_no_local_score(tmp_path, one_thread):
    for method in ("sl-basic", "adasplit"):
        record, _ = tiny_run(tmp_path / method, method, rounds=2)
        assert all("local_accuracy" not in r for r in record["rounds"])
        assert record["totals"]["local_accuracy"] is None and record["totals"]["local_accuracy_best"] is None


# ------------------------------------------------------------------------------------------ best and last
def _log(means: list[float], local: list[float | None] | None = None) -> list[dict]:
    rounds = []
    for i, m in enumerate(means):
        entry = {"round": i + 1, "accuracy": {"per_client": [m, m], "mean": m}, "wall_s": 1.0, "sim_time_s": 1.0,
                 "cumulative": {"client_flops": i, "server_flops": 0, "client_fwd_macs": i, "server_fwd_macs": 0}}
        if local is not None and local[i] is not None:
            entry["local_accuracy"] = {"clients": [0, 1], "per_client": [local[i], local[i]], "mean": local[i]}
        rounds.append(entry)
    return rounds


def test_totals_give_the_last_and_the_best_round_of_each_accuracy():
    totals = totals_from_rounds(_log([10.0, 70.0, 55.0, 70.0, 60.0], [20.0, 30.0, 90.0, 85.0, 80.0]))
    assert totals["accuracy"] == 60.0
    assert (totals["accuracy_best"], totals["accuracy_best_round"]) == (70.0, 2)  # a tie: the earliest round
    assert totals["local_accuracy"] == 80.0
    assert (totals["local_accuracy_best"], totals["local_accuracy_best_round"]) == (90.0, 3)
    old = totals_from_rounds(_log([10.0, 40.0, 30.0]))  # a record made before local scoring
    assert old["local_accuracy"] is None and old["local_accuracy_best"] is None and old["accuracy_best_round"] == 2
    assert best_round([None, 5.0, None], "x") == {"x_best": 5.0, "x_best_round": 2}


def test_a_forged_best_round_or_local_score_is_refused(tmp_path, one_thread):
    record = run_tiny(tmp_path, method="fedavg", rounds=2)
    forged = copy.deepcopy(record)
    forged["totals"]["local_accuracy_best"] = 99.0
    assert any(p.field == "totals.local_accuracy_best" for p in check_log(forged, "f"))
    forged = copy.deepcopy(record)
    forged["rounds"][0]["local_accuracy"]["mean"] = 99.0
    assert any("local_accuracy" in p.field for p in check_log(forged, "f"))
    forged = copy.deepcopy(record)
    forged["rounds"][0]["local_accuracy"]["clients"] = [0, 7]
    assert any("local_accuracy.clients" in p.field for p in check_values(forged, "f"))


# ------------------------------------------------------------------------------------------ SplitFed as the paper ran it
def test_average_every_makes_client_models_equal_after_every_kth_round_and_charges_it(tmp_path, one_thread):
    spec = RunSpec("sl-basic", "synthetic", overrides={**TINY3, "average_every": "3", "turns": "batch"}, rounds=6,
                   seed=2, backbone="simple-cnn")
    plain_spec = RunSpec("sl-basic", "synthetic", overrides={**TINY3, "turns": "batch"}, rounds=6, seed=2,
                         backbone="simple-cnn")
    runner = Runner(resolve(spec), tmp_path / "avg")
    federation, ctx, method, _ = runner.build()
    plain = Runner(resolve(plain_spec), tmp_path / "plain").execute()
    params = sum(p.numel() for p in method.client_models[0].parameters())
    for r in range(6):
        ctx.ledger.begin_round()
        method.run_round(r)
        counters = ctx.ledger.end_round()
        states = [[t.clone() for t in m.state_dict().values()] for m in method.client_models]
        equal = all(torch.equal(a, b) for other in states[1:] for a, b in zip(states[0], other, strict=True))
        assert equal == ((r + 1) % 3 == 0), f"round {r + 1}"
        # the averaging: each client's model up and the average down, dense float32, on top of the training traffic
        averaging = 2 * params * 4 if (r + 1) % 3 == 0 else 0
        trained = plain["rounds"][r]["per_client"]
        for c in range(3):
            assert counters[c].bytes_up + counters[c].bytes_down - trained[c]["bytes_up"] - trained[c]["bytes_down"] \
                == averaging
            assert counters[c].paper_bytes_up + counters[c].paper_bytes_down >= \
                trained[c]["paper_bytes_up"] + trained[c]["paper_bytes_down"]


def test_a_hyperparameter_added_later_keeps_the_records_made_before_it(tmp_path, one_thread):
    """average_every, shared_client and mask_l1 are left out of a record at their default, so every record
    made before them keeps its configuration, name and board check; set, they are named."""
    record = run_tiny(tmp_path, method="sl-basic", rounds=1)
    assert "average_every" not in record["config"]["method_params"]
    assert not check_provenance(record, "r")
    averaged = run_tiny(tmp_path / "b", method="sl-basic", rounds=1, average_every="3")
    assert averaged["config"]["method_params"]["average_every"] == 3 and "--set method.average_every=3" in \
        averaged["command"]
    assert not check_provenance(averaged, "r")
    adasplit = run_tiny(tmp_path / "c", method="adasplit", rounds=1)
    assert not {"shared_client", "mask_l1"} & set(adasplit["config"]["method_params"])


# ------------------------------------------------------------------------------------------ AdaSplit switches
def _adasplit(tmp_path: Path, rounds: int = 4, **overrides: str):
    spec = RunSpec("adasplit", "synthetic", overrides={**TINY3, "kappa": "0.5", **overrides}, rounds=rounds, seed=2,
                   backbone="simple-cnn")
    return Runner(resolve(spec), tmp_path).build()


def test_shared_client_relays_one_client_parameter_set(tmp_path, one_thread):
    _, ctx, method, _ = _adasplit(tmp_path, shared_client="true")
    ctx.ledger.begin_round()
    method.run_round(0)
    counters = ctx.ledger.end_round()
    with ctx.ledger.uncharged():
        method.begin_evaluation()  # deployment: every client gets the latest shared model
    states = [c.state_dict() for c in method.client_models]
    assert all(torch.equal(states[0][k], s[k]) for s in states[1:] for k in states[0])
    # every step after the first hands the model (client part and head) to the next client, peer to peer
    size = sum(t.numel() * t.element_size() for t in states[0].values())
    steps = sum(c.samples for c in counters.values()) // 16
    assert sum(c.bytes_peer for c in counters.values()) == (steps - 1) * size
    assert sum(c.paper_bytes_peer for c in counters.values()) == 0  # the authors did not count it
    _, ctx2, own, _ = _adasplit(tmp_path / "own")
    ctx2.ledger.begin_round()
    own.run_round(0)
    own_states = [c.state_dict() for c in own.client_models]
    assert not all(torch.equal(own_states[0][k], s[k]) for s in own_states[1:] for k in own_states[0])


def _lrs(method) -> float:
    return method.client_opts[0].param_groups[0]["lr"]


def test_cosine_global_schedule_stands_still_in_the_local_rounds_then_follows_the_cosine(tmp_path, one_thread):
    _, ctx, method, _ = _adasplit(tmp_path, rounds=4, lr_schedule="cosine-global", lr="0.001")
    seen = []
    for r in range(4):
        ctx.ledger.begin_round()
        method.run_round(r)
        ctx.ledger.end_round()
        seen.append(_lrs(method))
    local = method.local_rounds
    expected = [0.001 if r < local else 0.001 * 0.5 * (1 + math.cos(math.pi * (r - local) / 6)) for r in range(4)]
    assert local == 2 and seen == pytest.approx(expected)
    assert seen[0] == seen[1] == seen[2] == 0.001 and seen[3] < 0.001  # the paper's cosine moves from round 2 on


def test_mask_l1_all_penalises_every_clients_mask_at_each_server_step(tmp_path, one_thread):
    _, ctx, method, _ = _adasplit(tmp_path, mask_l1="all", eta="0.34")
    before = [[m.detach().clone() for m in method.masks.logits[i]] for i in range(3)]
    ctx.ledger.begin_round()
    method.run_round(0)  # a local round: no server step, no mask moves
    method.run_round(2)  # a global round: one client picked per iteration, every mask moves
    ctx.ledger.end_round()
    moved = [any(not torch.equal(a, b) for a, b in zip(before[i], method.masks.logits[i], strict=True)) for i in range(3)]
    assert moved == [True, True, True]
    assert method.mask_opts == [] and len(method.server_opts[0].param_groups[0]["params"]) == \
        len(list(method.server_model.parameters())) + len(list(method.masks.parameters()))
    _, ctx2, own, _ = _adasplit(tmp_path / "own", eta="0.34")
    picked_before = [[m.detach().clone() for m in own.masks.logits[i]] for i in range(3)]
    ctx2.ledger.begin_round()
    out = own.run_round(2)  # the default: only a picked client's mask moves
    never = [i for i, n in enumerate(out["selected_iterations"]) if n == 0]
    for i in never:
        assert all(torch.equal(a, b) for a, b in zip(picked_before[i], own.masks.logits[i], strict=True))


# ------------------------------------------------------------------------------------------ the report
SUITE = """
name = "tiny-like-for-like"
protocol = "synthetic"
rounds = 3
backbone = "simple-cnn"
seeds = [0, 1]
reference_metric = "deployed-best"
score = { bmax_gb = 0.1, cmax_tflops = 0.2, temperature = 8.0 }
[protocol_params]
num_clients = 3
train_per_client = 48
test_per_client = 16
[params]
batch_size = 16
[[runs]]
name = "fedavg"
method = "fedavg"
reference = { accuracy = 60.0, accuracy_std = 1.0, metric = "local-best", note = "a note on the figure" }
[[runs]]
name = "adasplit"
method = "adasplit"
params = { kappa = 0.5 }
reference = { accuracy = 30.0 }
[[runs]]
name = "splitfed"
method = "splitfed"
"""


def test_the_report_compares_each_row_on_its_published_metric_beside_the_headline(tmp_path, cli, one_thread):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    ran = cli.invoke(app, ["reproduce", str(suite), "-o", str(out), "-q"])
    assert ran.exit_code == 0, ran.stderr
    report = cli.invoke(app, ["reproduce", str(suite), "-o", str(out), "--report", "--format", "json"])
    (table,) = json.loads(report.stdout)
    rows = {r["name"]: r for r in table["rows"]}
    records = {}
    for path in out.glob("*.json"):
        record = json.loads(path.read_text())
        records.setdefault(record["config"]["method"], []).append(totals_from_rounds(record["rounds"]))
    fed = rows["fedavg"]
    local_best = [t["local_accuracy_best"] for t in records["fedavg"]]
    assert fed["metric"] == "local-best" and fed["seeds"] == [0, 1]
    assert fed["same_mean"] == pytest.approx(statistics.fmean(local_best))
    assert fed["same_std"] == pytest.approx(statistics.pstdev(local_best))  # population std, as the source
    assert fed["delta"] == pytest.approx(fed["same_mean"] - 60.0) and fed["within"] == (abs(fed["delta"]) <= 2.0)
    headline = [t["accuracy"] for t in records["fedavg"]]
    assert fed["accuracy_mean"] == pytest.approx(statistics.fmean(headline))
    assert fed["accuracy_std"] == pytest.approx(statistics.stdev(headline))
    ada = rows["adasplit"]
    assert ada["metric"] == "deployed-best"
    assert ada["same_mean"] == pytest.approx(statistics.fmean(t["accuracy_best"] for t in records["adasplit"]))
    assert ada["tolerance"] == 2.0  # no published std: 2 points
    assert rows["splitfed"]["metric"] is None and rows["splitfed"]["same_mean"] is None
    markdown = cli.invoke(app, ["reproduce", str(suite), "-o", str(out), "--report", "--format", "markdown"]).stdout
    assert "local model after training, best round" in markdown and "Reference: a note on the figure" in markdown
    assert "c3bench headline" in markdown
    terminal = cli.invoke(app, ["reproduce", str(suite), "-o", str(out), "--report"], env={"COLUMNS": "250"}).stdout
    assert "local model after training" in terminal


def test_a_row_whose_records_predate_local_scoring_asks_for_a_re_run(tmp_path):
    from c3bench.configs import parse_config
    from c3bench.reproduce import row_report, same_metric_text

    config = parse_config({"protocol": "synthetic", "runs": [{"method": "fedavg", "reference": {
        "accuracy": 50.0, "metric": "local-best"}}]}, "t", "t")
    record = {"config": {"seed": 4}, "status": "completed", "rounds": _log([40.0, 45.0]), "execution": {}}
    for entry in record["rounds"]:
        entry["cumulative"].update({k: 0 for k in ("bytes_total", "paper_bytes_total")})
    row = row_report(config.runs[0], [4], [("f", record)], {})
    assert row.same_missing == [4] and row.same_mean is None and row.delta is None
    assert "re-run" in same_metric_text(row) and row.accuracy_mean == 45.0
    # beside a seed that has the figure, the row gives it over the seeds that have it, and names the rest
    newer = {"config": {"seed": 5}, "status": "completed", "rounds": _log([41.0, 44.0]), "execution": {}}
    for entry, local in zip(newer["rounds"], (48.0, 47.0), strict=True):
        entry["cumulative"].update({k: 0 for k in ("bytes_total", "paper_bytes_total")})
        entry["local_accuracy"] = {"clients": [0], "mean": local, "per_client": [local]}
    row = row_report(config.runs[0], [4, 5], [("f", record), ("g", newer)], {})
    assert row.same_missing == [4] and row.same_mean == 48.0 and row.same_std is None and row.delta == -2.0
    assert row.best_rounds == [1] and row.accuracy_mean == 44.5
    text = same_metric_text(row)
    assert text == "48.00 (round 1); seed 5 only (re-run 4: older records)"


def test_the_ablation_suite_runs_shrunk(tmp_path, cli, one_thread):
    """adasplit-ablation-noniid's rows, each switch and all of them, on a tiny synthetic federation."""
    text = (FOLDER / "adasplit-ablation-noniid.toml").read_text()
    text = text.replace('protocol = "mixed-noniid"', 'protocol = "synthetic"').replace('backbone = "lenet"',
                                                                                    'backbone = "simple-cnn"')
    text = text.replace("[params]\n", "[protocol_params]\nnum_clients = 3\ntrain_per_client = 32\ntest_per_client = 16\n"
                                      "\n[params]\n", 1).replace("batch_size = 32", "batch_size = 16")
    suite = tmp_path / "ablation.toml"
    suite.write_text(text)
    ran = cli.invoke(app, ["reproduce", str(suite), "--rounds", "2", "--seeds", "0", "-o", str(tmp_path / "o"), "-q",
                           "--format", "json"])
    assert ran.exit_code == 0, ran.stderr
    (table,) = json.loads(ran.stdout)
    assert [r["name"] for r in table["rows"]] == ["paper-text", "shared-client", "schedule", "mask-l1-all", "discount",
                                                  "authors-code"]
    assert all(r["seeds"] == [0] and r["same_mean"] is not None for r in table["rows"])
    params = {json.loads(p.read_text())["config"]["method_params"].get("mask_l1") for p in (tmp_path / "o").glob("*.json")}
    assert params == {None, "all"}


# ------------------------------------------------------------------------------------------ named rows, budgets
def test_the_named_rows_are_the_configurations_the_authors_ran():
    from c3bench.configs import get_config

    t1, _ = get_config("adasplit-table1")
    t2, _ = get_config("adasplit-table2")
    assert t1.row("fedprox").params["mu"] == 0.01 and t2.row("fedprox").params["mu"] == 0.01
    assert t1.row("fedprox-mu1").reference is None
    assert dict(t1.row("fednova").params) == {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0, "batch_size": 64}
    for table in (t1, t2):
        paper_splitfed = table.row("splitfed")
        assert paper_splitfed.method == "sl-basic" and paper_splitfed.params["average_every"] == 3
        assert table.row("splitfed-v1").reference is None and table.row("splitfed-v2").reference is None
        for name in ("fedavg", "fedprox", "scaffold", "fednova"):
            assert table.row(name).reference.metric == "local-best"
        for name in ("sl-basic", "splitfed", "adasplit"):
            assert table.row(name).reference.metric == "deployed-best"
    assert t1.row("sl-basic").params["lr"] == pytest.approx(1e-3 / 9)
    assert t1.row("splitfed").params["lr"] == pytest.approx(1e-3 / 9)
    assert "84.21" in t1.row("fedavg").reference.note


def test_a_cost_is_over_a_budget_at_the_precision_the_budget_is_written_with():
    assert not exceeds(11.773, 11.77) and exceeds(11.776, 11.77) and exceeds(11.78, 11.77)
    assert not exceeds(0.2, 0.2) and not exceeds(0.24, 0.2) and exceeds(0.26, 0.2)
    assert not exceeds(2.04, 2) and exceeds(2.06, 2) and exceeds(1.5e-5, 1e-5) and not exceeds(1.04e-5, 1e-5)
    board = Board(Path("b"), "mixed-cifar", 35.94, 11.77, 8.0, "paper", {})
    totals = {"paper_bytes_total": 2.39e9, "client_fwd_macs": int(11.7729e12), "server_fwd_macs": 0}
    assert over_budget(totals, board) == []
    assert over_budget({**totals, "client_fwd_macs": int(11.79e12)}, board) == ["compute"]


def test_board_notes_and_findings_link_reach_the_readme_escaped(tmp_path):
    from c3bench.leaderboard import render_readme

    board = Board(tmp_path, "synthetic", 0.1, 0.2, 8.0, "c3bench", {}, notes=("FL rows <b>differ</b> [here](x)",),
                  findings="../FINDINGS.md")
    text = render_readme(board, [])
    assert "&lt;b&gt;differ&lt;/b&gt; \\[here\\](x)" in text and "<b>" not in text
    assert "[FINDINGS.md](<../FINDINGS.md>)" in text


@pytest.fixture
def cli():
    from typer.testing import CliRunner

    return CliRunner()

