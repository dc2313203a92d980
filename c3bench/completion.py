"""Shell completion of c3bench's names: methods, protocols, configurations (NAME and NAME/RUN) and
reproducible suites. Each function takes what the user has typed so far and returns the candidates;
``c3bench --install-completion`` installs the shell's side."""

from __future__ import annotations

from collections.abc import Iterable


def _matching(names: Iterable[str], incomplete: str) -> list[str]:
    return sorted(n for n in names if n.startswith(incomplete))


def _comma_list(names: Iterable[str], incomplete: str) -> list[str]:
    """Complete the last item of a comma-separated list (``fedavg,fed`` -> ``fedavg,fedprox``)."""
    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    taken = set(done.split(",")) if done else set()
    return [prefix + n for n in _matching(names, last) if n not in taken]


def method_names(incomplete: str = "") -> list[str]:
    from c3bench.registry import METHODS

    return _matching(METHODS.names(), incomplete)


def method_lists(incomplete: str = "") -> list[str]:
    from c3bench.registry import METHODS

    return _comma_list(METHODS.names(), incomplete)


def protocol_names(incomplete: str = "") -> list[str]:
    from c3bench.registry import PROTOCOLS

    return _matching(PROTOCOLS.names(), incomplete)


def config_names(incomplete: str = "") -> list[str]:
    """Named configurations; with NAME/ typed (or NAME complete), that configuration's NAME/RUN rows.
    (A .toml file of one's own is the shell's to complete.)"""
    from c3bench.configs import named_configs

    configs = named_configs()
    name, slash, _ = incomplete.partition("/")
    if name in configs and (slash or incomplete == name):
        return _matching([*([name] if not slash else []), *(f"{name}/{r.name}" for r in configs[name].runs)],
                         incomplete)
    return _matching(configs, incomplete)


suite_names = config_names  # `reproduce NAME` takes the same names
