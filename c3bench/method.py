"""The contract between the runner and a method, and the context a method runs in."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from c3bench.accounting import Channel, FlopMeter, Ledger
from c3bench.federation import Federation
from c3bench.hparams import HParam
from c3bench.models import build_backbone


@dataclass
class RunContext:
    """Everything a method may use: data, its resolved hyperparameters, RNG and the accounting."""

    federation: Federation
    params: dict[str, Any]
    seed: int
    rounds: int
    backbone: str
    protocol_name: str
    channel: Channel
    meter: FlopMeter
    ledger: Ledger
    rng: torch.Generator
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: Callable[[float], None] = lambda fraction: None  # fraction of the current round done

    def new_backbone(self) -> torch.nn.Sequential:
        """A freshly initialised backbone for this federation (uses the global torch RNG)."""
        c, h, _ = self.federation.input_shape
        model = build_backbone(self.backbone, self.federation.num_classes, in_channels=c, image_size=h)
        return model.to(self.device)


class Method(ABC):
    """A training algorithm. Subclasses declare ``name``, ``description`` and ``hparams``.

    The runner calls ``run_round`` once per round and ``predict`` to evaluate each client. A method
    moves every tensor between client and server through ``ctx.channel`` and wraps every training
    computation in ``ctx.meter.count``; it never prints and never writes files.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    hparams: ClassVar[tuple[HParam, ...]] = ()
    # How clients' work composes in wall-clock time within a round: "parallel" (FL, SplitFed V1)
    # or "sequential" (SL-basic, SplitFed V2). Used by the simulated-time model.
    schedule: ClassVar[str] = "parallel"

    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    @classmethod
    def finalize_params(cls, params: dict[str, Any], protocol: str) -> dict[str, Any]:
        """Fill protocol-dependent defaults (e.g. AdaSplit's lambda) after validation."""
        return params

    @property
    def p(self) -> dict[str, Any]:
        """The resolved hyperparameters."""
        return self.ctx.params

    @abstractmethod
    def run_round(self, round_index: int) -> dict[str, Any] | None:
        """Train one round (0-based index). May return extra per-round facts for the log."""

    @abstractmethod
    def predict(self, client: int, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``client``'s deployed model for a batch of normalised images."""

    def deployed_model_key(self, client: int) -> Any:
        """Clients with equal keys deploy the same model (FL: the global one), so a test set they
        share is evaluated once."""
        return client

    def describe(self) -> dict[str, Any]:
        """Facts about this instance worth recording (for example a cut point)."""
        return {}

    # Resuming and budget rollback both need the method's whole state. By default that is every
    # attribute except the shared context; methods holding something unpicklable override these.
    def state_dict(self) -> dict[str, Any]:
        return copy.deepcopy({k: v for k, v in vars(self).items() if k != "ctx"})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in copy.deepcopy(state).items():
            setattr(self, key, value)
