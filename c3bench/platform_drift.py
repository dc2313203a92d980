"""How far a re-run on another platform may be from a record, from measurements, not from the record.

Float rounding differs between CPUs (and BLAS kernels), so a run re-made elsewhere drifts away from the
original. How far was measured on this repository's real entries, made on an Intel Xeon and re-run on
an AMD EPYC (torch 2.13.0, one thread; 500 to 7,000 test samples per client):

=================  ==============================  ===========================  =======================
method             round 1: largest client diff    round 1: mean over clients   later rounds
=================  ==============================  ===========================  =======================
FedAvg (NonIID)    53 of 7,000 samples (0.76 pts)  0.33 points                  up to 1.3 points
FedProx (NonIID)   174 of 6,853 (2.54)             0.82                         -
FedNova            17 of 1,200 (1.42)              0.03                         -
SCAFFOLD           17 of 1,200 (1.42)              0.03                         up to 19.8 points
AdaSplit (dense)   10 of 1,200 (0.83)              0.13                         up to 2.0 points
EdgeSplit          7 of 1,200 (0.58)               0.00                         -
SL-basic           18 of 500 (3.60)                1.61                         -
SplitFed           142 of 1,200 (11.8)             3.15                         -
=================  ==============================  ===========================  =======================

Every count that depends on shapes only (FLOPs, forward MACs, samples, messages) and, where every
payload is sent dense, every byte count in c3bench's convention were identical; the paper's non-zero
byte counts differed by up to 3.3% (SplitFed's activations, round 1). Hence:

* **exact, on any platform**: those counts, and each accuracy a whole number of its client's test
  samples;
* **round 1 of the methods measured to agree there** (:data:`ROUND_ONE_AGREES`): each client within
  4 points, the mean over clients within 1.2 (drift between platforms is small and has no direction
  there, at most 0.82 measured; a systematic gain such as +1.5 points is refused);
* **value-dependent bytes** (the paper's non-zero counts, sparse encodings): within 5%;
* **not compared**: later rounds' accuracies, and round 1's of the other methods (sequential split
  training diverges within its first round), which only a bit-identical re-run can vouch for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from c3bench.results import strip_volatile

EXACT_COUNTERS = ("client_flops", "server_flops", "client_fwd_macs", "server_fwd_macs", "samples",
                  "messages_up", "messages_down", "messages_peer")
DENSE_BYTES = ("bytes_up", "bytes_down", "bytes_peer", "bytes_total")  # exact where every payload is dense
BYTE_COUNTERS = (*DENSE_BYTES, "paper_bytes_up", "paper_bytes_down", "paper_bytes_peer", "paper_bytes_total")
# Built-in methods whose round 1 was measured to agree closely across platforms (see the table above).
ROUND_ONE_AGREES = frozenset({"fedavg", "fedprox", "fednova", "scaffold", "adasplit", "edgesplit"})
# Built-in methods that send every payload dense unless their ``encoding`` parameter says "sparse".
BUILTIN_METHODS = ROUND_ONE_AGREES | {"sl-basic", "splitfed"}
# Per-round fields a later c3bench added to what it evaluates (never to what it trains): an entry made
# before them is compared on the rest, and a re-run that has them is not a difference.
ADDED_ROUND_FIELDS = ("local_accuracy",)


@dataclass(frozen=True)
class Tolerance:
    """How far a re-run on another platform may be from an entry (accuracies in points, bytes relative).
    An accuracy bound is never below what one test sample changes (tiny test sets move in big steps)."""

    client_points: float = 4.0  # each client in round 1 (methods of ROUND_ONE_AGREES); measured up to 2.54
    mean_points: float = 1.2  # the mean over clients in round 1 (methods of ROUND_ONE_AGREES); measured up to 0.82
    bytes_rtol: float = 0.05  # value-dependent byte counts, any round

    def text(self) -> str:
        return (f"exact counts and dense bytes equal; round 1 accuracy ±{self.client_points:g} points per client and "
                f"±{self.mean_points:g} on their mean where round 1 agrees across platforms; value-dependent bytes "
                f"±{self.bytes_rtol:.0%}; later rounds' accuracies not compared")


TOLERANCE = Tolerance()


def bit_identical(claimed: dict[str, Any], rerun: dict[str, Any]) -> bool:
    """Whether every per-round number is the same (timestamps and wall times aside; a field a later
    c3bench added to rounds counts only where the entry has it)."""
    if len(claimed["rounds"]) != len(rerun["rounds"]):
        return False
    for x, y in zip(strip_volatile(claimed["rounds"]), strip_volatile(rerun["rounds"]), strict=True):
        if any(x.get(k) != y.get(k) for k in set(x) | set(y) if not (k in ADDED_ROUND_FIELDS and k not in x)):
            return False
    return True


def test_sizes(record: dict[str, Any]) -> list[int] | None:
    """Each client's number of test samples, from a record's data summary (None when it has none)."""
    clients = record.get("data", {}).get("clients")
    if not isinstance(clients, list) or not all(isinstance(c, dict) and isinstance(c.get("test"), int)
                                                and c["test"] > 0 for c in clients):
        return None
    return [c["test"] for c in clients]


def dense_bytes(config: dict[str, Any]) -> bool:
    """Whether the run sent every payload dense, which makes its c3bench-convention bytes an exact
    function of the configuration (a plug-in method is not assumed to)."""
    return config["method"] in BUILTIN_METHODS and config["method_params"].get("encoding") != "sparse"


def differences(claimed: dict[str, Any], rerun: dict[str, Any], tolerance: Tolerance = TOLERANCE) -> list[str]:
    """What a re-run on another platform contradicts in a claim (same configuration, data and round
    count already checked): see the module doc."""
    a, b, sizes = claimed["rounds"], rerun["rounds"], test_sizes(rerun)
    exact = EXACT_COUNTERS + (DENSE_BYTES if dense_bytes(claimed["config"]) else ())
    out = [f"round {i + 1}: {key} is {x['cumulative'][key]}, the re-run gives {y['cumulative'][key]} (an exact "
           "function of the configuration, on any platform)"
           for i, (x, y) in enumerate(zip(a, b, strict=True)) for key in exact
           if x["cumulative"][key] != y["cumulative"][key]]
    out += _whole_samples(a, sizes)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for key in (k for k in BYTE_COUNTERS if k not in exact):
            u, v = x["cumulative"][key], y["cumulative"][key]
            if abs(u - v) > tolerance.bytes_rtol * max(abs(v), 1):
                out.append(f"round {i + 1}: {key} is {u}, the re-run gives {v} (beyond {tolerance.bytes_rtol:.0%})")
    if claimed["config"]["method"] in ROUND_ONE_AGREES and a:
        out += _round_one(a[0], b[0], sizes, tolerance)
    return out


def _whole_samples(a: list[dict[str, Any]], sizes: list[int] | None) -> list[str]:
    """A client's accuracy is correct/test x 100: anything else was not measured."""
    if sizes is None:
        return []
    out = []
    for i, x in enumerate(a):
        for k, (value, n) in enumerate(zip(x["accuracy"]["per_client"], sizes, strict=False)):
            if abs(value * n / 100 - round(value * n / 100)) > 1e-6:
                out.append(f"round {i + 1}: client {k} accuracy {value!r} is not a whole number of its {n} test "
                           "samples: no evaluation gives it")
    return out[:10]


def _unit(sizes: list[int] | None, k: int | None = None) -> float:
    """What one test sample moves an accuracy by, in points (of client ``k``, or of the mean)."""
    if not sizes:
        return 0.0
    return 100 / sizes[k] if k is not None and k < len(sizes) else 100 / min(sizes) / len(sizes)


def _round_one(x: dict[str, Any], y: dict[str, Any], sizes: list[int] | None, tol: Tolerance) -> list[str]:
    out = []
    claimed, rerun = x["accuracy"]["per_client"], y["accuracy"]["per_client"]
    for k, (u, v) in enumerate(zip(claimed, rerun, strict=True)):
        limit = max(tol.client_points, _unit(sizes, k))
        if abs(u - v) > limit + 1e-9:
            out.append(f"round 1: client {k} accuracy {u:.2f}, the re-run gives {v:.2f} (beyond {limit:g} points; "
                       "round 1 of this method agrees across platforms)")
    mean = (sum(claimed) - sum(rerun)) / len(claimed) if claimed else 0.0
    limit = max(tol.mean_points, _unit(sizes))
    if abs(mean) > limit + 1e-9:
        out.append(f"round 1: the mean accuracy over clients is {abs(mean):.2f} points {'above' if mean > 0 else 'below'} "
                   f"the re-run's (beyond {limit:g}: drift between platforms has no direction in round 1)")
    return out


def mark(claimed: dict[str, Any], rerun: dict[str, Any]) -> str:
    """What a passing verdict says: "bit-identical", or "within tolerance: ..." with how far it was."""
    if bit_identical(claimed, rerun):
        return "bit-identical"
    a, b = claimed["rounds"], rerun["rounds"]
    diffs = [[u - v for u, v in zip(x["accuracy"]["per_client"], y["accuracy"]["per_client"], strict=True)]
             for x, y in zip(a, b, strict=True)]
    first = diffs[0] if diffs else []
    rel = max((abs(x["cumulative"][k] - y["cumulative"][k]) / max(abs(y["cumulative"][k]), 1)
               for x, y in zip(a, b, strict=True) for k in BYTE_COUNTERS), default=0.0)
    text = (f"within tolerance: round 1 accuracy up to {max(map(abs, first), default=0.0):.2f} points per client, "
            f"{abs(sum(first) / len(first)) if first else 0.0:.2f} on the mean")
    if claimed["config"]["method"] not in ROUND_ONE_AGREES:
        text += " (not compared: this method drifts within round 1 across platforms)"
    text += f"; bytes up to {rel:.2%}"
    if len(a) > 1:
        later = max((abs(d) for row in diffs[1:] for d in row), default=0.0)
        text += f"; later rounds' accuracies not compared across platforms (they differ by up to {later:.2f})"
    return text
