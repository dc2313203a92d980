"""The paper's protocols do the authors' work: eta on unbalanced federations, iteration up to the
longest client, Table 1's compute from c3bench's counters, the 10-way Mixed-CIFAR head, SL-basic's
evaluation, server gradients, and `c3bench reproduce` end to end."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics

import pytest
import torch
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.federation import Federation
from c3bench.reproduce import build_report, plan_suite, render_json, render_markdown
from c3bench.results import load_record
from c3bench.runner import Runner, RunSpec, resolve
from c3bench.split import round_epochs
from tests.conftest import require_data
from tests.helpers import run_tiny, tiny_spec

pytestmark = pytest.mark.usefixtures("one_thread")

cli = CliRunner()
NONIID = ("CIFAR-10-images/train.tar", "CIFAR-10-images/test.tar", "CIFAR-100-images/train.tar", "MNIST/raw",
          "FashionMNIST/raw", "notMNIST_small/notMNIST_small.tar")




def _unbalanced(sizes=(64, 16, 40), **overrides):
    """A tiny synthetic run whose clients hold ``sizes`` training images."""
    run = resolve(tiny_spec(num_clients=str(len(sizes)), rounds=1, **overrides))
    fed = run.protocol_cls().build(run.protocol_params, 0, None)
    clients = [dataclasses.replace(c, x_train=c.x_train[:n], y_train=c.y_train[:n]) for c, n in zip(fed.clients, sizes, strict=True)]
    return run, Federation(clients=clients, num_classes=fed.num_classes, augment=False)


# ------------------------------------------------------------------ eta and the iteration modes
@pytest.mark.parametrize("eta", [0.3, 0.6, 1.0])
def test_eta_selects_its_share_of_the_active_clients_in_every_iteration(tmp_path, eta):
    sizes, batch = (64, 16, 40), 8
    run, fed = _unbalanced(sizes, method="adasplit", kappa="0", eta=str(eta), batch_size=str(batch), iteration="own")
    _, ctx, method, _ = Runner(run, tmp_path, federation=fed).build()
    picks = []
    real = method.orchestrator.select
    method.orchestrator.select = lambda k, active, gen: picks.append((k, len(active))) or real(k, active, gen)
    ctx.ledger.begin_round()
    extra = method.run_round(0)
    assert len(picks) == math.ceil(max(sizes) / batch)  # one selection per iteration
    for k, active in picks:  # round(eta * active) (at least one): within one batch of eta * active
        assert k == max(1, math.floor(eta * active + 0.5)) and abs(k - eta * active) < 1
    assert sum(extra["selected_iterations"]) == sum(k for k, _ in picks)
    # before, eta picked round(eta * N) of all clients: with one client left it sent every batch


def test_longest_iteration_gives_every_client_the_largest_clients_samples(tmp_path):
    sizes, batch = (64, 16, 40), 8
    for method, extra in (("sl-basic", {}), ("adasplit", {"kappa": "0"}), ("splitfed", {})):
        run, fed = _unbalanced(sizes, method=method, batch_size=str(batch), iteration="longest", **extra)
        record = Runner(run, tmp_path / method, federation=fed).execute(overwrite=True)
        per_client = record["rounds"][0]["per_client"]
        assert [c["samples"] for c in per_client] == [max(sizes)] * 3  # short clients cycle through their data
        own, fed2 = _unbalanced(sizes, method=method, batch_size=str(batch), iteration="own", **extra)
        record = Runner(own, tmp_path / f"{method}-own", federation=fed2).execute(overwrite=True)
        assert [c["samples"] for c in record["rounds"][0]["per_client"]] == list(sizes)
    # AdaSplit with every client active in every iteration selects exactly round(0.6 * 3) = 2 of 3
    run, fed = _unbalanced(sizes, method="adasplit", kappa="0", eta="0.6", batch_size=str(batch), iteration="longest")
    record = Runner(run, tmp_path / "picks", federation=fed).execute(overwrite=True)
    assert sum(record["rounds"][0]["extra"]["selected_iterations"]) == 2 * (max(sizes) // batch)


def test_cycled_batches_are_reshuffled_passes_over_the_clients_own_data(tmp_path):
    run, fed = _unbalanced((64, 16, 40), method="sl-basic", batch_size="8", iteration="longest")
    _, ctx, _, _ = Runner(run, tmp_path, federation=fed).build()
    epochs = round_epochs(ctx, 0)
    short = torch.cat(epochs[1].indices)
    assert len(short) == 64 and set(short.tolist()) == set(range(16))
    passes = short.view(4, 16)
    assert all(sorted(p.tolist()) == list(range(16)) for p in passes)  # each pass covers the data once
    assert not torch.equal(passes[0], passes[1])  # reshuffled
    assert torch.equal(torch.cat(round_epochs(ctx, 0)[1].indices), short)  # the client's own stream: reproducible


def test_a_real_rounds_counters_equal_the_per_sample_cost_times_the_plan(tmp_path):
    """What the Table 1 check below relies on: a round's counted MACs are per-sample MACs x samples."""
    run, fed = _unbalanced((64, 16, 40), method="adasplit", kappa="0", eta="0.6", batch_size="8", iteration="longest")
    record = Runner(run, tmp_path, federation=fed).execute(overwrite=True)
    _, ctx, method, _ = Runner(run, tmp_path / "probe", federation=fed).build()
    ctx.ledger.begin_round()
    x, y = round_epochs(ctx, 0)[0].batch(ctx, 0)
    method.iteration(0, x, y, to_server=True)
    one = ctx.ledger.current[0]
    totals = record["totals"]
    assert totals["client_fwd_macs"] == one.client_fwd_macs // 8 * 3 * 64
    assert totals["server_fwd_macs"] == one.server_fwd_macs // 8 * 2 * 64  # 2 of 3 clients, every iteration


# ------------------------------------------------------------------ Table 1's compute column
@pytest.mark.slow
def test_table1_compute_column_from_the_counters(tmp_path):
    """SL 3.76, AdaSplit 5.38 (10.89 total), FL 17.13 forward tera-MACs: per-sample MACs counted by the
    meter on a real step of each method on the real Mixed-NonIID, times the round's samples, times rounds."""
    data_root = require_data(*NONIID)

    def built(row):
        run = resolve(RunSpec(method=None, protocol=None, config=f"adasplit-table1/{row}", data_root=str(data_root)))
        return run, Runner(run, tmp_path / row).build()

    run, (fed, ctx, sl, _) = built("sl-basic")
    epochs = round_epochs(ctx, 0)
    samples = sum(len(torch.cat(e.indices)) for e in epochs)
    assert samples == 5 * 24_500  # every client up to the largest (Fashion-MNIST's 24,500)
    ctx.ledger.begin_round()
    x, y = epochs[0].batch(ctx, 0)
    from c3bench.split import split_step
    split_step(ctx, 0, sl.client_models[0], sl.server_model, sl.client_opts[0], sl.server_opts[0], x, y, "probe")
    per_sample = ctx.ledger.current[0].client_fwd_macs / len(y)
    assert per_sample == 1_536_000
    assert per_sample * samples * 20 / 1e12 == pytest.approx(3.76, rel=0.01)

    run, (fed, ctx, ada, _) = built("adasplit")
    ctx.ledger.begin_round()
    x, y = round_epochs(ctx, 0)[0].batch(ctx, 0)
    ada.iteration(0, x, y, to_server=True)
    one = ctx.ledger.current[0]
    client = one.client_fwd_macs / len(y) * samples * 20 / 1e12
    server_rounds = 20 - ada.local_rounds
    assert (ada.local_rounds, ada.picks(5)) == (12, 3)
    server = one.server_fwd_macs / len(y) * samples * 3 / 5 * server_rounds / 1e12
    assert client == pytest.approx(5.38, rel=0.01)
    assert client + server == pytest.approx(10.89, rel=0.01)

    run, (fed, ctx, avg, _) = built("fedavg")
    from c3bench.accounting.flops import forward_cost
    per_image = forward_cost(avg.global_model, (1, 3, 32, 32)).fwd_macs
    train = sum(c.num_train for c in fed.clients)
    fl = per_image * train * 20 / 1e12
    assert train == 77_787
    # The shared CIFAR-100 has no test split, so its task holds 2,500 images, not 3,000: 350 fewer
    # training images than the authors had. With them the count is within 1%; without, 1.02% low.
    assert fl == pytest.approx(17.13, rel=0.011)
    assert per_image * (train + 350) * 20 / 1e12 == pytest.approx(17.13, rel=0.01)


# ------------------------------------------------------------------ Mixed-CIFAR's 10-way head
def test_fedavg_round_on_mixed_cifar_sends_the_10_way_lenet_down_and_up(tmp_path):
    data_root = require_data("CIFAR-10-images/train.tar", "CIFAR-10-images/test.tar")
    run = resolve(RunSpec(method=None, protocol=None, config="adasplit-table2/fedavg", rounds=1, data_root=str(data_root)))
    fed = run.protocol_cls().build(run.protocol_params, 0, data_root)
    for c in fed.clients:  # the bytes do not depend on how much a client trains: keep the test fast
        c.x_train, c.y_train, c.x_test, c.y_test = c.x_train[:100], c.y_train[:100], c.x_test[:50], c.y_test[:50]
    record = Runner(run, tmp_path, federation=fed).execute()
    assert fed.num_classes == 10
    assert record["rounds"][0]["cumulative"]["bytes_total"] == 2 * 2_992_880 * 4 * 5


# ------------------------------------------------------------------ smaller deviations
def test_sl_basic_deploys_the_latest_client_model_and_charges_inference_only_when_asked(tmp_path):
    plain = run_tiny(tmp_path / "a", method="sl-basic", rounds=1)
    charged = run_tiny(tmp_path / "b", method="sl-basic", rounds=1, charge_inference=True)
    assert charged["config"]["charge_inference"] is True and "charge_inference" not in plain["config"]
    p, c = plain["totals"], charged["totals"]
    assert plain["rounds"][0]["accuracy"] == charged["rounds"][0]["accuracy"]  # the same predictions
    activation = 6 * 14 * 14 * 4  # simple-cnn's conv1 block output per image (the default cut)
    params = (3 * 6 * 25 + 6) * 4
    assert c["bytes_up"] - p["bytes_up"] == 2 * 32 * activation  # split inference: every test image up ...
    assert c["bytes_down"] - p["bytes_down"] == 2 * 32 * 10 * 4  # ... and its logits down
    assert c["bytes_peer"] - p["bytes_peer"] == params  # the latest client model handed to the other client
    assert p["paper_bytes_peer"] == 0 < p["bytes_peer"]  # the authors did not count handovers
    assert c["client_flops"] > p["client_flops"] and c["server_flops"] > p["server_flops"]

    _, ctx, method, _ = Runner(resolve(tiny_spec("sl-basic", rounds=1)), tmp_path / "c").build()
    ctx.ledger.begin_round()
    method.run_round(0)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad(), ctx.ledger.uncharged():
        method.begin_evaluation()
        assert torch.equal(method.predict(0, x), method.predict(1, x))  # both clients hold the latest model


def test_adasplit_server_gradient_comes_down_and_changes_the_client(tmp_path):
    common = {"method": "adasplit", "rounds": 1, "kappa": "0", "eta": "1"}
    plain = run_tiny(tmp_path / "a", **common)
    grad = run_tiny(tmp_path / "b", server_gradient="true", **common)
    assert plain["totals"]["bytes_down"] == 0
    activations = plain["totals"]["bytes_up"] - 2 * 64 * 8  # activations up, without the int64 labels
    assert grad["totals"]["bytes_down"] == activations  # one gradient per activation, same shape, dense
    assert grad["method_info"]["schedule"] == "parallel" and plain["method_info"]["schedule"] == "async-local"
    assert grad["rounds"][0]["accuracy"] != plain["rounds"][0]["accuracy"] or \
        grad["totals"]["client_flops"] >= plain["totals"]["client_flops"]


def test_adasplit_logs_the_mean_gate_and_fl_defaults_are_the_authors():
    from c3bench.federated import FL_HPARAMS

    assert {p.name: p.default for p in FL_HPARAMS}["weight_decay"] == 1e-5


# ------------------------------------------------------------------ `c3bench reproduce`
def test_a_shrunk_suite_runs_end_to_end_and_its_table_holds_its_records(tmp_path):
    out = tmp_path / "r"
    args = ["reproduce", "synthetic-quick", "--rows", "fedavg,adasplit", "--seeds", "0-1", "--rounds", "1", "-o", str(out)]
    result = cli.invoke(app, [*args, "-q", "--format", "json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    assert report["config"] == "synthetic-quick" and report["shrunk"] == ["1 of 2 rounds"]
    records = {p.name: load_record(p) for p in out.glob("*.json")}
    assert len(records) == 4
    for row in report["rows"]:
        mine = [r for r in records.values() if r["config"]["method"] == row["method"]]
        accs = [r["totals"]["accuracy"] for r in mine]
        assert row["seeds"] == [0, 1]
        assert row["accuracy_mean"] == pytest.approx(sum(accs) / 2)
        assert row["paper"]["bandwidth_gb"] == pytest.approx(sum(r["totals"]["paper_bytes_total"] for r in mine) / 2e9)
        assert row["c3bench"]["client_t"] == pytest.approx(sum(r["totals"]["client_flops"] for r in mine) / 2e12)
    again = cli.invoke(app, [*args, "--format", "markdown"])  # nothing left to run: the report from the records
    assert again.exit_code == 0 and "0 to run" in again.stderr and "| fedavg | 2/2 |" in again.stdout


def test_the_report_compares_with_the_published_row():
    config, planned = plan_suite("adasplit-table2", seeds=[0, 1], rows=["fedavg"])
    logs = {p.run.name: (p.run.name, _log_record(p.seed, acc, 2.39, 11.77))
            for p, acc in zip(planned, (86.0, 87.0), strict=True)}
    report = build_report(config, planned, logs)
    (row,) = report.rows
    assert row.accuracy_mean == 86.5 and row.accuracy_std == pytest.approx(0.7071, abs=1e-4)  # headline: sample std
    assert row.metric == "local-best" and row.same_mean == 91.5 and row.same_std == 0.5  # local, best: population std
    assert row.best_rounds == [20, 20] and row.delta == pytest.approx(91.5 - 91.31)
    assert row.tolerance == pytest.approx(2 * 0.49) and row.within
    assert row.c3 == pytest.approx(0.865 * math.exp(-(2.39 / 35.94 + 1.0) / 8))
    assert row.c3_same == pytest.approx(0.915 * math.exp(-(2.39 / 35.94 + 1.0) / 8))
    assert report.shrunk == ["2 of 5 seeds"]


def test_dry_run_measures_and_prints_a_plan(tmp_path):
    result = cli.invoke(app, ["reproduce", "synthetic-quick", "--rows", "fedavg", "--seeds", "0", "--dry-run",
                              "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "estimated total" in result.stderr and "fedavg" in result.stdout
    assert not list(tmp_path.glob("*.json"))  # nothing ran


def test_batch_turns_hand_the_client_model_over_after_every_step(tmp_path):
    sizes, batch = (64, 16, 40), 8
    for turns, handovers in (("epoch", 2), ("batch", None)):
        run, fed = _unbalanced(sizes, method="sl-basic", batch_size=str(batch), turns=turns)
        record = Runner(run, tmp_path / turns, federation=fed).execute(overwrite=True)
        steps = [math.ceil(n / batch) for n in sizes]
        if handovers is None:  # round-robin, one step each: every step but the first changes hands ...
            order = [i for k in range(max(steps)) for i in range(3) if k < steps[i]]
            handovers = sum(a != b for a, b in zip(order, order[1:], strict=False))
        per_handover = (3 * 6 * 25 + 6) * 4  # simple-cnn's conv1 block
        assert record["totals"]["bytes_peer"] == handovers * per_handover
        assert [c["samples"] for c in record["rounds"][0]["per_client"]] == list(sizes)  # same work either way


def _log_record(seed: int, acc: float, gb: float, client_t: float, rounds: int = 20, peak: float = 0.0) -> dict:
    """A completed record whose log ends at these totals (accuracy %, paper GB, client forward T), its best
    round the last (or, with ``peak``, round 10 at ``acc + peak``) and its clients' local models 5 points
    above the deployed one."""
    cumulative = {"paper_bytes_total": int(gb * 1e9), "bytes_total": int(gb * 1e9),
                  "client_fwd_macs": int(client_t * 1e12), "server_fwd_macs": 0,
                  "client_flops": int(client_t * 3e12), "server_flops": 0}
    log = [{"round": r + 1, "accuracy": {"mean": acc - (rounds - 1 - r), "per_client": [acc - (rounds - 1 - r)]},
            "local_accuracy": {"clients": [0], "per_client": [acc + 5 - (rounds - 1 - r)],
                               "mean": acc + 5 - (rounds - 1 - r)},
            "cumulative": cumulative, "wall_s": 1.0} for r in range(rounds)]
    if peak:
        log[9]["accuracy"] = {"mean": acc + peak, "per_client": [acc + peak]}
    return {"config": {"seed": seed}, "status": "completed", "rounds": log}


def _seed0_record(acc: float, gb: float, client_t: float) -> dict:
    return _log_record(0, acc, gb, client_t)


def test_the_papers_claims_are_checked_in_the_reports_numbers():
    config, planned = plan_suite("adasplit-table2", seeds=[0], rows=["sl-basic", "fedavg", "adasplit"])
    values = {"sl-basic": (67.0, 37.0, 1.66), "fedavg": (60.0, 2.39, 11.77), "adasplit": (90.0, 3.0, 2.38)}
    records = {p.run.name: (p.run.name, _seed0_record(*values[p.row.name])) for p in planned}
    report = build_report(config, planned, records)
    verdicts = {c.claim.split(" (")[0]: (round(c.ours, 2), c.verdict) for c in report.claims}
    assert verdicts["AdaSplit far above SL-basic in accuracy"] == (23.0, "holds")
    assert verdicts["AdaSplit uses about 10x less bandwidth than SL-basic"] == (12.33, "holds")
    assert verdicts["AdaSplit uses about 3x less client compute than FL"] == (4.95, "holds")
    assert verdicts["AdaSplit has the best C3 of every method"][1] == "holds"
    values["adasplit"] = (55.0, 3.0, 2.38)  # worse than SL-basic, and no longer the best C3
    records = {p.run.name: (p.run.name, _seed0_record(*values[p.row.name])) for p in planned}
    verdicts = {c.claim.split(" (")[0]: c.verdict for c in build_report(config, planned, records).claims}
    assert verdicts["AdaSplit far above SL-basic in accuracy"] == "does not hold"
    assert verdicts["AdaSplit has the best C3 of every method"].startswith("does not hold: ")


def test_claims_carry_error_bars_from_the_rows_seeds_and_say_when_a_margin_is_noise():
    """Three seeds: a difference's std is the two rows' population stds added in quadrature, a ratio's
    the relative ones; a margin within two stds says so; with one seed there is no error bar."""
    config, planned = plan_suite("adasplit-table2", seeds=[0, 1, 2], rows=["sl-basic", "fedavg", "adasplit"])
    # SL-basic's best rounds (the published metric) peak above its last: 81, 84, 88 at the best, 80, 84, 88 last
    values = {"sl-basic": [(80.0, 37.0, 1.66, 1.0), (84.0, 37.0, 1.66, 0.0), (88.0, 37.0, 1.66, 0.0)],
              "fedavg": [(60.0, 2.39, 11.77, 0.0)] * 3,
              "adasplit": [(85.0, 3.0, 2.38, 0.0), (86.0, 3.2, 2.38, 0.0), (87.0, 3.4, 2.38, 0.0)]}
    records = {p.run.name: (p.run.name, _log_record(p.seed, *values[p.row.name][p.seed][:3],
                                                    peak=values[p.row.name][p.seed][3])) for p in planned}
    report = build_report(config, planned, records)
    claims = {c.claim.split(" (")[0]: c for c in report.claims}
    accuracy = claims["AdaSplit far above SL-basic in accuracy"]
    assert accuracy.ours == pytest.approx(86 - (81 + 84 + 88) / 3)
    assert accuracy.ours_std == pytest.approx(math.hypot(statistics.pstdev([81, 84, 88]), statistics.pstdev([85, 86, 87])))
    assert accuracy.verdict == ("weaker: in the claimed direction, less than half the published size, within two "
                                "std of no difference")
    bandwidth = claims["AdaSplit uses about 10x less bandwidth than SL-basic"]
    ratio = 37.0 / 3.2
    assert bandwidth.ours == pytest.approx(ratio)
    assert bandwidth.ours_std == pytest.approx(ratio * statistics.pstdev([3.0, 3.2, 3.4]) / 3.2, rel=1e-3)
    assert bandwidth.verdict == "holds"
    markdown = render_markdown(report)
    assert f"c3bench {ratio:.3g} ± {bandwidth.ours_std:.2g} (published: 12.2): **holds**" in markdown
    assert "c3bench 4.95 (published: 4.95)" in markdown  # the same client compute at every seed: no "± 0"
    fedavg = next(r for r in report.rows if r.name == "fedavg")  # FL: the published metric is the local model's
    assert fedavg.spreads["accuracy"] == 0.0 and fedavg.spreads["client_t"] == 0.0
    for seed in (1, 2):  # seeds whose records predate local scoring: the metric has one seed, so no spread
        for entry in records[next(p.run.name for p in planned if p.row.name == "fedavg" and p.seed == seed)][1]["rounds"]:
            del entry["local_accuracy"]
    fedavg = next(r for r in build_report(config, planned, records).rows if r.name == "fedavg")
    assert fedavg.same_missing == [1, 2] and "accuracy" not in fedavg.spreads and "c3" in fedavg.spreads

    one = {k: v for k, v in records.items() if "_s0_" in k}
    claims = {c.claim.split(" (")[0]: c for c in build_report(config, planned, one).claims}
    assert claims["AdaSplit far above SL-basic in accuracy"].ours_std is None
    assert claims["AdaSplit far above SL-basic in accuracy"].verdict == ("weaker: in the claimed direction, less than "
                                                                        "half the published size")


def test_a_ratio_over_zero_is_a_verdict_not_infinity_and_the_json_stays_strict():
    config, planned = plan_suite("adasplit-table2", seeds=[0], rows=["sl-basic", "fedavg", "adasplit"])
    values = {"sl-basic": (67.0, 37.0, 1.66), "fedavg": (60.0, 2.39, 11.77), "adasplit": (90.0, 0.0, 2.38)}
    records = {p.run.name: (p.run.name, _seed0_record(*values[p.row.name])) for p in planned}
    report = build_report(config, planned, records)
    (bandwidth,) = [c for c in report.claims if c.claim.startswith("AdaSplit uses about 10x less bandwidth")]
    assert bandwidth.ours is None and bandwidth.verdict == "holds: AdaSplit (κ=0.6, η=0.6) measures 0, so the ratio is unbounded"
    assert "Infinity" not in render_json([report]) and json.loads(render_json([report]))
    values["sl-basic"] = (67.0, 0.0, 1.66)
    records = {p.run.name: (p.run.name, _seed0_record(*values[p.row.name])) for p in planned}
    (bandwidth,) = [c for c in build_report(config, planned, records).claims if "bandwidth" in c.claim]
    assert bandwidth.verdict.startswith("not checked: ") and bandwidth.verdict.endswith("both measure 0, so there is no ratio")


def test_a_best_of_claim_says_when_the_runner_up_is_within_two_std():
    config, planned = plan_suite("adasplit-table2", seeds=[0, 1, 2], rows=["fedavg", "adasplit", "adasplit-kappa0.3"])
    values = {"fedavg": [60.0, 61.0, 62.0], "adasplit": [88.0, 90.0, 92.0], "adasplit-kappa0.3": [89.0, 89.5, 90.0]}
    records = {p.run.name: (p.run.name, _log_record(p.seed, values[p.row.name][p.seed], 3.0, 2.38)) for p in planned}
    (best,) = [c for c in build_report(config, planned, records).claims if c.claim.startswith("AdaSplit has the best")]
    assert best.verdict == "holds, though AdaSplit (κ=0.3, η=0.6) is within two std of it" and best.ours_std > 0
    values["adasplit"] = [95.0, 95.5, 96.0]
    records = {p.run.name: (p.run.name, _log_record(p.seed, values[p.row.name][p.seed], 3.0, 2.38)) for p in planned}
    (best,) = [c for c in build_report(config, planned, records).claims if c.claim.startswith("AdaSplit has the best")]
    assert best.verdict == "holds"


def test_a_best_of_claim_lost_by_a_hair_prints_digits_enough_to_tell_the_two_apart():
    config, planned = plan_suite("adasplit-table2", seeds=[0], rows=["fedavg", "adasplit", "adasplit-kappa0.3"])
    values = {"fedavg": 60.0, "adasplit": 90.0, "adasplit-kappa0.3": 90.004}  # the same costs: C3 differs in the 5th digit
    records = {p.run.name: (p.run.name, _log_record(p.seed, values[p.row.name], 3.0, 2.38)) for p in planned}
    (best,) = [c for c in build_report(config, planned, records).claims if c.claim.startswith("AdaSplit has the best")]
    better, ours = best.verdict.split("is better (")[1].rstrip(")").split(" against ")
    assert better != ours and float(better) > float(ours) == pytest.approx(best.ours, abs=1e-4)
    assert len(better) > len(f"{best.ours:.3g}")  # 3 digits would print the same number twice


def test_a_best_of_claim_with_rows_still_missing_holds_only_so_far():
    config, planned = plan_suite("adasplit-table2", seeds=[0], rows=["fedavg", "adasplit", "edgesplit"])
    values = {"fedavg": (60.0, 2.39, 11.77), "adasplit": (90.0, 3.0, 2.38)}  # EdgeSplit has not run yet
    records = {p.run.name: (p.run.name, _seed0_record(*values[p.row.name])) for p in planned if p.row.name in values}
    (best,) = [c for c in build_report(config, planned, records).claims if c.claim.startswith("AdaSplit has the best")]
    assert best.verdict == "holds so far: best of the 2 rows with a result; none yet for EdgeSplit (beside the paper)"


def test_a_row_run_with_a_numeric_execution_mode_says_so_in_the_report(tmp_path, exactly_one_thread):
    args = ["reproduce", "synthetic-quick", "--rows", "fedavg", "--seeds", "0", "--rounds", "1", "-o", str(tmp_path)]
    result = cli.invoke(app, [*args, "-q", "--flush-denormal", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("*.json")
    assert load_record(path)["execution"]["flush_denormal"] is True
    assert "run with --flush-denormal" in result.stdout
    plain = cli.invoke(app, [*args[:-1], str(tmp_path / "plain"), "-q", "--format", "json"])
    assert json.loads(plain.stdout)[0]["rows"][0]["modes"] == []
    # the flushed record is read by a report without the flag, never taken as a plain run's work
    report = cli.invoke(app, [*args, "--report", "--format", "json"])
    assert report.exit_code == 0 and json.loads(report.stdout)[0]["rows"][0]["modes"] == ["--flush-denormal"]
    rerun = cli.invoke(app, [*args, "-q"])
    assert rerun.exit_code == 2 and "finished with --flush-denormal" in rerun.stderr and "--out" in rerun.stderr


def test_reproduce_of_several_suites_refuses_another_modes_record_before_any_trains(tmp_path, exactly_one_thread):
    """`reproduce A B`: B's finished record in another mode stops the command (exit 2) before A trains,
    not hours later after A has run."""
    flushed = cli.invoke(app, ["reproduce", "synthetic-quick", "--rows", "fedavg", "--seeds", "0", "--rounds", "1",
                               "-o", str(tmp_path / "out"), "-q", "--flush-denormal"])
    assert flushed.exit_code == 0, flushed.output
    study = tmp_path / "first.toml"
    study.write_text('name = "first"\nprotocol = "synthetic"\nrounds = 1\nbackbone = "simple-cnn"\nseeds = [0]\n'
                     '[protocol_params]\nnum_clients = 2\ntrain_per_client = 64\ntest_per_client = 32\n'
                     '[[runs]]\nmethod = "fedprox"\nname = "fedavg"\n')
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    both = cli.invoke(app, ["reproduce", str(study), "synthetic-quick", "--rows", "fedavg", "--seeds", "0",
                            "--rounds", "1", "-o", str(tmp_path / "out"), "-q"])
    assert both.exit_code == 2 and "finished with --flush-denormal" in both.stderr, both.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before
