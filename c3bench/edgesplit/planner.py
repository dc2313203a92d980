"""EdgeSplit's planner: a split point and a share of the server's bandwidth for every device.

EdgeSplit (Zhang, Cao, Sahni, Chen, Jiang, 2024) is parallel split learning on heterogeneous edge
devices: each device trains its own client part ``blocks[:cut_i]`` while the server trains the rest
for it, and the split points and the bandwidth shares are chosen together to minimise the training
time. No code is public; this module builds it from the paper's description. Choices where the
description is silent are marked *choice*.

Round model (the same one c3bench uses to simulate every run, ``accounting.simtime``, "parallel"):
device ``i`` with ``n_i`` samples, batch ``b`` and cut ``c`` does, per round (one local epoch),

* client compute  n_i * (F_fwd + F_bwd)(blocks[:c]) / f_i
* upload          n_i * (A_c + 8) bytes (activations at the cut, float32, and int64 labels;
                  2 messages per batch, as ``c3bench.split.split_step`` sends them) plus the client
                  part's state (bytes P_c, 1 message) for aggregation,
                  at rate min(uplink_i, s_i * B) + latency per message
* server compute  n_i * (F_fwd + F_bwd)(blocks[c:]) / f_server
* download        n_i * A_c bytes of activation gradients (1 message per batch) plus the aggregated
                  client part (P_c, 1 message), at min(downlink_i, s_i * B) + latency per message

The chain of device ``i`` is the sum of these parts (*choice*: no overlap of compute and transfers
within a device, which is how a batch-synchronous split step runs). The round's makespan is
max(max_i chain_i, sum_i server_i): devices run in parallel, the server's own work is on one
machine (*choice*: a device's server work runs at the server's full speed but the server cannot
do more than its total work allows). FLOPs per block are measured with torch's FLOP counter on the
real modules and real activation tensors (``profile_model``), once.

Algorithm (alternating optimisation, as in the paper):

1. *Start* (*choice*): every uniform cut is evaluated with its optimal bandwidth allocation; the
   best is the starting point, so the plan is never worse than any uniform split.
2. *Bandwidth step* (split points fixed): minimise the makespan over shares summing to 1. Each
   device's chain is non-increasing in its share, so the smallest feasible makespan T is found by
   bisection on T with each device's minimal share for T in closed form
   (``simtime.min_share``); every bandwidth-limited device then finishes at the same time T. What
   is left over (devices saturating their own link) is spread in proportion to the shares.
3. *Split step* (bandwidth fixed): each device in turn takes the cut minimising the makespan, ties
   broken by its own finishing time (so a device that is not the straggler finishes earlier and
   frees bandwidth for the next bandwidth step), then by keeping its current cut.
4. Repeat 2-3 until a full iteration no longer lowers the makespan. Each step is kept only if it
   does not raise the makespan, so the sequence of makespans is non-increasing and the loop stops.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from c3bench.accounting.devices import Fleet
from c3bench.accounting.flops import train_step_cost
from c3bench.accounting.ledger import Counters
from c3bench.accounting.simtime import ClientTime, client_time, min_share, round_time
from c3bench.hparams import ConfigError

LABEL_BYTES = 8  # int64 labels travel with the activations


@dataclass(frozen=True)
class ModelProfile:
    """Per-sample costs of each block of a backbone, measured once on the real modules."""

    blocks: tuple[str, ...]
    input_shape: tuple[int, ...]
    forward_flops: tuple[int, ...]  # per sample, per block
    backward_flops: tuple[int, ...]  # per sample; block 0 computes no input gradient
    activation_numel: tuple[int, ...]  # per sample, output of each block
    activation_elem_bytes: int
    state_bytes: tuple[int, ...]  # state_dict bytes of each block (parameters and buffers)

    @property
    def cuts(self) -> range:
        """Every block boundary: client = blocks[:cut]."""
        return range(1, len(self.blocks))

    def client_flops(self, cut: int) -> int:
        return sum(self.forward_flops[:cut]) + sum(self.backward_flops[:cut])

    def server_flops(self, cut: int) -> int:
        return sum(self.forward_flops[cut:]) + sum(self.backward_flops[cut:])

    def activation_bytes(self, cut: int) -> int:
        return self.activation_numel[cut - 1] * self.activation_elem_bytes

    def client_state_bytes(self, cut: int) -> int:
        return sum(self.state_bytes[:cut])

    @property
    def total_flops(self) -> int:
        return self.client_flops(len(self.blocks))


def _state_bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def profile_model(model: nn.Sequential, input_shape: tuple[int, ...], probe_batch: int = 1) -> ModelProfile:
    """Measure each block's forward/backward FLOPs and output size on real tensors.

    Runs one training step per block on a copy (the model's weights and batch-norm statistics are
    untouched) with a batch of ``probe_batch`` (1: the cheapest; use 2 for a model with a batch norm
    on 1x1 maps); FLOPs of convolutions and matrix products are linear in the batch, so per-sample
    figures are exact (tests/test_planner.py checks the sum against a whole-model step). Block ``k > 0`` also computes the gradient
    of its input (it is sent to the previous block's owner); block 0 does not.
    """
    model = copy.deepcopy(model).train()
    x = torch.zeros((probe_batch, *input_shape))
    fwd, bwd, numel, names = [], [], [], []
    for k, (name, block) in enumerate(model.named_children()):
        cost = train_step_cost(block, tuple(x.shape), input_requires_grad=k > 0)
        for value in (cost.forward_flops, cost.backward_flops):
            if value % probe_batch:
                raise ValueError(f"FLOPs of block {name} are not linear in the batch size")
        fwd.append(cost.forward_flops // probe_batch)
        bwd.append(cost.backward_flops // probe_batch)
        with torch.no_grad():
            x = block(x)
        numel.append(x[0].numel())
        names.append(name)
    return ModelProfile(tuple(names), tuple(input_shape), tuple(fwd), tuple(bwd), tuple(numel),
                        x.element_size(), tuple(_state_bytes(b) for b in model.children()))


def split_counters(profile: ModelProfile, cut: int, samples: int, batch_size: int) -> Counters:
    """The ledger counters one round of parallel split learning at ``cut`` produces for one device."""
    batches = math.ceil(samples / batch_size)
    act, state = profile.activation_bytes(cut), profile.client_state_bytes(cut)
    return Counters(
        bytes_up=samples * (act + LABEL_BYTES) + state,
        bytes_down=samples * act + state,
        client_flops=samples * profile.client_flops(cut),
        server_flops=samples * profile.server_flops(cut),
        messages_up=2 * batches + 1,
        messages_down=batches + 1,
        samples=samples,
    )


def fl_counters(profile: ModelProfile, samples: int) -> Counters:
    """One FedAvg round for one device: the whole model down, local epoch, the whole model up."""
    state = profile.client_state_bytes(len(profile.blocks))
    return Counters(bytes_up=state, bytes_down=state, client_flops=samples * profile.total_flops,
                    messages_up=1, messages_down=1, samples=samples)


@dataclass
class Plan:
    """Split points (client = blocks[:cut]) and bandwidth shares, with the predicted makespan."""

    cuts: list[int]
    shares: list[float]
    makespan_s: float
    history: list[tuple[str, float]] = field(default_factory=list)
    iterations: int = 0
    converged: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SplitPlanner:
    """Plans one fleet for one model profile; ``samples[i]`` is device i's data per round."""

    def __init__(self, profile: ModelProfile, fleet: Fleet, samples: Sequence[int], batch_size: int,
                 cuts: Sequence[int] | None = None):
        if len(samples) != len(fleet):
            raise ConfigError(f"{len(samples)} sample counts for {len(fleet)} devices.")
        if batch_size < 1 or any(n < 1 for n in samples):
            raise ConfigError("batch size and every device's sample count must be at least 1.")
        self.profile, self.fleet, self.samples, self.batch_size = profile, fleet, list(samples), batch_size
        self.candidates = list(cuts) if cuts is not None else list(profile.cuts)
        bad = [c for c in self.candidates if c not in profile.cuts]
        if not self.candidates or bad:
            raise ConfigError(f"candidate cuts must lie in 1..{len(profile.blocks) - 1}, got {self.candidates}.")
        self._counters = [{c: split_counters(profile, c, n, batch_size) for c in self.candidates} for n in samples]

    @property
    def n(self) -> int:
        return len(self.fleet)

    # ---------------------------------------------------------------- the time model
    def counters(self, i: int, cut: int) -> Counters:
        return self._counters[i][cut]

    def device_time(self, i: int, cut: int, share: float) -> ClientTime:
        return client_time(self.counters(i, cut), self.fleet.devices[i], self.fleet.server, share)

    def makespan(self, cuts: Sequence[int], shares: Sequence[float]) -> float:
        return round_time([self.counters(i, c) for i, c in enumerate(cuts)], self.fleet, "parallel", shares).total_s

    def equal_shares(self) -> list[float]:
        return [1.0 / self.n] * self.n

    # ---------------------------------------------------------------- bandwidth step
    def allocate(self, cuts: Sequence[int], iterations: int = 200) -> list[float]:
        """Shares (sum 1) minimising the makespan for fixed ``cuts``: equal finishing times."""
        fleet = self.fleet

        def needed(deadline: float) -> list[float]:
            return [min_share(self.counters(i, c), fleet.devices[i], fleet.server, deadline) for i, c in enumerate(cuts)]

        lo = max(self.device_time(i, c, 1.0).chain_s for i, c in enumerate(cuts))
        hi = max(self.device_time(i, c, 1.0 / self.n).chain_s for i, c in enumerate(cuts))
        if sum(needed(lo)) <= 1.0:
            hi = lo
        else:
            for _ in range(iterations):
                mid = 0.5 * (lo + hi)
                if sum(needed(mid)) <= 1.0:
                    hi = mid
                else:
                    lo = mid
                if hi - lo <= 1e-12 * hi:
                    break
        shares = needed(hi)
        total = sum(shares)
        if not all(math.isfinite(s) for s in shares) or total > 1.0 + 1e-9:
            return self.equal_shares()  # numerical corner case: equal shares are always feasible
        return [s / total for s in shares] if total > 0 else self.equal_shares()

    # ---------------------------------------------------------------- split step
    def best_cut(self, i: int, share: float) -> int:
        """Device i's cut with the shortest own round at ``share`` (ties: the shallower cut)."""
        return min(self.candidates, key=lambda c: (self.device_time(i, c, share).chain_s, c))

    def choose_cuts(self, cuts: Sequence[int], shares: Sequence[float]) -> list[int]:
        """Coordinate step: each device takes the cut minimising (makespan, own time, change)."""
        cuts = list(cuts)
        times = [self.device_time(i, c, s) for i, (c, s) in enumerate(zip(cuts, shares, strict=True))]
        for i in range(self.n):
            others = [t for j, t in enumerate(times) if j != i]
            other_chain = max((t.chain_s for t in others), default=0.0)
            other_server = sum(t.server_s for t in others)

            def key(c: int, i: int = i, chain: float = other_chain, server: float = other_server) -> tuple:
                t = self.device_time(i, c, shares[i])
                return (max(chain, t.chain_s, server + t.server_s), t.chain_s, int(c != cuts[i]), c)

            cuts[i] = min(self.candidates, key=key)
            times[i] = self.device_time(i, cuts[i], shares[i])
        return cuts

    # ---------------------------------------------------------------- baselines and the solve
    def uniform(self, optimise_bandwidth: bool) -> tuple[int, list[float], float]:
        """The best single cut for all devices: (cut, shares, makespan), equal or optimised shares."""
        best: tuple[int, list[float], float] | None = None
        for c in self.candidates:
            cuts = [c] * self.n
            shares = self.allocate(cuts) if optimise_bandwidth else self.equal_shares()
            if optimise_bandwidth and self.makespan(cuts, shares) > self.makespan(cuts, self.equal_shares()):
                shares = self.equal_shares()
            m = self.makespan(cuts, shares)
            if best is None or m < best[2]:
                best = (c, shares, m)
        assert best is not None
        return best

    def fl_makespan(self) -> tuple[float, list[ClientTime]]:
        """FedAvg with the whole model on every device, equal bandwidth shares."""
        per = [fl_counters(self.profile, n) for n in self.samples]
        rt = round_time(per, self.fleet, "parallel", self.equal_shares())
        return rt.total_s, list(rt.per_client)

    def solve(self, max_iterations: int = 100) -> Plan:
        """The alternating optimisation described in the module docstring."""
        cut, shares, current = self.uniform(optimise_bandwidth=True)
        cuts = [cut] * self.n
        history = [("start", current)]
        for iteration in range(1, max_iterations + 1):
            new_cuts = self.choose_cuts(cuts, shares)
            after_cuts = self.makespan(new_cuts, shares)
            if after_cuts > current:
                new_cuts, after_cuts = cuts, current
            history.append(("split", after_cuts))
            new_shares = self.allocate(new_cuts)
            after_bw = self.makespan(new_cuts, new_shares)
            if after_bw > after_cuts:
                new_shares, after_bw = shares, after_cuts
            history.append(("bandwidth", after_bw))
            improved = after_bw < current * (1.0 - 1e-9)
            cuts, shares, current = new_cuts, new_shares, after_bw
            if not improved:
                return Plan(cuts, shares, current, history, iteration, True)
        return Plan(cuts, shares, current, history, max_iterations, False)


_PROFILE_CACHE: dict[tuple[Any, ...], ModelProfile] = {}


def profile_backbone(name: str, num_classes: int, input_shape: tuple[int, int, int]) -> ModelProfile:
    """``profile_model`` of a registered backbone (cached per name, classes and input shape)."""
    from c3bench.models import build_backbone

    key = (name, num_classes, tuple(input_shape))
    if key not in _PROFILE_CACHE:
        c, h, _ = input_shape
        model = build_backbone(name, num_classes, in_channels=c, image_size=h)
        _PROFILE_CACHE[key] = profile_model(model, tuple(input_shape))
    return _PROFILE_CACHE[key]
