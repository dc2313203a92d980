"""Hostile input is normal: clear errors and exit code 2, never a traceback; nothing lost, nothing
written where it should not be; two runs never share a result; a killed sweep leaves no orphans."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.hparams import ConfigError
from c3bench.leaderboard import new_board
from c3bench.locks import RunLock
from c3bench.results import load_record, seal
from c3bench.runner import Runner, resolve
from tests.helpers import TINY, run_tiny, tiny_spec

pytestmark = pytest.mark.usefixtures("one_thread")

cli = CliRunner()
TINY_ARGS = ["--set", "num_clients=2", "--set", "train_per_client=32", "--set", "test_per_client=16"]




@pytest.fixture(scope="module")
def record_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("robust")
    run_tiny(out, rounds=2)
    (path,) = out.glob("*.json")
    return path


def _no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


# ------------------------------------------------------------------ records
def _mutations(record: dict, rng: random.Random):
    """Random deletions and type changes anywhere in the record (resealed, so the digest passes)."""
    def paths(obj, prefix=()):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield (*prefix, k)
                yield from paths(v, (*prefix, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj[:3]):
                yield (*prefix, i)
                yield from paths(v, (*prefix, i))
    candidates = list(paths(record))
    for _ in range(40):
        path = rng.choice(candidates)
        mutated = json.loads(json.dumps(record))
        parent = mutated
        for key in path[:-1]:
            parent = parent[key]
        kind = rng.choice(["delete", "string", "list", "null", "negative", "huge"])
        if kind == "delete":
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
        else:
            parent[path[-1]] = {"string": "x", "list": [1, "a"], "null": None, "negative": -7, "huge": 1e300}[kind]
        yield kind, path, seal(mutated) if "digest" in mutated else mutated


@pytest.mark.slow
def test_fuzzed_records_get_a_clear_error_never_a_traceback(record_file, tmp_path):
    record = json.loads(record_file.read_text())
    board = tmp_path / "boards"
    new_board(board, "synthetic", 1.0, 1.0, 8.0, "c3bench", dict(TINY))
    entries = board / "synthetic" / "entries"
    refused = 0
    for n, (kind, path, mutated) in enumerate(_mutations(record, random.Random(7))):
        bad = tmp_path / f"m{n}.json"
        bad.write_text(json.dumps(mutated))
        for command in (["score", str(bad)], ["show", str(bad)], ["submit", str(bad), "--board-dir", str(board)]):
            result = cli.invoke(app, command)
            _no_traceback(result)
            assert result.exit_code in (0, 1, 2), (command, kind, path, result.output)
        if cli.invoke(app, ["score", str(bad)]).exit_code == 2:
            refused += 1
        else:  # what was not refused is a usable record: the mutation hit a field no reader depends on
            load_record(bad)
        for f in entries.glob("*.json"):
            f.unlink()
        (entries / "bad.json").write_text(json.dumps(mutated))
        checked = cli.invoke(app, ["leaderboard", "check", "--board-dir", str(board)])
        _no_traceback(checked)
    assert refused >= 15  # about half the mutations break something a reader needs: each a clean exit 2
    nan = tmp_path / "nan.json"
    nan.write_text(record_file.read_text().replace('"wall_s": ', '"wall_s": NaN, "w": ', 1))
    r = cli.invoke(app, ["score", str(nan)])
    assert r.exit_code == 2 and "NaN is not a number a run can produce" in r.stderr


# ------------------------------------------------------------------ values on the command line
@pytest.mark.parametrize(("args", "message"), [
    (["--set", "lr=nan"], "not a finite number"),
    (["--set", "lr=inf"], "not a finite number"),
    (["--set", "lr=1e400"], "not a finite number"),
    (["--budget-bandwidth", "1e400GB"], "not a finite number"),
    (["--seed", "-1"], "[0, 2^32)"),
    (["--seed", "1234567890123456789012345"], "[0, 2^32)"),
    (["--set", "train_per_client=1000000000000"], "above the maximum"),
    (["--set", "train_per_client=1000000", "--set", "num_clients=1000"], "at most 2,000,000 are allowed"),
])
def test_bad_values_stop_before_any_work_with_exit_2(tmp_path, args, message):
    out = tmp_path / "out"
    result = cli.invoke(app, ["run", "-m", "fedavg", "-p", "synthetic", "-q", "-o", str(out), *TINY_ARGS, *args])
    _no_traceback(result)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not out.exists() or not list(out.rglob("*.json"))


def test_more_bad_values_exit_2(tmp_path, record_file):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    r = cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(a_file), *TINY_ARGS])
    assert r.exit_code == 2 and "is a file" in r.stderr and a_file.read_text() == "x"
    for args in (["-T", "nan"], ["--bmax", "nan"], ["--cmax", "inf"]):
        r = cli.invoke(app, ["score", str(record_file), *args])
        assert r.exit_code == 2 and "positive finite" in r.stderr
    r = cli.invoke(app, ["sweep", "-m", "fedavg", "--grid", "lr=nan", "-o", str(tmp_path / "s"), "--dry-run"])
    assert r.exit_code == 2 and "not a finite number" in r.stderr


# ------------------------------------------------------------------ files, locks and faults
def test_two_runs_on_one_name_the_second_is_refused(tmp_path):
    run = resolve(tiny_spec(rounds=1))
    with RunLock(tmp_path, run.name):  # a live run holds the name
        with pytest.raises(ConfigError, match="another c3bench run is writing"):
            Runner(run, tmp_path).execute()
    assert not list(tmp_path.glob("*.json"))
    assert Runner(run, tmp_path).execute()["status"] == "completed"  # free again


def test_stale_temporaries_are_cleaned_and_records_are_world_readable(tmp_path):
    run = resolve(tiny_spec(rounds=1))
    tmp_path.mkdir(exist_ok=True)
    stale = tmp_path / f".{run.name}.json.abc123.tmp"
    stale.write_text("{half")
    held = tmp_path / ".someone-else.json.def456.tmp"
    held.write_text("{being written")
    with RunLock(tmp_path, "someone-else"):
        Runner(run, tmp_path).execute()
    assert not stale.exists() and held.exists()  # a live run's temporary is left alone
    mode = (tmp_path / f"{run.name}.json").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_corrupt_checkpoint_names_its_file_and_says_force_restarts(tmp_path):
    from tests.test_runner import _InterruptAfter

    with pytest.raises(KeyboardInterrupt):
        run_tiny(tmp_path, callbacks=_InterruptAfter(1), rounds=2)
    (checkpoint,) = (tmp_path / ".checkpoints").glob("*.pt")
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"\.pt: cannot be read .* --force"):
        run_tiny(tmp_path, resume=True, rounds=2)


def test_interrupt_before_the_first_round_says_nothing_was_written(tmp_path, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(Runner, "build", interrupted)
    r = cli.invoke(app, ["run", "-m", "fedavg", "-o", str(tmp_path), *TINY_ARGS])
    assert r.exit_code == 130 and "nothing was written" in r.stderr
    assert not list(tmp_path.glob("*.json"))


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.slow
def test_a_killed_sweep_leaves_no_live_worker(tmp_path):
    command = [sys.executable, "-c", "from c3bench.cli import main; main()", "sweep", "-m", "fedavg,fedprox",
               "-p", "synthetic", "--seeds", "0-3", "-r", "50", "-j", "2", "-q", "-o", str(tmp_path),
               "--set", "train_per_client=400"]
    main = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[int] = []
    for _ in range(600):  # wait until both workers are training (their runs have checkpoints)
        workers = [c for c in _children(main.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="ignore")]
        if len(workers) == 2 and len(list((tmp_path / ".checkpoints").glob("*.pt"))) >= 2:
            break
        time.sleep(0.1)
    try:
        assert len(workers) == 2, "the sweep did not start its workers"
        os.kill(main.pid, signal.SIGKILL)
        main.wait(timeout=10)
        deadline = time.time() + 15
        while time.time() < deadline and any(Path(f"/proc/{w}").exists() and
                                              "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2] for w in workers):
            time.sleep(0.1)
        alive = [w for w in workers if Path(f"/proc/{w}").exists()
                 and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")]
        assert alive == [], f"workers {alive} outlived their sweep"
    finally:
        for w in workers:
            try:
                os.kill(w, signal.SIGKILL)
            except ProcessLookupError:
                pass
