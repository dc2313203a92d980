"""The runner's callbacks: a public API to follow a run while it trains (progress displays, experiment
trackers, early checks). The runner never prints; it calls these hooks in the training process.

    import c3bench
    from c3bench.callbacks import Callbacks, round_metrics

    class PrintAccuracy(Callbacks):
        def on_round(self, entry):
            print(entry["round"], round_metrics(entry)["accuracy"])

    c3bench.run("fedavg", "synthetic", rounds=3, callbacks=[PrintAccuracy()])

Order of calls: ``on_start`` once (after a resume too, with the round it resumes at), then per round
``on_progress`` as the round advances and ``on_round`` once it is logged (the record on disk already
holds it), then ``on_end`` with the sealed record, also when the run ends interrupted or
budget-stopped. A round rolled back by a budget never reaches ``on_round``. An exception raised by a
hook stops the run as Ctrl-C does when it is ``KeyboardInterrupt``; any other propagates.

``round_metrics(entry)`` reads a round's log entry into flat numbers (accuracy, bytes, FLOPs, times):
trackers read entries through it only, so a change of the log's layout changes that one function.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c3bench.runspec import ResolvedRun

# what round_metrics reports, with its unit (trackers label their charts with it)
METRICS = {
    "accuracy": "%", "local_accuracy": "%",
    "bytes_total": "bytes", "bytes_up": "bytes", "bytes_down": "bytes", "bytes_peer": "bytes",
    "client_flops": "FLOPs", "server_flops": "FLOPs", "total_flops": "FLOPs",
    "sim_time_s": "s", "wall_s": "s",
}


class Callbacks:
    """Hooks called while a run trains; override the ones you need (each does nothing by default).

    * ``on_start(run, start_round)``: ``run`` is the :class:`c3bench.runspec.ResolvedRun` (its
      ``config`` is the record's configuration, ``name`` the result's name); ``start_round`` is 0,
      or the number of rounds already done when resuming.
    * ``on_progress(round_index, fraction)``: the 0-based round and the fraction of it done.
    * ``on_round(entry)``: the round's log entry as the record keeps it (read it with
      :func:`round_metrics`); ``entry["round"]`` counts from 1.
    * ``on_end(record)``: the sealed record (a dict), whatever the status.
    """

    def on_start(self, run: ResolvedRun, start_round: int) -> None: ...
    def on_progress(self, round_index: int, fraction: float) -> None: ...
    def on_round(self, entry: dict[str, Any]) -> None: ...
    def on_end(self, record: dict[str, Any]) -> None: ...


class CallbackList(Callbacks):
    """Several callbacks called in order, as one."""

    def __init__(self, callbacks: Iterable[Callbacks]):
        self.callbacks = [c for c in callbacks if c is not None]

    def on_start(self, run: ResolvedRun, start_round: int) -> None:
        for c in self.callbacks:
            c.on_start(run, start_round)

    def on_progress(self, round_index: int, fraction: float) -> None:
        for c in self.callbacks:
            c.on_progress(round_index, fraction)

    def on_round(self, entry: dict[str, Any]) -> None:
        for c in self.callbacks:
            c.on_round(entry)

    def on_end(self, record: dict[str, Any]) -> None:
        for c in self.callbacks:
            c.on_end(record)


def combine(callbacks: Callbacks | Iterable[Callbacks] | None) -> Callbacks:
    """One Callbacks object from none, one or several."""
    if callbacks is None:
        return Callbacks()
    if isinstance(callbacks, Callbacks):
        return callbacks
    listed = list(callbacks)
    return listed[0] if len(listed) == 1 else CallbackList(listed)


def round_metrics(entry: dict[str, Any]) -> dict[str, float]:
    """A round's log entry as flat numbers (see :data:`METRICS`): the mean accuracy of the deployed
    models (and of the local models where the method has them), the bytes and FLOPs so far
    (cumulative), and the round's simulated and wall seconds."""
    cum = entry["cumulative"]
    metrics = {"accuracy": float(entry["accuracy"]["mean"])}
    local = entry.get("local_accuracy")
    if local is not None:
        metrics["local_accuracy"] = float(local["mean"])
    for key in ("bytes_total", "bytes_up", "bytes_down", "bytes_peer", "client_flops", "server_flops"):
        metrics[key] = float(cum[key])
    metrics["total_flops"] = metrics["client_flops"] + metrics["server_flops"]
    if entry.get("sim_time_s") is not None:
        metrics["sim_time_s"] = float(entry["sim_time_s"])
    metrics["wall_s"] = float(entry["wall_s"])
    return metrics
