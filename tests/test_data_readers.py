"""Readers on the real files in ../shared/data, and on small canonical-format files written here.

The real datasets are decoded once per machine (then memory-mapped from the tensor cache), so the
whole module costs about 30 s on a cold cache and a second or two warm.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from c3bench.data import readers
from c3bench.data.datasets import image_stats, load_dataset, load_image_folder, to_tensor32
from c3bench.data.download import extract_archive
from c3bench.hparams import ConfigError
from tests.conftest import require_data


def _sha(t: torch.Tensor) -> str:
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()[:16]


def _check_layout(split, n: int, num_classes: int) -> None:
    assert split.x.shape == (n, 3, 32, 32) and split.x.dtype == torch.uint8
    assert split.y.shape == (n,) and split.y.dtype == torch.int64
    assert int(split.y.min()) >= 0 and int(split.y.max()) < num_classes
    assert bool((split.y[1:] >= split.y[:-1]).all())  # grouped by label


# ---------------------------------------------------------------- real files
def test_mnist_idx_gz():
    root = require_data("MNIST/raw")
    data = load_dataset("mnist", root, download=False)
    train, test = data.splits["train"], data.splits["test"]
    _check_layout(train, 60_000, 10)
    _check_layout(test, 10_000, 10)
    assert torch.bincount(train.y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert _sha(train.x[0]) == "a1ce03537b59f762" and _sha(test.x[0]) == "16a14c32c64a81f3"
    # independently parsed: the first "0" of the file, padded by 2 and copied to 3 channels
    raw = gzip.decompress((root / "MNIST/raw/train-images-idx3-ubyte.gz").read_bytes())
    labels = np.frombuffer(gzip.decompress((root / "MNIST/raw/train-labels-idx1-ubyte.gz").read_bytes())[8:], np.uint8)
    first_zero = int(np.flatnonzero(labels == 0)[0])
    image = np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28)[first_zero]
    assert torch.equal(train.x[0, 1, 2:30, 2:30], torch.from_numpy(image.copy()))
    assert int(train.x[:, :, :2].sum()) == 0 and int(train.x[:, :, :, 30:].sum()) == 0  # zero padding
    assert torch.equal(train.x[:50, 0], train.x[:50, 2])  # gray copied to all channels
    assert data.normalization.mean == (0.1, 0.1, 0.1)


def test_fashion_mnist_idx_gz():
    root = require_data("FashionMNIST/raw")
    data = load_dataset("fashion-mnist", root, download=False)
    _check_layout(data.splits["train"], 60_000, 10)
    _check_layout(data.splits["test"], 10_000, 10)
    assert torch.bincount(data.splits["train"].y).tolist() == [6000] * 10
    assert _sha(data.splits["train"].x[0]) == "b7cbeaddc0ce869e"
    assert data.classes[9] == "Ankle boot"


def test_cifar10_png_tars_follow_classes_txt():
    root = require_data("CIFAR-10-images/train.tar", "CIFAR-10-images/test.tar")
    data = load_dataset("cifar10", root, download=False)
    train, test = data.splits["train"], data.splits["test"]
    _check_layout(train, 50_000, 10)
    _check_layout(test, 10_000, 10)
    assert torch.bincount(train.y).tolist() == [5000] * 10 and torch.bincount(test.y).tolist() == [1000] * 10
    assert data.classes == tuple((root / "CIFAR-10-images/classes.txt").read_text().split())
    assert _sha(train.x[0]) == "04150281f7c48086" and _sha(test.x[0]) == "95b44c10c5da5ac7"
    with tarfile.open(root / "CIFAR-10-images/test.tar") as tf:
        png = tf.extractfile("airplane/0001.png").read()
    assert torch.equal(test.x[0], torch.from_numpy(np.array(Image.open(io.BytesIO(png)))).permute(2, 0, 1))
    # decoded losslessly: the canonical per-channel mean of the train split
    assert image_stats(train.x).mean == (0.4914, 0.4822, 0.4465)


def test_cifar100_partial_train_only_keeps_canonical_labels():
    root = require_data("CIFAR-100-images/train.tar")
    data = load_dataset("cifar100", root, download=False)
    assert set(data.splits) == {"train"}  # no test split in the shared copy
    train = data.splits["train"]
    _check_layout(train, 25_000, 100)
    assert data.num_classes == 100 and int(train.y.max()) == 49
    assert torch.bincount(train.y).tolist() == [500] * 50
    assert data.classes[37] == "house" and data.label("mountain") == 49
    assert _sha(train.x[0]) == "50d230770c0c0ae8"


def test_notmnist_png_tar():
    root = require_data("notMNIST_small/notMNIST_small.tar")
    data = load_dataset("notmnist", root, download=False)
    train = data.splits["train"]
    _check_layout(train, 18_724, 10)
    assert torch.bincount(train.y).tolist() == [1872, 1873, 1873, 1873, 1873, 1872, 1872, 1872, 1872, 1872]
    assert data.classes == tuple("ABCDEFGHIJ") and data.skipped == ()
    assert _sha(train.x[0]) == "4d281af20dfe4242"


def test_second_load_comes_from_the_cache_and_is_identical():
    root = require_data("MNIST/raw")
    first = load_dataset("mnist", root, download=False)
    again = load_dataset("mnist", root, download=False)
    assert again.cache_hit
    assert torch.equal(first.splits["test"].x, again.splits["test"].x)


# ---------------------------------------------------------------- IDX details
def test_idx_reads_gzipped_and_plain_alike(tmp_path):
    root = require_data("MNIST/raw")
    gz = root / "MNIST/raw/t10k-labels-idx1-ubyte.gz"
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    assert np.array_equal(readers.read_idx(gz), readers.read_idx(plain))
    assert readers.idx_path(tmp_path, "t10k-labels-idx1-ubyte") == plain


def test_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x01\x02")  # says 5, has 2
    with pytest.raises(ValueError, match="header says"):
        readers.read_idx(bad)
    bad.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(ValueError, match="not an IDX"):
        readers.read_idx(bad)


# ---------------------------------------------------------------- CIFAR pickles (canonical format)
def _cifar_batch(rng, n: int, num_classes: int, label_key: bytes) -> dict:
    return {b"batch_label": b"testing batch", label_key: rng.integers(0, num_classes, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)]}


def _dump(path: Path, obj) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def test_cifar10_pickles(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {f"data_batch_{i}": _cifar_batch(rng, 7, 10, b"labels") for i in range(1, 6)}
    batches["test_batch"] = _cifar_batch(rng, 5, 10, b"labels")
    for name, batch in batches.items():
        _dump(folder / name, batch)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    _dump(folder / "batches.meta", {b"label_names": [n.encode() for n in names], b"num_vis": 3072})
    data = load_dataset("cifar10", tmp_path, download=False)
    assert data.classes == tuple(names)
    train = data.splits["train"]
    _check_layout(train, 35, 10)
    # same images in label order (stable): row-major R, G, B planes of 32x32
    x = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    y = np.concatenate([batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)])
    order = np.argsort(y, kind="stable")
    assert torch.equal(train.x, torch.from_numpy(x[order])) and train.y.tolist() == y[order].tolist()
    assert len(data.splits["test"]) == 5


def test_cifar100_pickles_use_fine_labels(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, n in (("train", 9), ("test", 4)):
        batch = _cifar_batch(rng, n, 100, b"fine_labels")
        batch[b"coarse_labels"] = [0] * n
        _dump(folder / name, batch)
    _dump(folder / "meta", {b"fine_label_names": [f"c{i}".encode() for i in range(100)],
                            b"coarse_label_names": [f"s{i}".encode() for i in range(20)]})
    data = load_dataset("cifar100", tmp_path, download=False)
    assert data.num_classes == 100 and len(data.splits["train"]) == 9 and len(data.splits["test"]) == 4


def test_pickle_reader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "data_batch_1"
    _dump(path, {b"data": Evil()})
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        readers.load_pickle(path)


# ---------------------------------------------------------------- class folders
def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _make_folder(root: Path, rng) -> dict[str, np.ndarray]:
    images = {}
    for cls in ("zebra", "ant"):
        (root / cls).mkdir(parents=True)
        for i in (1, 2, 10):
            arr = rng.integers(0, 256, (28, 28), dtype=np.uint8)
            images[f"{cls}/{i}.png"] = arr
            (root / cls / f"{i}.png").write_bytes(_png(arr))
    (root / "ant" / "empty.png").write_bytes(b"")  # zero-byte, as in notMNIST
    (root / "ant" / "cut.png").write_bytes(_png(images["ant/1.png"])[:40])  # truncated
    (root / "ant" / "notes.txt").write_text("not an image")
    (root / "zebra" / ".DS_Store").write_bytes(b"\x00\x01")
    return images


def test_class_folder_and_tar_read_alike_and_skip_unreadable_files(tmp_path):
    rng = np.random.default_rng(2)
    folder = tmp_path / "imgs"
    images = _make_folder(folder, rng)
    from_folder = readers.read_class_images(folder)
    assert from_folder.classes == ("ant", "zebra")
    assert sorted(from_folder.skipped) == ["ant/cut.png", "ant/empty.png"]
    assert from_folder.images.shape == (6, 28, 28) and from_folder.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert np.array_equal(from_folder.images[2], images["ant/10.png"])  # natural order: 1, 2, 10
    tar_path = tmp_path / "imgs.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tf:
        tf.add(folder, arcname="imgs")  # with a top folder, as notMNIST_small.tar.gz has
    from_tar = readers.read_class_images(tar_path)
    assert np.array_equal(from_tar.images, from_folder.images) and from_tar.skipped == from_folder.skipped


def test_classes_txt_fixes_label_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "mine" / "train"
    _make_folder(folder, np.random.default_rng(3))
    (tmp_path / "mine" / "classes.txt").write_text("zebra\nant\nbee\n")
    data = load_image_folder(tmp_path / "mine")
    assert data.classes == ("zebra", "ant", "bee")
    train = data.splits["train"]
    assert train.y.tolist() == [0, 0, 0, 1, 1, 1] and train.x.shape == (6, 3, 32, 32)
    assert len(data.skipped) == 2
    (tmp_path / "mine" / "classes.txt").write_text("zebra\n")
    with pytest.raises(ConfigError, match="not in the class list"):
        load_image_folder(tmp_path / "mine")


def test_mixed_sizes_and_modes_become_one_rgb_array(tmp_path):
    folder = tmp_path / "mixed"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "1.png").write_bytes(_png(np.full((20, 20), 7, np.uint8)))
    (folder / "a" / "2.png").write_bytes(_png(np.full((40, 30, 3), 9, np.uint8)))
    raw = readers.read_class_images(folder)
    assert raw.images.shape == (2, 20, 20, 3) and int(raw.images[0].min()) == 7
    assert to_tensor32(raw.images).shape == (2, 3, 32, 32)
    big = tmp_path / "big"
    (big / "a").mkdir(parents=True)
    (big / "a" / "1.png").write_bytes(_png(np.zeros((64, 64, 3), np.uint8)))
    assert readers.read_class_images(big).images.shape == (1, 32, 32, 3)


def test_a_damaged_dataset_file_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "train.tar").write_bytes(b"this is not a tar archive" * 40)
    with pytest.raises(ConfigError, match="could not be read"):
        load_image_folder(folder)
    # at a path whose md5 is known (the shared data folder's CIFAR-10 copy), the md5 says it first
    (tmp_path / "CIFAR-10-images").mkdir()
    (folder / "train.tar").rename(tmp_path / "CIFAR-10-images" / "train.tar")
    with pytest.raises(ConfigError, match="expected ed3fb47510fb260800dd7c454db98a57"):
        load_dataset("cifar10", tmp_path, download=False)


def _cifar_archive(tmp_path: Path, path: Path) -> None:
    """A small cifar-10-python.tar.gz, plus a hostile member that points outside its folder."""
    rng = np.random.default_rng(4)
    staging = tmp_path / "staging" / "cifar-10-batches-py"
    staging.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _dump(staging / name, _cifar_batch(rng, 3, 10, b"labels"))
    _dump(staging / "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)]})
    evil = tmp_path / "staging" / "evil.txt"
    evil.write_text("outside")
    with tarfile.open(path, "w:gz") as tf:
        tf.add(staging, arcname="cifar-10-batches-py")
        tf.add(evil, arcname="../evil.txt")  # a hostile member must not land outside the target


def test_a_cifar_archive_is_extracted_safely(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("C3BENCH_OFFLINE", "1")
    root = tmp_path / "root"
    root.mkdir()
    _cifar_archive(tmp_path, root / "cifar-10-python.tar.gz")
    # not the canonical archive (its md5 is known): refused before anything is extracted
    with pytest.raises(ConfigError, match="expected c58f30108f718f92721af3b95e74349a"):
        load_dataset("cifar10", root)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-python.tar.gz"]
    extract_archive(root / "cifar-10-python.tar.gz", root, "cifar-10-batches-py")
    assert not (tmp_path / "evil.txt").exists()
    assert not [p for p in root.iterdir() if p.name.startswith(".extract-")]
    data = load_dataset("cifar10", root)  # the extracted folder is found first
    assert len(data.splits["train"]) == 15 and (root / "cifar-10-batches-py" / "test_batch").is_file()


def test_extracted_notmnist_folders_are_read_with_fixed_letter_labels(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    rng = np.random.default_rng(5)
    for letter in ("B", "D"):
        (tmp_path / "notMNIST_small" / letter).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "notMNIST_small" / letter / f"f{i}.png").write_bytes(
                _png(rng.integers(0, 256, (28, 28), dtype=np.uint8)))
    (tmp_path / "notMNIST_small" / "D" / "zero.png").write_bytes(b"")
    data = load_dataset("notmnist", tmp_path, download=False)
    train = data.splits["train"]
    assert train.y.tolist() == [1, 1, 1, 3, 3, 3] and data.num_classes == 10
    assert data.skipped == ("D/zero.png",) and train.x.shape == (6, 3, 32, 32)


def test_a_single_folder_of_class_folders_with_its_own_classes_txt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _make_folder(tmp_path / "pets", np.random.default_rng(6))
    (tmp_path / "pets" / "classes.txt").write_text("zebra\nant\n")
    data = load_image_folder(tmp_path / "pets")
    assert set(data.splits) == {"train"} and data.classes == ("zebra", "ant")
    assert data.splits["train"].y.tolist() == [0, 0, 0, 1, 1, 1]
