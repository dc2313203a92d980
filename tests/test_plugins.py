"""A third-party package adds a method through a real entry point: installed by pip into a folder of its
own, found by the registry, run, and named in its records; a plug-in that cannot be imported or that
takes a built-in's name does not break the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "tinyplug"
version = "0.3"

[tool.setuptools]
packages = ["tinyplug"]

[project.entry-points."c3bench.methods"]
fedavg-halfstep = "tinyplug:FedAvgHalfStep"
fedavg = "tinyplug:Impostor"
broken = "tinyplug.missing:Nope"

[project.entry-points."c3bench.backbones"]
tiny-mlp = "tinyplug:tiny_mlp"
"""

MODULE = '''
"""A FedAvg whose server moves half way to the clients' average (a plug-in written from the README)."""
from torch import nn

from c3bench.federated import FederatedMethod


class FedAvgHalfStep(FederatedMethod):
    name = "fedavg-halfstep"
    description = "FedAvg, the server moving half way to the average."

    def server_update(self, previous, averaged):
        return {k: (previous[k] + v) / 2 if v.is_floating_point() else v for k, v in averaged.items()}


class Impostor(FedAvgHalfStep):
    name = "fedavg"
    description = "takes a built-in's name"


def tiny_mlp(num_classes, in_channels=3, image_size=32):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, num_classes))
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugin")
    (root / "src" / "tinyplug").mkdir(parents=True)
    (root / "src" / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "tinyplug" / "__init__.py").write_text(textwrap.dedent(MODULE))
    target = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(root / "src")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert any(target.glob("tinyplug-0.3.dist-info/entry_points.txt"))
    return target


def _run(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


def test_an_installed_plugin_is_listed_and_a_broken_one_gets_a_clear_message(site):
    listed = _run(site, sys.executable, "-m", "c3bench.cli", "list", "methods", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    entries = {e["name"]: e for e in json.loads(listed.stdout)}
    assert entries["fedavg-halfstep"]["family"] == "federated"
    assert "cannot be loaded" in entries["broken"]["error"] and "tinyplug" in entries["broken"]["error"]
    assert entries["fedavg"]["description"].startswith("Federated averaging")  # the built-in's name wins
    table = _run(site, sys.executable, "-m", "c3bench.cli", "list", "methods")
    assert table.returncode == 0 and "fedavg-halfstep" in table.stdout
    assert "cannot load" in table.stderr and "Traceback" not in table.stderr


def test_a_plugin_method_runs_and_its_record_names_its_distribution(site, tmp_path):
    code = ("import json, c3bench; r = c3bench.run('fedavg-halfstep', 'synthetic', rounds=2, out='res', force=True, "
            "backbone='tiny-mlp', num_clients=2, train_per_client=32, test_per_client=16); "
            "print(json.dumps([r['method_code'], r['totals']['accuracy'], r['config']['backbone']]))")
    done = _run(site, sys.executable, "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    origin, accuracy, backbone = json.loads(done.stdout.strip().splitlines()[-1])
    assert origin == {"distribution": "tinyplug", "version": "0.3", "entry_point": "tinyplug:FedAvgHalfStep"}
    assert 0.0 <= accuracy <= 100.0 and backbone == "tiny-mlp"
    builtin = _run(site, sys.executable, "-c", "from c3bench.runner import method_code; print(method_code('fedavg'))")
    assert "'distribution': 'c3bench'" in builtin.stdout and "'builtin': True" in builtin.stdout
