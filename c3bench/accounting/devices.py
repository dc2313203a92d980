"""Device and server profiles for simulated wall-clock time, presets, and fleets.

A ``DeviceProfile`` is what the time model needs to know about a client: sustained training speed
(FLOP/s, in the same convention as the ledger: forward + backward FLOPs as torch counts them),
uplink and downlink rates (bytes/s) and a per-message latency (s). A ``ServerProfile`` has the
server's sustained speed and the total bandwidth (bytes/s, each direction) it shares among clients.

Where the preset figures come from
----------------------------------
Compute = datasheet FP32 peak x an efficiency factor. The factor stands for what PyTorch training
(convolutions, small batches, no hand tuning) sustains on such hardware; 0.1 for phone/SBC CPUs
(NEON kernels, thermal limits), 0.3 for laptop CPUs and embedded GPUs, 0.4 for server GPUs. These are
round engineering figures, not measurements of c3bench on the devices: they fix the *ratios* between
device classes, which is what split-point choices depend on. Link rates are typical measured
throughputs (iperf-style) of the named technology, not the PHY rates on the box.

Fleets
------
``parse_fleet`` reads a fleet from a preset list (``"raspberry-pi-4*2,jetson-nano,laptop"``; one
name is repeated for every client), from ``"random"`` / ``"random:SEED"`` (a seeded heterogeneous
draw over the presets), or from a JSON/TOML file (schema in ``fleet_from_mapping``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from c3bench.hparams import ConfigError, did_you_mean

MBIT = 1e6 / 8  # bytes/s in one Mbit/s
GFLOP = 1e9


@dataclass(frozen=True)
class DeviceProfile:
    """A client device. Units: FLOP/s, bytes/s, seconds."""

    name: str
    flops: float
    uplink: float
    downlink: float
    latency: float

    def __post_init__(self) -> None:
        for what in ("flops", "uplink", "downlink"):
            value = getattr(self, what)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"device '{self.name}': {what} must be positive and finite, got {value}.")
        if not (self.latency >= 0 and math.isfinite(self.latency)):
            raise ConfigError(f"device '{self.name}': latency must be >= 0, got {self.latency}.")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ServerProfile:
    """The server: its sustained speed (FLOP/s) and the total bandwidth (bytes/s) it shares."""

    name: str
    flops: float
    bandwidth: float

    def __post_init__(self) -> None:
        for what in ("flops", "bandwidth"):
            value = getattr(self, what)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"server '{self.name}': {what} must be positive and finite, got {value}.")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _device(name: str, peak_gflops: float, efficiency: float, link: tuple[float, float, float]) -> DeviceProfile:
    up_mbps, down_mbps, latency_ms = link
    sustained = round(peak_gflops * efficiency, 6) * GFLOP  # rounded so presets print as written
    return DeviceProfile(name, sustained, up_mbps * MBIT, down_mbps * MBIT, latency_ms / 1e3)


# Links: (uplink Mbit/s, downlink Mbit/s, one-way latency per message in ms).
# Wi-Fi 5 (802.11ac) clients typically measure 60-100 Mbit/s TCP throughput a few metres from the
# access point; Wi-Fi 6 laptops 150-300 Mbit/s; LTE phones around 30 Mbit/s down / 10 Mbit/s up with
# 30-50 ms latency in crowd-sourced speed tests. The latency includes the stack, not only the air.
WIFI5 = (60.0, 80.0, 5.0)
WIFI6 = (150.0, 250.0, 3.0)
LTE = (10.0, 30.0, 30.0)

DEVICE_PRESETS: dict[str, DeviceProfile] = {
    # Raspberry Pi 4 B: 4x Cortex-A72 @ 1.5 GHz, one 4-lane FP32 FMA per cycle per core = 8 FLOP/cycle
    # -> 48 GFLOP/s peak; x 0.1 -> 4.8 GFLOP/s. Built-in 802.11ac Wi-Fi.
    "raspberry-pi-4": _device("raspberry-pi-4", 48.0, 0.1, WIFI5),
    # Jetson Nano: 128 Maxwell CUDA cores @ 921.6 MHz x 2 FLOP/FMA = 236 GFLOP/s FP32 (NVIDIA quotes
    # 472 GFLOP/s FP16); x 0.3 -> 70.8 GFLOP/s. Wi-Fi 5 via the usual M.2 card.
    "jetson-nano": _device("jetson-nano", 236.0, 0.3, WIFI5),
    # Jetson Xavier NX: 384 Volta CUDA cores @ 1.1 GHz x 2 = 845 GFLOP/s FP32; x 0.3 -> 253 GFLOP/s.
    "jetson-xavier-nx": _device("jetson-xavier-nx", 845.0, 0.3, WIFI5),
    # Mid-range Android phone (Snapdragon 778G class): 4x Cortex-A78 (1 @ 2.4 GHz, 3 @ 2.2 GHz), two
    # 128-bit FMA pipes = 16 FP32 FLOP/cycle -> 144 GFLOP/s on the big cores; training on the CPU,
    # x 0.1 -> 14.4 GFLOP/s. On Wi-Fi 5 ("phone") or on LTE ("phone-lte").
    "phone": _device("phone", 144.0, 0.1, WIFI5),
    "phone-lte": _device("phone-lte", 144.0, 0.1, LTE),
    # Laptop (Intel Core i7-1165G7 class): 4 cores, one AVX-512 FMA unit = 32 FP32 FLOP/cycle,
    # ~2.8 GHz all-core -> 358 GFLOP/s; x 0.3 -> 107.5 GFLOP/s. Wi-Fi 6.
    "laptop": _device("laptop", 358.0, 0.3, WIFI6),
}

SERVER_PRESETS: dict[str, ServerProfile] = {
    # One NVIDIA V100 PCIe: 14 TFLOP/s FP32 datasheet x 0.4 = 5.6 TFLOP/s. 200 Mbit/s shared: the
    # aggregate TCP throughput a single Wi-Fi 5 access point typically delivers to many clients.
    "edge-gpu": ServerProfile("edge-gpu", 5.6e12, 200.0 * MBIT),
    # One NVIDIA A100: 19.5 TFLOP/s FP32 x 0.4 = 7.8 TFLOP/s, behind a 1 Gbit/s uplink.
    "cloud-gpu": ServerProfile("cloud-gpu", 7.8e12, 1000.0 * MBIT),
}

# Used when neither the protocol nor the user gives devices, so that every result has a simulated
# time: every client a Wi-Fi phone, served by an edge GPU.
DEFAULT_DEVICE = "phone"
DEFAULT_SERVER = "edge-gpu"


@dataclass(frozen=True)
class Fleet:
    """The devices of all clients (index = client) and the server, with where they came from."""

    devices: tuple[DeviceProfile, ...]
    server: ServerProfile
    source: str

    def __len__(self) -> int:
        return len(self.devices)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "server": self.server.as_dict(),
                "devices": [d.as_dict() for d in self.devices]}


_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kKMGT]?)(bps|bit/s|B/s)\s*$")
_PREFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def parse_rate(text: str) -> float:
    """'100Mbps' or '100Mbit/s' (bits) or '12.5MB/s' (bytes) -> bytes per second."""
    match = _RATE.match(text)
    if not match:
        raise ConfigError(f"cannot read the rate {text!r}; write e.g. 200Mbps, 1Gbit/s or 25MB/s.")
    value = float(match.group(1)) * _PREFIX[match.group(2)]
    value = value if match.group(3) == "B/s" else value / 8
    if not value > 0:
        raise ConfigError(f"a rate must be positive, got {text!r}.")
    return value


def device_preset(name: str) -> DeviceProfile:
    if name not in DEVICE_PRESETS:
        raise ConfigError(f"unknown device preset '{name}'.{did_you_mean(name, DEVICE_PRESETS)} "
                          f"Presets: {', '.join(DEVICE_PRESETS)}.")
    return DEVICE_PRESETS[name]


def server_preset(name: str) -> ServerProfile:
    if name not in SERVER_PRESETS:
        raise ConfigError(f"unknown server preset '{name}'.{did_you_mean(name, SERVER_PRESETS)} "
                          f"Presets: {', '.join(SERVER_PRESETS)}.")
    return SERVER_PRESETS[name]


def draw_fleet(n: int, seed: int, presets: Sequence[str] | None = None, spread: float = 0.0,
               server: ServerProfile | None = None) -> Fleet:
    """``n`` devices drawn uniformly from ``presets`` (default: all) with a seed.

    ``spread`` > 0 multiplies each device's speed and link rates by independent factors
    exp(U(-spread, spread)), so that devices of one class also differ (e.g. distance to the AP).
    """
    names = list(presets) if presets else list(DEVICE_PRESETS)
    for name in names:
        device_preset(name)
    if n < 1:
        raise ConfigError(f"a fleet needs at least one device, got {n}.")
    if spread < 0:
        raise ConfigError(f"spread must be >= 0, got {spread}.")
    rng = np.random.default_rng([seed, 0xDE71CE])
    picks = rng.integers(0, len(names), size=n)
    factors = np.exp(rng.uniform(-spread, spread, size=(n, 3))) if spread > 0 else np.ones((n, 3))
    devices = []
    for i in range(n):
        base = DEVICE_PRESETS[names[int(picks[i])]]
        f = factors[i]
        devices.append(replace(base, name=f"{base.name}#{i}", flops=base.flops * float(f[0]),
                               uplink=base.uplink * float(f[1]), downlink=base.downlink * float(f[2])))
    return Fleet(tuple(devices), server or server_preset(DEFAULT_SERVER),
                 f"draw(n={n}, seed={seed}, presets={names}, spread={spread})")


_ITEM = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\*\s*(\d+))?\s*$")


def _expand_names(items: Sequence[str]) -> list[DeviceProfile]:
    devices: list[DeviceProfile] = []
    for item in items:
        match = _ITEM.match(item)
        if not match:
            raise ConfigError(f"cannot read device item {item!r}; write a preset name, optionally *count "
                              "(e.g. raspberry-pi-4*3).")
        count = int(match.group(2) or 1)
        if count < 1:
            raise ConfigError(f"device count must be at least 1 in {item!r}.")
        devices.extend([device_preset(match.group(1))] * count)
    return devices


_DEVICE_KEYS = {"preset", "name", "gflops", "uplink_mbps", "downlink_mbps", "latency_ms", "count"}
_SERVER_KEYS = {"preset", "name", "gflops", "bandwidth_mbps"}


def _check_keys(entry: Mapping[str, Any], allowed: set[str], what: str) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(f"unknown key '{key}' in {what}.{did_you_mean(key, allowed)} "
                              f"Keys: {', '.join(sorted(allowed))}.")


def _device_entry(entry: Any, where: str) -> list[DeviceProfile]:
    if isinstance(entry, str):
        return _expand_names([entry])
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: a device is a preset name or an object, got {type(entry).__name__}.")
    _check_keys(entry, _DEVICE_KEYS, where)
    if "preset" in entry:
        base = device_preset(str(entry["preset"]))
    else:
        missing = [k for k in ("name", "gflops", "uplink_mbps", "downlink_mbps", "latency_ms") if k not in entry]
        if missing:
            raise ConfigError(f"{where}: a device without 'preset' needs {', '.join(missing)}.")
        base = None
    try:
        device = DeviceProfile(
            name=str(entry.get("name", base.name if base else "")),
            flops=float(entry["gflops"]) * GFLOP if "gflops" in entry else base.flops,  # type: ignore[union-attr]
            uplink=float(entry["uplink_mbps"]) * MBIT if "uplink_mbps" in entry else base.uplink,  # type: ignore[union-attr]
            downlink=float(entry["downlink_mbps"]) * MBIT if "downlink_mbps" in entry else base.downlink,  # type: ignore[union-attr]
            latency=float(entry["latency_ms"]) / 1e3 if "latency_ms" in entry else base.latency,  # type: ignore[union-attr]
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    count = int(entry.get("count", 1))
    if count < 1:
        raise ConfigError(f"{where}: count must be at least 1.")
    return [device] * count


def server_from_entry(entry: Any, where: str = "server") -> ServerProfile:
    """A server from a preset name or an object {preset?, name?, gflops?, bandwidth_mbps?}."""
    if isinstance(entry, str):
        return server_preset(entry)
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: the server is a preset name or an object.")
    _check_keys(entry, _SERVER_KEYS, where)
    base = server_preset(str(entry["preset"])) if "preset" in entry else None
    if base is None and not {"gflops", "bandwidth_mbps"} <= set(entry):
        raise ConfigError(f"{where}: a server without 'preset' needs gflops and bandwidth_mbps.")
    try:
        return ServerProfile(
            name=str(entry.get("name", base.name if base else "server")),
            flops=float(entry["gflops"]) * GFLOP if "gflops" in entry else base.flops,  # type: ignore[union-attr]
            bandwidth=float(entry["bandwidth_mbps"]) * MBIT if "bandwidth_mbps" in entry else base.bandwidth,  # type: ignore[union-attr]
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def fleet_from_mapping(data: Mapping[str, Any], source: str, num_devices: int | None = None,
                       seed: int = 0) -> Fleet:
    """A fleet from a parsed JSON/TOML document.

    Schema: ``{"server": "edge-gpu" | {...}, "devices": [item, ...]}`` where an item is a preset
    name (``"laptop*2"`` allowed) or ``{"preset"?, "name"?, "gflops"?, "uplink_mbps"?,
    "downlink_mbps"?, "latency_ms"?, "count"?}`` (fields override the preset's); or, instead of
    ``devices``, ``"draw": {"count"?, "seed"?, "presets"?, "spread"?}`` for a seeded random fleet
    (count defaults to the number of clients, seed to the run's seed).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a fleet file holds an object with 'devices' or 'draw'.")
    _check_keys(data, {"server", "devices", "draw"}, source)
    server = server_from_entry(data.get("server", DEFAULT_SERVER), f"{source}: server")
    if ("devices" in data) == ("draw" in data):
        raise ConfigError(f"{source}: give exactly one of 'devices' (a list) or 'draw' (an object).")
    if "draw" in data:
        draw = data["draw"]
        if not isinstance(draw, Mapping):
            raise ConfigError(f"{source}: 'draw' must be an object.")
        _check_keys(draw, {"count", "seed", "presets", "spread"}, f"{source}: draw")
        count = int(draw.get("count", num_devices or 0))
        fleet = draw_fleet(count, int(draw.get("seed", seed)), draw.get("presets"), float(draw.get("spread", 0.0)), server)
        return _fit(Fleet(fleet.devices, server, f"{source}: {fleet.source}"), num_devices)
    items = data["devices"]
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{source}: 'devices' must be a non-empty list.")
    devices = [d for k, item in enumerate(items) for d in _device_entry(item, f"{source}: devices[{k}]")]
    return _fit(Fleet(tuple(devices), server, source), num_devices)


def _fit(fleet: Fleet, num_devices: int | None) -> Fleet:
    """One device is repeated for every client; otherwise the count must match exactly."""
    if num_devices is None or len(fleet) == num_devices:
        return fleet
    if len(fleet) == 1:
        return Fleet(fleet.devices * num_devices, fleet.server, fleet.source)
    raise ConfigError(f"the fleet ({fleet.source}) has {len(fleet)} devices but there are {num_devices} "
                      "clients; give one device per client or a single preset for all.")


def load_fleet_file(path: Path) -> dict[str, Any]:
    """Parse a JSON or TOML fleet file (by extension)."""
    if not path.is_file():
        raise ConfigError(f"fleet file {path} does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                raise ConfigError("reading TOML fleet files needs Python 3.11+; use JSON instead.") from None
            return tomllib.loads(text)
        return json.loads(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot parse fleet file {path}: {exc}") from None


def is_fleet_file(spec: str) -> bool:
    """A spec naming a file (by its .json or .toml extension) rather than presets."""
    return spec.strip().lower().endswith((".json", ".toml"))


def parse_fleet(spec: str | Mapping[str, Any], num_devices: int | None = None, seed: int = 0,
                server: str | ServerProfile | None = None) -> Fleet:
    """A fleet from a preset list, ``random[:SEED]``, a file path, or an already parsed mapping.

    ``num_devices`` (the number of clients) is checked against the list (one preset is repeated).
    ``server`` (a preset name or profile) overrides the file's or the default server.
    """
    if isinstance(spec, Mapping):
        fleet = fleet_from_mapping(spec, "fleet", num_devices, seed)
    elif is_fleet_file(spec):
        fleet = fleet_from_mapping(load_fleet_file(Path(spec)), spec, num_devices, seed)
    elif spec.strip().startswith("random"):
        head, _, tail = spec.strip().partition(":")
        if head != "random" or (tail and not tail.isdigit()):
            raise ConfigError(f"cannot read fleet {spec!r}; write random or random:SEED (e.g. random:3).")
        if num_devices is None:
            raise ConfigError("a random fleet needs the number of devices.")
        fleet = draw_fleet(num_devices, int(tail) if tail else seed)
    else:
        items = [s for s in spec.split(",") if s.strip()]
        if not items:
            raise ConfigError("empty device list; give preset names, e.g. raspberry-pi-4*2,laptop.")
        fleet = _fit(Fleet(tuple(_expand_names(items)), server_preset(DEFAULT_SERVER), spec), num_devices)
    if server is not None:
        fleet = Fleet(fleet.devices, server if isinstance(server, ServerProfile) else server_preset(server), fleet.source)
    return fleet


def normalize_spec(spec: str) -> str | dict[str, Any]:
    """What a run records in its config: a preset list as text, a file as its parsed content.

    Parsing here also validates names early, before any data is built.
    """
    if is_fleet_file(spec):
        data = load_fleet_file(Path(spec))
        fleet_from_mapping(data, spec, None, 0)
        return data
    parse_fleet(spec, None if not spec.strip().startswith("random") else 1)
    return spec.strip()


def default_fleet(num_devices: int, protocol_devices: Sequence[DeviceProfile | None] = ()) -> Fleet:
    """The protocol's devices where it declares them, else the documented default for each client."""
    devices = []
    for i in range(num_devices):
        given = protocol_devices[i] if i < len(protocol_devices) else None
        devices.append(given if given is not None else DEVICE_PRESETS[DEFAULT_DEVICE])
    declared = sum(d is not None for d in protocol_devices)
    source = "protocol" if declared == num_devices else (
        f"default ({DEFAULT_DEVICE} + {DEFAULT_SERVER})" if declared == 0 else f"protocol + default {DEFAULT_DEVICE}")
    return Fleet(tuple(devices), server_preset(DEFAULT_SERVER), source)
