"""An exclusive lock per result name, held for a run's whole life, so two runs never write one record.

``fcntl.flock`` locks are released by the kernel when their process dies (kill -9 included), so a
crashed run never leaves a stale lock; on systems without ``fcntl`` runs are not locked.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FOLDER = ".locks"


class RunLock:
    """``with RunLock(out_dir, name):`` holds the lock of ``name`` in ``out_dir`` or raises Busy."""

    class Busy(Exception):
        pass

    def __init__(self, out_dir: Path, name: str):
        self.path = Path(out_dir) / LOCK_FOLDER / f"{name}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if it is free; True when held."""
        if fcntl is None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)  # a planted link: ELOOP
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        if not self.acquire():
            raise RunLock.Busy(str(self.path))
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_free(out_dir: Path, name: str) -> bool:
    """Whether no live run holds ``name`` (takes and drops the lock to find out)."""
    lock = RunLock(out_dir, name)
    if lock.acquire():
        lock.release()
        return True
    return False


def remove_stale_temporaries(out_dir: Path, held: str | None = None) -> list[Path]:
    """Delete half-written ``.<name>.json.XXXX.tmp`` (and checkpoint and round log) temporaries left by killed runs
    whose name no live run holds (``held``: the name the caller itself holds); returns what was removed."""
    removed = []
    for folder in (Path(out_dir), Path(out_dir) / ".checkpoints"):
        if not folder.is_dir():
            continue
        for tmp in folder.glob(".*.tmp"):
            stem = tmp.name[1:].split(".json.")[0].split(".pt.")[0].split(".rounds.jsonl.")[0]
            if stem == held or is_free(out_dir, stem):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


class FolderLock:
    """``with FolderLock(folder):`` holds an exclusive lock on a whole folder (a leaderboard folder while
    ``submit`` or ``render`` changes it), waiting up to ``timeout`` seconds for another holder; raises
    ConfigError after that. The lock is taken on the folder itself, so it adds no file to it."""

    def __init__(self, folder: Path, timeout: float = 600.0):
        self.folder = Path(folder)
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        if fcntl is None:
            return self
        import time

        fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    from c3bench.hparams import ConfigError

                    raise ConfigError(f"{self.folder}: another c3bench command has been changing it for "
                                      f"{self.timeout:g} s; wait for it to end and try again.") from None
                time.sleep(0.05)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
