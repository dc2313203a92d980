"""Named configurations: published experimental settings that anyone reruns with one option.

A configuration is data: a protocol with its parameters, method hyperparameters (shared by the methods
it is written for, plus per-method extras such as FedProx's mu), rounds and backbone, a description,
and the accuracies the source published, for comparison. ``c3bench run --config NAME -m METHOD``
applies it; anything given explicitly (``--protocol`` aside, ``--rounds``, ``--backbone``, ``--set``)
takes precedence over it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from c3bench.hparams import ConfigError, did_you_mean

if TYPE_CHECKING:
    from c3bench.runner import RunSpec

FL_METHODS = ("fedavg", "fedprox", "scaffold", "fednova")


@dataclass(frozen=True)
class NamedConfig:
    """One named experimental setting."""

    name: str
    description: str
    protocol: str
    protocol_params: Mapping[str, Any] = field(default_factory=dict)
    method_params: Mapping[str, Any] = field(default_factory=dict)  # for every method in ``methods``
    per_method: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    methods: tuple[str, ...] = FL_METHODS  # the methods the settings are written for
    rounds: int | None = None
    backbone: str | None = None
    reference: Mapping[str, float] = field(default_factory=dict)  # published accuracy (%) per method
    source: str = ""

    def overrides_for(self, method: str) -> dict[str, Any]:
        """``--set``-style overrides (prefixed, so never ambiguous) for ``method`` on this config."""
        if method not in self.methods:
            raise ConfigError(
                f"config '{self.name}' is written for the methods {', '.join(self.methods)}, not '{method}'."
                f"{did_you_mean(method, self.methods)} Use one of those, or set the options yourself without --config."
            )
        params = {**self.method_params, **self.per_method.get(method, {})}
        return {**{f"protocol.{k}": v for k, v in self.protocol_params.items()},
                **{f"method.{k}": v for k, v in params.items()}}

    def apply(self, spec: RunSpec) -> RunSpec:
        """The spec with this config filled in underneath whatever the spec sets explicitly."""
        if spec.protocol is not None and spec.protocol != self.protocol:
            raise ConfigError(
                f"config '{self.name}' is for protocol '{self.protocol}', but --protocol '{spec.protocol}' was given. "
                "Drop --protocol (the config sets it) or drop --config."
            )
        return dataclasses.replace(
            spec,
            protocol=self.protocol,
            overrides={**self.overrides_for(spec.method), **spec.overrides},  # explicit --set wins
            rounds=spec.rounds if spec.rounds is not None else self.rounds,
            backbone=spec.backbone or self.backbone,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "protocol": self.protocol,
            "protocol_params": dict(self.protocol_params), "method_params": dict(self.method_params),
            "per_method": {k: dict(v) for k, v in self.per_method.items()}, "methods": list(self.methods),
            "rounds": self.rounds, "backbone": self.backbone, "reference": dict(self.reference),
            "source": self.source,
        }


# NIID-Bench (Li et al., ICDE 2022), CIFAR-10 with its simple-cnn: 10 parties, all sampled, 10 local
# epochs, SGD lr 0.01 momentum 0.9, batch 64, 50 rounds. Weight decay 1e-5 is the default of its code
# (`--reg`), which its published scripts never change. FedProx's mu was tuned over {0.001, 0.01, 0.1, 1};
# 0.01 is the value published with the #C=2 row (and the one in the project's README command).
_NIID_BENCH_SGD = {
    "sample_fraction": 1.0, "local_epochs": 10, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
    "batch_size": 64, "weight_decay": 1e-5,
}
_NIID_BENCH_SOURCE = "Li et al., Federated Learning on Non-IID Data Silos: An Experimental Study (NIID-Bench), Table 3"

# The AdaSplit authors' FL baselines (their NIID-Bench fork): LeNet, 5 parties, 20 rounds, 1 local epoch,
# batch 100, Adam lr 3.3e-4, FedProx mu 1; weight decay 1e-5 is NIID-Bench's default `--reg`, which the
# fork inherits (its Adam gets it too).
_ADASPLIT_FL = {
    "sample_fraction": 1.0, "local_epochs": 1, "optimizer": "adam", "lr": 3.3e-4, "batch_size": 100,
    "weight_decay": 1e-5,
}
_ADASPLIT_SOURCE = "AdaSplit authors' recorded FL baselines (notebooks, mean of 5 runs); see implementation-facts.md"

CONFIGS: dict[str, NamedConfig] = {c.name: c for c in (
    NamedConfig(
        name="niid-bench-cifar10-dir0.5",
        description="NIID-Bench CIFAR-10, Dirichlet(0.5) label skew, 10 parties, 50 rounds of 10 local epochs "
                    "(SGD lr 0.01, momentum 0.9, batch 64), global test set.",
        protocol="niid-bench",
        protocol_params={"dataset": "cifar10", "partition": "dirichlet", "alpha": 0.5, "num_clients": 10,
                         "test": "global"},
        method_params=_NIID_BENCH_SGD, per_method={"fedprox": {"mu": 0.01}},
        rounds=50, backbone="simple-cnn",
        reference={"fedavg": 68.2, "fedprox": 67.9, "scaffold": 69.8, "fednova": 66.8},
        source=_NIID_BENCH_SOURCE,
    ),
    NamedConfig(
        name="niid-bench-cifar10-c2",
        description="NIID-Bench CIFAR-10, #C=2 (two labels per party), 10 parties, 50 rounds of 10 local epochs "
                    "(SGD lr 0.01, momentum 0.9, batch 64), FedProx mu 0.01, global test set.",
        protocol="niid-bench",
        protocol_params={"dataset": "cifar10", "partition": "label-k", "k": 2, "num_clients": 10,
                         "test": "global"},
        method_params=_NIID_BENCH_SGD, per_method={"fedprox": {"mu": 0.01}},
        rounds=50, backbone="simple-cnn",
        reference={"fedavg": 49.8, "fedprox": 50.7, "scaffold": 49.1, "fednova": 46.5},
        source=_NIID_BENCH_SOURCE,
    ),
    NamedConfig(
        name="adasplit-mixed-cifar-fl",
        description="The AdaSplit authors' FL baselines on Mixed-CIFAR: LeNet, 5 clients, 20 rounds of 1 local "
                    "epoch, Adam lr 3.3e-4, batch 100, FedProx mu 1.",
        protocol="mixed-cifar",
        method_params=_ADASPLIT_FL, per_method={"fedprox": {"mu": 1.0}},
        rounds=20, backbone="lenet",
        reference={"fedavg": 91.61, "fedprox": 92.55, "scaffold": 91.40, "fednova": 70.60},
        source=_ADASPLIT_SOURCE,
    ),
    NamedConfig(
        name="adasplit-mixed-noniid-fl",
        description="The AdaSplit authors' FL baselines on Mixed-NonIID: LeNet, 5 clients, 20 rounds of 1 local "
                    "epoch, Adam lr 3.3e-4, batch 100, FedProx mu 1.",
        protocol="mixed-noniid",
        method_params=_ADASPLIT_FL, per_method={"fedprox": {"mu": 1.0}},
        rounds=20, backbone="lenet",
        reference={"fedavg": 84.21, "fedprox": 85.09, "scaffold": 84.73, "fednova": 36.87},
        source=_ADASPLIT_SOURCE,
    ),
    NamedConfig(
        name="synthetic-quick",
        description="Seconds-long smoke test: the offline synthetic protocol, 2 clients of 64 images, 2 rounds, "
                    "SGD lr 0.05 momentum 0.9, batch 16, 2 local epochs.",
        protocol="synthetic",
        protocol_params={"num_clients": 2, "train_per_client": 64, "test_per_client": 32},
        method_params={"local_epochs": 2, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 16},
        per_method={"fedprox": {"mu": 0.01}},
        rounds=2, backbone="simple-cnn",
    ),
)}


def get_config(name: str) -> NamedConfig:
    """The named configuration, or a ConfigError listing the names (with a did-you-mean)."""
    if name not in CONFIGS:
        raise ConfigError(f"unknown config '{name}'.{did_you_mean(name, CONFIGS)} Available: {', '.join(CONFIGS)} "
                          "(see `c3bench configs`).")
    return CONFIGS[name]
