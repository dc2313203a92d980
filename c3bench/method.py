"""The contract between the runner and a method, and the context a method runs in."""

from __future__ import annotations

import copy
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from c3bench.accounting import Channel, FlopMeter, Ledger
from c3bench.federation import Federation
from c3bench.hparams import HParam
from c3bench.models import build_backbone

if TYPE_CHECKING:
    from c3bench.accounting.devices import Fleet
    from c3bench.evaluation import LocalScores


def derive_seed(seed: int, *key: int | str) -> int:
    """A 63-bit seed that depends only on the run's seed and ``key`` (e.g. ("client", 3, round))."""
    digest = hashlib.sha256(repr((int(seed), *key)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


@dataclass(frozen=True)
class Timing:
    """How a method's clients compose in wall-clock time, for the simulated-time model.

    ``schedule``: "parallel" (FL, SplitFed V1, EdgeSplit), "sequential" (SL-basic, SplitFed V2) or
    "async-local" (AdaSplit); ``bandwidth_shares``: the method's own split of the server bandwidth
    (one fraction per client), or None for the schedule's default.
    """

    schedule: str = "parallel"
    bandwidth_shares: tuple[float, ...] | None = None


@dataclass
class RunContext:
    """Everything a method may use: data, its resolved hyperparameters, random streams and the accounting."""

    federation: Federation
    params: dict[str, Any]
    seed: int
    rounds: int
    backbone: str
    channel: Channel
    meter: FlopMeter
    ledger: Ledger
    fleet: Fleet | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: Callable[[float], None] = lambda fraction: None  # fraction of the current round done
    clients: Any = None  # a c3bench.parallel client executor (serial, worker processes or stacked); set by the runner
    local_scores: LocalScores | None = None  # the round's local-after-training scores; set by the runner per round

    def stream(self, *key: int | str) -> torch.Generator:
        """A random stream named by ``key``: the same for the same seed and key whatever ran before, so
        clients can train in any order or in other processes and give the same result."""
        return torch.Generator().manual_seed(derive_seed(self.seed, *key))

    def new_backbone(self) -> torch.nn.Sequential:
        """A freshly initialised backbone for this federation (uses the global torch RNG)."""
        c, h, _ = self.federation.input_shape
        model = build_backbone(self.backbone, self.federation.num_classes, in_channels=c, image_size=h)
        return model.to(self.device)


class Method(ABC):
    """A training algorithm. Subclasses declare ``name``, ``description``, ``family`` and ``hparams``.

    The runner calls ``run_round`` once per round and ``predict`` to evaluate each client. A method
    moves every tensor between client and server through ``ctx.channel`` (inference included: the
    runner decides whether evaluation traffic is charged) and wraps every training computation in
    ``ctx.meter.count``; it never prints and never writes files.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    family: ClassVar[str] = "other"  # "federated" or "split": which [params.<family>] of a config applies
    hparams: ClassVar[tuple[HParam, ...]] = ()
    # attributes that only live within one client visit or one round; left out of checkpoints
    transient: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    @classmethod
    def finalize_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Check combinations and fill derived values after each value was validated on its own."""
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
        """Logits of ``client``'s deployed model for a batch of normalised images (under no_grad)."""

    def begin_evaluation(self) -> None:  # noqa: B027 - a hook most methods leave empty
        """Called once before a round's predictions: deploy what clients need to predict."""

    def timing(self) -> Timing:
        """The method's schedule for simulated time (see :class:`Timing`)."""
        return Timing()

    def deployed_model_key(self, client: int) -> Any:
        """Clients with equal keys deploy the same model (FL: the global one), so a test set they
        share is evaluated once."""
        return client

    def describe(self) -> dict[str, Any]:
        """Facts about this instance worth recording (for example a cut point)."""
        return {}

    def deployed_model(self, client: int) -> torch.nn.Module:
        """``client``'s deployed model as one module of the run's backbone (normalised images ->
        logits), a copy that predicts as :meth:`predict` does, without the channel: what ``--save-model``
        writes (:mod:`c3bench.deployed`). Methods that cannot give one leave this unimplemented."""
        raise NotImplementedError(f"method '{self.name}' cannot hand over its deployed model")

    def min_round_bytes(self) -> int | None:
        """A lower bound on the bytes of the first round, known from the configuration before training
        (FL: every selected client downloads and uploads the model), or None: a bandwidth budget below
        it is refused before any round trains."""
        return None

    def score_local(self, client: int, predict: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Report ``client``'s model right after its training in this round, for methods whose clients
        train a model other than the one they deploy: ``predict`` maps normalised images to logits.
        The runner scores it on the client's own test split, outside the ledger unless inference is
        charged (:class:`c3bench.evaluation.LocalScores`); without a runner it does nothing."""
        if self.ctx.local_scores is not None:
            self.ctx.local_scores.record(client, predict)

    # Resuming and budget rollback both need the method's whole state. By default that is every
    # attribute except the shared context and the transient ones; methods holding something
    # unpicklable override these.
    def state_dict(self) -> dict[str, Any]:
        skip = {"ctx", *self.transient}
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in skip})

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in copy.deepcopy(state).items():
            setattr(self, key, value)
