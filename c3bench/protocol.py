"""The contract for protocols: who holds which data, with a version and a content hash."""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
from abc import ABC, abstractmethod
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from c3bench.federation import Federation
from c3bench.hparams import HParam

# Modules whose code decides which samples a client holds; their code is part of every protocol's hash.
DATA_SHAPING_MODULES = ("c3bench.data.partition", "c3bench.data.clients")


@cache
def code_fingerprint(module_name: str) -> str:
    """sha256 of a module's code with docstrings and comments removed (its AST), so that editing
    documentation leaves it unchanged while any change to the code changes it."""
    module = importlib.import_module(module_name)
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return ""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str)):
            body[0] = ast.Pass()
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


class Protocol(ABC):
    """Subclasses declare ``name``, ``description``, ``version``, ``hparams`` and implement ``build``.

    ``suggested_params``: defaults this protocol suggests for method hyperparameters of those names
    (a method never names a protocol; a protocol may suggest). They apply to any method that declares
    the name, unless the user or a configuration sets it.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    version: ClassVar[str] = "1"
    hparams: ClassVar[tuple[HParam, ...]] = ()
    default_rounds: ClassVar[int] = 20
    default_backbone: ClassVar[str] = "lenet"
    needs_data: ClassVar[bool] = True  # False for protocols generated offline
    suggested_params: ClassVar[dict[str, Any]] = {}

    @abstractmethod
    def build(self, params: dict[str, Any], seed: int, data_root: Path | None) -> Federation:
        """Construct the federation for these parameters and seed."""

    @classmethod  # noqa: B027 - most protocols need no check
    def check_params(cls, params: dict[str, Any]) -> None:
        """Refuse (ConfigError) combinations of valid values that cannot work, before any work starts
        (e.g. a federation too large for memory)."""

    @classmethod
    def content_hash(cls, params: dict[str, Any]) -> str:
        """sha256 over name, version, resolved parameters, and the code that shapes the data: the
        protocol's own module, the partitioning and client-assembly modules, and the preprocessing
        version of the tensor cache.

        A submission's protocol hash must equal the one the registered protocol gives, so a changed
        split rule (new code anywhere it lives) cannot pass as the old protocol. Documentation edits
        do not change it (see :func:`code_fingerprint`).
        """
        from c3bench.data.cache import PREPROCESS_VERSION

        blob = json.dumps(
            {"name": cls.name, "version": cls.version, "params": params, "preprocess": PREPROCESS_VERSION,
             "code": {m: code_fingerprint(m) for m in (cls.__module__, *DATA_SHAPING_MODULES)}},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()
