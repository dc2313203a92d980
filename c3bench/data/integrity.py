"""Integrity of dataset files: md5 against a known table, memoised, and whole-archive checks.

A file with a known md5 is hashed once; the md5 found is memoised in ``verified.json`` (in the
tensor cache folder) under the file's absolute path, size, mtime and inode, so later loads only
stat it. A mismatch is a ConfigError naming the file, both md5s and the fix. Files without a known
md5 are not refused; the readers still reject a truncated or corrupt archive
(:class:`DamagedFile`, see :func:`check_tar_end`) instead of reading part of it.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from c3bench.data import memo, progress
from c3bench.hparams import ConfigError

CHUNK = 1 << 22
MEMO = "verified.json"
_ZERO_BLOCK = b"\0" * tarfile.BLOCKSIZE


class DamagedFile(ValueError):
    """A dataset file is truncated or corrupt (it can be parsed only in part, or not at all)."""


@dataclass(frozen=True)
class FileCheck:
    """The result of checking one file against its known md5."""

    path: Path
    expected: str
    found: str

    @property
    def ok(self) -> bool:
        return self.found == self.expected


def md5_file(path: Path, subject: str | None = None) -> str:
    """md5 of a file's bytes, reported as the stage "verifying" of ``subject`` (default: its name)."""
    counter = progress.Counter("verifying", subject or path.name, path.stat().st_size, "bytes")
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
            counter.advance(len(block))
    counter.close()
    return h.hexdigest()


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def file_md5(path: Path, memo_dir: Path | None, subject: str | None = None, fresh: bool = False) -> str:
    """md5 of ``path``: from the memo while its size, mtime and inode are unchanged (unless
    ``fresh``), else hashed and memoised."""
    key = str(Path(path).resolve())
    stamp = _stamp(path)
    if memo_dir is not None and not fresh:
        known = memo.read_memo(memo_dir / MEMO).get(key)
        if isinstance(known, list) and known[:3] == stamp and len(known) == 4:
            return known[3]
    found = md5_file(path, subject)
    if memo_dir is not None and memo.settled(stamp[1]) and _stamp(path) == stamp:
        memo.remember(memo_dir / MEMO, key, [*stamp, found])
    return found


def mismatch_message(check: FileCheck, fix: str) -> str:
    """The one-paragraph error for a file whose md5 is not the known one."""
    return (f"{check.path} is damaged or not the expected file: its md5 is {check.found}, expected "
            f"{check.expected}. {fix}")


def verify(path: Path, expected: str, memo_dir: Path | None, fix: str, subject: str | None = None) -> None:
    """Raise ConfigError when ``path``'s md5 is not ``expected``."""
    check = FileCheck(Path(path), expected, file_md5(path, memo_dir, subject))
    if not check.ok:
        raise ConfigError(mismatch_message(check, fix))


def verify_known(roots: Sequence[Path], table: Mapping[str, str], memo_dir: Path | None) -> list[FileCheck]:
    """Hash afresh every file of ``table`` (relative path -> md5) present under one of ``roots``."""
    checks = []
    for root in roots:
        for rel, expected in table.items():
            path = Path(root) / rel
            if path.is_file():
                checks.append(FileCheck(path, expected, file_md5(path, memo_dir, rel, fresh=True)))
    return checks


def check_tar_end(tf: tarfile.TarFile, path: Path) -> None:
    """Raise DamagedFile unless the members read so far end at the archive's end-of-archive block.

    The standard tarfile module stops without a word at a damaged header or at a cut between two
    members, which would read part of an archive as if it were all of it.
    """
    try:
        tf.fileobj.seek(tf.offset)
        block = tf.fileobj.read(tarfile.BLOCKSIZE)
    except (OSError, EOFError) as exc:
        raise DamagedFile(f"{path}: the archive is cut short or corrupt ({exc})") from None
    if block != _ZERO_BLOCK:
        what = "it ends" if not block else "a damaged header follows"
        raise DamagedFile(f"{path}: the archive is cut short or corrupt after {len(tf.members):,} members "
                          f"({what} at byte {tf.offset:,} instead of the end-of-archive marker)")
