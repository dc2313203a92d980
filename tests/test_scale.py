"""Costs that follow the clients a round samples, not the federation's size: the data digest hashes a
shared tensor once, round entries list only the clients that took part, a round writes only itself,
and a run killed at any write resumes to the same record."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from c3bench import round_log
from c3bench.cli import app
from c3bench.federation import ClientData, Federation, Normalization
from c3bench.results import (
    SCHEMA,
    SCHEMA_V1,
    canonical_json,
    comparable_round,
    load_record,
    seal,
    strip_volatile,
    write_record,
)
from c3bench.runner import Callbacks, Runner, checkpoint_path, resolve
from tests.conftest import REPO, require_data
from tests.helpers import run_tiny, tiny_spec
from tests.test_runner import _InterruptAfter

pytestmark = pytest.mark.usefixtures("one_thread")

NORM = Normalization((0.5,), (0.5,))


# ------------------------------------------------------------------------------------------ digest
class _CountingSha256:
    """hashlib.sha256, counting the bytes fed to it."""

    fed = 0

    def __init__(self, data: bytes = b""):
        self._h = hashlib.sha256()
        self.update(data)

    def update(self, data) -> None:
        _CountingSha256.fed += memoryview(data).nbytes
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _digest_v1(fed: Federation) -> str:
    """The digest records of schema /1 carry, as c3bench computed it then."""
    h = hashlib.sha256(f"classes={fed.num_classes}/augment={fed.augment}".encode())
    for client in fed.clients:
        h.update(f"{client.name}/norm={client.normalization.mean},{client.normalization.std}".encode())
        for name in ("x_train", "y_train", "x_test", "y_test", "x_val", "y_val"):
            t = getattr(client, name)
            if t is not None:
                h.update(f"{client.name}/{name}/{tuple(t.shape)}/{t.dtype}".encode())
                h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def _federation(n: int, shared_test: bool, seed: int = 0) -> Federation:
    g = torch.Generator().manual_seed(seed)
    test_x = torch.randint(0, 256, (400, 1, 16, 16), dtype=torch.uint8, generator=g)
    test_y = torch.randint(0, 10, (400,), generator=g)
    clients = []
    for i in range(n):
        x = torch.randint(0, 256, (3, 1, 16, 16), dtype=torch.uint8, generator=g)
        y = torch.randint(0, 10, (3,), generator=g)
        tx, ty = (test_x, test_y) if shared_test else (test_x[:8].clone(), test_y[:8].clone())
        clients.append(ClientData(x, y, tx, ty, NORM, name=f"client{i}"))
    return Federation(clients, num_classes=10)


def test_the_digest_hashes_a_test_set_shared_by_every_client_once(monkeypatch):
    monkeypatch.setattr("c3bench.federation.hashlib", types.SimpleNamespace(sha256=_CountingSha256))
    shared_bytes = 400 * 16 * 16 + 400 * 8
    for n in (2, 200):
        fed = _federation(n, shared_test=True)
        _CountingSha256.fed = 0
        value = fed.digest()
        own_bytes = n * (3 * 16 * 16 + 3 * 8)
        assert shared_bytes + own_bytes <= _CountingSha256.fed < shared_bytes + own_bytes + n * 400  # + names
        assert value != _digest_v1(fed)  # a new value where clients share a tensor (documented)
        assert fed.digest(repeat_shared=True) == _digest_v1(fed)  # /1's value, for /1 records


def test_the_digest_keeps_the_value_records_carry_where_no_tensor_is_shared():
    fed = _federation(5, shared_test=False)
    assert fed.digest() == _digest_v1(fed) == fed.digest(repeat_shared=True)
    other = _federation(5, shared_test=True)
    changed = _federation(5, shared_test=True)
    changed.clients[0].x_test[0, 0, 0, 0] ^= 1  # one bit of the shared test set
    assert changed.digest() != other.digest()


# ------------------------------------------------------------------------------------------ round entries
def test_round_entries_list_only_the_clients_that_took_part(tmp_path):
    record = run_tiny(tmp_path, num_clients="10", train_per_client="16", test_per_client="8",
                      sample_fraction="0.2", rounds=2)
    for entry in record["rounds"]:
        assert entry["clients"] == entry["extra"]["selected"] and len(entry["per_client"]) == 2
        assert all(c["samples"] == 16 and c["messages_up"] == 1 for c in entry["per_client"])
    assert record["totals"]["samples"] == 2 * 2 * 16
    assert load_record(tmp_path / f"{record['name']}.json")["totals"] == record["totals"]
    everyone = run_tiny(tmp_path / "all", rounds=1)  # every client took part: no list, as in schema /1
    assert "clients" not in everyone["rounds"][0] and len(everyone["rounds"][0]["per_client"]) == 2


def _shared_test_run(out: Path, clients: int) -> dict:
    run = resolve(tiny_spec(num_clients=str(clients), train_per_client="8", test_per_client="32",
                            sample_fraction=str(2 / clients), rounds=2))
    fed = run.protocol_cls().build(run.protocol_params, 0, None)
    for client in fed.clients[1:]:  # a global test set: the same tensors for every client
        client.x_test, client.y_test = fed.clients[0].x_test, fed.clients[0].y_test
    return Runner(run, out, federation=fed).execute()


def test_a_round_entry_does_not_grow_with_the_federation(tmp_path):
    small, large = _shared_test_run(tmp_path / "10", 10), _shared_test_run(tmp_path / "200", 200)
    for record in (small, large):
        accuracy = record["rounds"][-1]["accuracy"]
        assert set(accuracy) == {"mean", "all_clients"} and accuracy["mean"] == pytest.approx(accuracy["all_clients"])
        assert record["totals"]["accuracy_all_clients"] == accuracy["all_clients"]
        assert len(record["rounds"][-1]["per_client"]) == 2
    sizes = [len(canonical_json(strip_volatile(r["rounds"][-1]))) for r in (small, large)]
    assert sizes[1] < 1.2 * sizes[0], sizes  # schema /1 would list 200 accuracies and 200 clients' counters
    entry = comparable_round(large["rounds"][-1], 200)  # every client's accuracy, when a reader needs them
    assert len(entry["accuracy"]["per_client"]) == 200 and entry["clients"] == large["rounds"][-1]["clients"]


def test_committed_records_of_schema_1_still_load():
    """The boards hold records of schema /1 (made before /2) beside new ones: every one loads."""
    schemas = []
    for path in sorted((REPO / "leaderboards").glob("*/entries/*.json")):
        record = load_record(path)
        assert record["schema"] in (SCHEMA_V1, SCHEMA) and record["rounds"], path
        schemas.append(record["schema"])
    assert SCHEMA_V1 in schemas, "no board entry of schema /1 is left: this test no longer tests anything"


# ------------------------------------------------------------------------------------------ writing
def test_a_record_written_round_by_round_is_the_record_written_once_at_the_end(tmp_path, monkeypatch):
    made: list[dict] = []
    seen: list[int] = []
    train_round = Runner._train_round

    def capture(self, *args, **kwargs):
        entry = train_round(self, *args, **kwargs)
        made.append(json.loads(json.dumps(entry)))
        return entry

    class Watch(Callbacks):
        def on_round(self, entry):  # mid-run, the result file reads as the rounds so far
            live = load_record(result)
            assert live["status"] == "running" and live["rounds"] == made
            seen.append(len(live["rounds"]))

    monkeypatch.setattr(Runner, "_train_round", capture)
    run = resolve(tiny_spec(rounds=4, num_clients="3", sample_fraction="0.67"))
    result = tmp_path / "out" / f"{run.name}.json"
    record = Runner(run, tmp_path / "out", Watch()).execute()
    assert seen == [1, 2, 3, 4] and record["status"] == "completed"
    once = write_record(tmp_path / "once.json", {**{k: v for k, v in record.items() if k != "digest"},
                                                 "rounds": made})
    assert result.read_bytes() == (tmp_path / "once.json").read_bytes() and once == record
    assert not round_log.log_path(result).exists() and not checkpoint_path(tmp_path / "out", run.name).exists()


# ------------------------------------------------------------------------------------------ kill -9
KILLED_RUN = """
import os, signal, sys
sys.path.insert(0, {repo!r})
import torch
torch.set_num_threads(1)
from c3bench import round_log
from c3bench.runner import Runner, resolve
from tests.helpers import tiny_spec

point, at = {point!r}, {at}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

append, header, save = round_log.append, Runner._write_header, Runner._save_checkpoint

def after_append(path, entry):
    kept = append(path, entry)
    if point == "after-append" and entry["round"] == at:
        die()
    return kept

def torn_append(path, entry):
    if entry["round"] == at:
        with open(path, "ab") as fh:
            fh.write(round_log.canonical_json(entry).encode()[:50])
        die()
    return append(path, entry)

def after_header(self, record):
    header(self, record)
    die()

def after_checkpoint(self, ctx, method, rounds):
    save(self, ctx, method, rounds)
    if rounds == at:
        die()

def before_final(self, record):
    die()

round_log.append = torn_append if point == "torn-append" else after_append
if point == "after-header":
    Runner._write_header = after_header
if point == "after-checkpoint":
    Runner._save_checkpoint = after_checkpoint
if point == "before-final":
    Runner._write_record = before_final
Runner(resolve(tiny_spec(**{spec!r})), {out!r}).execute(overwrite=True)
"""

KILL_SPEC = {"rounds": 3, "seed": 1, "num_clients": "3", "sample_fraction": "0.67"}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    return Runner(resolve(tiny_spec(**KILL_SPEC)), tmp_path_factory.mktemp("whole")).execute()


@pytest.mark.parametrize(("point", "at", "logged"), [
    ("after-checkpoint", 2, 2),  # between two rounds' appends
    ("after-append", 2, 2),  # round 2 logged, its checkpoint not written: round 2 is run again
    ("torn-append", 3, 2),  # killed in the middle of round 3's line
    ("after-header", 1, 1),  # round 1 logged and the header written, the checkpoint still at 0
    ("before-final", 3, 3),  # every round done, the record not yet sealed
])
def test_a_run_killed_at_any_write_resumes_to_the_identical_record(tmp_path, uninterrupted, point, at, logged):
    out = tmp_path / "out"
    script = KILLED_RUN.format(repo=str(REPO), point=point, at=at, spec=KILL_SPEC, out=str(out))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    result = out / f"{uninterrupted['name']}.json"
    live = load_record(result)  # what a reader sees of the killed run: the rounds its log holds
    assert live["status"] == "running" and len(live["rounds"]) >= logged
    assert strip_volatile(live["rounds"][:logged]) == strip_volatile(uninterrupted["rounds"][:logged])

    class Watch(Callbacks):  # while it resumes, the result file reads as the rounds so far
        def on_round(self, entry):
            rounds = load_record(result)["rounds"]
            assert strip_volatile(rounds) == strip_volatile(uninterrupted["rounds"][:entry["round"]])

    resumed = Runner(resolve(tiny_spec(**KILL_SPEC)), out, Watch()).execute(resume=True)
    assert resumed["status"] == "completed"
    assert strip_volatile({k: v for k, v in resumed.items() if k != "environment"}) == \
        strip_volatile({k: v for k, v in uninterrupted.items() if k != "environment"})
    assert json.loads(result.read_text()) == resumed


def test_a_checkpoint_of_an_earlier_c3bench_which_held_the_record_resumes(tmp_path):
    full = run_tiny(tmp_path / "full", rounds=3, seed=1)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_tiny(out, callbacks=_InterruptAfter(1), rounds=3, seed=1)
    (result,) = out.glob("*.json")
    checkpoint = next((out / ".checkpoints").glob("*.pt"))
    old = {k: v for k, v in load_record(result).items() if k != "digest"}
    old.update(schema=SCHEMA_V1, status="running")  # what the runner of schema /1 left after round 1
    state = torch.load(checkpoint, weights_only=False)
    del state["rounds"]
    state["record"] = old
    torch.save(state, checkpoint)
    result.write_text(json.dumps(seal(old), indent=1, sort_keys=True))
    round_log.log_path(result).unlink()
    resumed = run_tiny(out, resume=True, rounds=3, seed=1)
    assert resumed["status"] == "completed" and resumed["schema"] == full["schema"]
    assert strip_volatile(resumed["rounds"]) == strip_volatile(full["rounds"])


# ------------------------------------------------------------------------------------------ validation
def test_a_federation_too_large_to_partition_is_refused_before_any_work(tmp_path):
    data = require_data("CIFAR-10-images")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "-m", "fedavg", "-p", "niid-bench", "--set", "num_clients=10000",
                                      "--data-root", str(data), "-q", "-o", str(out)])
    assert result.exit_code == 2 and "cannot give 10000 clients at least 10" in result.stderr, result.output
    assert not out.exists() or not list(out.rglob("*.json"))
