"""Atomic writes and small JSON memos (``digests.json``, ``verified.json``) in the tensor cache folder.

A memo only saves time: an unreadable one reads as empty, and one that cannot be written is skipped.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# A file changed within the timestamp granularity of its last stat could change again unseen (the
# "racy" case git knows too): facts about files younger than this are used but not memoised.
RACY_NS = 2_000_000_000


def write_atomic(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` through ``write(file)`` into a temporary file renamed into place."""
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


def read_memo(path: Path) -> dict:
    """The memo's contents, or {} when it is absent or unreadable."""
    try:
        memo = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def remember(path: Path, key: str, value: Any) -> None:
    """Set ``key`` in the memo at ``path`` (re-read first: another process may have added entries)."""
    memo = read_memo(path)
    memo[key] = value
    try:
        write_atomic(path, lambda f: f.write(json.dumps(memo, indent=0).encode()))
    except OSError:
        pass  # a read-only cache only costs speed


def settled(mtime_ns: int) -> bool:
    """True when a file last changed long enough ago for its stat signature to be trusted."""
    return time.time_ns() - mtime_ns > RACY_NS
