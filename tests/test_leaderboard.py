"""Leaderboards: submit files honest records and refuses tampered or mismatched ones; check recomputes
every number from the per-round logs and names the file and field of any edit."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.leaderboard import SubmissionError, check, find_boards, new_board, submit
from c3bench.results import load_record, seal
from c3bench.score import c3_score
from tests.helpers import TINY, run_tiny

REPO = Path(__file__).resolve().parent.parent
BMAX, CMAX = 0.05, 0.01


@pytest.fixture(scope="module")
def result_files(tmp_path_factory) -> list[Path]:
    """FedAvg with three seeds and FedProx with one: real 1-round runs."""
    out = tmp_path_factory.mktemp("lb-results")
    for seed in (0, 1, 2):
        run_tiny(out, rounds=1, seed=seed)
    run_tiny(out, method="fedprox", rounds=1, seed=0)
    return sorted(out.glob("*.json"))


@pytest.fixture
def board_dir(tmp_path) -> Path:
    new_board(tmp_path / "boards", "synthetic", BMAX, CMAX, 8.0, "c3bench", dict(TINY))
    return tmp_path / "boards"


def _edit(src: Path, dst: Path, change, reseal: bool = True) -> Path:
    record = json.loads(src.read_text())
    change(record)
    dst.write_text(json.dumps(seal(record) if reseal else record, indent=1))
    return dst


def _fields(exc_info) -> set[str]:
    return {p.field for p in exc_info.value.problems}


def test_submit_files_entries_and_ranks_by_fixed_budgets(result_files, board_dir):
    report = submit(result_files, board_dir)
    board = find_boards(board_dir)["synthetic"]
    assert sorted(p.name for p in board.entries_dir.iterdir()) == sorted(f.name for f in result_files)
    readme = board.readme.read_text()
    records = [load_record(f) for f in result_files]
    fedavg = [r for r in records if r["config"]["method"] == "fedavg"]
    acc = statistics.fmean(r["totals"]["accuracy"] for r in fedavg)
    gb = statistics.fmean(r["totals"]["bytes_total"] for r in fedavg) / 1e9
    tf = statistics.fmean(r["totals"]["client_flops"] for r in fedavg) / 1e12
    row = next(line for line in readme.splitlines() if line.startswith("| ") and "| fedavg |" in line)
    cells = row.strip("| ").split(" | ")
    assert cells[4] == "3" and cells[5] == f"{c3_score(acc, gb, tf, BMAX, CMAX, 8.0):.4f}"
    assert cells[6].startswith(f"{acc:.2f} ± ") and cells[7] == f"{gb:.4g}" and cells[11] == "completed"
    prox = next(line for line in readme.splitlines() if "| fedprox |" in line)
    assert "provisional (1 of 3 seeds)" in prox
    assert board.figure.read_bytes().startswith(b"\x89PNG")
    assert check(board_dir)[1] == []
    # the same files again change nothing; scores do not depend on what else is on the board
    again = submit(result_files[:1], board_dir)
    assert again.filed == [] and len(again.unchanged) == 1 and board.readme.read_text() == readme
    assert len(report.filed) == len(result_files)


def test_submit_refuses_tampered_and_mismatched_records(result_files, board_dir, tmp_path):
    src = result_files[0]
    cases = {
        # an edited total, digest recomputed: the per-round log no longer gives it
        "totals.bytes_total": lambda r: r["totals"].__setitem__("bytes_total", r["totals"]["bytes_total"] - 1000),
        # an edited per-client count, digest recomputed: the cumulative counters no longer add up
        "rounds[0].cumulative.bytes_up": lambda r: r["rounds"][0]["per_client"][0].__setitem__(
            "bytes_up", r["rounds"][0]["per_client"][0]["bytes_up"] - 8),
        "config.protocol_hash": lambda r: r["config"].__setitem__("protocol_hash", "0" * 64),
        "status": lambda r: r.__setitem__("status", "interrupted"),
    }
    for field, change in cases.items():
        bad = _edit(src, tmp_path / "bad.json", change)
        with pytest.raises(SubmissionError) as exc_info:
            submit([bad], board_dir)
        assert field in _fields(exc_info), (field, exc_info.value.problems)
    # edited without recomputing the digest
    plain = _edit(src, tmp_path / "plain.json", lambda r: r["totals"].__setitem__("accuracy", 99.0), reseal=False)
    with pytest.raises(SubmissionError, match="digest mismatch"):
        submit([plain], board_dir)
    # one refused record means nothing is filed, not even the good ones
    with pytest.raises(SubmissionError):
        submit([result_files[1], plain], board_dir)
    assert not list(find_boards(board_dir)["synthetic"].entries_dir.glob("*.json"))


def test_submit_enforces_the_boards_protocol_parameters(result_files, tmp_path):
    new_board(tmp_path / "strict", "synthetic", BMAX, CMAX, 8.0, "c3bench", {**TINY, "num_clients": "3"})
    with pytest.raises(SubmissionError) as exc_info:
        submit(result_files[:1], tmp_path / "strict")
    assert {p.field for p in exc_info.value.problems} == {"config.protocol_params.num_clients"}


def test_an_entry_over_a_budget_is_filed_scored_and_marked(result_files, tmp_path):
    # the paper's own SL baselines exceed Mixed-CIFAR's Bmax: cost is not misconduct
    new_board(tmp_path / "tight", "synthetic", 1e-4, CMAX, 8.0, "c3bench", dict(TINY))
    report = submit(result_files[:1], tmp_path / "tight")
    assert len(report.filed) == 1
    board = find_boards(tmp_path / "tight")["synthetic"]
    record = load_record(result_files[0])
    row = next(line for line in board.readme.read_text().splitlines() if "| fedavg |" in line)
    assert "over budget (bandwidth)" in row
    c3 = c3_score(record["totals"]["accuracy"], record["totals"]["bytes_total"] / 1e9,
                  record["totals"]["client_flops"] / 1e12, 1e-4, CMAX)
    assert f"{c3:.4f}" in row
    assert check(tmp_path / "tight")[1] == []


def test_check_catches_edited_entries_and_readme(result_files, board_dir):
    submit(result_files, board_dir)
    board = find_boards(board_dir)["synthetic"]
    entry = sorted(board.entries_dir.glob("fedavg*.json"))[0]
    pristine_entry, pristine_readme = entry.read_text(), board.readme.read_text()

    _edit(entry, entry, lambda r: r["totals"].__setitem__("accuracy", r["totals"]["accuracy"] + 5))
    problems = check(board_dir)[1]
    assert [(p.file, p.field) for p in problems] == [(str(entry), "totals.accuracy")]

    entry.write_text(pristine_entry.replace('"bytes_total": ', '"bytes_total": 1', 1))
    assert any(p.file == str(entry) and "digest mismatch" in p.message for p in check(board_dir)[1])

    entry.write_text(pristine_entry)
    lines = pristine_readme.splitlines()
    i = next(k for k, line in enumerate(lines) if "| fedavg |" in line)
    cells = lines[i].split(" | ")
    cells[6] = "99.99 ± 0.00"
    lines[i] = " | ".join(cells)
    board.readme.write_text("\n".join(lines) + "\n")
    (problem,) = check(board_dir)[1]
    assert problem.file == str(board.readme) and "column 'accuracy (%)'" in problem.field and "99.99" in problem.message

    cli = CliRunner()
    result = cli.invoke(app, ["leaderboard", "check", "--board-dir", str(board_dir)])
    assert result.exit_code == 1 and "README.md" in result.stderr and "accuracy (%)" in result.stderr
    board.readme.write_text(pristine_readme)
    assert cli.invoke(app, ["leaderboard", "check", "--board-dir", str(board_dir)]).exit_code == 0


def test_submit_command_exit_codes(result_files, board_dir, tmp_path):
    cli = CliRunner()
    bad = _edit(result_files[0], tmp_path / "bad.json", lambda r: r["config"].__setitem__("protocol_hash", "f" * 64))
    refused = cli.invoke(app, ["submit", str(bad), "--board-dir", str(board_dir)])
    assert refused.exit_code == 1 and "config.protocol_hash" in refused.stderr and "nothing was filed" in refused.stderr
    accepted = cli.invoke(app, ["submit", *map(str, result_files), "--board-dir", str(board_dir)])
    assert accepted.exit_code == 0 and accepted.stdout.count("entries/") == len(result_files)


def test_the_repositorys_boards_pass_the_check(tmp_path):
    """What CI runs: every committed board agrees with its entries' per-round logs."""
    boards, problems = check(REPO / "leaderboards")
    assert "synthetic" in boards and problems == []
    copy = tmp_path / "leaderboards"
    shutil.copytree(REPO / "leaderboards", copy)
    (entry,) = sorted((copy / "synthetic" / "entries").glob("*.json"))[:1]
    _edit(entry, entry, lambda r: r["rounds"][-1]["accuracy"].__setitem__("mean", 100.0))
    assert any(p.field.endswith("].accuracy.mean") for p in check(copy)[1])
