"""On-disk cache of preprocessed tensors, keyed by a content hash of the source files.

The key is sha256 over the dataset name, the preprocessing version and the sha256 of every source
file's bytes. Hashing hundreds of MB on every load would cost a second, so each source's content
digest is memoised in ``digests.json`` under a signature of (relative path, size, mtime, inode) of
its files: a warm load stats the files, looks the digest up and memory-maps the tensors.

Entries are written to a temporary file and renamed into place, so a crash or a concurrent writer
never leaves a half-written entry under a valid name. Delete the cache folder at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

PREPROCESS_VERSION = "1"  # bump when the preprocessing changes: old entries are then ignored
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


def _read_memo(cache_dir: Path) -> dict[str, str]:
    try:
        return json.loads((cache_dir / _MEMO).read_text())
    except (OSError, ValueError):
        return {}


def _write_bytes_atomic(path: Path, write: Callable[[Any], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the cache may be shared with others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def source_digest(path: Path, cache_dir: Path | None) -> str:
    """sha256 of a file's or a folder's contents, memoised under its stat signature."""
    files = _listing(Path(path))
    if not files:
        raise FileNotFoundError(f"{path}: no files")
    signature = _signature(files)
    memo = _read_memo(cache_dir) if cache_dir is not None else {}
    if signature in memo:
        return memo[signature]
    digest = _content_digest(files)
    # A file changed within the timestamp granularity of its last stat could change again unseen
    # (the "racy" case git knows too): such a digest is used but not memoised.
    newest = max(full.stat().st_mtime_ns for _, full in files)
    if cache_dir is not None and time.time_ns() - newest > 2_000_000_000:
        memo = _read_memo(cache_dir)  # re-read: another process may have added entries meanwhile
        memo[signature] = digest
        try:
            _write_bytes_atomic(cache_dir / _MEMO, lambda f: f.write(json.dumps(memo, indent=0).encode()))
        except OSError:
            pass  # a read-only cache only costs speed
    return digest


def cache_key(name: str, sources: Sequence[Path], cache_dir: Path | None, extra: str = "") -> str:
    """Key of a dataset built from ``sources`` with the current preprocessing."""
    h = hashlib.sha256(f"{name}\0{PREPROCESS_VERSION}\0{extra}\n".encode())
    for src in sources:
        h.update(f"{Path(src).name}\0{source_digest(Path(src), cache_dir)}\n".encode())
    return h.hexdigest()


def entry_path(cache_dir: Path, name: str, key: str) -> Path:
    return Path(cache_dir) / f"{name}-{key[:24]}.pt"


def load_or_build(cache_dir: Path | None, name: str, key: str, build: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Return (entry, hit): the cached entry (memory-mapped) or a fresh ``build()``, then stored."""
    if cache_dir is not None:
        path = entry_path(cache_dir, name, key)
        if path.is_file():
            try:
                return torch.load(path, mmap=True, weights_only=True), True
            except Exception as exc:  # a damaged entry is rebuilt, never trusted
                warnings.warn(f"ignoring unreadable cache entry {path}: {exc}", stacklevel=2)
    entry = build()
    if cache_dir is not None:
        try:
            _write_bytes_atomic(entry_path(cache_dir, name, key), lambda f: torch.save(entry, f))
        except OSError as exc:
            warnings.warn(f"could not write the tensor cache in {cache_dir} ({exc}); loads will stay slow. "
                          "Set C3BENCH_CACHE to a writable folder.", stacklevel=2)
    return entry, False
