"""The result record: schema, canonical digest, atomic write, and loading with clear errors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from c3bench import strict_json
from c3bench.hparams import ConfigError
from c3bench.jsonfiles import canonical_json, write_atomic  # noqa: F401 - re-exported
from c3bench.record_log import (  # noqa: F401 - re-exported: the record's names, read from here by most callers
    TOTAL_COUNTERS,
    VOLATILE,
    accuracy_entry,
    best_round,
    check_log,
    check_shape,
    check_values,
    client_accuracies,
    comparable_round,
    counters_entry,
    local_totals,
    num_clients,
    round_clients,
    strip_volatile,
    totals_from_rounds,
)
from c3bench.safe_files import describe_os_error, read_own_file

# /2: round entries list only the clients that took part and give an accuracy shared by every client
# once (c3bench.record_log); a /1 record is a /2 record that lists every client, so one reader reads both.
SCHEMA = "c3bench.result/2"
SCHEMA_V1 = "c3bench.result/1"
READABLE = (SCHEMA, SCHEMA_V1)
STATUSES = ("running", "completed", "budget-stopped", "interrupted")
REQUIRED = ("schema", "name", "status", "config", "config_hash", "rounds", "totals", "environment", "digest")
CONVENTIONS = {
    "bytes": "c3bench: bytes as sent with the declared encoding (dense float32 = numel*4; sparse = "
             "values + the cheaper of a bitmap or int32 indices); labels included.",
    "paper_bytes": "AdaSplit authors: non-zero elements * 4 bytes, no index cost; labels and SL-basic's "
                   "client-to-client handover not counted.",
    "flops": "c3bench: forward + backward FLOPs from torch.utils.flop_counter (2 per multiply-add).",
    "fwd_macs": "AdaSplit authors' 'FLOPS': forward multiply-accumulates only, as fvcore counts them.",
    "not_counted": "Evaluation and inference (the per-round test of every client, split inference's "
                   "activations up and logits down, SL-basic's deployment handover) unless the run charges "
                   "inference (config.charge_inference); element-wise FLOPs (activations, normalisation, "
                   "masks, losses) and optimiser steps; the clients' data sizes, known to the server from "
                   "enrolment; the one-time setup (initial weights, EdgeSplit's plan).",
}

class ResultError(ValueError):
    """A result file that cannot be used; the message names the file and the problem."""


def digest_repeats_shared(record: dict[str, Any]) -> bool:
    """Whether the record's data digest hashes a tensor shared by clients once per client (schema /1;
    see ``Federation.digest``)."""
    return record.get("schema") == SCHEMA_V1


def compute_digest(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()


def config_hash(config: dict[str, Any], include_seed: bool = False) -> str:
    """Hash of a run's configuration; without the seed it names the group that seeds repeat."""
    body = {k: v for k, v in config.items() if include_seed or k != "seed"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()[:16]


def seal(record: dict[str, Any]) -> dict[str, Any]:
    record = dict(record)
    record["digest"] = compute_digest(record)
    return record


def write_record(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Seal (add the digest) and write atomically; returns the sealed record."""
    sealed = seal(record)
    write_atomic(path, json.dumps(sealed, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return sealed


def validate_record(record: Any, source: str, check_content: bool = True) -> dict[str, Any]:
    """Check schema and digest and (``check_content``) shape, values and the per-round log against the
    totals; raise ResultError naming ``source`` and the first problems."""
    if not isinstance(record, dict):
        raise ResultError(f"{source}: not a c3bench result (top level is not a JSON object).")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ResultError(f"{source}: not a c3bench result; missing field(s): {', '.join(missing)}.")
    if record["schema"] not in READABLE:
        raise ResultError(f"{source}: unsupported schema {record['schema']!r} (this c3bench reads "
                          f"{' and '.join(READABLE)}).")
    if record["status"] not in STATUSES:
        raise ResultError(f"{source}: unknown status {record['status']!r}.")
    if not isinstance(record["rounds"], list) or not isinstance(record["totals"], dict):
        raise ResultError(f"{source}: 'rounds' must be a list and 'totals' an object.")
    expected = compute_digest(record)
    if record["digest"] != expected:
        raise ResultError(
            f"{source}: digest mismatch: the file was changed after c3bench wrote it "
            f"(stored {str(record['digest'])[:20]}..., content gives {expected[:20]}...). Re-run to regenerate it."
        )
    if check_content:
        check_record_content(record, source)
    return record


def check_record_content(record: dict[str, Any], source: str) -> None:
    """Shape, values and the per-round log against the totals; ResultError naming the first problems."""
    problems = check_shape(record, source)
    if not problems:
        problems = check_values(record, source) or check_log(record, source)
    if problems:
        shown = "; ".join(f"{p.field}: {p.message}" for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ResultError(f"{source}: not a usable c3bench result: {shown}{more}.")


MAX_RECORD_BYTES = 64 * 2**20  # a result record is a few hundred kB; anything beyond 64 MiB is refused unread


def read_record_bytes(path: str | Path, follow_links: bool = True) -> bytes:
    """A record file's bytes, refused (ResultError) when missing, not a regular file, beyond
    :data:`MAX_RECORD_BYTES`, or (``follow_links=False``: a board's own files) a symbolic link."""
    path = Path(path)
    try:
        return read_own_file(path, MAX_RECORD_BYTES, "result record", follow_links)
    except FileNotFoundError:
        raise ResultError(f"{path}: no such file.") from None
    except ConfigError as exc:
        raise ResultError(str(exc)) from None
    except OSError as exc:
        raise ResultError(f"{path}: cannot be read ({describe_os_error(exc)})") from None


def parse_record(data: bytes, source: str, check_content: bool = True, log: Path | None = None) -> dict[str, Any]:
    """A record from its file's bytes (see :func:`load_record`); ``log``: its run's round log, read when the
    record is a running run's header."""
    try:
        record = strict_json.loads(data)
    except json.JSONDecodeError as exc:
        raise ResultError(f"{source}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except UnicodeDecodeError:
        raise ResultError(f"{source}: not a text file.") from None
    except ValueError as exc:  # duplicate keys, NaN, Infinity, numbers beyond range, nesting too deep
        raise ResultError(f"{source}: {exc}.") from None
    record = validate_record(record, source, check_content=False)
    if log is not None and record["status"] == "running":
        record = _with_logged_rounds(log, record, source)
    if check_content:
        check_record_content(record, source)
        record["totals"] = totals_from_rounds(record["rounds"])  # also those a record of an older c3bench lacks
    return record


def _with_logged_rounds(log: Path, record: dict[str, Any], source: str) -> dict[str, Any]:
    """A running run's record with the rounds its log holds so far (the result file is then a header)."""
    from c3bench import round_log

    if record["rounds"] or not log.is_file():
        return record
    try:
        rounds = round_log.read_rounds(log)
    except round_log.RoundLogError as exc:
        raise ResultError(f"{source}: its run's round log {exc}.") from None
    return {**record, "rounds": rounds, "totals": totals_from_rounds(rounds)}


def load_record(path: str | Path, check_content: bool = True, follow_links: bool = True,
                with_log: bool = True) -> dict[str, Any]:
    """Read a record, refusing (ResultError, naming the file) anything malformed, edited or inconsistent:
    JSON that readers could read differently (duplicate keys, integers beyond 64 bits, NaN, nesting
    deeper than :data:`c3bench.strict_json.MAX_DEPTH`) and files beyond :data:`MAX_RECORD_BYTES`
    included. ``check_content=False`` stops after the schema and the digest (for callers that report
    the content problems themselves, field by field); ``follow_links=False`` refuses a symbolic link.
    A record of a run still running (or killed) is its header; ``with_log`` completes it with the rounds
    its run has logged (``c3bench.round_log``)."""
    from c3bench import round_log

    log = round_log.log_path(Path(path)) if with_log else None
    return parse_record(read_record_bytes(path, follow_links), str(path), check_content, log)


def group_by_config(records: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """(source, record) pairs grouped by configuration (``config_hash``: everything but the seed), in order
    of first appearance: the runs that differ only in seed."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for source, record in records:
        groups.setdefault(record["config_hash"], []).append((source, record))
    return groups


# The execution modes whose records differ from a plain run's: stacking in the last bits, flushing
# wherever a value would have been subnormal. Each is kept in the record's ``execution`` under its key.
NUMERIC_MODES = {"client_stacking": "--stack-clients", "flush_denormal": "--flush-denormal"}


def execution_flags(execution: dict[str, Any]) -> list[str]:
    """The `c3bench run` options of the numeric execution modes an ``execution`` block has on."""
    return [flag for key, flag in NUMERIC_MODES.items() if execution.get(key)]


def record_modes(record: dict[str, Any]) -> list[str]:
    """A record's numeric mode flags (none where its ``execution`` is missing or malformed)."""
    execution = record.get("execution")
    return execution_flags(execution if isinstance(execution, dict) else {})


def mode_text(flags: Sequence[str]) -> str:
    """Numeric mode flags as a message says them."""
    return " ".join(flags) if flags else "no numeric mode (plain)"
