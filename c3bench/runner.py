"""One run: resolve and validate the configuration, train round by round, evaluate, enforce budgets,
checkpoint, and write the result record (the runner is the only writer of records).

Budgets are exact: before each round the method's state is snapshotted; if a charge during the
round would exceed a budget, the ledger raises, the round is rolled back, and the run ends
``budget-stopped`` with the totals of the rounds that fit.

Files, so that a round costs what the round wrote: each finished round is appended to the run's round
log (``c3bench.round_log``), then the checkpoint (the method's state and how many rounds are done, not
the record) replaces the previous one. After its first round a run (re)writes the result file as a
small header (status ``running``); the whole record is sealed and written once, when the run ends,
stops on a budget or is interrupted. A run killed at any write resumes from its checkpoint and the
rounds of the log it counts, to the same record.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from c3bench import calibration, deployed, registry, round_log
from c3bench.accounting import BudgetExceeded, Channel, FlopMeter, Ledger, simtime
from c3bench.accounting.devices import Fleet
from c3bench.callbacks import Callbacks, combine
from c3bench.environment import environment
from c3bench.evaluation import LocalScores, evaluate
from c3bench.federation import Federation
from c3bench.hparams import ConfigError
from c3bench.locks import LOCK_FOLDER, RunLock, remove_stale_temporaries
from c3bench.log import log
from c3bench.method import Method, RunContext
from c3bench.parallel import client_executor
from c3bench.results import (
    CONVENTIONS,
    SCHEMA,
    ResultError,
    config_hash,
    counters_entry,
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

    def __init__(self, run: ResolvedRun, out_dir: str | Path = "results",
                 callbacks: Callbacks | Iterable[Callbacks] | None = None,
                 federation: Federation | None = None, stop_after: int | None = None, save_model: bool = False):
        """``callbacks``: one :class:`c3bench.callbacks.Callbacks` or several (called in order).
        ``stop_after``: end after that many rounds, every setting (schedules included) still the
        full run's; the record is then ``interrupted`` (how ``leaderboard verify --rounds`` re-runs a prefix).
        ``save_model``: when the run ends completed or budget-stopped, write its deployed models
        (:mod:`c3bench.deployed`) and name them in the record."""
        self.run = run
        self.stop_after = stop_after
        self.save_model = save_model
        self.reused = False  # execute() found this run already finished and returned its record
        self.out_dir = Path(out_dir)
        self.callbacks = combine(callbacks)
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
    @property
    def log_file(self) -> Path:
        return round_log.log_path(self.result_file)

    def _save_checkpoint(self, ctx: RunContext, method: Method, rounds: int) -> None:
        """The state after ``rounds`` finished rounds (their entries are in the round log)."""
        buffer = io.BytesIO()
        torch.save({
            "method": method.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "ledger": ctx.ledger.finished,
            "flop_cache": ctx.meter.cache,
            "rounds": rounds,
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
        return state

    def _resumed_record(self, state: dict[str, Any], federation: Federation) -> dict[str, Any]:
        """The record to continue: the result file's header and the rounds of the log the checkpoint counts
        (the log is cut there: a round a kill left beyond it is run again, to the same entry)."""
        if "record" in state:  # a checkpoint of c3bench before the round log: it holds the record (schema /1)
            record = {**state["record"], "schema": SCHEMA}
            record["data"] = {**record["data"], "digest": federation.digest()}
            round_log.write(self.log_file, record["rounds"])
            return record
        header = load_record(self.result_file, check_content=False, with_log=False)
        try:
            rounds = round_log.read_rounds(self.log_file, state["rounds"])
        except round_log.RoundLogError as exc:
            raise ConfigError(f"cannot resume: {exc}. Run the same command with --force (instead of --resume) to "
                              "restart the run from round 1.") from None
        round_log.keep_rounds(self.log_file, len(rounds))
        return {**{k: v for k, v in header.items() if k not in ("digest", "updated")}, "rounds": rounds}

    def _write_header(self, record: dict[str, Any]) -> None:
        """The result file of a run in progress: everything but the rounds, which are in the log."""
        write_record(self.result_file, {**record, "status": "running", "rounds": [], "totals": totals_from_rounds([]),
                                        "updated": _now()})

    def _clean_up(self) -> None:
        self.checkpoint_file.unlink(missing_ok=True)
        self.log_file.unlink(missing_ok=True)

    # ------------------------------------------------------------------ the loop
    def _previous(self) -> dict[str, Any]:
        """The record already at the result path, checked to be this run's configuration."""
        try:
            previous = load_record(self.result_file)
        except ResultError as exc:
            raise ConfigError(f"{exc} Run with --force to replace it, or --name to write elsewhere.") from None
        if previous["config"] != self.run.config:
            raise ConfigError(f"{self.result_file} holds a run of another configuration. Use --name to write this "
                              "one elsewhere, or --force to replace it.")
        return previous

    def _check_files(self, resume: bool, overwrite: bool) -> dict[str, Any] | None:
        """Refuse what would lose a result; return the previous record when this run already finished
        (``completed`` or ``budget-stopped``): running it again would only repeat it."""
        if overwrite and not resume or not self.result_file.exists():
            if resume:
                raise ConfigError(f"nothing to resume: there is no {self.result_file}. Run the same command without "
                                  "--resume to start it.")
            return None
        previous = self._previous()
        if previous["status"] in ("completed", "budget-stopped"):
            self.reused = True
            self._clean_up()  # what a kill right after the final write left
            return previous
        if not resume:
            done = len(previous["rounds"])
            raise ConfigError(f"{self.result_file} holds this run, {previous['status']} after round {done} of "
                              f"{self.run.rounds}. Continue it with the same command plus --resume, or start it "
                              "again with --force.")
        if not self.checkpoint_file.exists():
            raise ConfigError(f"cannot resume {self.result_file}: its checkpoint {self.checkpoint_file} is gone. "
                              "Start the run again with --force (instead of --resume).")
        flushed = bool(previous.get("execution", {}).get("flush_denormal"))
        if flushed != self.run.spec.flush_denormal:
            raise ConfigError(f"{self.result_file} was run {'with' if flushed else 'without'} --flush-denormal; "
                              f"resume it {'with' if flushed else 'without'} it too.")
        return None

    def _check_before_training(self, method: Method) -> None:
        """What can be refused once the method is built and before any round trains."""
        if self.save_model and not deployed.supports(method):
            raise ConfigError(f"method '{self.run.method_cls.name}' cannot hand over its deployed models, so "
                              "--save-model cannot save them; drop --save-model.")
        budget = self.run.budgets.bandwidth_bytes
        need = method.min_round_bytes() if budget is not None else None
        if need is not None and need > budget:
            from c3bench.units import human_bytes

            raise NoRoundFits(f"the bandwidth budget of {human_bytes(budget)} admits no round: each round of "
                              f"{self.run.method_cls.name} sends at least {human_bytes(need)} (every selected client "
                              "downloads and uploads the model). Raise --budget-bandwidth above that, or drop it; "
                              "nothing was trained or written.")

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
        per_client = ctx.ledger.end_round()  # the clients that took part only
        timing = method.timing()
        return {
            "round": r + 1,
            "accuracy": accuracies.entry(),
            **({"local_accuracy": local} if local is not None else {}),
            "cumulative": ctx.ledger.finished.as_dict(),
            **counters_entry({c: k.as_dict() for c, k in per_client.items()}, federation.num_clients),
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
                if not resume:
                    self._check_before_training(method)
                return self._loop(federation, ctx, method, fleet, resume)
            finally:
                ctx.clients.close()
        finally:
            lock.release()

    def _loop(self, federation: Federation, ctx: RunContext, method: Method, fleet: Fleet, resume: bool) -> dict[str, Any]:
        if resume:
            record = self._resumed_record(self._load_checkpoint(ctx, method), federation)
        else:
            record = self._base_record(federation, method, ctx, fleet)
            round_log.start(self.log_file)
            self._save_checkpoint(ctx, method, 0)
        header_written = False
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
                        self._clean_up()
                        raise NoRoundFits(self._no_round_message(exc)) from None
                    record["status"] = "budget-stopped"
                    record["budget_stop"] = {"round": r + 1, "what": exc.what, "would_use": exc.used, "budget": exc.budget}
                    break
                # order matters for a kill at any point: log, then header, then the checkpoint that counts it
                entry = round_log.append(self.log_file, entry)
                record["rounds"].append(entry)
                if not header_written:
                    self._write_header(record)
                    header_written = True
                self._save_checkpoint(ctx, method, len(record["rounds"]))
                self.callbacks.on_round(entry)
            else:
                record["status"] = "completed" if end == self.run.rounds else "interrupted"
        except KeyboardInterrupt:
            record["status"] = "interrupted"
            sealed = self._write_record(record)
            self.callbacks.on_end(sealed)
            raise
        if self.save_model and record["status"] in ("completed", "budget-stopped"):
            record["models"] = deployed.save_models(method, federation, self.out_dir, self.run.name, self.run.backbone)
        sealed = self._write_record(record)
        self._clean_up()
        _learn_speed(sealed)
        self.callbacks.on_end(sealed)
        return sealed

    def _write_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """The whole record, sealed, in one atomic write (the run's end, a budget stop or an interrupt)."""
        record["totals"] = totals_from_rounds(record["rounds"])
        record["updated"] = _now()
        return write_record(self.result_file, record)


def _learn_speed(record: dict[str, Any]) -> None:
    """Keep this machine's training rate from a finished run (``c3bench.calibration``), so later plans are
    estimated without training; a cache that cannot be written changes nothing about the run."""
    try:
        calibration.record_run(record)
    except OSError as exc:
        log.debug(f"could not keep this run's speed in the calibration cache: {exc}")


def run(spec: RunSpec, out_dir: str | Path = "results", resume: bool = False, overwrite: bool = False,
        callbacks: Callbacks | Iterable[Callbacks] | None = None, save_model: bool = False) -> dict[str, Any]:
    """Resolve, build and execute a run; returns the sealed record."""
    return Runner(resolve(spec), out_dir, callbacks, save_model=save_model).execute(resume=resume, overwrite=overwrite)
