"""The command line's conventions as a user meets them: the command list in workflow order, an example
in every command's help, shell completion of c3bench's names, one convention for machine-readable
output (--format NAME, --json its alias) on every command that prints data, and result folders read
recursively by score, show, plot and submit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from c3bench.cli import app

cli = CliRunner()
TINY = ["--set", "num_clients=2", "--set", "train_per_client=48", "--set", "test_per_client=16"]
WORKFLOW = ["run", "score", "show", "plot", "reproduce", "sweep", "submit", "leaderboard"]


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer's own click)
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_the_command_list_follows_the_workflow():
    listed = []
    for line in cli.invoke(app, ["--help"]).stdout.splitlines():
        words = line.strip("│ ").split()
        if words and words[0] in {c for c in typer.main.get_command(app).commands}:
            listed.append(words[0])
    assert listed[:len(WORKFLOW)] == WORKFLOW, listed


def test_every_command_help_shows_an_example():
    root = typer.main.get_command(app)
    commands = list(_commands(root))
    assert len(commands) >= 17
    missing = []
    for command in commands:
        text = cli.invoke(app, [*command, "--help"]).stdout
        if "Example" not in text or f"c3bench {' '.join(command)}" not in text:
            missing.append(" ".join(command))
    assert not missing, f"no example in the help of: {', '.join(missing)}"


def _complete(words: str) -> list[str]:
    script = shutil.which("c3bench", path=str(Path(sys.executable).parent)) or shutil.which("c3bench")
    if script is None:
        pytest.skip("the c3bench script is not installed (pip install -e .)")
    env = {**os.environ, "_C3BENCH_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    result = subprocess.run([script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_shell_completion_offers_methods_protocols_configurations_and_suites():
    assert {"fedavg", "fedprox", "fednova", "fedavgm"} <= set(_complete("c3bench run -m fed"))
    assert set(_complete("c3bench run -p mixed")) == {"mixed-cifar", "mixed-noniid"}
    assert "adasplit-table2/fedavg" in _complete("c3bench run --config adasplit-table2/")
    assert "adasplit-table2" in _complete("c3bench reproduce adasplit-t")
    assert _complete("c3bench sweep --methods fedavg,sl") == ["fedavg,sl-basic"]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cli") / "results"
    for method, folder in (("fedavg", root / "a"), ("fedprox", root / "b" / "deeper")):
        run = cli.invoke(app, ["run", "-m", method, "-p", "synthetic", "--rounds", "1", "-q", "-o", str(folder), *TINY])
        assert run.exit_code == 0, run.output
    (root / "notes.json").write_text('{"not": "a record"}')  # other JSON beside results is passed over
    return root


def _json_both_ways(args: list[str]) -> object:
    """The command's output with --json and with --format json: the same JSON."""
    a = cli.invoke(app, [*args, "--json"])
    b = cli.invoke(app, [*args, "--format", "json"])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    return json.loads(a.stdout), json.loads(b.stdout)


def test_json_is_the_same_as_format_json_on_every_command_that_prints_data(results, tmp_path):
    stable = [["score", str(results)], ["show", str(results)], ["list", "methods"], ["list", "protocols"],
              ["configs"], ["configs", "synthetic-quick"], ["plan", "--model", "lenet", "--input-size", "32"],
              ["reproduce", "--list"], ["leaderboard", "check", "--no-data"],
              ["sweep", "-m", "fedavg", "-p", "synthetic", "--rounds", "1", *TINY, "-o", str(results / "a"),
               "--dry-run"]]
    for args in stable:
        first, second = _json_both_ways(args)
        assert first == second, args
    # commands that write something print its path, or JSON naming it
    figure = tmp_path / "fig.png"
    first, second = _json_both_ways(["plot", "tradeoff", str(results), "-o", str(figure)])
    assert first == second == {"figure": str(figure), "records": 2}
    plain = cli.invoke(app, ["plot", "curves", str(results / "a"), "-o", str(tmp_path / "c.png")])
    assert plain.exit_code == 0 and plain.stdout == f"{tmp_path / 'c.png'}\n"
    clash = cli.invoke(app, ["score", str(results), "--json", "--format", "csv"])
    assert clash.exit_code == 2 and "--json means --format json" in clash.stderr


def test_score_show_plot_and_submit_take_folders_recursively(results, tmp_path):
    files = sorted(str(p) for p in results.rglob("*.json") if p.name != "notes.json")
    score = json.loads(cli.invoke(app, ["score", str(results), "--json"]).stdout)
    assert sorted(f for block in score for row in block["rows"] for f in row["files"]) == files
    shown = json.loads(cli.invoke(app, ["show", str(results), "--json"]).stdout)
    assert sorted(r["config"]["method"] for r in shown) == ["fedavg", "fedprox"]
    plotted = cli.invoke(app, ["plot", "tradeoff", str(results), "-o", str(tmp_path / "t.svg")])
    assert plotted.exit_code == 0 and (tmp_path / "t.svg").is_file()
    boards = tmp_path / "boards"
    made = cli.invoke(app, ["leaderboard", "new", "synthetic", "--bmax", "1", "--cmax", "1", "--board-dir", str(boards),
                            *TINY])
    assert made.exit_code == 0, made.output
    filed = cli.invoke(app, ["submit", str(results), "--board-dir", str(boards), "--json"])
    assert filed.exit_code == 0, filed.output
    assert len(json.loads(filed.stdout)["filed"]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    none = cli.invoke(app, ["score", str(empty)])
    assert none.exit_code == 2 and "no c3bench result records" in none.stderr
