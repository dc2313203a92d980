"""Named datasets: where they sit on disk, how to download them, and loading them as tensors.

``load_dataset(name, data_root)`` finds the dataset under the data root (then the user cache dir),
downloads it from its canonical source when missing (md5-checked), checks every file whose md5 is
known (:func:`known_checksums`; once per file version, see :mod:`c3bench.data.integrity`), decodes
it once, and returns uint8 tensors [N, 3, 32, 32] per split, from the on-disk cache on every later
call. Progress is reported through :mod:`c3bench.data.progress`; nothing here prints.

Preprocessing (version ``cache.PREPROCESS_VERSION``): 32x32 images are kept; smaller ones (the
28x28 MNIST, Fashion-MNIST and notMNIST) are zero-padded to 32x32 (2 pixels each side), and
grayscale is copied to 3 channels (stored once, expanded as a view on load).

Normalisation per dataset (per channel, on [0, 1] pixels):

==============  ============================  ============================  ==========================
dataset         mean                          std                           source
==============  ============================  ============================  ==========================
cifar10         (0.4914, 0.4822, 0.4465)      (0.2023, 0.1994, 0.2010)      AdaSplit authors (a common
                                                                            per-image std; the pixel
                                                                            std is 0.247/0.243/0.262)
cifar100        (0.5071, 0.4865, 0.4409)      (0.2673, 0.2564, 0.2762)      canonical train statistics
mnist           0.1000                        0.2752                        HAT/FedWeIT, padded to 32
fashion-mnist   0.2190                        0.3318                        HAT/FedWeIT, padded to 32
notmnist        0.3257                        0.4399                        measured here, padded to 32
==============  ============================  ============================  ==========================

Layouts recognised (relative to a data root); the first one found is used:

* mnist / fashion-mnist: ``MNIST/raw/`` / ``FashionMNIST/raw/`` with the four IDX files, ``.gz`` or
  not (torchvision's layout).
* cifar10: ``cifar-10-batches-py/`` (python pickles), ``cifar-10-python.tar.gz`` (extracted on
  first use), or ``CIFAR-10-images/{train,test}.tar`` (or folders) of ``<class>/<file>`` images with
  an optional ``classes.txt``.
* cifar100: ``cifar-100-python/``, ``cifar-100-python.tar.gz``, or ``CIFAR-100-images/`` as above
  (labels: line numbers of ``classes.txt``, so a subset of classes keeps the canonical numbers).
* notmnist: ``notMNIST_small/notMNIST_small.tar``, ``notMNIST_small.tar.gz`` (read as is), or the
  extracted ``notMNIST_small/A..J/`` folders. One split only (``train``); unreadable files are
  skipped and counted in ``Dataset.skipped``.

Users' own images: :func:`load_image_folder` reads a folder (or tar) of ``<class>/<file>`` images,
with ``train``/``test`` sub-folders or tars when present.
"""

from __future__ import annotations

import pickle
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from c3bench.data import cache, checksums, integrity, progress, readers
from c3bench.data.download import (
    ChecksumError,
    DownloadError,
    RemoteFile,
    extract_archive,
    fetch,
    offline,
    source_urls,
)
from c3bench.data.root import download_root, is_writable, search_roots, tensor_cache_dir
from c3bench.federation import Normalization
from c3bench.hparams import ConfigError, did_you_mean
from c3bench.registry import DATASETS

SIZE = 32
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
NOTMNIST_CLASSES = tuple("ABCDEFGHIJ")
MNIST_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


def _gray(mean: float, std: float) -> Normalization:
    return Normalization((mean,) * 3, (std,) * 3)


@dataclass
class Split:
    """One split: ``x`` uint8 [N, 3, 32, 32], ``y`` int64 [N]."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class Dataset:
    """A loaded dataset: its splits as tensors, class names, normalisation and where it came from."""

    name: str
    classes: tuple[str, ...]
    splits: dict[str, Split]
    normalization: Normalization
    source: str = ""
    skipped: tuple[str, ...] = field(default_factory=tuple)
    cache_hit: bool = False

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def label(self, class_name: str) -> int:
        """Label number of a class name (ConfigError if absent)."""
        if class_name not in self.classes:
            raise ConfigError(f"dataset '{self.name}' has no class '{class_name}'."
                              f"{did_you_mean(class_name, self.classes)}")
        return self.classes.index(class_name)

    def pooled(self, names: Sequence[str] | None = None) -> Split:
        """The given splits (default: all present, train first) concatenated."""
        names = [n for n in ("train", "test") if n in self.splits] if names is None else list(names)
        parts = [self.splits[n] for n in names]
        if len(parts) == 1:
            return parts[0]
        y = torch.cat([p.y for p in parts])
        if all(p.x.stride(1) == 0 for p in parts):  # grayscale views: join the one stored channel
            return Split(torch.cat([p.x[:, :1] for p in parts]).expand(-1, 3, -1, -1), y)
        return Split(torch.cat([p.x for p in parts]), y)


# ---------------------------------------------------------------- layouts
Reader = Callable[[dict[str, Path]], dict[str, readers.RawImages]]


@dataclass(frozen=True)
class Layout:
    """One way a dataset can sit under a data root.

    ``required``: groups of alternative relative paths; every group needs one existing path.
    ``optional``: the same for parts that may be absent (a missing test split).
    ``read`` gets {group key: found path} and returns {split: RawImages}.
    """

    description: str
    required: dict[str, tuple[str, ...]]
    read: Reader
    optional: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def find(self, root: Path) -> dict[str, Path] | None:
        found: dict[str, Path] = {}
        for groups, needed in ((self.required, True), (self.optional, False)):
            for key, alternatives in groups.items():
                hit = next((root / a for a in alternatives if (root / a).exists()), None)
                if hit is not None:
                    found[key] = hit
                elif needed:
                    return None
        return found

    def missing(self, root: Path) -> list[str]:
        return [" or ".join(alts) for alts in self.required.values() if not any((root / a).exists() for a in alts)]


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: its layouts, its download (files, then an optional archive to extract)."""

    name: str
    description: str
    normalization: Normalization
    layouts: tuple[Layout, ...]
    remote: tuple[RemoteFile, ...] = ()
    extract: tuple[str, str] | None = None  # (archive path, top folder) to unpack after download


def _idx_layout(folder: str, classes: tuple[str, ...]) -> Layout:
    stems = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
             "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}

    def read(found: dict[str, Path]) -> dict[str, readers.RawImages]:
        return {s: readers.read_idx_pair(found[f"{s}_x"], found[f"{s}_y"], classes) for s in ("train", "test")}

    return Layout(f"{folder}/raw/ with the four IDX files (.gz or not; torchvision's layout)",
                  {k: (f"{folder}/raw/{v}", f"{folder}/raw/{v}.gz") for k, v in stems.items()}, read)


def _idx_remote(folder: str, base_urls: Sequence[str], md5: dict[str, str]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"{folder}/raw/{name}", tuple(u + name for u in base_urls), md5=digest)
                 for name, digest in md5.items())


def _pickle_layout(kind: str, folder: str) -> Layout:
    spec = readers.CIFAR_PICKLES[kind]
    names = [*spec["train"], *spec["test"], spec["meta"]]

    def read(found: dict[str, Path]) -> dict[str, readers.RawImages]:
        base = found[spec["meta"]].parent
        return {s: readers.read_cifar_pickles(base, kind, s) for s in ("train", "test")}

    return Layout(f"{folder}/ (the python pickles: {', '.join(names)})", {n: (f"{folder}/{n}",) for n in names}, read)


def _read_images(default_classes: tuple[str, ...] | None) -> Reader:
    """Reader of class-folder splits; labels from classes.txt, else the defaults, else sorted folders."""
    def read(found: dict[str, Path]) -> dict[str, readers.RawImages]:
        splits = [s for s in ("train", "test") if s in found]
        if "classes" in found:
            classes = readers.read_classes_file(found["classes"])
        elif default_classes is not None:
            classes = default_classes
        else:  # every split must number the classes alike
            classes = tuple(sorted({c for s in splits for c in readers.class_folders(found[s])}))
        return {s: readers.read_class_images(found[s], classes) for s in splits}

    return read


def _images_layout(folder: str, default_classes: tuple[str, ...] | None) -> Layout:
    return Layout(f"{folder}/train.tar (or train/) of <class>/<file> images, optional test.tar and classes.txt",
                  {"train": (f"{folder}/train.tar", f"{folder}/train")}, _read_images(default_classes),
                  optional={"test": (f"{folder}/test.tar", f"{folder}/test"), "classes": (f"{folder}/classes.txt",)})


def _notmnist_layout(description: str, path: str) -> Layout:
    def read(found: dict[str, Path]) -> dict[str, readers.RawImages]:
        return {"train": readers.read_class_images(found["train"], NOTMNIST_CLASSES)}

    return Layout(description, {"train": (path,)}, read)


_TORONTO = "https://www.cs.toronto.edu/~kriz/"
_SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "MNIST handwritten digits, 60k train / 10k test, 28x28 gray", _gray(0.1000, 0.2752),
        (_idx_layout("MNIST", MNIST_CLASSES),),
        _idx_remote("MNIST", ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"), {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"})),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist", "Fashion-MNIST (Zalando), 60k train / 10k test, 28x28 gray",
        _gray(0.2190, 0.3318), (_idx_layout("FashionMNIST", FASHION_CLASSES),),
        _idx_remote("FashionMNIST", ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",), {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"})),
    "cifar10": DatasetSpec(
        "cifar10", "CIFAR-10, 50k train / 10k test, 32x32 colour",
        Normalization((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
        (_pickle_layout("cifar10", "cifar-10-batches-py"), _images_layout("CIFAR-10-images", CIFAR10_CLASSES)),
        (RemoteFile("cifar-10-python.tar.gz", (_TORONTO + "cifar-10-python.tar.gz",),
                    md5="c58f30108f718f92721af3b95e74349a", size=170498071),),
        extract=("cifar-10-python.tar.gz", "cifar-10-batches-py")),
    "cifar100": DatasetSpec(
        "cifar100", "CIFAR-100 (fine labels), 50k train / 10k test, 32x32 colour",
        Normalization((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
        (_pickle_layout("cifar100", "cifar-100-python"), _images_layout("CIFAR-100-images", None)),
        (RemoteFile("cifar-100-python.tar.gz", (_TORONTO + "cifar-100-python.tar.gz",),
                    md5="eb9058c3a382ffc7106e4002c42a8d85", size=169001437),),
        extract=("cifar-100-python.tar.gz", "cifar-100-python")),
    "notmnist": DatasetSpec(
        "notmnist", "notMNIST small (letters A-J in many fonts), ~18.7k, no split, 28x28 gray",
        _gray(0.3257, 0.4399),
        (_notmnist_layout("notMNIST_small/notMNIST_small.tar (a tar of A..J/<file>.png)",
                          "notMNIST_small/notMNIST_small.tar"),
         _notmnist_layout("notMNIST_small.tar.gz (the original archive)", "notMNIST_small.tar.gz"),
         # checked last: the folder also exists when it only holds the tar
         _notmnist_layout("notMNIST_small/A..J/ folders of PNGs (the extracted archive)", "notMNIST_small")),
        # No md5 is published for this archive; its size is, and the reader checks the content.
        (RemoteFile("notMNIST_small.tar.gz", ("http://yaroslavvb.com/upload/notMNIST/notMNIST_small.tar.gz",
                                              "https://commondatastorage.googleapis.com/books1000/notMNIST_small.tar.gz"),
                    size=8458043),)),
}


def builtins() -> dict[str, DatasetSpec]:
    """The built-in datasets (``c3bench.registry.DATASETS``; plug-ins add theirs by entry point)."""
    return dict(_SPECS)


def dataset_names() -> list[str]:
    """Names of the built-in datasets."""
    return list(_SPECS)  # registration order (a protocol's choices list them so)


def _downloadable() -> dict[str, str]:
    return {r.path: r.md5 for spec in DATASETS.items().values() for r in spec.remote if r.md5 is not None}


def known_checksums() -> dict[str, str]:
    """md5 of every dataset file whose content is known, by path relative to a data root: the
    shared data folder's copies and the canonical downloads."""
    return {**checksums.SHARED_LAYOUT, **_downloadable()}


def restore_hint(rel: str) -> str:
    """How to replace a damaged dataset file at ``rel`` (relative to its data root)."""
    if rel in _downloadable():
        how = "Delete it: it is downloaded again on the next load (or copy a good one in its place)."
    else:
        how = ("Restore it from the shared data folder (`md5sum -c MD5SUMS` there checks its copies) or "
               "from your backup.")
    return how + " `c3bench data verify` checks every dataset file."


def get_spec(name: str) -> DatasetSpec:
    return DATASETS.get(name)


# ---------------------------------------------------------------- preprocessing
def to_tensor32(images: np.ndarray) -> torch.Tensor:
    """uint8 [N,H,W] or [N,H,W,3] with H, W <= 32 -> uint8 [N,C,32,32], zero-padded, centred."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    h, w = x.shape[-2:]
    if h > SIZE or w > SIZE:
        raise ValueError(f"images of {h}x{w} are larger than {SIZE}x{SIZE}; resize them when reading")
    top, left = (SIZE - h) // 2, (SIZE - w) // 2
    if (h, w) != (SIZE, SIZE):
        x = torch.nn.functional.pad(x, (left, SIZE - w - left, top, SIZE - h - top))
    return x.contiguous()


def _entry(splits: dict[str, readers.RawImages], source: str) -> dict:
    first = next(iter(splits.values()))
    return {
        "version": cache.PREPROCESS_VERSION,
        "classes": list(first.classes),
        "source": source,
        "skipped": [s for raw in splits.values() for s in raw.skipped],
        "splits": {name: {"x": to_tensor32(raw.images), "y": torch.from_numpy(raw.labels)} for name, raw in splits.items()},
    }


def _from_entry(name: str, entry: dict, norm: Normalization, hit: bool) -> Dataset:
    splits = {}
    for split, t in entry["splits"].items():
        x = t["x"]
        splits[split] = Split(x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x, t["y"])
    return Dataset(name, tuple(entry["classes"]), splits, norm, entry["source"], tuple(entry["skipped"]), hit)


def _read_error(name: str, source: str, exc: Exception) -> ConfigError:
    if isinstance(exc, integrity.DamagedFile):
        fix = ("Download it again or restore it from its source (`c3bench data verify` checks the files "
               "whose md5 is known).")
        return ConfigError(f"dataset '{name}' could not be read: {exc}. {fix}")
    return ConfigError(f"dataset '{name}' at {source} could not be read: {exc}")


def _load_found(name: str, layout: Layout, found: dict[str, Path], norm: Normalization,
                cache_dir: Path | None) -> Dataset:
    sources = [found[k] for k in sorted(found)]
    key = cache.cache_key(name, sources, cache_dir, extra=layout.description)
    source = ", ".join(str(p) for p in sources)

    def build() -> dict:
        try:
            with progress.step("reading", name):
                return _entry(layout.read(found), source)
        except (ValueError, OSError, KeyError, EOFError, pickle.UnpicklingError, tarfile.TarError) as exc:
            raise _read_error(name, source, exc) from None

    entry, hit = cache.load_or_build(cache_dir, name, key, build)
    return _from_entry(name, entry, norm, hit)


def usable_cache_dir() -> Path | None:
    """The tensor cache folder (created), or None when it cannot be written."""
    cache_dir = tensor_cache_dir()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return cache_dir if is_writable(cache_dir) else None


def _verify_found(root: Path, found: dict[str, Path], memo_dir: Path | None) -> None:
    """Check each found file whose md5 is known against it (ConfigError naming the file if not)."""
    table = known_checksums()
    for path in found.values():
        rel = path.relative_to(root).as_posix()
        if rel in table and path.is_file():
            integrity.verify(path, table[rel], memo_dir, restore_hint(rel), subject=rel)


# ---------------------------------------------------------------- finding, downloading, loading
Located = tuple[Path, Layout, dict[str, Path]]  # (data root, layout, {group key: found path})


def _locate(spec: DatasetSpec, roots: Sequence[Path]) -> Located | None:
    for root in roots:
        for layout in spec.layouts:
            found = layout.find(root)
            if found is not None:
                return root, layout, found
    return None


def _unpack_archives(spec: DatasetSpec, roots: Sequence[Path], data_root) -> bool:
    """Extract a downloaded-but-not-extracted archive (e.g. cifar-10-python.tar.gz), after checking
    its md5; True if done."""
    if spec.extract is None:
        return False
    archive_name, top = spec.extract
    for root in roots:
        archive = root / archive_name
        if archive.is_file():
            _verify_found(root, {"archive": archive}, usable_cache_dir())
            target_root = root if is_writable(root) else download_root(data_root)
            target_root.mkdir(parents=True, exist_ok=True)
            try:
                with progress.step("extracting", archive_name):
                    extract_archive(archive, target_root, top)
            except (OSError, EOFError, ValueError, tarfile.TarError, DownloadError) as exc:
                raise ConfigError(f"could not extract {archive}: {exc}. Delete it to download it again.") from None
            return True
    return False


def _missing_message(spec: DatasetSpec, roots: Sequence[Path], attempt: str) -> str:
    lines = [f"dataset '{spec.name}' ({spec.description}) was not found."]
    lines.append("It needs one of these layouts inside a data folder:")
    for layout in spec.layouts:
        missing = layout.missing(roots[0])
        partial = 0 < len(missing) < len(layout.required)  # some files there: name the others
        note = f"\n      missing there: {'; '.join(missing)}" if partial else ""
        lines.append(f"  - {layout.description}{note}")
    if spec.extract is not None:
        lines.append(f"  - {spec.extract[0]} (the archive; extracted on first use)")
    lines.append("Searched: " + ", ".join(str(r) for r in roots))
    lines.append(attempt)
    target = download_root(roots[0])
    lines.append(
        f"Fix: pass --data-root DIR (or set C3BENCH_DATA=DIR) to a folder that holds these files; or copy them into "
        f"{target}; or allow network access (or set C3BENCH_MIRROR=<base URL>) so they are downloaded to {target}.")
    return "\n".join(lines)


def _download(spec: DatasetSpec, data_root) -> str | None:
    """Download the dataset's files; None on success, else a sentence saying what failed."""
    if not spec.remote:
        return "No download source is known for it."
    target = download_root(data_root)
    try:
        for remote in spec.remote:
            fetch(remote, target)
    except ChecksumError as exc:
        return f"Download rejected (checksum mismatch, file deleted): {exc}"
    except DownloadError as exc:
        return f"Download failed: {exc}"
    except OSError as exc:
        return f"Download failed: cannot write to {target} ({exc})."
    return None


def _available(spec: DatasetSpec, data_root, download: bool) -> Located | str:
    """Find the dataset, downloading it if needed: (root, layout, files), or the error message."""
    roots = search_roots(data_root)
    located = _locate(spec, roots)
    if located is None and _unpack_archives(spec, roots, data_root):
        located = _locate(spec, roots)
    if located is not None:
        return located
    if not download or offline():
        urls = ", ".join(u for r in spec.remote for u in source_urls(r)[:1])
        attempt = f"Downloads are off ({'download=False' if not download else 'C3BENCH_OFFLINE=1'}); source: {urls}."
    else:
        failure = _download(spec, data_root)
        if failure is None:
            _unpack_archives(spec, roots, data_root)
            located = _locate(spec, roots)
            if located is not None:
                return located
            failure = "Downloaded, but the expected files are still missing."
        attempt = failure
    return _missing_message(spec, roots, attempt)


def require_datasets(names: Sequence[str], data_root: str | Path | None = None, *, download: bool = True) -> None:
    """Make sure every named dataset is available (downloading what is missing); otherwise raise
    one ConfigError covering all the missing ones."""
    problems = []
    for name in names:
        with progress.about(name):
            found = _available(get_spec(name), data_root, download)
        if isinstance(found, str):
            problems.append(found)
    if problems:
        raise ConfigError("\n\n".join(problems))


def load_dataset(name: str, data_root: str | Path | None = None, *, download: bool = True) -> Dataset:
    """Load a named dataset as uint8 tensors [N,3,32,32], downloading it first when missing.

    Raises ConfigError (one message: what is missing, where it looked, how to fix it) when the
    dataset is neither present nor downloadable, or when a file is damaged (md5 mismatch, cut
    archive). Progress goes to the callback of :func:`c3bench.data.progress.reporting`.
    """
    spec = get_spec(name)
    with progress.about(name):
        found = _available(spec, data_root, download)
        if isinstance(found, str):
            raise ConfigError(found)
        root, layout, files = found
        cache_dir = usable_cache_dir()
        _verify_found(root, files, cache_dir)
        return _load_found(name, layout, files, spec.normalization, cache_dir)


def image_stats(x: torch.Tensor) -> Normalization:
    """Per-channel mean and (population) std of uint8 images [N,C,H,W] scaled to [0, 1], exact,
    from each channel's 256-bin histogram."""
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = torch.bincount(x[:, c].reshape(-1), minlength=256).to(torch.float64)
        total = counts.sum()
        mean = (counts * values).sum() / total
        var = (counts * values * values).sum() / total - mean * mean
        means.append(round(float(mean), 4))
        stds.append(round(float(var.clamp_min(0.0).sqrt()), 4))
    return Normalization(tuple(means), tuple(stds))


def load_image_folder(path: str | Path, name: str | None = None, normalization: Normalization | None = None) -> Dataset:
    """Users' own images: a folder or tar of ``<class>/<file>``, or one with ``train``/``test`` parts.

    Label numbers follow ``classes.txt`` (in the folder, or beside a tar) when present, else sorted
    folder names.
    Without ``normalization``, the train split's own per-channel statistics are used.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"image folder {path} does not exist.")
    parts = {s: next((p for p in (path / f"{s}.tar", path / s) if p.exists()), None) for s in ("train", "test")}
    if path.is_dir() and parts["train"] is not None:  # <path>/train(.tar), optional test(.tar)
        base = path
        required = {"train": (parts["train"].name,)}
        optional = {"test": (parts["test"].name,)} if parts["test"] is not None else {}
        classes_file = path / "classes.txt"
    else:  # the path itself is the one split: a folder of class folders, or a tar
        base = path.parent
        required, optional = {"train": (path.name,)}, {}
        classes_file = (path if path.is_dir() else base) / "classes.txt"
    if classes_file.is_file():
        optional["classes"] = (classes_file.relative_to(base).as_posix(),)
    layout = Layout("<class>/<file> images", required, _read_images(None), optional=optional)
    found = layout.find(base)
    if found is None:
        raise ConfigError(f"no <class>/<file> images found at {path}.")
    dataset_name = name or f"folder-{path.name}"
    placeholder = Normalization((0.0,) * 3, (1.0,) * 3)
    with progress.about(dataset_name):
        dataset = _load_found(dataset_name, layout, found, placeholder, usable_cache_dir())
    dataset.normalization = normalization or image_stats(dataset.splits["train"].x)
    return dataset
