"""Where datasets and the tensor cache live.

Data root: an explicit path (``--data-root``) > env ``C3BENCH_DATA`` > the per-user cache directory
(platformdirs' ``user_cache_dir("c3bench", opinion=False)``: ``$XDG_CACHE_HOME/c3bench``, else
``~/.cache/c3bench`` on Linux; ``~/Library/Caches/c3bench`` on macOS; ``%LOCALAPPDATA%\\c3bench`` on
Windows).

Tensor cache (preprocessed tensors and the ``digests.json`` / ``verified.json`` memos): env
``C3BENCH_CACHE`` when set, else ``<user cache dir>/tensors``; never inside a data root, which
c3bench only reads. Downloads go to the data root when it is writable, else to the user cache dir.
A data folder that is read-only (by its permission bits, even for root, or by its mount) is never
written to. Nothing here creates a folder; the callers create one only to write into it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import platformdirs

ENV_DATA = "C3BENCH_DATA"
ENV_CACHE = "C3BENCH_CACHE"


def user_cache_dir() -> Path:
    """The per-user cache directory for c3bench (not created here)."""
    return Path(platformdirs.user_cache_dir("c3bench", appauthor=False, opinion=False))


def resolve_data_root(explicit: str | Path | None = None) -> Path:
    """The data root: explicit > env C3BENCH_DATA > per-user cache directory."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    return user_cache_dir()


def search_roots(data_root: str | Path | None = None) -> list[Path]:
    """Folders searched for a dataset, in order: the data root, then the user cache dir (where
    downloads land when the data root is read-only)."""
    roots = [resolve_data_root(data_root), user_cache_dir()]
    out: list[Path] = []
    for r in roots:
        if not any(_same(r, o) for o in out):
            out.append(r)
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def is_writable(path: Path) -> bool:
    """True when ``path`` (or, if absent, its nearest existing parent) may be written.

    Honours the permission bits even for root (who could write anyway), so a folder published
    read-only, like a shared data folder, stays untouched; then a real write probe catches
    read-only mounts.
    """
    probe = Path(path)
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir():
        return False
    st = probe.stat()
    if hasattr(os, "geteuid"):
        if st.st_uid == os.geteuid():
            bit = stat.S_IWUSR
        elif st.st_gid in (os.getegid(), *os.getgroups()):
            bit = stat.S_IWGRP
        else:
            bit = stat.S_IWOTH
        if not st.st_mode & bit:
            return False
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".c3bench-probe-"):
            pass
    except OSError:
        return False
    return True


def download_root(data_root: str | Path | None = None) -> Path:
    """Where a missing dataset is downloaded: the data root if writable, else the user cache dir."""
    root = resolve_data_root(data_root)
    return root if is_writable(root) else user_cache_dir()


def tensor_cache_dir() -> Path:
    """Folder of the preprocessed-tensor cache: env C3BENCH_CACHE, else ``<user cache dir>/tensors``
    (not created here)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    return user_cache_dir() / "tensors"
