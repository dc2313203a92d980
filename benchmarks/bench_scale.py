"""Scaling in the number of clients: set-up, seconds per round, bytes of record per round and peak memory of
FedAvg on NIID-Bench's CIFAR-10 setting (simple-cnn, SGD lr 0.01 momentum 0.9, batch 64, one local epoch,
crop+flip, global test set) with N clients of which a fraction C is sampled each round, N = 5, 100,
1,000, 10,000 and C = 1, 0.1, 0.01, 0.001 (Dirichlet(0.5) label skew; IID at 10,000, where 50,000 images
cannot give every client the 10 that Dirichlet needs).

Usage:  python benchmarks/bench_scale.py [--data-root ../shared/data] [--rounds 2] [--out benchmarks/RESULTS.md]

Each N runs in its own process (its peak RSS is the run's). Every c3bench round after the first is
bracketed by the same round as a plain PyTorch loop right before and right after, each in a forked copy of
the process (it shares the loaded data and adds nothing to the run's peak memory): the same sampled
clients (c3bench's sampling stream), the same local epoch on the same batches, the weighted average, and
the same evaluations: every sampled client's model right after its training on its test split (the
local-after-training accuracy c3bench records for FL methods) and the global model once on the test set
(c3bench evaluates a test set shared by clients deploying one model once). The first round (it also
measures each step shape's FLOPs once) is not timed. Set-up is the protocol's build (data, partition,
clients) plus the run's start to its first round (data digest, fleet, method). The work-adjusted cost is
c3bench's seconds per round over the plain loop's; inside c3bench the round is also split into the work a
plain loop does too and c3bench's own time. Results are appended, with date and machine, to --out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SETTINGS = {5: (1.0, "dirichlet"), 100: (0.1, "dirichlet"), 1000: (0.01, "dirichlet"), 10000: (0.001, "iid")}
SPREAD = 0.10
# what a plain loop does too, and what only c3bench does, timed inside c3bench's rounds
WORK = ("local training", "test-set passes (local-after-training and global)", "aggregation")
OWN = ("channel (copies, byte counts)", "round log append", "checkpoint", "header (round 1)")
PROJECTED_ROUNDS = 50
REPO = Path(__file__).resolve().parent.parent


def _spec(n: int, rounds: int, data_root: str):
    from c3bench.runner import RunSpec

    fraction, partition = SETTINGS[n]
    return RunSpec("fedavg", None, config="niid-bench-cifar10-dir0.5/fedavg", rounds=rounds, data_root=data_root,
                   overrides={"protocol.num_clients": str(n), "protocol.partition": partition,
                              "method.local_epochs": "1", "method.sample_fraction": str(fraction)})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ the plain loop
def plain_round(fed: Any, params: dict[str, Any], r: int, seed: int = 0) -> tuple[float, float]:
    """Round ``r`` as a plain loop, timed (wall and CPU seconds): the sampled clients (c3bench's sampling stream) each train a copy of
    the global model for an epoch on the same batches and are scored right after on their test split, the
    server averages by data size, and the global model is scored once on the (shared) test set."""
    import copy

    import torch
    import torch.nn.functional as F

    from c3bench.data.batches import batch_indices, make_batch, to_float
    from c3bench.method import derive_seed
    from c3bench.models import simple_cnn

    def accuracy(net: torch.nn.Module, client: Any) -> float:
        net.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, client.num_test, 1000):
                x = to_float(client.x_test[s:s + 1000], client.normalization)
                correct += int((net(x).argmax(1) == client.y_test[s:s + 1000]).sum())
        return 100.0 * correct / client.num_test

    n = fed.num_clients
    model = simple_cnn(fed.num_classes)
    local = copy.deepcopy(model)
    m = max(1, round(params["sample_fraction"] * n))
    began, cpu = time.perf_counter(), time.process_time()
    chosen = list(range(n)) if m == n else sorted(
        torch.randperm(n, generator=torch.Generator().manual_seed(derive_seed(seed, "sample", r)))[:m].tolist())
    start = copy.deepcopy(model.state_dict())
    states, sizes = [], []
    for c in chosen:
        data = fed.clients[c]
        local.load_state_dict(start)
        local.train()
        opt = torch.optim.SGD(local.parameters(), lr=params["lr"], momentum=params["momentum"],
                              weight_decay=params["weight_decay"])
        g = torch.Generator().manual_seed(derive_seed(seed, "client", c, r))
        for idx in batch_indices(data.num_train, params["batch_size"], g):
            x, y = make_batch(data.x_train, data.y_train, idx, data.normalization, fed.augment, g)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(local(x), y).backward()
            opt.step()
        accuracy(local, data)
        states.append({k: v.detach().clone() for k, v in local.state_dict().items()})
        sizes.append(data.num_train)
    total = sum(sizes)
    model.load_state_dict({k: sum(s[k] * (w / total) for s, w in zip(states, sizes, strict=True)) for k in start})
    accuracy(model, fed.clients[0])
    return time.perf_counter() - began, time.process_time() - cpu


def forked(fn: Any) -> tuple[float, float]:
    """What ``fn()`` returns (seconds), run in a forked copy of this process: the plain loop shares the loaded
    federation without adding to this process's peak memory."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: run, report, leave without cleaning up the parent's state
        os.close(read)
        try:
            os.write(write, repr(fn()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    return tuple(float(v) for v in text.strip("()").split(","))  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ one run
def child(n: int, rounds: int, data_root: str) -> dict[str, Any]:
    """One c3bench run in this process, each round after the first bracketed by the same round as a plain
    loop (in a forked copy) right before and right after; its clock, the bytes it wrote, where each round's
    time went and its peak memory."""
    import torch

    from c3bench import evaluation, round_log
    from c3bench.accounting.channel import Channel
    from c3bench.federated import FederatedMethod
    from c3bench.runner import Callbacks, Runner, checkpoint_path, resolve

    torch.set_num_threads(1)
    spent: dict[str, float] = {}

    def timed(owner: Any, name: str, part: str) -> None:
        inner = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[part] = spent.get(part, 0.0) + time.perf_counter() - began
        setattr(owner, name, wrapper)

    for owner, name, part in ((FederatedMethod, "train_client", WORK[0]), (evaluation, "client_accuracy", WORK[1]),
                              (FederatedMethod, "aggregate", WORK[2]), (Channel, "send", OWN[0]),
                              (round_log, "append", OWN[1]), (Runner, "_save_checkpoint", OWN[2]),
                              (Runner, "_write_header", OWN[3])):  # none of these runs inside another
        timed(owner, name, part)
    run = resolve(_spec(n, rounds, data_root))
    began = time.perf_counter()
    fed = run.protocol_cls().build(run.protocol_params, run.spec.seed, Path(data_root))
    built = time.perf_counter() - began
    rows: list[dict[str, Any]] = []
    written: list[dict[str, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / f"{run.name}.json"

        class Clock(Callbacks):
            def __init__(self) -> None:
                self.resumed = 0.0

            def _before(self, r: int) -> None:
                plain = forked(lambda: plain_round(fed, run.method_params, r)) if r > 0 else None
                rows.append({"plain_before": plain})
                spent.clear()
                self.resumed, self.resumed_cpu = time.perf_counter(), time.process_time()

            def on_start(self, run_, start_round):
                self.started = time.perf_counter()
                self._before(0)

            def on_round(self, entry):
                row = rows[-1]
                row["c3bench"] = time.perf_counter() - self.resumed, time.process_time() - self.resumed_cpu
                row["parts"] = dict(spent)
                written.append({"log": round_log.log_path(result).stat().st_size,
                                "checkpoint": checkpoint_path(Path(tmp), run.name).stat().st_size,
                                "result": result.stat().st_size})
                r = entry["round"] - 1
                if r > 0:
                    row["plain_after"] = forked(lambda: plain_round(fed, run.method_params, r))
                if r + 1 < rounds:
                    self._before(r + 1)
                self.ended = time.perf_counter()

        clock = Clock()
        began = time.perf_counter()
        record = Runner(run, tmp, clock, federation=fed).execute()
        finished = time.perf_counter()
        final_bytes = result.stat().st_size
    log = [w["log"] for w in written]
    return {
        "setup_s": built + clock.started - began, "rows": rows, "final_write_s": finished - clock.ended,
        "record_bytes": final_bytes, "header_bytes": written[0]["result"],
        "log_bytes_per_round": [b - a for a, b in zip([0, *log], log, strict=False)],
        "checkpoint_bytes": written[-1]["checkpoint"], "peak_mb": _peak_mb(),
        "sampled": len(record["rounds"][-1]["per_client"]), "accuracy": record["totals"]["accuracy"],
    }


def _child(n: int, rounds: int, data_root: str) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, __file__, "--child", "--sizes", str(n), "--rounds", str(rounds),
                          "--data-root", data_root], capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if out.returncode != 0:
        raise SystemExit(f"N={n} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ report
def measure(n: int, rounds: int, data_root: str) -> dict[str, Any]:
    c3 = _child(n, rounds, data_root)
    timed = c3["rows"][1:]  # the first round also counts each step shape's FLOPs once, and is not bracketed
    row: dict[str, Any] = {"n": n, "fraction": SETTINGS[n][0], "partition": SETTINGS[n][1], "rounds": rounds,
                           "c3bench": c3, "parts": [x["parts"] for x in timed]}
    for k, clock in enumerate(("", "cpu_")):  # wall seconds, then CPU seconds (less hurt by other jobs)
        plain = [statistics.fmean(x[side][k] for x in timed) for side in ("plain_before", "plain_after")]
        row[f"{clock}plain_s"] = plain
        row[f"{clock}spread"] = abs(plain[1] - plain[0]) / statistics.fmean(plain)
        row[f"{clock}round_s"] = statistics.fmean(x["c3bench"][k] for x in timed)
        row[f"{clock}ratio"] = row[f"{clock}round_s"] / statistics.fmean(plain)
    per_round = statistics.fmean(c3["log_bytes_per_round"][1:])
    record_round = (c3["record_bytes"] - c3["header_bytes"]) / rounds  # as the sealed (indented) record holds it
    row.update(per_round_log=per_round, record_round=record_round,
               projected=c3["header_bytes"] + PROJECTED_ROUNDS * record_round)
    print(_line(row), flush=True)
    return row


def _line(r: dict[str, Any]) -> str:
    c3 = r["c3bench"]
    return (f"N={r['n']:>6} C={r['fraction']:<6} set-up {c3['setup_s']:6.2f} s  s/round {r['round_s']:6.2f} "
            f"plain {r['plain_s'][0]:6.2f}/{r['plain_s'][1]:6.2f} (spread {r['spread']:4.0%})  x{r['ratio']:.3f}  "
            f"CPU x{r['cpu_ratio']:.3f} (spread {r['cpu_spread']:4.0%})  record {c3['record_bytes'] / 1e6:.2f} MB "
            f"({r['record_round'] / 1e3:.1f} kB/round)  peak {c3['peak_mb']:.0f} MB")


def _within(value: float) -> str:
    return "met" if abs(value) <= 0.10 else "missed"


def _parts(row: dict[str, Any]) -> dict[str, float]:
    """Mean seconds per round (after the first) of each timed part, and c3bench's own time: the round less
    the work a plain loop does too."""
    means = {k: statistics.fmean(p.get(k, 0.0) for p in row["parts"]) for k in (*WORK, *OWN)}
    means["own"] = row["round_s"] - sum(means[k] for k in WORK)
    return means


def _breakdown(row: dict[str, Any]) -> str:
    m = _parts(row)
    work = ", ".join(f"{k} {m[k]:.3f} s" for k in WORK)
    own = ", ".join(f"{k} {m[k]:.4f} s" for k in OWN if m[k])
    rest = m["own"] - sum(m[k] for k in OWN)
    return (f"work: {work}; c3bench's own {m['own']:.3f} s ({m['own'] / row['round_s']:.1%}): {own}, the rest "
            f"(sampling, ledger, the evaluation's loop over clients, simulated time, the entry) {rest:.4f} s")


def markdown(rows: list[dict[str, Any]], rounds: int) -> str:
    from c3bench.environment import environment

    env = environment()
    by_n = {r["n"]: r for r in rows}
    lines = [f"# Scaling in the number of clients ({datetime.date.today().isoformat()})", "",
             f"Machine: {env['cpu']}, {env['cpu_count']} cores (shared with other jobs), torch {env['torch']}, 1 thread, "
             f"{platform.platform()}; c3bench {env['c3bench']} ({env['git_commit']}). Generated by "
             f"`python benchmarks/bench_scale.py --rounds {rounds}`: FedAvg, NIID-Bench CIFAR-10 setting (simple-cnn, "
             "SGD 0.01 momentum 0.9, batch 64, one local epoch, crop+flip, global test set), Dirichlet(0.5) "
             f"(IID at N = 10,000), {rounds} rounds per run (fewer than the setting's 50, to run in minutes); "
             "s/round over the rounds after the first. Plain = the same round as a plain PyTorch loop "
             "(same sampled clients and batches, the same evaluations), right before / right after each c3bench "
             "round, in a forked copy of the process.", "",
             "Wall seconds are what the issue measures; CPU seconds (this process's, and the plain copy's own) "
             "are less hurt by the other jobs on the machine.", "",
             "| N, C | set-up (s) | c3bench s/round | plain s/round before / after (spread) | c3bench / plain | "
             "CPU s/round: c3bench, plain before / after (spread) | CPU c3bench / plain | "
             "c3bench's own s/round (round / its work) | log bytes / round | record bytes / round | record (header) | "
             "record at 50 rounds (projected) | peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        c3, own = r["c3bench"], _parts(r)["own"]
        lines.append(f"| {r['n']:,}, {r['fraction']:g} | {c3['setup_s']:.2f} | {r['round_s']:.2f} | "
                     f"{r['plain_s'][0]:.2f} / {r['plain_s'][1]:.2f} ({r['spread']:.0%}) | {r['ratio']:.3f} | "
                     f"{r['cpu_round_s']:.2f}, {r['cpu_plain_s'][0]:.2f} / {r['cpu_plain_s'][1]:.2f} "
                     f"({r['cpu_spread']:.0%}) | {r['cpu_ratio']:.3f} | "
                     f"{own:.3f} ({r['round_s'] / (r['round_s'] - own):.4f}) | "
                     f"{r['per_round_log'] / 1e3:.1f} kB | {r['record_round'] / 1e3:.1f} kB | "
                     f"{c3['record_bytes'] / 1e6:.2f} MB ({c3['header_bytes'] / 1e6:.2f} MB) | "
                     f"{r['projected'] / 1e6:.2f} MB | {c3['peak_mb']:.0f} MB |")
    lines += ["", "Where c3bench's round goes (seconds per round, after the first):", ""]
    lines += [f"- N = {r['n']:,}: {_breakdown(r)}; checkpoint file {r['c3bench']['checkpoint_bytes'] / 1e3:.0f} kB, "
              f"final sealed write {r['c3bench']['final_write_s']:.2f} s." for r in rows]
    lines += ["", "Targets (issue 25):", ""]
    if 10000 in by_n:
        s = by_n[10000]["c3bench"]["setup_s"]
        lines.append(f"- set-up at N = 10,000 under 10 s: {s:.2f} s ({'met' if s < 10 else 'missed'}).")
    if 100 in by_n:
        base = by_n[100]
        for n in (1000, 10000):
            if n in by_n:
                r = by_n[n]
                rel = {clock: r[f"{clock}ratio"] / base[f"{clock}ratio"] - 1 for clock in ("", "cpu_")}
                busy = " (brackets spread over 10%: busy machine)" if max(r["spread"], base["spread"]) > SPREAD else ""
                own = [x["round_s"] / (x["round_s"] - _parts(x)["own"]) for x in (r, base)]
                lines.append(f"- s/round at N = {n:,} within 10% of N = 100's work-adjusted cost: c3bench / plain "
                             f"loop in wall time {r['ratio']:.3f} vs {base['ratio']:.3f}, {rel['']:+.1%} "
                             f"({_within(rel[''])}){busy}; in CPU time {r['cpu_ratio']:.3f} vs {base['cpu_ratio']:.3f}, "
                             f"{rel['cpu_']:+.1%} ({_within(rel['cpu_'])}); round / its own work (timed inside "
                             f"c3bench) {own[0]:.4f} vs {own[1]:.4f}, {own[0] / own[1] - 1:+.2%} "
                             f"({_within(own[0] / own[1] - 1)}).")
    if 10000 in by_n:
        proj = by_n[10000]["projected"]
        lines.append(f"- record at N = 10,000 after 50 rounds under 20 MB: {proj / 1e6:.2f} MB, projected from "
                     f"the header and the bytes each round adds ({'met' if proj < 20e6 else 'missed'}).")
    peaks = [r["c3bench"]["peak_mb"] for r in rows]
    flat = max(peaks) / min(peaks) - 1
    lines.append(f"- peak memory flat in N within 20%: {min(peaks):.0f} to {max(peaks):.0f} MB, {flat:+.1%} "
                 f"({'met' if flat <= 0.20 else 'missed'}).")
    if 10000 in by_n:
        r = by_n[10000]
        over = r["round_s"] - statistics.fmean(r["plain_s"])
        cpu_over = r["cpu_round_s"] - statistics.fmean(r["cpu_plain_s"])
        lines.append(f"- c3bench's per-round overhead at N = 10,000 against the plain loop: {over:+.3f} s of "
                     f"{r['round_s']:.2f} s wall ({r['ratio'] - 1:+.1%}), {cpu_over:+.3f} s of {r['cpu_round_s']:.2f} s "
                     f"CPU ({r['cpu_ratio'] - 1:+.1%}); timed inside c3bench, its own time is "
                     f"{_parts(r)['own']:.3f} s a round (see above).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5,100,1000,10000")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per run (at least 2; s/round: those after the first)")
    parser.add_argument("--data-root", default=os.environ.get("C3BENCH_DATA", "../shared/data"))
    parser.add_argument("--out", type=Path, default=None, help="append the results as markdown here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the first round is not timed)")
    if args.child:
        print(json.dumps(child(sizes[0], args.rounds, args.data_root)))
        return
    rows = [measure(n, args.rounds, args.data_root) for n in sizes]
    text = markdown(rows, args.rounds)
    print(text)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write("\n" + text)
        print(f"appended to {args.out}")


if __name__ == "__main__":
    main()
