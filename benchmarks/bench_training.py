"""Training speed: c3bench against a plain PyTorch loop doing the same work.

Usage:  python benchmarks/bench_training.py [--clients 5] [--per-client 640] [--repeat 3]

Part 1 times one training step of the AdaSplit authors' LeNet with torch's LocalResponseNorm and
the default (for-each) Adam against c3bench's channel-window LRN with fused Adam.
Part 2 runs one round of every registered method on a synthetic federation shaped like
Mixed-CIFAR (LeNet, 32x32x3) and divides its training time by that of a plain loop over the same
samples with the same model, batch size and optimiser: FL methods against a plain local-training
loop over every client; split methods against a plain loop of split steps (client forward,
detach, server forward/backward, client backward). Ratios near 1 mean accounting costs nothing.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch import nn

from c3bench import registry
from c3bench.data.batches import batch_indices, make_batch
from c3bench.models import lenet
from c3bench.runner import Runner, RunSpec, resolve


def _lenet_with_torch_lrn() -> nn.Sequential:
    model = lenet(10)
    for block in (model.conv1, model.conv2):
        block[2] = nn.LocalResponseNorm(4)
    return model


def time_steps(model: nn.Module, opt: torch.optim.Optimizer, batch: int, steps: int = 30) -> float:
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    for i in range(steps + 5):
        if i == 5:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def part_one() -> None:
    print("== LeNet training step (ms) ==")
    print(f"{'batch':>6} {'torch LRN + Adam':>18} {'fast LRN + fused Adam':>22} {'speedup':>8}")
    for batch in (32, 100):
        torch.manual_seed(0)
        slow = _lenet_with_torch_lrn()
        fast = lenet(10)
        t_slow = time_steps(slow, torch.optim.Adam(slow.parameters(), lr=1e-3), batch)
        t_fast = time_steps(fast, torch.optim.Adam(fast.parameters(), lr=1e-3, fused=True), batch)
        print(f"{batch:>6} {t_slow * 1e3:>18.2f} {t_fast * 1e3:>22.2f} {t_slow / t_fast:>7.2f}x")


def plain_fl_round(federation, batch_size: int, lr: float) -> float:
    """A plain FedAvg-shaped round: every client trains a copy for one epoch with fused Adam."""
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    global_model = lenet(federation.num_classes)
    for client in federation.clients:
        model = copy.deepcopy(global_model)
        opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
        for idx in batch_indices(client.num_train, batch_size, g):
            x, y = make_batch(client.x_train, client.y_train, idx, client.normalization)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
    return time.perf_counter() - start


def plain_split_round(federation, batch_size: int, lr: float, cut: int = 1) -> float:
    """A plain split-learning round: every client's epoch of split steps against one server."""
    g = torch.Generator().manual_seed(0)
    model = lenet(federation.num_classes)
    client_part, server_part = model[:cut], model[cut:]
    c_opt = torch.optim.Adam(client_part.parameters(), lr=lr, fused=True)
    s_opt = torch.optim.Adam(server_part.parameters(), lr=lr, fused=True)
    start = time.perf_counter()
    for client in federation.clients:
        for idx in batch_indices(client.num_train, batch_size, g):
            x, y = make_batch(client.x_train, client.y_train, idx, client.normalization)
            a = client_part(x)
            a_srv = a.detach().requires_grad_(True)
            s_opt.zero_grad(set_to_none=True)
            F.cross_entropy(server_part(a_srv), y).backward()
            s_opt.step()
            c_opt.zero_grad(set_to_none=True)
            a.backward(a_srv.grad)
            c_opt.step()
    return time.perf_counter() - start


def c3bench_round(method: str, overrides: dict[str, str], tmp: str) -> tuple[float, int]:
    spec = RunSpec(method=method, protocol="synthetic", overrides=overrides, rounds=1, backbone="lenet")
    record = Runner(resolve(spec), tmp).execute(overwrite=True)
    (entry,) = record["rounds"]
    return entry["wall_s"], entry["cumulative"]["samples"]


def part_two(clients: int, per_client: int, repeat: int) -> None:
    import tempfile

    data = {"num_clients": str(clients), "train_per_client": str(per_client), "test_per_client": "8"}
    run = resolve(RunSpec("fedavg", "synthetic", overrides=data, backbone="lenet"))
    federation = run.protocol_cls().build(run.protocol_params, 0, None)
    print(f"\n== one round, {clients} clients x {per_client} images, LeNet (seconds, best of {repeat}) ==")
    print(f"{'method':<24} {'c3bench':>8} {'plain':>8} {'ratio':>6}  reference loop")
    plain_fl = min(plain_fl_round(federation, 100, 3.3e-4) for _ in range(repeat))
    plain_sl = min(plain_split_round(federation, 32, 1e-3) for _ in range(repeat))
    cases = [(name, {}) for name in registry.methods() if name not in ("splitfed", "adasplit")]
    cases += [("splitfed", {"variant": "v1"}), ("splitfed", {"variant": "v2"}),
              ("adasplit", {"kappa": "1"}), ("adasplit", {"kappa": "0"})]
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in cases:
            method = registry.get_method(name)
            if "kappa" in extra or name in ("sl-basic", "splitfed"):
                reference, label = plain_sl, "plain split steps, batch 32"
            else:
                reference, label = plain_fl, "plain local epochs, batch 100"
            if not any(p.name == "batch_size" for p in method.hparams):
                continue
            wall = min(c3bench_round(name, {**data, **extra}, tmp)[0] for _ in range(repeat))
            shown = name + "".join(f" {k}={v}" for k, v in extra.items())
            print(f"{shown:<24} {wall:>8.2f} {reference:>8.2f} {wall / reference:>6.2f}  {label}")
    print("\nadasplit kappa=1: local phase (client part + projection head only);"
          " kappa=0: global phase (plus masked server steps for eta*N clients).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--per-client", type=int, default=640)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-steps", action="store_true", help="skip part 1")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if not args.skip_steps:
        part_one()
    part_two(args.clients, args.per_client, args.repeat)


if __name__ == "__main__":
    main()
