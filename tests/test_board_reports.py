"""Reports a board keeps beside its README (board.json "reports"): submit and render write them from the
board's entries, exactly as `c3bench reproduce NAME --report` prints them; check refuses one that drifted;
a bad declaration is a clear error. And `plot tradeoff --config NAME` draws a configuration's rows alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c3bench.board import Board, rows_figure_title
from c3bench.board_reports import check_figures, check_reports, figure_rows
from c3bench.cli import app
from c3bench.hparams import ConfigError
from c3bench.leaderboard import new_board
from c3bench.results import load_record
from c3bench.series import FIGURE_KEY, png_text
from tests.helpers import TINY

pytestmark = pytest.mark.usefixtures("one_thread")
cli = CliRunner()
REPORT = {"file": "QUICK.md", "config": "synthetic-quick", "seeds": [0]}
FIGURE = {"file": "QUICKFIG.png", "configs": ["synthetic-quick"], "vary": ["mu"]}


@pytest.fixture(scope="module")
def quick_records(tmp_path_factory) -> Path:
    """Two real rows of synthetic-quick (2 rounds, 2 clients of 64 images), seed 0."""
    out = tmp_path_factory.mktemp("quick")
    done = cli.invoke(app, ["reproduce", "synthetic-quick", "--rows", "fedavg,fedprox", "--seeds", "0", "-o", str(out),
                            "-q"])
    assert done.exit_code == 0, done.stderr
    return out


def _board(root: Path, reports: list, figures: list | None = None) -> Board:
    board = new_board(root, "synthetic", 0.05, 0.01, 8.0, "c3bench", dict(TINY))
    declaration = json.loads((board.path / "board.json").read_text())
    declared = {**declaration, "reports": reports, **({"figures": figures} if figures is not None else {})}
    (board.path / "board.json").write_text(json.dumps(declared, indent=2))
    return Board.load(board.path)


def test_submit_writes_the_report_check_refuses_an_edit_and_render_restores_it(quick_records, tmp_path):
    board = _board(tmp_path / "boards", [REPORT])
    filed = cli.invoke(app, ["submit", str(quick_records), "--board-dir", str(tmp_path / "boards")])
    assert filed.exit_code == 0, filed.stderr
    report = board.path / "QUICK.md"
    printed = cli.invoke(app, ["reproduce", "synthetic-quick", "--report", "--format", "markdown", "--seeds", "0",
                               "-o", str(board.entries_dir)])
    assert report.read_text() == printed.stdout  # the same report `reproduce --report` prints over those records
    rows: dict[str, list[str]] = {}
    for line in report.read_text().splitlines():  # the accuracy table comes first, then the costs
        if line.startswith("| ") and not line.startswith("| row"):
            rows.setdefault(line.strip("| ").split(" | ")[0], line.strip("| ").split(" | "))
    accuracy = load_record(next(quick_records.glob("fedavg_*.json")))["totals"]["accuracy"]
    assert rows["fedavg"][1] == "1/1" and rows["fedavg"][7] == f"{accuracy:.2f}" and rows["scaffold"][1] == "0/1"
    assert check_reports(board) == []
    ok = cli.invoke(app, ["leaderboard", "check", "--board-dir", str(tmp_path / "boards"), "--no-data"])
    assert ok.exit_code == 0, ok.stderr

    lines = report.read_text().splitlines()
    row = next(n for n, line in enumerate(lines) if line.startswith("| ") and "1/1" in line)
    lines[row] = lines[row].replace("1/1", "2/1")
    report.write_text("\n".join(lines) + "\n")
    (problem,) = check_reports(board)
    assert problem.file == str(report) and problem.field == f"line {row + 1}" and "leaderboard render" in problem.message
    failed = cli.invoke(app, ["leaderboard", "check", "--board-dir", str(tmp_path / "boards"), "--no-data"])
    assert failed.exit_code == 1 and "QUICK.md" in failed.stderr

    rendered = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert rendered.exit_code == 0 and report.read_text() == printed.stdout
    report.unlink()
    (missing,) = check_reports(board)
    assert missing.field == "file" and "missing" in missing.message


def test_a_report_only_takes_its_configurations_runs_and_seeds(quick_records, tmp_path):
    board = _board(tmp_path / "boards", [{**REPORT, "seeds": [1]}])
    assert cli.invoke(app, ["submit", str(quick_records), "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    text = (board.path / "QUICK.md").read_text()
    assert "0/1" in text and "1/1" not in text  # seed 0's entries are on the board, but the report asks for seed 1


def test_a_report_file_that_is_a_link_is_refused(quick_records, tmp_path):
    board = _board(tmp_path / "boards", [REPORT])
    outside = tmp_path / "outside.md"
    outside.write_text("mine\n")
    (board.path / "QUICK.md").symlink_to(outside)
    done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert done.exit_code == 2 and "link" in done.stderr and outside.read_text() == "mine\n"
    assert cli.invoke(app, ["leaderboard", "check", "--board-dir", str(tmp_path / "boards"),
                            "--no-data"]).exit_code == 1


@pytest.mark.parametrize(("reports", "says"), [
    ({"file": "QUICK.md"}, "must be a list"),
    ([{"file": "QUICK.md", "config": "synthetic-quick"}], "exactly the keys"),
    ([{**REPORT, "file": "../QUICK.md"}], "file name"),
    ([{**REPORT, "file": "README.md"}], "file name"),
    ([{**REPORT, "file": "QUICK.html"}], "file name"),
    ([{**REPORT, "file": "QUICK.md\n"}], "file name"),
    ([{**REPORT, "file": "readme.md"}], "file name"),
    ([REPORT, {**REPORT, "file": "quick.md"}], "declared twice"),
    ([{**REPORT, "config": "synthetic-quick\n"}], "name a configuration"),
    ([REPORT, REPORT], "declared twice"),
    ([{**REPORT, "config": "../x.toml"}], "name a configuration"),
    ([{**REPORT, "config": "mine.toml"}], "name a configuration"),
    ([{**REPORT, "seeds": []}], "seeds"),
    ([{**REPORT, "seeds": [0, 0]}], "seeds"),
    ([{**REPORT, "seeds": [True]}], "seeds"),
    ([{**REPORT, "seeds": [-1]}], "seeds"),
])
def test_a_bad_report_declaration_is_a_clear_error(tmp_path, reports, says):
    with pytest.raises(ConfigError, match=says):
        _board(tmp_path / "boards", reports)
    done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert done.exit_code == 2 and "board.json: reports" in done.stderr and "Traceback" not in done.stderr


def test_an_unknown_configuration_is_a_problem_of_the_declaration(quick_records, tmp_path):
    board = _board(tmp_path / "boards", [{**REPORT, "config": "synthetic-quik"}])
    (problem,) = check_reports(board)
    assert problem.file.endswith("board.json") and "synthetic-quick" in problem.message  # did you mean
    done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert done.exit_code == 2 and "synthetic-quik" in done.stderr


def test_a_report_of_another_protocols_configuration_is_refused(tmp_path):
    board = _board(tmp_path / "boards", [{**REPORT, "config": "adasplit-table2"}])
    (problem,) = check_reports(board)
    assert "runs on mixed-cifar, not on this board's synthetic" in problem.message
    done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert done.exit_code == 2 and "mixed-cifar" in done.stderr and not (board.path / "QUICK.md").exists()



def test_plot_tradeoff_draws_only_the_rows_of_the_named_configurations(quick_records, tmp_path):
    """`plot tradeoff --config NAME`: the paper's Figure 1 is drawn from a board's entries this way."""
    from tests.helpers import run_tiny

    other = tmp_path / "other"
    run_tiny(other, rounds=1, seed=0)  # a synthetic run that is no row of synthetic-quick (1 round, other settings)
    mixed = [str(quick_records), str(other)]
    everything = cli.invoke(app, ["plot", "tradeoff", *mixed, "-o", str(tmp_path / "all.png"), "--json"])
    assert everything.exit_code == 0 and json.loads(everything.stdout)["records"] == 3
    rows = cli.invoke(app, ["plot", "tradeoff", *mixed, "--config", "synthetic-quick", "-o", str(tmp_path / "q.png"),
                            "--json"])
    assert rows.exit_code == 0 and json.loads(rows.stdout)["records"] == 2
    assert (tmp_path / "q.png").read_bytes().startswith(b"\x89PNG")
    none = cli.invoke(app, ["plot", "tradeoff", str(other), "--config", "synthetic-quick", "-o", str(tmp_path / "n.png")])
    assert none.exit_code == 2 and "none of these records" in none.stderr and not (tmp_path / "n.png").exists()
    typo = cli.invoke(app, ["plot", "tradeoff", str(other), "--config", "synthetic-quik", "-o", str(tmp_path / "t.png")])
    assert typo.exit_code == 2 and "synthetic-quick" in typo.stderr and "Traceback" not in typo.stderr


def test_a_declared_figure_draws_the_configurations_rows_and_is_kept_current(quick_records, tmp_path):
    """board.json "figures": submit and render draw the rows of the named configurations (the paper's
    Figure 1 on the Mixed-NonIID board), redraw only when the entries change, and check finds one missing."""
    from tests.helpers import run_tiny

    board = _board(tmp_path / "boards", [], [FIGURE])
    figure = board.path / "QUICKFIG.png"
    assert cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    assert not figure.exists() and check_figures(board) == []  # no rows yet: nothing to draw, nothing missing
    other = tmp_path / "other"
    run_tiny(other, rounds=1, seed=0)  # on the board, but no row of synthetic-quick
    filed = cli.invoke(app, ["submit", str(quick_records), str(other), "--board-dir", str(tmp_path / "boards")])
    assert filed.exit_code == 0, filed.stderr
    assert len(list(board.entries_dir.glob("*.json"))) == 3
    assert sorted(r["config"]["method"] for _, r in figure_rows(board, board.figures[0])) == ["fedavg", "fedprox"]
    first_key = png_text(figure)[FIGURE_KEY]
    assert figure.read_bytes().startswith(b"\x89PNG")
    readme = (board.path / "README.md").read_text()
    assert "[QUICKFIG.png](QUICKFIG.png)" in readme
    assert "--config synthetic-quick --vary mu --convention c3bench --min-seeds 3 -o QUICKFIG.png" in readme
    assert check_figures(board) == []

    stamp = figure.stat().st_mtime_ns
    assert cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    assert figure.stat().st_mtime_ns == stamp  # the same entries: not drawn again
    next(board.entries_dir.glob("fedprox_*.json")).unlink()  # the entries change: drawn again
    assert cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    assert png_text(figure)[FIGURE_KEY] != first_key

    figure.unlink()
    (missing,) = check_figures(board)
    assert missing.file == str(figure) and "missing" in missing.message
    failed = cli.invoke(app, ["leaderboard", "check", "--board-dir", str(tmp_path / "boards"), "--no-data"])
    assert failed.exit_code == 1 and "QUICKFIG.png" in failed.stderr

    assert cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    assert figure.exists()
    for source, _ in figure_rows(board, board.figures[0]):  # no row left: the figure goes, as tradeoff.png would
        (board.path / source).unlink()
    assert len(list(board.entries_dir.glob("*.json"))) == 1
    (stale,) = check_figures(board)
    assert stale.file == str(figure) and "no entry is a row" in stale.message
    assert cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    assert not figure.exists() and check_figures(board) == []


def test_a_linked_figure_is_refused_before_anything_is_written(quick_records, tmp_path):
    board = _board(tmp_path / "boards", [REPORT], [FIGURE])
    assert cli.invoke(app, ["submit", str(quick_records), "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    (board.path / "QUICK.md").unlink()
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"mine")
    (board.path / "QUICKFIG.png").unlink()
    (board.path / "QUICKFIG.png").symlink_to(outside)
    (linked,) = check_figures(board)
    assert "symbolic link" in linked.message
    done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert done.exit_code == 2 and "link" in done.stderr and "Traceback" not in done.stderr
    assert outside.read_bytes() == b"mine" and not (board.path / "QUICK.md").exists()  # not even the report


@pytest.mark.parametrize(("figures", "says"), [
    ({"file": "F.png"}, "must be a list"),
    ([{"file": "F.png"}], "keys file and configs"),
    ([{**FIGURE, "title": "mine"}], "keys file and configs"),
    ([{**FIGURE, "file": "../F.png"}], "file name"),
    ([{**FIGURE, "file": "tradeoff.png"}], "file name"),
    ([{**FIGURE, "file": "F.svg"}], "file name"),
    ([FIGURE, FIGURE], "declared twice"),
    ([{**FIGURE, "configs": []}], "configuration names"),
    ([{**FIGURE, "configs": ["a", "a"]}], "configuration names"),
    ([{**FIGURE, "configs": ["x.toml"]}], "configuration names"),
    ([{**FIGURE, "configs": "synthetic-quick"}], "configuration names"),
    ([{**FIGURE, "vary": "mu"}], "hyperparameter names"),
    ([{**FIGURE, "vary": [1]}], "hyperparameter names"),
    ([{**FIGURE, "vary": ["mu\n"]}], "hyperparameter names"),
    ([{**FIGURE, "file": "F.png\n"}], "file name"),
    ([{**FIGURE, "file": "Tradeoff.png"}], "file name"),  # the same file as tradeoff.png where case is ignored
    ([{**FIGURE, "file": "F.png"}, {**FIGURE, "file": "f.png"}], "declared twice"),
])
def test_a_bad_figure_declaration_is_a_clear_error(tmp_path, figures, says):
    with pytest.raises(ConfigError, match=says):
        _board(tmp_path / "boards", [], figures)
    done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert done.exit_code == 2 and "board.json: figures" in done.stderr and "Traceback" not in done.stderr


def test_a_figure_of_an_unknown_or_another_protocols_configuration_is_a_problem(tmp_path):
    for configs, says in ((["synthetic-quik"], "synthetic-quick"), (["adasplit-table1"], "runs on mixed-noniid")):
        board = _board(tmp_path / configs[0], [], [{**FIGURE, "configs": configs}])
        (problem,) = check_figures(board)
        assert problem.file.endswith("board.json") and says in problem.message
        done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / configs[0])])
        assert done.exit_code == 2 and says in done.stderr and not (board.path / "QUICKFIG.png").exists()


def test_a_misspelt_curve_hyperparameter_is_refused_before_any_entry_lands(quick_records, tmp_path):
    """A declared figure's `vary` names hyperparameters of its configurations' rows: `kapa` would draw
    no curve, and say nothing, whatever entries land. `plot tradeoff --vary` refuses the same typo."""
    board = _board(tmp_path / "boards", [], [{**FIGURE, "vary": ["muu"]}])
    (problem,) = check_figures(board)  # the board has no entry yet
    assert problem.file.endswith("board.json") and "'muu'" in problem.message and "Did you mean 'mu'" in problem.message
    done = cli.invoke(app, ["leaderboard", "render", "--board-dir", str(tmp_path / "boards")])
    assert done.exit_code == 2 and "Did you mean 'mu'" in done.stderr and "Traceback" not in done.stderr
    assert check_figures(_board(tmp_path / "ok", [], [{**FIGURE, "vary": ["mu", "rounds"]}])) == []

    typo = cli.invoke(app, ["plot", "tradeoff", str(quick_records), "--vary", "muu", "-o", str(tmp_path / "t.png")])
    assert typo.exit_code == 2 and "Did you mean 'mu'" in typo.stderr and not (tmp_path / "t.png").exists()


def test_the_command_a_board_gives_for_its_figure_draws_it_with_the_boards_title(quick_records, tmp_path, monkeypatch):
    """`plot tradeoff --config NAME --vary ...` titles the figure as the board titles its declared one, so
    the README's command draws what the board shows; --title still wins."""
    import c3bench.plots

    board = _board(tmp_path / "boards", [], [FIGURE])
    assert cli.invoke(app, ["submit", str(quick_records), "--board-dir", str(tmp_path / "boards")]).exit_code == 0
    titles = []
    real_save = c3bench.plots.save
    monkeypatch.setattr(c3bench.plots, "save", lambda fig, path: titles.append(fig._suptitle.get_text()) or real_save(fig, path))
    args = ["plot", "tradeoff", str(board.entries_dir), "--config", "synthetic-quick", "--vary", "mu", "--convention",
            "c3bench", "-o", str(tmp_path / "f.png")]
    assert cli.invoke(app, args).exit_code == 0
    assert cli.invoke(app, [*args, "--title", "mine"]).exit_code == 0
    assert titles == ["synthetic: rows of synthetic-quick; curves over mu (c3bench convention)", "mine"]
    assert titles[0] == rows_figure_title(board.protocol, FIGURE["configs"], FIGURE["vary"], board.convention)
