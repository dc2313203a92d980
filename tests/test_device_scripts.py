"""The real data travels to the device machine in parts (benchmarks/device_data.sh): split here,
checked and reassembled there, byte for byte, and a missing or damaged part is named."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "device_data.sh"


def _checkout(root: Path) -> Path:
    """A stand-in checkout holding only the script (it works relative to its own repository root)."""
    (root / "benchmarks").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "benchmarks" / SCRIPT.name)
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(root / "benchmarks" / SCRIPT.name), *args], capture_output=True, text=True)


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    (folder / "A").mkdir(parents=True)
    files = {"A/train.tar": os.urandom(1_700_000), "A/test.tar": os.urandom(600_000), "b.gz": os.urandom(300_000)}
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    (folder / "MD5SUMS").write_text("".join(f"{hashlib.md5(p).hexdigest()}  {n}\n" for n, p in files.items()))
    (folder / "not-listed.txt").write_text("left behind")
    return folder


def test_the_data_is_split_into_parts_and_reassembled_byte_for_byte(tmp_path, data):
    here = _checkout(tmp_path / "here")
    done = _run(here, "split", str(data), "1")
    assert done.returncode == 0, done.stderr
    parts = sorted(here.glob(".device-data-*/part"))
    assert len(parts) == 3 and all(p.stat().st_size <= 2**20 for p in parts)
    assert len((here / ".device" / "DATA_PARTS").read_text().splitlines()) == 3

    there = _checkout(tmp_path / "there")  # the device: .device and the parts carried so far
    shutil.copytree(here / ".device", there / ".device")
    for part in parts[:2]:
        shutil.copytree(part.parent, there / part.parent.name)
    status = _run(there, "status")
    assert status.returncode == 1 and "2 of 3 parts here; still to carry: .device-data-02" in status.stdout
    shutil.copytree(parts[2].parent, there / parts[2].parent.name)
    assert _run(there, "status").returncode == 0

    dest = tmp_path / "assembled"
    done = _run(there, "assemble", str(dest))
    assert done.returncode == 0, done.stderr
    for name in ("A/train.tar", "A/test.tar", "b.gz", "MD5SUMS"):
        assert (dest / name).read_bytes() == (data / name).read_bytes()
    assert not (dest / "not-listed.txt").exists()  # only what MD5SUMS names travels


def test_a_damaged_part_is_named_and_nothing_is_assembled(tmp_path, data):
    here = _checkout(tmp_path / "here")
    assert _run(here, "split", str(data), "1").returncode == 0
    part = here / ".device-data-01" / "part"
    raw = part.read_bytes()
    part.write_bytes(raw[:-1] + bytes([raw[-1] ^ 0xFF]))  # always a different byte (a fixed one can be the same)
    done = _run(here, "assemble", str(tmp_path / "assembled"))
    assert done.returncode == 1 and "still to carry: .device-data-01" in done.stdout
    assert not (tmp_path / "assembled").exists()


def test_data_that_fails_its_checksums_is_refused_before_splitting(tmp_path, data):
    (data / "b.gz").write_bytes(b"changed")
    here = _checkout(tmp_path / "here")
    done = _run(here, "split", str(data), "1")
    assert done.returncode == 2 and "fails its MD5SUMS" in done.stderr
    assert not list(here.glob(".device-data-*"))
