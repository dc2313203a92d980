"""One run: resolve and validate the configuration, train round by round, evaluate, enforce budgets,
checkpoint, and write the result record (the runner is the only writer of records).

Budgets are exact: before each round the method's state is snapshotted; if a charge during the
round would exceed a budget, the ledger raises, the round is rolled back, and the run ends
``budget-stopped`` with the totals of the rounds that fit.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from c3bench import registry
from c3bench.accounting import BudgetExceeded, Channel, FlopMeter, Ledger, simtime
from c3bench.accounting.devices import Fleet
from c3bench.environment import environment
from c3bench.evaluation import LocalScores, evaluate
from c3bench.federation import Federation
from c3bench.hparams import ConfigError
from c3bench.locks import LOCK_FOLDER, RunLock, remove_stale_temporaries
from c3bench.method import Method, RunContext
from c3bench.parallel import client_executor
from c3bench.results import (
    CONVENTIONS,
    SCHEMA,
    config_hash,
    load_record,
    totals_from_rounds,
    write_atomic,
    write_record,
)
from c3bench.runspec import ResolvedRun, RunSpec, command_line, resolve  # noqa: F401 - resolve, RunSpec: re-exported
from c3bench.safe_files import refuse_links


# ------------------------------------------------------------------------------------------ running
class NoRoundFits(ConfigError):
    """The budgets do not admit even the first round; nothing was kept."""


class Callbacks:
    """Progress hooks for a front end; the runner itself never prints."""

    def on_start(self, run: ResolvedRun, start_round: int) -> None: ...
    def on_progress(self, round_index: int, fraction: float) -> None: ...
    def on_round(self, entry: dict[str, Any]) -> None: ...
    def on_end(self, record: dict[str, Any]) -> None: ...


@contextmanager
def denormals_flushed(enabled: bool) -> Iterator[None]:
    """Compute subnormal floats as zero while the run lasts (``--flush-denormal``).

    Long sequential split runs fill the server's weights and Adam moments with subnormals, which x86
    CPUs compute many times slower. The CPU flag is per thread (torch's worker threads keep their
    own), so the mode needs exactly one torch thread to mean what the record says.
    """
    if not enabled:
        yield
        return
    if torch.get_num_threads() != 1:
        raise ConfigError(f"--flush-denormal takes effect on the calling thread only, and torch uses "
                          f"{torch.get_num_threads()}; run with --threads 1 (or OMP_NUM_THREADS=1).")
    if not torch.set_flush_denormal(True):
        raise ConfigError("this CPU cannot flush subnormals to zero (it needs SSE3); run without --flush-denormal.")
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def method_code(name: str) -> dict[str, Any]:
    """Which code a method comes from: c3bench's own (with its version) or a plug-in's distribution and
    version, so a board can tell what produced an entry."""
    origin = registry.METHODS.origin(name)
    if origin.get("builtin"):
        from c3bench.version import __version__

        origin["version"] = __version__
    return origin


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def checkpoint_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / ".checkpoints" / f"{name}.pt"


def result_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / f"{name}.json"


class Runner:
    """Executes one resolved run and owns its record and checkpoint files."""

    def __init__(self, run: ResolvedRun, out_dir: str | Path = "results", callbacks: Callbacks | None = None,
                 federation: Federation | None = None, stop_after: int | None = None):
        """``stop_after``: end after that many rounds, every setting (schedules included) still the
        full run's; the record is then ``interrupted`` (how ``leaderboard verify --rounds`` re-runs a prefix)."""
        self.run = run
        self.stop_after = stop_after
        self.out_dir = Path(out_dir)
        self.callbacks = callbacks or Callbacks()
        self.federation = federation
        self.result_file = result_path(self.out_dir, run.name)
        self.checkpoint_file = checkpoint_path(self.out_dir, run.name)

    # ------------------------------------------------------------------ setup
    def build(self) -> tuple[Federation, RunContext, Method, Fleet]:
        """The federation, context, method and fleet of this run, as training starts (nothing run)."""
        run, spec = self.run, self.run.spec
        federation = self.federation
        if federation is None:
            data_root = Path(spec.data_root) if spec.data_root else None
            federation = run.protocol_cls().build(run.protocol_params, spec.seed, data_root)
        fleet = simtime.fleet_for_run(federation.num_clients, [c.device for c in federation.clients],
                                      run.config.get("devices"), spec.seed)
        ledger = Ledger(federation.num_clients, budgets=run.budgets)
        torch.manual_seed(spec.seed)
        ctx = RunContext(
            federation=federation, params=run.method_params, seed=spec.seed, rounds=run.rounds,
            backbone=run.backbone, channel=Channel(ledger), meter=FlopMeter(ledger), ledger=ledger, fleet=fleet,
            device=torch.device(spec.device),
            clients=client_executor(spec.client_workers, stacked=spec.stack_clients),
        )
        method = run.method_cls(ctx)
        ctx.clients.check(method)
        return federation, ctx, method, fleet

    def _base_record(self, federation: Federation, method: Method, ctx: RunContext, fleet: Fleet) -> dict[str, Any]:
        timing = method.timing()
        space = registry.space(self.run.method_cls)
        record = {
            "schema": SCHEMA,
            "name": self.run.name,
            "status": "running",
            "config": self.run.config,
            "config_hash": config_hash(self.run.config),
            "command": command_line(self.run),
            "hparams": {"key": [p.name for p in space.params if p.key], "defaults": space.defaults()},
            "method_code": method_code(self.run.method_cls.name),
            "method_info": {"schedule": timing.schedule, **method.describe()},
            "simulation": {"schedule": simtime.get_schedule(timing.schedule).name, **fleet.as_dict()},
            "data": {"digest": federation.digest(), "clients": federation.summary()},
            "conventions": CONVENTIONS,
            "environment": environment(),
            "execution": {"device": str(ctx.device), **ctx.clients.describe(),
                          **({"flush_denormal": True} if self.run.spec.flush_denormal else {})},
            "created": _now(),
            "rounds": [],
            "totals": {},
        }
        if self.run.reference is not None:
            record["reference"] = self.run.reference
        return record

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, ctx: RunContext, method: Method, record: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({
            "method": method.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "ledger": ctx.ledger.finished,
            "flop_cache": ctx.meter.cache,
            "record": record,
        }, buffer)
        write_atomic(self.checkpoint_file, buffer.getvalue())

    def _load_checkpoint(self, ctx: RunContext, method: Method) -> dict[str, Any]:
        try:
            state = torch.load(self.checkpoint_file, weights_only=False)
        except Exception as exc:  # torch raises many kinds for a damaged file
            raise ConfigError(f"{self.checkpoint_file}: cannot be read ({type(exc).__name__}: {str(exc)[:120]}); it is "
                              "probably damaged. Run the same command with --force (instead of --resume) to restart "
                              "the run from round 1.") from None
        method.load_state_dict(state["method"])
        torch.set_rng_state(state["torch_rng"])
        ctx.ledger.restore(state["ledger"])
        ctx.meter.cache.update(state["flop_cache"])
        return state["record"]

    # ------------------------------------------------------------------ the loop
    def _check_files(self, resume: bool, overwrite: bool) -> dict[str, Any] | None:
        """Refuse what would lose a result; return a finished previous record when resuming one."""
        if resume:
            if not self.result_file.exists() or not self.checkpoint_file.exists():
                raise ConfigError(
                    f"nothing to resume: {self.result_file} or its checkpoint {self.checkpoint_file} is missing. "
                    "Run without --resume to start it."
                )
            previous = load_record(self.result_file)
            if previous["config"] != self.run.config:
                raise ConfigError(f"{self.result_file} was run with a different configuration; cannot resume it.")
            flushed = bool(previous.get("execution", {}).get("flush_denormal"))
            if flushed != self.run.spec.flush_denormal:
                raise ConfigError(f"{self.result_file} was run {'with' if flushed else 'without'} --flush-denormal; "
                                  f"resume it {'with' if flushed else 'without'} it too.")
            if previous["status"] in ("completed", "budget-stopped"):
                return previous
        elif self.result_file.exists() and not overwrite:
            raise ConfigError(
                f"{self.result_file} already exists. Use --resume to continue it, --force to overwrite, "
                "or --name to write elsewhere."
            )
        return None

    def _train_round(self, r: int, ctx: RunContext, method: Method, federation: Federation,
                     fleet: Fleet) -> dict[str, Any]:
        """One round and its evaluation; returns the log entry (BudgetExceeded propagates)."""
        began = time.perf_counter()
        charged = bool(self.run.config.get("charge_inference"))
        ctx.ledger.begin_round()
        ctx.local_scores = LocalScores(federation, ctx.ledger, ctx.device, charged)
        try:
            extra = method.run_round(r) or {}
        finally:
            local, ctx.local_scores = ctx.local_scores.entry(), None
        accuracies = evaluate(method, federation, ctx.device, charged=charged)
        per_client = ctx.ledger.end_round()
        timing = method.timing()
        return {
            "round": r + 1,
            "accuracy": {"per_client": accuracies, "mean": sum(accuracies) / len(accuracies)},
            **({"local_accuracy": local} if local is not None else {}),
            "cumulative": ctx.ledger.finished.as_dict(),
            "per_client": [c.as_dict() for c in per_client],
            "wall_s": time.perf_counter() - began,
            "sim_time_s": simtime.simulate_round(timing.schedule, timing.bandwidth_shares, per_client, fleet),
            "extra": extra,
        }

    @staticmethod
    def _no_round_message(exc: BudgetExceeded) -> str:
        from c3bench.units import human_bytes, human_flops

        show = human_bytes if exc.what == "bandwidth" else lambda v: human_flops(v).replace("FLOP", "FLOPs")
        flag = "--budget-bandwidth" if exc.what == "bandwidth" else "--budget-compute"
        return (f"the {exc.what} budget of {show(exc.budget)} admits no round: round 1 alone needs more than "
                f"{show(exc.used)} (the charge that crossed it came before the round ended). Raise {flag} above "
                "one round's cost, or drop it; nothing was written.")

    def execute(self, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
        """Run (or resume) to the end, a budget stop, or Ctrl-C; always leaves a valid record.

        The run holds an exclusive lock on its result name from start to end: a second run of the
        same name (another seed with the same --name, a re-run racing an orphan) is refused.
        """
        with denormals_flushed(self.run.spec.flush_denormal):  # first: refused before any file is touched
            return self._execute(resume, overwrite)

    def _execute(self, resume: bool, overwrite: bool) -> dict[str, Any]:
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ConfigError(f"--out {self.out_dir} is a file; give a folder for the result records.")
        for path in (self.result_file, self.checkpoint_file, self.out_dir / LOCK_FOLDER):  # written, never followed
            refuse_links(self.out_dir, path, "results folder")
        lock = RunLock(self.out_dir, self.run.name)
        if not lock.acquire():
            raise ConfigError(f"another c3bench run is writing {self.result_file} right now; wait for it to end, or "
                              "give this run another --name.")
        try:
            remove_stale_temporaries(self.out_dir, held=self.run.name)
            finished = self._check_files(resume, overwrite)
            if finished is not None:
                return finished
            federation, ctx, method, fleet = self.build()
            try:
                return self._loop(federation, ctx, method, fleet, resume)
            finally:
                ctx.clients.close()
        finally:
            lock.release()

    def _loop(self, federation: Federation, ctx: RunContext, method: Method, fleet: Fleet, resume: bool) -> dict[str, Any]:
        if resume:
            record = self._load_checkpoint(ctx, method)
        else:
            record = self._base_record(federation, method, ctx, fleet)
            self._save_checkpoint(ctx, method, record)
        start = len(record["rounds"])
        self.callbacks.on_start(self.run, start)
        ctx.ledger.budgets = self.run.budgets
        record["status"] = "running"
        snapshot_needed = self.run.budgets.declared()
        end = self.run.rounds if self.stop_after is None else min(self.run.rounds, self.stop_after)
        try:
            for r in range(start, end):
                ctx.progress = lambda f, r=r: self.callbacks.on_progress(r, f)
                snapshot = (method.state_dict(), torch.get_rng_state()) if snapshot_needed else None
                try:
                    entry = self._train_round(r, ctx, method, federation, fleet)
                except BudgetExceeded as exc:
                    assert snapshot is not None
                    method.load_state_dict(snapshot[0])
                    torch.set_rng_state(snapshot[1])
                    ctx.ledger.abort_round()
                    if not record["rounds"]:
                        self.checkpoint_file.unlink(missing_ok=True)
                        raise NoRoundFits(self._no_round_message(exc)) from None
                    record["status"] = "budget-stopped"
                    record["budget_stop"] = {"round": r + 1, "what": exc.what, "would_use": exc.used, "budget": exc.budget}
                    break
                record["rounds"].append(entry)
                record["totals"] = totals_from_rounds(record["rounds"])
                record["updated"] = _now()
                write_record(self.result_file, record)
                self._save_checkpoint(ctx, method, record)
                self.callbacks.on_round(entry)
            else:
                record["status"] = "completed" if end == self.run.rounds else "interrupted"
        except KeyboardInterrupt:
            record["status"] = "interrupted"
            record["updated"] = _now()
            sealed = write_record(self.result_file, record)
            self.callbacks.on_end(sealed)
            raise
        record["totals"] = totals_from_rounds(record["rounds"])
        record["updated"] = _now()
        sealed = write_record(self.result_file, record)
        self.checkpoint_file.unlink(missing_ok=True)
        self.callbacks.on_end(sealed)
        return sealed


def run(spec: RunSpec, out_dir: str | Path = "results", resume: bool = False, overwrite: bool = False,
        callbacks: Callbacks | None = None) -> dict[str, Any]:
    """Resolve, build and execute a run; returns the sealed record."""
    return Runner(resolve(spec), out_dir, callbacks).execute(resume=resume, overwrite=overwrite)
