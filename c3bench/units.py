"""Parsing of human quantities: `3GB`, `500MiB`, `5TFLOP`, `2.5e12`."""

from __future__ import annotations

import math
import re

from c3bench.hparams import ConfigError

_SI = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}
_IEC = {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def _parse(text: str, unit_words: tuple[str, ...], what: str, example: str) -> float:
    match = _PATTERN.match(text)
    if not match:
        raise ConfigError(f"cannot read {what} {text!r}; write a number with a unit, e.g. {example}.")
    number, suffix = float(match.group(1)), match.group(2).lower()
    for word in unit_words:
        if suffix.endswith(word):
            suffix = suffix[: -len(word)]
            break
    scale = _IEC.get(suffix, _SI.get(suffix))
    if scale is None:
        raise ConfigError(f"unknown unit in {what} {text!r}; e.g. {example}.")
    value = number * scale
    if not math.isfinite(value):
        raise ConfigError(f"{what} {text!r} is not a finite number; e.g. {example}.")
    if value <= 0:
        raise ConfigError(f"{what} must be positive, got {text!r}.")
    return value


def parse_bytes(text: str) -> float:
    """'3GB' -> 3e9 bytes; 'GiB' units are powers of two; a bare number is bytes."""
    return _parse(text, ("bytes", "byte", "b"), "bandwidth budget", "3GB or 500MiB")


def parse_flops(text: str) -> float:
    """'5TFLOP' -> 5e12; a bare number is FLOPs."""
    return _parse(text, ("flops", "flop", "f"), "compute budget", "5TFLOP or 2.5e12")


def human_bytes(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


def human_flops(n: float) -> str:
    for unit, scale in (("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} FLOP"


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= scale:
            return f"{seconds / scale:.1f} {unit}"
    return f"{seconds:.1f} s"
