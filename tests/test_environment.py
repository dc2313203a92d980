"""Where a record says its code came from: the git checkout, or the commit stamped into an archive copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from c3bench.environment import SOURCE_STAMP, environment, stamped_commit

REPO = Path(__file__).resolve().parents[1]


def _head() -> subprocess.CompletedProcess:
    """This checkout's HEAD. The commit tests need a git checkout: skipped in a copy without one (an
    unpacked sdist), failed under CI, which always runs in a clone."""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs in a git clone, but this is not a git checkout")
        pytest.skip("not a git checkout (an unpacked copy): the commit it names cannot be checked")
    return head


def test_a_stamp_names_a_commit_only_when_it_is_one(tmp_path):
    assert stamped_commit(tmp_path) is None  # no stamp: an ordinary install names no commit
    (tmp_path / SOURCE_STAMP).write_text("0123456789abcdef0123456789abcdef01234567\n")
    assert stamped_commit(tmp_path) == "0123456789abcdef0123456789abcdef01234567"
    for bad in ("HEAD", "0123456789abcdef0123456789abcdef01234567-dirty", "", "g" * 40):
        (tmp_path / SOURCE_STAMP).write_text(bad)
        assert stamped_commit(tmp_path) is None, bad


def test_a_checkout_names_its_own_commit_and_ignores_any_stamp():
    head = _head()
    assert environment()["git_commit"].removesuffix("-dirty") == head.stdout.strip()


def test_an_archive_copy_without_git_names_the_stamped_commit(tmp_path):
    """What benchmarks/device_prepare.sh makes for the device machine (which gets no .git): a copy of the
    package outside any checkout, stamped."""
    head = _head()
    shutil.copytree(REPO / "c3bench", tmp_path / "c3bench", ignore=shutil.ignore_patterns("__pycache__", SOURCE_STAMP))
    (tmp_path / "c3bench" / SOURCE_STAMP).write_text(head.stdout)
    probe = ("import c3bench, c3bench.environment as e; "
             "print(c3bench.__file__); print(e.environment()['git_commit'])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    where, commit = done.stdout.split()
    assert Path(where).parent == tmp_path / "c3bench"  # the copy ran, not the checkout
    assert commit == head.stdout.strip()


def test_the_thread_count_is_the_one_in_force_when_asked():
    import torch

    from c3bench.environment import environment

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert environment()["torch_threads"] == 1
        torch.set_num_threads(2)
        assert environment()["torch_threads"] == 2  # a second run in the same process records its own
    finally:
        torch.set_num_threads(before)
