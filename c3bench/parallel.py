"""Where clients of a federated round train: in this process, one after another, in worker
processes, one thread each (``--client-workers N``), or together as one stacked model
(``--stack-clients``, for accelerators: one kernel per layer for every client).

Serial and worker modes give the same record for the same settings: every client draws its batches
from its own random stream (``RunContext.stream("client", i, round)``), results come back in the
round's client order and the server aggregates in that order, and every payload still goes through
this process's channel.
A worker holds a replica of the method built on the run's data, which it receives once, in shared
memory (no copy per round); per job it gets what came down the channel and the client's own state,
trains, and returns the update with the FLOPs and samples its meter counted.

With one thread per worker and ``--threads 1`` here, parallel and serial records are identical
(tested); with more threads the kernels may add in another order and results differ in the last bits.
Stacked clients draw the same batches but train through batched kernels: the same bytes, FLOPs and
samples, weights within float rounding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import torch

from c3bench.accounting import Channel, FlopMeter, Ledger
from c3bench.accounting.ledger import Counters

if TYPE_CHECKING:
    from c3bench.federated import ClientJob, FederatedMethod, LocalUpdate
    from c3bench.method import RunContext


class SerialClients:
    """Clients train here, in order."""

    workers = 1

    def check(self, method: Any) -> None:
        """Every method's clients can train one after another."""

    def train(self, method: FederatedMethod, jobs: Sequence[ClientJob]) -> Iterator[LocalUpdate]:
        for job in jobs:
            yield method.train_client(job)

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"client_workers": 1}


# ---------------------------------------------------------------------------------------- workers
_REPLICA: dict[str, Any] = {}


def die_with_parent() -> None:
    """Ask Linux to end this process when its parent dies (no orphans training on); a worker whose
    parent died before it got here ends at once."""
    import multiprocessing

    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)


def _init_replica(method_cls: type, federation, params: dict[str, Any], seed: int, rounds: int, backbone: str,
                  threads: int) -> None:
    die_with_parent()
    torch.set_num_threads(threads)
    from c3bench.method import RunContext

    ledger = Ledger(federation.num_clients)
    ctx = RunContext(federation=federation, params=params, seed=seed, rounds=rounds, backbone=backbone,
                     channel=Channel(ledger), meter=FlopMeter(ledger), ledger=ledger, clients=SerialClients())
    _REPLICA["method"] = method_cls(ctx)


def _train_job(job: ClientJob, client_state: Any) -> tuple[LocalUpdate, Any, Counters]:
    method: FederatedMethod = _REPLICA["method"]
    ledger = method.ctx.ledger
    method.client_state = {} if client_state is None else {job.client: client_state}
    ledger.begin_round()
    update = method.train_client(job)
    counters = ledger.end_round().get(job.client, Counters())
    return update, method.client_state.get(job.client), counters


class WorkerClients:
    """Clients train in ``workers`` processes (spawned once per run), ``threads`` torch threads each."""

    def __init__(self, workers: int, threads: int | None = None):
        if workers < 2:
            raise ValueError("use SerialClients for one worker")
        self.workers = workers
        self.threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self._pool: ProcessPoolExecutor | None = None

    def check(self, method: Any) -> None:
        """Every federated method's clients can train in workers (other methods never call ``train``)."""

    def _start(self, method: FederatedMethod) -> ProcessPoolExecutor:
        ctx: RunContext = method.ctx
        for client in ctx.federation.clients:  # moved to shared memory once: workers map, never copy
            for name in ("x_train", "y_train", "x_test", "y_test"):
                getattr(client, name).share_memory_()
        mp = torch.multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=mp, initializer=_init_replica,
            initargs=(type(method), ctx.federation, ctx.params, ctx.seed, ctx.rounds, ctx.backbone, self.threads))

    def train(self, method: FederatedMethod, jobs: Sequence[ClientJob]) -> Iterator[LocalUpdate]:
        if self._pool is None:
            self._pool = self._start(method)
        futures: list[Future] = [self._pool.submit(_train_job, job, method.client_state.get(job.client))
                                 for job in jobs]
        try:
            for job, future in zip(jobs, futures, strict=True):
                update, state, counters = future.result()
                if state is not None:
                    method.client_state[job.client] = state
                method.ctx.ledger.merge_compute(job.client, counters)
                method.ctx.progress((job.steps_before + update.steps) / job.round_steps)
                yield update
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self) -> dict[str, Any]:
        return {"client_workers": self.workers, "worker_threads": self.threads}


class StackedClients:
    """The clients of a round train here together, as one model with stacked parameters
    (``FederatedMethod.train_clients_stacked``); their records match the serial ones within float
    rounding, not bit for bit."""

    workers = 1

    def check(self, method: Any) -> None:
        """Refuse, before any training, a run whose clients cannot be stacked."""
        from c3bench.federated import FederatedMethod
        from c3bench.hparams import ConfigError

        reason = method.stacking_refusal() if isinstance(method, FederatedMethod) else \
            f"{method.name} is not a federated method"
        if reason:
            raise ConfigError(f"--stack-clients: {reason}; run without it.")

    def train(self, method: FederatedMethod, jobs: Sequence[ClientJob]) -> Iterator[LocalUpdate]:
        yield from method.train_clients_stacked(jobs)

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"client_workers": 1, "client_stacking": True}


def client_executor(workers: int, threads: int | None = None,
                    stacked: bool = False) -> SerialClients | WorkerClients | StackedClients:
    if stacked:  # resolve() refuses stacking together with worker processes
        return StackedClients()
    return SerialClients() if workers <= 1 else WorkerClients(workers, threads)
