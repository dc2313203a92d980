"""Typed hyperparameter declarations, read by the CLI, `list`, result records and sweeps alike."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A user-facing configuration problem (unknown name, bad value). The CLI exits with code 2."""


def _initials(name: str) -> str:
    """'learning_rate' -> 'lr', 'weight-decay' -> 'wd' (names of two words or more; '' otherwise)."""
    words = [w for w in name.replace("-", "_").split("_") if w]
    return "".join(w[0] for w in words).lower() if len(words) > 1 else ""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean X?' when a close match exists, else ''. Close: similar spelling
    (difflib), one name's initials being the other ('learning_rate' and 'lr'), or one name
    containing the other ('lr_rate' and 'lr')."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    if not close:
        lowered = word.lower()
        close = [o for o in options if o and (_initials(word) == o.lower() or _initials(o) == lowered)][:1]
    if not close:
        close = sorted((o for o in options if o and (o in word or word in o)), key=len, reverse=True)[:1]
    return f" Did you mean '{close[0]}'?" if close else ""


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false, got {text!r}")


_PARSERS: dict[type, Callable[[str], Any]] = {int: int, float: float, str: str, bool: _parse_bool}


@dataclass(frozen=True)
class HParam:
    """One hyperparameter: name, type, default, help, and optional range or choices."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    key: bool = False  # shown as a "key hyperparameter" in score tables
    # False for a hyperparameter added after records were published: a record names it only when it is
    # set to another value, so the records made before it keep their configuration (and their names).
    record_default: bool = True

    def parse(self, value: Any) -> Any:
        """Convert a CLI string (or a Python value) to this parameter's type and validate it."""
        try:
            if isinstance(value, str):
                parsed = _PARSERS[self.type](value)
            elif self.type is float and isinstance(value, int | float) and not isinstance(value, bool):
                parsed = float(value)
            elif isinstance(value, self.type) and not (self.type is int and isinstance(value, bool)):
                parsed = value
            else:
                raise ValueError(f"expected {self.type.__name__}, got {type(value).__name__}")
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConfigError(f"bad value for '{self.name}': {value!r} ({exc}).") from None
        if isinstance(parsed, float) and not math.isfinite(parsed):
            raise ConfigError(f"bad value for '{self.name}': {value!r} is not a finite number.")
        if self.choices is not None and parsed not in self.choices:
            raise ConfigError(
                f"bad value for '{self.name}': {parsed!r}; choose one of {', '.join(map(str, self.choices))}."
                + did_you_mean(str(parsed), map(str, self.choices))
            )
        if self.low is not None and parsed < self.low:
            raise ConfigError(f"bad value for '{self.name}': {parsed!r} is below the minimum {self.low}.")
        if self.high is not None and parsed > self.high:
            raise ConfigError(f"bad value for '{self.name}': {parsed!r} is above the maximum {self.high}.")
        return parsed

    def describe_range(self) -> str:
        if self.choices is not None:
            return "{" + ",".join(map(str, self.choices)) + "}"
        if self.low is not None or self.high is not None:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            return f"[{lo}, {hi}]"
        return ""


@dataclass(frozen=True)
class HParamSpace:
    """An ordered set of declarations belonging to one method or protocol."""

    params: tuple[HParam, ...] = field(default_factory=tuple)

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def get(self, name: str) -> HParam | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def recorded(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` as a record names them: without the ``record_default=False`` parameters that are
        at their default."""
        quiet = {p.name: p.default for p in self.params if not p.record_default}
        return {k: v for k, v in values.items() if k not in quiet or v != quiet[k]}

    def resolve(self, overrides: Mapping[str, Any], owner: str,
                elsewhere: Callable[[str], str] = lambda name: "") -> dict[str, Any]:
        """Defaults updated with validated overrides; unknown names raise ConfigError with a
        did-you-mean, else with ``elsewhere(name)`` (e.g. which other methods take it)."""
        values = self.defaults()
        for name, raw in overrides.items():
            param = self.get(name)
            if param is None:
                known = ", ".join(self.names()) or "(none)"
                hint = did_you_mean(name, self.names()) or elsewhere(name)
                raise ConfigError(f"{owner} has no hyperparameter '{name}'.{hint} Valid keys: {known}.")
            values[name] = param.parse(raw)
        return values


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Parse `key=value` strings from `--set` into a dict, with a clear error for malformed ones."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r} (example: --set lr=0.01).")
        key, value = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set expects key=value, got {item!r}.")
        out[key] = value.strip()
    return out
