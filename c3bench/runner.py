"""One run: resolve and validate the configuration, train round by round, evaluate, enforce budgets,
checkpoint, and write the result record (the runner is the only writer of records).

Budgets are exact: before each round the method's state is snapshotted; if a charge during the
round would exceed a budget, the ledger raises, the round is rolled back, and the run ends
``budget-stopped`` with the totals of the rounds that fit.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from c3bench import configs, registry
from c3bench.accounting import BudgetExceeded, Budgets, Channel, FlopMeter, Ledger, simtime
from c3bench.accounting.devices import normalize_spec
from c3bench.data.batches import to_float
from c3bench.environment import environment
from c3bench.federation import Federation
from c3bench.hparams import ConfigError, did_you_mean
from c3bench.method import Method, RunContext
from c3bench.models import BACKBONES
from c3bench.results import CONVENTIONS, SCHEMA, config_hash, load_record, write_atomic, write_record


@dataclass
class RunSpec:
    """What the user asked for, before validation. ``overrides`` come from ``--set key=value``."""

    method: str
    protocol: str | None  # None only with ``config``, which then names it
    overrides: dict[str, Any] = field(default_factory=dict)
    rounds: int | None = None
    seed: int = 0
    budgets: Budgets = field(default_factory=Budgets)
    backbone: str | None = None
    data_root: str | None = None
    device: str = "cpu"
    name: str | None = None
    config: str | None = None  # a named configuration (c3bench.configs); the fields above override it
    devices: str | None = None  # fleet for simulated time: presets, random[:SEED] or a .json/.toml file


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


def resolve(spec: RunSpec) -> ResolvedRun:
    """Validate a spec; raise ConfigError (exit code 2 in the CLI) before any work starts."""
    if spec.config is not None:
        spec = configs.get_config(spec.config).apply(spec)
    method_cls = registry.get_method(spec.method)
    protocol_cls = registry.get_protocol(spec.protocol)
    method_space, protocol_space = registry.space(method_cls), registry.space(protocol_cls)
    m_over: dict[str, Any] = {}
    p_over: dict[str, Any] = {}
    for key, value in spec.overrides.items():
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
                f"unknown key '{key}' for method '{method_cls.name}' and protocol '{protocol_cls.name}'."
                f"{did_you_mean(key, known)} Valid keys: {', '.join(known) or '(none)'}."
            )
    method_params = method_space.resolve(m_over, f"method '{method_cls.name}'")
    protocol_params = protocol_space.resolve(p_over, f"protocol '{protocol_cls.name}'")
    method_params = method_cls.finalize_params(method_params, protocol_cls.name)
    rounds = protocol_cls.default_rounds if spec.rounds is None else spec.rounds
    if rounds < 1:
        raise ConfigError(f"--rounds must be at least 1, got {rounds}.")
    backbone = spec.backbone or protocol_cls.default_backbone
    if backbone not in BACKBONES:
        raise ConfigError(f"unknown backbone '{backbone}'.{did_you_mean(backbone, BACKBONES)} Choices: {', '.join(BACKBONES)}.")
    for what, value in spec.budgets.as_dict().items():
        if value is not None and not value > 0:
            raise ConfigError(f"budget {what} must be positive, got {value}.")
    config = {
        "method": method_cls.name,
        "method_params": method_params,
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
    name = spec.name or f"{method_cls.name}_{protocol_cls.name}_s{spec.seed}_{config_hash(config, True)[:8]}"
    return ResolvedRun(spec, method_cls, protocol_cls, method_params, protocol_params, rounds, backbone, config, name)


class Callbacks:
    """Progress hooks for a front end; the runner itself never prints."""

    def on_start(self, run: ResolvedRun, start_round: int) -> None: ...
    def on_progress(self, round_index: int, fraction: float) -> None: ...
    def on_round(self, entry: dict[str, Any]) -> None: ...
    def on_end(self, record: dict[str, Any]) -> None: ...


def evaluate(method: Method, federation: Federation, device: torch.device, batch_size: int = 1000) -> list[float]:
    """Per-client test accuracy (%) of each client's deployed model.

    A test set shared by clients that deploy the same model (a global test set under FL) is
    evaluated once.
    """
    accuracies: list[float] = []
    done: dict[tuple[Any, ...], float] = {}
    with torch.no_grad():
        for i, client in enumerate(federation.clients):
            key = (method.deployed_model_key(i), id(client.x_test), id(client.y_test), client.normalization)
            if key not in done:
                correct = 0
                for start in range(0, client.num_test, batch_size):
                    x = to_float(client.x_test[start:start + batch_size], client.normalization).to(device)
                    y = client.y_test[start:start + batch_size].to(device)
                    correct += int((method.predict(i, x).argmax(dim=1) == y).sum())
                done[key] = 100.0 * correct / max(client.num_test, 1)
            accuracies.append(done[key])
    return accuracies


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def checkpoint_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / ".checkpoints" / f"{name}.pt"


def result_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / f"{name}.json"


class Runner:
    """Executes one resolved run and owns its record and checkpoint files."""

    def __init__(self, run: ResolvedRun, out_dir: str | Path = "results", callbacks: Callbacks | None = None,
                 federation: Federation | None = None):
        self.run = run
        self.out_dir = Path(out_dir)
        self.callbacks = callbacks or Callbacks()
        self.federation = federation
        self.result_file = result_path(self.out_dir, run.name)
        self.checkpoint_file = checkpoint_path(self.out_dir, run.name)

    # ------------------------------------------------------------------ setup
    def _build(self) -> tuple[Federation, RunContext, Method]:
        run, spec = self.run, self.run.spec
        federation = self.federation
        if federation is None:
            data_root = Path(spec.data_root) if spec.data_root else None
            federation = run.protocol_cls().build(run.protocol_params, spec.seed, data_root)
        self.fleet = simtime.fleet_for_run(federation, run.config.get("devices"), spec.seed)
        ledger = Ledger(federation.num_clients, budgets=spec.budgets)
        torch.manual_seed(spec.seed)
        ctx = RunContext(
            federation=federation, params=run.method_params, seed=spec.seed, rounds=run.rounds,
            backbone=run.backbone, protocol_name=run.protocol_cls.name, channel=Channel(ledger),
            meter=FlopMeter(ledger), ledger=ledger, rng=torch.Generator().manual_seed(spec.seed),
            device=torch.device(spec.device),
        )
        return federation, ctx, run.method_cls(ctx)

    def _base_record(self, federation: Federation, method: Method) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.run.name,
            "status": "running",
            "config": self.run.config,
            "config_hash": config_hash(self.run.config),
            "method_info": {"schedule": method.schedule, **method.describe()},
            "simulation": {"schedule": simtime.get_schedule(method.schedule).name, **self.fleet.as_dict()},
            "data": {"digest": federation.digest(), "clients": federation.summary()},
            "conventions": CONVENTIONS,
            "environment": environment(),
            "created": _now(),
            "rounds": [],
            "totals": {},
        }

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, ctx: RunContext, method: Method, record: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({
            "method": method.state_dict(),
            "rng": ctx.rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "ledger": ctx.ledger.finished,
            "flop_cache": ctx.meter.cache,
            "record": record,
        }, buffer)
        write_atomic(self.checkpoint_file, buffer.getvalue())

    def _load_checkpoint(self, ctx: RunContext, method: Method) -> dict[str, Any]:
        state = torch.load(self.checkpoint_file, weights_only=False)
        method.load_state_dict(state["method"])
        ctx.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        ctx.ledger.finished = state["ledger"]
        ctx.meter.cache.update(state["flop_cache"])
        return state["record"]

    # ------------------------------------------------------------------ the loop
    def execute(self, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
        """Run (or resume) to the end, a budget stop, or Ctrl-C; always leaves a valid record."""
        if resume:
            if not self.result_file.exists() or not self.checkpoint_file.exists():
                raise ConfigError(
                    f"nothing to resume: {self.result_file} or its checkpoint {self.checkpoint_file} is missing. "
                    "Run without --resume to start it."
                )
            previous = load_record(self.result_file)
            if previous["config"] != self.run.config:
                raise ConfigError(f"{self.result_file} was run with a different configuration; cannot resume it.")
            if previous["status"] in ("completed", "budget-stopped"):
                return previous
        elif self.result_file.exists() and not overwrite:
            raise ConfigError(
                f"{self.result_file} already exists. Use --resume to continue it, --force to overwrite, "
                "or --name to write elsewhere."
            )

        federation, ctx, method = self._build()
        if resume:
            record = self._load_checkpoint(ctx, method)
        else:
            record = self._base_record(federation, method)
            self._save_checkpoint(ctx, method, record)
        start = len(record["rounds"])
        self.callbacks.on_start(self.run, start)
        ctx.ledger.budgets = self.run.spec.budgets
        record["status"] = "running"
        snapshot_needed = any(v is not None for v in self.run.spec.budgets.as_dict().values())
        try:
            for r in range(start, self.run.rounds):
                ctx.progress = lambda f, r=r: self.callbacks.on_progress(r, f)
                snapshot = (method.state_dict(), ctx.rng.get_state(), torch.get_rng_state()) if snapshot_needed else None
                began = time.perf_counter()
                ctx.ledger.begin_round()
                try:
                    extra = method.run_round(r) or {}
                except BudgetExceeded as exc:
                    assert snapshot is not None
                    method.load_state_dict(snapshot[0])
                    ctx.rng.set_state(snapshot[1])
                    torch.set_rng_state(snapshot[2])
                    ctx.ledger.current = []
                    record["status"] = "budget-stopped"
                    record["budget_stop"] = {"round": r + 1, "what": exc.what, "would_use": exc.used, "budget": exc.budget}
                    break
                per_client = ctx.ledger.end_round()
                accuracies = evaluate(method, federation, ctx.device)
                entry = {
                    "round": r + 1,
                    "accuracy": {"per_client": accuracies, "mean": sum(accuracies) / len(accuracies)},
                    "cumulative": ctx.ledger.finished.as_dict(),
                    "per_client": [c.as_dict() for c in per_client],
                    "wall_s": time.perf_counter() - began,
                    "sim_time_s": simtime.simulate_round(method, per_client, self.fleet),
                    "extra": extra,
                }
                record["rounds"].append(entry)
                record["totals"] = totals_from_rounds(record["rounds"])
                record["updated"] = _now()
                write_record(self.result_file, record)
                self._save_checkpoint(ctx, method, record)
                self.callbacks.on_round(entry)
            else:
                record["status"] = "completed"
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


def totals_from_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals are a pure function of the per-round log (so a leaderboard can recompute them)."""
    if not rounds:
        return {"rounds_completed": 0, "accuracy": None, "accuracy_per_client": [], "wall_s": 0.0,
                "bytes_total": 0, "paper_bytes_total": 0, "client_flops": 0, "server_flops": 0,
                "total_flops": 0, "client_fwd_macs": 0, "server_fwd_macs": 0, "total_fwd_macs": 0,
                "sim_time_s": 0.0}
    last = rounds[-1]
    cum = dict(last["cumulative"])
    return {
        "rounds_completed": len(rounds),
        "accuracy": last["accuracy"]["mean"],
        "accuracy_per_client": last["accuracy"]["per_client"],
        "wall_s": sum(r["wall_s"] for r in rounds),
        "sim_time_s": sum(r["sim_time_s"] for r in rounds) if all("sim_time_s" in r for r in rounds) else None,
        **cum,
        "total_flops": cum["client_flops"] + cum["server_flops"],
        "total_fwd_macs": cum["client_fwd_macs"] + cum["server_fwd_macs"],
    }


def run(spec: RunSpec, out_dir: str | Path = "results", resume: bool = False, overwrite: bool = False,
        callbacks: Callbacks | None = None) -> dict[str, Any]:
    """Resolve, build and execute a run; returns the sealed record."""
    return Runner(resolve(spec), out_dir, callbacks).execute(resume=resume, overwrite=overwrite)


ProgressFn = Callable[[int, float], None]
