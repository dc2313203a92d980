"""Keeping what was trained and following runs where researchers look: `run --save-model` and
`c3bench.load_model`, the public callbacks with the TensorBoard tracker (read back with TensorBoard's
own reader), messages through Python logging (-v / -q), and what `run` prints and does when its
result already exists."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import c3bench
from c3bench import registry
from c3bench.cli import app
from c3bench.evaluation import client_accuracy

cli = CliRunner()
TINY = ["--set", "num_clients=3", "--set", "train_per_client=64", "--set", "test_per_client=32"]


def _run(out: Path, method: str = "fedavg", *extra: str):
    return cli.invoke(app, ["run", "-m", method, "-p", "synthetic", "--rounds", "2", "-o", str(out), *TINY, *extra])


@pytest.mark.parametrize(("method", "files"), [("fedavg", 1), ("adasplit", 3), ("splitfed", 1)])
def test_a_saved_model_loads_back_and_scores_the_records_accuracy(tmp_path, one_thread, method, files):
    result = _run(tmp_path, method, "-q", "--save-model")
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    record = json.loads(path.read_text())
    entries = record["models"]["files"]
    assert len(entries) == files  # FL: one global model; AdaSplit: a mask per client, so one model each
    assert sorted(c for e in entries for c in e["clients"]) == [0, 1, 2]
    for entry in entries:
        assert len(entry["sha256"]) == 64 and (tmp_path / entry["path"]).is_file()
    models = c3bench.load_model(path)
    cfg = record["config"]
    federation = registry.get_protocol(cfg["protocol"])().build(cfg["protocol_params"], cfg["seed"], None)
    scored = [client_accuracy(client, model, torch.device("cpu")) for client, model in zip(federation.clients, models,
                                                                                          strict=True)]
    assert scored == record["rounds"][-1]["accuracy"]["per_client"]  # the very models the record scored
    client = federation.clients[0]
    assert torch.equal(models[0].predict_images(client.x_test).argmax(1), models[0](
        (client.x_test.float() / 255 - models[0].mean) / models[0].std).argmax(1))


def test_saved_models_are_checked_against_their_sha256_and_a_run_without_them_says_so(tmp_path, one_thread):
    path = Path(_run(tmp_path, "fedavg", "-q", "--save-model").stdout.strip())
    record = c3bench.load(path)[0]
    model_file = tmp_path / record["models"]["files"][0]["path"]
    state = torch.load(model_file, weights_only=True)
    next(iter(state.values())).add_(1.0)
    torch.save(state, model_file)
    with pytest.raises(c3bench.results.ResultError, match="sha256"):
        c3bench.load_model(path)
    plain = Path(_run(tmp_path / "plain", "fedavg", "-q").stdout.strip())
    assert "models" not in json.loads(plain.read_text())  # records without --save-model are unchanged
    with pytest.raises(c3bench.results.ResultError, match="--save-model"):
        c3bench.load_model(plain)


def test_the_tensorboard_tracker_logs_every_round_and_the_config_read_back_by_tensorboard(tmp_path, one_thread):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    result = cli.invoke(app, ["run", "-m", "fedprox", "-p", "synthetic", "--rounds", "3", "-q", "-o",
                              str(tmp_path / "results"), "--set", "mu=0.3", *TINY, "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    record = json.loads(Path(result.stdout.strip()).read_text())
    (run_dir,) = (tmp_path / "tb").iterdir()
    assert run_dir.name == record["name"]
    events = EventAccumulator(str(run_dir))
    events.Reload()
    rounds = record["rounds"]
    for tag, read in (("accuracy/deployed", lambda e: e["accuracy"]["mean"]),
                      ("bytes/total", lambda e: e["cumulative"]["bytes_total"]),
                      ("flops/client", lambda e: e["cumulative"]["client_flops"]),
                      ("flops/server", lambda e: e["cumulative"]["server_flops"])):
        logged = [(s.step, s.value) for s in events.Scalars(tag)]
        assert [step for step, _ in logged] == [1, 2, 3], tag
        assert [v for _, v in logged] == pytest.approx([read(e) for e in rounds], rel=1e-6), tag
    hparams = {}
    for content in events.PluginTagToContent("hparams").values():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.HasField("session_start_info"):
            hparams = dict(data.session_start_info.hparams)
    assert hparams["method"].string_value == "fedprox" and hparams["method_params.mu"].number_value == 0.3
    assert hparams["protocol_params.num_clients"].number_value == 3 and hparams["rounds"].number_value == 3


def test_callbacks_are_public_and_see_every_round_in_order(tmp_path, one_thread):
    from c3bench.callbacks import Callbacks, round_metrics

    class Seen(Callbacks):
        def __init__(self):
            self.calls = []

        def on_start(self, run, start_round):
            self.calls.append(("start", run.name, start_round))

        def on_round(self, entry):
            self.calls.append(("round", entry["round"], round_metrics(entry)["accuracy"]))

        def on_end(self, record):
            self.calls.append(("end", record["status"]))

    seen = Seen()
    record = c3bench.run("fedavg", "synthetic", rounds=2, out=tmp_path, num_clients=2, train_per_client=64,
                         test_per_client=32, callbacks=[seen])
    assert seen.calls == [("start", record["name"], 0),
                          *(("round", e["round"], e["accuracy"]["mean"]) for e in record["rounds"]),
                          ("end", "completed")]


def test_messages_go_through_logging_so_q_and_v_and_handlers_work(tmp_path, one_thread):
    class Keep(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append((record.levelname, record.getMessage()))

    kept = Keep()
    logging.getLogger("c3bench").addHandler(kept)
    try:
        talkative = cli.invoke(app, ["run", "-m", "fedavg", "-p", "synthetic", "--rounds", "1", "-o", str(tmp_path / "a"),
                                     *TINY])
        assert talkative.exit_code == 0 and "completed: accuracy" in talkative.stderr
        assert any(level == "INFO" and text.startswith("completed: accuracy") for level, text in kept.messages)
        quiet = cli.invoke(app, ["-q", "run", "-m", "fedavg", "-p", "synthetic", "--rounds", "1", "-o",
                                 str(tmp_path / "b"), *TINY])
        assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout.strip().endswith(".json")
        refused = cli.invoke(app, ["-q", "run", "-m", "fedavgg", "-o", str(tmp_path / "c")])
        assert refused.exit_code == 2 and refused.stderr.startswith("error: unknown method 'fedavgg'")
        assert ("ERROR", refused.stderr.strip()[len("error: "):]) in kept.messages
    finally:
        logging.getLogger("c3bench").removeHandler(kept)
        logging.getLogger("c3bench").setLevel(logging.NOTSET)


def test_run_prints_its_result_path_and_a_finished_run_is_not_run_again(tmp_path, one_thread):
    first = _run(tmp_path, "fedavg", "-q")
    assert first.exit_code == 0, first.output
    (path,) = tmp_path.glob("*.json")
    assert first.stdout == f"{path}\n"
    before = path.stat().st_mtime_ns
    again = _run(tmp_path, "fedavg", "-q")
    assert again.exit_code == 0, again.output
    assert f"already completed: {path}" in again.stderr and again.stdout == f"{path}\n"
    assert path.stat().st_mtime_ns == before  # nothing was trained or written
    as_json = _run(tmp_path, "fedavg", "-q", "--json")
    assert json.loads(as_json.stdout)["digest"] == json.loads(path.read_text())["digest"]
    resumed = _run(tmp_path, "fedavg", "-q", "--resume")
    assert resumed.exit_code == 0 and "already completed" in resumed.stderr
    nothing = _run(tmp_path / "empty", "fedavg", "-q", "--resume")
    assert nothing.exit_code == 2 and "nothing to resume" in nothing.stderr and "without --resume" in nothing.stderr
