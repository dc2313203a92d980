"""Simulated wall-clock time of a round, from the ledger's per-client counters and device profiles.

Per client ``i`` with device ``d`` and a share ``s`` of the server's bandwidth ``B``:

* client compute  = client_flops / d.flops
* server compute  = server_flops / server.flops (the server work charged to that client)
* upload          = bytes_up / min(d.uplink, s*B)   + messages_up   * d.latency
* download        = bytes_down / min(d.downlink, s*B) + messages_down * d.latency
* peer (client to client, charged to the sender) = bytes_peer / d.uplink + messages_peer * d.latency

These parts are composed by the method's schedule, which the method declares in the typed value
``Method.timing()`` returns (:class:`c3bench.method.Timing`) and the runner passes here:

* ``"parallel"`` (FedAvg, SplitFed V1, EdgeSplit): clients work at the same time, each on its own
  chain (compute, transfers, its server work, in sequence); the round ends with the slowest chain.
  The server's work is on one machine, so the round also lasts at least the sum of all clients'
  server time: round = max(max_i chain_i, sum_i server_i). The server's bandwidth is shared equally
  among the clients active in the round unless the method allocates it (``shares``).
* ``"sequential"`` (SL-basic, SplitFed V2): clients take turns; round = sum_i chain_i, and the
  client whose turn it is has the whole server bandwidth.
* ``"async-local"`` (AdaSplit's local phase): a client never waits for the server (its client part
  trains on a local loss and no gradient comes back), so each client computes and uploads in
  parallel; the server serves arrivals first come first served on one machine; a client's downloads
  follow its server work. Round = the last download's end. Client ``i`` arrives at
  compute_i + peer_i + upload_i; the server starts it at max(arrival, server free).

Extension point: ``register_schedule(name)`` adds a composition rule (a function of the
``ClientTime`` list of the clients that took part in the round, in client order, returning the round's
seconds) that a method can name in its timing. A method
that allocates the server's bandwidth itself (EdgeSplit) gives ``bandwidth_shares`` there (one
fraction per client, summing to at most 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from c3bench.accounting.devices import DeviceProfile, Fleet, ServerProfile
from c3bench.accounting.ledger import Counters
from c3bench.registry import SCHEDULES


@dataclass(frozen=True)
class ClientTime:
    """One client's round in seconds, by part."""

    compute_s: float
    server_s: float
    upload_s: float
    download_s: float
    peer_s: float
    active: bool

    @property
    def chain_s(self) -> float:
        """Everything of this client in sequence (its critical path when nothing overlaps)."""
        return self.compute_s + self.server_s + self.upload_s + self.download_s + self.peer_s


def _rate(link: float, share: float, bandwidth: float) -> float:
    return min(link, share * bandwidth)


def client_time(c: Counters, device: DeviceProfile, server: ServerProfile, share: float = 1.0) -> ClientTime:
    """Seconds of one client's counters on ``device`` given its ``share`` of the server bandwidth."""
    if not 0.0 <= share <= 1.0 + 1e-9:
        raise ValueError(f"a bandwidth share is in [0, 1], got {share}")
    up_bytes, down_bytes = c.bytes_up, c.bytes_down
    up_rate = _rate(device.uplink, share, server.bandwidth)
    down_rate = _rate(device.downlink, share, server.bandwidth)
    upload = (up_bytes / up_rate if up_bytes else 0.0) + c.messages_up * device.latency
    download = (down_bytes / down_rate if down_bytes else 0.0) + c.messages_down * device.latency
    if (up_bytes and up_rate == 0) or (down_bytes and down_rate == 0):
        upload = download = math.inf
    active = any((c.client_flops, c.server_flops, c.bytes_up, c.bytes_down, c.bytes_peer,
                  c.messages_up, c.messages_down, c.messages_peer))
    return ClientTime(
        compute_s=c.client_flops / device.flops,
        server_s=c.server_flops / server.flops,
        upload_s=upload,
        download_s=download,
        peer_s=c.bytes_peer / device.uplink + c.messages_peer * device.latency,
        active=active,
    )


def min_share(c: Counters, device: DeviceProfile, server: ServerProfile, deadline: float) -> float:
    """The smallest bandwidth share with which this client's chain ends by ``deadline`` (inf if none).

    The inverse of ``client_time(...).chain_s`` in the share, in closed form: the chain is
    fixed + up/min(u, sB) + down/min(d, sB), which is piecewise fixed' + K/s between the two shares
    at which a direction saturates its device link.
    """
    fixed = client_time(Counters(**{**_counter_fields(c), "bytes_up": 0, "bytes_down": 0}), device, server).chain_s
    up, down, bw = c.bytes_up, c.bytes_down, server.bandwidth
    if up + down == 0:
        return 0.0 if fixed <= deadline else math.inf
    # Breakpoints: the share at which each direction reaches its device link rate (capped at 1).
    sat_up, sat_down = min(1.0, device.uplink / bw), min(1.0, device.downlink / bw)
    first, second = sorted((sat_up, sat_down))

    def chain(share: float) -> float:
        return client_time(c, device, server, share).chain_s

    if chain(first) <= deadline:  # both directions limited by the share: fixed + (up+down)/(sB)
        return (up + down) / (bw * (deadline - fixed))
    if chain(second) <= deadline:  # one direction saturated at its link rate, the other by the share
        if sat_up <= sat_down:
            saturated, other = up / device.uplink, down
        else:
            saturated, other = down / device.downlink, up
        return other / (bw * (deadline - fixed - saturated))
    return math.inf


def _counter_fields(c: Counters) -> dict[str, int]:
    return {k: v for k, v in c.as_dict().items() if k not in ("bytes_total", "paper_bytes_total")}


# ------------------------------------------------------------------------------------ schedules
Compose = Callable[[Sequence[ClientTime]], float]


@dataclass(frozen=True)
class Schedule:
    """How clients' times compose into a round, and how the server bandwidth is shared by default."""

    name: str
    compose: Compose
    shared_bandwidth: bool  # True: active clients share the server bandwidth equally by default


_BUILTIN: dict[str, Schedule] = {}


def register_schedule(name: str, shared_bandwidth: bool = True) -> Callable[[Compose], Compose]:
    """Decorator: register a composition rule under ``name`` for ``Timing.schedule``
    (in ``c3bench.registry.SCHEDULES``)."""
    def decorate(fn: Compose) -> Compose:
        SCHEDULES.register(name, Schedule(name, fn, shared_bandwidth))
        return fn
    return decorate


def _builtin(name: str, shared_bandwidth: bool = True) -> Callable[[Compose], Compose]:
    def decorate(fn: Compose) -> Compose:
        _BUILTIN[name] = Schedule(name, fn, shared_bandwidth)
        return fn
    return decorate


def builtins() -> dict[str, Schedule]:
    """The built-in schedules (``c3bench.registry.SCHEDULES``)."""
    return dict(_BUILTIN)


@_builtin("parallel")
def _parallel(times: Sequence[ClientTime]) -> float:
    active = [t for t in times if t.active]
    if not active:
        return 0.0
    return max(max(t.chain_s for t in active), sum(t.server_s for t in active))


@_builtin("sequential", shared_bandwidth=False)
def _sequential(times: Sequence[ClientTime]) -> float:
    return sum(t.chain_s for t in times if t.active)


@_builtin("async-local")
def _async_local(times: Sequence[ClientTime]) -> float:
    active = [t for t in times if t.active]
    arrivals = sorted(((t.compute_s + t.peer_s + t.upload_s, k) for k, t in enumerate(active)))
    server_free = end = 0.0
    for arrival, k in arrivals:
        server_free = max(server_free, arrival) + active[k].server_s
        end = max(end, server_free + active[k].download_s)
    return end


def get_schedule(name: str) -> Schedule:
    """A registered schedule (add one with :func:`register_schedule`)."""
    return SCHEDULES.get(name)


@dataclass(frozen=True)
class RoundTime:
    total_s: float
    per_client: tuple[ClientTime, ...]  # of the clients given, in their order
    shares: tuple[float, ...]


PerClient = Sequence[Counters] | Mapping[int, Counters]


def _by_client(per_client: PerClient) -> Mapping[int, Counters]:
    return per_client if isinstance(per_client, Mapping) else dict(enumerate(per_client))


def default_shares(per_client: PerClient, schedule: Schedule, fleet: Fleet) -> list[float]:
    """Equal shares among the active clients (parallel schedules), or the whole bandwidth (turns); one
    share per client given, in their order."""
    counters = _by_client(per_client)
    if not schedule.shared_bandwidth:
        return [1.0] * len(counters)
    probe = [client_time(c, fleet.devices[i], fleet.server).active for i, c in counters.items()]
    n = max(1, sum(probe))
    return [1.0 / n if a else 0.0 for a in probe]


def round_time(per_client: PerClient, fleet: Fleet, schedule: str,
               shares: Sequence[float] | None = None) -> RoundTime:
    """Simulated seconds of one round from its per-client counters: one per client of the fleet, or a
    mapping client -> counters of the clients that took part (the others did nothing, and every
    schedule leaves out a client that did nothing). ``shares``: one per client of the fleet."""
    counters = _by_client(per_client)
    if not isinstance(per_client, Mapping) and len(per_client) != len(fleet):
        raise ValueError(f"{len(per_client)} clients' counters but {len(fleet)} devices")
    if any(not 0 <= i < len(fleet) for i in counters):
        raise ValueError(f"a client outside the fleet of {len(fleet)} devices")
    sched = get_schedule(schedule)
    if shares is None:
        given = default_shares(counters, sched, fleet)
    elif len(shares) != len(fleet) or sum(shares) > 1.0 + 1e-6:
        raise ValueError("bandwidth shares need one entry per client and must sum to at most 1")
    else:
        given = [shares[i] for i in counters]
    times = tuple(client_time(c, fleet.devices[i], fleet.server, s) for (i, c), s in zip(counters.items(), given,
                                                                                          strict=True))
    return RoundTime(sched.compose(times), times, tuple(given))


# ------------------------------------------------------------------------------------ runner glue
def fleet_for_run(num_clients: int, protocol_devices: Sequence[Any], devices_config: Any, seed: int) -> Fleet:
    """The fleet a run simulates: ``--devices`` (recorded in the config) first, then the devices the
    protocol put on its clients, then the documented default (``devices.DEFAULT_DEVICE``)."""
    from c3bench.accounting.devices import default_fleet, parse_fleet

    if devices_config is not None:
        return parse_fleet(devices_config, num_clients, seed)
    return default_fleet(num_clients, list(protocol_devices))


def simulate_round(schedule: str, shares: Sequence[float] | None, per_client: PerClient, fleet: Fleet) -> float:
    """The round's simulated seconds under a method's declared schedule and bandwidth shares."""
    return round_time(per_client, fleet, schedule, shares).total_s
