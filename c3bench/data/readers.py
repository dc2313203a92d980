"""Readers for image datasets as users download them. Each returns a ``RawImages`` (numpy, uint8).

* IDX (MNIST, Fashion-MNIST), gzipped or not: :func:`read_idx`, :func:`read_idx_pair`.
* CIFAR-10/100 python pickles: :func:`read_cifar_pickles` (a restricted unpickler: only numpy
  arrays and plain containers can be built, never arbitrary objects).
* Class-folder images, as a folder or a tar (``.tar``, ``.tar.gz``) of ``<class>/<file>`` members:
  :func:`read_class_images`. The label of an image is the name of the folder that directly holds
  it; label numbers follow ``classes`` (e.g. from ``classes.txt``) when given, else sorted folder
  names. Unreadable files (zero-byte or truncated images, as in notMNIST) are skipped and counted,
  never fatal; non-image files (by extension) and hidden files are ignored.

A damaged container is never read in part: a gzip file that is cut short or corrupt, an IDX file
shorter than its header says, or a tar with a damaged header, a cut member or no end-of-archive
marker (a cut between two members) raise :class:`~c3bench.data.integrity.DamagedFile` (a
ValueError). Decoding reports the stage "decoding" to :mod:`c3bench.data.progress`.

Every reader returns samples grouped by label (a stable sort), with files of one class in natural
name order ("2.png" before "10.png"). So the order does not depend on the file system's listing,
and per-image copies numbered in their canonical order read in the same order as the canonical
files sorted by label. PIL is used here only, to decode each image once.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from c3bench.data import progress
from c3bench.data.integrity import DamagedFile, check_tar_end

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


@dataclass
class RawImages:
    """Decoded images: ``images`` uint8 [N, H, W] (grayscale) or [N, H, W, 3]; ``labels`` int64 [N]."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    skipped: tuple[str, ...] = field(default_factory=tuple)  # unreadable files, by name

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 [N,H,W] or [N,H,W,3], got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError("one label per image expected")

    def __len__(self) -> int:
        return int(self.images.shape[0])


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically ("2.png" < "10.png")."""
    return tuple(int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", name)))


def _group_by_label(images: np.ndarray, labels: np.ndarray, classes: Sequence[str],
                    skipped: Sequence[str] = ()) -> RawImages:
    order = np.argsort(labels, kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        images, labels = images[order], labels[order]
    return RawImages(np.ascontiguousarray(images), labels.astype(np.int64), tuple(classes), tuple(skipped))


# ---------------------------------------------------------------- IDX (MNIST, Fashion-MNIST)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or not): big-endian header (0, 0, dtype, ndim, dims...) then data."""
    path = Path(path)
    data = _read_gzip(path) if path.suffix == ".gz" else path.read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic {data[:4].hex()})")
    ndim = data[3]
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - offset != expected:
        raise DamagedFile(f"{path}: header says {dims} ({expected:,} bytes) but {len(data) - offset:,} bytes follow")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(dims)


def _read_gzip(path: Path) -> bytes:
    """A gzip file's contents; DamagedFile when it is cut short or corrupt (bad data or CRC)."""
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DamagedFile(f"{path}: the gzip file is cut short or corrupt ({exc})") from None


def idx_path(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (the uncompressed one first)."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx_pair(images_path: Path, labels_path: Path, classes: Sequence[str]) -> RawImages:
    """An images file (magic 2051, [N, rows, cols]) and its labels file (magic 2049, [N])."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{images_path}: expected uint8 images [N, rows, cols], got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(f"{labels_path}: labels outside 0..{len(classes) - 1}")
    return _group_by_label(images, labels, classes)


# ---------------------------------------------------------------- CIFAR python pickles
class _ArrayUnpickler(pickle.Unpickler):
    """Builds only numpy arrays, dtypes and scalars besides plain containers."""

    _ALLOWED = {"_reconstruct", "scalar", "_frombuffer", "ndarray", "dtype"}

    def find_class(self, module: str, name: str):
        if module.split(".")[0] == "numpy" and name in self._ALLOWED:
            return super().find_class(module, name)
        if module in ("_codecs",) and name == "encode":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset pickle")


def load_pickle(path: Path) -> dict:
    """Load a CIFAR pickle (Python 2 or 3) into a dict with str keys."""
    with open(path, "rb") as f:
        obj = _ArrayUnpickler(f, encoding="latin1").load()
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict, got {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


CIFAR_PICKLES = {
    "cifar10": {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"], "meta": "batches.meta",
                "names": "label_names", "labels": "labels"},
    "cifar100": {"train": ["train"], "test": ["test"], "meta": "meta", "names": "fine_label_names",
                 "labels": "fine_labels"},
}


def cifar_classes(folder: Path, kind: str) -> tuple[str, ...]:
    """Class names from the ``batches.meta`` / ``meta`` pickle."""
    spec = CIFAR_PICKLES[kind]
    names = load_pickle(folder / spec["meta"])[spec["names"]]
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def read_cifar_pickles(folder: str | Path, kind: str, split: str) -> RawImages:
    """``cifar-10-batches-py`` / ``cifar-100-python`` batches of one split ('train' or 'test')."""
    folder = Path(folder)
    spec = CIFAR_PICKLES[kind]
    classes = cifar_classes(folder, kind)
    images, labels = [], []
    for name in spec[split]:
        batch = load_pickle(folder / name)
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"{folder / name}: 'data' must be [N, 3072] uint8, got {data.shape}")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[spec["labels"]], dtype=np.int64))
        if labels[-1].shape[0] != data.shape[0]:
            raise ValueError(f"{folder / name}: {labels[-1].shape[0]} labels for {data.shape[0]} images")
    y = np.concatenate(labels)
    if y.size and (y.min() < 0 or y.max() >= len(classes)):
        raise ValueError(f"{folder}: labels outside 0..{len(classes) - 1}")
    return _group_by_label(np.concatenate(images), y, classes)


# ---------------------------------------------------------------- class-folder images
def read_classes_file(path: str | Path) -> tuple[str, ...]:
    """One class name per non-empty line; line i is label i."""
    names = [line.strip() for line in Path(path).read_text().splitlines()]
    return tuple(n for n in names if n)


def _is_image_name(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS and len(p.parts) >= 2


def _iter_folder(root: Path) -> Iterator[tuple[str, bytes]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(root)
        if rel == Path("."):
            continue  # files beside the class folders are not images of any class
        for name in filenames:
            member = (rel / name).as_posix()
            if _is_image_name(member):
                yield member, (Path(dirpath) / name).read_bytes()


def _octal(field: bytes) -> int:
    return int(field.split(b"\0")[0].strip() or b"0", 8)


def _header_ok(header: bytes) -> bool:
    """True when a tar header's stored checksum matches (unsigned, or the signed sum old tars wrote)."""
    try:
        stored = _octal(header[148:156])
    except ValueError:
        return False
    rest = header[:148] + header[156:]
    return stored in (sum(rest) + 256, sum(b - 256 if b > 127 else b for b in rest) + 256)


def _iter_plain_tar(data: bytes, path: Path) -> list[tuple[str, bytes]] | None:
    """Members of an uncompressed ustar archive held in memory, or None for pax or GNU extensions
    and links, which the standard tarfile module then reads. A damaged header, a cut member or a
    missing end-of-archive block raise DamagedFile: the archive is never read in part."""
    out, pos, view, count = [], 0, memoryview(data), 0
    while pos + 512 <= len(data):
        header = data[pos:pos + 512]
        if header == b"\0" * 512:
            return out
        if not _header_ok(header):
            raise DamagedFile(f"{path}: damaged tar header at byte {pos:,} (after {count:,} members)")
        kind = header[156:157]
        if kind not in (b"0", b"\0", b"5"):
            return None
        name = header[:100].split(b"\0")[0].decode("utf-8", "surrogateescape")
        if header[257:262] == b"ustar" and header[345]:
            name = header[345:500].split(b"\0")[0].decode("utf-8", "surrogateescape") + "/" + name
        size = _octal(header[124:136])
        pos += 512
        if pos + size > len(data):
            raise DamagedFile(f"{path}: the archive is cut short inside member {name} "
                              f"({count:,} members before it)")
        if kind != b"5" and _is_image_name(name):
            out.append((name, bytes(view[pos:pos + size])))
        pos += (size + 511) // 512 * 512
        count += 1
    raise DamagedFile(f"{path}: the archive is cut short after {count:,} members (no end-of-archive marker)")


def _iter_tar(path: Path) -> Iterator[tuple[str, bytes]]:
    if tarfile.is_tarfile(path) and path.suffix == ".tar":
        members = _iter_plain_tar(path.read_bytes(), path)
        if members is not None:
            yield from members
            return
    # Sequential iteration: backwards seeks in a compressed tar would re-decompress from the start.
    try:
        with tarfile.open(path, "r:*") as tf:
            for member in tf:
                if member.isfile() and _is_image_name(member.name):
                    handle = tf.extractfile(member)
                    yield member.name, handle.read() if handle is not None else b""
            check_tar_end(tf, path)
    except (EOFError, zlib.error, gzip.BadGzipFile, tarfile.TarError) as exc:
        raise DamagedFile(f"{path}: not a readable tar archive, or cut short or corrupt ({exc})") from None


def class_folders(source: str | Path) -> list[str]:
    """Sorted names of the class folders under a folder or tar, without decoding any image."""
    source = Path(source)
    if source.is_dir():
        names = {PurePosixPath(p.relative_to(source).as_posix()).parent.name
                 for p in source.rglob("*") if p.is_file() and _is_image_name(p.relative_to(source).as_posix())}
    else:
        with tarfile.open(source, "r:*") as tf:
            names = {PurePosixPath(m.name).parent.name for m in tf if m.isfile() and _is_image_name(m.name)}
    return sorted(names)


def _decode(data: bytes) -> np.ndarray | None:
    """Decode one image to uint8 [H, W] (grayscale modes) or [H, W, 3]; None if unreadable."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode not in ("L", "RGB"):
                im = im.convert("L" if im.mode in _GRAY_MODES else "RGB")
            return np.asarray(im)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def _fit(arrays: list[np.ndarray], size: tuple[int, int], color: bool) -> np.ndarray:
    """Stack images, resizing the ones of another size and turning grayscale into RGB if any is colour."""
    from PIL import Image

    shape = (*size, 3) if color else size
    if all(a.shape == shape for a in arrays):
        return np.stack(arrays)
    out = np.empty((len(arrays), *shape), dtype=np.uint8)
    for i, a in enumerate(arrays):
        if a.shape[:2] != size:
            a = np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.Resampling.BILINEAR))
        if color and a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        out[i] = a
    return out


def read_class_images(source: str | Path, classes: Sequence[str] | None = None, max_side: int = 32) -> RawImages:
    """Images under ``<class>/<file>`` in a folder or a tar (compressed or not).

    ``classes`` fixes the label numbers (a folder name not in it is an error); without it the
    sorted folder names are used. All images take the size of the first one, or
    ``max_side x max_side`` when the first is larger; others are resized (bilinear).
    """
    source = Path(source)
    items = _iter_folder(source) if source.is_dir() else _iter_tar(source)
    members = sorted(((PurePosixPath(name).parent.name, PurePosixPath(name).name, data) for name, data in items),
                     key=lambda t: (t[0], natural_key(t[1])))
    folder_names = sorted({m[0] for m in members})
    if classes is None:
        classes = folder_names
    index = {c: i for i, c in enumerate(classes)}
    unknown = [c for c in folder_names if c not in index]
    if unknown:
        raise ValueError(f"{source}: folders {unknown[:5]} are not in the class list ({len(classes)} names)")
    arrays, labels, skipped = [], [], []
    counter = progress.Counter("decoding", source.name, len(members), "images")
    for cls, name, data in members:
        arr = _decode(data)
        counter.advance()
        if arr is None:
            skipped.append(f"{cls}/{name}")
            continue
        arrays.append(arr)
        labels.append(index[cls])
    counter.close()
    if not arrays:
        raise ValueError(f"{source}: no readable images in <class>/<file> layout"
                         + (f" ({len(skipped)} unreadable)" if skipped else ""))
    first = arrays[0].shape[:2]
    size = first if max(first) <= max_side else (max_side, max_side)
    color = any(a.ndim == 3 for a in arrays)
    return _group_by_label(_fit(arrays, size, color), np.asarray(labels, dtype=np.int64), classes, skipped)
