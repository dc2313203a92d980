"""The runner: budgets stop at the right round, seeds reproduce, Ctrl-C leaves a resumable record."""

from __future__ import annotations

import json

import pytest

from c3bench.accounting import Budgets
from c3bench.hparams import ConfigError
from c3bench.results import ResultError, load_record, strip_volatile
from c3bench.runner import Callbacks, RunSpec, resolve
from tests.helpers import run_tiny


def _round_bytes(record):
    return record["rounds"][0]["cumulative"]["bytes_total"]


def test_bandwidth_budget_stops_before_the_round_that_would_exceed_it(tmp_path):
    full = run_tiny(tmp_path / "a", rounds=4)
    per_round = _round_bytes(full)
    stopped = run_tiny(tmp_path / "b", rounds=4, budgets=Budgets(bandwidth_bytes=2.5 * per_round))
    assert stopped["status"] == "budget-stopped"
    assert len(stopped["rounds"]) == 2
    assert stopped["budget_stop"]["round"] == 3 and stopped["budget_stop"]["what"] == "bandwidth"
    assert stopped["totals"]["bytes_total"] == 2 * per_round <= 2.5 * per_round
    # the rolled-back round left no trace: the two rounds equal the unbudgeted run's first two
    assert strip_volatile(stopped["rounds"]) == strip_volatile(full["rounds"][:2])


def test_compute_budget_stops_on_client_flops(tmp_path):
    full = run_tiny(tmp_path / "a", rounds=3)
    per_round = full["rounds"][0]["cumulative"]["client_flops"]
    stopped = run_tiny(tmp_path / "b", rounds=3, budgets=Budgets(client_flops=1.5 * per_round))
    assert stopped["status"] == "budget-stopped" and len(stopped["rounds"]) == 1
    assert stopped["budget_stop"]["what"] == "client compute"


def test_same_seed_gives_identical_records_apart_from_timings(tmp_path):
    a = run_tiny(tmp_path / "a", rounds=2, seed=3)
    b = run_tiny(tmp_path / "b", rounds=2, seed=3)
    c = run_tiny(tmp_path / "c", rounds=2, seed=4)
    assert strip_volatile(a) == strip_volatile(b)
    assert a["rounds"][-1]["accuracy"] == b["rounds"][-1]["accuracy"]
    assert strip_volatile(a["rounds"]) != strip_volatile(c["rounds"])


class _InterruptAfter(Callbacks):
    def __init__(self, rounds: int):
        self.rounds = rounds

    def on_round(self, entry):
        if entry["round"] == self.rounds:
            raise KeyboardInterrupt


def test_interrupted_run_leaves_a_valid_record_and_resume_matches_an_uninterrupted_run(tmp_path):
    full = run_tiny(tmp_path / "full", rounds=3, seed=1)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_tiny(out, callbacks=_InterruptAfter(1), rounds=3, seed=1)
    (partial,) = out.glob("*.json")
    record = load_record(partial)
    assert record["status"] == "interrupted" and len(record["rounds"]) == 1
    resumed = run_tiny(out, resume=True, rounds=3, seed=1)
    assert resumed["status"] == "completed"
    assert strip_volatile(resumed["rounds"]) == strip_volatile(full["rounds"])
    assert resumed["totals"]["bytes_total"] == full["totals"]["bytes_total"]
    assert not list((out / ".checkpoints").glob("*.pt"))  # cleaned up when done


def test_resume_without_a_partial_run_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="nothing to resume"):
        run_tiny(tmp_path, resume=True)


def test_a_finished_run_is_returned_not_rerun_and_an_unfinished_one_is_not_overwritten(tmp_path):
    from c3bench.runner import Runner
    from tests.helpers import tiny_spec

    first = run_tiny(tmp_path, rounds=1)
    runner = Runner(resolve(tiny_spec(rounds=1)), tmp_path)
    again = runner.execute()
    assert runner.reused and again["digest"] == first["digest"]
    with pytest.raises(KeyboardInterrupt):
        run_tiny(tmp_path / "cut", callbacks=_InterruptAfter(1), rounds=3)
    with pytest.raises(ConfigError, match="interrupted after round 1 of 3.*--resume"):
        Runner(resolve(tiny_spec(rounds=3)), tmp_path / "cut").execute()


def test_a_tampered_record_is_refused(tmp_path):
    record = run_tiny(tmp_path, rounds=1)
    path = tmp_path / f"{record['name']}.json"
    data = json.loads(path.read_text())
    data["totals"]["accuracy"] = 99.9
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match="digest mismatch"):
        load_record(path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (RunSpec("fedav", "synthetic"), "Did you mean 'fedavg'"),
        (RunSpec("fedavg", "synthetik"), "Did you mean 'synthetic'"),
        (RunSpec("fedavg", "synthetic", overrides={"lr_rate": "1"}), "Did you mean 'lr'"),
        (RunSpec("fedavg", "synthetic", overrides={"lr": "fast"}), "bad value for 'lr'"),
        (RunSpec("fedavg", "synthetic", overrides={"optimizer": "adamw"}), "choose one of adam, sgd"),
        (RunSpec("fedavg", "synthetic", overrides={"num_clients": "0"}), "below the minimum"),
        (RunSpec("fedavg", "synthetic", rounds=0), "between 1 and"),
        (RunSpec("fedavg", "synthetic", backbone="resnet9000"), "unknown backbone"),
        (RunSpec("fedavg", "synthetic", budgets=Budgets(bandwidth_bytes=-1)), "must be a positive"),
    ],
)
def test_bad_configuration_is_rejected_before_any_work(spec, message):
    with pytest.raises(ConfigError, match=message):
        resolve(spec)


def test_record_carries_config_environment_and_both_conventions(tmp_path):
    record = run_tiny(tmp_path, rounds=1, seed=7)
    cfg = record["config"]
    assert cfg["seed"] == 7 and cfg["method"] == "fedavg" and cfg["protocol"] == "synthetic"
    assert len(cfg["protocol_hash"]) == 64 and cfg["method_params"]["lr"] == pytest.approx(3.3e-4)
    env = record["environment"]
    assert {"c3bench", "git_commit", "torch", "python", "platform", "cpu"} <= set(env)
    rnd = record["rounds"][0]
    assert {"bytes_up", "bytes_down", "paper_bytes_total", "client_flops", "client_fwd_macs",
            "server_flops", "server_fwd_macs"} <= set(rnd["cumulative"])
    assert rnd["cumulative"]["client_fwd_macs"] * 2 < rnd["cumulative"]["client_flops"]
    assert len(rnd["accuracy"]["per_client"]) == 2
    assert set(record["conventions"]) == {"bytes", "paper_bytes", "flops", "fwd_macs", "not_counted"}
    assert "Evaluation" in record["conventions"]["not_counted"]
    assert record["command"].startswith("c3bench run -m fedavg -p synthetic --rounds 1 --seed 7")
    assert "lr" in record["hparams"]["defaults"] and record["execution"]["client_workers"] == 1


def test_a_test_set_shared_by_clients_deploying_one_model_is_evaluated_once():
    import torch

    from c3bench.runner import evaluate
    from tests.test_split import _method

    for name, expected_calls in (("fedavg", 1), ("splitfed", 2)):
        method, ctx = _method(name)
        shared = ctx.federation.clients[0]
        for client in ctx.federation.clients[1:]:
            client.x_test, client.y_test = shared.x_test, shared.y_test
        calls = []
        predict = method.predict
        method.predict = lambda i, x, predict=predict, calls=calls: calls.append(i) or predict(i, x)
        accuracies = evaluate(method, ctx.federation, torch.device("cpu"))
        assert len(calls) == expected_calls  # 32 test images: one batch per evaluation
        assert accuracies.evaluations == expected_calls
        per_client = accuracies.per_client
        assert len(per_client) == 2 and (name != "fedavg" or per_client[0] == per_client[1])
        # one evaluation served both clients: the round entry holds it once
        assert ("all_clients" in accuracies.entry()) == (name == "fedavg")


# ------------------------------------------------------------------------------------------ --flush-denormal
SUBNORMAL = 1e-39  # below float32's smallest normal (1.18e-38)


def _flushed() -> bool:
    """Whether this thread computes subnormals as zero right now (observed, not asked)."""
    import torch

    return float(torch.tensor([SUBNORMAL]) * 1.0) == 0.0


class _ObserveMode(Callbacks):
    def __init__(self):
        self.seen: list[bool] = []

    def on_round(self, entry):
        self.seen.append(_flushed())


def test_a_flush_denormal_run_computes_subnormals_as_zero_and_says_so(tmp_path, exactly_one_thread):
    from c3bench.verify import spec_of

    observer = _ObserveMode()
    record = run_tiny(tmp_path, callbacks=observer, method="sl-basic", flush_denormal=True)
    assert observer.seen == [True, True] and not _flushed()  # on for every round, off again after
    assert record["execution"]["flush_denormal"] is True and record["command"].endswith("--flush-denormal")
    assert spec_of(record).flush_denormal and resolve(spec_of(record)).name == record["name"]
    plain = _ObserveMode()
    assert "flush_denormal" not in run_tiny(tmp_path / "plain", callbacks=plain, method="sl-basic")["execution"]
    assert plain.seen == [False, False]


def test_flush_denormal_is_refused_where_it_would_not_mean_what_the_record_says(tmp_path, exactly_one_thread):
    import torch

    from tests.helpers import tiny_spec

    with pytest.raises(ConfigError, match="drop --client-workers"):
        resolve(tiny_spec(flush_denormal=True, client_workers=2))
    with pytest.raises(ConfigError, match="CPU mode"):
        resolve(RunSpec(method="fedavg", protocol="synthetic", device="cuda", flush_denormal=True))
    torch.set_num_threads(2)
    try:
        with pytest.raises(ConfigError, match="--threads 1"):
            run_tiny(tmp_path / "two", flush_denormal=True)
    finally:
        torch.set_num_threads(1)
    assert not (tmp_path / "two").exists() and not _flushed()


def test_a_run_resumes_only_in_the_mode_it_was_started_in(tmp_path, exactly_one_thread):
    with pytest.raises(KeyboardInterrupt):
        run_tiny(tmp_path, callbacks=_InterruptAfter(1), rounds=3, flush_denormal=True)
    with pytest.raises(ConfigError, match="resume it with it too"):
        run_tiny(tmp_path, resume=True, rounds=3)
    assert run_tiny(tmp_path, resume=True, rounds=3, flush_denormal=True)["status"] == "completed"
