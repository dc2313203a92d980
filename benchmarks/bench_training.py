"""Training speed: c3bench against plain PyTorch loops doing the same work, each c3bench timing
bracketed by its reference loop right before and right after.

Usage:  python benchmarks/bench_training.py [--data-root ../shared/data] [--out benchmarks/RESULTS.md]

References (same samples, model, batch size and optimiser; our batches by index from uint8 tensors):
* fast plain loop: the same LeNet (channel-window LRN with its hand-written backward) and fused Adam;
* naive plain loop: torch's LocalResponseNorm and the default for-each Adam, what a user would write.

Every c3bench timing t is bracketed: the fast loop is timed right before (b) and right after (a).
When b and a differ by more than 10% the machine was busy and no ratio is printed. Speed is
reference time / c3bench time: above 1 means c3bench is faster than the reference.

Parts: (1) one round of every method on a Mixed-CIFAR-shaped synthetic federation; (2) FedAvg with
clients in worker processes, and stacked into one model, against the serial round; (3) a 3-round NIID-Bench-setting FedAvg job
end to end (start-up, data load, evaluation) against a plain loop over the same samples; (4) AdaSplit
on the real Mixed-CIFAR, its local and global rounds, projected to 20 rounds against the naive loop.
Results are written, with the date and the machine, to --out.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from c3bench.data.batches import batch_indices, make_batch, to_float
from c3bench.environment import environment
from c3bench.models import lenet, simple_cnn
from c3bench.runner import Runner, RunSpec, resolve

SPREAD = 0.10


# ------------------------------------------------------------------------------------------ references
def naive_lenet(num_classes: int) -> nn.Sequential:
    """The same LeNet with torch's LocalResponseNorm."""
    model = lenet(num_classes)
    for block in (model.conv1, model.conv2):
        block[2] = nn.LocalResponseNorm(4)
    return model


def adam(params, lr: float, fast: bool) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, fused=True) if fast else torch.optim.Adam(params, lr=lr, foreach=True)


def plain_fl_round(federation, batch_size: int, lr: float, fast: bool = True) -> float:
    """One FedAvg-shaped round: every client trains a copy of one model for an epoch."""
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    global_model = (lenet if fast else naive_lenet)(federation.num_classes)
    for client in federation.clients:
        model = copy.deepcopy(global_model)
        opt = adam(model.parameters(), lr, fast)
        for idx in batch_indices(client.num_train, batch_size, g):
            x, y = make_batch(client.x_train, client.y_train, idx, client.normalization, federation.augment, g)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
    return time.perf_counter() - start


def plain_split_round(federation, batch_size: int, lr: float, fast: bool = True, cut: int = 1,
                      server_every: int = 1) -> float:
    """One split-learning round: every client's epoch of split steps against one server."""
    g = torch.Generator().manual_seed(0)
    model = (lenet if fast else naive_lenet)(federation.num_classes)
    client_part, server_part = model[:cut], model[cut:]
    c_opt, s_opt = adam(client_part.parameters(), lr, fast), adam(server_part.parameters(), lr, fast)
    start = time.perf_counter()
    for client in federation.clients:
        for idx in batch_indices(client.num_train, batch_size, g):
            x, y = make_batch(client.x_train, client.y_train, idx, client.normalization, federation.augment, g)
            a = client_part(x)
            a_srv = a.detach().requires_grad_(True)
            s_opt.zero_grad(set_to_none=True)
            F.cross_entropy(server_part(a_srv), y).backward()
            s_opt.step()
            c_opt.zero_grad(set_to_none=True)
            a.backward(a_srv.grad)
            c_opt.step()
    return time.perf_counter() - start


def plain_adasplit_round(federation, global_phase: bool, fast: bool = True, batch_size: int = 32, lr: float = 1e-3,
                         eta: float = 0.6) -> float:
    """One AdaSplit round written as a plain loop: every client's contrastive step on its client part and
    projection head; in the global phase, masked server steps for round(eta * N) clients per iteration
    (a fixed rotation instead of the UCB orchestrator)."""
    from c3bench.adasplit.losses import ProjectionHead, supervised_nt_xent
    from c3bench.adasplit.masks import ClientMasks

    g = torch.Generator().manual_seed(0)
    n = federation.num_clients
    model = (lenet if fast else naive_lenet)(federation.num_classes)
    client_part, server = model[:1], model[1:]
    clients = [nn.ModuleDict({"model": copy.deepcopy(client_part), "head": ProjectionHead((20, 16, 16))})
               for _ in range(n)]
    c_opts = [adam(c.parameters(), lr, fast) for c in clients]
    masks = ClientMasks(server, n, g)
    s_opt = adam(server.parameters(), lr, fast)
    m_opts = [adam(masks.logits[i].parameters(), lr, fast) for i in range(n)]
    picks = max(1, round(eta * n))
    batches = [list(batch_indices(c.num_train, batch_size, g)) for c in federation.clients]
    start = time.perf_counter()
    for t in range(max(len(b) for b in batches)):
        chosen = {(t * picks + k) % n for k in range(picks)} if global_phase else set()
        for i, data in enumerate(federation.clients):
            if t >= len(batches[i]):
                continue
            x, y = make_batch(data.x_train, data.y_train, batches[i][t], data.normalization, federation.augment, g)
            a = clients[i]["model"](x)
            loss = supervised_nt_xent(clients[i]["head"](a), y)
            c_opts[i].zero_grad(set_to_none=True)
            loss.backward()
            c_opts[i].step()
            if i in chosen:
                server_loss = F.cross_entropy(masks.masked_forward(server, i, a.detach()), y) + 1e-5 * masks.l1(i)
                s_opt.zero_grad(set_to_none=True)
                m_opts[i].zero_grad(set_to_none=True)
                server_loss.backward()
                s_opt.step()
                m_opts[i].step()
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------ bracketing
@dataclass
class Bracketed:
    label: str
    c3bench_s: float
    before_s: float
    after_s: float
    naive_s: float | None = None
    reference: str = ""

    @property
    def spread(self) -> float:
        return abs(self.after_s - self.before_s) / statistics.fmean((self.before_s, self.after_s))

    @property
    def speed(self) -> float | None:
        """Fast-loop time / c3bench time, or None when the brackets disagree."""
        return None if self.spread > SPREAD else statistics.fmean((self.before_s, self.after_s)) / self.c3bench_s

    @property
    def naive_speed(self) -> float | None:
        return None if self.naive_s is None or self.spread > SPREAD else self.naive_s / self.c3bench_s


def bracket(label: str, run: Callable[[], float], reference: Callable[[], float],
            naive: Callable[[], float] | None = None, ref_label: str = "") -> Bracketed:
    before = reference()
    t = run()
    after = reference()
    return Bracketed(label, t, before, after, naive() if naive else None, ref_label)


def c3bench_round(spec: RunSpec, federation=None) -> float:
    """Seconds of c3bench's training round (accounting included, evaluation not): the method is built
    as the runner builds it; a first round is run untimed (it counts each step's FLOPs once)."""
    with tempfile.TemporaryDirectory() as tmp:
        _, ctx, method, _ = Runner(resolve(spec), tmp, federation=federation).build()
    try:
        for r in range(2):
            ctx.ledger.begin_round()
            start = time.perf_counter()
            method.run_round(r)
            elapsed = time.perf_counter() - start
            ctx.ledger.end_round()
    finally:
        ctx.clients.close()
    return elapsed


# ------------------------------------------------------------------------------------------ parts
def part_methods(clients: int, per_client: int) -> list[Bracketed]:
    data = {"num_clients": str(clients), "train_per_client": str(per_client), "test_per_client": "8"}
    run = resolve(RunSpec("fedavg", "synthetic", overrides=data, backbone="lenet"))
    federation = run.protocol_cls().build(run.protocol_params, 0, None)
    fl = {"batch_size": "100", "lr": "3.3e-4", "weight_decay": "0"}
    sl = {"batch_size": "32", "lr": "1e-3", "weight_decay": "0", "lr_schedule": "constant", "cut": "1"}
    cases = [("fedavg", fl, "fl"), ("fedprox", fl, "fl"), ("scaffold", fl, "fl"), ("fednova", fl, "fl"),
             ("sl-basic", sl, "sl"), ("splitfed", {**sl, "variant": "v1"}, "sl"),
             ("splitfed", {**sl, "variant": "v2"}, "sl"), ("edgesplit", {k: v for k, v in sl.items() if k != "cut"}, "sl"),
             ("adasplit", {**sl, "kappa": "1"}, "local"), ("adasplit", {**sl, "kappa": "0", "eta": "1"}, "sl")]
    out = []
    for method, params, kind in cases:
        spec = RunSpec(method, "synthetic", overrides={**data, **params}, rounds=1, backbone="lenet")
        if kind == "fl":
            ref = lambda: plain_fl_round(federation, 100, 3.3e-4)  # noqa: E731
            naive = lambda: plain_fl_round(federation, 100, 3.3e-4, fast=False)  # noqa: E731
            ref_label = "plain local epochs, batch 100"
        else:
            ref = lambda: plain_split_round(federation, 32, 1e-3)  # noqa: E731
            naive = lambda: plain_split_round(federation, 32, 1e-3, fast=False)  # noqa: E731
            ref_label = "plain split steps, batch 32"
        label = method + "".join(f" {k}={v}" for k, v in params.items() if k in ("variant", "kappa"))
        result = bracket(label, lambda s=spec: c3bench_round(s, federation), ref, naive, ref_label)
        if kind == "local":  # the local phase trains the client part and head only: its reference is that work
            result.reference = "plain split steps (upper bound: AdaSplit's local phase trains the client only)"
        out.append(result)
        print(_line(result), flush=True)
    return out


def part_parallel(clients: int, per_client: int) -> list[Bracketed]:
    """FedAvg, serial round (all threads) against clients in worker processes (one thread each) and
    against clients stacked into one model (``--stack-clients``)."""
    data = {"num_clients": str(clients), "train_per_client": str(per_client), "test_per_client": "8",
            "batch_size": "100"}

    def serial() -> float:
        return c3bench_round(RunSpec("fedavg", "synthetic", overrides=data, rounds=1, backbone="lenet"))

    def parallel() -> float:
        return c3bench_round(RunSpec("fedavg", "synthetic", overrides=data, rounds=2, backbone="lenet",
                                     client_workers=clients))  # one single-thread worker per client

    def stacked() -> float:
        return c3bench_round(RunSpec("fedavg", "synthetic", overrides=data, rounds=1, backbone="lenet",
                                     stack_clients=True))

    results = [bracket("fedavg, clients in worker processes", parallel, serial, ref_label="the serial c3bench round"),
               bracket("fedavg, clients stacked into one model (vmap)", stacked, serial,
                       ref_label="the serial c3bench round")]
    for result in results:
        print(_line(result), flush=True)
    return results


PLAIN_NIID_JOB = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {repo!r})
from benchmarks.bench_training import plain_niid_rounds
plain_niid_rounds({data_root!r})
print(time.perf_counter() - start)
"""


def plain_niid_rounds(data_root: str) -> None:
    """The plain loop of the NIID-Bench job: 3 FedAvg rounds of SGD over the same clients' data (loaded
    from c3bench's tensor cache and partitioned alike), evaluating the global model after each round."""
    spec = RunSpec("fedavg", None, config="niid-bench-cifar10-dir0.5/fedavg", rounds=3, data_root=data_root,
                   overrides={"protocol.num_clients": "5", "method.local_epochs": "1"})
    run = resolve(spec)
    federation = run.protocol_cls().build(run.protocol_params, 0, Path(data_root))
    p = run.method_params
    g = torch.Generator().manual_seed(0)
    model = simple_cnn(10)
    for _ in range(3):
        state = copy.deepcopy(model.state_dict())
        for client in federation.clients:
            model.load_state_dict(state)
            opt = torch.optim.SGD(model.parameters(), lr=p["lr"], momentum=p["momentum"], weight_decay=p["weight_decay"])
            for idx in batch_indices(client.num_train, p["batch_size"], g):
                x, y = make_batch(client.x_train, client.y_train, idx, client.normalization, federation.augment, g)
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x), y).backward()
                opt.step()
        test = federation.clients[0]
        with torch.no_grad():
            for s in range(0, test.num_test, 1000):
                model(to_float(test.x_test[s:s + 1000], test.normalization)).argmax(1)


def part_niid_job(data_root: str) -> Bracketed:
    """3 rounds of FedAvg, NIID-Bench CIFAR-10 setting with 5 parties, one local epoch: the whole
    `c3bench run` (start-up, data load, evaluation, records) against a plain script doing the same
    rounds and evaluations, each timed end to end as its own process."""
    repo = str(Path(__file__).resolve().parent.parent)

    def plain() -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", PLAIN_NIID_JOB.format(repo=repo, data_root=data_root)], check=True,
                       capture_output=True)
        return time.perf_counter() - start

    def job() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, "-m", "c3bench.cli", "run", "--config", "niid-bench-cifar10-dir0.5/fedavg",
                       "--rounds", "3", "--set", "protocol.num_clients=5", "--set", "method.local_epochs=1",
                       "--data-root", data_root, "-q", "-o", tmp]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            return time.perf_counter() - start

    result = bracket("fedavg, NIID-Bench CIFAR-10 Dir(0.5), 5 parties, 3 rounds: whole job", job, plain,
                     ref_label="a plain script: same rounds, samples and evaluations, start-up included")
    print(_line(result), flush=True)
    return result


def part_adasplit(data_root: str) -> list[Bracketed]:
    """AdaSplit on the real Mixed-CIFAR: one local and one global round, each bracketed by plain loops
    doing the same AdaSplit steps (fast and naive); projected to the paper's 20 rounds (12 + 8)."""
    out = []
    for phase, kappa in (("local", "1"), ("global", "0")):
        spec = RunSpec(None, None, config="adasplit-table2/adasplit", rounds=2, data_root=data_root,
                       overrides={"method.kappa": kappa, "method.beta": "0"})
        run = resolve(spec)
        federation = run.protocol_cls().build(run.protocol_params, 0, Path(data_root))
        is_global = phase == "global"
        result = bracket(f"adasplit mixed-cifar, {phase} round", lambda s=spec, f=federation: c3bench_round(s, f),
                         lambda f=federation, g=is_global: plain_adasplit_round(f, g),
                         lambda f=federation, g=is_global: plain_adasplit_round(f, g, fast=False),
                         "plain AdaSplit steps over the same samples")
        out.append(result)
        print(_line(result), flush=True)
    return out


def part_startup() -> list[str]:
    """Start-up of the commands that only read records: best of 5 wall times of a fresh process."""
    import shutil

    def best(command: list[str], n: int = 5) -> float:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        return min(times)

    exe = [sys.executable, "-m", "c3bench.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        spec = RunSpec("fedavg", "synthetic", overrides={"num_clients": "2", "train_per_client": "32",
                                                         "test_per_client": "8"}, rounds=1, backbone="simple-cnn")
        record = Runner(resolve(spec), tmp).execute()
        source = Path(tmp) / f"{record['name']}.json"
        for k in range(100):
            shutil.copy(source, Path(tmp) / f"copy{k:03d}.json")
        files = sorted(str(p) for p in Path(tmp).glob("copy*.json"))
        lines = [f"| `c3bench --help` | {best([*exe, '--help']):.2f} s | under 0.4 s |",
                 f"| `c3bench score` of 100 records | {best([*exe, 'score', *files]):.2f} s | under 1 s |",
                 f"| `c3bench list methods` (imports the method code) | {best([*exe, 'list', 'methods']):.2f} s | - |"]
    for line in lines:
        print(line, flush=True)
    return ["## Start-up (best of 5 fresh processes)", "", "| command | time | target |", "|---|---:|---|", *lines, ""]


READING = [
    "## Reading these numbers", "",
    "- The fast plain loop uses c3bench's own LeNet kernels, so speed near 1.0x means the accounting (channel "
    "copies and counts, FLOP meter, ledger, progress) costs nothing measurable; the naive loop is what a user "
    "would write with torch's LocalResponseNorm and the default Adam.",
    "- `adasplit kappa=0` and `edgesplit` in the first table do other work than plain split steps at cut 1 "
    "(AdaSplit trains a projection head and masked server steps, EdgeSplit plans its own cuts); their fair "
    "comparison is the AdaSplit section, against a plain loop of the same AdaSplit steps.",
    "- Clients in worker processes: on these two cores torch's two intra-op threads already scale as well as "
    "two single-thread processes for LeNet, so the mode gives no speed-up here (it is exact, and it helps "
    "where a machine has more cores than one process uses well).",
    "",
]


# ------------------------------------------------------------------------------------------ report
def _fmt(v: float | None, spec: str = ".2f", suffix: str = "x") -> str:
    return "refused (busy)" if v is None else f"{v:{spec}}{suffix}"


def _line(r: Bracketed) -> str:
    return (f"{r.label:<62} c3bench {r.c3bench_s:7.2f} s  reference {r.before_s:6.2f}/{r.after_s:6.2f} s "
            f"(spread {r.spread:4.0%})  speed {_fmt(r.speed)}" + (f"  vs naive {_fmt(r.naive_speed)}" if r.naive_s else ""))


def markdown(sections: dict[str, list[Bracketed]], notes: list[str]) -> str:
    env = environment()
    lines = [f"# Training speed ({datetime.date.today().isoformat()})", "",
             f"Machine: {env['cpu']}, {env['cpu_count']} cores, torch {env['torch']}, {torch.get_num_threads()} "
             f"threads, {platform.platform()}; c3bench {env['c3bench']} ({env['git_commit']}).", "",
             "Speed = reference time / c3bench time (above 1: c3bench faster). Each c3bench timing is bracketed by "
             "its fast reference loop right before and right after; when the two differ by more than 10% the ratio "
             "is refused. Generated by `python benchmarks/bench_training.py`.", ""]
    for title, rows in sections.items():
        lines += [f"## {title}", "", "| case | c3bench (s) | reference before / after (s) | spread | speed | "
                  "speed vs naive loop | reference |", "|---|---:|---:|---:|---:|---:|---|"]
        for r in rows:
            lines.append(f"| {r.label} | {r.c3bench_s:.2f} | {r.before_s:.2f} / {r.after_s:.2f} | {r.spread:.0%} | "
                         f"{_fmt(r.speed)} | {_fmt(r.naive_speed) if r.naive_s else '-'} | {r.reference} |")
        lines.append("")
    return "\n".join(lines + notes + READING) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--per-client", type=int, default=640)
    parser.add_argument("--data-root", default=os.environ.get("C3BENCH_DATA", "../shared/data"))
    parser.add_argument("--out", type=Path, default=None, help="write the results as markdown here")
    parser.add_argument("--parts", default="startup,methods,parallel,niid,adasplit")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    sections: dict[str, list[Bracketed]] = {}
    notes: list[str] = []
    if "startup" in parts:
        notes += part_startup()
    if "methods" in parts:
        sections[f"One round of each method ({args.clients} clients x {args.per_client} images, LeNet)"] = \
            part_methods(args.clients, args.per_client)
    if "parallel" in parts:
        sections["FedAvg: clients in worker processes, or stacked into one model, against the serial round"] = \
            part_parallel(args.clients, 2 * args.per_client)
    if "niid" in parts:
        sections["End to end: a 3-round NIID-Bench-setting FedAvg job"] = [part_niid_job(args.data_root)]
    if "adasplit" in parts:
        rows = part_adasplit(args.data_root)
        sections["AdaSplit on Mixed-CIFAR (real data)"] = rows
        local, global_ = rows
        projected = 12 * local.c3bench_s + 8 * global_.c3bench_s
        naive = (12 * local.naive_s + 8 * global_.naive_s) if local.naive_s and global_.naive_s else None
        line = (f"AdaSplit, 20 rounds on Mixed-CIFAR (12 local + 8 global), projected from the rounds above: "
                f"c3bench {projected / 60:.1f} min, naive loop {naive / 60 if naive else float('nan'):.1f} min, "
                f"speed vs naive {naive / projected if naive else 0:.2f}x.")
        print(line, flush=True)
        notes += [line, ""]
    if args.out:
        args.out.write_text(markdown(sections, notes))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
