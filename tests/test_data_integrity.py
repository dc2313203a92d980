"""Integrity of dataset files: damaged copies of the real files are refused with a clear error.

Files with a known md5 (the shared data folder's copies, the canonical downloads) are checked against
it once per file version (memoised); archives without one are still refused when cut or damaged,
instead of being read in part.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from c3bench.data import integrity, readers
from c3bench.data.datasets import known_checksums, load_dataset, load_image_folder
from c3bench.data.root import tensor_cache_dir
from c3bench.hparams import ConfigError
from tests.conftest import require_data

NOTMNIST = "notMNIST_small/notMNIST_small.tar"
NOTMNIST_MD5 = "28496d137aa5ed884c848939e37ab68e"
OLD_NS = 1_000_000_000_000_000_000  # a file time long past: its stat signature is trusted at once
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def isolated(isolated_data_env) -> Path:
    return isolated_data_env


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _notmnist_bytes() -> bytes:
    return (require_data(NOTMNIST) / NOTMNIST).read_bytes()


def _member_offsets(data: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [m.offset for m in tf.getmembers()]


def _copy_mnist(root: Path) -> Path:
    shared = require_data(*(f"MNIST/raw/{n}" for n in MNIST_FILES))
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copy(shared / "MNIST" / "raw" / name, raw / name)
        os.utime(raw / name, ns=(OLD_NS - 1, OLD_NS - 1))
    return raw


def _no_entries() -> bool:
    return not list(tensor_cache_dir().glob("*.pt"))


# ---------------------------------------------------------------- files with a known md5
def test_the_shared_md5_table_ships_every_file_of_md5sums():
    root = require_data("MD5SUMS")
    listed = {}
    for line in (root / "MD5SUMS").read_text().splitlines():
        md5, path = line.split(maxsplit=1)
        listed[path.strip()] = md5
    assert len(listed) == 15 and listed.items() <= known_checksums().items()


def test_a_flipped_byte_in_a_tar_is_caught_by_its_known_md5(isolated):
    data = bytearray(_notmnist_bytes())
    data[len(data) // 2] ^= 0x01  # inside an image: the tar itself still parses
    copy = isolated / "data" / NOTMNIST
    copy.parent.mkdir(parents=True)
    copy.write_bytes(bytes(data))
    with pytest.raises(ConfigError) as info:
        load_dataset("notmnist", isolated / "data")
    message = str(info.value)
    for expected in (str(copy), NOTMNIST_MD5, _md5(bytes(data)), "Restore it", "c3bench data verify"):
        assert expected in message, expected
    assert _no_entries()  # refused before anything was decoded or cached


def test_a_tar_cut_at_a_member_boundary_is_caught_by_its_known_md5(isolated):
    data = _notmnist_bytes()
    offsets = _member_offsets(data)
    cut = data[: offsets[len(offsets) // 2]]
    copy = isolated / "data" / NOTMNIST
    copy.parent.mkdir(parents=True)
    copy.write_bytes(cut)
    with pytest.raises(ConfigError, match=f"its md5 is {_md5(cut)}, expected {NOTMNIST_MD5}"):
        load_dataset("notmnist", isolated / "data")


def test_a_damaged_gzip_is_caught_by_its_known_md5(isolated):
    raw = _copy_mnist(isolated / "data")
    damaged = raw / "t10k-images-idx3-ubyte.gz"
    data = bytearray(damaged.read_bytes())
    data[40:48] = b"\xff" * 8  # the start of the deflate stream: zlib gives up at once
    damaged.write_bytes(bytes(data))
    with pytest.raises(ConfigError) as info:
        load_dataset("mnist", isolated / "data")
    message = str(info.value)
    for expected in (str(damaged), "9fb629c4189551a2d022fa330f9573f3", _md5(bytes(data))):
        assert expected in message, expected


def test_the_verification_is_memoised_so_a_second_load_does_not_hash(isolated, monkeypatch):
    raw = _copy_mnist(isolated / "data")
    hashed: list[Path] = []
    real = integrity.md5_file

    def counting(path, subject=None):
        hashed.append(Path(path))
        return real(path, subject)

    monkeypatch.setattr(integrity, "md5_file", counting)
    load_dataset("mnist", isolated / "data")
    assert sorted(p.name for p in hashed) == sorted(MNIST_FILES)
    hashed.clear()
    assert load_dataset("mnist", isolated / "data").cache_hit and hashed == []
    changed = raw / "t10k-labels-idx1-ubyte.gz"
    os.utime(changed, ns=(OLD_NS, OLD_NS))  # another (old) mtime, same bytes: hashed again, alone
    load_dataset("mnist", isolated / "data")
    assert hashed == [changed]


def test_a_mismatch_is_remembered_and_still_refused(isolated, monkeypatch):
    raw = _copy_mnist(isolated / "data")
    labels = raw / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(labels.read_bytes())
    data[-20] ^= 0x01
    labels.write_bytes(bytes(data))
    os.utime(labels, ns=(OLD_NS, OLD_NS))  # an old mtime, so the memo trusts it
    for _ in range(2):
        with pytest.raises(ConfigError, match="ec29112dd5afa0611ce80d1b7f02629c"):
            load_dataset("mnist", isolated / "data")
        monkeypatch.setattr(integrity, "md5_file", lambda *a, **k: pytest.fail("hashed again"))


# ---------------------------------------------------------------- archives without a known md5
def test_a_tar_cut_at_a_member_boundary_is_refused_without_a_known_md5(isolated):
    data = _notmnist_bytes()
    offsets = _member_offsets(data)
    cut = data[: offsets[len(offsets) // 2]]
    folder = isolated / "letters"
    folder.mkdir()
    (folder / "train.tar").write_bytes(cut)
    with pytest.raises(ConfigError, match=f"cut short after {len(offsets) // 2:,} members"):
        load_image_folder(folder)
    # the same cut, compressed: read by the standard tarfile module, which alone would stop silently
    root = isolated / "data"
    root.mkdir()
    (root / "notMNIST_small.tar.gz").write_bytes(gzip.compress(cut, compresslevel=1))
    with pytest.raises(ConfigError, match="cut short or corrupt"):
        load_dataset("notmnist", root)


def test_a_damaged_tar_header_is_refused_without_a_known_md5(isolated):
    data = bytearray(_notmnist_bytes())
    offsets = _member_offsets(bytes(data))
    data[offsets[100] + 3] ^= 0x20  # a letter of the 101st member's name
    folder = isolated / "letters"
    folder.mkdir()
    (folder / "train.tar").write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=f"damaged tar header at byte {offsets[100]:,}"):
        load_image_folder(folder)


def _png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_pax_tar_cut_at_a_member_boundary_is_refused(tmp_path):
    path = tmp_path / "pax.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for i in range(6):
            info = tarfile.TarInfo(f"{'ab'[i % 2]}/{i}-{'é' * 3}.png")  # a non-ASCII name needs a pax header
            payload = _png(i)
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    whole = readers.read_class_images(path)
    assert len(whole) == 6
    offsets = _member_offsets(path.read_bytes())
    path.write_bytes(path.read_bytes()[: offsets[3]])
    with pytest.raises(integrity.DamagedFile, match="cut short or corrupt after 3 members"):
        readers.read_class_images(path)


def test_damaged_gzip_files_raise_damaged_file(tmp_path):
    shared = require_data("MNIST/raw/t10k-labels-idx1-ubyte.gz")
    good = (shared / "MNIST/raw/t10k-labels-idx1-ubyte.gz").read_bytes()
    early = bytearray(good)
    early[40:48] = b"\xff" * 8
    crc = bytearray(good)
    crc[-6] ^= 0x01  # the CRC-32 in the trailer
    for name, data in (("early", bytes(early)), ("cut", good[: len(good) // 2]), ("crc", bytes(crc))):
        path = tmp_path / f"{name}-labels-idx1-ubyte.gz"
        path.write_bytes(data)
        with pytest.raises(integrity.DamagedFile, match="gzip file is cut short or corrupt"):
            readers.read_idx(path)
