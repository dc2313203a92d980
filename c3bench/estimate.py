"""Time estimates for planned runs without training them (``c3bench reproduce --dry-run``).

A run's FLOPs are counted, not trained: torch's FLOP counter measures one forward and backward pass
of the run's backbone on one sample (as the runner's meter does), times the samples the run will
process (its clients' data sizes, local epochs, sampled fraction, iteration mode) and its rounds.
Divided by this machine's calibrated rate (:mod:`c3bench.calibration`: counted FLOPs per wall second,
measured on real runs or by ``--calibrate``), that gives seconds. With ``-j N`` the runs are packed
on N workers (each with cores/N torch threads, as the sweep runs them), longest first.

``calibrate`` is the explicit measurement: a few seconds of a run's first round, really trained.
"""

from __future__ import annotations

import heapq
import os
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from c3bench import calibration
from c3bench.runspec import ResolvedRun


def samples_per_round(run: ResolvedRun, federation: Any) -> float:
    """Training samples one round processes over all clients, from the configuration and data sizes."""
    sizes = [c.num_train for c in federation.clients]
    p = run.method_params
    if run.method_cls.family == "federated":
        share = min(1.0, max(1, round(p.get("sample_fraction", 1.0) * len(sizes))) / len(sizes))
        return p.get("local_epochs", 1) * sum(sizes) * share
    if p.get("iteration") == "longest":
        return float(len(sizes) * max(sizes))
    return float(sum(sizes))


@lru_cache(maxsize=64)
def _backbone_flops(backbone: str, num_classes: int, shape: tuple[int, int, int]) -> int:
    from c3bench.accounting.flops import train_step_cost
    from c3bench.models import build_backbone

    c, h, w = shape
    model = build_backbone(backbone, num_classes, in_channels=c, image_size=h)
    return train_step_cost(model, (1, c, h, w)).flops


def sample_flops(run: ResolvedRun, federation: Any) -> int:
    """Forward + backward FLOPs of the run's backbone on one sample, counted by torch (on zeros: no
    weights trained, no data read)."""
    return _backbone_flops(run.backbone, federation.num_classes, tuple(federation.input_shape))


def run_flops(run: ResolvedRun, federation: Any, rounds: int | None = None) -> float:
    """The FLOPs a run will count (client + server), over ``rounds`` (default: all of its rounds)."""
    return samples_per_round(run, federation) * sample_flops(run, federation) * (run.rounds if rounds is None else rounds)


def threads_per_run(jobs: int | None) -> int:
    """Torch threads each run gets: torch's default alone, cores/N with -j N (as the sweep sets them)."""
    if not jobs or jobs == 1:
        return torch.get_num_threads()
    return max(1, (os.cpu_count() or 1) // jobs)


@dataclass
class RunEstimate:
    name: str
    flops: float
    seconds: float | None  # None: no calibration for this method and backbone here
    rate: calibration.Rate | None


def estimate(run: ResolvedRun, federation: Any, rounds_left: int, jobs: int | None, device: str) -> RunEstimate:
    flops = run_flops(run, federation, rounds_left)
    rate = calibration.lookup(calibration.this_machine(device), run.method_cls.name, run.backbone, threads_per_run(jobs),
                              run.spec.numeric_flags)
    return RunEstimate(run.name, flops, flops / rate.flops_per_s if rate else None, rate)


def makespan(seconds: list[float], jobs: int | None) -> float:
    """Wall time of running these on ``jobs`` workers, longest first onto the least busy worker."""
    workers = [0.0] * max(1, min(jobs or 1, len(seconds) or 1))
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(workers, workers[0] + s)
    return max(workers)


class _Enough(Exception):
    pass


def calibrate(run: ResolvedRun, federation: Any, seconds: float = 3.0) -> calibration.Rate | None:
    """Measure this machine's rate for the run's method and backbone and keep it in the calibration
    cache: really train (the one place that trains to estimate) about ``seconds`` of rounds, each with
    its evaluation as a run has it. The first round, which also counts FLOPs, is left out of the
    measure when it ends in time; a longer first round is measured as it goes."""
    from c3bench.evaluation import evaluate
    from c3bench.runner import Runner, denormals_flushed

    with tempfile.TemporaryDirectory() as tmp:
        _, ctx, method, _ = Runner(run, tmp, federation=federation).build()
    began = time.perf_counter()
    window = (began, 0.0)  # (start, FLOPs counted before it)

    def counted() -> float:
        done = ctx.ledger.finished.resolved()
        current = sum((c.resolved().client_flops + c.resolved().server_flops for c in ctx.ledger.current), 0)
        return float(done.client_flops + done.server_flops + current)

    def progress(fraction: float) -> None:
        if time.perf_counter() - began >= seconds:
            raise _Enough

    ctx.progress = progress
    try:
        with denormals_flushed(run.spec.flush_denormal):  # measured in the mode the run will train in
            for r in range(max(run.rounds, 1) * 100):
                ctx.ledger.begin_round()
                method.run_round(r % run.rounds)
                evaluate(method, federation, ctx.device)
                ctx.ledger.end_round()
                if r == 0:
                    window = (time.perf_counter(), counted())
                if time.perf_counter() - began >= seconds:
                    break
    except _Enough:
        pass
    finally:
        ctx.clients.close()
    start, before = window
    return calibration.store(calibration.this_machine(run.spec.device), run.method_cls.name, run.backbone,
                             torch.get_num_threads(), counted() - before, time.perf_counter() - start, "calibrate",
                             replace=True, modes=run.spec.numeric_flags)
