"""Sweeps: expand a hyperparameter grid over methods and seeds, skip what is already done, and run the
rest serially, in local worker processes, or on a Ray cluster.

Each run is an ordinary :class:`c3bench.runner.Runner` run that writes its own result file, so a sweep
stopped at any point (Ctrl-C, a killed machine) keeps every finished run. Running it again skips
configurations that already have a completed (or budget-stopped) result, matched by the config hash
including the seed, and resumes unfinished ones from their checkpoints.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import queue as queue_module
import re
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c3bench import registry
from c3bench.accounting import Budgets
from c3bench.hparams import ConfigError, did_you_mean
from c3bench.parallel import die_with_parent
from c3bench.results import (
    ResultError,
    config_hash,
    load_record,
    mode_text,
    record_modes,
    validate_record,
    write_atomic,
)
from c3bench.runner import (
    Callbacks,
    ResolvedRun,
    Runner,
    RunSpec,
    checkpoint_path,
    resolve,
    result_path,
)

EXECUTORS = ("serial", "process", "ray")
MAX_JOBS = 10_000  # runs one sweep (or one reproduction) may expand to; refused up front beyond it
DONE = ("completed", "budget-stopped")
RAY_HINT = "pip install 'c3bench[ray]'"
_SEEDS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


# ------------------------------------------------------------------------------------------ parsing
def parse_seeds(text: str) -> list[int]:
    """'0-2' -> [0, 1, 2]; '0,3,5' and '0-2,7' work too. Each seed is in [0, 2^32), and at most
    :data:`MAX_JOBS` of them (checked before any list is made)."""
    seeds: list[int] = []
    for part in str(text).split(","):
        match = _SEEDS.match(part)
        if not match:
            raise ConfigError(f"cannot read seeds {text!r}; write e.g. 0-2 or 0,3,5.")
        if any(len(g) > 10 for g in match.groups() if g):
            raise ConfigError(f"--seeds {part.strip()!r}: a seed is an integer in [0, 2^32).")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if hi >= 2**32:
            raise ConfigError(f"--seeds {part.strip()!r}: a seed is an integer in [0, 2^32).")
        if hi < lo:
            raise ConfigError(f"seed range {part.strip()!r} is empty; write the smaller seed first.")
        if len(seeds) + hi - lo + 1 > MAX_JOBS:
            raise ConfigError(f"--seeds {text[:40]!r} gives more than {MAX_JOBS:,} seeds; a sweep is at most "
                              f"{MAX_JOBS:,} runs.")
        seeds.extend(range(lo, hi + 1))
    return list(dict.fromkeys(seeds))


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """['kappa=0.3,0.6', 'eta=0.5'] -> {'kappa': ['0.3', '0.6'], 'eta': ['0.5']}."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not parts:
            raise ConfigError(f"--grid expects key=v1,v2,..., got {item!r} (example: --grid kappa=0.3,0.6,0.9).")
        if key in grid:
            raise ConfigError(f"--grid gives '{key}' twice; list all its values in one --grid.")
        grid[key] = list(dict.fromkeys(parts))
    return grid


# ------------------------------------------------------------------------------------------ expansion
def _owner_of(key: str, method: str, protocol: str) -> bool:
    """Whether ``key`` (maybe prefixed method./protocol.) is a hyperparameter this run accepts."""
    m_space = registry.space(registry.get_method(method))
    p_space = registry.space(registry.get_protocol(protocol))
    if key.startswith("method."):
        return m_space.get(key[7:]) is not None
    if key.startswith("protocol."):
        return p_space.get(key[9:]) is not None
    return m_space.get(key) is not None or p_space.get(key) is not None


def _check_keys(keys: Sequence[str], methods: Sequence[str], protocol: str, flag: str) -> None:
    for key in keys:
        if not any(_owner_of(key, m, protocol) for m in methods):
            known = sorted({n for m in methods for n in registry.space(registry.get_method(m)).names()}
                           | set(registry.space(registry.get_protocol(protocol)).names()))
            raise ConfigError(
                f"{flag} key '{key}' is a hyperparameter of none of {', '.join(methods)} nor of protocol "
                f"'{protocol}'.{did_you_mean(key.split('.')[-1], known)} Valid keys: {', '.join(known)}."
            )


def _check_size(methods: Sequence[str], protocol: str, seeds: Sequence[int], grid: dict[str, list[str]]) -> None:
    """Refuse, before anything is built, a sweep of more than :data:`MAX_JOBS` runs."""
    total = 0
    for method in dict.fromkeys(methods):
        points = 1
        for key, values in grid.items():
            if _owner_of(key, method, protocol):
                points *= len(values)
        total += points * len(seeds)
        if total > MAX_JOBS:
            sizes = " x ".join(f"{len(v)} {k}" for k, v in grid.items())
            raise ConfigError(f"this sweep expands to more than {MAX_JOBS:,} runs ({len(methods)} method(s)"
                              f"{', ' + sizes if sizes else ''}, {len(seeds)} seed(s)); split it into smaller sweeps "
                              "(the same --out folder skips what is done).")


def expand(
    methods: Sequence[str],
    protocol: str,
    seeds: Sequence[int],
    grid: dict[str, list[str]] | None = None,
    overrides: dict[str, str] | None = None,
    rounds: int | None = None,
    budgets: Budgets | None = None,
    backbone: str | None = None,
    data_root: str | None = None,
    device: str = "cpu",
    devices: str | None = None,
    flush_denormal: bool = False,
) -> list[ResolvedRun]:
    """Every (method, grid point, seed) as a validated run, in a stable order, without duplicates.

    A grid or ``--set`` key applies to the methods (or the protocol) that declare it; a method that
    lacks it runs once without it. A key that no method and not the protocol declares is an error.
    Everything is validated here, before any work starts.
    """
    grid, overrides = dict(grid or {}), dict(overrides or {})
    if not methods:
        raise ConfigError("no methods given (example: --methods fedavg,fedprox).")
    if not seeds:
        raise ConfigError("no seeds given (example: --seeds 0-2).")
    for m in methods:
        registry.get_method(m)
    registry.get_protocol(protocol)
    _check_keys(list(grid), methods, protocol, "--grid")
    _check_keys(list(overrides), methods, protocol, "--set")
    _check_size(methods, protocol, seeds, grid)
    runs: dict[str, ResolvedRun] = {}
    for method in dict.fromkeys(methods):
        fixed = {k: v for k, v in overrides.items() if _owner_of(k, method, protocol)}
        keys = [k for k in grid if _owner_of(k, method, protocol)]
        for combo in itertools.product(*(grid[k] for k in keys)):
            for seed in seeds:
                spec = RunSpec(method=method, protocol=protocol, overrides={**fixed, **dict(zip(keys, combo, strict=True))},
                               rounds=rounds, seed=seed, budgets=budgets or Budgets.parse(), backbone=backbone,
                               data_root=data_root, device=device, devices=devices, flush_denormal=flush_denormal)
                run = resolve(spec)
                runs.setdefault(config_hash(run.config, include_seed=True), run)
    return list(runs.values())


# ------------------------------------------------------------------------------------------ planning
@dataclass
class Job:
    """One run still to do. ``resume``: continue from its checkpoint; ``overwrite``: restart it."""

    spec: RunSpec
    name: str
    key: str
    rounds: int
    method: str = ""
    start_round: int = 0
    resume: bool = False
    overwrite: bool = False
    varied: dict[str, str] = field(default_factory=dict)  # the overrides that differ across the sweep

    @property
    def label(self) -> str:
        shown = ",".join(f"{k}={v}" for k, v in sorted(self.varied.items()))
        return f"{self.method or self.spec.method}" + (f" {shown}" if shown else "") + f" s{self.spec.seed}"


@dataclass
class Plan:
    """What a sweep will do: ``todo`` runs and ``done`` ones (name -> existing result file)."""

    todo: list[Job]
    done: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    varied: dict[str, dict[str, str]] = field(default_factory=dict)  # run name -> its varying overrides
    # finished runs (in ``done``) whose records ran in another numeric mode than asked: fine to report,
    # never to count as this sweep's work
    other_mode: list[str] = field(default_factory=list)

    def refuse_other_modes(self) -> None:
        """Raise ConfigError when a finished run here ran in another numeric mode than this sweep asks for:
        skipping it would pass another arithmetic's numbers off as this sweep's, rerunning would overwrite it."""
        if self.other_mode:
            more = f" (and {len(self.other_mode) - 1} more)" if len(self.other_mode) > 1 else ""
            raise ConfigError(f"{self.other_mode[0]}{more}. Run with the same options, or write to another --out "
                              "folder.")

    @property
    def rounds_todo(self) -> int:
        return sum(j.rounds - j.start_round for j in self.todo)


def _finished_index(out_dir: Path, notes: list[str]) -> dict[str, list[tuple[Path, list[str]]]]:
    """Config hash (seed included) -> [(result file, its numeric mode flags)], for every finished record in
    ``out_dir`` (a folder two suites share may hold one configuration and seed in two modes)."""
    index: dict[str, list[tuple[Path, list[str]]]] = {}
    for path in sorted(out_dir.glob("*.json")):
        try:
            record = load_record(path)
        except ResultError as exc:
            notes.append(f"ignored {path}: {exc}")
            continue
        if record["status"] in DONE:
            index.setdefault(config_hash(record["config"], include_seed=True), []).append((path, record_modes(record)))
    return index


def plan(runs: Sequence[ResolvedRun], out_dir: str | Path) -> Plan:
    """Split runs into those already finished in ``out_dir`` and those to (re)start or resume."""
    out_dir = Path(out_dir)
    notes: list[str] = []
    index = _finished_index(out_dir, notes) if out_dir.is_dir() else {}
    todo: list[Job] = []
    done: dict[str, Path] = {}
    other_mode: list[str] = []
    common = set.intersection(*(set(r.spec.overrides.items()) for r in runs)) if runs else set()
    varied = {r.name: {k: v for k, v in r.spec.overrides.items() if (k, v) not in common} for r in runs}
    for run in runs:
        key = config_hash(run.config, include_seed=True)
        if key in index:
            path, flags = next((f for f in index[key] if f[1] == run.spec.numeric_flags), index[key][0])
            if flags != run.spec.numeric_flags:  # another arithmetic's numbers: a report may read them, a run may not
                other_mode.append(f"{path} holds run {run.name} finished with {mode_text(flags)}, and this asks for "
                                  f"{mode_text(run.spec.numeric_flags)}")
            done[run.name] = path
            continue
        job = Job(run.spec, run.name, key, run.rounds, run.method_cls.name, varied=varied[run.name])
        result, checkpoint = result_path(out_dir, run.name), checkpoint_path(out_dir, run.name)
        if result.exists():
            try:
                previous = load_record(result)
            except ResultError as exc:
                notes.append(f"{result} is unreadable and will be rerun: {exc}")
                previous = None
            if previous is not None and previous["config"] != run.config:
                raise ConfigError(f"{result} holds a different configuration than the sweep's run of the same "
                                  "name; move it away or use another --out folder.")
            if previous is not None and checkpoint.exists():
                job.resume, job.start_round = True, len(previous["rounds"])
            else:
                job.overwrite = True
        elif checkpoint.exists():
            job.overwrite = True  # stopped during its first round: nothing finished to keep
        todo.append(job)
    return Plan(todo, done, notes, varied, other_mode)


# ------------------------------------------------------------------------------------------ one run
@dataclass
class Outcome:
    """What became of one job. ``status`` is the record's, or 'failed' with ``error`` set."""

    name: str
    status: str
    result_file: str
    accuracy: float | None = None
    rounds_completed: int = 0
    error: str | None = None
    record_text: str | None = None  # the result file's text, for executors on other machines
    os_error: bool = False  # failed on an operating-system error (disk full, read-only folder), not its settings


class SweepEvents:
    """Hooks for a front end (progress display) or a test; called in the sweep's main process."""

    def on_run_start(self, job: Job, start_round: int) -> None: ...
    def on_round(self, job: Job, round_number: int, accuracy: float) -> None: ...
    def on_run_end(self, job: Job, outcome: Outcome) -> None: ...


class _ForwardCallbacks(Callbacks):
    """Runner callbacks that forward start/round events through ``emit`` and honour a stop flag."""

    def __init__(self, name: str, emit: Callable[[tuple], None], should_stop: Callable[[], bool] | None = None):
        self.name, self.emit, self.should_stop = name, emit, should_stop
        self._checked = 0.0
        self._rounds = 0

    def _maybe_stop(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.should_stop is not None and (force or now - self._checked > 0.25):
            self._checked = now
            if self.should_stop():
                raise KeyboardInterrupt  # the runner records 'interrupted' and keeps the checkpoint

    def on_start(self, run: ResolvedRun, start_round: int) -> None:
        self._rounds = run.rounds
        self.emit(("start", self.name, start_round))

    def on_progress(self, round_index: int, fraction: float) -> None:
        self._maybe_stop()

    def on_round(self, entry: dict[str, Any]) -> None:
        self.emit(("round", self.name, entry["round"], entry["accuracy"]["mean"]))
        if entry["round"] < self._rounds:  # after the last round, let the run complete
            self._maybe_stop(force=True)


def execute_job(job: Job, out_dir: str, emit: Callable[[tuple], None] | None = None,
                should_stop: Callable[[], bool] | None = None, return_text: bool = False) -> Outcome:
    """Run one job to its end (or an interrupt) with the runner; never raises for a failed run."""
    emit = emit or (lambda event: None)
    runner = Runner(resolve(job.spec), out_dir, _ForwardCallbacks(job.name, emit, should_stop))
    try:
        record = runner.execute(resume=job.resume, overwrite=job.overwrite)
    except KeyboardInterrupt:
        return Outcome(job.name, "interrupted", str(runner.result_file))
    except OSError as exc:
        from c3bench.safe_files import describe_os_error

        return Outcome(job.name, "failed", str(runner.result_file), error=describe_os_error(exc), os_error=True)
    except Exception as exc:  # one broken configuration must not stop the others
        return Outcome(job.name, "failed", str(runner.result_file), error=f"{type(exc).__name__}: {exc}")
    text = runner.result_file.read_text(encoding="utf-8") if return_text else None
    return Outcome(job.name, record["status"], str(runner.result_file), record["totals"].get("accuracy"),
                   record["totals"].get("rounds_completed", 0), record_text=text)


# ------------------------------------------------------------------------------------------ executors
@dataclass
class SweepReport:
    outcomes: list[Outcome]
    skipped: dict[str, Path]
    interrupted: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


class _Dispatcher:
    """Turns forwarded events (tuples) back into SweepEvents calls on Job objects."""

    def __init__(self, jobs: Sequence[Job], events: SweepEvents):
        self.by_name = {j.name: j for j in jobs}
        self.events = events

    def __call__(self, event: tuple) -> None:
        kind, name, *rest = event
        job = self.by_name.get(name)
        if job is None:
            return
        if kind == "start":
            self.events.on_run_start(job, rest[0])
        elif kind == "round":
            self.events.on_round(job, rest[0], rest[1])

    def end(self, outcome: Outcome) -> None:
        self.events.on_run_end(self.by_name[outcome.name], outcome)


def _run_serial(jobs: Sequence[Job], out_dir: str, dispatch: _Dispatcher) -> tuple[list[Outcome], bool]:
    outcomes: list[Outcome] = []
    try:
        for job in jobs:
            outcome = execute_job(job, out_dir, dispatch)
            outcomes.append(outcome)
            dispatch.end(outcome)
            if outcome.status == "interrupted":
                return outcomes, True
    except KeyboardInterrupt:  # between two runs: nothing is in flight
        return outcomes, True
    return outcomes, False


# Worker-process state, set once per worker by the pool initialiser.
_WORKER: dict[str, Any] = {}


def _init_worker(events: Any, stop: Any, threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    die_with_parent()  # a killed sweep leaves no worker training on (or racing a re-run)
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(events=events, stop=stop)


def _worker_job(job: Job, out_dir: str) -> Outcome:
    if _WORKER["stop"].is_set():  # queued before the stop: do not start it
        return Outcome(job.name, "interrupted", str(result_path(Path(out_dir), job.name)))
    return execute_job(job, out_dir, _WORKER["events"].put, _WORKER["stop"].is_set)


def _drain(events: Any, dispatch: _Dispatcher) -> None:
    while True:
        try:
            dispatch(events.get_nowait())
        except queue_module.Empty:
            return


def _run_processes(jobs: Sequence[Job], out_dir: str, workers: int, dispatch: _Dispatcher) -> tuple[list[Outcome], bool]:
    ctx = multiprocessing.get_context("spawn")
    events, stop = ctx.Queue(), ctx.Event()
    threads = max(1, (os.cpu_count() or 1) // workers)
    outcomes: list[Outcome] = []
    interrupted = False
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(events, stop, threads))
    futures: dict[Future, Job] = {pool.submit(_worker_job, job, out_dir): job for job in jobs}
    collected: set[Future] = set()

    def collect() -> None:
        for future, job in futures.items():
            if future in collected or not future.done() or future.cancelled():
                continue
            collected.add(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the worker process itself died
                outcome = Outcome(job.name, "failed", str(result_path(Path(out_dir), job.name)),
                                  error=f"worker process failed: {exc}")
            outcomes.append(outcome)
            dispatch.end(outcome)

    try:
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(events, dispatch)
            collect()
    except KeyboardInterrupt:
        interrupted = True
        stop.set()  # in-flight runs stop at their next step, record 'interrupted' and keep checkpoints
        for future in futures:
            future.cancel()
        try:
            wait([f for f in futures if not f.cancelled()], timeout=120)
            collect()
        except KeyboardInterrupt:  # a second Ctrl-C: stop the workers now (checkpoints survive)
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    if not interrupted:
        _drain(events, dispatch)  # a worker's last events may arrive after its result
    events.close()
    return outcomes, interrupted


def ray_available() -> bool:
    """Whether Ray is installed (without importing it: its import reads settings that
    :func:`_import_ray` may set first)."""
    import importlib.util
    import sys

    if "ray" in sys.modules:
        return sys.modules["ray"] is not None
    return importlib.util.find_spec("ray") is not None


def is_loopback(address: str | None) -> bool:
    """Whether a Ray address is on this machine's loopback (or no address: a local instance)."""
    if address is None or address in ("local", ""):
        return True
    host = _host_port(address)[0]
    return host in ("localhost", "::1") or host.startswith("127.")


def _host_port(address: str) -> tuple[str, int | None]:
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    return (host.strip("[]"), int(port)) if port.isdigit() and host else (hostport, None)


def _import_ray(address: str | None = None):
    """Import Ray; for a local instance or a cluster on the loopback address, make Ray bind and connect
    to 127.0.0.1 too (by default it swaps 127.0.0.1 for the machine's network address)."""
    import sys

    if "ray" not in sys.modules and is_loopback(address):
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError(f"the Ray executor needs Ray, which is not installed. Install it with: {RAY_HINT}") from None
    return ray


RAY_CONNECT_TIMEOUT_S = 10.0
RAY_HINT_UNREACHABLE = ("Check that the cluster runs (`ray status` on its head node), that the address is the head's "
                        "GCS address (HOST:6379) or its client server (ray://HOST:10001), and that no firewall blocks "
                        "the port from this machine; or drop --ray-address to run on a local Ray instance.")


def check_reachable(address: str, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Refuse, within ``timeout`` seconds, a Ray address whose port does not answer: Ray itself would
    wait for it for minutes without a word. 'auto' (the cluster Ray finds by itself) is Ray's to check."""
    import socket

    if address in ("auto", "local"):
        return
    host, port = _host_port(address)
    if port is None:
        raise ConfigError(f"--ray-address {address!r} is not HOST:PORT, ray://HOST:PORT or auto. {RAY_HINT_UNREACHABLE}")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({reason}, within {timeout:g} s). "
                          f"{RAY_HINT_UNREACHABLE}") from None


def task_resources(device: str, gpus_per_run: float | None = None) -> dict[str, float]:
    """What a run asks Ray for: one CPU, and on a CUDA device ``gpus_per_run`` GPUs (default one)."""
    on_gpu = device.split(":")[0] == "cuda"
    gpus = (1.0 if gpus_per_run is None else gpus_per_run) if on_gpu else 0.0
    return {"num_cpus": 1, "num_gpus": gpus}


def _ray_job(job: Job, out_dir: str, events: Any, driver_node: str) -> Outcome:
    """One run in a Ray worker. On the driver's machine it writes into the sweep's folder (so an
    interrupted run keeps its checkpoint); on any other node, which may not see that folder, into a
    folder of its own, and the record comes back to the driver as text (``Outcome.record_text``)."""
    import ray
    import torch

    torch.set_num_threads(1)
    if ray.get_runtime_context().get_node_id() == driver_node:
        return execute_job(job, out_dir, events.put, return_text=True)
    import dataclasses
    import tempfile

    fresh = dataclasses.replace(job, resume=False, overwrite=False)  # no checkpoint of it is here
    with tempfile.TemporaryDirectory(prefix="c3bench-ray-") as local:
        outcome = execute_job(fresh, local, events.put, return_text=True)
    outcome.result_file = str(result_path(Path(out_dir), job.name))
    return outcome


def adopt_record(path: Path, text: str) -> None:
    """Keep here a record another machine wrote (a Ray worker without a shared folder): checked like
    any record (schema, digest, log) and written atomically, unchanged."""
    try:
        validate_record(json.loads(text), str(path))
    except (ValueError, ResultError) as exc:
        raise ConfigError(f"a remote worker sent an unusable record for {path}: {exc}") from None
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, text)



def _adopt(outcome: Outcome) -> None:
    """Keep here a result written on another machine (no shared folder), through the runner."""
    if outcome.record_text is not None:
        adopt_record(Path(outcome.result_file), outcome.record_text)
        outcome.record_text = None


def _run_ray(jobs: Sequence[Job], out_dir: str, workers: int | None, address: str | None,
             dispatch: _Dispatcher, gpus_per_run: float | None = None) -> tuple[list[Outcome], bool]:
    ray = _import_ray(address)
    from ray.util.queue import Queue

    started_here = not ray.is_initialized()
    if started_here:
        loopback = {"_node_ip_address": "127.0.0.1"} if is_loopback(address) else {}
        if address:
            check_reachable(address)
            try:
                ray.init(address=address, log_to_driver=False, **loopback)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"cannot join the Ray cluster at {address}: {exc}. {RAY_HINT_UNREACHABLE}") from None
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, **loopback)
    events = Queue()
    driver_node = ray.get_runtime_context().get_node_id()
    task = ray.remote(_ray_job)
    refs = {task.options(**task_resources(job.spec.device, gpus_per_run)).remote(job, out_dir, events, driver_node): job
            for job in jobs}
    pending = list(refs)
    outcomes: list[Outcome] = []
    interrupted = False

    def collect(done: list) -> None:
        for ref in done:
            job = refs[ref]
            try:
                outcome = ray.get(ref)
                _adopt(outcome)
            except Exception as exc:  # the task was cancelled or its worker died
                status = "interrupted" if interrupted else "failed"
                outcome = Outcome(job.name, status, str(result_path(Path(out_dir), job.name)),
                                  error=None if interrupted else f"ray task failed: {exc}")
            outcomes.append(outcome)
            dispatch.end(outcome)

    def drain() -> None:
        while not events.empty():
            for event in events.get_nowait_batch(events.qsize()):
                dispatch(event)

    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=0.2)
            drain()
            collect(done)
        drain()
    except KeyboardInterrupt:
        interrupted = True
        for ref in pending:
            ray.cancel(ref)  # raises KeyboardInterrupt inside running tasks: they record 'interrupted'
        done, _ = ray.wait(pending, num_returns=len(pending), timeout=120)
        collect(done)
    finally:
        if started_here:
            ray.shutdown()
    return outcomes, interrupted


def run_sweep(
    sweep_plan: Plan,
    out_dir: str | Path,
    executor: str = "serial",
    workers: int | None = None,
    ray_address: str | None = None,
    events: SweepEvents | None = None,
    gpus_per_run: float | None = None,
) -> SweepReport:
    """Execute a plan's jobs; returns their outcomes. Ctrl-C stops cleanly (``interrupted=True``).
    ``gpus_per_run``: GPUs each run asks Ray for when its device is CUDA (default one)."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor '{executor}'.{did_you_mean(executor, EXECUTORS)} "
                          f"Choices: {', '.join(EXECUTORS)}.")
    if workers is not None and workers < 1:
        raise ConfigError(f"-j must be at least 1, got {workers}.")
    if executor == "ray" and not ray_available():
        _import_ray(ray_address)  # fail before any work when Ray is missing
    out = str(Path(out_dir).resolve())
    Path(out).mkdir(parents=True, exist_ok=True)
    dispatch = _Dispatcher(sweep_plan.todo, events or SweepEvents())
    jobs = sweep_plan.todo
    if not jobs:
        return SweepReport([], sweep_plan.done)
    try:
        if executor == "serial":
            outcomes, interrupted = _run_serial(jobs, out, dispatch)
        elif executor == "process":
            outcomes, interrupted = _run_processes(jobs, out, min(workers or os.cpu_count() or 1, len(jobs)), dispatch)
        else:
            outcomes, interrupted = _run_ray(jobs, out, workers, ray_address, dispatch, gpus_per_run)
    except KeyboardInterrupt:
        return SweepReport([], sweep_plan.done, interrupted=True)
    return SweepReport(outcomes, sweep_plan.done, interrupted)
