"""Human quantities: budgets read from text (``3GB``, ``20Mb``, ``500MiB``, ``5TFLOP``) and figures
written for people (``human_bytes``, ``human_flops``, ``human_duration``).

Data sizes follow SI and IEC as networking writes them: **B is a byte, b is a bit** (``20Mb`` = 20
megabits = 2.5 MB), prefixes k (K accepted), M, G, T, P = powers of 1000 and Ki, Mi, Gi, Ti, Pi =
powers of 1024; ``byte(s)`` and ``bit(s)`` may be spelled out. A prefix in the wrong case (``20mb``:
m is milli) is refused as ambiguous, and so is a bare number: the unit must be written. Compute is
FLOPs, with the same decimal prefixes in either case (``5TFLOP``, ``2.5e12flops``). (pint, the usual
library for quantities, reads ``b`` as the barn and has no FLOP, so the few rules are written here.)
"""

from __future__ import annotations

import math
import re

from c3bench.hparams import ConfigError

_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")
_DECIMAL = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}
_BYTE_UNITS = (("bytes", 1.0), ("byte", 1.0), ("bits", 0.125), ("bit", 0.125))  # spelled out, any case
BANDWIDTH_EXAMPLE = "3GB (gigabytes), 20Mb (megabits) or 500MiB"
COMPUTE_EXAMPLE = "5TFLOP or 2.5e12FLOP"


def _split(text: str, what: str, example: str) -> tuple[float, str]:
    match = _QUANTITY.match(str(text))
    if not match:
        raise ConfigError(f"cannot read {what} {text!r}; write a number with a unit, e.g. {example}.")
    number = float(match.group(1))
    if not match.group(2):
        raise ConfigError(f"{what} {text!r} has no unit; write the unit too, e.g. {example}.")
    return number, match.group(2)


def _checked(value: float, text: str, what: str, example: str) -> float:
    if not math.isfinite(value):
        raise ConfigError(f"{what} {text!r} is not a finite number; e.g. {example}.")
    if value <= 0:
        raise ConfigError(f"{what} must be positive, got {text!r}.")
    return value


def _byte_unit(unit: str) -> tuple[float | None, str]:
    """(bytes per unit, the prefix before it) of a data-size unit; (None, unit) without B, b or a word."""
    for word, size in _BYTE_UNITS:
        if unit.lower().endswith(word):
            return size, unit[: -len(word)]
    if unit.endswith("B"):
        return 1.0, unit[:-1]
    if unit.endswith("b"):
        return 0.125, unit[:-1]
    return None, unit


def _canonical(prefix: str) -> str | None:
    """The prefix as SI/IEC write it, whatever its case ('m' -> 'M', 'gi' -> 'Gi'), or None."""
    return next((known for known in (*_DECIMAL, *_BINARY) if known and known != "K" and known.upper() == prefix.upper()),
                None)


def parse_bytes(text: str) -> float:
    """A data size in bytes: '3GB' -> 3e9, '20Mb' -> 2.5e6 (megabits), '1KiB' -> 1024; a number
    without a unit, or whose prefix or unit letter could mean two things ('3gb', '20M'), is refused."""
    what, example = "bandwidth budget", BANDWIDTH_EXAMPLE
    number, unit = _split(text, what, example)
    per_unit, prefix = _byte_unit(unit)
    scale = _DECIMAL.get(prefix, _BINARY.get(prefix)) if per_unit is not None else None
    if scale is None:
        fixed = _canonical(prefix)
        if fixed is not None:
            shown = text.strip()[: len(text.strip()) - len(unit)].strip()
            raise ConfigError(f"{what} {text!r} is ambiguous: write {shown}{fixed}B (bytes) or {shown}{fixed}b (bits). "
                              "B is a byte and b a bit; prefixes k, M, G, T, P are powers of 1000, Ki, Mi, Gi, Ti, Pi "
                              "powers of 1024.")
        raise ConfigError(f"unknown unit in {what} {text!r}; e.g. {example} (B = byte, b = bit).")
    return _checked(number * scale * per_unit, text, what, example)


def parse_flops(text: str) -> float:
    """A compute amount in FLOPs: '5TFLOP' -> 5e12, '2.5e12flops' -> 2.5e12; a bare number is refused."""
    what, example = "compute budget", COMPUTE_EXAMPLE
    number, unit = _split(text, what, example)
    lowered = unit.lower()
    for word in ("flops", "flop"):
        if lowered.endswith(word):
            prefix = lowered[: -len(word)]
            scale = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}.get(prefix)
            if scale is not None:
                return _checked(number * scale, text, what, example)
    raise ConfigError(f"unknown unit in {what} {text!r}; e.g. {example}.")


def parse_quantity(value: str | float, parse) -> float:
    """A budget from Python: a number is already in bytes or FLOPs; text goes through ``parse``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _checked(float(value), repr(value), "budget", "3e9")
    return parse(str(value))


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
