"""A run's per-round log while it runs: one line of canonical JSON per finished round, appended and
synced, so a round costs a write of that round only. The runner seals the whole record once, when
the run ends (or is interrupted); until then the result file is a small header that
:func:`c3bench.results.load_record` completes from this log.

A run killed at any point leaves at most one line more than its checkpoint counts (or a torn last
line); resuming keeps the lines the checkpoint counts (:func:`read_rounds`, :func:`keep_rounds`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from c3bench.jsonfiles import canonical_json, write_atomic

SUFFIX = ".rounds.jsonl"


class RoundLogError(ValueError):
    """A log that does not hold the rounds it should (damaged, or from another run)."""


def log_path(result_file: Path) -> Path:
    """Where the run writing ``result_file`` keeps its per-round log."""
    result_file = Path(result_file)
    return result_file.parent / ".checkpoints" / f"{result_file.stem}{SUFFIX}"


def start(path: Path) -> None:
    """An empty log (a fresh run: whatever an earlier run left is dropped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        os.fsync(fh.fileno())


def append(path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append one round and sync it to disk; returns the entry as the log holds it (JSON's types:
    lists for tuples), which is what the record will hold."""
    line = canonical_json(entry)
    with open(path, "ab") as fh:
        fh.write(line.encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return json.loads(line)


def write(path: Path, rounds: list[dict[str, Any]]) -> None:
    """Replace the log by these rounds, atomically (a run resumed from a checkpoint holding its record)."""
    write_atomic(path, "".join(canonical_json(r) + "\n" for r in rounds))


def _lines(path: Path) -> list[bytes]:
    """The complete lines (a last line without its newline was torn by a kill and is not one)."""
    data = Path(path).read_bytes()
    return data.split(b"\n")[:-1]


def read_rounds(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` rounds of the log (all complete ones when None). RoundLogError when fewer
    are there or one cannot be read."""
    try:
        lines = _lines(path)
    except OSError as exc:
        raise RoundLogError(f"{path}: cannot be read ({type(exc).__name__})") from None
    if limit is not None:
        if len(lines) < limit:
            raise RoundLogError(f"{path}: holds {len(lines)} rounds, the checkpoint counts {limit}")
        lines = lines[:limit]
    rounds = []
    for i, line in enumerate(lines):
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise RoundLogError(f"{path}: line {i + 1} is not a round entry") from None
        if not isinstance(entry, dict) or entry.get("round") != i + 1:
            raise RoundLogError(f"{path}: line {i + 1} is not round {i + 1}")
        rounds.append(entry)
    return rounds


def keep_rounds(path: Path, count: int) -> None:
    """Cut the log after its first ``count`` lines (what a kill left beyond the checkpoint goes)."""
    lines = _lines(path)
    size = sum(len(line) + 1 for line in lines[:count])
    os.truncate(path, size)
