"""One run: resolve and validate the configuration, train round by round, evaluate, enforce budgets,
checkpoint, and write the result record (the runner is the only writer of records).

Budgets are exact: before each round the method's state is snapshotted; if a charge during the
round would exceed a budget, the ledger raises, the round is rolled back, and the run ends
``budget-stopped`` with the totals of the rounds that fit.
"""

from __future__ import annotations

import io
import json
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from c3bench import configs, registry
from c3bench.accounting import BudgetExceeded, Budgets, Channel, FlopMeter, Ledger, simtime
from c3bench.accounting.devices import Fleet, normalize_spec
from c3bench.environment import environment
from c3bench.evaluation import LocalScores, evaluate
from c3bench.federation import Federation
from c3bench.hparams import ConfigError, HParamSpace, did_you_mean
from c3bench.locks import RunLock, remove_stale_temporaries
from c3bench.method import Method, RunContext
from c3bench.parallel import client_executor
from c3bench.results import (
    CONVENTIONS,
    SCHEMA,
    config_hash,
    execution_flags,
    load_record,
    totals_from_rounds,
    write_atomic,
    write_record,
)


@dataclass
class RunSpec:
    """What the user asked for, before validation. ``overrides`` come from ``--set key=value``."""

    method: str | None
    protocol: str | None  # None only with ``config``, which then names it
    overrides: dict[str, Any] = field(default_factory=dict)
    rounds: int | None = None
    seed: int = 0
    budgets: Budgets = field(default_factory=Budgets)
    backbone: str | None = None
    data_root: str | None = None
    device: str = "cpu"
    name: str | None = None
    config: str | None = None  # NAME, NAME/RUN or a .toml file (c3bench.configs); the fields above override it
    devices: str | None = None  # fleet for simulated time: presets, random[:SEED] or a .json/.toml file
    charge_inference: bool = False  # charge evaluation traffic and compute (split inference) to the ledger
    client_workers: int = 1  # federated methods: train the clients of a round in this many processes
    stack_clients: bool = False  # federated methods: train a round's clients as one stacked model
    flush_denormal: bool = False  # CPU: compute subnormal floats as zero (torch.set_flush_denormal), one thread


@dataclass
class ResolvedRun:
    """A validated run: every name exists, every value parsed; nothing has been computed yet."""

    spec: RunSpec
    method_cls: type[Method]
    protocol_cls: type
    method_params: dict[str, Any]
    protocol_params: dict[str, Any]
    rounds: int
    backbone: str
    config: dict[str, Any]
    name: str
    budgets: Budgets = field(default_factory=Budgets)
    reference: dict[str, Any] | None = None  # published values, when the run is a row of a named config


# ------------------------------------------------------------------------------------------ resolving
def _split_overrides(overrides: dict[str, Any], method_space: HParamSpace, protocol_space: HParamSpace,
                     method: str, protocol: str) -> tuple[dict[str, Any], dict[str, Any]]:
    m_over: dict[str, Any] = {}
    p_over: dict[str, Any] = {}
    for key, value in overrides.items():
        if key.startswith("method."):
            m_over[key[7:]] = value
        elif key.startswith("protocol."):
            p_over[key[9:]] = value
        elif method_space.get(key) is not None:
            m_over[key] = value
        elif protocol_space.get(key) is not None:
            p_over[key] = value
        else:
            known = method_space.names() + protocol_space.names()
            raise ConfigError(
                f"unknown key '{key}' for method '{method}' and protocol '{protocol}'."
                f"{did_you_mean(key, known)} Valid keys: {', '.join(known) or '(none)'}."
            )
    return m_over, p_over


def _from_config(spec: RunSpec) -> tuple[RunSpec, dict[str, Any]]:
    """Fill the spec from its configuration file or named configuration (explicit options win)."""
    study, row = configs.get_config(spec.config)
    run = study.select(row, spec.method)
    if spec.protocol is not None and spec.protocol != study.protocol:
        raise ConfigError(f"config '{study.name}' is for protocol '{study.protocol}', but --protocol "
                          f"'{spec.protocol}' was given. Drop --protocol (the config sets it) or drop --config.")
    declared = {cls.name: registry.space(cls) for cls in (registry.get_method(m) for m in study.methods)}
    for key in (k for k in study.params if k not in configs.FAMILIES):
        if not any(space.get(key) is not None for space in declared.values()):
            raise ConfigError(f"config '{study.name}': [params] key '{key}' is a hyperparameter of none of its "
                              f"methods ({', '.join(study.methods)}).")
    method_cls = registry.get_method(run.method)
    params = study.method_params_for(run, method_cls.family, set(declared[run.method].names()))
    overrides = {**{f"protocol.{k}": v for k, v in {**study.protocol_params, **run.protocol_params}.items()},
                 **{f"method.{k}": v for k, v in params.items()}, **spec.overrides}
    budgets = spec.budgets
    if not budgets.declared() and study.budgets:
        budgets = Budgets.parse(study.budgets.get("bandwidth"), study.budgets.get("compute"))
    rounds = spec.rounds if spec.rounds is not None else (run.rounds or study.rounds)
    filled = RunSpec(**{**vars(spec), "method": run.method, "protocol": study.protocol, "overrides": overrides,
                        "rounds": rounds, "backbone": spec.backbone or study.backbone, "budgets": budgets})
    reference = {
        "config": f"{study.name}/{run.name}", "label": run.label, "source": study.source, "note": run.note,
        "values": run.reference.as_dict() if run.reference else None,
        "configured_rounds": run.rounds or study.rounds, "overridden": sorted(spec.overrides),
    }
    return filled, reference


def resolve(spec: RunSpec) -> ResolvedRun:
    """Validate a spec; raise ConfigError (exit code 2 in the CLI) before any work starts.

    The returned run keeps ``spec`` as given (a sweep resolves it again in a worker); what a
    configuration filled in is in the run's other fields.
    """
    original, reference = spec, None
    if spec.config is not None:
        spec, reference = _from_config(spec)
    if not spec.method:
        raise ConfigError("no method given: pass --method (see `c3bench list methods`) or a --config that names one.")
    method_cls = registry.get_method(spec.method)
    protocol_cls = registry.get_protocol(spec.protocol or "synthetic")
    method_space, protocol_space = registry.space(method_cls), registry.space(protocol_cls)
    m_over, p_over = _split_overrides(spec.overrides, method_space, protocol_space, method_cls.name, protocol_cls.name)
    for key, value in protocol_cls.suggested_params.items():  # a protocol may suggest method defaults
        if method_space.get(key) is not None and key not in m_over:
            m_over[key] = value
    method_params = method_cls.finalize_params(method_space.resolve(m_over, f"method '{method_cls.name}'"))
    protocol_params = protocol_space.resolve(p_over, f"protocol '{protocol_cls.name}'")
    protocol_cls.check_params(protocol_params)
    rounds = protocol_cls.default_rounds if spec.rounds is None else spec.rounds
    if not 1 <= rounds <= 100_000:
        raise ConfigError(f"--rounds must be between 1 and 100000, got {rounds}.")
    if not 0 <= spec.seed < 2**32:
        raise ConfigError(f"--seed must be an integer in [0, 2^32), got {spec.seed}.")
    if spec.client_workers < 1:
        raise ConfigError(f"--client-workers must be at least 1, got {spec.client_workers}.")
    if spec.stack_clients and spec.client_workers > 1:
        raise ConfigError("--stack-clients trains every client in this process; drop --client-workers.")
    if spec.flush_denormal and spec.client_workers > 1:
        raise ConfigError("--flush-denormal sets the CPU mode of this process's one thread; drop --client-workers.")
    if spec.flush_denormal and spec.device.split(":")[0] != "cpu":
        raise ConfigError(f"--flush-denormal is a CPU mode; drop it for --device {spec.device}.")
    backbone = spec.backbone or protocol_cls.default_backbone
    if backbone not in registry.BACKBONES:
        registry.BACKBONES.get(backbone)  # ConfigError with a did-you-mean
    for what, value in spec.budgets.as_dict().items():
        if value is not None and not 0 < value < float("inf"):
            raise ConfigError(f"budget {what} must be a positive finite number, got {value}.")
    config = {
        "method": method_cls.name,
        "method_params": method_space.recorded(method_params),
        "protocol": protocol_cls.name,
        "protocol_version": protocol_cls.version,
        "protocol_params": protocol_params,
        "protocol_hash": protocol_cls.content_hash(protocol_params),
        "backbone": backbone,
        "rounds": rounds,
        "seed": spec.seed,
        "budgets": spec.budgets.as_dict(),
    }
    if spec.devices:  # only when given, so configs (and their hashes) without a fleet are unchanged
        config["devices"] = normalize_spec(spec.devices)
    if spec.charge_inference:
        config["charge_inference"] = True
    name = spec.name or f"{method_cls.name}_{protocol_cls.name}_s{spec.seed}_{config_hash(config, True)[:8]}"
    if reference is not None:
        reference["shrunk"] = reference["configured_rounds"] is not None and rounds < reference["configured_rounds"]
    return ResolvedRun(original, method_cls, protocol_cls, method_params, protocol_params, rounds, backbone, config, name,
                       spec.budgets, reference)


def command_line(run: ResolvedRun) -> str:
    """A `c3bench run` command that repeats this run exactly (every non-default setting spelled out)."""
    cfg = run.config
    parts = ["c3bench", "run", "-m", cfg["method"], "-p", cfg["protocol"], "--rounds", str(cfg["rounds"]),
             "--seed", str(cfg["seed"]), "--backbone", cfg["backbone"]]
    for prefix, cls, values in (("method.", run.method_cls, cfg["method_params"]),
                                ("protocol.", run.protocol_cls, cfg["protocol_params"])):
        defaults = registry.space(cls).defaults()
        for key, value in values.items():
            if key not in defaults or defaults[key] != value:
                text = str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, float) else str(value)
                parts += ["--set", f"{prefix}{key}={text}"]
    budgets = cfg["budgets"]
    if budgets.get("bandwidth_bytes") is not None:
        parts += ["--budget-bandwidth", repr(budgets["bandwidth_bytes"])]
    if budgets.get("client_flops") is not None:
        parts += ["--budget-compute", repr(budgets["client_flops"])]
    if "devices" in cfg:
        parts += ["--devices", str(cfg["devices"])]
    if cfg.get("charge_inference"):
        parts.append("--charge-inference")
    parts += execution_flags({"client_stacking": run.spec.stack_clients, "flush_denormal": run.spec.flush_denormal})
    return shlex.join(parts)


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


def adopt_record(path: Path, text: str) -> None:
    """Keep here a record another machine wrote (a Ray worker without a shared folder): checked like
    any record (schema, digest, log) and written atomically, unchanged."""
    from c3bench.results import ResultError, validate_record

    try:
        validate_record(json.loads(text), str(path))
    except (ValueError, ResultError) as exc:
        raise ConfigError(f"a remote worker sent an unusable record for {path}: {exc}") from None
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)


def run(spec: RunSpec, out_dir: str | Path = "results", resume: bool = False, overwrite: bool = False,
        callbacks: Callbacks | None = None) -> dict[str, Any]:
    """Resolve, build and execute a run; returns the sealed record."""
    return Runner(resolve(spec), out_dir, callbacks).execute(resume=resume, overwrite=overwrite)
