"""Download dataset files with checksum verification: atomic, resumable, with a progress bar.

A file is written as ``<name>.part`` (appended to on resume with an HTTP ``Range`` request), checked
against its md5 (or size where no md5 is published), and only then renamed to its final name. A
file that fails the check is deleted, never kept; readers only look at final names, so an
interrupted or corrupted download is never taken as valid.

Env ``C3BENCH_MIRROR`` (a base URL) is tried before the canonical sources, as
``<mirror>/<path relative to the data root>`` (e.g. ``<mirror>/MNIST/raw/t10k-labels-idx1-ubyte.gz``);
env ``C3BENCH_OFFLINE=1`` turns downloads off.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

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


def md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check(path: Path, remote: RemoteFile) -> str | None:
    """None if ``path`` matches the published size/md5, else the reason it does not."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return f"size {size:,} bytes, expected {remote.size:,}"
    if remote.md5 is not None:
        got = md5_file(path)
        if got != remote.md5:
            return f"md5 {got}, expected {remote.md5}"
    return None


def source_urls(remote: RemoteFile, mirror: str | None = None) -> list[str]:
    """Mirror first (argument, else env C3BENCH_MIRROR), then the canonical URLs."""
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR)
    urls = [mirror.rstrip("/") + "/" + remote.path] if mirror else []
    return urls + list(remote.urls)


def _progress(total: int | None, label: str, enabled: bool):
    """A rich progress bar on stderr, or a no-op object."""
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=False)
    bar.start()
    bar.add_task(label, total=total)
    return bar


def _fetch_to_part(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Fetch ``url`` into ``part``, resuming from its current size when the server allows it."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part is complete (or wrong: check says)
            return
        raise DownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot connect ({reason})") from None
    with response:
        status = getattr(response, "status", 200)
        resumed = have and status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {have}-")
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        remaining = int(length) if length is not None and length.isdigit() else None
        total = None if remaining is None else have + remaining
        bar = _progress(total, PurePosixPath(url).name, progress)
        got = 0
        try:
            with open(part, "ab" if resumed else "wb") as out:
                if bar is not None:
                    bar.update(bar.task_ids[0], completed=have)
                while True:
                    try:
                        block = response.read(CHUNK)
                    except (OSError, ValueError) as exc:  # includes http.client.IncompleteRead
                        raise DownloadError(f"connection dropped after {have + got:,} bytes ({exc!r})") from None
                    if not block:
                        break
                    out.write(block)
                    got += len(block)
                    if bar is not None:
                        bar.update(bar.task_ids[0], advance=len(block))
                out.flush()
                os.fsync(out.fileno())
        finally:
            if bar is not None:
                bar.stop()
        if remaining is not None and got < remaining:
            raise DownloadError(f"connection dropped after {have + got:,} of {total:,} bytes")


def fetch(remote: RemoteFile, root: Path, *, mirror: str | None = None, progress: bool = True,
          timeout: float = 30.0) -> Path:
    """Make ``root/remote.path`` exist and match its checksum; return its path.

    Tries each source in turn (mirror, then canonical). A short read leaves ``.part`` for the
    next attempt to resume; a checksum failure deletes it (after one fresh retry when the failed
    attempt had resumed). Raises ChecksumError when some source gave a wrong file and none a good
    one, DownloadError when no source could be reached.
    """
    dest = Path(root) / remote.path
    if dest.exists():
        reason = check(dest, remote)
        if reason is None:
            return dest
        raise ChecksumError(f"{dest} exists but does not match the published checksum ({reason}); "
                            f"delete it so that it can be downloaded again.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    errors: list[str] = []
    bad_checksum = False
    for url in source_urls(remote, mirror):
        for attempt in range(2):
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _fetch_to_part(url, part, timeout, progress)
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


def fetch_all(files: Iterable[RemoteFile], root: Path, **kwargs) -> list[Path]:
    """Fetch several files (stops at the first failure, raising it)."""
    return [fetch(f, root, **kwargs) for f in files]


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
            tf.extractall(tmp, members=_safe_members(tf), **extra)
        extracted = tmp / top
        if not extracted.is_dir():
            raise DownloadError(f"{archive} has no folder '{top}'")
        os.replace(extracted, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
