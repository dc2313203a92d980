"""The contract for protocols: who holds which data, with a version and a content hash."""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from c3bench.federation import Federation
from c3bench.hparams import HParam


class Protocol(ABC):
    """Subclasses declare ``name``, ``description``, ``version``, ``hparams`` and implement ``build``."""

    name: ClassVar[str]
    description: ClassVar[str]
    version: ClassVar[str] = "1"
    hparams: ClassVar[tuple[HParam, ...]] = ()
    default_rounds: ClassVar[int] = 20
    default_backbone: ClassVar[str] = "lenet"
    needs_data: ClassVar[bool] = True  # False for protocols generated offline

    @abstractmethod
    def build(self, params: dict[str, Any], seed: int, data_root: Path | None) -> Federation:
        """Construct the federation for these parameters and seed."""

    @classmethod
    def content_hash(cls, params: dict[str, Any]) -> str:
        """sha256 over name, version, resolved parameters and the protocol's source file.

        A submission's protocol hash must equal the one the registered protocol gives, so a
        changed split rule (a new source) cannot pass as the old protocol.
        """
        try:
            source = inspect.getsource(inspect.getmodule(cls))  # type: ignore[arg-type]
        except (OSError, TypeError):
            source = ""
        blob = json.dumps(
            {"name": cls.name, "version": cls.version, "params": params, "source": source},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()
