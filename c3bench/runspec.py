"""What a run is before it runs: the user's request (:class:`RunSpec`), its validation into a
:class:`ResolvedRun` (every name looked up, every value parsed, a configuration's settings merged in),
and the `c3bench run` command that repeats it. Nothing here trains; :mod:`c3bench.runner` executes.

Merge order, lowest first: declared defaults, a protocol's suggestions, a configuration's ``[params]``,
``[params.<family>]`` and row ``params`` (``RunSpec.method_params``), then ``--set``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from c3bench import configs, registry
from c3bench.accounting import Budgets
from c3bench.accounting.devices import normalize_spec
from c3bench.hparams import ConfigError, HParamSpace, did_you_mean
from c3bench.method import Method
from c3bench.registry import declared_by
from c3bench.results import config_hash, execution_flags


@dataclass
class RunSpec:
    """What the user asked for, before validation. ``method_params`` / ``protocol_params``: values for
    each (a configuration's, or a record's); ``overrides``: ``--set key=value`` pairs (``key`` bare, or
    ``method.key`` / ``protocol.key`` where a name exists in both), which win over them."""

    method: str | None
    protocol: str | None  # None only with ``config``, which then names it
    overrides: dict[str, Any] = field(default_factory=dict)
    method_params: dict[str, Any] = field(default_factory=dict)
    protocol_params: dict[str, Any] = field(default_factory=dict)
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

    @property
    def numeric_flags(self) -> list[str]:
        """The ``c3bench run`` flags of the numeric execution modes asked for: they change a run's speed
        and last bits, never its FLOPs or bytes."""
        return execution_flags({"client_stacking": self.stack_clients, "flush_denormal": self.flush_denormal})


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
MAX_NAME_BYTES = 200  # a result name; with ".json" and a temporary's suffix it stays within 255 bytes


def check_run_name(name: str) -> None:
    """Raise ConfigError unless ``name`` is a plain file name: the record is written as ``<out>/<name>.json``
    and nowhere else (no folder separator, no '..', not hidden, no control character, not too long)."""
    problem = None
    if not name or name in (".", ".."):
        problem = "it is empty or a folder name"
    elif any(c in name for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "it holds a folder separator or a control character"
    elif name.startswith("."):
        problem = "it starts with '.' (c3bench's own temporaries and folders do)"
    elif len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        problem = f"it is longer than {MAX_NAME_BYTES} bytes"
    if problem:
        raise ConfigError(f"--name {name[:60]!r}{'...' if len(name) > 60 else ''} is not a plain file name: {problem}. "
                          "Give a name such as fedavg-lr3; the record is written inside --out.")


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
            hint = did_you_mean(key, known) or declared_by(key, method)
            raise ConfigError(
                f"unknown key '{key}' for method '{method}' and protocol '{protocol}'.{hint} "
                f"Valid keys: {', '.join(known) or '(none)'}."
            )
    return m_over, p_over


def _check_in_file(space: HParamSpace, values: dict[str, Any], source: str, where: str, owner: str,
                   method: str | None = None) -> None:
    """Validate a configuration file's values for one method or protocol; an error names the file
    (and, for a method's key, which other methods take it)."""
    try:
        space.resolve(values, owner, lambda key: declared_by(key, method) if method else "")
    except ConfigError as exc:
        raise ConfigError(f"{source}, {where}: {exc}") from None


def _from_config(spec: RunSpec) -> tuple[RunSpec, dict[str, Any]]:
    """Fill the spec from its configuration file or named configuration (explicit options win)."""
    study, row = configs.get_config(spec.config)
    run = study.select(row, spec.method)
    if spec.protocol is not None and spec.protocol != study.protocol:
        raise ConfigError(f"config '{study.name}' is for protocol '{study.protocol}', but --protocol "
                          f"'{spec.protocol}' was given. Drop --protocol (the config sets it) or drop --config.")
    source = str(study.path) if study.path is not None else f"config '{study.name}'"
    classes = {m: registry.get_method(m) for m in study.methods}
    declared = {name: registry.space(cls) for name, cls in classes.items()}
    sections = [(None, [k for k in study.params if k not in configs.FAMILIES], study.methods)]
    sections += [(family, list(study.params.get(family, {})), [m for m, c in classes.items() if c.family == family])
                 for family in configs.FAMILIES]
    for family, keys, methods in sections:
        names = sorted({n for m in methods for n in declared[m].names()})
        for key in keys:
            if methods and not any(declared[m].get(key) is not None for m in methods):
                section = f"[params.{family}]" if family else "[params]"
                raise ConfigError(f"{source}: {section} key '{key}' is a hyperparameter of none of its "
                                  f"{family + ' ' if family else ''}methods ({', '.join(methods)})."
                                  f"{did_you_mean(key, names) or declared_by(key)} Their keys: {', '.join(names)}.")
    method_cls = classes[run.method]
    in_file = study.method_params_for(run, method_cls.family, set(declared[run.method].names()))
    _check_in_file(declared[run.method], in_file, source, f"run '{run.name}'", f"method '{run.method}'", run.method)
    method_params = {**in_file, **spec.method_params}
    protocol_space = registry.space(registry.get_protocol(study.protocol))
    _check_in_file(protocol_space, {**study.protocol_params, **run.protocol_params}, source, "[protocol_params]",
                   f"protocol '{study.protocol}'")
    protocol_params = {**study.protocol_params, **run.protocol_params, **spec.protocol_params}
    budgets = spec.budgets
    if not budgets.declared() and study.budgets:
        budgets = Budgets.parse(study.budgets.get("bandwidth"), study.budgets.get("compute"))
    rounds = spec.rounds if spec.rounds is not None else (run.rounds or study.rounds)
    filled = RunSpec(**{**vars(spec), "method": run.method, "protocol": study.protocol, "method_params": method_params,
                        "protocol_params": protocol_params, "rounds": rounds, "backbone": spec.backbone or study.backbone,
                        "budgets": budgets})
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
    m_set, p_set = _split_overrides(spec.overrides, method_space, protocol_space, method_cls.name, protocol_cls.name)
    m_over, p_over = {**spec.method_params, **m_set}, {**spec.protocol_params, **p_set}
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
    if spec.name is not None:
        check_run_name(spec.name)
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
        parts += ["--budget-bandwidth", f"{budgets['bandwidth_bytes']!r}B"]
    if budgets.get("client_flops") is not None:
        parts += ["--budget-compute", f"{budgets['client_flops']!r}FLOP"]
    if "devices" in cfg:
        parts += ["--devices", str(cfg["devices"])]
    if cfg.get("charge_inference"):
        parts.append("--charge-inference")
    parts += run.spec.numeric_flags
    return shlex.join(parts)
