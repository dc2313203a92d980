"""Settings as people read them, from a record's configuration alone: a hyperparameter as ``κ=0.3``
(Greek letters for the usual names), the run's other settings in words with units (``2 rounds``,
``bandwidth budget 20 MB``, ``no compute budget``), never an internal key or ``=None``. The score
table, the figures, the board README and the web site all name settings through :func:`setting_text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SYMBOLS = {"kappa": "κ", "eta": "η", "mu": "μ", "beta": "β", "lambda": "λ", "gamma": "γ", "lam": "λ", "tau": "τ",
           "alpha": "α"}


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as ``name -> value``, without what names the group (method, protocol, hashes)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if key in ("method", "protocol", "protocol_hash", "protocol_version", "seed"):
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[sub if key.endswith("params") else f"{key}.{sub}"] = v
        else:
            flat[key] = value
    return flat


def own_defaults(record: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameter defaults a record declares ({} when it declares none)."""
    declared = record.get("hparams")
    defaults = declared.get("defaults") if isinstance(declared, dict) else None
    return defaults if isinstance(defaults, dict) else {}


def declared_defaults(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """method -> its hyperparameters' defaults, merged over every record that declares them: a newer
    record declares parameters an older one predates (the first record to declare a name gives its value)."""
    merged: dict[str, dict[str, Any]] = {}
    for record in records:
        into = merged.setdefault(record["config"]["method"], {})
        for name, value in own_defaults(record).items():
            into.setdefault(name, value)
    return merged


def completed(record: dict[str, Any], merged: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The record's configuration with each method hyperparameter it does not name set to its default:
    the record's own declared default, else (a parameter newer than the record) the one the other records
    declare (``merged``, from :func:`declared_defaults`).

    A record leaves a parameter out when it is at a quiet default (``record_default=False``) or did not
    exist yet; either way the run behaved as the default does, which is what a table should say (not
    'unset')."""
    config = record["config"]
    params = config.get("method_params")
    if not isinstance(params, dict):
        return config
    defaults = {**merged.get(config["method"], {}), **own_defaults(record)}
    return {**config, "method_params": {**{k: v for k, v in defaults.items() if k not in params}, **params}}


def _amount(value: float, unit: str) -> str:
    """20000000 -> '20 MB': the largest decimal prefix that keeps the number at least 1."""
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


# settings outside the method's hyperparameters, named as people read them
_SETTING_WORDS = {
    "budgets.bandwidth_bytes": lambda v: "no bandwidth budget" if v is None else f"bandwidth budget {_amount(v, 'B')}",
    "budgets.client_flops": lambda v: "no compute budget" if v is None else f"compute budget {_amount(v, 'FLOP')}",
    "rounds": lambda v: f"{v} round{'' if v == 1 else 's'}",
    "backbone": lambda v: f"backbone {v}",
    "devices": lambda v: "default devices" if v is None else f"devices {v}",
    "charge_inference": lambda v: "inference charged" if v else "inference not charged",
}


def setting_text(name: str, value: Any) -> str:
    """One setting as a legend or a table shows it: a hyperparameter as ``κ=0.3`` (Greek letters
    for the usual names), the run's other settings in words with units (``2 rounds``, ``bandwidth
    budget 20 MB``, ``no compute budget``), never an internal key or ``=None``."""
    if name in _SETTING_WORDS:
        return _SETTING_WORDS[name](value)
    if value is None:
        return f"{key_text(name)} unset"
    return f"{key_text(name)}={short(value)}"


def short(value: Any) -> str:
    """A value as a setting shows it (floats without trailing zeros)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def key_text(key: str) -> str:
    """A hyperparameter's name as shown (its Greek letter where it has one)."""
    return SYMBOLS.get(key, key)
