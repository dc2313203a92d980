"""Where a result came from: code version, git commit, library versions, platform and CPU."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import torch

from c3bench.version import __version__

_PACKAGE = Path(__file__).resolve().parent
SOURCE_STAMP = "SOURCE_COMMIT"  # see stamped_commit


def _git_commit() -> str | None:
    repo = _PACKAGE.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return stamped_commit(_PACKAGE)


def stamped_commit(package_dir: Path) -> str | None:
    """The commit an installed copy was built from, when it is not a git checkout: the stamp that
    ``benchmarks/device_prepare.sh`` writes into a ``git archive`` of a clean commit (None without one).

    This is how a machine without the repository (the device machine gets no ``.git``) still names the
    committed code it ran, so its records can go to the real boards, which check that the commit exists.
    """
    try:
        text = (package_dir / SOURCE_STAMP).read_text().strip()
    except OSError:
        return None
    return text if re.fullmatch(r"[0-9a-f]{40}", text) else None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def _fixed_environment() -> dict[str, object]:
    return {
        "c3bench": __version__,
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
    }


def environment() -> dict[str, object]:
    """Where a run ran. The thread count is read at each call: a process (a test session, a sweep
    worker) may change it between runs, and a record must carry the one its run used."""
    return {**_fixed_environment(), "torch_threads": torch.get_num_threads()}
