"""The README's own examples work: its quick-start commands and its Python example are read from the
README and run (so the README cannot drift), and the quick start fits the synthetic board."""

from __future__ import annotations

import glob
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from c3bench.cli import app

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no section '{title}'"
    return match.group(1)


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(before)


@pytest.mark.slow
def test_the_quick_start_commands_run_as_written(in_tmp):
    (block,) = _blocks(_section("Quick start"), "bash")
    commands = [line for line in block.splitlines() if line.startswith("c3bench ")]
    assert len(commands) >= 6
    cli = CliRunner()
    for line in commands:
        args = []
        for word in shlex.split(line)[1:]:
            args += sorted(glob.glob(word)) if "*" in word else [word]  # the shell's glob
        result = cli.invoke(app, args)
        assert result.exit_code == 0, (line, result.output)
        assert "Traceback" not in result.output
    # the quick start's first run fits the synthetic board's budgets (no over-budget mark there)
    board = json.loads((REPO / "leaderboards" / "synthetic" / "board.json").read_text())
    quick = next(json.loads(Path(p).read_text()) for p in glob.glob("results/fedavg_synthetic_s0_*.json")
                 if json.loads(Path(p).read_text())["config"]["budgets"]["client_flops"] is None)
    assert quick["config"]["protocol_params"] == board["protocol_params"]
    assert quick["totals"]["bytes_total"] / 1e9 <= board["bmax_gb"]
    assert quick["totals"]["client_flops"] / 1e12 <= board["cmax_tflops"]
    shown = cli.invoke(app, ["show", *sorted(glob.glob("results/fedavg_synthetic_s0_*.json"))])
    assert shown.exit_code == 0 and shown.stdout.count("per round") == 2  # two matching files: each shown


def test_the_python_example_runs_in_a_fresh_interpreter(in_tmp):
    (code,) = _blocks(_section("From Python (a notebook)"), "python")
    result = subprocess.run([sys.executable, "-c", "import torch; torch.set_num_threads(1)\n" + code],
                            capture_output=True, text=True, cwd=in_tmp, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "fedavg" in result.stdout and list((in_tmp / "results").glob("fedavg_synthetic_*.json"))


def test_the_config_file_example_is_a_valid_study(in_tmp):
    from c3bench.configs import load_file
    from c3bench.runner import RunSpec, resolve

    (text,) = _blocks(_section("Configuration files"), "toml")
    (in_tmp / "my.toml").write_text(text)
    study = load_file(in_tmp / "my.toml")
    assert [r.name for r in study.runs] == ["fedavg", "prox"] and study.seeds == (0, 1, 2)
    run = resolve(RunSpec(method=None, protocol=None, config="my.toml#prox"))
    assert run.method_params["mu"] == 0.01 and run.method_params["lr"] == 0.05 and run.rounds == 3


def test_import_from_the_folder_holding_the_clone_finds_the_installed_package(tmp_path):
    """The notebook set-up: Python started in ~ with the clone at ~/c3bench."""
    (tmp_path / "c3bench").symlink_to(REPO, target_is_directory=True)
    code = "import c3bench, c3bench.cli; from c3bench import c3_score; print(c3bench.__file__); print(c3bench.run)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == str(REPO / "c3bench" / "__init__.py")
