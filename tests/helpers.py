"""Small builders shared by the tests: tiny real runs on the synthetic protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from c3bench.accounting import Budgets
from c3bench.runner import Callbacks, Runner, RunSpec, resolve

TINY = {"num_clients": "2", "train_per_client": "64", "test_per_client": "32"}


def tiny_spec(method: str = "fedavg", rounds: int = 2, seed: int = 0, budgets: Budgets | None = None,
              charge_inference: bool = False, client_workers: int = 1, stack_clients: bool = False,
              backbone: str = "simple-cnn", flush_denormal: bool = False, **overrides: Any) -> RunSpec:
    return RunSpec(method=method, protocol="synthetic", overrides={**TINY, **overrides}, rounds=rounds, seed=seed,
                   budgets=budgets or Budgets(), backbone=backbone, charge_inference=charge_inference,
                   client_workers=client_workers, stack_clients=stack_clients, flush_denormal=flush_denormal)


def run_tiny(out_dir: Path, callbacks: Callbacks | None = None, resume: bool = False, **kwargs: Any) -> dict:
    spec = tiny_spec(**kwargs)
    return Runner(resolve(spec), out_dir, callbacks).execute(resume=resume, overwrite=not resume)
