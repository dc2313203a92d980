"""On-disk cache of preprocessed tensors, keyed by a content hash of the source files.

The key is sha256 over the dataset name, the preprocessing version and the sha256 of every source
file's bytes. Hashing hundreds of MB on every load would cost a second, so each source's content
digest is memoised in ``digests.json`` under a signature of (relative path, size, mtime, inode) of
its files: a warm load stats the files, looks the digest up and memory-maps the tensors.

Entries are written to a temporary file and renamed into place, so a crash or a concurrent writer
never leaves a half-written entry under a valid name. Each entry stores a sha256 of its payload
(tensors and metadata); a load recomputes it (about 0.1 s per 150 MB) and rebuilds the entry, with
a warning, when the stored bytes do not match. ``ENTRY_FORMAT`` is the version of that on-disk
layout (in the entry's file name); it is not part of any protocol hash, unlike
``PREPROCESS_VERSION``. Delete the cache folder at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from c3bench.data import memo, progress

PREPROCESS_VERSION = "1"  # bump when the preprocessing changes: old entries are then ignored
ENTRY_FORMAT = "2"  # bump when the entry file's layout changes (2: payload checksum)
_MEMO = "digests.json"


def _listing(path: Path) -> list[tuple[str, Path]]:
    if path.is_file():
        return [(path.name, path)]
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                full = Path(dirpath) / name
                out.append((full.relative_to(path).as_posix(), full))
    return out


def _signature(files: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256()
    for rel, full in files:
        st = full.stat()
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    return h.hexdigest()


def _content_digest(files: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256()
    for rel, full in files:
        file_hash = hashlib.sha256()
        with open(full, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                file_hash.update(block)
        h.update(f"{rel}\0{file_hash.hexdigest()}\n".encode())
    return h.hexdigest()


def source_digest(path: Path, cache_dir: Path | None) -> str:
    """sha256 of a file's or a folder's contents, memoised under its stat signature."""
    files = _listing(Path(path))
    if not files:
        raise FileNotFoundError(f"{path}: no files")
    signature = _signature(files)
    known = memo.read_memo(cache_dir / _MEMO) if cache_dir is not None else {}
    if signature in known:
        return known[signature]
    digest = _content_digest(files)
    newest = max(full.stat().st_mtime_ns for _, full in files)
    if cache_dir is not None and memo.settled(newest):
        memo.remember(cache_dir / _MEMO, signature, digest)
    return digest


def cache_key(name: str, sources: Sequence[Path], cache_dir: Path | None, extra: str = "") -> str:
    """Key of a dataset built from ``sources`` with the current preprocessing."""
    h = hashlib.sha256(f"{name}\0{PREPROCESS_VERSION}\0{extra}\n".encode())
    for src in sources:
        h.update(f"{Path(src).name}\0{source_digest(Path(src), cache_dir)}\n".encode())
    return h.hexdigest()


def entry_path(cache_dir: Path, name: str, key: str) -> Path:
    """File of the entry for dataset ``name`` under ``key``, in the current entry format."""
    return Path(cache_dir) / f"{name}-{key[:24]}-e{ENTRY_FORMAT}.pt"


def payload_checksum(entry: dict[str, Any]) -> str:
    """sha256 over an entry's metadata and the bytes, dtype and shape of each of its tensors."""
    meta = {k: v for k, v in entry.items() if k not in ("splits", "checksum")}
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for split in sorted(entry["splits"]):
        for field in sorted(entry["splits"][split]):
            t = entry["splits"][split][field].contiguous()
            h.update(f"\n{split}\0{field}\0{t.dtype}\0{tuple(t.shape)}\n".encode())
            h.update(memoryview(t.numpy()).cast("B"))
    return h.hexdigest()


def _load_entry(path: Path) -> dict[str, Any] | None:
    """The entry at ``path`` (memory-mapped) when it loads and its checksum holds, else None (warned)."""
    try:
        entry = torch.load(path, mmap=True, weights_only=True)
    except Exception as exc:  # a damaged entry is rebuilt, never trusted
        warnings.warn(f"ignoring unreadable cache entry {path}: {exc}; rebuilding it", stacklevel=3)
        return None
    try:
        intact = entry.get("checksum") == payload_checksum(entry)
    except (AttributeError, KeyError, TypeError, RuntimeError):
        intact = False
    if not intact:
        warnings.warn(f"ignoring damaged cache entry {path} (its payload does not match its checksum); "
                      "rebuilding it", stacklevel=3)
        return None
    return entry


def _store(cache_dir: Path, name: str, key: str, entry: dict[str, Any]) -> None:
    stored = {**entry, "checksum": payload_checksum(entry)}
    try:
        memo.write_atomic(entry_path(cache_dir, name, key), lambda f: torch.save(stored, f))
    except OSError as exc:
        warnings.warn(f"could not write the tensor cache in {cache_dir} ({exc}); loads will stay slow. "
                      "Set C3BENCH_CACHE to a writable folder.", stacklevel=3)


def load_or_build(cache_dir: Path | None, name: str, key: str,
                  build: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Return (entry, hit): the cached entry (memory-mapped, checksum verified) or a fresh
    ``build()``, then stored. Reports the stages "loading cache" and "building cache" of ``name``."""
    if cache_dir is not None:
        path = entry_path(cache_dir, name, key)
        if path.is_file():
            with progress.step("loading cache", name):
                entry = _load_entry(path)
            if entry is not None:
                return entry, True
    entry = build()
    if cache_dir is not None:
        with progress.step("building cache", name):
            _store(cache_dir, name, key, entry)
    return entry, False
