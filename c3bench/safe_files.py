"""Files that c3bench reads and writes on behalf of someone else: never through a symbolic link where a
folder's content must be its own (a board, a results folder), never more than a stated size, and an
operating-system failure (disk full, read-only folder, a name too long) told as one sentence that says
what to do next.

* :func:`read_own_file`: the bytes of a regular file that is not a link, at most ``limit`` bytes,
  checked before anything is read (a FIFO or a folder named ``x.json`` is refused, not waited on).
* :func:`refuse_links`: raise when any folder between a root and a target, or the target, is a link.
* :func:`describe_os_error`: an OSError as a user-facing sentence.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from c3bench.hparams import ConfigError


class LinkRefused(ConfigError):
    """A path that must be a folder's own file or folder is a symbolic link."""


class TooLarge(ConfigError):
    """A file beyond the size c3bench reads."""


def read_own_file(path: str | Path, limit: int, what: str = "file", follow_links: bool = False) -> bytes:
    """The content of ``path``, a regular file and (unless ``follow_links``) not a symbolic link, of at
    most ``limit`` bytes.

    Raises LinkRefused, TooLarge, ConfigError (not a regular file) or OSError (missing, unreadable).
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_links and (exc.errno == errno.ELOOP or (exc.errno == errno.EMLINK and path.is_symlink())):
            raise LinkRefused(f"{path}: is a symbolic link; a {what} must be a file of its own, not a link "
                              "(copy the file in instead).") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: is not a regular file; a {what} must be one.")
        if info.st_size > limit:
            raise TooLarge(f"{path}: is {info.st_size:,} bytes; a {what} is at most {limit:,} bytes.")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:  # grew while being read
            raise TooLarge(f"{path}: is more than {limit:,} bytes; a {what} is at most {limit:,} bytes.")
        return data
    finally:
        os.close(fd)


def refuse_links(root: str | Path, target: str | Path, what: str = "folder") -> None:
    """Raise LinkRefused when ``target`` or any folder between ``root`` (excluded) and it is a symbolic
    link: what is written there would land wherever the link points."""
    root, target = Path(root), Path(target)
    try:
        parts = target.relative_to(root).parts
    except ValueError:
        raise LinkRefused(f"{target}: is not inside {root}.") from None
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise LinkRefused(f"{current}: is a symbolic link; c3bench writes a {what}'s files only into the "
                              f"{what} itself. Remove the link (or replace it with a real file or folder).")


ADVICE = {
    errno.ENOSPC: "the disk is full: free some space and run the same command again",
    errno.EDQUOT: "the disk quota is used up: free some space and run the same command again",
    errno.EROFS: "the file system is read-only: choose a writable folder",
    errno.EACCES: "permission denied: choose a folder you may write to",
    errno.EPERM: "the operation is not permitted: choose a folder you may write to",
    errno.ENAMETOOLONG: "the name is too long for the file system: choose a shorter name or folder",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ELOOP: "too many symbolic links (or a link where a file was expected)",
}


def describe_os_error(exc: OSError, then: str = "") -> str:
    """``exc`` as one sentence for a user: the file, what went wrong and what to do; ``then`` adds what
    the command keeps (e.g. that a run can be resumed)."""
    where = exc.filename if exc.filename is not None else "a file"
    if getattr(exc, "filename2", None):
        where = f"{where} -> {exc.filename2}"
    reason = ADVICE.get(exc.errno or -1) or (exc.strerror or type(exc).__name__)
    return f"{where}: {reason}.{' ' + then if then else ''}"
