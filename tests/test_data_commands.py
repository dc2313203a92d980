"""`c3bench data prepare` and `c3bench data verify` through the real command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from c3bench.cli import app
from tests.conftest import require_data


@pytest.fixture
def isolated(isolated_data_env) -> Path:
    return isolated_data_env


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _tiny_mnist(root: Path) -> Path:
    rng = np.random.default_rng(0)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, count in (("train", 30), ("t10k", 10)):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (count, 28, 28))))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 10, count)))
    return root


def _entries(folder: Path) -> list[Path]:
    return list(folder.glob("mnist-*.pt"))


def test_prepare_fills_the_cache_and_prints_the_load_times(isolated):
    root = _tiny_mnist(isolated / "data")
    result = CliRunner().invoke(app, ["data", "prepare", "--data-root", str(root), "--datasets", "mnist"])
    assert result.exit_code == 0, result.output
    assert "mnist" in result.stdout and "train 30, test 10" in result.stdout and " ms" in result.stdout
    assert _entries(isolated / "xdg" / "c3bench" / "tensors")
    again = CliRunner().invoke(app, ["data", "prepare", "--data-root", str(root), "--datasets", "mnist"])
    assert again.exit_code == 0 and "(cached)" in again.stdout


def test_prepare_cold_leaves_no_cache_behind(isolated):
    root = _tiny_mnist(isolated / "data")
    args = ["data", "prepare", "--data-root", str(root), "--datasets", "mnist", "--cold"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "(cached)" not in result.stdout and "temporary, removed" in result.output
    assert not (isolated / "xdg").exists()


def test_prepare_rejects_an_unknown_dataset_with_exit_2(isolated):
    result = CliRunner().invoke(app, ["data", "prepare", "--datasets", "mnist,cifar11"])
    assert result.exit_code == 2 and "unknown dataset 'cifar11'" in result.output
    assert "Traceback" not in result.output


def test_verify_prints_ok_and_mismatch_per_file_and_exits_1_on_a_mismatch(isolated):
    shared = require_data("MNIST/raw/t10k-labels-idx1-ubyte.gz", "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz")
    root = isolated / "data"
    for rel in ("MNIST/raw/t10k-labels-idx1-ubyte.gz", "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz"):
        (root / rel).parent.mkdir(parents=True)
        shutil.copy(shared / rel, root / rel)
    good = CliRunner().invoke(app, ["data", "verify", "--data-root", str(root)])
    assert good.exit_code == 0, good.output
    assert good.stdout.count("ok ") == 2 and "MISMATCH" not in good.stdout
    flipped = root / "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz"
    data = bytearray(flipped.read_bytes())
    data[100] ^= 0x01
    flipped.write_bytes(bytes(data))
    bad = CliRunner().invoke(app, ["data", "verify", "--data-root", str(root)])
    assert bad.exit_code == 1
    lines = bad.stdout.splitlines()
    assert any(line.startswith("ok") and "MNIST/raw/t10k-labels" in line for line in lines)
    (mismatch,) = [line for line in lines if line.startswith("MISMATCH")]
    assert str(flipped) in mismatch and "expected bb300cfdad3c16e7a12a480ee83cd310" in mismatch
    assert "1 of 2 files do not match" in bad.output


def test_verify_without_any_known_file_exits_2(isolated):
    (isolated / "empty").mkdir()
    result = CliRunner().invoke(app, ["data", "verify", "--data-root", str(isolated / "empty")])
    assert result.exit_code == 2 and "no dataset file with a known md5" in result.output
