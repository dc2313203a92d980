"""Download dataset files with checksum verification: atomic and resumable.

A file is written as ``<name>.part`` (appended to on resume with an HTTP ``Range`` request), checked
against its md5 (or size where no md5 is published), and only then renamed to its final name. A
file that fails the check is deleted, never kept; readers only look at final names, so an
interrupted or corrupted download is never taken as valid.

Env ``C3BENCH_MIRROR`` (a base URL) is tried before the canonical sources, as
``<mirror>/<path relative to the data root>`` (e.g. ``<mirror>/MNIST/raw/t10k-labels-idx1-ubyte.gz``);
env ``C3BENCH_OFFLINE=1`` turns downloads off. Progress goes to :mod:`c3bench.data.progress`
(stages "downloading" and "verifying", subject: the path relative to the data root). A fetch that
fails without keeping a ``.part`` to resume removes the folders it created.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from c3bench.data import progress
from c3bench.data.integrity import check_tar_end, md5_file

ENV_MIRROR = "C3BENCH_MIRROR"
ENV_OFFLINE = "C3BENCH_OFFLINE"
CHUNK = 1 << 20
USER_AGENT = "c3bench-downloader/1 (+https://pypi.org/project/c3bench)"


class DownloadError(Exception):
    """A file could not be fetched from any source (network, HTTP status, short read)."""


class ChecksumError(DownloadError):
    """A fetched file did not match its published checksum; it was deleted."""


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file: where it goes under the data root, where it comes from, how to check it."""

    path: str  # POSIX path relative to the data root
    urls: tuple[str, ...]
    md5: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if self.md5 is None and self.size is None:
            raise ValueError(f"{self.path}: a remote file needs an md5 or a size to be verified")


def offline() -> bool:
    """True when env C3BENCH_OFFLINE asks for no network access."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def check(path: Path, remote: RemoteFile) -> str | None:
    """None if ``path`` matches the published size/md5, else the reason it does not."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return f"size {size:,} bytes, expected {remote.size:,}"
    if remote.md5 is not None:
        got = md5_file(path, remote.path)
        if got != remote.md5:
            return f"md5 {got}, expected {remote.md5}"
    return None


def source_urls(remote: RemoteFile, mirror: str | None = None) -> list[str]:
    """Mirror first (argument, else env C3BENCH_MIRROR), then the canonical URLs."""
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR)
    urls = [mirror.rstrip("/") + "/" + remote.path] if mirror else []
    return urls + list(remote.urls)


def _open(url: str, have: int, timeout: float):
    """The HTTP response for ``url`` from byte ``have`` on; None when nothing is left to fetch."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part is complete (or wrong: check says)
            return None
        raise DownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot connect ({reason})") from None


def _fetch_to_part(url: str, part: Path, timeout: float, subject: str) -> None:
    """Fetch ``url`` into ``part``, resuming from its current size when the server allows it."""
    have = part.stat().st_size if part.exists() else 0
    response = _open(url, have, timeout)
    if response is None:
        return
    with response:
        status = getattr(response, "status", 200)
        resumed = have and status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {have}-")
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        remaining = int(length) if length is not None and length.isdigit() else None
        total = None if remaining is None else have + remaining
        part.parent.mkdir(parents=True, exist_ok=True)
        counter = progress.Counter("downloading", subject, total, "bytes", done=have)
        with open(part, "ab" if resumed else "wb") as out:
            while True:
                try:
                    block = response.read(CHUNK)
                except (OSError, ValueError) as exc:  # includes http.client.IncompleteRead
                    dropped = f"connection dropped after {counter.done:,} bytes ({exc!r})"
                    raise DownloadError(dropped) from None
                if not block:
                    break
                out.write(block)
                counter.advance(len(block))
            out.flush()
            os.fsync(out.fileno())
        if remaining is not None and counter.done - have < remaining:
            raise DownloadError(f"connection dropped after {counter.done:,} of {total:,} bytes")
        counter.close()


def _missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first; stops at one that is not empty
        try:
            folder.rmdir()
        except OSError:
            return


def fetch(remote: RemoteFile, root: Path, *, mirror: str | None = None, timeout: float = 30.0) -> Path:
    """Make ``root/remote.path`` exist and match its checksum; return its path.

    Tries each source in turn (mirror, then canonical). A short read leaves ``.part`` for the
    next attempt to resume; a checksum failure deletes it (after one fresh retry when the failed
    attempt had resumed). Raises ChecksumError when some source gave a wrong file and none a good
    one, DownloadError when no source could be reached.
    """
    dest = Path(root) / remote.path
    created = _missing_dirs(dest.parent)
    try:
        return _fetch(remote, dest, mirror, timeout)
    except DownloadError:
        if not dest.with_name(dest.name + ".part").exists():
            _remove_empty(created)
        raise


def _fetch(remote: RemoteFile, dest: Path, mirror: str | None, timeout: float) -> Path:
    if dest.exists():
        reason = check(dest, remote)
        if reason is None:
            return dest
        raise ChecksumError(f"{dest} exists but does not match the published checksum ({reason}); "
                            f"delete it so that it can be downloaded again.")
    part = dest.with_name(dest.name + ".part")
    errors: list[str] = []
    bad_checksum = False
    for url in source_urls(remote, mirror):
        for attempt in range(2):
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _fetch_to_part(url, part, timeout, remote.path)
            except DownloadError as exc:
                errors.append(f"{url}: {exc}")
                break  # keep the part for a later resume; try the next source
            reason = check(part, remote)
            if reason is None:
                os.replace(part, dest)
                return dest
            part.unlink(missing_ok=True)
            if resumed and attempt == 0:
                continue  # the kept part may have come from a different file: one fresh try
            bad_checksum = True
            errors.append(f"{url}: rejected, {reason}")
            break
    summary = "; ".join(errors) or "no source URL"
    if bad_checksum:
        raise ChecksumError(f"{remote.path}: {summary}")
    raise DownloadError(f"{remote.path}: {summary}")


def _safe_members(tf: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for m in tf.getmembers():
        parts = PurePosixPath(m.name).parts
        if m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir()):
            continue  # never write outside the target, never create links or devices
        members.append(m)
    return members


def extract_archive(archive: Path, dest_dir: Path, top: str) -> Path:
    """Extract ``archive`` so that its folder ``top`` appears at ``dest_dir/top`` atomically.

    Extraction happens in a temporary folder beside the target and is renamed into place, so an
    interrupted extraction leaves no half-filled ``top`` folder behind.
    """
    target = dest_dir / top
    if target.exists():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_dir))
    try:
        with tarfile.open(archive, "r:*") as tf:
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            members = _safe_members(tf)
            check_tar_end(tf, archive)
            tf.extractall(tmp, members=members, **extra)
        extracted = tmp / top
        if not extracted.is_dir():
            raise DownloadError(f"{archive} has no folder '{top}'")
        os.replace(extracted, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
