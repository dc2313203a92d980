"""Data-root resolution and the tensor cache: where it goes, when it is reused, what invalidates it,
what it does with damaged entries, and that a failed lookup leaves no trace."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from c3bench.data import cache
from c3bench.data.datasets import load_dataset
from c3bench.data.download import RemoteFile
from c3bench.data.root import (
    is_writable,
    resolve_data_root,
    search_roots,
    tensor_cache_dir,
    user_cache_dir,
)
from c3bench.hparams import ConfigError
from c3bench.registry import DATASETS
from tests.conftest import require_data


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _tiny_mnist(root: Path, seed: int = 0, n: int = 40) -> None:
    """A small MNIST in the IDX format and torchvision's layout, uncompressed: the canonical ``.gz``
    names have known md5s, which made-up content would not match."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", n), ("t10k", n // 4)):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (count, 28, 28))))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 10, count)))


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _entries(name: str = "mnist") -> list[Path]:
    return sorted(tensor_cache_dir().glob(f"{name}-*.pt"))


@pytest.fixture
def isolated(isolated_data_env) -> Path:
    return isolated_data_env


def test_root_resolution_order(isolated, monkeypatch):
    assert resolve_data_root() == isolated / "xdg" / "c3bench"
    monkeypatch.setenv("C3BENCH_DATA", str(isolated / "env"))
    assert resolve_data_root() == isolated / "env"
    assert resolve_data_root(isolated / "flag") == isolated / "flag"
    assert search_roots(isolated / "flag") == [isolated / "flag", user_cache_dir()]


def test_the_cache_goes_to_the_user_cache_dir_and_a_second_load_reuses_it(isolated):
    root = isolated / "data"
    _tiny_mnist(root)
    before = _tree(root)
    first = load_dataset("mnist", root)
    assert not first.cache_hit and _tree(root) == before  # nothing written into the data root
    assert tensor_cache_dir() == isolated / "xdg" / "c3bench" / "tensors" and len(_entries()) == 1
    again = load_dataset("mnist", root)
    assert again.cache_hit
    assert torch.equal(first.splits["train"].x, again.splits["train"].x)
    assert first.splits["train"].x.shape == (40, 3, 32, 32)
    assert [p.name for p in tensor_cache_dir().iterdir() if p.name.endswith(".tmp")] == []


def test_a_read_only_root_is_never_written_to(isolated):
    root = isolated / "readonly"
    _tiny_mnist(root)
    before = _tree(root)
    for folder in (root, root / "MNIST", root / "MNIST" / "raw"):
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        assert not is_writable(root)
        data = load_dataset("mnist", root)
        assert len(data.splits["train"]) == 40
        assert _tree(root) == before
        assert _entries()
        assert load_dataset("mnist", root).cache_hit
    finally:
        for folder in (root, root / "MNIST", root / "MNIST" / "raw"):
            os.chmod(folder, 0o755)


def test_the_shared_data_folder_is_treated_as_read_only(isolated):
    shared = require_data()
    if is_writable(shared):
        pytest.skip(f"{shared} is writable here")
    assert not str(tensor_cache_dir()).startswith(str(shared))


def test_changed_source_files_give_a_new_entry(isolated):
    root = isolated / "data"
    _tiny_mnist(root, seed=0)
    old = load_dataset("mnist", root)
    _tiny_mnist(root, seed=1)  # same names and sizes, other content
    new = load_dataset("mnist", root)
    assert not new.cache_hit
    assert not torch.equal(old.splits["train"].x, new.splits["train"].x)
    assert len(_entries()) == 2


def test_a_truncated_entry_is_rebuilt_not_trusted(isolated):
    root = isolated / "data"
    _tiny_mnist(root)
    good = load_dataset("mnist", root)
    (entry,) = _entries()
    entry.write_bytes(entry.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable cache entry"):
        again = load_dataset("mnist", root)
    assert not again.cache_hit and torch.equal(again.splits["test"].x, good.splits["test"].x)
    assert load_dataset("mnist", root).cache_hit  # and the rebuilt entry is good again


def test_a_flipped_byte_in_an_entry_is_caught_by_its_checksum_and_rebuilt(isolated):
    root = isolated / "data"
    _tiny_mnist(root)
    good = load_dataset("mnist", root)
    stored = good.splits["train"].x[:, :1].contiguous().numpy().tobytes()  # the one stored channel
    (entry,) = _entries()
    data = bytearray(entry.read_bytes())
    at = data.find(stored[:4096])
    assert at > 0  # the tensor's bytes lie in the file as they are
    data[at + 1234] ^= 0x01
    entry.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="damaged cache entry"):
        again = load_dataset("mnist", root)
    assert not again.cache_hit
    for split in ("train", "test"):
        assert torch.equal(again.splits[split].x, good.splits[split].x)
        assert torch.equal(again.splits[split].y, good.splits[split].y)
    assert entry.read_bytes() != bytes(data)  # the entry itself was rewritten
    assert load_dataset("mnist", root).cache_hit


def test_cache_env_var_wins(isolated, monkeypatch):
    monkeypatch.setenv("C3BENCH_CACHE", str(isolated / "mycache"))
    root = isolated / "data"
    _tiny_mnist(root)
    load_dataset("mnist", root)
    assert list((isolated / "mycache").glob("mnist-*.pt")) and not (isolated / "xdg").exists()


def test_a_failed_lookup_creates_nothing(isolated):
    root = isolated / "no-such-root"
    with pytest.raises(ConfigError, match="was not found"):
        load_dataset("mnist", root)
    assert not root.exists() and not (isolated / "xdg").exists()


def test_a_failed_download_creates_nothing(isolated, monkeypatch):
    monkeypatch.delenv("C3BENCH_OFFLINE")
    spec = DATASETS.get("mnist")
    unreachable = tuple(RemoteFile(r.path, ("http://127.0.0.1:9/" + r.path,), md5=r.md5) for r in spec.remote)
    root = isolated / "no-such-root"
    with DATASETS.patched("mnist", type(spec)(**{**spec.__dict__, "remote": unreachable})), \
            pytest.raises(ConfigError, match="cannot connect"):
        load_dataset("mnist", root)
    assert not root.exists() and not (isolated / "xdg").exists()


def test_content_digest_is_memoised_by_signature(isolated):
    folder = isolated / "src"
    folder.mkdir()
    data = folder / "a.bin"
    data.write_bytes(b"abc")
    memo_dir = isolated / "memo"
    memo_dir.mkdir()
    first = cache.source_digest(folder, memo_dir)
    assert not (memo_dir / "digests.json").exists()  # just written: too fresh to trust its timestamp
    os.utime(data, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    assert cache.source_digest(folder, memo_dir) == first and (memo_dir / "digests.json").is_file()
    data.write_bytes(b"abd")
    os.utime(data, ns=(1_000_000_001_000_000_000, 1_000_000_001_000_000_000))
    assert cache.source_digest(folder, memo_dir) != first
