"""One generic registry: lazy "module:attr" entries resolved on first use, did-you-mean on a miss, a hard
error when a name is registered twice for different targets, built-ins under one import path only."""

from __future__ import annotations

from pathlib import Path

import pytest

from c3bench.hparams import ConfigError
from c3bench.registry import BACKBONES, CONFIGS, DATASETS, METHODS, PROTOCOLS, SCHEDULES, Registry

REPO = Path(__file__).resolve().parent.parent


def test_every_kind_lives_in_the_one_registry_class():
    for registry in (METHODS, PROTOCOLS, BACKBONES, CONFIGS, SCHEDULES, DATASETS):
        assert isinstance(registry, Registry)
    assert {"fedavg", "adasplit", "edgesplit"} <= set(METHODS.names())
    assert {"mixed-cifar", "synthetic"} <= set(PROTOCOLS.names()) and "lenet" in BACKBONES
    assert "adasplit-table1" in CONFIGS and "cifar10" in DATASETS


def test_lazy_entries_resolve_on_first_use_and_misses_suggest():
    registry: Registry = Registry("thing")
    registry.register("path-join", "os.path:join")
    assert registry.names() == ["path-join"]
    import os.path

    assert registry.get("path-join") is os.path.join
    with pytest.raises(ConfigError, match="unknown thing 'path-jion'.*Did you mean 'path-join'"):
        registry.get("path-jion")


def test_a_second_registration_for_another_target_is_an_error():
    registry: Registry = Registry("thing")
    registry.register("a", "os.path:join")
    registry.register("a", "os.path:join")  # the same target twice is fine
    with pytest.raises(ValueError, match="already registered for os.path:join"):
        registry.register("a", "os.path:split")

    from c3bench.federated import FederatedMethod
    from c3bench.registry import register_method

    class FedAvg(FederatedMethod):  # a different class under a built-in's name
        name = "fedavg"
        description = "an impostor"
    with pytest.raises(ValueError, match="method 'fedavg' is already registered"):
        register_method(FedAvg)
    assert METHODS.get("fedavg").__module__ == "c3bench.methods.fedavg"


def test_built_in_methods_have_one_import_path():
    """The built-ins live inside the package (c3bench/methods, c3bench/protocols): one module path each."""
    import c3bench.methods.fedavg
    import c3bench.protocols.synthetic
    from c3bench import registry

    assert registry.get_method("fedavg") is c3bench.methods.fedavg.FedAvg
    assert registry.get_protocol("synthetic") is c3bench.protocols.synthetic.Synthetic
    assert not (REPO / "methods").exists() and not (REPO / "protocols").exists()
