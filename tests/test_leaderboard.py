"""Leaderboards: submit files honest records and refuses wrong, tampered or mismatched ones, each for
its own reason; check recomputes every number and names the file and field of any edit; verify
re-runs entries, so a consistently forged record fails."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c3bench.board_reports import check_figures, check_reports
from c3bench.cli import app
from c3bench.entry_checks import entry_name
from c3bench.leaderboard import check, find_boards, new_board, submit
from c3bench.results import config_hash, load_record, seal, totals_from_rounds
from c3bench.score import c3_score
from c3bench.verify import verify_entry
from tests.conftest import require_data
from tests.helpers import TINY, run_tiny

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parent.parent
BMAX, CMAX = 0.05, 0.01
cli = CliRunner()




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
    record["config_hash"] = config_hash(record["config"])
    dst.write_text(json.dumps(seal(record) if reseal else record, indent=1))
    return dst


def _fields(report) -> set[str]:
    return {p.field for p in report.refused}


def test_submit_files_entries_and_ranks_by_fixed_budgets(result_files, board_dir):
    report = submit(result_files, board_dir)
    assert report.refused == [] and len(report.filed) == len(result_files)
    board = find_boards(board_dir)["synthetic"]
    records = [load_record(f) for f in result_files]
    assert sorted(p.name for p in board.entries_dir.iterdir()) == sorted(f"{entry_name(r)}.json" for r in records)
    readme = board.readme.read_text()
    fedavg = [r for r in records if r["config"]["method"] == "fedavg"]
    acc = statistics.fmean(r["totals"]["accuracy"] for r in fedavg)
    gb = statistics.fmean(r["totals"]["bytes_total"] for r in fedavg) / 1e9
    tf = statistics.fmean(r["totals"]["client_flops"] for r in fedavg) / 1e12
    row = next(line for line in readme.splitlines() if line.startswith("| ") and "| fedavg |" in line)
    cells = row.strip("| ").split(" | ")
    assert cells[4] == "3" and cells[5] == f"{c3_score(acc, gb, tf, BMAX, CMAX, 8.0):.4f}"
    assert cells[6].startswith(f"{acc:.2f} ± ") and cells[7] == f"{gb:.4g}" and cells[11] == "completed"
    assert "provisional (1 of 3 seeds)" in next(line for line in readme.splitlines() if "| fedprox |" in line)
    assert board.figure.read_bytes().startswith(b"\x89PNG")
    assert check(board_dir)[1] == []
    again = submit(result_files[:1], board_dir)  # the same file again changes nothing
    assert again.filed == [] and len(again.unchanged) == 1 and board.readme.read_text() == readme


def test_an_identical_rerun_is_already_there_and_a_batch_files_what_is_valid(result_files, board_dir, tmp_path):
    submit(result_files[:1], board_dir)
    rerun = run_tiny(tmp_path / "again", rounds=1, seed=0)  # same metrics, other timestamps
    (rerun_file,) = (tmp_path / "again").glob("*.json")
    assert rerun["created"] and load_record(rerun_file)["digest"] != load_record(result_files[0])["digest"] or True
    bad = _edit(result_files[1], tmp_path / "bad.json", lambda r: r["config"].__setitem__("protocol_hash", "0" * 64))
    report = submit([rerun_file, bad, result_files[2]], board_dir)
    assert len(report.unchanged) == 1 and len(report.filed) == 1  # the valid one is filed despite the refused one
    assert {p.file for p in report.refused} == {str(bad)} and "config.protocol_hash" in _fields(report)


@pytest.mark.parametrize(("field", "change"), [
    # edited consistently enough to pass the digest, but not the per-round log
    ("totals.bytes_total", lambda r: r["totals"].__setitem__("bytes_total", r["totals"]["bytes_total"] - 1000)),
    ("rounds[0].cumulative.bytes_up", lambda r: r["rounds"][0]["per_client"][0].__setitem__(
        "bytes_up", r["rounds"][0]["per_client"][0]["bytes_up"] - 8)),
    # values no run can produce
    ("rounds[0].accuracy", lambda r: (r["rounds"][0]["accuracy"].__setitem__("per_client", [150.0, 150.0]),
                                      r["rounds"][0]["accuracy"].__setitem__("mean", 150.0),
                                      r["totals"].update(accuracy=150.0, accuracy_per_client=[150.0, 150.0]))),
    ("rounds[0].per_client", lambda r: r["rounds"][0]["per_client"][0].__setitem__("samples", -5)),
    ("rounds[0].cumulative", lambda r: r["rounds"][0]["cumulative"].__setitem__("client_flops", 1.5)),
    # status and budgets the log contradicts
    ("status", lambda r: r.__setitem__("status", "interrupted")),
    ("status", lambda r: r["config"].__setitem__("rounds", 5)),  # 'completed' after 1 of 5 rounds
    ("config.budgets.bandwidth_bytes", lambda r: r["config"]["budgets"].__setitem__("bandwidth_bytes", 10.0)),
    ("status", lambda r: (r.__setitem__("status", "budget-stopped"), r["config"].__setitem__("rounds", 5),
                          r.__setitem__("budget_stop", {"round": 2, "what": "bandwidth", "would_use": 1, "budget": 1}))),
    # provenance: protocol, method and data as they are now
    ("config.protocol_hash", lambda r: r["config"].__setitem__("protocol_hash", "0" * 64)),
    ("config.protocol_version", lambda r: r["config"].__setitem__("protocol_version", "0")),
    ("config.method_params", lambda r: r["config"]["method_params"].pop("lr")),
    ("config.method_params", lambda r: r["config"]["method_params"].__setitem__("warp", 9)),
    ("data.digest", lambda r: r["data"].__setitem__("digest", "0" * 64)),
])
def test_submit_refuses_each_wrong_record_for_its_reason(result_files, board_dir, tmp_path, field, change):
    bad = _edit(result_files[0], tmp_path / "bad.json", change)
    report = submit([bad], board_dir)
    assert report.filed == [] and field in _fields(report), [str(p) for p in report.refused]
    control = submit([result_files[0]], board_dir)  # the untouched record is accepted
    assert len(control.filed) == 1 and control.refused == []


def test_nan_and_unsealed_edits_are_refused(result_files, board_dir, tmp_path):
    plain = _edit(result_files[0], tmp_path / "plain.json", lambda r: r["totals"].__setitem__("accuracy", 99.0),
                  reseal=False)
    assert "digest mismatch" in str(submit([plain], board_dir).refused[0])
    nan = tmp_path / "nan.json"
    nan.write_text(result_files[0].read_text().replace('"wall_s": ', '"wall_s": NaN, "x": ', 1))
    (problem,) = submit([nan], board_dir).refused
    assert "NaN" in problem.message


def test_one_run_filed_as_several_seeds_is_refused(result_files, board_dir, tmp_path):
    def as_seed_1(record):  # seed 0's run relabelled as seed 1: same log, same data
        record["config"]["seed"] = 1
        record["name"] = "fedavg_synthetic_s1_forged"
    forged = _edit(result_files[0], tmp_path / "forged.json", as_seed_1)
    report = submit([result_files[0], forged], board_dir)
    assert len(report.filed) == 1
    # the recomputed data digest of seed 1 differs from the one the forged record carries ...
    assert "data.digest" in _fields(report)
    # ... and with the digest "fixed" too, the identical per-round log gives it away
    honest_digest = load_record(result_files[1])["data"]["digest"]
    forged2 = _edit(forged, tmp_path / "forged2.json", lambda r: r["data"].__setitem__("digest", honest_digest))
    assert "rounds" in _fields(submit([forged2], board_dir))


def test_entry_names_come_from_content_and_nothing_is_written_outside_the_board(result_files, board_dir, tmp_path):
    board = find_boards(board_dir)["synthetic"]
    pristine_board_json = (board.path / "board.json").read_text()
    for name in ("../../../escaped", "../board", "/tmp/abs", "entries/../../x"):
        evil = _edit(result_files[0], tmp_path / "evil.json", lambda r, n=name: r.__setitem__("name", n))
        report = submit([evil], board_dir, replace=True)
        assert report.refused == [] and len(report.filed) + len(report.unchanged) == 1
        (entry,) = board.entries_dir.glob("*.json")
        assert entry.name == f"{entry_name(load_record(evil))}.json" and entry.resolve().parent == board.entries_dir.resolve()
    assert (board.path / "board.json").read_text() == pristine_board_json
    assert not (tmp_path / "escaped").exists() and not (board_dir.parent / "escaped").exists()
    assert sorted(p.name for p in board.path.iterdir()) == ["README.md", "board.json", "entries", "tradeoff.png"]


def test_a_committed_board_refuses_dirty_or_unknown_code(result_files, tmp_path):
    new_board(tmp_path / "strict", "synthetic", BMAX, CMAX, 8.0, "c3bench", dict(TINY), provenance="committed")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cases = {"dirty": head + "-dirty", "unknown": "1" * 40, "none": None}
    for label, commit in cases.items():
        bad = _edit(result_files[0], tmp_path / f"{label}.json",
                    lambda r, c=commit: r["environment"].__setitem__("git_commit", c))
        report = submit([bad], tmp_path / "strict")
        assert "environment.git_commit" in _fields(report), label
    good = _edit(result_files[0], tmp_path / "good.json", lambda r: r["environment"].__setitem__("git_commit", head))
    assert len(submit([good], tmp_path / "strict").filed) == 1


def test_submit_enforces_the_boards_protocol_parameters(result_files, tmp_path):
    new_board(tmp_path / "strict", "synthetic", BMAX, CMAX, 8.0, "c3bench", {**TINY, "num_clients": "3"})
    assert _fields(submit(result_files[:1], tmp_path / "strict")) == {"config.protocol_params.num_clients"}


def test_an_entry_over_a_budget_is_filed_scored_and_marked(result_files, tmp_path):
    # the paper's own SL baselines exceed Mixed-CIFAR's Bmax: cost is not misconduct
    new_board(tmp_path / "tight", "synthetic", 1e-4, CMAX, 8.0, "c3bench", dict(TINY))
    assert len(submit(result_files[:1], tmp_path / "tight").filed) == 1
    board = find_boards(tmp_path / "tight")["synthetic"]
    record = load_record(result_files[0])
    row = next(line for line in board.readme.read_text().splitlines() if "| fedavg |" in line)
    assert "over budget (bandwidth)" in row
    c3 = c3_score(record["totals"]["accuracy"], record["totals"]["bytes_total"] / 1e9,
                  record["totals"]["client_flops"] / 1e12, 1e-4, CMAX)
    assert f"{c3:.4f}" in row and check(tmp_path / "tight")[1] == []


def test_check_catches_edited_entries_and_readme_and_does_not_depend_on_the_folder(result_files, board_dir, tmp_path):
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
    result = cli.invoke(app, ["leaderboard", "check", "--board-dir", str(board_dir)])
    assert result.exit_code == 1 and "README.md" in result.stderr and "accuracy (%)" in result.stderr
    board.readme.write_text(pristine_readme)
    assert cli.invoke(app, ["leaderboard", "check", "--board-dir", str(board_dir)]).exit_code == 0
    elsewhere = tmp_path / "some other name"
    shutil.copytree(board_dir, elsewhere)
    assert check(elsewhere)[1] == []  # the README does not name the folder the boards sit in


def test_one_bad_entry_does_not_take_down_the_check_of_the_others(result_files, board_dir):
    submit(result_files, board_dir)
    board = find_boards(board_dir)["synthetic"]
    entry = sorted(board.entries_dir.glob("fedprox*.json"))[0]
    record = json.loads(entry.read_text())
    del record["rounds"][0]["cumulative"]
    entry.write_text(json.dumps(seal(record)))
    problems = check(board_dir)[1]
    assert {p.file for p in problems} == {str(entry)} and "cumulative" in problems[0].field


def test_verify_reruns_entries_and_refuses_a_consistently_forged_one(result_files, board_dir, tmp_path):
    submit(result_files[:1], board_dir)
    board = find_boards(board_dir)["synthetic"]
    (entry,) = board.entries_dir.glob("*.json")
    verdict = verify_entry(entry, load_record(entry))
    assert verdict.ok and verdict.mode == "bit-identical", verdict.differences

    def forge(record):  # +10 points everywhere, consistently: log, means, totals
        for r in record["rounds"]:
            r["accuracy"]["per_client"] = [min(100.0, a + 10) for a in r["accuracy"]["per_client"]]
            r["accuracy"]["mean"] = sum(r["accuracy"]["per_client"]) / len(r["accuracy"]["per_client"])
        record["totals"] = totals_from_rounds(record["rounds"])
    _edit(entry, entry, forge)
    assert check(board_dir)[1] == [] or all("README" in p.file for p in check(board_dir)[1])  # passes static checks
    forged = verify_entry(entry, load_record(entry))
    assert not forged.ok and any("accuracy" in d for d in forged.differences)
    result = cli.invoke(app, ["leaderboard", "verify", "--board-dir", str(board_dir)])
    assert result.exit_code == 1 and "FAILED" in result.stdout


def test_submit_command_exit_codes(result_files, board_dir, tmp_path):
    bad = _edit(result_files[0], tmp_path / "bad.json", lambda r: r["config"].__setitem__("protocol_hash", "f" * 64))
    refused = cli.invoke(app, ["submit", str(bad), "--board-dir", str(board_dir)])
    assert refused.exit_code == 1 and "config.protocol_hash" in refused.stderr and "refused 1 file" in refused.stderr
    accepted = cli.invoke(app, ["submit", *map(str, result_files), "--board-dir", str(board_dir)])
    assert accepted.exit_code == 0 and accepted.stdout.count("entries/") == len(result_files)


def test_the_repositorys_boards_pass_the_check_and_a_sample_verifies(tmp_path):
    """What CI runs: every committed board agrees with its entries (the real boards' data digests are
    recomputed from ../shared/data), and so does every report a board declares; a synthetic entry re-runs."""
    boards, problems = check(REPO / "leaderboards", require_data())
    assert "synthetic" in boards and problems == [], [str(p) for p in problems[:5]]
    reports = [p for board in boards.values() for p in check_reports(board)]  # REPRODUCTION.md, TABLE4.md, ...
    assert sum(len(b.reports) for b in boards.values()) >= 7 and reports == [], [str(p) for p in reports[:5]]
    figures = [p for board in boards.values() for p in check_figures(board)]  # FIGURE1.png: the paper's Figure 1
    assert sum(len(b.figures) for b in boards.values()) >= 1 and figures == [], [str(p) for p in figures[:5]]
    first = sorted((REPO / "leaderboards" / "synthetic" / "entries").glob("*.json"))[0]
    verdict = verify_entry(first, load_record(first))
    assert verdict.ok, verdict.differences[:5]
    copy = tmp_path / "leaderboards"
    shutil.copytree(REPO / "leaderboards", copy)
    (entry,) = sorted((copy / "synthetic" / "entries").glob("*.json"))[:1]
    _edit(entry, entry, lambda r: r["rounds"][-1]["accuracy"].__setitem__("mean", 100.0))
    assert any(p.field.endswith("].accuracy.mean") for p in check(copy)[1])


def test_verify_rounds_reruns_and_checks_only_a_prefix_of_an_entry(board_dir, tmp_path):
    """`verify --rounds K`: the entry's first K rounds, with its settings unchanged (schedules set for
    all its rounds), compared round by round; what lies past round K is not checked."""
    run_tiny(tmp_path / "runs", rounds=3, seed=5)
    submit(sorted((tmp_path / "runs").glob("*.json")), board_dir)
    (entry,) = find_boards(board_dir)["synthetic"].entries_dir.glob("*.json")
    verdict = verify_entry(entry, load_record(entry), rounds=1)
    assert verdict.ok and verdict.mode == "bit-identical" and (verdict.rounds, verdict.of_rounds) == (1, 3)

    def raise_round(index):
        def forge(record):
            r = record["rounds"][index]["accuracy"]
            r["per_client"] = [min(100.0, a + 10) for a in r["per_client"]]
            r["mean"] = sum(r["per_client"]) / len(r["per_client"])
            record["totals"] = totals_from_rounds(record["rounds"])
        return forge
    original = entry.read_text()
    _edit(entry, entry, raise_round(2))  # the last round forged: past a 1-round prefix
    assert verify_entry(entry, load_record(entry), rounds=1).ok
    assert not verify_entry(entry, load_record(entry), rounds=3).ok
    entry.write_text(original)
    _edit(entry, entry, raise_round(0))  # the first round forged: the prefix catches it
    forged = verify_entry(entry, load_record(entry), rounds=1)
    assert not forged.ok and all(d.startswith("round 1:") for d in forged.differences)
    result = cli.invoke(app, ["leaderboard", "verify", "--board-dir", str(board_dir), "--method", "fedavg",
                              "--rounds", "1"])
    assert result.exit_code == 1 and "FAILED" in result.stdout and "first 1 of 3 rounds" in result.stdout


def test_verify_method_filter_names_a_method_with_no_entry(result_files, board_dir):
    submit(result_files, board_dir)
    result = cli.invoke(app, ["leaderboard", "verify", "--board-dir", str(board_dir), "--method", "scaffold"])
    assert result.exit_code == 2 and "has no entry of scaffold" in result.stderr
    ok = cli.invoke(app, ["leaderboard", "verify", "--board-dir", str(board_dir), "-m", "fedprox", "-r", "1"])
    assert ok.exit_code == 0 and ok.stdout.count("ok ") == 1 and "fedprox" in ok.stdout


def test_the_board_readmes_submit_and_verify_commands_run_as_written(result_files, board_dir, monkeypatch):
    """The commands a board's README gives its submitters work, read from the README (with the
    --board-dir it says to add when the boards are not in ./leaderboards)."""
    monkeypatch.chdir(board_dir.parent)
    (board_dir.parent / "results").mkdir()
    for f in result_files:
        shutil.copy(f, board_dir.parent / "results" / f.name)
    submit(result_files[:1], board_dir)  # a README is written with the board's first entry
    readme = find_boards(board_dir)["synthetic"].readme.read_text()
    block = readme.split("## Submit and verify", 1)[1].split("```")[1]
    commands = [line.split("#")[0].split() for line in block.splitlines() if line.startswith("c3bench ")]
    assert [c[:3] for c in commands] == [["c3bench", "submit", "results/*.json"], ["c3bench", "leaderboard", "check"],
                                         ["c3bench", "leaderboard", "verify"], ["c3bench", "leaderboard", "verify"]]
    for words in commands:
        args = [a for w in words[1:] for a in (sorted(str(p) for p in Path().glob(w)) if "*" in w else [w])]
        result = cli.invoke(app, [*args, "--board-dir", "boards"])
        assert result.exit_code == 0, (words, result.output)
    assert len(list(find_boards(board_dir)["synthetic"].entries_dir.glob("*.json"))) == len(result_files)


def test_verify_replays_an_entry_in_its_execution_mode_and_a_rerun_without_it_fails(tmp_path, exactly_one_thread):
    from c3bench.verify import compare
    from tests.helpers import run_tiny

    record = run_tiny(tmp_path, method="sl-basic", flush_denormal=True)
    (entry,) = tmp_path.glob("*.json")
    verdict = verify_entry(entry, record)
    assert verdict.ok and verdict.mode == "bit-identical", verdict.differences
    plain = run_tiny(tmp_path / "plain", method="sl-basic")  # the same numbers here: no value got subnormal
    assert compare(record, plain, identical=True) == [
        "the entry ran with --flush-denormal, the re-run with none"]


def test_render_draws_the_figure_only_when_what_it_shows_changes(tmp_path):
    """A board whose entries did not change keeps its figure and renders without loading matplotlib; a
    changed set of entries is drawn again."""
    import sys

    from c3bench.series import FIGURE_KEY, png_text

    boards = tmp_path / "boards"
    shutil.copytree(Path(__file__).resolve().parents[1] / "leaderboards" / "synthetic", boards / "synthetic")
    code = ("import sys; from c3bench.leaderboard import find_boards, write_board; "
            f"write_board(find_boards({str(boards)!r})['synthetic']); print('matplotlib' in sys.modules)")

    def render() -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    figure = boards / "synthetic" / "tradeoff.png"
    render()  # the committed figure may predate the key: drawn once
    key = png_text(figure)[FIGURE_KEY]
    assert render() == "False" and png_text(figure)[FIGURE_KEY] == key
    sorted((boards / "synthetic" / "entries").glob("*.json"))[0].unlink()
    assert render() == "True" and png_text(figure)[FIGURE_KEY] != key


def test_a_rows_seeds_share_one_numeric_mode_and_a_row_switches_mode_as_a_whole(tmp_path, exactly_one_thread):
    """A flushed seed beside plain ones is refused (the row would average two arithmetics), even with
    --replace while another seed stays plain; all of the row's seeds re-run flushed and submitted together
    with --replace switch it. A board edited by hand into a mixed row fails its check, which blames the
    seed outside the row's mode."""
    boards = tmp_path / "boards"
    new_board(boards, "synthetic", BMAX, CMAX, 8.0, "c3bench", dict(TINY))
    runs = {}
    for seed in (0, 1):
        for flush in (False, True):
            folder = tmp_path / f"s{seed}-{'flush' if flush else 'plain'}"
            run_tiny(folder, rounds=1, seed=seed, flush_denormal=flush)
            runs[seed, flush] = next(folder.glob("*.json"))

    assert len(submit([runs[0, False], runs[1, False]], boards).filed) == 2
    same_numbers = submit([runs[0, True]], boards)  # no value got subnormal in this tiny run: only the mode differs
    assert "in another numeric mode" in same_numbers.refused[0].message
    alone = submit([runs[0, True]], boards, replace=True)
    assert not alone.filed and [p.field for p in alone.refused] == ["execution"]
    assert alone.refused[0].file == str(runs[0, True]) and "seed 1 of the same configuration" in alone.refused[0].message
    assert "--replace" in alone.refused[0].message
    assert check(boards, recompute_data=False)[1] == []  # nothing was written

    together = submit([runs[1, True], runs[0, True]], boards, replace=True)
    assert len(together.filed) == 2 and not together.refused
    entries_dir = boards / "synthetic" / "entries"
    assert all(json.loads(p.read_text())["execution"]["flush_denormal"] for p in entries_dir.glob("*.json"))
    assert check(boards, recompute_data=False)[1] == []

    (entries_dir / next(entries_dir.glob("*_s1_*.json")).name).write_bytes(runs[1, False].read_bytes())
    (problem,) = [p for p in check(boards, recompute_data=False)[1] if p.field == "execution"]
    assert "_s1_" in problem.file and "seed 0 of the same configuration" in problem.message
